//! The officer's inbox: `GET /api/inbox` and `POST /api/inbox/read` (see [`crate::inbox`]).

use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Deserialize;

use super::lists::{self, ListError, ListRefusal};
use super::workspace_routes::OFFICER_HEADER;
use super::{AppError, AppState, Caller};
use crate::accounts::Role;
use crate::engine::summaries::Summary;
use crate::inbox::{self, Inbox, MarkRead, Reader};
use crate::workspace::DocKind;

/// What `GET /api/inbox` (and the answer of `POST /api/inbox/read`) lists:
/// - `?all=true`: also what was read (every thread and meeting);
/// - `?offset=N`, `?limit=N`: one page of the entries, in order (unread first, then the newest);
///   the limit is [`inbox::DEFAULT_LIMIT`] unless given, at most [`inbox::MAX_LIMIT`]. The counts,
///   `total` and the `x-total-count` header count every entry;
/// - `?about=ID`: also every entry about this document or item, wherever it falls (`about`).
#[derive(Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    all: bool,
    #[serde(default)]
    offset: Option<String>,
    #[serde(default)]
    limit: Option<String>,
    #[serde(default)]
    about: Option<String>,
}

/// The longest `?about=` taken: a document or item id is 32 hex digits.
const MAX_ABOUT: usize = 64;

impl InboxQuery {
    fn page(&self) -> Result<inbox::Page, ListRefusal> {
        let bad = |param: &str, value: &str| ListRefusal::BadParameter {
            param: param.into(),
            value: value.chars().take(64).collect(),
        };
        let count = |param: &str, v: &Option<String>, default: usize| {
            v.as_deref().map_or(Ok(default), |n| n.trim().parse::<usize>().map_err(|_| bad(param, n)))
        };
        let about = match self.about.as_deref().map(str::trim) {
            Some(a) if a.len() > MAX_ABOUT || a.is_empty() => return Err(bad("about", a)),
            a => a.map(str::to_ascii_lowercase),
        };
        Ok(inbox::Page {
            offset: count("offset", &self.offset, 0)?,
            limit: count("limit", &self.limit, inbox::DEFAULT_LIMIT)?.min(inbox::MAX_LIMIT),
            about,
        })
    }
}

/// An inbox page as the API answers it: the page, and how many entries there are in all.
type Answer = ([(&'static str, String); 1], Json<Inbox>);

fn answer(inbox: Inbox) -> Answer {
    ([("x-total-count", inbox.total.to_string())], Json(inbox))
}

/// The reader a request reads as: its account, or the node token's pseudo-account, attributed to
/// the officer the CLI names.
fn reader(s: &AppState, c: &Caller, headers: &axum::http::HeaderMap) -> Reader {
    let named = headers.get(OFFICER_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|n| !n.is_empty());
    Reader {
        key: c.account.clone().unwrap_or_else(|| inbox::NODE_READER.to_string()),
        officer: c.account.clone().or_else(|| named.map(str::to_string)),
        party: s.party.id.clone(),
        role: c.role,
    }
}

async fn marks(s: &AppState, key: &str) -> Result<std::sync::Arc<inbox::Marks>, AppError> {
    let (accounts, key) = (s.accounts.clone(), key.to_string());
    tokio::task::spawn_blocking(move || accounts.inbox_marks(&key))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// The reader's inbox, from what the lists show (the summaries kept at commit, brought up to date
/// on the reader's threads) and the consent records; the marks decide what is unread. Nothing
/// here reads a document on the engine's thread.
async fn inbox_of(s: &AppState, r: &Reader, all: bool, page: &inbox::Page) -> Result<Inbox, AppError> {
    let marks = marks(s, &r.key).await?;
    let meetings = lists::entries(s, DocKind::Meeting, None).await?;
    let threads = lists::entries(s, DocKind::Thread, None).await?;
    // A viewer has no task in a draft.
    let drafts = if r.role >= Role::Member { lists::entries(s, DocKind::Draft, None).await? } else { vec![] };
    let consent = if r.role >= Role::Liaison { s.engine.consent_list().await? } else { vec![] };
    let facts = inbox::Facts {
        meetings: meetings
            .iter()
            .filter_map(|e| match &e.summary {
                Summary::Meeting(m) => Some(&**m),
                _ => None,
            })
            .collect(),
        threads: threads.iter().filter_map(|e| e.thread_facts()).collect(),
        drafts: drafts.iter().filter_map(|e| e.draft_facts()).collect(),
        consent,
    };
    Ok(inbox::build_page(&facts, r, &marks, all, page))
}

pub async fn list(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    headers: axum::http::HeaderMap,
    Query(q): Query<InboxQuery>,
) -> Result<Answer, ListError> {
    let page = q.page().map_err(ListError::Refused)?;
    let r = reader(&s, &c, &headers);
    Ok(answer(inbox_of(&s, &r, q.all, &page).await?))
}

/// Marks one document's entries, or all, read; answers the inbox as it then stands (the page the
/// query asks for, as `GET /api/inbox` would).
pub async fn mark_read(
    State(s): State<AppState>,
    Extension(c): Extension<Caller>,
    headers: axum::http::HeaderMap,
    Query(q): Query<InboxQuery>,
    Json(what): Json<MarkRead>,
) -> Result<Answer, ListError> {
    let page = q.page().map_err(ListError::Refused)?;
    let r = reader(&s, &c, &headers);
    let every = inbox::Page { offset: 0, limit: usize::MAX, about: None };
    let everything = inbox_of(&s, &r, true, &every).await?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let new = inbox::marks_for(&everything, &what, &now).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (accounts, key) = (s.accounts.clone(), r.key.clone());
    tokio::task::spawn_blocking(move || accounts.inbox_mark(&key, &new))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(answer(inbox_of(&s, &r, q.all, &page).await?))
}
