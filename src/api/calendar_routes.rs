//! Meetings as calendars: one meeting's or every meeting's ICS for a logged-in officer, and each
//! officer's calendar feed, which a calendar program polls with a secret URL instead of a login.
//!
//! The feed (`GET /api/calendar/{secret}.ics`) is outside the login layer: its secret is its
//! authentication. It answers the meetings (which every role reads) while the secret is the
//! account's current one and the account is enabled; anything else is a bare 404, the same for
//! a wrong, revoked or malformed secret. The secret is in the URL, so the access log writes
//! that path with the secret left out ([`loggable_path`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::account_routes::blocking;
use super::auth::Caller;
use super::{AppError, AppState};
use crate::calendar::{self, Invitation};
use crate::engine::EngineError;
use crate::engine::summaries::{Entry, Summary};
use crate::ids::DocId;
use crate::workspace::DocKind;
use crate::workspace::registry::Officer;

/// Where the feeds are served.
const FEED_PREFIX: &str = "/api/calendar/";

/// A new feed secret, shown once.
#[derive(Debug, Serialize, Deserialize)]
pub struct CalendarFeed {
    /// The account.
    pub name: String,
    /// The secret (stored only as its SHA-256).
    pub secret: String,
    /// The feed's path on this API: `/api/calendar/{secret}.ics`.
    pub path: String,
}

/// Whether an account has a feed.
#[derive(Debug, Serialize, Deserialize)]
pub struct FeedState {
    /// It has one.
    pub active: bool,
}

/// The path as the access log writes it: a feed's secret left out.
pub fn loggable_path(path: &str) -> &str {
    if path.starts_with(FEED_PREFIX) && path.len() > FEED_PREFIX.len() { "/api/calendar/…" } else { path }
}

/// The meetings (one, or all) with their sequence numbers, from their summaries (no document is
/// read for it), in the order they start.
fn invitations(entries: &[Arc<Entry>], only: Option<DocId>) -> Result<Vec<Invitation<'_>>, AppError> {
    let mut out: Vec<Invitation> = entries
        .iter()
        .filter_map(|e| match (&e.summary, e.sequence()) {
            (Summary::Meeting(m), Some(sequence)) => Some(Invitation { meeting: m, sequence }),
            _ => None,
        })
        .collect();
    if let Some(id) = only
        && out.is_empty()
    {
        // Known, but its summary did not compute: it does not read.
        return Err(EngineError::NotFound { kind: DocKind::Meeting, id: id.to_string() }.into());
    }
    out.sort_by(|a, b| (&a.meeting.starts, &a.meeting.id).cmp(&(&b.meeting.starts, &b.meeting.id)));
    Ok(out)
}

/// The last calendar of every meeting, with the digest of what it was made from.
///
/// A calendar program polls its feed every few minutes, and every meeting's calendar takes a
/// fifth of a second to write at 10,000 meetings, while what it is made from changes far less
/// often. It is written again only when a meeting (its summary's version), the officers'
/// registry (which gives the addresses) or the calendar's name changed since.
#[derive(Default)]
pub struct CalendarCache(std::sync::Mutex<Option<(blake3::Hash, Bytes)>>);

impl CalendarCache {
    fn get(&self, key: &blake3::Hash) -> Option<Bytes> {
        let held = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        held.as_ref().filter(|(k, _)| k == key).map(|(_, body)| body.clone())
    }

    fn put(&self, key: blake3::Hash, body: Bytes) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((key, body));
    }
}

/// What a calendar is made from, as a digest: its name, the registry, and each meeting's id and
/// version (in id order: the entries come in no order).
fn made_from(name: &str, officers: &[Officer], entries: &mut [Arc<Entry>]) -> blake3::Hash {
    entries.sort_unstable_by_key(|e| e.id());
    let mut h = blake3::Hasher::new();
    // Lengths before each part, so that no two different inputs write the same bytes.
    let mut part = |b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    part(name.as_bytes());
    part(&serde_json::to_vec(officers).unwrap_or_default());
    for e in entries.iter() {
        part(e.id().map(|d| d.to_string()).unwrap_or_default().as_bytes());
        part(e.version.as_bytes());
    }
    h.finalize()
}

async fn ics(s: &AppState, only: Option<DocId>, file: &str) -> Result<Response, AppError> {
    let mut entries = super::lists::entries(s, DocKind::Meeting, only.map(|id| BTreeSet::from([id]))).await?;
    let officers = s.engine.officers().await?;
    let name = format!("liaison: {}", s.party.name);
    let cache = s.calendar.clone();
    // Every meeting's event takes a fifth of a second at 10,000: not on the runtime's threads,
    // which serve the other requests.
    let body = tokio::task::spawn_blocking(move || {
        // Only the calendar of every meeting is kept: one meeting's is quick to write.
        let key = only.is_none().then(|| made_from(&name, &officers, &mut entries));
        if let Some(body) = key.as_ref().and_then(|k| cache.get(k)) {
            return Ok(body);
        }
        let body = Bytes::from(invitations(&entries, only).map(|v| calendar::calendar(&name, &v, &officers))?);
        if let Some(k) = key {
            cache.put(k, body.clone());
        }
        Ok::<_, AppError>(body)
    })
    .await
    .map_err(|e| AppError::Internal(format!("the calendar's task: {e}")))??;
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/calendar; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// `GET /api/meetings/{id}/ics`.
pub async fn meeting_ics(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, AppError> {
    let id = s.engine.summaries().resolve(DocKind::Meeting, &id)?;
    let file = format!("meeting-{}.ics", &id.to_string()[..8]);
    ics(&s, Some(id), &file).await
}

/// `GET /api/meetings/ics`: every meeting.
pub async fn all_ics(State(s): State<AppState>) -> Result<Response, AppError> {
    ics(&s, None, "meetings.ics").await
}

/// `GET /api/calendar/{secret}.ics`, without a login.
pub async fn feed(State(s): State<AppState>, Path(file): Path<String>) -> Response {
    let not_found = || StatusCode::NOT_FOUND.into_response();
    let Some(secret) = file.strip_suffix(".ics").map(str::to_string) else { return not_found() };
    match blocking(&s, move |a| a.calendar_feed_account(&secret)).await {
        Ok(Some(_)) => ics(&s, None, "liaison.ics").await.unwrap_or_else(IntoResponse::into_response),
        Ok(None) => not_found(),
        Err(e) => e.into_response(),
    }
}

fn feed_made(name: String, secret: String) -> Json<CalendarFeed> {
    let path = format!("{FEED_PREFIX}{secret}.ics");
    Json(CalendarFeed { name, secret, path })
}

fn own_account(c: &Caller) -> Result<String, AppError> {
    c.account.clone().ok_or_else(|| AppError::BadRequest("a calendar feed belongs to an account: log in".into()))
}

/// `GET /api/session/calendar`: whether the logged-in officer has a feed.
pub async fn own_state(
    State(s): State<AppState>,
    axum::Extension(c): axum::Extension<Caller>,
) -> Result<Json<FeedState>, AppError> {
    let name = own_account(&c)?;
    Ok(Json(FeedState { active: blocking(&s, move |a| a.calendar_feed_active(&name)).await? }))
}

/// `POST /api/session/calendar`: a new feed for the logged-in officer (the old one stops).
pub async fn own_new(
    State(s): State<AppState>,
    axum::Extension(c): axum::Extension<Caller>,
) -> Result<Json<CalendarFeed>, AppError> {
    let name = own_account(&c)?;
    let n = name.clone();
    let secret = blocking(&s, move |a| a.calendar_feed_new(&n)).await?;
    Ok(feed_made(name, secret))
}

/// `DELETE /api/session/calendar`: the logged-in officer's feed stops.
pub async fn own_revoke(
    State(s): State<AppState>,
    axum::Extension(c): axum::Extension<Caller>,
) -> Result<Json<FeedState>, AppError> {
    let name = own_account(&c)?;
    blocking(&s, move |a| a.calendar_feed_revoke(&name)).await?;
    Ok(Json(FeedState { active: false }))
}

/// `POST /api/accounts/{name}/calendar` (admins): a new feed for an account.
pub async fn account_new(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<CalendarFeed>, AppError> {
    let n = name.clone();
    let secret = blocking(&s, move |a| a.calendar_feed_new(&n)).await?;
    Ok(feed_made(name, secret))
}

/// `DELETE /api/accounts/{name}/calendar` (admins): an account's feed stops.
pub async fn account_revoke(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<FeedState>, AppError> {
    blocking(&s, move |a| a.calendar_feed_revoke(&name)).await?;
    Ok(Json(FeedState { active: false }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_log_never_writes_a_feed_secret() {
        assert_eq!(loggable_path("/api/calendar/0123abcd.ics"), "/api/calendar/…");
        assert_eq!(loggable_path("/api/meetings/ics"), "/api/meetings/ics");
    }
}
