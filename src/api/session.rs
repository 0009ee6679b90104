//! The web app's sessions: an HttpOnly, Secure, SameSite=Strict cookie, a CSRF token per
//! session. Logging in is `login`'s.
//!
//! Sessions are held in memory and kept in the accounts database (`accounts::StoredSession`,
//! keyed by the SHA-256 of the cookie, never the cookie), so a restart of the node does not log
//! every officer out. The store is written when a session begins or ends, and when its end moves
//! by a minute or more (not on every request). At most [`MAX_PER_ACCOUNT`] sessions per account:
//! a login past that ends the account's oldest session.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
use crate::accounts::{AccountError, Accounts, Role, SessionKey, StoredSession};

/// The session cookie. `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const COOKIE_NAME: &str = "__Host-liaison";
/// The header carrying the session's CSRF token on requests that change state.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends after this long without a request...
const IDLE: Duration = Duration::from_secs(2 * 3600);
/// ...and after this long in any case.
const MAX_AGE: Duration = Duration::from_secs(12 * 3600);
/// Sessions an account may have at once (browsers, devices); a login past it ends the oldest.
/// It bounds what one account's logins can make the node keep.
pub const MAX_PER_ACCOUNT: usize = 8;
/// A session's stored end is rewritten when it has moved by this much (seconds): the idle
/// time-out after a restart is this much early at worst.
const REFRESH_SECS: u64 = 60;
/// Expired sessions are looked for at most this often (seconds) while requests come.
const SWEEP_SECS: u64 = 60;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// One logged-in browser.
#[derive(Clone, Debug)]
pub struct Session {
    /// Account name.
    pub name: String,
    /// Its role at login.
    pub role: Role,
    /// Its CSRF token.
    pub csrf: String,
    /// Logged in with a one-time password: it may do nothing but choose a new one (`auth`).
    pub password_change_required: bool,
    /// Cancelled when the session ends (logout, its account disabled), so that its open event
    /// stream ends too.
    pub ended: tokio_util::sync::CancellationToken,
    created: u64,
    /// Order of beginning within this process (`created` is in whole seconds).
    seq: u64,
    expires: u64,
    /// The end as last written to the store.
    stored_expires: u64,
}

impl Session {
    fn stored(&self) -> StoredSession {
        StoredSession {
            name: self.name.clone(),
            role: self.role,
            csrf: self.csrf.clone(),
            created: self.created,
            expires: self.expires,
            password_change_required: self.password_change_required,
        }
    }
}

/// Every session of the node.
pub struct Sessions {
    accounts: Arc<Accounts>,
    // Keyed by the SHA-256 of the cookie value, so the table holds no usable secret.
    by_token: Mutex<HashMap<SessionKey, Session>>,
    next_sweep: AtomicU64,
    next_seq: AtomicU64,
}

pub(super) fn key(token: &str) -> SessionKey {
    Sha256::digest(token.as_bytes()).into()
}

/// Runs a store write off the request: in a blocking task under tokio, else here. A failure is
/// logged; what it costs is a session that lasts less (or one more sweep) after a restart.
fn persist(
    accounts: &Arc<Accounts>,
    what: &'static str,
    f: impl FnOnce(&Accounts) -> Result<(), AccountError> + Send + 'static,
) {
    let accounts = accounts.clone();
    let run = move || {
        if let Err(e) = f(&accounts) {
            tracing::warn!(error = %e, "sessions: cannot {what}");
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(h) => drop(h.spawn_blocking(run)),
        Err(_) => run(),
    }
}

impl Sessions {
    /// The sessions kept in `accounts`' database that are still live (the others are removed).
    pub fn open(accounts: Arc<Accounts>) -> Result<Sessions, AccountError> {
        let mut live = accounts.sessions_load(now())?;
        tracing::info!(sessions = live.len(), "sessions kept from before the start");
        live.sort_by_key(|(_, s)| s.created);
        let n = live.len() as u64;
        let by_token = live
            .into_iter()
            .zip(0..)
            .map(|((k, s), seq)| {
                let session = Session {
                    name: s.name,
                    role: s.role,
                    csrf: s.csrf,
                    password_change_required: s.password_change_required,
                    ended: tokio_util::sync::CancellationToken::new(),
                    created: s.created,
                    seq,
                    expires: s.expires,
                    stored_expires: s.expires,
                };
                (k, session)
            })
            .collect();
        Ok(Sessions {
            accounts,
            by_token: Mutex::new(by_token),
            next_sweep: AtomicU64::new(0),
            next_seq: AtomicU64::new(n),
        })
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, Session>> {
        self.by_token.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Begins a session (blocking: it writes the store). Expired sessions go, and the account's
    /// oldest ones past [`MAX_PER_ACCOUNT`].
    pub(super) fn start(
        &self,
        name: &str,
        role: Role,
        password_change_required: bool,
    ) -> Result<(String, Session), AccountError> {
        let token = crate::ids::random_hex(32);
        let now = now();
        let s = Session {
            name: name.into(),
            role,
            csrf: crate::ids::random_hex(32),
            password_change_required,
            ended: tokio_util::sync::CancellationToken::new(),
            created: now,
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
            expires: now + IDLE.as_secs(),
            stored_expires: now + IDLE.as_secs(),
        };
        // The lock is held across the write, so that an account's sessions ended meanwhile
        // (`end_all_of`) cannot miss this one. Logins are few (and slowed when they fail).
        let mut map = self.map();
        let mut drop: Vec<SessionKey> = map.iter().filter(|(_, s)| s.expires <= now).map(|(k, _)| *k).collect();
        let mut own: Vec<(u64, u64, SessionKey)> = map
            .iter()
            .filter(|(_, s)| s.name == name && s.expires > now)
            .map(|(k, s)| (s.created, s.seq, *k))
            .collect();
        own.sort();
        let past = (own.len() + 1).saturating_sub(MAX_PER_ACCOUNT);
        drop.extend(own.iter().take(past).map(|(_, _, k)| *k));
        let k = key(&token);
        self.accounts.session_save(&k, &s.stored(), &drop)?;
        for d in &drop {
            if let Some(old) = map.remove(d) {
                old.ended.cancel();
            }
        }
        if past > 0 {
            tracing::info!(name = ?name, ended = past, "a login past the sessions an account may have ended its oldest");
        }
        map.insert(k, s.clone());
        Ok((token, s))
    }

    fn touch(&self, token: &str) -> Option<Session> {
        let k = key(token);
        let now = now();
        let mut map = self.map();
        let mut gone = Vec::new();
        if self.next_sweep.load(Ordering::Relaxed) <= now {
            self.next_sweep.store(now + SWEEP_SECS, Ordering::Relaxed);
            map.retain(|k, s| {
                let live = s.expires > now;
                if !live {
                    s.ended.cancel();
                    gone.push(*k);
                }
                live
            });
        }
        let found = match map.get_mut(&k) {
            Some(s) if s.expires <= now => {
                s.ended.cancel();
                map.remove(&k);
                gone.push(k);
                None
            }
            Some(s) => {
                s.expires = (now + IDLE.as_secs()).min(s.created + MAX_AGE.as_secs());
                let refresh = s.expires >= s.stored_expires + REFRESH_SECS;
                if refresh {
                    s.stored_expires = s.expires;
                }
                Some((s.clone(), refresh))
            }
            None => None,
        };
        drop(map);
        if !gone.is_empty() {
            persist(&self.accounts, "remove expired sessions", move |a| a.sessions_remove(&gone));
        }
        let (s, refresh) = found?;
        if refresh {
            let expires = s.expires;
            persist(&self.accounts, "store a session's new end", move |a| a.session_refresh(&k, expires));
        }
        Some(s)
    }

    /// Ends the session whose cookie is `token` (blocking: it writes the store).
    fn end(&self, token: &str) -> Result<(), AccountError> {
        let k = key(token);
        if let Some(s) = self.map().remove(&k) {
            s.ended.cancel();
        }
        self.accounts.sessions_remove(&[k])
    }

    /// Ends every session of an account (disabled, its role or password changed) but the one
    /// whose cookie is `keep`, if any. Answers how many ended. (The accounts database removed
    /// the stored ones with the change itself.)
    pub fn end_all_of(&self, name: &str, keep: Option<&str>) -> usize {
        let keep = keep.map(key);
        let mut ended = 0;
        self.map().retain(|k, s| {
            let end = s.name == name && Some(*k) != keep;
            if end {
                s.ended.cancel();
                ended += 1;
            }
            !end
        });
        ended
    }

    /// After the officer of the session `keep` changed the account's password: its other
    /// sessions end, and `keep` may now do what the role allows.
    pub fn password_changed(&self, name: &str, keep: Option<&str>) -> usize {
        let ended = self.end_all_of(name, keep);
        if let Some(t) = keep
            && let Some(s) = self.map().get_mut(&key(t))
        {
            s.password_change_required = false;
        }
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
    /// Logged in with a one-time password: the session may only choose a new one
    /// (`POST /api/session/password`); every other route answers 403 `password-change-required`.
    #[serde(default)]
    pub password_change_required: bool,
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
    let info = info(s, &session);
    let mut res = Json(info).into_response();
    res.headers_mut()
        .insert(SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| AppError::Internal(e.to_string()))?);
    Ok(res)
}

fn info(s: &AppState, session: &Session) -> SessionInfo {
    SessionInfo {
        name: session.name.clone(),
        role: session.role,
        party_id: s.party.id.to_string(),
        party_name: s.party.name.clone(),
        csrf: session.csrf.clone(),
        password_change_required: session.password_change_required,
    }
}

/// `GET /api/session`: who is logged in.
pub async fn whoami(
    State(s): State<AppState>,
    headers: HeaderMap,
    caller: axum::Extension<Caller>,
) -> Json<SessionInfo> {
    match from_cookie(&s, &headers) {
        Some(sess) => Json(info(&s, &sess)),
        None => Json(SessionInfo {
            name: caller.account.clone().unwrap_or_else(|| "(node API token)".into()),
            role: caller.role,
            party_id: s.party.id.to_string(),
            party_name: s.party.name.clone(),
            csrf: String::new(),
            password_change_required: false,
        }),
    }
}

/// `DELETE /api/session`: logs out.
pub async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if let Some(token) = cookie_value(&headers) {
        let sessions = s.sessions.clone();
        tokio::task::spawn_blocking(move || sessions.end(&token))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    let clear = format!("{COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
    let mut res = StatusCode::NO_CONTENT.into_response();
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().insert(SET_COOKIE, v);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(dir: &std::path::Path) -> (Arc<Accounts>, Sessions) {
        let a = Arc::new(Accounts::open(dir).unwrap());
        (a.clone(), Sessions::open(a).unwrap())
    }

    #[test]
    fn a_session_is_found_by_its_cookie_only_and_ends() {
        let dir = tempfile::tempdir().unwrap();
        let (a, s) = sessions(dir.path());
        a.add("anna", Role::Member).unwrap();
        a.add("omar", Role::Member).unwrap();
        let (token, sess) = s.start("anna", Role::Member, false).unwrap();
        assert_eq!(s.touch(&token).unwrap().csrf, sess.csrf);
        assert!(s.touch("0000").is_none());
        let (other, _) = s.start("anna", Role::Member, false).unwrap();
        let (omar, _) = s.start("omar", Role::Member, false).unwrap();
        // Every session of the account but the one kept; nobody else's.
        assert_eq!(s.end_all_of("anna", Some(&other)), 1);
        assert!(s.touch(&token).is_none() && s.touch(&other).is_some() && s.touch(&omar).is_some());
        assert_eq!(s.end_all_of("anna", None), 1);
        assert!(s.touch(&other).is_none());
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(&format!("a=b; {COOKIE_NAME}={token}")).unwrap());
        assert_eq!(cookie_value(&h).as_deref(), Some(token.as_str()));
    }

    #[test]
    fn sessions_outlive_a_restart_but_not_their_end_nor_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let (a, s) = sessions(dir.path());
        a.add("anna", Role::Member).unwrap();
        let (kept, sess) = s.start("anna", Role::Member, true).unwrap();
        let (out, _) = s.start("anna", Role::Member, false).unwrap();
        s.end(&out).unwrap();
        drop(s);
        let s = Sessions::open(a.clone()).unwrap();
        let back = s.touch(&kept).expect("kept across the restart");
        assert_eq!((back.csrf, back.role, back.password_change_required), (sess.csrf.clone(), Role::Member, true));
        assert!(s.touch(&out).is_none(), "logged out stays out");

        // An expired one is removed from the store when loaded.
        let k = key("expired");
        let old = StoredSession { expires: now() - 1, ..sess.stored() };
        a.session_save(&k, &old, &[]).unwrap();
        assert_eq!(a.sessions_load(now()).unwrap().len(), 1);

        // Past the bound, the oldest ends.
        let mut tokens = vec![kept];
        for _ in 0..MAX_PER_ACCOUNT {
            tokens.push(s.start("anna", Role::Member, false).unwrap().0);
        }
        assert!(s.touch(&tokens[0]).is_none(), "the oldest ended");
        assert!(tokens[1..].iter().all(|t| s.touch(t).is_some()));
        assert_eq!(a.sessions_load(now()).unwrap().len(), MAX_PER_ACCOUNT);

        // A role change ends them on disk too, with the node stopped.
        drop(s);
        a.set_role("anna", Role::Viewer).unwrap();
        let s = Sessions::open(a.clone()).unwrap();
        assert!(tokens.iter().all(|t| s.touch(t).is_none()));
        let bytes = std::fs::read(dir.path().join(crate::accounts::ACCOUNTS_FILE)).unwrap();
        assert!(!bytes.windows(tokens[1].len()).any(|w| w == tokens[1].as_bytes()));
    }
}
