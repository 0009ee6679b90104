//! Routes over the shared workspace: meetings, working groups, drafts, the officers' registry
//! and liaison communications.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::{AppError, AppState, Caller};
use crate::accounts::Role;
use crate::engine::{Core, EngineError};
use crate::workspace::group::{self, Group, GroupPatch, NewGroup};
use crate::workspace::meeting::{self, Meeting, MeetingPatch, NewMeeting};
use crate::workspace::registry::{NewOfficer, Officer};
use crate::workspace::thread::Thread;
use crate::workspace::{Author, ChangeCtx, DocKind, WorkspaceError};

/// Header naming the officer on whose behalf the client acts.
pub const OFFICER_HEADER: &str = "x-liaison-officer";

/// The officer making the request: the logged-in account, or with the node token the officer
/// [`OFFICER_HEADER`] names.
pub struct OfficerName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for OfficerName {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(name) = parts.extensions.get::<super::Caller>().and_then(|c| c.account.clone()) {
            return Ok(OfficerName(name));
        }
        let name = parts.headers.get(OFFICER_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or("");
        if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
            return Err(AppError::BadRequest(format!(
                "the {OFFICER_HEADER} header must name the officer (1 to 100 characters); the CLI takes it from --officer or LIAISON_OFFICER"
            )));
        }
        Ok(OfficerName(name.to_string()))
    }
}

impl AppState {
    pub(super) fn ctx(&self, officer: OfficerName) -> ChangeCtx {
        ChangeCtx { author: Author { officer: officer.0, party: self.party.id.clone() }, now: Utc::now() }
    }
}

/// The answer to a create.
#[derive(Debug, Serialize, Deserialize)]
pub struct Created {
    /// The new object's id.
    pub id: String,
}

// ---- meetings ----

/// Whether the caller's role reads provided items: then attachments show their titles.
pub(super) fn reads_items(caller: &Caller) -> bool {
    caller.role >= Role::Liaison
}

/// A meeting with its attachments filled in for the caller.
fn meeting_for(c: &mut Core, id: crate::ids::DocId, may_read: bool) -> Result<Meeting, EngineError> {
    let mut m = meeting::read(c.doc(id)?, &id.to_string())?;
    c.fill_attachments(&mut m.attachments, may_read)?;
    Ok(m)
}

/// A thread with its messages' attachments filled in for the caller.
fn thread_for(c: &mut Core, id: crate::ids::DocId, may_read: bool) -> Result<Thread, EngineError> {
    let mut t = c.read_thread(id)?;
    for m in &mut t.messages {
        c.fill_attachments(&mut m.attachments, may_read)?;
    }
    Ok(t)
}

/// The meetings, by start then title, from their summaries; attachments filled in for the
/// caller's role.
pub async fn list_meetings(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    axum::extract::Query(q): axum::extract::Query<super::lists::ListQuery>,
) -> Result<Json<Vec<super::lists::Row>>, super::lists::ListError> {
    let mut v = super::lists::rows(&s, DocKind::Meeting, &q).await?;
    super::lists::fill_meetings(&s, &mut v, reads_items(&caller)).await?;
    // By reference: 10,000 meetings sort without copying a string.
    fn key(r: &super::lists::Row) -> Option<(&str, &str)> {
        r.meeting().map(|m| (m.starts.as_str(), m.title.as_str()))
    }
    v.sort_by(|a, b| key(a).cmp(&key(b)));
    Ok(Json(v))
}

pub async fn create_meeting(
    State(s): State<AppState>,
    o: OfficerName,
    Json(new): Json<NewMeeting>,
) -> Result<Json<Created>, AppError> {
    let ctx = s.ctx(o);
    let id = s.engine.write(move |c| c.create(DocKind::Meeting, |d| meeting::create(d, &ctx, &new))).await?;
    Ok(Json(Created { id: id.to_string() }))
}

pub async fn show_meeting(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Meeting>, AppError> {
    Ok(Json(s.engine.show_meeting(id, reads_items(&caller)).await?))
}

pub async fn update_meeting(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(mut patch): Json<MeetingPatch>,
) -> Result<Json<Meeting>, AppError> {
    // Attaching cites a provided item: the role that handles items does it.
    if !patch.attach.is_empty() || !patch.detach.is_empty() {
        super::auth::require(&caller, Role::Liaison)?;
    }
    let may_read = reads_items(&caller);
    let ctx = s.ctx(o);
    let m = s
        .engine
        .write(move |c| {
            let id = c.resolve(DocKind::Meeting, &id)?;
            patch.attach = patch.attach.iter().map(|i| c.item_to_attach(i)).collect::<Result<_, _>>()?;
            c.change(id, |d| meeting::update(d, &ctx, &patch))?;
            meeting_for(c, id, may_read)
        })
        .await?;
    Ok(Json(m))
}

// ---- groups ----

/// The working groups, by name, from their summaries.
pub async fn list_groups(
    State(s): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<super::lists::ListQuery>,
) -> Result<Json<Vec<super::lists::Row>>, super::lists::ListError> {
    let mut v = super::lists::rows(&s, DocKind::Group, &q).await?;
    let name = |r: &super::lists::Row| match r.summary() {
        Some(crate::engine::summaries::Summary::Group(g)) => g.name.clone(),
        _ => String::new(),
    };
    v.sort_by_key(name);
    Ok(Json(v))
}

pub async fn create_group(
    State(s): State<AppState>,
    o: OfficerName,
    Json(new): Json<NewGroup>,
) -> Result<Json<Created>, AppError> {
    let ctx = s.ctx(o);
    let id = s
        .engine
        .write(move |c| {
            c.check_mandate(crate::config::MandatedAction::GroupCreate, new.mandate_ref.as_deref())?;
            c.create(DocKind::Group, |d| group::create(d, &ctx, &new))
        })
        .await?;
    Ok(Json(Created { id: id.to_string() }))
}

pub async fn show_group(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Group>, AppError> {
    Ok(Json(s.engine.show_group(id).await?))
}

pub async fn update_group(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(patch): Json<GroupPatch>,
) -> Result<Json<Group>, AppError> {
    let ctx = s.ctx(o);
    let g = s
        .engine
        .write(move |c| {
            let id = c.resolve(DocKind::Group, &id)?;
            // A cited mandate must be one of this Party's, in force, as when a group is set up.
            if let Some(r) = patch.mandate_ref.as_deref().filter(|r| !r.trim().is_empty()) {
                c.check_mandate(crate::config::MandatedAction::GroupCreate, Some(r))?;
            }
            c.change(id, |d| group::update(d, &ctx, &patch))?;
            Ok(group::read(c.doc(id)?, &id.to_string())?)
        })
        .await?;
    Ok(Json(g))
}

// ---- history ----

/// What a history shows.
#[derive(Deserialize)]
pub struct HistoryQuery {
    /// Only what concerns this provision (id, prefix or label), for a draft.
    #[serde(default)]
    provision: Option<String>,
    /// The newest this many entries (default 500).
    #[serde(default)]
    limit: Option<usize>,
    /// Compare the provisions' texts in this language only (drafts).
    #[serde(default)]
    lang: Option<String>,
}

/// The history of a document of `kind`: who changed what and when, from the authenticated
/// changes.
async fn history_of(
    s: &AppState,
    kind: DocKind,
    id: String,
    q: HistoryQuery,
) -> Result<Json<Vec<crate::engine::HistoryEntry>>, AppError> {
    let limit = q.limit.unwrap_or(500).min(100_000);
    Ok(Json(s.engine.show_history(kind, id, q.provision, q.lang, limit).await?))
}

pub async fn draft_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> Result<Json<Vec<crate::engine::HistoryEntry>>, AppError> {
    history_of(&s, DocKind::Draft, id, q).await
}

pub async fn meeting_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> Result<Json<Vec<crate::engine::HistoryEntry>>, AppError> {
    if q.provision.is_some() {
        return Err(AppError::BadRequest("a meeting has no provisions".into()));
    }
    history_of(&s, DocKind::Meeting, id, q).await
}

pub async fn group_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> Result<Json<Vec<crate::engine::HistoryEntry>>, AppError> {
    if q.provision.is_some() {
        return Err(AppError::BadRequest("a working group has no provisions".into()));
    }
    history_of(&s, DocKind::Group, id, q).await
}

/// A thread's history: its subject and each Party's messages, who posted what and when.
pub async fn thread_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<HistoryQuery>,
) -> Result<Json<Vec<crate::engine::HistoryEntry>>, AppError> {
    if q.provision.is_some() || q.lang.is_some() {
        return Err(AppError::BadRequest("a thread has no provisions".into()));
    }
    history_of(&s, DocKind::Thread, id, q).await
}

// ---- officers ----

pub async fn list_officers(State(s): State<AppState>) -> Result<Json<Vec<Officer>>, AppError> {
    Ok(Json(s.engine.read(|c| c.officers()).await?))
}

pub async fn assign_officer(
    State(s): State<AppState>,
    o: OfficerName,
    Json(new): Json<NewOfficer>,
) -> Result<Json<Created>, AppError> {
    let ctx = s.ctx(o);
    let id = s.engine.write(move |c| c.assign_officer(&ctx, &new)).await?;
    Ok(Json(Created { id }))
}

pub async fn end_officer(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
) -> Result<Json<Vec<Officer>>, AppError> {
    let ctx = s.ctx(o);
    let v = s
        .engine
        .write(move |c| {
            c.end_officer(&ctx, &id)?;
            c.officers()
        })
        .await?;
    Ok(Json(v))
}

// ---- liaison communications ----

/// A thread in a list.
pub use crate::engine::summaries::ThreadSummary;

/// The threads, the latest message first, from their summaries.
pub async fn list_threads(
    State(s): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<super::lists::ListQuery>,
) -> Result<Json<Vec<super::lists::Row>>, super::lists::ListError> {
    let mut v = super::lists::rows(&s, DocKind::Thread, &q).await?;
    let last = |r: &super::lists::Row| match r.summary() {
        Some(crate::engine::summaries::Summary::Thread(t)) => t.last_at.clone(),
        _ => None,
    };
    v.sort_by_key(|r| std::cmp::Reverse(last(r)));
    Ok(Json(v))
}

/// A new thread with its first message.
#[derive(Deserialize)]
pub struct NewThread {
    /// Subject as first written (may be empty when a title per language is given).
    #[serde(default)]
    subject: String,
    /// The subject in English and in Russian.
    #[serde(flatten)]
    titles: crate::workspace::titles::Titles,
    /// First message.
    text: String,
    /// Items the first message attaches (ids or unique prefixes of items held here).
    #[serde(default)]
    attach: Vec<String>,
}

pub async fn start_thread(
    State(s): State<AppState>,
    o: OfficerName,
    Json(body): Json<NewThread>,
) -> Result<Json<Created>, AppError> {
    let ctx = s.ctx(o);
    let id = s
        .engine
        .write(move |c| c.start_thread_with(&ctx, &body.subject, &body.titles, &body.text, &body.attach))
        .await?;
    Ok(Json(Created { id: id.to_string() }))
}

pub async fn show_thread(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Thread>, AppError> {
    Ok(Json(s.engine.show_thread(id, reads_items(&caller)).await?))
}

/// A reply.
#[derive(Deserialize)]
pub struct NewMessage {
    /// Body.
    text: String,
    /// Items it attaches (ids or unique prefixes of items held here).
    #[serde(default)]
    attach: Vec<String>,
}

pub async fn post_message(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(body): Json<NewMessage>,
) -> Result<Json<Thread>, AppError> {
    let may_read = reads_items(&caller);
    let ctx = s.ctx(o);
    let t = s
        .engine
        .write(move |c| {
            let id = c.resolve(DocKind::Thread, &id)?;
            c.post_message_with(&ctx, id, &body.text, &body.attach)?;
            thread_for(c, id, may_read)
        })
        .await?;
    Ok(Json(t))
}
