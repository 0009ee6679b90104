//! Workload S: the search index's cost, in process (no nodes): indexing time and size on disk
//! for workload D's 200-article draft in two languages and for 1,000 meetings, then query
//! latency over both. The documents go through the same extraction as a node's (the draft and
//! each meeting read from their automerge documents) and into the same on-disk index, with
//! one commit per 64 documents, as the indexer makes them.

use std::path::Path;
use std::time::Instant;

use automerge::Automerge;
use serde::Serialize;

use super::data::Rng;
use super::{cell, drafting, median, percentile};
use crate::search::{Part, SearchIndex, SearchQuery, extract};
use crate::workspace::meeting::{self, MeetingPatch, NewMeeting};
use crate::workspace::{Author, ChangeCtx, draft};

/// Meetings indexed.
pub const MEETINGS: usize = 1000;
/// Queries timed per run.
const QUERIES: usize = 300;
/// Documents per commit, as the indexer does.
const PER_COMMIT: usize = 64;

const EN: &[&str] = &[
    "joint",
    "working",
    "meeting",
    "consultation",
    "terrorism",
    "financing",
    "extremism",
    "separatism",
    "information",
    "exchange",
    "officers",
    "liaison",
    "security",
    "border",
    "narcotics",
    "cooperation",
    "protocol",
    "summit",
    "regional",
    "experts",
    "threats",
    "cyber",
    "training",
    "review",
    "agenda",
];
const RU: &[&str] = &[
    "совместная",
    "рабочая",
    "встреча",
    "консультации",
    "терроризма",
    "финансирования",
    "экстремизму",
    "сепаратизма",
    "информацией",
    "обмен",
    "офицеров",
    "связи",
    "безопасности",
    "границы",
    "наркотиков",
    "сотрудничества",
    "протокола",
    "саммита",
    "региональной",
    "экспертов",
    "угрозам",
    "киберугрозы",
    "подготовки",
    "обзор",
    "повестка",
];
const CITIES: &[&str] = &["Tashkent", "Astana", "Almaty", "Dushanbe", "Bishkek", "Ташкент", "Астана", "Москва"];

/// One run's figures.
#[derive(Clone, Debug, Serialize)]
pub struct SearchRun {
    workload: &'static str,
    run: usize,
    /// Parts (title; each provision in each language) of the draft.
    draft_parts: usize,
    /// Indexing the draft: one unit, one commit (ms).
    draft_index_ms: f64,
    /// The index's size on disk with the draft alone (KiB).
    draft_kib: f64,
    /// The draft again after one provision's text changed, as a keystroke leaves it: one
    /// commit (ms). Only that part goes in again.
    draft_reindex_ms: f64,
    /// Indexing the meetings, one commit per 64 (ms).
    meetings_index_ms: f64,
    /// The index's size with the draft and the meetings (KiB).
    total_kib: f64,
    /// Each query's time (ms).
    query_ms: Vec<f64>,
}

fn words(rng: &mut Rng, from: &[&str], n: usize) -> String {
    (0..n).map(|_| from[rng.int(0, from.len() - 1)]).collect::<Vec<_>>().join(" ")
}

/// The meetings' parts, each read from a document made the way an officer's is.
fn meetings() -> anyhow::Result<Vec<Vec<Part>>> {
    let mut rng = Rng::new(0x5ea7);
    let ctx = ChangeCtx {
        author: Author { officer: "bench".into(), party: "cica".parse()? },
        now: chrono::DateTime::from_timestamp(super::data::FIXED_TIME, 0).unwrap_or_default(),
    };
    let mut out = Vec::with_capacity(MEETINGS);
    for i in 0..MEETINGS {
        let lang = if i % 2 == 0 { EN } else { RU };
        // Built from JSON as the API takes it, so that fields added later keep their defaults.
        let new: NewMeeting = serde_json::from_value(serde_json::json!({
            "title": words(&mut rng, lang, 6),
            "starts": "2027-03-01T10:00:00Z",
            "venue": CITIES[rng.int(0, CITIES.len() - 1)],
        }))?;
        let mut doc = Automerge::new();
        meeting::create(&mut doc, &ctx, &new)?;
        let patch: MeetingPatch = serde_json::from_value(serde_json::json!({
            "add_agenda": (0..4).map(|_| words(&mut rng, lang, 8)).collect::<Vec<_>>(),
            "minutes": words(&mut rng, lang, 60),
        }))?;
        meeting::update(&mut doc, &ctx, &patch)?;
        let id = format!("{i:032x}");
        out.push(extract::meeting_parts(&id, &meeting::read(&doc, &id)?));
    }
    Ok(out)
}

fn dir_kib(dir: &Path) -> f64 {
    let mut total = 0u64;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            total += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    total as f64 / 1024.0
}

/// Runs workload S `runs` times in `work`.
pub fn run(runs: usize, d_edits: usize, work: &Path) -> anyhow::Result<Vec<SearchRun>> {
    eprintln!("S: building workload D's draft ({d_edits} edits per language) and {MEETINGS} meetings");
    let treaty = drafting::treaty_doc(d_edits, None)?;
    let d = draft::read(&treaty.doc, "bench-treaty")?;
    let draft_parts = extract::draft_parts("bench-treaty", &d);
    let meetings = meetings()?;
    let mut rng = Rng::new(0x9e1);
    let queries: Vec<String> = (0..QUERIES)
        .map(|i| {
            let n = rng.int(1, 2);
            words(&mut rng, if i % 2 == 0 { EN } else { RU }, n)
        })
        .collect();
    let mut out = Vec::new();
    for run in 0..runs {
        let dir = work.join(format!("search-s-{run}"));
        let _ = std::fs::remove_dir_all(&dir);
        let ix = SearchIndex::open_dir(&dir)?;
        let t = Instant::now();
        ix.apply(vec![("bench-treaty".into(), draft_parts.clone())], vec![], vec![])?;
        let draft_index_ms = ms(t);
        let draft_kib = dir_kib(&dir);
        let mut typed = draft_parts.clone();
        if let Some(p) = typed.iter_mut().find(|p| p.anchor.is_some()) {
            p.text.push('x');
        }
        let t = Instant::now();
        let applied = ix.apply(vec![("bench-treaty".into(), typed)], vec![], vec![])?;
        let draft_reindex_ms = ms(t);
        anyhow::ensure!(applied.added == 1, "one provision typed in gave {applied:?}");
        let t = Instant::now();
        for (n, chunk) in meetings.chunks(PER_COMMIT).enumerate() {
            let units = chunk.iter().enumerate().map(|(i, p)| (format!("m{n}-{i}"), p.clone())).collect();
            ix.apply(units, vec![], vec![])?;
        }
        let meetings_index_ms = ms(t);
        let total_kib = dir_kib(&dir);
        let mut query_ms = Vec::with_capacity(queries.len());
        for q in &queries {
            let q = SearchQuery::new(q, None)?;
            let t = Instant::now();
            let _ = ix.search(&q, &|_| true)?;
            query_ms.push(ms(t));
        }
        out.push(SearchRun {
            workload: "S",
            run,
            draft_parts: draft_parts.len(),
            draft_index_ms,
            draft_kib,
            draft_reindex_ms,
            meetings_index_ms,
            total_kib,
            query_ms,
        });
        drop(ix);
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(out)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

/// The runs' figures as markdown rows (median [min – max] over runs).
pub fn summary(rs: &[SearchRun]) -> String {
    let col = |f: &dyn Fn(&SearchRun) -> f64| cell(&rs.iter().map(f).collect::<Vec<_>>());
    let mut s = String::from("| workload | measure | median [min – max] |\n|---|---|---|\n");
    let parts = rs.first().map_or(0, |r| r.draft_parts);
    s.push_str(&format!(
        "| S | index D's draft ({parts} parts: title, 200 articles × 2 languages), one commit (ms) | {} |\n",
        col(&|r| r.draft_index_ms)
    ));
    s.push_str(&format!("| S | index size, D's draft (KiB) | {} |\n", col(&|r| r.draft_kib)));
    s.push_str(&format!(
        "| S | index D's draft again after one article typed in, one commit (ms) | {} |\n",
        col(&|r| r.draft_reindex_ms)
    ));
    s.push_str(&format!(
        "| S | index {MEETINGS} meetings, a commit per {PER_COMMIT} (ms) | {} |\n",
        col(&|r| r.meetings_index_ms)
    ));
    s.push_str(&format!("| S | index size, draft + {MEETINGS} meetings (KiB) | {} |\n", col(&|r| r.total_kib)));
    s.push_str(&format!("| S | query latency, p50 of {QUERIES} (ms) | {} |\n", col(&|r| median(&r.query_ms))));
    s.push_str(&format!(
        "| S | query latency, p99 of {QUERIES} (ms) | {} |\n",
        col(&|r| percentile(&r.query_ms, 99.0))
    ));
    s
}
