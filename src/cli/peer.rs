//! `liaison peer add|list|remove`: the peers allowed to connect. The config file is the truth;
//! a running node is told to re-read it at once.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use libp2p::{Multiaddr, PeerId};
use reqwest::Method;

use super::init::IdCard;
use super::output;
use crate::api::Reloaded;
use crate::client::{Client, ClientError};
use crate::config::{self, NodeConfig, PeerRole, PinnedPeer};
use crate::engine::NodeStatus;
use crate::ids::PartyId;
use crate::net::addr::dialable;

/// Peer commands.
#[derive(Subcommand, Debug)]
pub enum PeerCmd {
    /// Pin a peer: only pinned peers may connect.
    Add {
        /// The peer's Party or organisation id. Taken from --from-id if given there.
        #[arg(long, value_name = "ID", required_unless_present = "from_id")]
        party_id: Option<PartyId>,
        /// The peer's libp2p id (from `liaison id` on that node).
        #[arg(long, value_name = "PEER", required_unless_present = "from_id")]
        peer_id: Option<PeerId>,
        /// Where to dial it (repeatable): a concrete IP or DNS name with a TCP port (0.0.0.0 and
        /// port 0 are refused). Taken from --from-id when not given.
        #[arg(long = "addr", value_name = "MULTIADDR", value_parser = parse_multiaddr)]
        addrs: Vec<Multiaddr>,
        /// What it may receive.
        #[arg(long, value_enum, default_value_t = RoleArg::Party)]
        role: RoleArg,
        /// The peer Party's Ed25519 public key, hex.
        #[arg(long, value_name = "HEX")]
        signing_key: Option<String>,
        /// The peer Party's X25519 public key, hex.
        #[arg(long, value_name = "HEX")]
        sealing_key: Option<String>,
        /// Read everything from the JSON that `liaison id --json` printed on that node.
        #[arg(long, value_name = "FILE")]
        from_id: Option<PathBuf>,
    },
    /// List the pinned peers (by hand, and those our own Party's other node vouched for), with
    /// their connection state if the node runs.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Unpin a peer: its connections close and it can no longer connect.
    Remove {
        /// The peer id.
        peer_id: PeerId,
    },
}

/// A peer's role, as the CLI spells it.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RoleArg {
    /// A node of one of the two Parties.
    Party,
    /// A node of any other organisation.
    ThirdParty,
    /// On a third party's node: a Party's node that sends it granted items.
    Provider,
}

fn parse_multiaddr(s: &str) -> Result<Multiaddr, String> {
    config::parse_multiaddr(s)
}

fn key_arg(name: &str, v: Option<&str>) -> anyhow::Result<Option<[u8; 32]>> {
    v.map(|h| config::parse_key_hex(h).map_err(|e| anyhow::anyhow!("--{name}: {e}"))).transpose()
}

pub async fn run(dir: &Path, cmd: &PeerCmd, officer: &str) -> anyhow::Result<()> {
    match cmd {
        PeerCmd::Add { party_id, peer_id, addrs, role, signing_key, sealing_key, from_id } => {
            let card: Option<IdCard> = match from_id {
                Some(f) => Some(
                    serde_json::from_slice(&std::fs::read(f).with_context(|| format!("reading {}", f.display()))?)
                        .with_context(|| format!("{}: not the JSON of `liaison id --json`", f.display()))?,
                ),
                None => None,
            };
            let party_id = match (party_id, &card) {
                (Some(p), _) => p.clone(),
                (None, Some(c)) => c.party_id.parse().map_err(|e| anyhow::anyhow!("{e}"))?,
                (None, None) => bail!("--party-id is required"),
            };
            let peer_id = match (peer_id, &card) {
                (Some(p), _) => *p,
                (None, Some(c)) => c.peer_id.parse().context("peer_id in the id file")?,
                (None, None) => bail!("--peer-id is required"),
            };
            let mut addrs = addrs.clone();
            for a in &addrs {
                dialable(a).map_err(|e| anyhow::anyhow!("--addr {a}: {e}; give the address that node is reached at from here (its sysadmin sets it as [network] external_addrs)"))?;
            }
            if addrs.is_empty()
                && let Some(c) = &card
            {
                let file = from_id.as_deref().unwrap_or(Path::new("")).display();
                for a in &c.listen_addrs {
                    let a = config::parse_multiaddr(a).map_err(|e| anyhow::anyhow!("{file}: listen_addrs: {e}"))?;
                    dialable(&a).map_err(|e| {
                        anyhow::anyhow!(
                            "{file}: listen_addrs: {e}. Ask that node's sysadmin to set [network] external_addrs in its node.toml and export `liaison id --json` again, or give the address with --addr"
                        )
                    })?;
                    addrs.push(a);
                }
            }
            let signing_key =
                key_arg("signing-key", signing_key.as_deref().or(card.as_ref().map(|c| c.signing_key.as_str())))?;
            let sealing_key =
                key_arg("sealing-key", sealing_key.as_deref().or(card.as_ref().map(|c| c.sealing_key.as_str())))?;
            let role = match role {
                RoleArg::Party => PeerRole::Party,
                RoleArg::ThirdParty => PeerRole::ThirdParty,
                RoleArg::Provider => PeerRole::Provider,
            };
            let peer = PinnedPeer { party_id, peer_id, addrs, role, signing_key, sealing_key };
            config::add_peer(dir, &peer)?;
            println!("pinned {} ({}, {})", peer.peer_id, peer.party_id, peer.role);
            if peer.addrs.is_empty() {
                println!("note: no --addr given; this node will not dial it, but accepts its connections");
            }
            tell_node(dir, officer).await
        }
        PeerCmd::List { json } => {
            let cfg = NodeConfig::load(dir)?;
            // Only a node that is not running leaves the state unknown; a TLS or other failure
            // to reach one that runs is an error, not "(node not running)".
            let status: Option<NodeStatus> = match Client::for_data_dir(dir, officer)?.get("/api/status").await {
                Ok(s) => Some(s),
                Err(ClientError::NoNode { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            let connected = |id: &str| status.as_ref().map(|s| s.peers.iter().any(|p| p.peer_id == id && p.connected));
            // Pinned by hand (node.toml), then those our own Party's other node vouched for,
            // which only a running node knows.
            let mut rows: Vec<Listed> = cfg
                .peers
                .iter()
                .map(|p| Listed {
                    peer_id: p.peer_id.to_string(),
                    party_id: p.party_id.to_string(),
                    role: p.role.to_string(),
                    addrs: p.addrs.iter().map(|a| a.to_string()).collect(),
                    signing_key: p.signing_key.map(hex::encode),
                    sealing_key: p.sealing_key.map(hex::encode),
                    vouched_by: None,
                })
                .collect();
            for p in status.iter().flat_map(|s| &s.peers) {
                if let Some(by) = &p.vouched_by
                    && !rows.iter().any(|r| r.peer_id == p.peer_id)
                {
                    rows.push(Listed {
                        peer_id: p.peer_id.clone(),
                        party_id: p.party_id.clone(),
                        role: p.role.clone(),
                        addrs: p.addrs.clone(),
                        signing_key: None,
                        sealing_key: None,
                        vouched_by: Some(by.clone()),
                    });
                }
            }
            if *json {
                let v: Vec<_> = rows
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "peer_id": p.peer_id,
                            "party_id": p.party_id,
                            "role": p.role,
                            "addrs": p.addrs,
                            "signing_key": p.signing_key,
                            "sealing_key": p.sealing_key,
                            "pinned": if p.vouched_by.is_some() { "vouched-by-party" } else { "by-hand" },
                            "vouched_by": p.vouched_by,
                            "connected": connected(&p.peer_id),
                        })
                    })
                    .collect();
                return output::json(&v);
            }
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|p| {
                    vec![
                        p.party_id.clone(),
                        p.role.clone(),
                        p.peer_id.clone(),
                        match &p.vouched_by {
                            Some(by) => format!("vouched by our node {by}"),
                            None => "by hand".into(),
                        },
                        match connected(&p.peer_id) {
                            Some(true) => "connected".into(),
                            Some(false) => "not connected".into(),
                            None => "(node not running)".into(),
                        },
                        p.addrs.join(" "),
                    ]
                })
                .collect();
            output::table(&["PARTY", "ROLE", "PEER ID", "PINNED", "STATE", "ADDRESSES"], &table);
            if status.is_none() {
                println!("(peers vouched for by our own Party's other node are listed while the node runs)");
            }
            Ok(())
        }
        PeerCmd::Remove { peer_id } => {
            config::remove_peer(dir, peer_id)?;
            println!("unpinned {peer_id}");
            tell_node(dir, officer).await
        }
    }
}

/// One row of `peer list`.
struct Listed {
    peer_id: String,
    party_id: String,
    role: String,
    addrs: Vec<String>,
    signing_key: Option<String>,
    sealing_key: Option<String>,
    vouched_by: Option<String>,
}

/// Asks a running node to re-read its peers; says so if none runs (it reads them at start).
async fn tell_node(dir: &Path, officer: &str) -> anyhow::Result<()> {
    let client = match Client::for_data_dir(dir, officer) {
        Ok(c) => c,
        Err(_) => return Ok(()),
    };
    match client.send::<_, Reloaded>(Method::POST, "/api/reload", &serde_json::json!({})).await {
        Ok(r) => {
            println!("the running node now has {} pinned peer(s)", r.peers);
            Ok(())
        }
        Err(ClientError::NoNode { .. }) => {
            println!("(no node is running; it reads the peers when it starts)");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
