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
    #[error("missing or wrong API token (it is in DATA_DIR/keys/api.token)")]
    Unauthorized,
    /// The request itself is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// No such route or object.
    #[error("{0}")]
    NotFound(String),
    /// The engine refused or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Engine(e) => match e {
                EngineError::NotFound { .. } => StatusCode::NOT_FOUND,
                EngineError::Ambiguous { .. } => StatusCode::BAD_REQUEST,
                EngineError::Workspace(w) => match w.as_ref() {
                    WorkspaceError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                    WorkspaceError::NoSuchEntry { .. } => StatusCode::NOT_FOUND,
                    WorkspaceError::Malformed(_) | WorkspaceError::Automerge(_) => StatusCode::INTERNAL_SERVER_ERROR,
                },
                EngineError::Load(_) => StatusCode::INTERNAL_SERVER_ERROR,
                EngineError::Store(_) | EngineError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
                EngineError::NoItem(_) => StatusCode::NOT_FOUND,
                EngineError::Item(_) | EngineError::Consent(_) => StatusCode::CONFLICT,
                EngineError::Mandate(_) => StatusCode::FORBIDDEN,
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
        (status, Json(json!({ "error": self.to_string() }))).into_response()
    }
}

/// Answer for routes that do not exist.
pub async fn not_found() -> AppError {
    AppError::NotFound("no such API route".into())
}
