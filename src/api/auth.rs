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
//! The role each route needs is in [`required_role`], in one place.

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

/// The role a request needs. Reading needs a viewer, except a provided item's content; changing
/// meetings, groups and drafts needs a member; provided information, consent, mandates, the
/// officers' registry and messages need a liaison officer; peers and accounts need an admin.
/// (Signing a draft needs a liaison officer too; its handler checks, as the action is in the body.)
pub fn required_role(method: &Method, path: &str) -> Role {
    let under = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    if under("/api/accounts") || under("/api/peers") || path == "/api/reload" || path == "/metrics" {
        return Role::Admin;
    }
    let reading = *method == Method::GET || *method == Method::HEAD;
    if reading {
        let item_content = path.starts_with("/api/items/") && path.ends_with("/content");
        return if item_content { Role::Liaison } else { Role::Viewer };
    }
    // Marking one's own inbox read changes nothing shared.
    if path == "/api/inbox/read" {
        return Role::Viewer;
    }
    if path == "/api/presence"
        || path == "/api/session"
        || path == "/api/session/password"
        || path == "/api/session/calendar"
    {
        return Role::Viewer;
    }
    if ["/api/items", "/api/consent", "/api/mandates", "/api/officers", "/api/threads"].iter().any(|p| under(p)) {
        return Role::Liaison;
    }
    Role::Member
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
    let need = required_role(req.method(), &path);
    if c.role < need {
        tracing::warn!(path = %path, account = ?c.account, role = %c.role, need = %need, "API request refused: role");
        return Err(AppError::Role { need, role: c.role, who: who(&c) });
    }
    req.extensions_mut().insert(c);
    Ok(next.run(req).await)
}

fn who(c: &Caller) -> String {
    c.account.as_deref().map(|a| format!("{a:?}")).unwrap_or_else(|| "the caller".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_needs_the_role_the_issue_gives_it() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(required_role(&get, "/api/drafts/abc"), Role::Viewer);
        assert_eq!(required_role(&get, "/api/items"), Role::Viewer);
        assert_eq!(required_role(&get, "/api/items/abcd/content"), Role::Liaison);
        assert_eq!(required_role(&post, "/api/drafts/abc/splice"), Role::Member);
        assert_eq!(required_role(&Method::PATCH, "/api/meetings/x"), Role::Member);
        assert_eq!(required_role(&post, "/api/items"), Role::Liaison);
        assert_eq!(required_role(&post, "/api/consent/x/grant"), Role::Liaison);
        assert_eq!(required_role(&post, "/api/accounts"), Role::Admin);
        assert_eq!(required_role(&get, "/api/accounts"), Role::Admin);
        assert_eq!(required_role(&Method::DELETE, "/api/peers/x"), Role::Admin);
        assert_eq!(required_role(&post, "/api/reload"), Role::Admin);
        assert_eq!(required_role(&post, "/api/inbox/read"), Role::Viewer);
        // A prefix that merely looks alike is not the route.
        assert_eq!(required_role(&post, "/api/itemsx"), Role::Member);
    }

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
