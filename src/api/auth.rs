//! Who is calling, and may they: every API request is authenticated and its role checked here,
//! whichever client sends it.
//!
//! Two ways in:
//! - the node's bearer token (`DATA_DIR/keys/api.token`, compared in constant time): the
//!   sysadmin's CLI at the node. It acts as an admin, unless the officer it names
//!   (`X-Liaison-Officer`) is an account here: then that account's role applies, so the CLI cannot
//!   do what the officer's role may not;
//! - a session cookie from logging in (the web app). Requests that change state must also carry
//!   the session's CSRF token in `X-CSRF-Token`. A session that logged in with a one-time
//!   password may only choose a new one ([`allowed_before_password_change`]); everything else
//!   answers 403 with the code `password-change-required`.
//!
//! The role each route needs is declared with the route, in `api.rs`'s groups; `routes::build`
//! checks it after [`authenticate`] has found the caller.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::session::{self, CSRF_HEADER};
use super::workspace_routes::OFFICER_HEADER;
use super::{AppError, AppState};
use crate::accounts::Role;

/// The authenticated caller of a request, put in the request's extensions.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The account logged in; `None` for the node token.
    pub account: Option<String>,
    /// What it may do.
    pub role: Role,
}

/// What a session that logged in with a one-time password may do: choose a new password, and
/// (so that the web app can show its page and leave) ask who it is and log out.
pub fn allowed_before_password_change(method: &Method, path: &str) -> bool {
    match path {
        "/api/session/password" => *method == Method::POST,
        "/api/session" => matches!(*method, Method::GET | Method::HEAD | Method::DELETE),
        _ => false,
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
}

/// The caller, or why not. A session held to changing its password is refused here for any
/// other request, before its role is looked at.
async fn caller(state: &AppState, method: &Method, path: &str, headers: &HeaderMap) -> Result<Caller, AppError> {
    if let Some(given) = bearer(headers) {
        if !bool::from(given.as_bytes().ct_eq(state.token.as_bytes())) {
            return Err(AppError::WrongToken);
        }
        let officer = headers.get(OFFICER_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or("");
        if officer.is_empty() {
            return Ok(Caller { account: None, role: Role::Admin });
        }
        let accounts = state.accounts.clone();
        let name = officer.to_string();
        let found = tokio::task::spawn_blocking(move || accounts.get(&name))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?
            .map_err(|e| AppError::Internal(e.to_string()))?;
        return match found {
            Some(a) if a.disabled => Err(AppError::Forbidden(format!("the account {officer:?} is disabled"))),
            Some(a) => Ok(Caller { account: Some(a.name), role: a.role }),
            None => Ok(Caller { account: None, role: Role::Admin }),
        };
    }
    let Some(s) = session::from_cookie(state, headers) else {
        return Err(AppError::Unauthorized);
    };
    let safe = matches!(*method, Method::GET | Method::HEAD);
    if !safe {
        let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !bool::from(given.as_bytes().ct_eq(s.csrf.as_bytes())) {
            return Err(AppError::Forbidden(format!("missing or wrong {CSRF_HEADER} header")));
        }
    }
    if s.password_change_required && !allowed_before_password_change(method, path) {
        return Err(AppError::PasswordChangeRequired);
    }
    Ok(Caller { account: Some(s.name), role: s.role })
}

/// The middleware in front of every `/api/` route but the login itself, and of `/metrics`.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, AppError> {
    let path = req.uri().path().to_string();
    if path == "/api/session" && req.method() == Method::POST {
        return Ok(next.run(req).await);
    }
    let c = match caller(&state, &req.method().clone(), &path, &req.headers().clone()).await {
        Ok(c) => c,
        // "Who am I" without a session is a plain question with a plain answer: nobody (so the
        // web app's first look does not show up as a failed request).
        Err(AppError::Unauthorized) if path == "/api/session" && req.method() == Method::GET => {
            return Ok(axum::Json(serde_json::Value::Null).into_response());
        }
        Err(e) => {
            // A request's path has no control characters (hyper refuses a request line with
            // them), so it cannot forge a log line; a name in `e` is Debug-quoted.
            tracing::warn!(path = %path, error = %e, "API request refused");
            return Err(e);
        }
    };
    // The role is checked by the route (see `routes::build`), which reads the caller here.
    req.extensions_mut().insert(c);
    Ok(next.run(req).await)
}

fn who(c: &Caller) -> String {
    c.account.as_deref().map(|a| format!("{a:?}")).unwrap_or_else(|| "the caller".into())
}

/// Refuses unless the caller has `need` (for checks that depend on the body).
pub fn require(c: &Caller, need: Role) -> Result<(), AppError> {
    if c.role >= need { Ok(()) } else { Err(AppError::Role { need, role: c.role, who: who(c) }) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_with_a_one_time_password_may_only_change_it() {
        assert!(allowed_before_password_change(&Method::POST, "/api/session/password"));
        assert!(allowed_before_password_change(&Method::GET, "/api/session"));
        assert!(allowed_before_password_change(&Method::DELETE, "/api/session"));
        for (m, p) in [
            (Method::GET, "/api/session/password"),
            (Method::GET, "/api/meetings"),
            (Method::GET, "/api/events"),
            (Method::POST, "/api/accounts"),
            (Method::POST, "/api/session/password/x"),
            (Method::GET, "/api/sessionx"),
        ] {
            assert!(!allowed_before_password_change(&m, p), "{m} {p}");
        }
    }
}
