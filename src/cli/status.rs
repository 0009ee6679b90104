//! `liaison status`: the peers and their sync state, the documents, the store.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Args;

use std::time::Duration;

use super::{Code, Quiet, output};
use crate::client::{Client, ClientError};
use crate::config::NodeConfig;
use crate::engine::{NodeStatus, PeerStatus};
use crate::keys;
use crate::node::run_info;
use crate::store::Store;
use crate::store::{LockError, StoreError};

/// How long `status` waits for a node that is starting to write its run file.
const STARTING: Duration = Duration::from_secs(10);

/// Arguments of `liaison status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Print as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(dir: &Path, a: &StatusArgs, officer: &str) -> anyhow::Result<()> {
    let client = Client::for_data_dir(dir, officer)?;
    let (status, running) = match client.get::<NodeStatus>("/api/status").await {
        Ok(s) => (s, true),
        Err(ClientError::NoNode { .. }) => match offline(dir) {
            Ok(s) => (s, false),
            // A node took the data dir between our two looks: it is starting; ask it once it
            // answers.
            Err(e) if serving(&e) => (starting(dir, officer).await?, true),
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e.into()),
    };
    if a.json {
        let mut v = serde_json::to_value(&status)?;
        v["running"] = running.into();
        output::json(&v)?;
    } else {
        print(&status, running);
    }
    // A monitoring check reads the exit code: the report above is printed either way.
    if running { Ok(()) } else { Err(Quiet(Code::NotRunning).into()) }
}

/// Whether `e` says a node serves the data dir.
fn serving(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Locked(LockError::Served { .. })))
}

/// The status of a node that is starting: asked as soon as it has written its run file.
async fn starting(dir: &Path, officer: &str) -> anyhow::Result<NodeStatus> {
    let deadline = tokio::time::Instant::now() + STARTING;
    while run_info(dir).is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The run file may name another address than node.toml (port 0): a fresh client reads it.
    let fresh = Client::for_data_dir(dir, officer)?;
    Ok(fresh.get::<NodeStatus>("/api/status").await?)
}

fn print(status: &NodeStatus, running: bool) {
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
