//! The web app's sessions: held in memory (a restart logs everyone out), an HttpOnly, Secure,
//! SameSite=Strict cookie, a CSRF token per session. Logging in is `login`'s.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::{AppError, AppState};
use crate::accounts::Role;

/// The session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const COOKIE_NAME: &str = "__Host-liaison";
/// The header carrying the session's CSRF token on requests that change state.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends after this long without a request...
const IDLE: Duration = Duration::from_secs(2 * 3600);
/// ...and after this long in any case.
const MAX_AGE: Duration = Duration::from_secs(12 * 3600);

/// One logged-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    /// Account name.
    pub name: String,
    /// Its role at login.
    pub role: Role,
    /// Its CSRF token.
    pub csrf: String,
    /// Cancelled when the session ends (logout, its account disabled), so that its open event
    /// stream ends too.
    pub ended: tokio_util::sync::CancellationToken,
    created: Instant,
    last_seen: Instant,
}

/// Every session of the node.
#[derive(Default)]
pub struct Sessions {
    // Keyed by the SHA-256 of the cookie value, so the table holds no usable secret.
    by_token: Mutex<HashMap<[u8; 32], Session>>,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    pub(super) fn start(&self, name: &str, role: Role) -> (String, Session) {
        let token = crate::ids::random_hex(32);
        let now = Instant::now();
        let s = Session {
            name: name.into(),
            role,
            csrf: crate::ids::random_hex(32),
            ended: tokio_util::sync::CancellationToken::new(),
            created: now,
            last_seen: now,
        };
        let mut map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| {
            let live = s.last_seen.elapsed() < IDLE && s.created.elapsed() < MAX_AGE;
            if !live {
                s.ended.cancel();
            }
            live
        });
        map.insert(key(&token), s.clone());
        (token, s)
    }

    fn touch(&self, token: &str) -> Option<Session> {
        let mut map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        let k = key(token);
        let s = map.get_mut(&k)?;
        if s.last_seen.elapsed() >= IDLE || s.created.elapsed() >= MAX_AGE {
            s.ended.cancel();
            map.remove(&k);
            return None;
        }
        s.last_seen = Instant::now();
        Some(s.clone())
    }

    fn end(&self, token: &str) {
        if let Some(s) = self.by_token.lock().unwrap_or_else(|e| e.into_inner()).remove(&key(token)) {
            s.ended.cancel();
        }
    }

    /// Ends every session of an account (disabled, its role or password changed) but the one
    /// whose cookie is `keep`, if any. Answers how many ended.
    pub fn end_all_of(&self, name: &str, keep: Option<&str>) -> usize {
        let keep = keep.map(key);
        let mut ended = 0;
        self.by_token.lock().unwrap_or_else(|e| e.into_inner()).retain(|k, s| {
            let end = s.name == name && Some(*k) != keep;
            if end {
                s.ended.cancel();
                ended += 1;
            }
            !end
        });
        ended
    }
}

pub(super) fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers.get_all(COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == COOKIE_NAME).then(|| v.to_string())
    })
}

/// The live session the request's cookie names, if any.
pub fn from_cookie(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    state.sessions.touch(&cookie_value(headers)?)
}

/// What the web app knows of its session.
#[derive(Debug, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Account name (or the officer the node token names).
    pub name: String,
    /// Role.
    pub role: Role,
    /// Our Party's id.
    pub party_id: String,
    /// Our Party's name.
    pub party_name: String,
    /// The CSRF token to send in `X-CSRF-Token` (empty for the node token, which needs none).
    pub csrf: String,
}

/// The client's address, when the server knows it (not in in-process tests): what failed
/// logins are counted and audited by.
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // The connection's peer, or behind a trusted reverse proxy the client it names.
        Ok(ClientAddr(super::client_addr::of_request(&parts.extensions)))
    }
}

/// The answer to a login: the session's info, with its cookie set.
pub(super) fn logged_in(s: &AppState, token: &str, session: Session) -> Result<Response, AppError> {
    let cookie =
        format!("{COOKIE_NAME}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}", MAX_AGE.as_secs());
    let info = info(s, session.name, session.role, session.csrf);
    let mut res = Json(info).into_response();
    res.headers_mut()
        .insert(SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.to_string()))?);
    Ok(res)
}

fn info(s: &AppState, name: String, role: Role, csrf: String) -> SessionInfo {
    SessionInfo { name, role, party_id: s.party.id.to_string(), party_name: s.party.name.clone(), csrf }
}

/// `GET /api/session`: who is logged in.
pub async fn whoami(
    State(s): State<AppState>,
    headers: HeaderMap,
    caller: axum::Extension<Caller>,
) -> Json<SessionInfo> {
    match from_cookie(&s, &headers) {
        Some(sess) => Json(info(&s, sess.name, sess.role, sess.csrf)),
        None => {
            let name = caller.account.clone().unwrap_or_else(|| "(node API token)".into());
            Json(info(&s, name, caller.role, String::new()))
        }
    }
}

/// `DELETE /api/session`: logs out.
pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = cookie_value(&headers) {
        s.sessions.end(&token);
    }
    let clear = format!("{COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().insert(SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_cookie_only_and_ends() {
        let s = Sessions::default();
        let (token, sess) = s.start("anna", Role::Member);
        assert_eq!(s.touch(&token).unwrap().csrf, sess.csrf);
        assert!(s.touch("0000").is_none());
        let (other, _) = s.start("anna", Role::Member);
        let (omar, _) = s.start("omar", Role::Member);
        // Every session of the account but the one kept; nobody else's.
        assert_eq!(s.end_all_of("anna", Some(&other)), 1);
        assert!(s.touch(&token).is_none() && s.touch(&other).is_some() && s.touch(&omar).is_some());
        assert_eq!(s.end_all_of("anna", None), 1);
        assert!(s.touch(&other).is_none());
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(&format!("a=b; {COOKIE_NAME}={token}")).unwrap());
        assert_eq!(cookie_value(&h).as_deref(), Some(token.as_str()));
    }
}
