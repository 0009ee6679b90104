//! Workload K: a keystroke's cost on the node, as the other officer's page sees it, on one real
//! node process (`liaison serve`) holding workload D's 200-article draft in two languages. Per
//! keystroke, from the client's `CLOCK_MONOTONIC`:
//!
//! - **splice**: `POST /api/drafts/{id}/splice` until the answer (the splice applied, the round
//!   committed with its fsync, the answer back over HTTPS);
//! - **event**: the same start until the node's event stream delivered the `doc-changed` event
//!   naming the provision and language typed in (`changed`, see `engine::changes`);
//! - **fetch**: `GET /api/drafts/{id}/provisions/{pid}`, started when the event came, until
//!   answered: what the other page fetches;
//! - **total**: event plus fetch, the node's part of a keystroke reaching another page.
//!
//! For comparison it also times the whole draft's fetch (`GET /api/drafts/{id}`), what the
//! editor fetched on every remote keystroke before events named the provision.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use serde::Serialize;

use super::data::Typist;
use super::procs::{Proc, copy_dir, peak_rss_mib};
use super::{cell, drafting, median, percentile};
use crate::api::Spliced;
use crate::client::Client;
use crate::ids::DocId;
use crate::node::{InitOptions, init_data_dir};
use crate::store::Store;
use crate::workspace::{DocKind, draft};

/// Whole-draft fetches timed per run, for comparison.
const WHOLE_FETCHES: usize = 20;

/// One run's measurements, ms per keystroke.
#[derive(Clone, Debug, Default, Serialize)]
pub struct KeystrokeRun {
    workload: &'static str,
    run: usize,
    /// Splice request until its answer.
    splice_ms: Vec<f64>,
    /// Splice request until the event arrived.
    event_ms: Vec<f64>,
    /// The provision's fetch, from the event until answered.
    fetch_ms: Vec<f64>,
    /// Event plus fetch.
    total_ms: Vec<f64>,
    /// The whole draft's fetch.
    whole_draft_ms: Vec<f64>,
    /// Peak RSS of the node, MiB.
    rss_mib: f64,
}

/// Runs workload K: `runs` runs of `samples` keystrokes, `gap` apart, on a draft of `edits`
/// edits per language.
pub async fn run(
    exe: &Path,
    work: &Path,
    runs: usize,
    samples: usize,
    gap: Duration,
    edits: usize,
) -> anyhow::Result<Vec<KeystrokeRun>> {
    let template = work.join("K-template");
    let _ = std::fs::remove_dir_all(&template);
    init_data_dir(
        &template,
        &InitOptions {
            party_id: "cica".parse()?,
            party_name: "cica (bench)".into(),
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
            external_addrs: Vec::new(),
            api: "127.0.0.1:0".parse()?,
            party_keys_from: None,
        },
    )?;
    let actor = Store::open(&template)?.actor()?;
    let g = drafting::treaty_doc(edits, Some(&actor))?;
    crate::engine::import_own_documents(&template, &[(DocId(g.id), DocKind::Draft, &g.doc)])?;
    let id = DocId(g.id).to_string();
    let d = draft::read(&g.doc, "")?;
    // Typing in the middle of the draft, in Russian, as an officer would.
    let p = d.provisions.get(d.provisions.len() / 2).context("the draft has no provisions")?;
    let (pid, lang) = (p.id.clone(), "ru");
    let len = p.texts.get(lang).map_or(0, |t| t.chars().count());
    let mut out = Vec::new();
    for run in 1..=runs {
        let dir = work.join(format!("K-run{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(&template, &dir)?;
        let node = Proc::serve(exe, &dir).await?;
        let client = Client::for_data_dir(&dir, "bench")?;
        // The events, time-stamped as they arrive, by a task of their own.
        let mut stream = client.event_stream().await?;
        let (tx, mut events) = tokio::sync::mpsc::channel(1024);
        let reader = tokio::spawn(async move {
            while let Some(Ok(ev)) = stream.next().await {
                if tx.send((crate::engine::mono_ns(), ev)).await.is_err() {
                    break;
                }
            }
        });
        // The first read loads the draft from the store; keystrokes are timed on a warm node.
        let _: serde_json::Value = client.get(&format!("/api/drafts/{id}/provisions/{pid}")).await?;
        let mut typist = Typist::new(0x6b, len, 200);
        let mut r = KeystrokeRun { workload: "K", run, ..Default::default() };
        for _ in 0..samples {
            tokio::time::sleep(gap).await;
            let (pos, ch) = typist.next_key();
            let t0 = crate::engine::mono_ns();
            let ans: Spliced = client
                .send(
                    reqwest::Method::POST,
                    &format!("/api/drafts/{id}/splice"),
                    &serde_json::json!({ "provision": pid, "lang": lang, "pos": pos, "insert": ch.to_string() }),
                )
                .await?;
            let t1 = crate::engine::mono_ns();
            let mut want = ans.heads.clone();
            want.sort();
            let t_event = loop {
                let (at, ev) = tokio::time::timeout(Duration::from_secs(10), events.recv())
                    .await
                    .context("no event within 10 s")?
                    .context("the event stream ended")?;
                if ev["event"] != "doc-changed" || ev["doc"] != id.as_str() {
                    continue;
                }
                let mut heads: Vec<String> = ev["heads"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|h| h.as_str().map(String::from)).collect())
                    .unwrap_or_default();
                heads.sort();
                if heads != want {
                    continue;
                }
                let named = serde_json::json!([{ "provision": pid, "lang": lang }]);
                if ev["changed"] != named {
                    bail!("the event names {} instead of {named}", ev["changed"]);
                }
                break at;
            };
            let t2 = crate::engine::mono_ns();
            let got: serde_json::Value = client.get(&format!("/api/drafts/{id}/provisions/{pid}")).await?;
            let t3 = crate::engine::mono_ns();
            if got["version"].as_str().is_none() {
                bail!("the provision's answer has no version: {got}");
            }
            let ms = |a: u64, b: u64| b.saturating_sub(a) as f64 / 1e6;
            r.splice_ms.push(ms(t0, t1));
            r.event_ms.push(ms(t0, t_event));
            r.fetch_ms.push(ms(t2, t3));
            r.total_ms.push(ms(t0, t_event) + ms(t2, t3));
        }
        for _ in 0..WHOLE_FETCHES {
            let t = Instant::now();
            let _: serde_json::Value = client.get(&format!("/api/drafts/{id}")).await?;
            r.whole_draft_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        r.rss_mib = peak_rss_mib(node.pid());
        reader.abort();
        node.stop().await?;
        eprintln!(
            "[K] run {run}: splice p50 {:.2} ms; event p50 {:.2} ms; provision fetch p50 {:.2} ms; total p50 {:.2} / p99 {:.2} ms; whole draft fetch p50 {:.1} ms",
            median(&r.splice_ms),
            median(&r.event_ms),
            median(&r.fetch_ms),
            median(&r.total_ms),
            percentile(&r.total_ms, 99.0),
            median(&r.whole_draft_ms),
        );
        out.push(r);
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&template);
    Ok(out)
}

/// Which samples of a run a row of the summary shows.
type Pick = fn(&KeystrokeRun) -> &Vec<f64>;

/// The runs as a markdown table: medians over runs of each run's p50 and p99.
pub fn summary(rs: &[KeystrokeRun]) -> String {
    let mut s = String::from("| K: a keystroke on the node | p50 (ms) | p99 (ms) |\n|---|---|---|\n");
    let rows: [(&str, Pick); 5] = [
        ("splice request → answer (applied, committed)", |r| &r.splice_ms),
        ("splice request → event on the stream", |r| &r.event_ms),
        ("provision fetch (from the event)", |r| &r.fetch_ms),
        ("total: splice, commit, event, fetch", |r| &r.total_ms),
        ("for comparison: the whole draft's fetch", |r| &r.whole_draft_ms),
    ];
    for (name, pick) in rows {
        let p50: Vec<f64> = rs.iter().map(|r| median(pick(r))).collect();
        let p99: Vec<f64> = rs.iter().map(|r| percentile(pick(r), 99.0)).collect();
        s.push_str(&format!("| {name} | {} | {} |\n", cell(&p50), cell(&p99)));
    }
    let ratio: Vec<f64> = rs.iter().map(|r| median(&r.fetch_ms) / median(&r.whole_draft_ms)).collect();
    s.push_str(&format!("| provision fetch ÷ whole draft fetch, p50 | {} | |\n", cell(&ratio)));
    let rss: Vec<f64> = rs.iter().map(|r| r.rss_mib).collect();
    s.push_str(&format!("| peak RSS of the node (MiB) | {} | |\n", cell(&rss)));
    s
}
