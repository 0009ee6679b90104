//! What a load balancer, a service manager or Prometheus asks: `/healthz` (the process is up),
//! `/readyz` (the engine answers, so the store is open and requests will be served) and
//! `/metrics`. The first two need no authentication and say nothing else: no peer ids, no
//! counts, no version. `/metrics` needs the token or an admin's session on the API address, or
//! is served alone on `[api] metrics_listen` ([`serve_metrics`]).

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::task::JoinHandle;

use super::{AppError, AppState};

/// How long `/readyz` waits for the engine before saying it is not ready.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// `GET /healthz`: answering at all is the answer.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /readyz`: 200 when the engine (the store's only owner) answers within [`READY_WITHIN`]
/// and the node is not stopping; 503 otherwise.
pub async fn readyz(State(s): State<AppState>) -> (StatusCode, &'static str) {
    if s.stopping.is_cancelled() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready");
    }
    match tokio::time::timeout(READY_WITHIN, s.engine.read(|_| Ok(()))).await {
        Ok(Ok(())) => (StatusCode::OK, "ready"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "not ready"),
    }
}

/// `GET /metrics`: the Prometheus text, with the state as the engine has it now.
pub async fn metrics(State(s): State<AppState>) -> Result<Response, AppError> {
    let status = s.engine.status().await?;
    let text = s.metrics.encode(status).map_err(|e| AppError::Internal(format!("encoding the metrics: {e}")))?;
    let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, kind)], text).into_response())
}

/// Serves `/metrics` alone, in plain HTTP and without authentication, on `addr` until the node
/// stops. Returns the bound address (port 0 resolved) and the task.
pub async fn serve_metrics(addr: SocketAddr, state: AppState) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let stopping = state.stopping.clone();
    let app = Router::new().route("/metrics", get(metrics)).with_state(state);
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async move { stopping.cancelled().await });
        if let Err(e) = server.await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok((bound, task))
}
