//! `liaison init` and `liaison id`: a sysadmin creates a node and tells the other side how to
//! pin it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::Args;
use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};

use super::output;
use crate::config::{self, DEFAULT_API_PORT, DEFAULT_P2P_PORT, NodeConfig};
use crate::ids::PartyId;
use crate::keys;
use crate::net::addr::{Undialable, dialable};
use crate::node::{InitOptions, init_data_dir, run_info};

/// Arguments of `liaison init`.
#[derive(Args, Debug)]
pub struct InitArgs {
    /// The Party's short id, such as cica or sco-rats.
    #[arg(long, value_name = "ID")]
    pub party_id: PartyId,
    /// The Party's full name, such as "CICA Secretariat".
    #[arg(long, value_name = "NAME")]
    pub party_name: String,
    /// libp2p address to listen on (repeatable) [default: /ip4/0.0.0.0/tcp/4710].
    #[arg(long, value_name = "MULTIADDR", value_parser = parse_multiaddr)]
    pub listen: Vec<Multiaddr>,
    /// Where the other sites reach this node (repeatable): a concrete IP or DNS name with a TCP
    /// port, e.g. /ip4/203.0.113.7/tcp/4710 or /dns4/liaison.example.org/tcp/4710. Written to
    /// `[network] external_addrs`; `liaison id` exports it. Needed when --listen is 0.0.0.0 (the
    /// default) or port 0, and behind NAT or a port forward.
    #[arg(long = "external-addr", value_name = "MULTIADDR", value_parser = parse_external)]
    pub external_addrs: Vec<Multiaddr>,
    /// Address of the local HTTPS API [default: 127.0.0.1:4711].
    #[arg(long, value_name = "ADDR")]
    pub api: Option<SocketAddr>,
    /// Copy the Party's signing and sealing keys from another node's data dir: for a Party's
    /// second node (backup, branch office). Without it, new Party keys are generated.
    #[arg(long, value_name = "DIR")]
    pub party_keys_from: Option<PathBuf>,
    /// A further name for the API's self-signed certificate (repeatable): a DNS name or an IP
    /// address officers' browsers use to reach the API, e.g. liaison.cica.example or
    /// 10.20.0.5. The certificate always holds localhost, 127.0.0.1, ::1 and the --api address.
    #[arg(long, value_name = "NAME", value_parser = parse_api_name)]
    pub api_name: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `liaison api-cert`.
#[derive(Args, Debug)]
pub struct ApiCertArgs {
    /// A name the new certificate holds besides localhost, 127.0.0.1, ::1 and the `[api]
    /// listen` address (repeatable): a DNS name or an IP address. Give every name wanted: the
    /// old certificate's names are not kept.
    #[arg(long, value_name = "NAME", value_parser = parse_api_name)]
    pub name: Vec<String>,
}

/// A DNS name or an IP address, as a certificate can hold it.
fn parse_api_name(s: &str) -> Result<String, String> {
    if s.parse::<std::net::IpAddr>().is_ok() || rustls::pki_types::DnsName::try_from(s).is_ok() {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is neither a DNS name nor an IP address (e.g. liaison.cica.example or 10.20.0.5)"))
    }
}

/// The names of the API's self-signed certificate besides the loopback ones: the listen
/// address unless it is unspecified, and `names`.
fn api_hosts(listen: SocketAddr, names: &[String]) -> Vec<String> {
    let mut hosts = if listen.ip().is_unspecified() { vec![] } else { vec![listen.ip().to_string()] };
    hosts.extend(names.iter().cloned());
    hosts
}

/// `liaison api-cert`: a new self-signed certificate for the API, for the names officers use
/// now; a running node is sent SIGHUP and serves it to new connections.
pub fn api_cert(dir: &Path, a: &ApiCertArgs) -> anyhow::Result<()> {
    let cfg = NodeConfig::load(dir)?;
    if cfg.api.tls.organisation {
        anyhow::bail!(
            "{} sets [api] tls_cert ({}): the API serves the organisation's certificate, not a self-signed one; renew that file and send the node SIGHUP instead",
            NodeConfig::path(dir).display(),
            cfg.api.tls.cert.display()
        );
    }
    let names = keys::replace_self_signed(dir, &api_hosts(cfg.api.listen, &a.name))?;
    println!("new self-signed API certificate {} for: {}", cfg.api.tls.cert.display(), names.join(", "));
    match run_info(dir) {
        Some(info) => {
            // SAFETY: kill(2) with a pid and a signal number; no memory is shared.
            let r = unsafe { libc::kill(info.pid as libc::pid_t, libc::SIGHUP) };
            if r == 0 {
                println!("sent SIGHUP to the running node (pid {}): new connections get the new certificate", info.pid);
            } else {
                println!(
                    "could not signal the running node (pid {}): {}; send it SIGHUP or restart it",
                    info.pid,
                    std::io::Error::last_os_error()
                );
            }
        }
        None => println!("(no node is running; it serves the new certificate when it starts)"),
    }
    println!("Browsers that accepted the old certificate must accept this one.");
    Ok(())
}

fn parse_multiaddr(s: &str) -> Result<Multiaddr, String> {
    config::parse_multiaddr(s)
}

fn parse_external(s: &str) -> Result<Multiaddr, String> {
    let a = config::parse_multiaddr(s)?;
    dialable(&a).map_err(|e| format!("{e}; give the address other sites reach this node at"))?;
    Ok(a)
}

/// Arguments of `liaison id`.
#[derive(Args, Debug)]
pub struct IdArgs {
    /// Print as JSON (what `liaison peer add --from-id` reads).
    #[arg(long)]
    pub json: bool,
    /// Print only the peer id (needs no dialable address; for scripts).
    #[arg(long, conflicts_with = "json")]
    pub peer_id: bool,
}

/// Why `liaison id` exports no card: an address another site could not dial.
#[derive(Debug, thiserror::Error)]
#[error(
    "{file}: [network] listen has {source}, which another site cannot dial. Set `[network] external_addrs` in {file} to where the other sites reach this node (e.g. [\"/ip4/203.0.113.7/tcp/{DEFAULT_P2P_PORT}\"] or [\"/dns4/liaison.example.org/tcp/{DEFAULT_P2P_PORT}\"]), or pass --external-addr to `liaison init`{hint}",
    file = .file.display()
)]
pub struct NoDialableAddr {
    /// node.toml.
    pub file: PathBuf,
    /// The address and why.
    pub source: Undialable,
    /// What else would do.
    pub hint: &'static str,
}

/// What `liaison id --json` prints, and `peer add --from-id` reads.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct IdCard {
    /// Party id.
    pub party_id: String,
    /// Party name.
    pub party_name: String,
    /// libp2p peer id.
    pub peer_id: String,
    /// Addresses to dial: `[network] external_addrs`, else the listen addresses (never
    /// 0.0.0.0 or port 0). The name stays for the cards already exchanged.
    pub listen_addrs: Vec<String>,
    /// Ed25519 public key of the Party, hex.
    pub signing_key: String,
    /// X25519 public key of the Party, hex.
    pub sealing_key: String,
    /// The node's automerge actor, certified by the Party key (written when the node first
    /// starts): the other Party's nodes check every change of this node against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_cert: Option<crate::authorship::ActorCert>,
}

pub fn init(dir: &Path, a: &InitArgs) -> anyhow::Result<()> {
    let listen = if a.listen.is_empty() {
        vec![format!("/ip4/0.0.0.0/tcp/{DEFAULT_P2P_PORT}").parse()?]
    } else {
        a.listen.clone()
    };
    let api = a.api.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], DEFAULT_API_PORT)));
    let opts = InitOptions {
        party_id: a.party_id.clone(),
        party_name: a.party_name.clone(),
        listen,
        external_addrs: a.external_addrs.clone(),
        api,
        party_keys_from: a.party_keys_from.clone(),
    };
    let public = init_data_dir(dir, &opts)?;
    if !a.api_name.is_empty() {
        keys::replace_self_signed(dir, &api_hosts(api, &a.api_name))?;
    }
    if a.json {
        // The card needs a dialable address; without one, init still succeeded.
        return match card(dir) {
            Ok(c) => output::json(&c),
            Err(_) => output::json(&serde_json::json!({ "peer_id": public.peer_id.to_string() })),
        };
    }
    println!("Created node for {} ({}) in {}", a.party_name, a.party_id, dir.display());
    println!("  peer id      {}", public.peer_id);
    println!("  config       {}", NodeConfig::path(dir).display());
    println!("  API          https://{api} (token in {})", dir.join(keys::API_TOKEN).display());
    println!();
    if let Err(e) = card(dir) {
        // Said now, not when the other site's sysadmin asks for the card.
        println!("  note         {e}");
    }
    println!("Next: give the other Party's sysadmin the output of `liaison id --data-dir {}`,", dir.display());
    println!("pin their node with `liaison peer add`, then `liaison serve --data-dir {}`.", dir.display());
    Ok(())
}

/// The addresses to export: `[network] external_addrs` when set; else the listen addresses,
/// with port 0 resolved from a running node's run.json. A wildcard listen address is refused
/// even on a running node: which of the machine's interfaces another site reaches is the
/// sysadmin's call, not a guess from the interface list.
pub fn exported_addrs(dir: &Path, cfg: &NodeConfig) -> Result<Vec<Multiaddr>, NoDialableAddr> {
    if !cfg.network.external_addrs.is_empty() {
        return Ok(cfg.network.external_addrs.clone());
    }
    let file = NodeConfig::path(dir);
    let refuse = |source, hint| NoDialableAddr { file: file.clone(), source, hint };
    for a in &cfg.network.listen {
        if let Err(e @ (Undialable::Unspecified { .. } | Undialable::Incomplete { .. })) = dialable(a) {
            return Err(refuse(e, "."));
        }
    }
    let running = run_info(dir).map(|info| info.listen.iter().filter_map(|a| a.parse().ok()).collect::<Vec<_>>());
    let addrs = match running {
        Some(bound) if !bound.is_empty() => bound,
        _ => cfg.network.listen.clone(),
    };
    for a in &addrs {
        dialable(a).map_err(|e| refuse(e, "; or start the node, and `liaison id` exports the port it bound."))?;
    }
    Ok(addrs)
}

fn card(dir: &Path) -> anyhow::Result<IdCard> {
    let cfg = NodeConfig::load(dir)?;
    let k = keys::load(dir)?.public();
    let listen_addrs = exported_addrs(dir, &cfg)?.iter().map(|a| a.to_string()).collect();
    Ok(IdCard {
        party_id: cfg.party.id.to_string(),
        party_name: cfg.party.name,
        peer_id: k.peer_id.to_string(),
        listen_addrs,
        signing_key: hex::encode(k.signing_key),
        sealing_key: hex::encode(k.sealing_key),
        actor_cert: std::fs::read(dir.join(crate::node::ACTOR_CERT_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok()),
    })
}

pub fn id(dir: &Path, a: &IdArgs) -> anyhow::Result<()> {
    if a.peer_id {
        println!("{}", keys::load(dir)?.public().peer_id);
        return Ok(());
    }
    let c = card(dir)?;
    if a.json {
        return output::json(&c);
    }
    println!("party        {} ({})", c.party_name, c.party_id);
    println!("peer id      {}", c.peer_id);
    for addr in &c.listen_addrs {
        println!("address      {addr}");
    }
    println!("signing key  {}", c.signing_key);
    println!("sealing key  {}", c.sealing_key);
    match &c.actor_cert {
        Some(a) => println!("actor        {} (certified by the Party key)", a.actor),
        None => println!("actor        (certified at the node's first start)"),
    }
    println!();
    println!(
        "To pin this node on another: liaison peer add --party-id {} --peer-id {}{} --signing-key {} --sealing-key {}",
        c.party_id,
        c.peer_id,
        c.listen_addrs.iter().map(|a| format!(" --addr {a}")).collect::<String>(),
        c.signing_key,
        c.sealing_key
    );
    Ok(())
}
