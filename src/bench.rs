//! `liaison bench`: real nodes (separate `liaison serve` processes) on loopback, over the
//! workloads of `../shared/peerbench`, with the same document shapes and edit counts:
//!
//! - **A**: a fresh node brought in sync with 1,000 drafts of about 2 KB of text built by 200
//!   edits each; timed from just before the fresh node's process starts until its store holds
//!   every document with the expected heads (durably: the status reports committed heads).
//! - **B**: one keystroke at node A until node B has applied it: median and p99 over isolated
//!   keystrokes (150 ms apart, as the reference's B2). Measured two ways: node to node (A's
//!   engine applied it → B's engine applied it, both on `CLOCK_MONOTONIC`, the reference's
//!   definition), and end to end from a client process through A's HTTPS API until B's event
//!   stream announced it (this includes A's fsync before it answers and B's fsync before it
//!   announces).
//! - **C**: a fresh node synced with one draft built from 100,000 single-character changes.
//! - **K**: a keystroke's cost on one node: splice, commit, event, the provision's fetch
//!   (`liaison bench --workload K`, not by default; see `bench/keystroke.rs`).
//! - **S**: the search index (in process): indexing time and size for D's draft and 1,000
//!   meetings, and query latency (`liaison bench --workload S`).
//! - Peak RSS (VmHWM) of each node process.
//!
//! Every run starts fresh processes on a fresh copy of the stores. Alongside, the same process
//! measures an in-process baseline (automerge load + sync protocol, no network, no disk) on the
//! same documents, so that each figure comes with a ratio against a baseline of the same run.

mod data;
mod drafting;
mod keystroke;
mod procs;
mod search;
mod vault;
mod years;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use automerge::Automerge;
use automerge::sync::{State, SyncDoc};
use serde::Serialize;

use crate::api::{DocInfo, Spliced};
use crate::client::Client;
use crate::engine::NodeStatus;
use crate::ids::DocId;
use crate::node::{InitOptions, init_data_dir};
use crate::store::Store;
use crate::workspace::DocKind;
use data::{GenDoc, Typist};
use procs::{Proc, copy_dir, peak_rss_mib, pin};

pub use data::{note_doc, note_doc_by, typed_doc, typed_doc_by};

/// The text object of a generated document's single article (what its edits go to).
pub fn data_text_obj(doc: &Automerge) -> automerge::ObjId {
    data::text_obj(doc).unwrap_or(automerge::ROOT)
}

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Workloads, among "A", "B", "C".
    pub workloads: Vec<String>,
    /// Runs per workload.
    pub runs: usize,
    /// Documents in workload A.
    pub docs: usize,
    /// Edits per document (A and B).
    pub edits: usize,
    /// Changes of workload C's document.
    pub c_keys: usize,
    /// Edits per language of workload D's draft.
    pub d_edits: usize,
    /// Keystrokes measured in workload B.
    pub samples: usize,
    /// Idle time between workload B's keystrokes.
    pub gap: Duration,
    /// Where to put the nodes' data dirs (a temporary dir if unset).
    pub work_dir: Option<PathBuf>,
    /// Append one JSON line per run here.
    pub json_out: Option<PathBuf>,
    /// Workload "years": the workspace's size as a fraction of the issue's.
    pub years_scale: f64,
    /// Workload "years": requests timed per read.
    pub years_requests: usize,
    /// Workload V: the item's size, MiB.
    pub vault_mib: usize,
}

/// One run's measurements.
#[derive(Clone, Debug, Default, Serialize)]
struct RunResult {
    workload: String,
    run: usize,
    /// Headline time in ms (A and C: until the fresh node is in sync).
    sync_ms: f64,
    /// Same run, in process, no network or disk: load the saved documents and sync them.
    floor_ms: f64,
    /// Payload bytes the fresh node received.
    bytes_received: u64,
    /// Peak RSS, MiB (A, C, D: B's once its search index caught up with what it took in).
    rss_a_mib: f64,
    rss_b_mib: f64,
    /// A, C, D: B's peak RSS when it was in sync, before its search index caught up, MiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    rss_b_synced_mib: Option<f64>,
    /// Workload B: node-to-node latency samples, ms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    latency_ms: Vec<f64>,
    /// Workload B: client → A's API → B's event stream, ms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    e2e_ms: Vec<f64>,
    /// Workload B: in-process floor per keystroke (generate, encode, decode, apply), ms.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    floor_latency_ms: Vec<f64>,
    /// Workload D: `Automerge::load` of the saved draft, in process, ms.
    load_ms: f64,
    /// Workload D: the node's first read of the draft after it started (from the store), ms.
    first_read_ms: f64,
    /// Workload D: `draft status` (a read through the API), median of 5, ms.
    status_ms: f64,
    /// Workload D: `draft export --format html`, median of 5, ms.
    export_ms: f64,
}

/// Runs the benchmark and prints a summary in markdown.
pub async fn run(o: &BenchOptions) -> anyhow::Result<()> {
    let mut tmp = None;
    let work = match &o.work_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            let t = tempfile::Builder::new().prefix("liaison-bench").tempdir()?;
            let p = t.path().to_path_buf();
            tmp = Some(t);
            p
        }
    };
    let out = run_in(o, &work).await;
    if out.is_err()
        && let Some(t) = tmp
    {
        // A failed run's logs are what explain it: keep them.
        let kept = t.keep();
        eprintln!("the work dir is kept for its logs: {}", kept.display());
    }
    out
}

async fn run_in(o: &BenchOptions, work: &Path) -> anyhow::Result<()> {
    let work = work.to_path_buf();
    let exe = std::env::current_exe().context("locating the liaison binary")?;
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; benchmark a release build (cargo build --release)");
    }
    let mut all = Vec::new();
    for w in &o.workloads {
        let results = match w.to_ascii_uppercase().as_str() {
            "A" => {
                let make = |actor: &[u8]| {
                    Ok((0..o.docs).map(|i| note_doc_by(0xa000 + i as u32, i, o.edits, Some(actor))).collect())
                };
                bench_sync(&exe, &work, "A", o, &make).await?
            }
            "C" => {
                bench_sync(&exe, &work, "C", o, &|a: &[u8]| Ok(vec![typed_doc_by(0xc000, o.c_keys, Some(a))])).await?
            }
            "D" => {
                bench_sync(&exe, &work, "D", o, &|a: &[u8]| Ok(vec![drafting::treaty_doc(o.d_edits, Some(a))?])).await?
            }
            "B" => bench_latency(&exe, &work, o).await?,
            // In process, with its own table: the search index's cost.
            "S" => {
                let rs = search::run(o.runs, o.d_edits, &work)?;
                if let Some(f) = &o.json_out {
                    use std::io::Write;
                    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(f)?;
                    for r in &rs {
                        writeln!(file, "{}", serde_json::to_string(r)?)?;
                    }
                }
                println!("{}", search::summary(&rs));
                continue;
            }
            // One node, its own table: a keystroke's node-side cost (splice, commit, event, fetch).
            "K" => {
                let rs = keystroke::run(&exe, &work, o.runs, o.samples, o.gap, o.d_edits).await?;
                append_json(o, &rs)?;
                println!("{}", keystroke::summary(&rs));
                continue;
            }
            // Tables of their own: the vault's throughput, and the workspace of years.
            "V" => {
                let rs = vault::run(o.runs, o.vault_mib)?;
                append_json(o, &rs)?;
                println!("{}", vault::summary(&rs));
                continue;
            }
            "YEARS" => {
                let rs = years::run(&exe, &work, o).await?;
                append_json(o, &rs)?;
                println!("{}", years::summary(&rs));
                continue;
            }
            other => bail!("unknown workload {other:?}; use A, B, C, D, K, S, V or years"),
        };
        if let Some(f) = &o.json_out {
            use std::io::Write;
            let mut file = std::fs::OpenOptions::new().create(true).append(true).open(f)?;
            for r in &results {
                writeln!(file, "{}", serde_json::to_string(r)?)?;
            }
        }
        all.push(results);
    }
    println!("{}", summary(o, &all));
    Ok(())
}

/// Appends one JSON line per run to `--json-out`, if given.
fn append_json<T: Serialize>(o: &BenchOptions, rs: &[T]) -> anyhow::Result<()> {
    if let Some(f) = &o.json_out {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(f)?;
        for r in rs {
            writeln!(file, "{}", serde_json::to_string(r)?)?;
        }
    }
    Ok(())
}

/// The documents of a workload, written by the given actor (the seeded node's own).
type Generate<'a> = &'a dyn Fn(&[u8]) -> anyhow::Result<Vec<GenDoc>>;

/// Two data dirs: A (cica) seeded with the documents `generate` makes with A's own actor, signed
/// as A's own (as if A's officers had written them), and B (sco-rats) empty; each pins the other
/// (B learns A's address once A runs). Returns the dirs and the documents.
fn templates(work: &Path, name: &str, generate: Generate<'_>) -> anyhow::Result<(PathBuf, PathBuf, Vec<GenDoc>)> {
    let (a, b) = init_pair(&work.join(format!("{name}-template-a")), &work.join(format!("{name}-template-b")))?;
    let actor = Store::open(&a)?.actor()?;
    let docs = generate(&actor)?;
    let list: Vec<(DocId, DocKind, &Automerge)> = docs.iter().map(|g| (DocId(g.id), DocKind::Draft, &g.doc)).collect();
    crate::engine::import_own_documents(&a, &list)?;
    Ok((a, b, docs))
}

/// Runs the seeded node once, as a node that has been serving for a while would have: its search
/// index and list summaries are built then (a query waits for the index to catch up), not inside
/// the time measured. Without this, every run timed A's first index build of every document
/// beside the sync (the A/C slowdown measured after issue 12).
async fn warm(exe: &Path, dir: &Path) -> anyhow::Result<()> {
    let p = Proc::serve(exe, dir).await?;
    let c = Client::for_data_dir(dir, "bench")?;
    let _: serde_json::Value = c.get("/api/search?q=warm").await?;
    let _: serde_json::Value = c.get("/api/drafts").await?;
    p.stop().await
}

/// Two fresh data dirs, A of cica and B of sco-rats, A pinning B (B pins A once A runs).
fn init_pair(a: &Path, b: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (a, b) = (a.to_path_buf(), b.to_path_buf());
    for (dir, party) in [(&a, "cica"), (&b, "sco-rats")] {
        let _ = std::fs::remove_dir_all(dir);
        init_data_dir(
            dir,
            &InitOptions {
                party_id: party.parse()?,
                party_name: format!("{party} (bench)"),
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
                external_addrs: Vec::new(),
                api: "127.0.0.1:0".parse()?,
                party_keys_from: None,
            },
        )?;
    }
    pin(&a, &b, None)?;
    Ok((a, b))
}

/// Workloads A and C: time for a fresh node to hold every document of a seeded one.
async fn bench_sync(
    exe: &Path,
    work: &Path,
    name: &str,
    o: &BenchOptions,
    generate: Generate<'_>,
) -> anyhow::Result<Vec<RunResult>> {
    let (ta, tb, docs) = templates(work, name, generate)?;
    warm(exe, &ta).await?;
    eprintln!(
        "[{name}] {} document(s), {} change(s) in all",
        docs.len(),
        docs.iter().map(|g| g.doc.get_changes(&[]).len()).sum::<usize>()
    );
    let saved: Vec<Vec<u8>> = docs.iter().map(|g| g.doc.save()).collect();
    let expected: Vec<(String, Vec<String>)> = docs
        .iter()
        .map(|g| {
            let mut h: Vec<String> = g.doc.get_heads().iter().map(|h| h.to_string()).collect();
            h.sort();
            (DocId(g.id).to_string(), h)
        })
        .collect();
    drop(docs);
    let mut out = Vec::new();
    for run in 1..=o.runs {
        let dir = work.join(format!("{name}-run{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        let (a, b) = (dir.join("a"), dir.join("b"));
        copy_dir(&ta, &a)?;
        copy_dir(&tb, &b)?;
        let pa = Proc::serve(exe, &a).await?;
        let ca = Client::for_data_dir(&a, "bench")?;
        let first_read_ms = if name == "D" {
            let t = Instant::now();
            let _: serde_json::Value = ca.get(&format!("/api/drafts/{}", expected[0].0)).await?;
            t.elapsed().as_secs_f64() * 1e3
        } else {
            0.0
        };
        // Everything A holds (the documents under test and its Party's registry and mandates),
        // and B's own Party's registry and mandates, which B makes at its first start. Counted
        // before B starts: once B runs, A may already hold B's two (a run then waited for 2 more
        // than there are).
        let want = ca.get::<NodeStatus>("/api/status").await?.documents_total + 2;
        pin(&b, &a, Some(&pa.listen()?))?;
        let t0 = Instant::now();
        let pb = Proc::serve(exe, &b).await?;
        let cb = Client::for_data_dir(&b, "bench")?;
        // Seconds before a run is called stuck (a loaded machine can be twenty times slower).
        let limit: u64 = std::env::var("LIAISON_BENCH_TIMEOUT_S").ok().and_then(|v| v.parse().ok()).unwrap_or(600);
        let mut last = None;
        loop {
            if let Ok(s) = cb.get::<NodeStatus>("/api/status").await {
                if s.documents_total == want && s.peers.first().is_some_and(|p| p.in_sync == want) {
                    break;
                }
                last = Some(s);
            }
            if t0.elapsed() > Duration::from_secs(limit) {
                // What B last said, so that a hang can be told from slowness.
                let seen = last.map(|s| {
                    let p = s.peers.first();
                    format!(
                        "B held {} of {want} document(s); its peer: connected {:?}, in sync {:?}, behind {:?}",
                        s.documents_total,
                        p.map(|p| p.connected),
                        p.map(|p| p.in_sync),
                        p.map(|p| p.behind)
                    )
                });
                bail!(
                    "[{name}] run {run}: not in sync after {limit} s ({}); logs in {}",
                    seen.unwrap_or_else(|| "B's status never answered".into()),
                    dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let sync_ms = t0.elapsed().as_secs_f64() * 1e3;
        let rss_b_synced = peak_rss_mib(pb.pid());
        let status: NodeStatus = cb.get("/api/status").await?;
        let got: Vec<DocInfo> = cb.get("/api/docs").await?;
        let mismatches =
            expected.iter().filter(|(id, heads)| !got.iter().any(|d| &d.id == id && &d.heads == heads)).count();
        if mismatches > 0 {
            bail!("[{name}] run {run}: {mismatches} document(s) with other heads than generated");
        }
        let (mut status_ms, mut export_ms) = (0.0, 0.0);
        if name == "D" {
            let id = &expected[0].0;
            let (mut st, mut ex) = (Vec::new(), Vec::new());
            for _ in 0..5 {
                let t = Instant::now();
                let _: serde_json::Value = ca.get(&format!("/api/drafts/{id}")).await?;
                st.push(t.elapsed().as_secs_f64() * 1e3);
                let t = Instant::now();
                let html = ca.get_text(&format!("/api/drafts/{id}/export?format=html")).await?;
                ex.push(t.elapsed().as_secs_f64() * 1e3);
                if !html.contains("Article 200") {
                    bail!("[D] the export lacks Article 200");
                }
            }
            (status_ms, export_ms) = (median(&st), median(&ex));
        }
        // The fresh node indexes what it took in beside the sync, and may still be at it: a query
        // waits for its index to catch up, so that the peak counts all the work it was given.
        let _: serde_json::Value = cb.get("/api/search?q=warm").await?;
        let (rss_a, rss_b) = (peak_rss_mib(pa.pid()), peak_rss_mib(pb.pid()));
        pb.stop().await?;
        pa.stop().await?;
        let floor_ms = floor_sync(&saved);
        let load_ms = if name == "D" {
            let t = Instant::now();
            let _ = Automerge::load(&saved[0]);
            t.elapsed().as_secs_f64() * 1e3
        } else {
            0.0
        };
        let r = RunResult {
            workload: name.into(),
            run,
            sync_ms,
            floor_ms,
            bytes_received: status.peers.first().map(|p| p.traffic.bytes_received).unwrap_or(0),
            rss_a_mib: rss_a,
            rss_b_mib: rss_b,
            rss_b_synced_mib: Some(rss_b_synced),
            load_ms,
            first_read_ms,
            status_ms,
            export_ms,
            ..Default::default()
        };
        eprintln!(
            "[{name}] run {run}: {:.0} ms (in-process baseline {:.0} ms), {:.0} KiB received, peak RSS A {:.0} MiB / B {:.0} MiB in sync, {:.0} MiB indexed",
            r.sync_ms,
            r.floor_ms,
            r.bytes_received as f64 / 1024.0,
            rss_a,
            rss_b_synced,
            rss_b
        );
        out.push(r);
        if o.work_dir.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(out)
}

/// The in-process floor: load every saved document, then sync each into an empty one with the
/// automerge sync protocol (messages encoded and decoded), no network, no disk.
fn floor_sync(saved: &[Vec<u8>]) -> f64 {
    let t0 = Instant::now();
    for bytes in saved {
        let Ok(mut server) = Automerge::load(bytes) else { continue };
        let mut client = Automerge::new();
        let (mut ss, mut cs) = (State::new(), State::new());
        loop {
            let m1 = server.generate_sync_message(&mut ss).map(|m| m.encode());
            if let Some(m) = &m1
                && let Ok(m) = automerge::sync::Message::decode(m)
            {
                let _ = client.receive_sync_message(&mut cs, m);
            }
            let m2 = client.generate_sync_message(&mut cs).map(|m| m.encode());
            if let Some(m) = &m2
                && let Ok(m) = automerge::sync::Message::decode(m)
            {
                let _ = server.receive_sync_message(&mut ss, m);
            }
            if m1.is_none() && m2.is_none() {
                break;
            }
        }
    }
    t0.elapsed().as_secs_f64() * 1e3
}

/// Workload B: isolated keystrokes at A, until B has applied them.
async fn bench_latency(exe: &Path, work: &Path, o: &BenchOptions) -> anyhow::Result<Vec<RunResult>> {
    use futures::StreamExt;
    let edits = o.edits;
    let (ta, tb, docs) = templates(work, "B", &|a: &[u8]| Ok(vec![note_doc_by(0xb000, 0, edits, Some(a))]))?;
    let g = &docs[0];
    let id = DocId(g.id).to_string();
    let text_len = crate::workspace::draft::read(&g.doc, "")?.text.chars().count();
    let floor_doc = g.doc.clone();
    let mut out = Vec::new();
    for run in 1..=o.runs {
        let dir = work.join(format!("B-run{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        let (a, b) = (dir.join("a"), dir.join("b"));
        copy_dir(&ta, &a)?;
        copy_dir(&tb, &b)?;
        let pa = Proc::serve(exe, &a).await?;
        let ca = Client::for_data_dir(&a, "bench")?;
        // A's documents and B's own Party's registry and mandates (counted before B starts and
        // sends them).
        let want = ca.get::<NodeStatus>("/api/status").await?.documents_total + 2;
        pin(&b, &a, Some(&pa.listen()?))?;
        let pb = Proc::serve(exe, &b).await?;
        let cb = Client::for_data_dir(&b, "bench")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cb
            .get::<NodeStatus>("/api/status")
            .await
            .is_ok_and(|s| s.peers.first().is_some_and(|p| p.in_sync == want))
        {
            if Instant::now() > deadline {
                bail!("[B] run {run}: the nodes did not sync; logs in {}", dir.display());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut events = cb.event_stream().await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut typist = Typist::new(0xb1, text_len, 200);
        let (mut lat, mut e2e) = (Vec::new(), Vec::new());
        for _ in 0..o.samples {
            tokio::time::sleep(o.gap).await;
            let (pos, ch) = typist.next_key();
            let t_send = crate::engine::mono_ns();
            let r: Spliced = ca
                .send(
                    reqwest::Method::POST,
                    &format!("/api/drafts/{id}/splice"),
                    &serde_json::json!({ "pos": pos, "insert": ch.to_string() }),
                )
                .await?;
            let mut want = r.heads.clone();
            want.sort();
            let applied_b = loop {
                let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
                    .await
                    .context("no event from B within 10 s")?
                    .context("B's event stream ended")??;
                if ev["event"] == "doc-changed" && ev["doc"] == id.as_str() {
                    let mut heads: Vec<String> = ev["heads"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|h| h.as_str().map(String::from)).collect())
                        .unwrap_or_default();
                    heads.sort();
                    if heads == want {
                        break ev["applied_mono_ns"].as_u64().unwrap_or(0);
                    }
                }
            };
            let t_recv = crate::engine::mono_ns();
            lat.push(applied_b.saturating_sub(r.applied_mono_ns) as f64 / 1e6);
            e2e.push(t_recv.saturating_sub(t_send) as f64 / 1e6);
        }
        let (rss_a, rss_b) = (peak_rss_mib(pa.pid()), peak_rss_mib(pb.pid()));
        drop(events);
        pb.stop().await?;
        pa.stop().await?;
        let floor = floor_keystrokes(&floor_doc, text_len, o.samples);
        let r = RunResult {
            workload: "B".into(),
            run,
            rss_a_mib: rss_a,
            rss_b_mib: rss_b,
            latency_ms: lat,
            e2e_ms: e2e,
            floor_latency_ms: floor,
            ..Default::default()
        };
        eprintln!(
            "[B] run {run}: node to node median {:.2} ms, p99 {:.2} ms; client to B's events median {:.2} ms; in-process baseline {:.3} ms",
            median(&r.latency_ms),
            percentile(&r.latency_ms, 99.0),
            median(&r.e2e_ms),
            median(&r.floor_latency_ms)
        );
        out.push(r);
        if o.work_dir.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(out)
}

/// The in-process floor for one keystroke: change at A, generate and encode the sync message,
/// decode and apply at B (no network, no disk).
fn floor_keystrokes(doc: &Automerge, text_len: usize, samples: usize) -> Vec<f64> {
    use automerge::transaction::Transactable;
    let mut a = doc.fork();
    let mut b = doc.fork();
    let (mut sa, mut sb) = (State::new(), State::new());
    let settle = |a: &mut Automerge, b: &mut Automerge, sa: &mut State, sb: &mut State| loop {
        let m1 = a.generate_sync_message(sa);
        if let Some(m) = m1.clone() {
            let _ = b.receive_sync_message(sb, m);
        }
        let m2 = b.generate_sync_message(sb);
        if let Some(m) = m2.clone() {
            let _ = a.receive_sync_message(sa, m);
        }
        if m1.is_none() && m2.is_none() {
            break;
        }
    };
    settle(&mut a, &mut b, &mut sa, &mut sb);
    let Some(text) = data::text_obj(&a) else { return Vec::new() };
    let mut typist = Typist::new(0xb1, text_len, 200);
    let mut out = Vec::new();
    for _ in 0..samples {
        let (pos, ch) = typist.next_key();
        let t0 = Instant::now();
        let _ = a.transact(|tx| tx.splice_text(&text, pos, 0, ch.encode_utf8(&mut [0; 4])));
        if let Some(m) = a.generate_sync_message(&mut sa)
            && let Ok(m) = automerge::sync::Message::decode(&m.encode())
        {
            let _ = b.receive_sync_message(&mut sb, m);
        }
        out.push(t0.elapsed().as_secs_f64() * 1e3);
        settle(&mut a, &mut b, &mut sa, &mut sb);
    }
    out
}

fn median(xs: &[f64]) -> f64 {
    percentile_sorted(&sorted(xs), 50.0)
}

fn percentile(xs: &[f64], p: f64) -> f64 {
    percentile_sorted(&sorted(xs), p)
}

fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

/// The reference's percentile: the value at rank ceil(p/100 · n). The median of an even
/// number of values is the mean of the middle two.
fn percentile_sorted(s: &[f64], p: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    if p == 50.0 {
        let n = s.len();
        return if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 };
    }
    let idx = ((p / 100.0 * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1;
    s[idx]
}

/// "median [min – max]" over runs.
fn cell(xs: &[f64]) -> String {
    let f = |v: f64| {
        if v.abs() >= 100.0 {
            format!("{v:.0}")
        } else if v.abs() >= 10.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        }
    };
    let s = sorted(xs);
    match (s.first(), s.last()) {
        (Some(lo), Some(hi)) => format!("{} [{} – {}]", f(median(xs)), f(*lo), f(*hi)),
        _ => "-".into(),
    }
}

fn summary(o: &BenchOptions, all: &[Vec<RunResult>]) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "### liaison bench — {} run(s) each, release={}, {} CPUs\n\n",
        o.runs,
        !cfg!(debug_assertions),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    ));
    s.push_str("| workload | measure | median [min – max] |\n|---|---|---|\n");
    for rs in all {
        let Some(first) = rs.first() else { continue };
        let w = &first.workload;
        let col = |f: fn(&RunResult) -> f64| cell(&rs.iter().map(f).collect::<Vec<_>>());
        if w == "B" {
            let per_run = |f: fn(&[f64]) -> f64, pick: fn(&RunResult) -> &Vec<f64>| {
                cell(&rs.iter().map(|r| f(pick(r))).collect::<Vec<_>>())
            };
            s.push_str(&format!(
                "| B | keystroke at A → applied at B, median (ms) | {} |\n",
                per_run(median, |r| &r.latency_ms)
            ));
            s.push_str(&format!(
                "| B | keystroke at A → applied at B, p99 (ms) | {} |\n",
                per_run(|x| percentile(x, 99.0), |r| &r.latency_ms)
            ));
            s.push_str(&format!(
                "| B | client → A's API → B's event stream, median (ms) | {} |\n",
                per_run(median, |r| &r.e2e_ms)
            ));
            s.push_str(&format!(
                "| B | client → A's API → B's event stream, p99 (ms) | {} |\n",
                per_run(|x| percentile(x, 99.0), |r| &r.e2e_ms)
            ));
            s.push_str(&format!(
                "| B | baseline: in-process change + sync message + apply, median (ms) | {} |\n",
                per_run(median, |r| &r.floor_latency_ms)
            ));
            let ratio: Vec<f64> = rs.iter().map(|r| median(&r.latency_ms) / median(&r.floor_latency_ms)).collect();
            s.push_str(&format!("| B | node-to-node median ÷ baseline | {} |\n", cell(&ratio)));
        } else {
            s.push_str(&format!("| {w} | fresh node in sync, durably (ms) | {} |\n", col(|r| r.sync_ms)));
            s.push_str(&format!(
                "| {w} | baseline: in-process automerge load + sync protocol, no network or disk (ms) | {} |\n",
                col(|r| r.floor_ms)
            ));
            s.push_str(&format!("| {w} | node ÷ baseline | {} |\n", col(|r| r.sync_ms / r.floor_ms)));
            s.push_str(&format!(
                "| {w} | payload received by the fresh node (KiB) | {} |\n",
                col(|r| r.bytes_received as f64 / 1024.0)
            ));
        }
        if w == "D" {
            s.push_str(&format!(
                "| D | load the draft in process (`Automerge::load`, ms) | {} |\n",
                col(|r| r.load_ms)
            ));
            s.push_str(&format!(
                "| D | node's first read after start, via the API (ms) | {} |\n",
                col(|r| r.first_read_ms)
            ));
            s.push_str(&format!("| D | `draft status` via the API, median of 5 (ms) | {} |\n", col(|r| r.status_ms)));
            s.push_str(&format!("| D | `draft export --format html`, median of 5 (ms) | {} |\n", col(|r| r.export_ms)));
        }
        s.push_str(&format!("| {w} | peak RSS, node A (MiB) | {} |\n", col(|r| r.rss_a_mib)));
        if rs.iter().any(|r| r.rss_b_synced_mib.is_some()) {
            s.push_str(&format!(
                "| {w} | peak RSS, node B when in sync (MiB) | {} |\n",
                col(|r| r.rss_b_synced_mib.unwrap_or(0.0))
            ));
            s.push_str(&format!(
                "| {w} | peak RSS, node B once its search index caught up (MiB) | {} |\n",
                col(|r| r.rss_b_mib)
            ));
        } else {
            s.push_str(&format!("| {w} | peak RSS, node B (MiB) | {} |\n", col(|r| r.rss_b_mib)));
        }
    }
    s
}
