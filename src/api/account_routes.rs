//! Officers' accounts at this node (admins only; the role check is in `auth`). Every change is
//! audited, and a change to what an account may do or how it logs in (disabled, role, password
//! reset) ends its sessions: a session holds the role it logged in with. (The accounts database
//! removes the stored sessions in the same transaction as the change; here they end in memory.)

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::workspace_routes::OFFICER_HEADER;
use super::{AppError, AppState};
use crate::accounts::{AccountError, AccountInfo, Role};
use crate::app::accounts::{self, AddAccount, Ctx, Running};

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

/// A role to give an account.
#[derive(Debug, Serialize, Deserialize)]
pub struct NewRole {
    /// The role.
    pub role: Role,
}

/// A new one-time password, in answer to a reset.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reset {
    /// The account.
    pub name: String,
    /// Its new one-time password; shown once.
    pub password: String,
}

pub(super) fn account_error(e: AccountError) -> AppError {
    match e {
        AccountError::BadName(_) | AccountError::Exists(_) | AccountError::WeakPassword(_) => {
            AppError::BadRequest(e.to_string())
        }
        AccountError::NoSuch(_) => AppError::NotFound(e.to_string()),
        AccountError::Store { .. } | AccountError::Hash(_) => AppError::Internal(e.to_string()),
    }
}

/// Runs an accounts operation off the async threads (argon2 and the database block).
pub(super) async fn blocking<T: Send + 'static>(
    s: &AppState,
    f: impl FnOnce(&crate::accounts::Accounts) -> Result<T, AccountError> + Send + 'static,
) -> Result<T, AppError> {
    let accounts = s.accounts.clone();
    tokio::task::spawn_blocking(move || f(&accounts))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(account_error)
}

/// Who made a change, for the audit log: the admin's account, or the node's API token (with the
/// officer the CLI names, if any).
fn by(c: &Caller, headers: &HeaderMap) -> String {
    if let Some(a) = &c.account {
        return a.clone();
    }
    match headers.get(OFFICER_HEADER).and_then(|v| v.to_str().ok()).map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) => format!("API token ({o})"),
        None => "API token".into(),
    }
}

/// The use cases' context at a running node, changed by `by`.
fn ctx<'a, F: Fn(&str) + Sync>(s: &AppState, admin: &'a Running<F>, by: String) -> Ctx<'a, Running<F>> {
    Ctx { accounts: s.accounts.clone(), name_chars: s.limits.name_chars, by, admin }
}

/// The running node as the use cases see it: audited through the engine, sessions in memory.
fn running(s: &AppState) -> Running<impl Fn(&str) + Sync + '_> {
    Running {
        engine: s.engine.clone(),
        end_sessions: move |name: &str| {
            s.sessions.end_all_of(name, None);
        },
    }
}

pub async fn list(State(s): State<AppState>) -> Result<Json<Vec<AccountInfo>>, AppError> {
    Ok(Json(blocking(&s, |a| a.list()).await?))
}

pub async fn add(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    headers: HeaderMap,
    Json(b): Json<NewAccount>,
) -> Result<Json<NewAccount>, AppError> {
    let admin = running(&s);
    let made =
        accounts::add(&ctx(&s, &admin, by(&caller, &headers)), AddAccount { name: b.name, role: b.role }).await?;
    Ok(Json(NewAccount { name: made.name, role: made.role, password: Some(made.password) }))
}

pub async fn disable(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<AccountInfo>, AppError> {
    let admin = running(&s);
    Ok(Json(accounts::disable(&ctx(&s, &admin, by(&caller, &headers)), name).await?))
}

pub async fn enable(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<AccountInfo>, AppError> {
    let admin = running(&s);
    Ok(Json(accounts::enable(&ctx(&s, &admin, by(&caller, &headers)), name).await?))
}

pub async fn set_role(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    headers: HeaderMap,
    Path(name): Path<String>,
    Json(b): Json<NewRole>,
) -> Result<Json<AccountInfo>, AppError> {
    let admin = running(&s);
    Ok(Json(accounts::set_role(&ctx(&s, &admin, by(&caller, &headers)), name, b.role).await?))
}

pub async fn reset(
    State(s): State<AppState>,
    caller: axum::Extension<Caller>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Result<Json<Reset>, AppError> {
    let admin = running(&s);
    let r = accounts::reset_password(&ctx(&s, &admin, by(&caller, &headers)), name).await?;
    Ok(Json(Reset { name: r.name, password: r.password }))
}
