//! `liaison bench`: see [`crate::bench`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::bench::{self, BenchOptions};

/// Arguments of `liaison bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Workloads to run: A (1,000 documents to a fresh node), B (keystroke latency), C (one
    /// 100,000-change draft to a fresh node), D (a 200-article draft in two languages, 100,000
    /// edits each: load, status, export, sync to a fresh node), S (the search index: indexing
    /// time and size for D's draft and 1,000 meetings, query latency; in process, not by
    /// default), K (a keystroke's cost on one node holding D's draft: splice, commit, event, the
    /// provision's fetch; not by default), V (the vault's encryption and decryption of a 100 MiB item against the raw
    /// AEAD; in process, not by default), years (a workspace of years on two nodes: start-up,
    /// lists and pages p50/p99, keystroke under list load, a fresh node's bootstrap, peak RSS;
    /// not by default).
    #[arg(long = "workload", value_name = "A|B|C|D|K|S|V|years", default_values_t = ["A".to_string(), "B".to_string(), "C".to_string(), "D".to_string()])]
    pub workloads: Vec<String>,
    /// Runs of each workload, each with fresh processes and fresh stores.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Documents in workload A.
    #[arg(long, default_value_t = 1000)]
    pub docs: usize,
    /// Edits per document in workloads A and B.
    #[arg(long, default_value_t = 200)]
    pub edits: usize,
    /// Single-character changes of workload C's draft.
    #[arg(long, default_value_t = 100_000)]
    pub c_keys: usize,
    /// Single-character edits per language of workload D's 200-article draft.
    #[arg(long, default_value_t = 100_000)]
    pub d_edits: usize,
    /// Keystrokes measured per run of workload B.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Idle time between workload B's keystrokes, ms.
    #[arg(long, default_value_t = 150)]
    pub gap_ms: u64,
    /// Workload "years": the workspace's size as a fraction of the (10,000 meetings,
    /// 2,000 threads of 20 messages, 300 drafts of 200 provisions, 1,000 items); 0.1 for a quick
    /// run. The workspace is made once per size and kept in the work dir (give --work-dir to
    /// reuse it across invocations).
    #[arg(long, default_value_t = 1.0, value_name = "FRACTION")]
    pub years_scale: f64,
    /// Workload "years": requests timed per read (each read stops after 90 s whatever the count).
    #[arg(long, default_value_t = 200)]
    pub years_requests: usize,
    /// Workload V: the item's size, MiB.
    #[arg(long, default_value_t = 100)]
    pub vault_mib: usize,
    /// Where to put the nodes' data dirs (default: a temporary dir, removed afterwards).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Append one JSON line per run to this file.
    #[arg(long, value_name = "FILE")]
    pub json_out: Option<PathBuf>,
}

pub async fn run(a: &BenchArgs) -> anyhow::Result<()> {
    let o = BenchOptions {
        workloads: a.workloads.clone(),
        runs: a.runs,
        docs: a.docs,
        edits: a.edits,
        c_keys: a.c_keys,
        d_edits: a.d_edits,
        samples: a.samples,
        gap: Duration::from_millis(a.gap_ms),
        work_dir: a.work_dir.clone(),
        json_out: a.json_out.clone(),
        years_scale: a.years_scale,
        years_requests: a.years_requests,
        vault_mib: a.vault_mib,
    };
    bench::run(&o).await
}
