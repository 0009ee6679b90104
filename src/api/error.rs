//! The API's error: tells the client what it can act on, logs the rest once.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::engine::EngineError;
use crate::workspace::WorkspaceError;

/// An API request that failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No or a wrong token.
    #[error("not logged in: log in, or send the node's API token (DATA_DIR/keys/api.token)")]
    Unauthorized,
    /// A bearer token that is not the node's.
    #[error("wrong API token (the node's is in DATA_DIR/keys/api.token)")]
    WrongToken,
    /// A login with a wrong name or password (which one is not said).
    #[error("wrong account name or password")]
    BadLogin,
    /// Authenticated, but the role or the CSRF token does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// Authenticated, but the role does not allow it. Answered with the code `role-required`.
    #[error("this needs the {need} role; {who} has the {role} role")]
    Role {
        /// The role the request needs.
        need: crate::accounts::Role,
        /// The caller's role.
        role: crate::accounts::Role,
        /// The caller, as the log names it.
        who: String,
    },
    /// A session that logged in with a one-time password asked for something other than
    /// choosing a new one. Answered with the code `password-change-required`.
    #[error(
        "this session logged in with a one-time password: choose a new password first (POST /api/session/password)"
    )]
    PasswordChangeRequired,
    /// Too many failed logins from here; retry after this many seconds.
    #[error("too many failed logins; try again in {0} s")]
    TooManyRequests(u64),
    /// Something on our side that the client cannot act on.
    #[error("internal error: {0}")]
    Internal(String),
    /// The request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// The request's body is larger than the route takes.
    #[error("{0}")]
    TooLarge(String),
    /// The request's body did not arrive in time.
    #[error("{0}")]
    Timeout(String),
    /// No such route or object.
    #[error("{0}")]
    NotFound(String),
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A use case refused (`src/app/`), with its status, neutral words and code
    /// (`api/app_refusal.rs`).
    #[error("{error}")]
    Refusal {
        /// The status its class answers with.
        status: StatusCode,
        /// Neutral English words, for scripts and logs.
        error: String,
        /// Its code and parameters.
        refusal: serde_json::Value,
    },
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized | AppError::WrongToken | AppError::BadLogin => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::PasswordChangeRequired | AppError::Role { .. } => StatusCode::FORBIDDEN,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Refusal { status, .. } => *status,
            AppError::Engine(e) => match e {
                EngineError::NotFound { .. } => StatusCode::NOT_FOUND,
                EngineError::Ambiguous { .. } => StatusCode::BAD_REQUEST,
                EngineError::Workspace(w) => match w.as_ref() {
                    WorkspaceError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                    WorkspaceError::NoSuchEntry { .. } => StatusCode::NOT_FOUND,
                    WorkspaceError::Malformed(_) | WorkspaceError::Automerge(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    // Who may write what: the caller's Party may not.
                    WorkspaceError::Refused(_) => StatusCode::FORBIDDEN,
                    WorkspaceError::Workflow(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    WorkspaceError::Edit(_) => StatusCode::UNPROCESSABLE_ENTITY,
                },
                EngineError::Load(_) => StatusCode::INTERNAL_SERVER_ERROR,
                EngineError::Store(_) | EngineError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
                EngineError::NoItem(_) => StatusCode::NOT_FOUND,
                // A stored item that does not open, or is missing a chunk: its state, not the
                // request, is wrong.
                EngineError::Vault(_) | EngineError::ChunkMissing { .. } => StatusCode::CONFLICT,
                EngineError::Signing(_)
                | EngineError::Keys(_)
                | EngineError::NodeKeyShape
                | EngineError::Certificate(_) => StatusCode::INTERNAL_SERVER_ERROR,
                EngineError::ItemRefused(r) => match r {
                    crate::engine::ItemRefusal::ThirdPartyNode => StatusCode::FORBIDDEN,
                    _ => StatusCode::UNPROCESSABLE_ENTITY,
                },
                EngineError::Refused(r) if r.is_mandate() => StatusCode::FORBIDDEN,
                EngineError::Refused(r) if r.is_not_found() => StatusCode::NOT_FOUND,
                EngineError::Refused(_) => StatusCode::CONFLICT,
            },
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "API request failed");
        }
        // A refusal by the rule of who may write what carries its code and parameters, for the
        // web app to say in the officer's language.
        let body = match &self {
            AppError::Engine(EngineError::Workspace(w)) => match w.as_ref() {
                WorkspaceError::Refused(r) => json!({ "error": self.to_string(), "refusal": r }),
                WorkspaceError::Workflow(r) => json!({ "error": self.to_string(), "refusal": r }),
                WorkspaceError::Edit(r) => json!({ "error": self.to_string(), "refusal": r }),
                _ => json!({ "error": self.to_string() }),
            },
            // An item refused by a rule: its code, for the clients to say in their words.
            AppError::Engine(EngineError::ItemRefused(r)) => json!({ "error": self.to_string(), "refusal": r }),
            // The same for the engine's refusals that officers meet in the web app: the code
            // and its parameters, while `error` keeps the CLI's words (with its commands).
            AppError::Engine(e) => match refusal(e) {
                Some(r) => json!({ "error": self.to_string(), "refusal": r }),
                None => json!({ "error": self.to_string() }),
            },
            AppError::Refusal { error, refusal, .. } => json!({ "error": error, "refusal": refusal }),
            AppError::Role { need, role, who } => json!({
                "error": self.to_string(),
                "refusal": { "code": "role-required", "need": need, "role": role, "who": who },
            }),
            // A typed code, for the web app to go to its "choose a new password" page.
            AppError::PasswordChangeRequired => {
                json!({ "error": self.to_string(), "code": "password-change-required" })
            }
            _ => json!({ "error": self.to_string() }),
        };
        let mut res = (status, Json(body)).into_response();
        if let AppError::TooManyRequests(secs) = self
            && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
        {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
        res
    }
}

/// The code and parameters of an engine error that an officer may meet, if it has one.
fn refusal(e: &EngineError) -> Option<serde_json::Value> {
    match e {
        EngineError::Refused(r) => serde_json::to_value(r).ok(),
        EngineError::NotFound { kind, id } => Some(json!({ "code": "not-found", "kind": kind, "id": id })),
        EngineError::NoItem(id) => Some(json!({ "code": "no-item", "id": id })),
        EngineError::Ambiguous { prefix, count } => {
            Some(json!({ "code": "ambiguous", "prefix": prefix, "count": count }))
        }
        _ => None,
    }
}

/// Answer for routes that do not exist.
pub async fn not_found() -> AppError {
    AppError::NotFound("no such API route".into())
}
