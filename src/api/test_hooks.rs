//! Test-only routes, to show by the order of events that reads do not wait for the engine:
//! `POST /api/test/stall` holds the engine's thread in a job until `POST /api/test/release` (or
//! two minutes pass). Compiled only in debug builds, and routed only when the node starts with
//! `LIAISON_TEST_HOOKS=1`: a release build has no such route at all.

use axum::Router;

use super::AppState;

/// The environment variable that turns the hooks on (debug builds only).
#[cfg(debug_assertions)]
pub const ENV: &str = "LIAISON_TEST_HOOKS";

/// The test routes, or none.
#[cfg(not(debug_assertions))]
pub fn routes() -> Router<AppState> {
    Router::new()
}

/// The test routes, or none.
#[cfg(debug_assertions)]
pub fn routes() -> Router<AppState> {
    if std::env::var(ENV).as_deref() != Ok("1") {
        return Router::new();
    }
    tracing::warn!("{ENV}=1: the engine can be stalled through /api/test/stall (a test build)");
    Router::new()
        .route("/api/test/stall", axum::routing::post(hooks::stall))
        .route("/api/test/release", axum::routing::post(hooks::release))
}

#[cfg(debug_assertions)]
mod hooks {
    use std::sync::Mutex;
    use std::time::Duration;

    use axum::extract::State;

    use super::super::{AppError, AppState, Caller, auth};
    use crate::accounts::Role;

    /// Releases the stalled engine when sent to or dropped.
    static RELEASE: Mutex<Option<std::sync::mpsc::Sender<()>>> = Mutex::new(None);

    /// Holds the engine's thread until released; answers once the engine is held.
    pub async fn stall(State(s): State<AppState>, caller: axum::Extension<Caller>) -> Result<&'static str, AppError> {
        auth::require(&caller, Role::Admin)?;
        let (held_tx, held_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        *RELEASE.lock().unwrap_or_else(|e| e.into_inner()) = Some(release_tx);
        let engine = s.engine.clone();
        tokio::spawn(async move {
            let _ = engine
                .read(move |_| {
                    let _ = held_tx.send(());
                    // A test that fails before releasing does not hold a node forever.
                    let _ = release_rx.recv_timeout(Duration::from_secs(120));
                    Ok(())
                })
                .await;
        });
        held_rx.await.map_err(|_| AppError::Internal("the engine stopped".into()))?;
        Ok("stalled")
    }

    /// Lets the stalled engine go on.
    pub async fn release(caller: axum::Extension<Caller>) -> Result<&'static str, AppError> {
        auth::require(&caller, Role::Admin)?;
        drop(RELEASE.lock().unwrap_or_else(|e| e.into_inner()).take());
        Ok("released")
    }
}
