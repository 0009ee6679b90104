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
use serde::{Deserialize, Serialize};

use super::account_routes::blocking;
use super::auth::Caller;
use super::{AppError, AppState};
use crate::calendar::{self, Invitation};
use crate::engine::EngineError;
use crate::engine::summaries::{Entry, Summary};
use crate::ids::DocId;
use crate::workspace::DocKind;

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

async fn ics(s: &AppState, only: Option<DocId>, file: &str) -> Result<Response, AppError> {
    let entries = super::lists::entries(s, DocKind::Meeting, only.map(|id| BTreeSet::from([id]))).await?;
    let officers = s.engine.officers().await?;
    let name = format!("liaison: {}", s.party.name);
    // Every meeting's event takes a third of a second at 10,000: not on the runtime's threads,
    // which serve the other requests.
    let body = tokio::task::spawn_blocking(move || {
        invitations(&entries, only).map(|v| calendar::calendar(&name, &v, &officers))
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
