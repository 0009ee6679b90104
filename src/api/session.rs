//! Logging in to the web app: sessions held in memory (a restart logs everyone out), an
//! HttpOnly, Secure, SameSite=Strict cookie, a CSRF token per session, and a limit on failed
//! logins per account name and per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
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
/// Failed logins allowed per account name, and per client address, in [`WINDOW`].
const MAX_FAILURES_PER_NAME: u32 = 5;
const MAX_FAILURES_PER_ADDR: u32 = 20;
const WINDOW: Duration = Duration::from_secs(15 * 60);

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

struct Failures {
    count: u32,
    since: Instant,
}

/// Every session of the node, and the failed-login counters.
#[derive(Default)]
pub struct Sessions {
    // Keyed by the SHA-256 of the cookie value, so the table holds no usable secret.
    by_token: Mutex<HashMap<[u8; 32], Session>>,
    failures: Mutex<HashMap<String, Failures>>,
}

fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Sessions {
    fn start(&self, name: &str, role: Role) -> (String, Session) {
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

    /// Ends every session of an account (when it is disabled).
    pub fn end_all_of(&self, name: &str) {
        self.by_token.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, s| {
            if s.name == name {
                s.ended.cancel();
            }
            s.name != name
        });
    }

    /// Counts a login attempt against `keys` before its password is checked, so that attempts
    /// sent all at once are limited as much as attempts one after another. `Err(seconds)` when
    /// one of the keys has no attempt left.
    fn attempt(&self, keys: &[(String, u32)]) -> Result<(), u64> {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        f.retain(|_, v| v.since.elapsed() < WINDOW);
        let wait = keys
            .iter()
            .filter_map(|(k, max)| f.get(k).filter(|v| v.count >= *max))
            .map(|v| WINDOW.saturating_sub(v.since.elapsed()).as_secs().max(1))
            .max();
        if let Some(secs) = wait {
            return Err(secs);
        }
        for (k, _) in keys {
            f.entry(k.clone()).or_insert(Failures { count: 0, since: Instant::now() }).count += 1;
        }
        Ok(())
    }

    /// A login succeeded: its attempt does not count, and the name's failures are forgiven.
    fn succeeded(&self, keys: &[(String, u32)]) {
        self.give_back(keys);
        if let Some((name_key, _)) = keys.first() {
            self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(name_key);
        }
    }

    /// An attempt that tried no password after all: it does not count.
    fn give_back(&self, keys: &[(String, u32)]) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for (k, _) in keys {
            if let Some(v) = f.get_mut(k) {
                v.count = v.count.saturating_sub(1);
            }
        }
    }
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
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

/// A login.
#[derive(Deserialize)]
pub struct Login {
    name: String,
    password: String,
}

/// The client's address, when the server knows it (not in in-process tests).
pub struct ClientAddr(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// `POST /api/session`: logs in.
pub async fn login(State(s): State<AppState>, addr: ClientAddr, Json(b): Json<Login>) -> Result<Response, AppError> {
    // The name's key first: `succeeded` forgives it whole.
    let mut keys = vec![(format!("name:{}", b.name), MAX_FAILURES_PER_NAME)];
    if let Some(ip) = addr.0 {
        keys.push((format!("addr:{ip}"), MAX_FAILURES_PER_ADDR));
    }
    if let Err(secs) = s.sessions.attempt(&keys) {
        tracing::warn!(name = %b.name, addr = ?addr.0, "login refused: too many failed attempts");
        return Err(AppError::TooManyRequests(secs));
    }
    let accounts = s.accounts.clone();
    let name = b.name.clone();
    let found = tokio::task::spawn_blocking(move || accounts.verify(&name, &b.password))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let Some(account) = found else {
        tracing::warn!(name = %b.name, addr = ?addr.0, "login failed");
        return Err(AppError::BadLogin);
    };
    s.sessions.succeeded(&keys);
    let (token, session) = s.sessions.start(&account.name, account.role);
    tracing::info!(name = %account.name, role = %account.role, "logged in");
    let cookie =
        format!("{COOKIE_NAME}={token}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={}", MAX_AGE.as_secs());
    let info = info(&s, session.name, session.role, session.csrf);
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

/// A password change.
#[derive(Deserialize)]
pub struct NewPassword {
    current: String,
    new: String,
}

/// `POST /api/session/password`: the logged-in officer changes their password. Counted against
/// the same limit as logins, since it too tries a password.
pub async fn change_password(
    State(s): State<AppState>,
    addr: ClientAddr,
    caller: axum::Extension<Caller>,
    Json(b): Json<NewPassword>,
) -> Result<axum::http::StatusCode, AppError> {
    let Some(name) = caller.account.clone() else {
        return Err(AppError::BadRequest("the node's API token has no password to change".into()));
    };
    let mut keys = vec![(format!("name:{name}"), MAX_FAILURES_PER_NAME)];
    if let Some(ip) = addr.0 {
        keys.push((format!("addr:{ip}"), MAX_FAILURES_PER_ADDR));
    }
    if let Err(secs) = s.sessions.attempt(&keys) {
        return Err(AppError::TooManyRequests(secs));
    }
    let accounts = s.accounts.clone();
    let n = name.clone();
    let changed = tokio::task::spawn_blocking(move || accounts.change_password(&n, &b.current, &b.new))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    match changed {
        Ok(true) => {
            s.sessions.succeeded(&keys);
            tracing::info!(name = %name, "password changed");
            Ok(axum::http::StatusCode::NO_CONTENT)
        }
        Ok(false) => {
            tracing::warn!(name = %name, "password change refused: wrong current password");
            Err(AppError::Forbidden("the current password is wrong".into()))
        }
        Err(e) => {
            // Not a guess at the current password: give the attempt back.
            s.sessions.give_back(&keys);
            Err(AppError::BadRequest(e.to_string()))
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
    fn failed_logins_block_the_name_after_the_limit_and_success_clears_it() {
        let s = Sessions::default();
        let keys = vec![("name:a".to_string(), MAX_FAILURES_PER_NAME), ("addr:x".to_string(), MAX_FAILURES_PER_ADDR)];
        // Attempts count before their outcome is known: N at once are N attempts.
        for _ in 0..MAX_FAILURES_PER_NAME {
            assert_eq!(s.attempt(&keys), Ok(()));
        }
        assert!(s.attempt(&keys).unwrap_err() > 0);
        s.succeeded(&keys);
        assert_eq!(s.attempt(&keys), Ok(()));
        // Another name from the same address still has attempts left.
        assert_eq!(s.attempt(&[("name:b".to_string(), MAX_FAILURES_PER_NAME), keys[1].clone()]), Ok(()));
    }

    #[test]
    fn a_session_is_found_by_its_cookie_only_and_ends() {
        let s = Sessions::default();
        let (token, sess) = s.start("anna", Role::Member);
        assert_eq!(s.touch(&token).unwrap().csrf, sess.csrf);
        assert!(s.touch("0000").is_none());
        s.end_all_of("anna");
        assert!(s.touch(&token).is_none());
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(&format!("a=b; {COOKIE_NAME}={token}")).unwrap());
        assert_eq!(cookie_value(&h).as_deref(), Some(token.as_str()));
    }
}
