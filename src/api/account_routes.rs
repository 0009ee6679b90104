//! Officers' accounts at this node (admins only; the role check is in `auth`).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

use super::{AppError, AppState};
use crate::accounts::{AccountError, AccountInfo, Role};

/// A new account, and (in the answer) its one-time initial password.
#[derive(Debug, Serialize, Deserialize)]
pub struct NewAccount {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The initial password, in the answer only; shown once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

fn account_error(e: AccountError) -> AppError {
    match e {
        AccountError::BadName(_) | AccountError::Exists(_) | AccountError::WeakPassword(_) => {
            AppError::BadRequest(e.to_string())
        }
        AccountError::NoSuch(_) => AppError::NotFound(e.to_string()),
        AccountError::Store { .. } | AccountError::Hash(_) => AppError::Internal(e.to_string()),
    }
}

/// Runs an accounts operation off the async threads (argon2 and the database block).
async fn blocking<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&crate::accounts::Accounts) -> Result<T, AccountError> + Send + 'static,
) -> Result<T, AppError> {
    let accounts = s.accounts.clone();
    tokio::task::spawn_blocking(move || f(&accounts))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(account_error)
}

pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<AccountInfo>>, AppError> {
    Ok(Json(blocking(&s, |a| a.list()).await?))
}

pub async fn add(State(s): State<AppState>, Json(b): Json<NewAccount>) -> Result<Json<NewAccount>, AppError> {
    let (name, role) = (b.name.clone(), b.role);
    let password = blocking(&s, move |a| a.add(&name, role)).await?;
    tracing::info!(name = %b.name, role = %b.role, "account added");
    Ok(Json(NewAccount { name: b.name, role: b.role, password: Some(password) }))
}

pub async fn disable(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<AccountInfo>, AppError> {
    let n = name.clone();
    let info = blocking(&s, move |a| a.disable(&n)).await?;
    s.sessions.end_all_of(&name);
    tracing::info!(name = %name, "account disabled; its sessions ended");
    Ok(Json(info))
}
