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
use crate::workspace::DocKind;
use crate::workspace::group::{Group, GroupPatch, NewGroup};
use crate::workspace::meeting::{Meeting, MeetingPatch, NewMeeting};
use crate::workspace::registry::{NewOfficer, Officer};
use crate::workspace::thread::Thread;

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

// ---- meetings ----

/// Whether the caller's role reads provided items: then attachments show their titles.
pub(super) fn reads_items(caller: &Caller) -> bool {
    caller.role >= Role::Liaison
}

/// The meetings, by start then title, from their summaries; attachments filled in for the
/// caller's role.
pub async fn list_meetings(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    axum::extract::Query(q): axum::extract::Query<super::lists::MeetingQuery>,
) -> Result<([(&'static str, String); 1], super::lists::Rows), super::lists::ListError> {
    let filter = q.filter().map_err(super::lists::ListError::Refused)?;
    let rows = super::lists::rows(&s, DocKind::Meeting, &q.ids()).await?;
    let (total, mut v) = super::lists::meeting_page(rows, &filter);
    // Only the meetings answered are filled in.
    super::lists::fill_meetings(&s, &mut v, reads_items(&caller)).await?;
    Ok(([("x-total-count", total.to_string())], super::lists::Rows(v)))
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
    Ok(Json(s.engine.show_meeting(id, reads_items(&caller)).await?))
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

/// The working groups, by name, from their summaries.
pub async fn list_groups(
    State(s): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<super::lists::ListQuery>,
) -> Result<super::lists::Rows, super::lists::ListError> {
    let mut v = super::lists::rows(&s, DocKind::Group, &q).await?;
    let name = |r: &super::lists::Row| match r.summary() {
        Some(crate::engine::summaries::Summary::Group(g)) => g.name.clone(),
        _ => String::new(),
    };
    v.sort_by_key(name);
    Ok(super::lists::Rows(v))
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
    Ok(Json(s.engine.show_group(id).await?))
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
    Ok(Json(s.engine.officers().await?))
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
pub use crate::engine::summaries::ThreadSummary;

/// The threads, the latest message first, from their summaries.
pub async fn list_threads(
    State(s): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<super::lists::ListQuery>,
) -> Result<super::lists::Rows, super::lists::ListError> {
    let mut v = super::lists::rows(&s, DocKind::Thread, &q).await?;
    let last = |r: &super::lists::Row| match r.summary() {
        Some(crate::engine::summaries::Summary::Thread(t)) => t.last_at.clone(),
        _ => None,
    };
    v.sort_by_key(|r| std::cmp::Reverse(last(r)));
    Ok(super::lists::Rows(v))
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
    Ok(Json(s.engine.show_thread(id, reads_items(&caller)).await?))
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
