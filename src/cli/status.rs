//! `liaison status`: the peers and their sync state, the documents, the store.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Args;

use super::output;
use crate::client::{Client, ClientError};
use crate::config::NodeConfig;
use crate::engine::{NodeStatus, PeerStatus};
use crate::keys;
use crate::store::Store;

/// Arguments of `liaison status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(dir: &Path, a: &StatusArgs, officer: &str) -> anyhow::Result<()> {
    let (status, running) = match Client::for_data_dir(dir, officer)?.get::<NodeStatus>("/api/status").await {
        Ok(s) => (s, true),
        Err(ClientError::NoNode { .. }) => (offline(dir)?, false),
        Err(e) => return Err(e.into()),
    };
    if a.json {
        let mut v = serde_json::to_value(&status)?;
        v["running"] = running.into();
        return output::json(&v);
    }
    println!("{} ({}) — node {}", status.party_name, status.party_id, if running { "running" } else { "not running" });
    println!("peer id    {}", status.peer_id);
    let docs: Vec<String> = status.documents.iter().map(|(k, n)| format!("{n} {k}")).collect();
    println!("documents  {} ({})", status.documents_total, docs.join(", "));
    println!("store      {:.1} MiB", status.store_bytes as f64 / (1024.0 * 1024.0));
    println!();
    let rows: Vec<Vec<String>> = status
        .peers
        .iter()
        .map(|p| {
            vec![
                p.party_id.clone(),
                p.role.clone(),
                output::short(&p.peer_id),
                if p.connected { "connected".into() } else { "not connected".into() },
                output::opt(&p.last_sync),
                format!("{}/{}", p.in_sync, p.shared),
                p.behind.to_string(),
            ]
        })
        .collect();
    output::table(&["PARTY", "ROLE", "PEER", "STATE", "LAST SYNC", "IN SYNC", "BEHIND"], &rows);
    Ok(())
}

/// What can be told without a running node: from the config, the keys and the store.
fn offline(dir: &Path) -> anyhow::Result<NodeStatus> {
    let cfg = NodeConfig::load(dir)?;
    let k = keys::load(dir)?.public();
    let store = Store::open(dir)?;
    let mut documents: BTreeMap<String, usize> = BTreeMap::new();
    let all = store.all_docs()?;
    for (_, m) in &all {
        *documents.entry(m.kind.to_string()).or_default() += 1;
    }
    let mut peers = Vec::new();
    for p in &cfg.peers {
        let rec = store.peer_record(&p.peer_id.to_bytes())?;
        peers.push(PeerStatus {
            peer_id: p.peer_id.to_string(),
            party_id: p.party_id.to_string(),
            role: p.role.to_string(),
            connected: false,
            last_sync: rec
                .last_sync_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            shared: 0,
            in_sync: 0,
            behind: 0,
            traffic: Default::default(),
            addrs: p.addrs.iter().map(|a| a.to_string()).collect(),
            vouched_by: None,
        });
    }
    Ok(NodeStatus {
        party_id: cfg.party.id.to_string(),
        party_name: cfg.party.name,
        peer_id: k.peer_id.to_string(),
        documents_total: all.len(),
        documents,
        store_bytes: store.size_bytes(),
        peers,
    })
}
