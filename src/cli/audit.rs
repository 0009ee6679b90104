//! `liaison audit ...`: the tamper-evident log of what crossed the line around provided
//! information. Works on a running node through its API, or on a stopped node's store.

use std::path::Path;

use clap::Subcommand;

use super::output;
use crate::api::AuditReport;
use crate::audit::{self, SignedEntry};
use crate::client::{Client, ClientError};
use crate::ids::ItemId;

/// Audit commands.
#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Show the log.
    Show {
        /// Only the entries about this item (32 hex digits).
        #[arg(long, value_name = "ID")]
        item: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check the whole log: an edited, removed, reordered or cut-off entry is found, and the
    /// first bad one named. Exits non-zero if the log is not intact.
    Verify {
        /// Print as JSON.
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
                    let want = item.as_deref().and_then(crate::ids::parse_id16).map(ItemId);
                    offline_entries(dir)?.into_iter().filter(|e| want.is_none() || about(e) == want).collect()
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
        AuditCmd::Verify { json } => {
            let report: AuditReport = match c.get("/api/audit/verify").await {
                Ok(r) => r,
                Err(ClientError::NoNode { .. }) => offline_verify(dir)?,
                Err(e) => return Err(e.into()),
            };
            if *json {
                output::json(&report)?;
            } else if report.ok {
                println!("audit log intact: {} entries, chained and signed by this node", report.entries);
            } else {
                println!("AUDIT LOG NOT INTACT: {}", report.error.clone().unwrap_or_default());
            }
            if !report.ok {
                anyhow::bail!("the audit log of {} failed verification", dir.display());
            }
        }
    }
    Ok(())
}

fn about(e: &SignedEntry) -> Option<ItemId> {
    let v = serde_json::to_value(&e.entry.event).ok()?;
    let fields = v.as_object()?.values().next()?;
    serde_json::from_value::<ItemId>(fields.get("item")?.clone()).ok()
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
