//! Workload "years": a workspace as the Parties will have it after years of use, on two real
//! nodes, and what an officer waits for in it.
//!
//! The workspace (at `--years-scale 1`): 10,000 meetings, 2,000 message threads of 20 messages,
//! 300 drafts of 200 provisions in English and Russian with comments and named versions, 10
//! working groups, and 1,000 items, all provided by node A (cica).
//!
//! How it is made, once per shape (cached under the work dir, keyed by the counts, so that
//! repeated runs reuse it): the joint documents (meetings, groups, drafts with their texts and
//! versions, threads' subjects) are built in process with node A's own actor and written into
//! its store as its own ([`crate::engine::import_own_documents`], as workload A does). What lives
//! in a Party's own documents or must be encrypted by the node goes through A's API: the
//! messages (a Party's annex of each thread), the comments (its annex of each draft) and the
//! items (sealed by the node).
//!
//! Each run, on fresh copies: A starts on the cached store (start-up until `/api/status` answers
//! with every document counted); a fresh node B of the other Party, empty, starts and takes in
//! the whole workspace (bootstrap: time and bytes received); B restarts (its start-up holding
//! the workspace); once both nodes are quiet (B's search index built: on two sites they would
//! not share two cores), each read an officer makes is timed through A's API, `requests` times
//! in a row (p50, p99): `meeting list`, `draft list`, `thread list`, the inbox (the header's
//! count, which every page asks after each change, and the inbox page's first hundred), every
//! meeting as a calendar, the dashboard (the requests
//! `web/pages/dashboard.js` makes, in parallel as the browser does), and one draft's page (the
//! draft, and its history as the page's history panel asks for it). Last, keystrokes at A
//! measured as workload B does (node A applied it → node B applied it): first with nothing else
//! asked (the run's own baseline), then while on each node another officer's client refreshes
//! the lists in a loop. Peak RSS (VmHWM) of both nodes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use automerge::{ActorId, Automerge};
use futures::StreamExt;
use serde::Serialize;

use super::data::{FIXED_TIME, Rng, Typist};
use super::procs::{Proc, copy_dir, peak_rss_mib, pin};
use super::{BenchOptions, cell, init_pair, median, percentile};
use crate::api::Spliced;
use crate::client::Client;
use crate::engine::NodeStatus;
use crate::ids::DocId;
use crate::store::Store;
use crate::workspace::meeting::{self, NewMeeting};
use crate::workspace::titles::Titles;
use crate::workspace::{Author, ChangeCtx, DocKind, draft, group, thread};

/// Bump when the generated workspace changes, so that an old cache is not reused.
const FORMAT: u32 = 1;
/// Requests in flight while the workspace's messages, comments and items go through the API.
const IN_FLIGHT: usize = 8;
/// A route is timed at most this long (today's lists can take seconds each); the figures say how
/// many requests were made.
const ROUTE_BUDGET: Duration = Duration::from_secs(90);

/// The workspace's shape.
#[derive(Clone, Debug, Serialize)]
pub struct Shape {
    /// Meetings.
    pub meetings: usize,
    /// Message threads.
    pub threads: usize,
    /// Messages per thread.
    pub messages: usize,
    /// Drafts.
    pub drafts: usize,
    /// Provisions per draft (each in English and Russian).
    pub provisions: usize,
    /// Comments per draft.
    pub comments: usize,
    /// Named versions per draft.
    pub versions: usize,
    /// Working groups.
    pub groups: usize,
    /// Items (4 KiB each).
    pub items: usize,
}

impl Shape {
    /// The workspace, times `scale` (at least one of each).
    pub fn scaled(scale: f64) -> Shape {
        let n = |full: usize| ((full as f64 * scale).round() as usize).max(1);
        Shape {
            meetings: n(10_000),
            threads: n(2_000),
            messages: 20,
            drafts: n(300),
            provisions: 200,
            comments: 10,
            versions: 3,
            groups: 10,
            items: n(1_000),
        }
    }

    fn key(&self) -> String {
        format!(
            "years-v{FORMAT}-m{}-t{}x{}-d{}x{}-c{}-v{}-g{}-i{}",
            self.meetings,
            self.threads,
            self.messages,
            self.drafts,
            self.provisions,
            self.comments,
            self.versions,
            self.groups,
            self.items
        )
    }
}

/// One run's figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct YearsRun {
    /// Always "years".
    pub workload: String,
    /// Run number.
    pub run: usize,
    /// The workspace's shape.
    pub shape: Option<Shape>,
    /// Documents node A holds.
    pub documents: usize,
    /// A's start-up: process start → `/api/status` answers with every document, ms.
    pub startup_a_ms: f64,
    /// B's restart holding the workspace, the same way, ms.
    pub startup_b_ms: f64,
    /// A fresh B, empty, until it holds every document durably, ms.
    pub bootstrap_ms: f64,
    /// Payload bytes the fresh B received.
    pub bootstrap_bytes: u64,
    /// Per read: its name and each request's time, ms.
    pub reads: Vec<(String, Vec<f64>)>,
    /// Keystroke at A → applied at B, ms, with no other request: the baseline of the same run.
    pub keystroke_quiet_ms: Vec<f64>,
    /// Keystroke at A → applied at B, ms, under list load.
    pub keystroke_ms: Vec<f64>,
    /// List requests the two loading clients completed during the keystrokes.
    pub load_requests: usize,
    /// Peak RSS of A and B, MiB.
    pub rss_a_mib: f64,
    pub rss_b_mib: f64,
    /// Peak RSS of A (serving) and of the fresh B (taking in) by the end of B's bootstrap, MiB:
    /// which part of the run each node's peak comes from.
    pub rss_a_boot_mib: f64,
    pub rss_b_boot_mib: f64,
}

/// Runs the workload.
pub async fn run(exe: &Path, work: &Path, o: &BenchOptions) -> anyhow::Result<Vec<YearsRun>> {
    let shape = Shape::scaled(o.years_scale);
    let cache = prepare(exe, work, &shape).await?;
    let draft_id = DocId(doc_id(b'd', 0)).to_string();
    let mut out = Vec::new();
    for run in 1..=o.runs {
        let dir = work.join(format!("years-run{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        let (a, b) = (dir.join("a"), dir.join("b"));
        copy_dir(&cache.join("a"), &a)?;
        copy_dir(&cache.join("b"), &b)?;
        let want_a = std::fs::read_to_string(cache.join("documents"))?.trim().parse::<usize>()?;

        let t0 = Instant::now();
        let pa = Proc::serve(exe, &a).await?;
        let ca = Arc::new(Client::for_data_dir(&a, "bench")?);
        wait_status(&ca, Duration::from_secs(600), |s| s.documents_total == want_a).await.context("A's start-up")?;
        let startup_a_ms = ms(t0);

        // A fresh node of the other Party takes in the whole workspace.
        pin(&b, &a, Some(&pa.listen()?))?;
        let want_b = want_a + 2;
        let t0 = Instant::now();
        let pb = Proc::serve(exe, &b).await?;
        let cb = Arc::new(Client::for_data_dir(&b, "bench")?);
        wait_status(&cb, Duration::from_secs(1800), |s| {
            s.documents_total == want_b && s.peers.first().is_some_and(|p| p.in_sync == want_b)
        })
        .await
        .with_context(|| format!("B's bootstrap; logs in {}", dir.display()))?;
        let bootstrap_ms = ms(t0);
        let status: NodeStatus = cb.get("/api/status").await?;
        let bootstrap_bytes = status.peers.first().map(|p| p.traffic.bytes_received).unwrap_or(0);
        eprintln!(
            "[years] run {run}: A up in {startup_a_ms:.0} ms; fresh B in sync in {bootstrap_ms:.0} ms, {:.1} MiB received",
            bootstrap_bytes as f64 / (1 << 20) as f64
        );
        let (rss_a_boot, rss_b_boot) = (peak_rss_mib(pa.pid()), peak_rss_mib(pb.pid()));
        eprintln!(
            "[years] run {run}: peak RSS by the end of the bootstrap: A {rss_a_boot:.0} MiB, B {rss_b_boot:.0} MiB"
        );
        pb.stop().await?;
        let t0 = Instant::now();
        let pb = Proc::serve(exe, &b).await?;
        // Its API has a new port.
        let cb = Arc::new(Client::for_data_dir(&b, "bench")?);
        wait_status(&cb, Duration::from_secs(600), |s| s.documents_total == want_b).await.context("B's restart")?;
        let startup_b_ms = ms(t0);
        // Connected to A again before keystrokes go from A to B (not timed).
        wait_status(&cb, Duration::from_secs(600), |s| s.peers.first().is_some_and(|p| p.in_sync == want_b))
            .await
            .context("B reconnecting to A")?;
        // On two sites each node has its own machine; here they share two cores, and a fresh B
        // builds its search index for minutes after its bootstrap. The reads are timed once both
        // nodes are quiet, not against that (runs before 2026-12-02 timed them during it).
        let settled = super::procs::settle(&[pa.pid(), pb.pid()], Duration::from_secs(600)).await;
        eprintln!("[years] run {run}: both nodes quiet {:.0} s after B reconnected", settled.as_secs_f64());

        // Each read as the web page makes it; then the draft's page again, each time right after
        // an edit (not timed): the first read of a new version, which no kept page answers.
        let page = reads_of(&draft_id).pop().map(|(_, p)| p).unwrap_or_default();
        let timed = reads_of(&draft_id).into_iter().map(|(name, paths)| (name, paths, None)).chain([(
            "one draft's page after an edit (its first read)",
            page,
            Some(draft_id.as_str()),
        )]);
        let mut reads = Vec::new();
        for (name, paths, edit) in timed {
            let times = time_read(&ca, &paths, o.years_requests, edit).await?;
            eprintln!(
                "[years] run {run}: {name}: p50 {:.1} ms, p99 {:.1} ms ({} requests)",
                median(&times),
                percentile(&times, 99.0),
                times.len()
            );
            reads.push((name.to_string(), times));
        }

        // The same keystrokes with nothing else asked first: what the load adds is the difference.
        let (keystroke_quiet_ms, _) = keystrokes(&ca, &cb, &draft_id, o, false).await?;
        eprintln!(
            "[years] run {run}: keystroke A → B, no other request: median {:.2} ms, p99 {:.2} ms",
            median(&keystroke_quiet_ms),
            percentile(&keystroke_quiet_ms, 99.0)
        );
        let (keystroke_ms, load_requests) = keystrokes(&ca, &cb, &draft_id, o, true).await?;
        eprintln!(
            "[years] run {run}: keystroke A → B under list load: median {:.2} ms, p99 {:.2} ms ({load_requests} list requests meanwhile)",
            median(&keystroke_ms),
            percentile(&keystroke_ms, 99.0)
        );
        let (rss_a, rss_b) = (peak_rss_mib(pa.pid()), peak_rss_mib(pb.pid()).max(rss_b_boot));
        pb.stop().await?;
        pa.stop().await?;
        out.push(YearsRun {
            workload: "years".into(),
            run,
            shape: Some(shape.clone()),
            documents: want_a,
            startup_a_ms,
            startup_b_ms,
            bootstrap_ms,
            bootstrap_bytes,
            reads,
            keystroke_quiet_ms,
            keystroke_ms,
            load_requests,
            rss_a_mib: rss_a,
            rss_b_mib: rss_b,
            rss_a_boot_mib: rss_a_boot,
            rss_b_boot_mib: rss_b_boot,
        });
        if o.work_dir.is_none() {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(out)
}

/// The requests of the web app's meetings page on `now`'s day (`web/pages/meetings.js`): the
/// month's grid, six weeks from the Monday on or before the 1st, and a page from midnight.
fn meetings_page(now: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    use chrono::{Datelike, Duration, TimeZone};
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let first = chrono::Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0).single().unwrap_or(now);
    let start = first - Duration::days(i64::from(first.weekday().num_days_from_monday()));
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc());
    vec![
        format!("/api/meetings?from={}&to={}&limit=1000", fmt(start), fmt(start + Duration::days(42))),
        format!("/api/meetings?from={}&limit=100", fmt(midnight)),
    ]
}

/// The reads timed, each a set of requests made together (as the web page makes them).
fn reads_of(draft: &str) -> Vec<(&'static str, Vec<String>)> {
    vec![
        ("meeting list (GET /api/meetings)", vec!["/api/meetings".into()]),
        (
            // As the web app's meetings page asks: its month's calendar and the first hundred from
            // today on.
            "meetings page (the month's calendar and 100 from today, together)",
            meetings_page(chrono::Utc::now()),
        ),
        ("draft list (GET /api/drafts)", vec!["/api/drafts".into()]),
        ("thread list (GET /api/threads)", vec!["/api/threads".into()]),
        // What every page of the web app asks after each change event, for the count in the nav
        // (and the newest entries, to notify of), and the inbox page's first hundred.
        ("inbox, the header's count (GET /api/inbox?limit=20)", vec!["/api/inbox?limit=20".into()]),
        ("inbox page (GET /api/inbox?limit=100)", vec!["/api/inbox?limit=100".into()]),
        ("every meeting as a calendar (GET /api/meetings/ics)", vec!["/api/meetings/ics".into()]),
        (
            // As the web app's dashboard asks: the next meetings, not every meeting.
            "dashboard (status, next meetings, drafts, consent, items, together)",
            vec![
                "/api/status".into(),
                format!(
                    "/api/meetings?from={}&status=proposed,confirmed,held&limit=12",
                    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
                ),
                "/api/drafts".into(),
                "/api/consent".into(),
                "/api/items".into(),
            ],
        ),
        (
            "one draft's page (the draft and its history, together)",
            vec![format!("/api/drafts/{draft}"), format!("/api/drafts/{draft}/history?limit=50")],
        ),
    ]
}

/// Times `n` rounds of `paths` (each round: every path at once, until all have answered), or as
/// many as [`ROUTE_BUDGET`] allows. With `edit`, one character is typed into that draft before
/// each round (not timed).
async fn time_read(c: &Client, paths: &[String], n: usize, edit: Option<&str>) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(n);
    let t_all = Instant::now();
    for _ in 0..n {
        if let Some(draft) = edit {
            let body = serde_json::json!({ "pos": 0, "insert": "·" });
            let _: serde_json::Value =
                c.send(reqwest::Method::POST, &format!("/api/drafts/{draft}/splice"), &body).await?;
        }
        let t = Instant::now();
        let all = futures::future::join_all(paths.iter().map(|p| c.get_text(p))).await;
        for r in all {
            r?;
        }
        times.push(ms(t));
        if t_all.elapsed() > ROUTE_BUDGET {
            break;
        }
    }
    Ok(times)
}

/// Workload B's keystrokes, on a provision of one of the workspace's drafts; with `load`, while
/// a client on each node loops over the lists as the web app asks for them (meetings, drafts,
/// threads).
async fn keystrokes(
    ca: &Arc<Client>,
    cb: &Arc<Client>,
    draft: &str,
    o: &BenchOptions,
    load: bool,
) -> anyhow::Result<(Vec<f64>, usize)> {
    let d: serde_json::Value = ca.get(&format!("/api/drafts/{draft}")).await?;
    let p = &d["provisions"][0];
    let provision = p["id"].as_str().context("the draft's first provision")?.to_string();
    let text_len = p["texts"]["en"].as_str().map(|t| t.chars().count()).unwrap_or(0);
    let mut events = cb.event_stream().await?;
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let mut loaders = Vec::new();
    // The lists as the web app's pages ask for them (the meetings page a month and a hundred).
    let mut lists = meetings_page(chrono::Utc::now());
    lists.extend(["/api/drafts".to_string(), "/api/threads".to_string()]);
    for c in if load { vec![ca, cb] } else { Vec::new() } {
        let (stop, done) = (stop.clone(), done.clone());
        let (c, lists) = (c.clone(), lists.clone());
        loaders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                for path in &lists {
                    if c.get_text(path).await.is_ok() {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let mut typist = Typist::new(0xb1, text_len, 200);
    let mut lat = Vec::new();
    let outcome: anyhow::Result<()> = async {
        for _ in 0..o.samples {
            tokio::time::sleep(o.gap).await;
            let (pos, ch) = typist.next_key();
            let r: Spliced = ca
                .send(
                    reqwest::Method::POST,
                    &format!("/api/drafts/{draft}/splice"),
                    &serde_json::json!({ "provision": provision, "lang": "en", "pos": pos, "insert": ch.to_string() }),
                )
                .await?;
            let mut want = r.heads.clone();
            want.sort();
            let applied_b = loop {
                let ev = tokio::time::timeout(Duration::from_secs(60), events.next())
                    .await
                    .context("no event from B within 60 s")?
                    .context("B's event stream ended")??;
                if ev["event"] == "doc-changed" && ev["doc"] == draft {
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
            lat.push(applied_b.saturating_sub(r.applied_mono_ns) as f64 / 1e6);
        }
        Ok(())
    }
    .await;
    stop.store(true, Ordering::Relaxed);
    for l in loaders {
        let _ = l.await;
    }
    outcome?;
    Ok((lat, done.load(Ordering::Relaxed)))
}

async fn wait_status(c: &Client, within: Duration, ok: impl Fn(&NodeStatus) -> bool) -> anyhow::Result<()> {
    let t0 = Instant::now();
    loop {
        if let Ok(s) = c.get::<NodeStatus>("/api/status").await
            && ok(&s)
        {
            return Ok(());
        }
        if t0.elapsed() > within {
            bail!("not reached within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// A generated document's id: its kind's letter and its number.
fn doc_id(kind: u8, i: usize) -> [u8; 16] {
    let mut id = *b"bench-years-\0\0\0\0";
    id[11] = kind;
    id[12..].copy_from_slice(&(i as u32).to_be_bytes());
    id
}

/// The cached workspace of this shape (`a`: node A holding it, `b`: an empty node B pinned by
/// A), made if missing.
async fn prepare(exe: &Path, work: &Path, shape: &Shape) -> anyhow::Result<PathBuf> {
    let cache = work.join(shape.key());
    if cache.join("documents").exists() {
        eprintln!("[years] reusing the workspace in {}", cache.display());
        return Ok(cache);
    }
    let _ = std::fs::remove_dir_all(&cache);
    std::fs::create_dir_all(&cache)?;
    let t0 = Instant::now();
    let (a, _b) = init_pair(&cache.join("a"), &cache.join("b"))?;
    let actor = Store::open(&a)?.actor()?;
    eprintln!("[years] making the workspace {shape:?} in {}", cache.display());
    generate_joint(&a, &actor, shape)?;
    eprintln!("[years] joint documents written in {:.0} s", t0.elapsed().as_secs_f64());

    // What only the node may write: messages, comments, items.
    let t1 = Instant::now();
    let pa = Proc::serve(exe, &a).await?;
    let ca = Arc::new(Client::for_data_dir(&a, "bench")?);
    wait_status(&ca, Duration::from_secs(600), |_| true).await?;
    let posts = (0..shape.threads).flat_map(|t| (0..shape.messages).map(move |m| (t, m)));
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(posts)
        .map(|(t, m)| {
            let ca = ca.clone();
            async move {
                let id = DocId(doc_id(b't', t));
                let text = sentence(0x7000_0000 ^ ((t as u32) << 8) ^ m as u32, 30);
                let _: serde_json::Value = ca
                    .send(
                        reqwest::Method::POST,
                        &format!("/api/threads/{id}/messages"),
                        &serde_json::json!({ "text": text }),
                    )
                    .await?;
                Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>().context("posting the messages")?;
    eprintln!("[years] {} messages posted in {:.0} s", shape.threads * shape.messages, t1.elapsed().as_secs_f64());
    let t1 = Instant::now();
    let comments = (0..shape.drafts).flat_map(|d| (0..shape.comments).map(move |k| (d, k)));
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(comments)
        .map(|(d, k)| {
            let ca = ca.clone();
            async move {
                let id = DocId(doc_id(b'd', d));
                let draft: serde_json::Value = ca.get(&format!("/api/drafts/{id}")).await?;
                let pid = draft["provisions"]
                    .as_array()
                    .and_then(|ps| ps.get((k * 17) % ps.len().max(1)))
                    .and_then(|p| p["id"].as_str())
                    .context("a provision to comment on")?
                    .to_string();
                let text = sentence(0x6000_0000 ^ ((d as u32) << 8) ^ k as u32, 25);
                let _: serde_json::Value = ca
                    .send(
                        reqwest::Method::POST,
                        &format!("/api/drafts/{id}/actions"),
                        &serde_json::json!({ "action": "comment", "provision": pid, "text": text }),
                    )
                    .await?;
                Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>().context("commenting")?;
    eprintln!("[years] {} comments made in {:.0} s", shape.drafts * shape.comments, t1.elapsed().as_secs_f64());
    let t1 = Instant::now();
    let files = tempfile::Builder::new().prefix("liaison-bench-items").tempdir()?;
    let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..shape.items)
        .map(|i| {
            let ca = ca.clone();
            let path = files.path().join(format!("item-{i}.bin"));
            async move {
                let mut rng = Rng::new(0x5000_0000 ^ i as u32);
                let body: Vec<u8> = (0..4096).map(|_| rng.int(0, 255) as u8).collect();
                tokio::fs::write(&path, &body).await?;
                let head = serde_json::json!({
                    "title": format!("Annex {i}: list of entities"),
                    "marking": "RESTRICTED",
                    "file_name": format!("annex-{i}.bin"),
                });
                let mut head = serde_json::to_vec(&head)?;
                head.push(b'\n');
                let f = tokio::fs::File::open(&path).await?;
                let _: serde_json::Value = ca.upload("/api/items", head, f, |_| {}).await?;
                tokio::fs::remove_file(&path).await?;
                Ok(())
            }
        })
        .buffer_unordered(IN_FLIGHT.min(4))
        .collect()
        .await;
    results.into_iter().collect::<anyhow::Result<Vec<()>>>().context("sharing the items")?;
    eprintln!("[years] {} items shared in {:.0} s", shape.items, t1.elapsed().as_secs_f64());
    let documents = ca.get::<NodeStatus>("/api/status").await?.documents_total;
    pa.stop().await?;
    // Written last: its presence says the cache is complete.
    std::fs::write(cache.join("documents"), format!("{documents}\n"))?;
    std::fs::write(cache.join("shape.json"), serde_json::to_vec_pretty(shape)?)?;
    eprintln!("[years] workspace ready ({documents} documents) in {:.0} s", t0.elapsed().as_secs_f64());
    Ok(cache)
}

/// Words of the workspace's texts.
const WORDS: &[&str] = &[
    "the",
    "parties",
    "shall",
    "exchange",
    "information",
    "on",
    "persons",
    "and",
    "entities",
    "involved",
    "in",
    "terrorism",
    "separatism",
    "extremism",
    "financing",
    "of",
    "joint",
    "measures",
    "competent",
    "authorities",
    "member",
    "states",
    "liaison",
    "officers",
    "cooperation",
    "within",
    "their",
    "mandate",
    "request",
    "provided",
];
const SLOVA: &[&str] = &[
    "стороны",
    "обмениваются",
    "информацией",
    "о",
    "лицах",
    "и",
    "организациях",
    "причастных",
    "к",
    "терроризму",
    "сепаратизму",
    "экстремизму",
    "финансированию",
    "совместные",
    "меры",
    "компетентные",
    "органы",
    "государства",
    "члены",
    "сотрудничество",
    "в",
    "рамках",
    "мандата",
    "по",
    "запросу",
];

fn sentence(seed: u32, words: usize) -> String {
    words_from(WORDS, seed, words)
}

fn words_from(list: &[&str], seed: u32, words: usize) -> String {
    let mut rng = Rng::new(seed);
    let mut s: Vec<&str> = (0..words).map(|_| list[rng.int(0, list.len() - 1)]).collect();
    if let Some(w) = s.first_mut()
        && *w == "the"
    {
        *w = "The";
    }
    s.join(" ") + "."
}

/// Builds the joint documents with A's actor and writes them into A's store as its own, in
/// batches (a draft of 200 provisions in two languages is a few MiB in memory).
fn generate_joint(a: &Path, actor: &[u8], shape: &Shape) -> anyhow::Result<()> {
    let ctx_at = |minutes: i64| ChangeCtx {
        author: Author { officer: "bench".into(), party: "cica".parse().unwrap_or_else(|_| unreachable!()) },
        now: chrono::DateTime::from_timestamp(FIXED_TIME + minutes * 60, 0).unwrap_or_default(),
    };
    let fresh = || {
        let mut d = Automerge::new();
        d.set_actor(ActorId::from(actor.to_vec()));
        d
    };
    let import = |kind: DocKind, docs: Vec<([u8; 16], Automerge)>| -> anyhow::Result<()> {
        let list: Vec<(DocId, DocKind, &Automerge)> = docs.iter().map(|(id, d)| (DocId(*id), kind, d)).collect();
        crate::engine::import_own_documents(a, &list)?;
        Ok(())
    };
    let title = |en: String, ru: String| Titles { title_en: Some(en), title_ru: Some(ru) };

    let mut groups = Vec::new();
    for g in 0..shape.groups {
        let mut d = fresh();
        group::create(
            &mut d,
            &ctx_at(g as i64),
            &group::NewGroup {
                name: String::new(),
                titles: title(format!("Working group {g}"), format!("Рабочая группа {g}")),
                mandate: sentence(0x1000 + g as u32, 20),
                mandate_ref: None,
            },
        )?;
        groups.push((doc_id(b'g', g), d));
    }
    let group_ids: Vec<String> = groups.iter().map(|(id, _)| DocId(*id).to_string()).collect();
    import(DocKind::Group, groups)?;

    // Meetings over four years from late 2023, the last of them in the future (the dashboard
    // shows those).
    for batch in (0..shape.meetings).collect::<Vec<_>>().chunks(1000) {
        let mut docs = Vec::new();
        for &m in batch {
            let mut d = fresh();
            let day = chrono::DateTime::from_timestamp(FIXED_TIME, 0).unwrap_or_default()
                + chrono::Duration::hours(4 * 365 * 24 * (m as i64) / shape.meetings as i64 + 9);
            meeting::create(
                &mut d,
                &ctx_at(m as i64),
                &NewMeeting {
                    title: String::new(),
                    titles: title(format!("Working meeting {m}"), format!("Рабочая встреча {m}")),
                    starts: day.format("%Y-%m-%dT%H:%M").to_string(),
                    tz: Some("Asia/Almaty".into()),
                    ends: Some((day + chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M").to_string()),
                    kind: Default::default(),
                    venue: Some(format!("Room {}", m % 12)),
                    sidelines_of: None,
                },
            )?;
            docs.push((doc_id(b'm', m), d));
        }
        import(DocKind::Meeting, docs)?;
    }

    for batch in (0..shape.threads).collect::<Vec<_>>().chunks(1000) {
        let mut docs = Vec::new();
        for &t in batch {
            let mut d = fresh();
            thread::start(
                &mut d,
                &ctx_at(t as i64),
                "",
                &title(format!("Request {t} on listed entities"), format!("Запрос {t} о перечне организаций")),
            )?;
            docs.push((doc_id(b't', t), d));
        }
        import(DocKind::Thread, docs)?;
    }

    for batch in (0..shape.drafts).collect::<Vec<_>>().chunks(10) {
        let mut docs = Vec::new();
        for &n in batch {
            docs.push((doc_id(b'd', n), make_draft(fresh(), &ctx_at, shape, n, &group_ids[n % group_ids.len()])?));
        }
        import(DocKind::Draft, docs)?;
    }
    Ok(())
}

/// A draft: `provisions` provisions in English, their Russian texts, and `versions` named
/// versions with a few provisions edited between them.
fn make_draft(
    mut d: Automerge,
    ctx_at: &dyn Fn(i64) -> ChangeCtx,
    shape: &Shape,
    n: usize,
    group: &str,
) -> anyhow::Result<Automerge> {
    let seed = 0x4000_0000 ^ ((n as u32) << 12);
    let en: Vec<String> =
        (0..shape.provisions).map(|p| format!("Article {}. {}", p + 1, sentence(seed ^ p as u32, 40))).collect();
    let mut minute = (n * 1000) as i64;
    draft::create(
        &mut d,
        &ctx_at(minute),
        &draft::NewDraft {
            title: String::new(),
            titles: Titles {
                title_en: Some(format!("Draft agreement {n}")),
                title_ru: Some(format!("Проект соглашения {n}")),
            },
            group: group.into(),
            lang: "en".into(),
            text: en.join(draft::PROVISION_BREAK),
            languages: vec!["en".into(), "ru".into()],
            parties: vec!["cica".into(), "sco-rats".into()],
        },
    )?;
    let ids: Vec<String> = draft::read(&d, "")?.provisions.into_iter().map(|p| p.id).collect();
    for (p, id) in ids.iter().enumerate() {
        minute += 1;
        let ru = format!("Статья {}. {}", p + 1, words_from(SLOVA, seed ^ 0x800 ^ p as u32, 40));
        draft::set_provision_text(&mut d, &ctx_at(minute), id, "ru", &ru)?;
    }
    for v in 0..shape.versions {
        for k in 0..5 {
            minute += 1;
            let p = (v * 37 + k * 11) % ids.len();
            let text = format!("Article {}. {}", p + 1, sentence(seed ^ 0x400 ^ (v * 8 + k) as u32, 40));
            draft::set_provision_text(&mut d, &ctx_at(minute), &ids[p], "en", &text)?;
        }
        minute += 1;
        draft::name_version(&mut d, &ctx_at(minute), &format!("Round {}", v + 1))?;
    }
    Ok(d)
}

/// The markdown table of the workload.
pub fn summary(rs: &[YearsRun]) -> String {
    let col = |f: &dyn Fn(&YearsRun) -> f64| cell(&rs.iter().map(f).collect::<Vec<_>>());
    let mut s = String::new();
    if let Some(r) = rs.first()
        && let Some(sh) = &r.shape
    {
        s.push_str(&format!(
            "Workspace: {} meetings, {} threads × {} messages, {} drafts × {} provisions (en, ru) with {} comments and {} named versions each, {} groups, {} items; {} documents on A.\n\n",
            sh.meetings,
            sh.threads,
            sh.messages,
            sh.drafts,
            sh.provisions,
            sh.comments,
            sh.versions,
            sh.groups,
            sh.items,
            r.documents
        ));
    }
    s.push_str("| workload | measure | median [min – max] over runs | goal |\n|---|---|---|---|\n");
    s.push_str(&format!("| years | A's start-up to ready (ms) | {} | ≤ 2000 |\n", col(&|r| r.startup_a_ms)));
    s.push_str(&format!(
        "| years | B's restart to ready, holding the workspace (ms) | {} | ≤ 2000 |\n",
        col(&|r| r.startup_b_ms)
    ));
    s.push_str(&format!("| years | fresh node's full bootstrap (ms) | {} | |\n", col(&|r| r.bootstrap_ms)));
    s.push_str(&format!(
        "| years | fresh node's full bootstrap (MiB received) | {} | |\n",
        col(&|r| r.bootstrap_bytes as f64 / (1 << 20) as f64)
    ));
    let names: Vec<String> = rs.first().map(|r| r.reads.iter().map(|(n, _)| n.clone()).collect()).unwrap_or_default();
    for (i, name) in names.iter().enumerate() {
        let pick = |r: &YearsRun, f: fn(&[f64]) -> f64| r.reads.get(i).map(|(_, t)| f(t)).unwrap_or(f64::NAN);
        s.push_str(&format!("| years | {name}, p50 (ms) | {} | |\n", col(&|r| pick(r, median))));
        s.push_str(&format!("| years | {name}, p99 (ms) | {} | ≤ 50 |\n", col(&|r| pick(r, |t| percentile(t, 99.0)))));
        s.push_str(&format!(
            "| years | {name}, requests timed | {} | |\n",
            col(&|r| r.reads.get(i).map(|(_, t)| t.len() as f64).unwrap_or(0.0))
        ));
    }
    s.push_str(&format!(
        "| years | keystroke A → B, no other request, median (ms) | {} | |\n",
        col(&|r| median(&r.keystroke_quiet_ms))
    ));
    s.push_str(&format!(
        "| years | keystroke A → B, no other request, p99 (ms) | {} | |\n",
        col(&|r| percentile(&r.keystroke_quiet_ms, 99.0))
    ));
    s.push_str(&format!(
        "| years | keystroke A → B under list load, median (ms) | {} | |\n",
        col(&|r| median(&r.keystroke_ms))
    ));
    s.push_str(&format!(
        "| years | keystroke A → B under list load, p99 (ms) | {} | ≤ 5 |\n",
        col(&|r| percentile(&r.keystroke_ms, 99.0))
    ));
    s.push_str(&format!(
        "| years | list requests served meanwhile (both nodes) | {} | |\n",
        col(&|r| r.load_requests as f64)
    ));
    s.push_str(&format!("| years | peak RSS, node A (MiB) | {} | ≤ 150 |\n", col(&|r| r.rss_a_mib)));
    s.push_str(&format!("| years | peak RSS, node B (MiB) | {} | ≤ 150 |\n", col(&|r| r.rss_b_mib)));
    s.push_str(&format!(
        "| years | of which by the end of B's bootstrap, A serving (MiB) | {} | |\n",
        col(&|r| r.rss_a_boot_mib)
    ));
    s.push_str(&format!(
        "| years | of which by the end of B's bootstrap, B taking in (MiB) | {} | |\n",
        col(&|r| r.rss_b_boot_mib)
    ));
    s
}
