//! Routes over drafts: creation and reading, whole-text and per-provision edits, keystrokes,
//! review, the workflow up to execution, verification, diffs and export.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::workspace_routes::OfficerName;
use super::{AppError, AppState};
use crate::engine::{Core, EngineError};
use crate::ids::DocId;
use crate::workspace::draft::{self, Draft, NewDraft, Place, ProvisionKind, Splice, Verification};
use crate::workspace::{ChangeCtx, DocKind};

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
) -> Result<Json<Vec<super::lists::Row>>, super::lists::ListError> {
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
    Ok(Json(v))
}

pub async fn create(
    State(s): State<AppState>,
    o: OfficerName,
    Json(mut new): Json<NewDraft>,
) -> Result<Json<super::Created>, AppError> {
    let ctx = s.ctx(o);
    let id = s
        .engine
        .write(move |c| {
            // A draft belongs to an existing working group; store its full id. The Parties that
            // approve and sign are ours and the other Party pinned here.
            new.group = c.resolve(DocKind::Group, &new.group)?.to_string();
            new.parties = c.draft_parties();
            if new.languages.is_empty() {
                new.languages = c.draft_languages();
            }
            c.create(DocKind::Draft, |d| draft::create(d, &ctx, &new))
        })
        .await?;
    Ok(Json(super::Created { id: id.to_string() }))
}

pub async fn show(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Draft>, AppError> {
    Ok(Json(s.engine.show_draft(id).await?))
}

/// Runs a change on a draft and answers with the draft as it then stands.
async fn change_draft(
    s: &AppState,
    id: String,
    f: impl FnOnce(&mut Core, DocId) -> Result<(), EngineError> + Send + 'static,
) -> Result<Json<Draft>, AppError> {
    let d = s
        .engine
        .write(move |c| {
            let id = c.resolve(DocKind::Draft, &id)?;
            f(c, id)?;
            c.read_draft(id)
        })
        .await?;
    Ok(Json(d))
}

/// A new whole text for a draft, in one language.
#[derive(Deserialize)]
pub struct NewText {
    /// The whole new text (provisions separated by a blank line).
    text: String,
    /// Its language (default: the draft's first).
    #[serde(default)]
    lang: Option<String>,
    /// The version the text was edited from; without it the text is compared with the current one.
    #[serde(default)]
    base: Option<String>,
}

pub async fn set_text(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(b): Json<NewText>,
) -> Result<Json<Draft>, AppError> {
    let ctx = s.ctx(o);
    change_draft(&s, id, move |c, id| {
        let base = b.base.as_deref().map(draft::parse_version).transpose()?;
        c.change(id, |d| {
            draft::edit_from(d, &ctx, base.as_deref(), |d| draft::set_text_lang(d, &ctx, b.lang.as_deref(), &b.text))
                .map(|_| ())
        })
    })
    .await
}

/// The answer to a splice.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Spliced {
    /// Heads of the draft after the splice (and any concurrent changes), hex.
    pub heads: Vec<String>,
    /// The version whose text is exactly the base's with this splice applied (comma-separated
    /// hashes): the base of the editor's next splice.
    pub version: String,
    /// `CLOCK_MONOTONIC` ns when the splice was applied (for latency measurements).
    pub applied_mono_ns: u64,
}

/// A splice, made to the text as it was at `base` (default: the current text).
#[derive(Deserialize)]
pub struct SpliceAt {
    #[serde(flatten)]
    splice: Splice,
    /// The version the editor's text was at.
    #[serde(default)]
    base: Option<String>,
    /// An id the editor gives this splice, so that a retry of it (its first answer lost) is not
    /// applied twice.
    #[serde(default)]
    edit: Option<String>,
}

/// How many recent splice answers are kept for retries.
const RECENT_EDITS: usize = 4096;

/// Answers to recent splices by draft and editor-given id.
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
    let ctx = s.ctx(o);
    let r = s
        .engine
        .write(move |c| {
            let id = c.resolve(DocKind::Draft, &id)?;
            let base = b.base.as_deref().map(draft::parse_version).transpose()?;
            let version =
                c.change(id, |d| draft::edit_from(d, &ctx, base.as_deref(), |d| draft::splice(d, &ctx, &b.splice)))?;
            let applied_mono_ns = crate::engine::mono_ns();
            let heads = c.doc(id)?.get_heads().iter().map(|h| h.to_string()).collect();
            let version = version.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(",");
            Ok(Spliced { heads, version, applied_mono_ns })
        })
        .await?;
    if let Some(k) = key {
        recent.lock().unwrap_or_else(|e| e.into_inner()).put(k, r.clone());
    }
    Ok(Json(r))
}

/// A new title.
#[derive(Deserialize)]
pub struct Retitle {
    /// The title as first written.
    #[serde(default)]
    title: Option<String>,
    /// The title in English and in Russian.
    #[serde(flatten)]
    titles: crate::workspace::titles::Titles,
}

pub async fn retitle(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(b): Json<Retitle>,
) -> Result<Json<Draft>, AppError> {
    let ctx = s.ctx(o);
    change_draft(&s, id, move |c, id| c.change(id, |d| draft::set_title(d, &ctx, b.title.as_deref(), &b.titles))).await
}

/// Every change to a draft's structure, review and workflow.
#[derive(Debug, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Add a provision.
    AddProvision {
        /// After this provision (id, prefix or label); last if neither this nor `first`.
        #[serde(default)]
        after: Option<String>,
        /// First in the draft.
        #[serde(default)]
        first: bool,
        /// Its kind.
        kind: ProvisionKind,
        /// Language of `text`.
        #[serde(default)]
        lang: Option<String>,
        /// Its text in `lang`.
        #[serde(default)]
        text: Option<String>,
    },
    /// Move a provision.
    MoveProvision {
        /// Which.
        provision: String,
        /// After this one; last if neither this nor `first`.
        #[serde(default)]
        after: Option<String>,
        /// First.
        #[serde(default)]
        first: bool,
    },
    /// Remove a provision.
    RemoveProvision {
        /// Which.
        provision: String,
    },
    /// Set one provision's text in one language (minimal splices).
    Text {
        /// Which.
        provision: String,
        /// The language.
        lang: String,
        /// The text.
        text: String,
        /// The version it was edited from.
        #[serde(default)]
        base: Option<String>,
    },
    /// Clear a provision's stale marks.
    Align {
        /// Which.
        provision: String,
    },
    /// Comment on a provision.
    Comment {
        /// Which.
        provision: String,
        /// The comment.
        text: String,
        /// The comment it answers.
        #[serde(default)]
        reply_to: Option<String>,
    },
    /// Suggest a text for a provision in one language.
    Suggest {
        /// Which.
        provision: String,
        /// The language.
        lang: String,
        /// The suggested text.
        text: String,
    },
    /// Name the current version.
    Version {
        /// The name.
        name: String,
    },
    /// Put it to review.
    Review,
    /// Approve it as it stands, for our Party.
    Approve,
    /// Sign it for our Party (when agreed).
    Sign,
    /// Withdraw it.
    Withdraw,
}

fn place(d: &automerge::Automerge, after: Option<String>, first: bool) -> Result<Place, EngineError> {
    Ok(match (after, first) {
        (_, true) => Place::First,
        (Some(a), false) => Place::After(draft::resolve_provision(d, &a)?),
        (None, false) => Place::Last,
    })
}

fn act(c: &mut Core, id: DocId, ctx: &ChangeCtx, action: Action) -> Result<(), EngineError> {
    let pv = |c: &mut Core, p: &str| -> Result<String, EngineError> { Ok(draft::resolve_provision(c.doc(id)?, p)?) };
    match action {
        Action::AddProvision { after, first, kind, lang, text } => {
            let pl = place(c.doc(id)?, after, first)?;
            let lang = lang.unwrap_or_else(|| "en".into());
            c.change(id, |d| {
                draft::add_provision(d, ctx, &pl, kind, text.as_deref().map(|t| (lang.as_str(), t))).map(|_| ())
            })
        }
        Action::MoveProvision { provision, after, first } => {
            let p = pv(c, &provision)?;
            let pl = place(c.doc(id)?, after, first)?;
            c.change(id, |d| draft::move_provision(d, ctx, &p, &pl))
        }
        Action::RemoveProvision { provision } => {
            let p = pv(c, &provision)?;
            c.change(id, |d| draft::remove_provision(d, ctx, &p))
        }
        Action::Text { provision, lang, text, base } => {
            // A label is read in the numbering of the version the text was edited from: the
            // one the officer saw, whatever moved since.
            let base = base.as_deref().map(draft::parse_version).transpose()?;
            let p = draft::resolve_provision_at(c.doc(id)?, &provision, base.as_deref())?;
            c.change(id, |d| {
                draft::edit_from(d, ctx, base.as_deref(), |d| draft::set_provision_text(d, ctx, &p, &lang, &text))
                    .map(|_| ())
            })
        }
        Action::Align { provision } => {
            let p = pv(c, &provision)?;
            c.change(id, |d| draft::align(d, ctx, &p))
        }
        Action::Comment { provision, text, reply_to } => {
            let p = pv(c, &provision)?;
            c.comment_draft(id, ctx, &p, &text, reply_to.as_deref()).map(|_| ())
        }
        Action::Suggest { provision, lang, text } => {
            let p = pv(c, &provision)?;
            c.suggest_draft(id, ctx, &p, &lang, &text).map(|_| ())
        }
        Action::Version { name } => c.change(id, |d| draft::name_version(d, ctx, &name)),
        Action::Review => c.review_draft(id, ctx),
        Action::Approve => c.approve_draft(id, ctx),
        Action::Sign => c.sign_draft(id, ctx),
        Action::Withdraw => c.withdraw_draft(id, ctx),
    }
}

pub async fn action(
    State(s): State<AppState>,
    caller: axum::Extension<super::Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(a): Json<Action>,
) -> Result<Json<Draft>, AppError> {
    // Signing binds the Party, and withdrawing cannot be undone: both need a liaison officer,
    // not just a member.
    if matches!(a, Action::Sign | Action::Withdraw) {
        super::auth::require(&caller, crate::accounts::Role::Liaison)?;
    }
    let ctx = s.ctx(o);
    change_draft(&s, id, move |c, id| act(c, id, &ctx, a)).await
}

/// Accept or reject.
#[derive(Deserialize)]
pub struct Decision {
    accept: bool,
}

/// `POST /api/suggestions/{id}`: accept or reject a suggestion, whichever draft holds it.
pub async fn decide(
    State(s): State<AppState>,
    o: OfficerName,
    Path(sid): Path<String>,
    Json(b): Json<Decision>,
) -> Result<Json<Draft>, AppError> {
    let ctx = s.ctx(o);
    let d = s
        .engine
        .write(move |c| {
            let id = c.decide_suggestion(&sid, &ctx, b.accept)?;
            c.read_draft(id)
        })
        .await?;
    Ok(Json(d))
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
