//! Routes over the shared workspace: meetings, working groups, drafts, the officers' registry
//! and liaison communications.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

use super::{AppError, AppState, Caller};
use crate::accounts::Role;
use crate::app;
use crate::app::threads::{NewMessage, NewThread};
use crate::engine::{Core, EngineError};
use crate::workspace::group::{self, Group, GroupPatch, NewGroup};
use crate::workspace::meeting::{self, Meeting, MeetingPatch, NewMeeting};
use crate::workspace::registry::{NewOfficer, Officer};
use crate::workspace::thread::Thread;
use crate::workspace::{Author, DocKind, WorkspaceError};

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
    /// Who asks, as the use cases (`src/app/`) take it: the officer, our Party, the caller's role.
    pub(super) fn who(&self, officer: OfficerName, caller: &Caller) -> crate::app::Ctx {
        crate::app::Ctx::new(officer.0, self.party.id.clone(), caller.role)
    }
}

/// The answer to a create.
#[derive(Debug, Serialize, Deserialize)]
pub struct Created {
    /// The new object's id.
    pub id: String,
}

/// Reads every document of `kind` with `read`, skipping (and logging) any that do not read.
pub(super) fn read_all<T>(
    core: &mut Core,
    kind: DocKind,
    read: fn(&automerge::Automerge, &str) -> Result<T, WorkspaceError>,
) -> Result<Vec<T>, EngineError> {
    let mut out = Vec::new();
    for id in core.ids_of(kind) {
        let doc = core.doc(id)?;
        match read(doc, &id.to_string()) {
            Ok(v) => out.push(v),
            Err(e) => {
                tracing::warn!(%id, %kind, error = %e, "document does not read; left out of the list")
            }
        }
    }
    Ok(out)
}

pub(super) fn read_one<T>(
    core: &mut Core,
    kind: DocKind,
    id: &str,
    read: fn(&automerge::Automerge, &str) -> Result<T, WorkspaceError>,
) -> Result<T, EngineError> {
    let id = core.resolve(kind, id)?;
    Ok(read(core.doc(id)?, &id.to_string())?)
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

pub async fn list_meetings(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
) -> Result<Json<Vec<Meeting>>, AppError> {
    let may_read = reads_items(&caller);
    let mut v = s
        .engine
        .read(move |c| {
            let mut v = read_all(c, DocKind::Meeting, meeting::read)?;
            for m in &mut v {
                c.fill_attachments(&mut m.attachments, may_read)?;
            }
            Ok(v)
        })
        .await?;
    v.sort_by(|a, b| (&a.starts, &a.title).cmp(&(&b.starts, &b.title)));
    Ok(Json(v))
}

pub async fn create_meeting(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Json(new): Json<NewMeeting>,
) -> Result<Json<Created>, AppError> {
    let c = app::meetings::create_meeting(&s.engine, &s.who(o, &caller), new).await?;
    Ok(Json(Created { id: c.id }))
}

pub async fn show_meeting(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Meeting>, AppError> {
    let may_read = reads_items(&caller);
    Ok(Json(
        s.engine
            .read(move |c| {
                let id = c.resolve(DocKind::Meeting, &id)?;
                meeting_for(c, id, may_read)
            })
            .await?,
    ))
}

pub async fn update_meeting(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(patch): Json<MeetingPatch>,
) -> Result<Json<Meeting>, AppError> {
    Ok(Json(app::meetings::update_meeting(&s.engine, &s.who(o, &caller), id, patch).await?))
}

// ---- groups ----

pub async fn list_groups(State(s): State<AppState>) -> Result<Json<Vec<Group>>, AppError> {
    let mut v = s.engine.read(|c| read_all(c, DocKind::Group, group::read)).await?;
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Json(v))
}

pub async fn create_group(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Json(new): Json<NewGroup>,
) -> Result<Json<Created>, AppError> {
    let c = app::groups::create_group(&s.engine, &s.who(o, &caller), new).await?;
    Ok(Json(Created { id: c.id }))
}

pub async fn show_group(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Group>, AppError> {
    Ok(Json(s.engine.read(move |c| read_one(c, DocKind::Group, &id, group::read)).await?))
}

pub async fn update_group(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(patch): Json<GroupPatch>,
) -> Result<Json<Group>, AppError> {
    Ok(Json(app::groups::update_group(&s.engine, &s.who(o, &caller), id, patch).await?))
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
    let v = s
        .engine
        .read(move |c| {
            let id = c.resolve(kind, &id)?;
            let provision = match &q.provision {
                Some(p) => Some(crate::workspace::draft::resolve_provision(c.doc(id)?, p)?),
                None => None,
            };
            c.history_in(id, provision.as_deref(), q.lang.as_deref(), q.limit.unwrap_or(500).min(100_000))
        })
        .await?;
    Ok(Json(v))
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
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Json(new): Json<NewOfficer>,
) -> Result<Json<Created>, AppError> {
    let c = app::officers::assign_officer(&s.engine, &s.who(o, &caller), new).await?;
    Ok(Json(Created { id: c.id }))
}

pub async fn end_officer(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
) -> Result<Json<Vec<Officer>>, AppError> {
    Ok(Json(app::officers::end_officer(&s.engine, &s.who(o, &caller), id).await?))
}

// ---- liaison communications ----

/// A thread in a list.
#[derive(Debug, Serialize, Deserialize)]
pub struct ThreadSummary {
    /// Id.
    pub id: String,
    /// Subject.
    pub subject: String,
    /// The subject in English and in Russian, where given.
    #[serde(flatten)]
    pub titles: crate::workspace::titles::Titles,
    /// Number of messages.
    pub messages: usize,
    /// When the last message was sent.
    pub last_at: Option<String>,
    /// Who sent it.
    pub last_by: Option<Author>,
}

pub async fn list_threads(State(s): State<AppState>) -> Result<Json<Vec<ThreadSummary>>, AppError> {
    let all = s.engine.read(|c| c.read_threads()).await?;
    let mut v: Vec<ThreadSummary> = all
        .into_iter()
        .map(|t| {
            let last = t.messages.last();
            ThreadSummary {
                last_at: last.map(|m| m.at.clone()),
                last_by: last.and_then(|m| m.author.clone()),
                messages: t.messages.len(),
                id: t.id,
                subject: t.subject,
                titles: t.titles,
            }
        })
        .collect();
    v.sort_by(|a, b| b.last_at.cmp(&a.last_at));
    Ok(Json(v))
}

pub async fn start_thread(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Json(body): Json<NewThread>,
) -> Result<Json<Created>, AppError> {
    let c = app::threads::start_thread(&s.engine, &s.who(o, &caller), body).await?;
    Ok(Json(Created { id: c.id }))
}

pub async fn show_thread(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<Thread>, AppError> {
    let may_read = reads_items(&caller);
    Ok(Json(
        s.engine
            .read(move |c| {
                let id = c.resolve(DocKind::Thread, &id)?;
                thread_for(c, id, may_read)
            })
            .await?,
    ))
}

pub async fn post_message(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(body): Json<NewMessage>,
) -> Result<Json<Thread>, AppError> {
    Ok(Json(app::threads::post_message(&s.engine, &s.who(o, &caller), id, body).await?))
}
