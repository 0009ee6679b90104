//! Routes over drafts: creation and reading, whole-text and per-provision edits, keystrokes,
//! review, the workflow up to execution, verification, diffs and export.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::workspace_routes::OfficerName;
use super::{AppError, AppState, Caller};
use crate::app;
pub use crate::app::drafts::{Action, Spliced};
use crate::app::drafts::{Decision, NewText, Retitle, SpliceAt};
use crate::workspace::DocKind;
use crate::workspace::draft::{self, Draft, NewDraft, Verification};

/// A draft in a list: everything but the texts.
pub use crate::engine::summaries::DraftSummary;

/// Filter for the draft list.
#[derive(Deserialize)]
pub struct DraftQuery {
    /// Only drafts of this group (id or prefix).
    group: Option<String>,
    /// Only these drafts (full ids, comma-separated; see `lists::ListQuery`).
    #[serde(default)]
    ids: Option<String>,
}

/// The drafts (of one group, if asked), in id order, from their summaries.
pub async fn list(
    State(s): State<AppState>,
    Query(q): Query<DraftQuery>,
) -> Result<super::lists::Rows, super::lists::ListError> {
    let group = match &q.group {
        Some(g) => Some(s.engine.summaries().resolve(DocKind::Group, g)?.to_string()),
        None => None,
    };
    let mut v = super::lists::rows(&s, DocKind::Draft, &super::lists::ListQuery { ids: q.ids }).await?;
    let of = |r: &super::lists::Row| match r.summary() {
        Some(crate::engine::summaries::Summary::Draft(d)) => Some((d.id.clone(), d.group.clone())),
        _ => None,
    };
    v.retain(|r| group.as_ref().is_none_or(|g| of(r).is_some_and(|(_, dg)| dg == *g)));
    v.sort_by_key(|r| of(r).map(|(id, _)| id));
    Ok(super::lists::Rows(v))
}

pub async fn create(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Json(new): Json<NewDraft>,
) -> Result<Json<super::Created>, AppError> {
    let c = app::drafts::create_draft(&s.engine, &s.who(o, &caller), new).await?;
    Ok(Json(super::Created { id: c.id }))
}

pub async fn show(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Draft>, AppError> {
    Ok(Json(s.engine.show_draft(id).await?))
}

pub async fn set_text(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(b): Json<NewText>,
) -> Result<Json<Draft>, AppError> {
    Ok(Json(app::drafts::set_text(&s.engine, &s.who(o, &caller), id, b).await?))
}

/// How many recent splice answers are kept for retries.
const RECENT_EDITS: usize = 4096;

/// Answers to recent splices by draft and editor-given id: a retry whose first answer was lost
/// gets that answer again instead of applying the splice twice.
#[derive(Default)]
pub struct RecentEdits {
    order: std::collections::VecDeque<String>,
    answers: std::collections::HashMap<String, Spliced>,
}

impl RecentEdits {
    fn get(&self, key: &str) -> Option<Spliced> {
        self.answers.get(key).cloned()
    }
    fn put(&mut self, key: String, answer: Spliced) {
        if self.answers.insert(key.clone(), answer).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > RECENT_EDITS {
            if let Some(old) = self.order.pop_front() {
                self.answers.remove(&old);
            }
        }
    }
}

pub async fn splice(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(b): Json<SpliceAt>,
) -> Result<Json<Spliced>, AppError> {
    // Remembered once the splice is durable, so a failed commit is not taken for done.
    let key = b.edit.as_ref().map(|e| format!("{id}/{e}"));
    let recent = s.recent_edits.clone();
    let cached = key.as_deref().and_then(|k| recent.lock().unwrap_or_else(|e| e.into_inner()).get(k));
    if let Some(answer) = cached {
        return Ok(Json(answer));
    }
    let r = app::drafts::splice(&s.engine, &s.who(o, &caller), id, b).await?;
    if let Some(k) = key {
        recent.lock().unwrap_or_else(|e| e.into_inner()).put(k, r.clone());
    }
    Ok(Json(r))
}

pub async fn retitle(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(b): Json<Retitle>,
) -> Result<Json<Draft>, AppError> {
    Ok(Json(app::drafts::retitle(&s.engine, &s.who(o, &caller), id, b).await?))
}

pub async fn action(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(a): Json<Action>,
) -> Result<Json<Draft>, AppError> {
    Ok(Json(app::drafts::act(&s.engine, &s.who(o, &caller), id, a).await?))
}

/// `POST /api/suggestions/{id}`: accept or reject a suggestion, whichever draft holds it.
pub async fn decide(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(sid): Path<String>,
    Json(b): Json<Decision>,
) -> Result<Json<Draft>, AppError> {
    Ok(Json(app::drafts::decide(&s.engine, &s.who(o, &caller), sid, b).await?))
}

/// Options of a diff.
#[derive(Deserialize)]
pub struct DiffQuery {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

pub async fn diff(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<DiffQuery>,
) -> Result<Json<draft::Comparison>, AppError> {
    Ok(Json(s.engine.draft_diff(id, q.lang, q.from, q.to).await?))
}

pub async fn verify(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Verification>, AppError> {
    Ok(Json(
        s.engine
            .read(move |c| {
                let id = c.resolve(DocKind::Draft, &id)?;
                c.verify_draft(id)
            })
            .await?,
    ))
}

/// Export format.
#[derive(Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: Option<String>,
}

pub async fn export(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, AppError> {
    let format = q.format.unwrap_or_else(|| "html".into());
    if format != "md" && format != "html" {
        return Err(AppError::BadRequest(format!("format {format:?}: use md or html")));
    }
    let (d, parties) = s
        .engine
        .read(move |c| {
            let id = c.resolve(DocKind::Draft, &id)?;
            Ok((c.read_draft(id)?, c.parties()?))
        })
        .await?;
    // Parties by their full names in each language (by id when a Party has published none).
    let names = |p: &str, lang: &str| {
        parties.iter().find(|x| x.id == p).map(|x| x.name(lang).to_string()).unwrap_or_else(|| p.to_string())
    };
    let (body, ct) = if format == "md" {
        (draft::export::markdown(&d, &names), "text/markdown; charset=utf-8")
    } else {
        (draft::export::html(&d, &names), "text/html; charset=utf-8")
    };
    // The export is a document to print or keep, not part of the app: its own stylesheet is
    // inline, so it gets its own policy, sandboxed, with no script at all.
    Ok((
        [
            (header::CONTENT_TYPE, ct),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; style-src 'unsafe-inline'; sandbox"),
        ],
        body,
    )
        .into_response())
}
