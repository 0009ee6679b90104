//! `liaison init` and `liaison id`: a sysadmin creates a node and tells the other side how to
//! pin it.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};

use super::output;
use crate::config::{self, DEFAULT_API_PORT, DEFAULT_P2P_PORT, NodeConfig};
use crate::ids::PartyId;
use crate::keys::{self, PartyKeys};
use crate::node::run_info;

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
    /// Address of the local HTTPS API [default: 127.0.0.1:4711].
    #[arg(long, value_name = "ADDR")]
    pub api: Option<SocketAddr>,
    /// Copy the Party's signing and sealing keys from another node's data dir: for a Party's
    /// second node (backup, branch office). Without it, new Party keys are generated.
    #[arg(long, value_name = "DIR")]
    pub party_keys_from: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

fn parse_multiaddr(s: &str) -> Result<Multiaddr, String> {
    config::parse_multiaddr(s)
}

/// Arguments of `liaison id`.
#[derive(Args, Debug)]
pub struct IdArgs {
    /// Print as JSON (what `liaison peer add --from-id` reads).
    #[arg(long)]
    pub json: bool,
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
    /// Addresses to dial.
    pub listen_addrs: Vec<String>,
    /// Ed25519 public key of the Party, hex.
    pub signing_key: String,
    /// X25519 public key of the Party, hex.
    pub sealing_key: String,
}

pub fn init(dir: &Path, a: &InitArgs) -> anyhow::Result<()> {
    let file = NodeConfig::path(dir);
    if file.exists() || dir.join(keys::KEYS_DIR).exists() {
        bail!("{} is already a liaison node ({} exists); init never overwrites keys. Use another --data-dir, or remove that one first.", dir.display(), file.display());
    }
    if a.party_name.trim().is_empty() {
        bail!("--party-name must not be empty (e.g. \"CICA Secretariat\")");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).with_context(|| format!("chmod 700 {}", dir.display()))?;
    let listen = if a.listen.is_empty() {
        vec![format!("/ip4/0.0.0.0/tcp/{DEFAULT_P2P_PORT}").parse()?]
    } else {
        a.listen.clone()
    };
    let api = a.api.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], DEFAULT_API_PORT)));
    let party_keys = match &a.party_keys_from {
        Some(other) => PartyKeys::CopyFrom(other),
        None => PartyKeys::Generate,
    };
    let api_hosts = if api.ip().is_unspecified() { vec![] } else { vec![api.ip().to_string()] };
    let k = keys::generate(dir, party_keys, &api_hosts)?;
    let text = config::render_template(&a.party_id, &a.party_name, &listen, api);
    std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    // Parse back what we wrote: init must never leave a config that serve would refuse.
    NodeConfig::load(dir)?;
    let card = card(dir)?;
    if a.json {
        return output::json(&card);
    }
    println!("Created node for {} ({}) in {}", a.party_name, a.party_id, dir.display());
    println!("  peer id      {}", k.public().peer_id);
    println!("  config       {}", file.display());
    println!("  API          https://{api} (token in {})", dir.join(keys::API_TOKEN).display());
    println!();
    println!("Next: give the other Party's sysadmin the output of `liaison id --data-dir {}`,", dir.display());
    println!("pin their node with `liaison peer add`, then `liaison serve --data-dir {}`.", dir.display());
    Ok(())
}

fn card(dir: &Path) -> anyhow::Result<IdCard> {
    let cfg = NodeConfig::load(dir)?;
    let k = keys::load(dir)?.public();
    let listen_addrs = match run_info(dir) {
        Some(info) => info.listen,
        None => cfg.network.listen.iter().map(|a| a.to_string()).collect(),
    };
    Ok(IdCard {
        party_id: cfg.party.id.to_string(),
        party_name: cfg.party.name,
        peer_id: k.peer_id.to_string(),
        listen_addrs,
        signing_key: hex::encode(k.signing_key),
        sealing_key: hex::encode(k.sealing_key),
    })
}

pub fn id(dir: &Path, a: &IdArgs) -> anyhow::Result<()> {
    let c = card(dir)?;
    if a.json {
        return output::json(&c);
    }
    println!("party        {} ({})", c.party_name, c.party_id);
    println!("peer id      {}", c.peer_id);
    for addr in &c.listen_addrs {
        println!("listen       {addr}");
    }
    println!("signing key  {}", c.signing_key);
    println!("sealing key  {}", c.sealing_key);
    println!();
    println!("To pin this node on another: liaison peer add --party-id {} --peer-id {} --addr <ADDR> --signing-key {} --sealing-key {}",
        c.party_id, c.peer_id, c.signing_key, c.sealing_key);
    Ok(())
}
