//! Every API request must carry `Authorization: Bearer <token>`, the token in
//! `DATA_DIR/keys/api.token`. Compared in constant time.

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use super::{AppError, AppState};

pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Result<Response, AppError> {
    let given = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(state.token.as_bytes())) {
        Ok(next.run(req).await)
    } else {
        tracing::warn!(path = %req.uri().path(), "API request without a valid token refused");
        Err(AppError::Unauthorized)
    }
}
