//! The two routes that try a password: logging in, and an officer changing their password.
//!
//! Before any work (before a store lookup, before argon2, before the try is even counted) the
//! body is read with a small limit and a time limit, and the name and password are checked
//! against `limits.api`: a name of at most `name_chars` characters and no control characters,
//! passwords of at most `password_bytes` bytes. Then the try is counted (`login_limit`), and
//! failures are tallied for the audit log (`login_audit`). A client's name is only ever logged
//! with Debug formatting, so that it cannot forge a log line.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::CONTENT_LENGTH};
use axum::response::Response;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::auth::Caller;
use super::login_audit::{self, Tally};
use super::login_limit::{Attempt, Limiter};
use super::session::{self, ClientAddr};
use super::{AppError, AppState};
use crate::audit::Event;
use crate::config::ApiLimits;

/// The failed-login counters and their tally for the audit log.
pub struct Logins {
    /// Who must wait before trying again.
    pub limiter: Limiter,
    /// Failures not yet audited.
    pub tally: Tally,
}

impl Logins {
    /// Counters with the bounds of `limits`.
    pub fn new(limits: &ApiLimits) -> Logins {
        Logins { limiter: Limiter::new(limits), tally: Tally::new(limits.login_tracked) }
    }
}

// A JSON string escapes a byte as at most six ("\u001f"), and a character is at most 4 bytes;
// the rest of a body (keys, braces, spaces) fits in the slack.
const BODY_SLACK: usize = 256;

fn login_body_limit(l: &ApiLimits) -> usize {
    6 * (4 * l.name_chars as usize + l.password_bytes as usize) + BODY_SLACK
}

fn password_body_limit(l: &ApiLimits) -> usize {
    6 * 2 * l.password_bytes as usize + BODY_SLACK
}

/// Reads a small JSON body: refused past `limit` bytes (by its Content-Length before reading
/// any of it), or when it does not arrive within the header time-out.
async fn small_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    limits: &ApiLimits,
) -> Result<T, AppError> {
    let too_large = || AppError::TooLarge(format!("this request's body may be at most {limit} bytes"));
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let within = Duration::from_secs(limits.header_timeout_secs);
    let bytes = match tokio::time::timeout(within, axum::body::to_bytes(body, limit)).await {
        Err(_) => return Err(AppError::Timeout(format!("the request's body did not arrive within {within:?}"))),
        Ok(Err(_)) => return Err(too_large()),
        Ok(Ok(b)) => b,
    };
    serde_json::from_slice(&bytes).map_err(|e| AppError::BadRequest(format!("the request's body: {e}")))
}

fn check_name(name: &str, l: &ApiLimits) -> Result<(), AppError> {
    if name.chars().count() > l.name_chars as usize {
        return Err(AppError::BadRequest(format!("an account name has at most {} characters", l.name_chars)));
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::BadRequest("an account name has no control characters (such as a line break)".into()));
    }
    // Nor anything else no account can have (such as a bidirectional override), so that the
    // names in the log and the audit log are names someone could have meant.
    if !crate::accounts::could_be_name(name) {
        return Err(AppError::BadRequest(
            "no account has such a name: names are letters, digits, spaces, '.', '-', '_' or '@'".into(),
        ));
    }
    Ok(())
}

fn check_password(password: &str, l: &ApiLimits) -> Result<(), AppError> {
    if password.len() > l.password_bytes as usize {
        return Err(AppError::BadRequest(format!("a password has at most {} bytes", l.password_bytes)));
    }
    Ok(())
}

/// Counts a try, or says how long to wait (rounded up to whole seconds, as `Retry-After`).
fn begin(s: &AppState, name: &str, addr: &ClientAddr) -> Result<Attempt, AppError> {
    s.logins.limiter.begin(name, addr.0, Instant::now()).map_err(|wait| {
        s.logins.tally.refused(name, addr.0);
        tracing::debug!(name = ?name, addr = ?addr.0, wait = ?wait, "login try refused: it must wait");
        AppError::TooManyRequests(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    })
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(e.to_string()))
}

/// A login.
#[derive(Deserialize)]
struct Login {
    name: String,
    password: String,
}

/// `POST /api/session`: logs in.
pub async fn login(
    State(s): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let b: Login = small_json(&headers, body, login_body_limit(&s.limits), &s.limits).await?;
    check_name(&b.name, &s.limits)?;
    check_password(&b.password, &s.limits)?;
    let attempt = begin(&s, &b.name, &addr)?;
    let accounts = s.accounts.clone();
    let name = b.name.clone();
    let found = match blocking(move || accounts.verify(&name, &b.password)).await {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            s.logins.limiter.not_tried(&attempt);
            return Err(AppError::Internal(e.to_string()));
        }
        Err(e) => {
            s.logins.limiter.not_tried(&attempt);
            return Err(e);
        }
    };
    let Some(account) = found else {
        s.logins.limiter.failed(&attempt, Instant::now());
        s.metrics.login_failures.inc();
        s.logins.tally.failed(&b.name, addr.0);
        tracing::debug!(name = ?b.name, addr = ?addr.0, "login failed");
        return Err(AppError::BadLogin);
    };
    s.logins.limiter.succeeded(&attempt);
    // Audited before the session exists: a login the log cannot record does not happen.
    let event = Event::LoginSucceeded { name: account.name.clone(), addr: addr.0.map(|a| a.to_string()) };
    login_audit::record(&s, event).await?;
    // A one-time password (from `account add` or `reset-password`) opens a session that may
    // only choose a new password (`auth` holds it to that).
    let change = account.password_change_required;
    let sessions = s.sessions.clone();
    let (n, role) = (account.name.clone(), account.role);
    let (token, session) =
        blocking(move || sessions.start(&n, role, change)).await?.map_err(|e| AppError::Internal(e.to_string()))?;
    tracing::info!(name = ?account.name, role = %account.role, addr = ?addr.0, password_change_required = change, "logged in");
    session::logged_in(&s, &token, session)
}

/// A password change.
#[derive(Deserialize)]
struct NewPassword {
    current: String,
    new: String,
}

/// `POST /api/session/password`: the logged-in officer changes their password. It tries the
/// current password, so it is counted like a login. The account's other sessions end; the one
/// that made the change stays, since it has just shown the password (ending it too would only
/// make the officer log in again at once). A session that logged in with a one-time password
/// may do what its role allows from then on.
pub async fn change_password(
    State(s): State<AppState>,
    addr: ClientAddr,
    caller: axum::Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, AppError> {
    let Some(name) = caller.account.clone() else {
        return Err(AppError::BadRequest("the node's API token has no password to change".into()));
    };
    let b: NewPassword = small_json(&headers, body, password_body_limit(&s.limits), &s.limits).await?;
    check_password(&b.current, &s.limits)?;
    check_password(&b.new, &s.limits)?;
    let attempt = begin(&s, &name, &addr)?;
    let accounts = s.accounts.clone();
    let n = name.clone();
    let keep = session::cookie_value(&headers);
    let keep_key = keep.as_deref().map(session::key);
    let changed = blocking(move || accounts.change_password(&n, &b.current, &b.new, keep_key.as_ref())).await;
    match changed {
        Ok(Ok(true)) => {
            s.logins.limiter.succeeded(&attempt);
            let ended = s.sessions.password_changed(&name, keep.as_deref());
            tracing::info!(name = ?name, other_sessions_ended = ended, "password changed");
            login_audit::record(&s, Event::PasswordChanged { name: name.clone(), by: name, reset: false }).await?;
            Ok(StatusCode::NO_CONTENT)
        }
        Ok(Ok(false)) => {
            s.logins.limiter.failed(&attempt, Instant::now());
            s.metrics.login_failures.inc();
            s.logins.tally.failed(&name, addr.0);
            tracing::debug!(name = ?name, "password change refused: wrong current password");
            Err(AppError::Forbidden("the current password is wrong".into()))
        }
        Ok(Err(e)) => {
            // Not a guess at the current password: give the try back.
            s.logins.limiter.not_tried(&attempt);
            Err(super::account_routes::account_error(e))
        }
        Err(e) => {
            s.logins.limiter.not_tried(&attempt);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_passwords_are_checked_against_the_bounds() {
        let l = ApiLimits::default();
        assert!(check_name(&"n".repeat(64), &l).is_ok());
        assert!(check_name("Анна Петрова", &l).is_ok());
        for bad in ["n".repeat(65), "admin\nlogged in name=admin".into(), "a\rb".into(), "a\u{7f}".into()] {
            let e = check_name(&bad, &l).unwrap_err().to_string();
            assert!(e.contains("64 characters") || e.contains("control characters"), "{bad:?}: {e}");
        }
        for bad in ["", " lena", "lena\u{202e}", "<script>"] {
            assert!(check_name(bad, &l).unwrap_err().to_string().contains("no account has such a name"), "{bad:?}");
        }
        assert!(check_password(&"p".repeat(1024), &l).is_ok());
        assert!(check_password(&"p".repeat(1025), &l).unwrap_err().to_string().contains("1024 bytes"));
        // The largest acceptable login, every byte escaped, fits the body limit.
        let worst = serde_json::json!({ "name": "\u{1}".repeat(64 * 4), "password": "\u{1}".repeat(1024) });
        assert!(serde_json::to_vec(&worst).unwrap().len() <= login_body_limit(&l));
        assert!(login_body_limit(&l) < 16 * 1024);
    }
}
