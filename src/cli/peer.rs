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
        /// Where to dial it (repeatable).
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
    /// List the pinned peers, with their connection state if the node runs.
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
            if addrs.is_empty()
                && let Some(c) = &card
            {
                for a in &c.listen_addrs {
                    addrs.push(
                        config::parse_multiaddr(a).map_err(|e| anyhow::anyhow!("listen_addrs in the id file: {e}"))?,
                    );
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
            let connected = |id: &PeerId| {
                status.as_ref().map(|s| s.peers.iter().any(|p| p.peer_id == id.to_string() && p.connected))
            };
            if *json {
                let v: Vec<_> = cfg
                    .peers
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "peer_id": p.peer_id.to_string(),
                            "party_id": p.party_id.to_string(),
                            "role": p.role.to_string(),
                            "addrs": p.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                            "signing_key": p.signing_key.map(hex::encode),
                            "sealing_key": p.sealing_key.map(hex::encode),
                            "connected": connected(&p.peer_id),
                        })
                    })
                    .collect();
                return output::json(&v);
            }
            let rows: Vec<Vec<String>> = cfg
                .peers
                .iter()
                .map(|p| {
                    vec![
                        p.party_id.to_string(),
                        p.role.to_string(),
                        p.peer_id.to_string(),
                        match connected(&p.peer_id) {
                            Some(true) => "connected".into(),
                            Some(false) => "not connected".into(),
                            None => "(node not running)".into(),
                        },
                        p.addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(" "),
                    ]
                })
                .collect();
            output::table(&["PARTY", "ROLE", "PEER ID", "STATE", "ADDRESSES"], &rows);
            Ok(())
        }
        PeerCmd::Remove { peer_id } => {
            config::remove_peer(dir, peer_id)?;
            println!("unpinned {peer_id}");
            tell_node(dir, officer).await
        }
    }
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
