//! `liaison audit ...`: the tamper-evident log of what crossed the line around provided
//! information. Works on a running node through its API, or on a stopped node's store.

use std::path::Path;

use clap::Subcommand;

use super::output;
use crate::api::AuditReport;
use crate::audit::{self, SignedEntry};
use crate::client::{Client, ClientError};
use crate::witness::Witnessed;

/// Audit commands.
#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Show the log.
    Show {
        /// Only the entries about this item: its id or a unique prefix (4 or more hex digits),
        /// also of an item deleted long ago.
        #[arg(long, value_name = "ID")]
        item: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the whole log: an edited, removed, reordered or cut-off entry is found, and the
    /// first bad one named. Exits non-zero if the log is not intact.
    Verify {
        /// Also check the log against the heads the other Party's node witnessed: a JSON file
        /// that its sysadmin exports with `liaison audit witnessed --json`. A log rewritten here
        /// (even signed again with this node's key) fails, naming the entry.
        #[arg(long, value_name = "FILE")]
        witness: Option<std::path::PathBuf>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The audit heads this node holds witnessed: each node of the other Party's log, as that
    /// node sent it and this node countersigned it (hand this to the other Party for its
    /// `audit verify --witness`), and this node's own, countersigned by the other Party.
    Witnessed {
        /// Print as JSON (the form `audit verify --witness` reads).
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(dir: &Path, cmd: &AuditCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        AuditCmd::Show { item, json } => {
            let path = match item {
                Some(i) => format!("/api/audit?item={i}"),
                None => "/api/audit".into(),
            };
            let entries: Vec<SignedEntry> = match c.get(&path).await {
                Ok(v) => v,
                Err(ClientError::NoNode { .. }) => {
                    let all = offline_entries(dir)?;
                    match item {
                        Some(p) => crate::audit::entries_about(all, p)?,
                        None => all,
                    }
                }
                Err(e) => return Err(e.into()),
            };
            if *json {
                return output::json(&entries);
            }
            for e in &entries {
                let ev = serde_json::to_value(&e.entry.event)?;
                let (kind, rest) = match ev.as_object().and_then(|o| o.iter().next()) {
                    Some((k, v)) => (k.clone(), v.as_object().cloned().unwrap_or_default()),
                    None => ("?".to_string(), Default::default()),
                };
                let details: Vec<String> = rest
                    .iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| format!("{k}={}", v.as_str().map(String::from).unwrap_or_else(|| v.to_string())))
                    .collect();
                println!("{:>5}  {}  {:<20} {}", e.entry.seq, e.entry.at, kind, details.join(" "));
            }
            if entries.is_empty() {
                println!("(no entries)");
            }
        }
        AuditCmd::Verify { witness, json } => {
            let mut report: AuditReport = match c.get("/api/audit/verify").await {
                Ok(r) => r,
                Err(ClientError::NoNode { .. }) => offline_verify(dir)?,
                Err(e) => return Err(e.into()),
            };
            let witnessed = match witness {
                Some(file) => Some(check_witness(&c, dir, file).await?),
                None => None,
            };
            if let Some(Err(e)) = &witnessed {
                report.ok = false;
                report.error = Some(e.to_string());
            }
            if *json {
                let mut v = serde_json::to_value(&report)?;
                if let Some(Ok(n)) = &witnessed {
                    v["witnessed_heads"] = (*n).into();
                }
                output::json(&v)?;
            } else if report.ok {
                println!("audit log intact: {} entries, chained and signed by this node", report.entries);
                if let Some(Ok(n)) = &witnessed {
                    println!("and it matches the {n} head(s) the other Party witnessed");
                }
            } else {
                println!("AUDIT LOG NOT INTACT: {}", report.error.clone().unwrap_or_default());
            }
            if !report.ok {
                anyhow::bail!("the audit log of {} failed verification", dir.display());
            }
        }
        AuditCmd::Witnessed { json } => {
            let list: Vec<Witnessed> = match c.get("/api/audit/witnessed").await {
                Ok(v) => v,
                Err(ClientError::NoNode { .. }) => offline_witnessed(dir)?,
                Err(e) => return Err(e.into()),
            };
            if *json {
                return output::json(&list);
            }
            let us = crate::keys::load(dir)?.node.public().to_peer_id().to_string();
            for w in &list {
                let whose = if w.node == us { "this node".to_string() } else { w.node.clone() };
                println!("{}  log of {whose} at {} entries, witnessed by {}", w.at, w.head.len, w.witness);
            }
            if list.is_empty() {
                println!("(none yet: heads are exchanged with the other Party's nodes once connected)");
            }
        }
    }
    Ok(())
}

/// Checks this node's log against a file of heads the other Party witnessed; the outer error is
/// a file that cannot be read, the inner one a log that does not match.
async fn check_witness(
    c: &Client,
    dir: &Path,
    file: &Path,
) -> anyhow::Result<Result<usize, crate::witness::WitnessError>> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let list: Vec<Witnessed> = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a list of witnessed heads as `liaison audit witnessed --json` prints it: {e}",
            file.display()
        )
    })?;
    let entries: Vec<SignedEntry> = match c.get("/api/audit").await {
        Ok(v) => v,
        Err(ClientError::NoNode { .. }) => offline_entries(dir)?,
        Err(e) => return Err(e.into()),
    };
    let us = crate::keys::load(dir)?.node.public().to_peer_id().to_string();
    if !list.iter().any(|w| w.node == us) {
        anyhow::bail!(
            "{} holds no head of this node's log ({us}); ask the other Party for the right export",
            file.display()
        );
    }
    Ok(crate::witness::check_log(&entries, &us, &list))
}

fn offline_witnessed(dir: &Path) -> anyhow::Result<Vec<Witnessed>> {
    let store = crate::store::Store::open(dir)?;
    let mut out: Vec<Witnessed> = store.meta_value("witness-receipts")?.unwrap_or_default();
    for p in crate::config::NodeConfig::load(dir)?.peers {
        out.extend(store.meta_value::<Vec<Witnessed>>(&format!("witnessed/{}", p.peer_id))?.unwrap_or_default());
    }
    Ok(out)
}

fn offline_entries(dir: &Path) -> anyhow::Result<Vec<SignedEntry>> {
    let store = crate::store::Store::open(dir)?;
    Ok(store.audit_entries()?)
}

fn offline_verify(dir: &Path) -> anyhow::Result<AuditReport> {
    let keys = crate::keys::load(dir)?;
    let store = crate::store::Store::open(dir)?;
    let entries = store.audit_entries()?;
    let total = entries.len() as u64;
    let head = store.audit_head()?;
    Ok(AuditReport::from_result(audit::verify(entries, &keys.node.public(), head.as_ref()), total))
}
