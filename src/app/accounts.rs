//! Use cases of officers' accounts at a node: add, disable, enable, give another role, reset
//! the password. The API (for an admin, with the node running) and the CLI (with the node
//! stopped, straight on the accounts database) call the same functions, so that both check the
//! same things, change the same way and write the same audit event.
//!
//! What differs between the two is behind [`Admin`]: where the audit event goes (through the
//! engine, or appended to the stopped node's log) and whether sessions are held in memory.

use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::accounts::{AccountError, AccountInfo, Accounts, Role};
use crate::audit::Event;

/// What the adapter running an account change provides.
pub trait Admin: Sync {
    /// Writes `event` to the node's signed audit log; resolves once it is durable.
    fn audit(&self, event: Event) -> impl Future<Output = Result<(), AuditFailed>> + Send;
    /// Ends the sessions of `name` held in memory. (The accounts database removes the stored
    /// ones in the same transaction as the change.)
    fn end_sessions(&self, name: &str);
}

/// The audit log could not be written; the account change itself is made.
pub type AuditFailed = Arc<dyn std::error::Error + Send + Sync>;

/// A running node: audited through its engine (durable when it answers); `end_sessions` ends
/// the sessions it holds in memory.
pub struct Running<F: Fn(&str) + Sync> {
    /// The node's engine.
    pub engine: crate::engine::EngineHandle,
    /// Ends the sessions of an account held in memory.
    pub end_sessions: F,
}

impl<F: Fn(&str) + Sync> Admin for Running<F> {
    fn audit(&self, event: Event) -> impl Future<Output = Result<(), AuditFailed>> + Send {
        let engine = self.engine.clone();
        async move {
            engine
                .write(move |c| {
                    c.audit(event);
                    Ok(())
                })
                .await
                .map_err(|e| Arc::new(e) as AuditFailed)
        }
    }

    fn end_sessions(&self, name: &str) {
        (self.end_sessions)(name)
    }
}

/// A stopped node (the CLI with no node running): the audit event is appended to its log,
/// signed with its node key; no session is held in memory.
pub struct Stopped<'a> {
    /// Its data dir (for its keys).
    pub dir: &'a std::path::Path,
    /// Its store, open (and with it the data dir's lock).
    pub store: &'a crate::store::Store,
}

impl Admin for Stopped<'_> {
    fn audit(&self, event: Event) -> impl Future<Output = Result<(), AuditFailed>> + Send {
        let done = append_to_stopped_log(self.dir, self.store, event);
        async move { done }
    }

    fn end_sessions(&self, _name: &str) {}
}

/// Appends `event` to a stopped node's audit log, signed with its node key. A log not yet
/// begun (the node never ran) begins as the node would begin it.
pub fn append_to_stopped_log(
    dir: &std::path::Path,
    store: &crate::store::Store,
    event: Event,
) -> Result<(), AuditFailed> {
    let fail = |e: &dyn std::fmt::Display| -> AuditFailed {
        Arc::from(Box::<dyn std::error::Error + Send + Sync>::from(e.to_string()))
    };
    let keys = crate::keys::load(dir).map_err(|e| Arc::new(e) as AuditFailed)?;
    let at = || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut head = store.audit_head().map_err(|e| fail(&e))?;
    let mut entries = Vec::new();
    if head.is_none() {
        let after_loss =
            store.meta_value::<Vec<(String, String, String)>>("peers_known").map_err(|e| fail(&e))?.is_some();
        let node = keys.public().peer_id.to_string();
        let (e, h) = crate::audit::append(&keys.node_ed25519, None, at(), Event::LogStarted { node, after_loss });
        entries.push(e);
        head = Some(h);
    }
    let (e, h) = crate::audit::append(&keys.node_ed25519, head.as_ref(), at(), event);
    entries.push(e);
    store.write(|w| entries.iter().try_for_each(|e| w.append_audit(e, &h))).map_err(|e| fail(&e))?;
    Ok(())
}

/// The accounts an admin changes, and as whom.
pub struct Ctx<'a, A: Admin> {
    /// The node's accounts database.
    pub accounts: Arc<Accounts>,
    /// Longest account name a login takes (`limits.api.name_chars`).
    pub name_chars: u32,
    /// Who changes them, as the audit log names them.
    pub by: String,
    /// Where the audit event goes, and the sessions in memory.
    pub admin: &'a A,
}

/// Why an account change is refused.
#[derive(Clone, Debug, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum AccountRefusal {
    /// A name that cannot be an account name.
    #[error("account name {name:?}: use 1 to 64 characters, letters, digits, spaces, '.', '-', '_' or '@'")]
    BadAccountName {
        /// The name given.
        name: String,
    },
    /// A name longer than a login takes: the account could never log in.
    #[error("an account name has at most {max_chars} characters")]
    AccountNameTooLong {
        /// The bound (`limits.api.name_chars`).
        max_chars: u32,
    },
    /// The name is taken.
    #[error("an account named {name:?} already exists")]
    AccountExists {
        /// The name.
        name: String,
    },
    /// No account has that name.
    #[error("no account named {name:?}")]
    NoSuchAccount {
        /// The name.
        name: String,
    },
    /// The accounts database or the password hashing failed (not a refusal).
    #[serde(skip)]
    #[error(transparent)]
    Failed(Arc<AccountError>),
    /// The change was made, but its audit entry could not be written (not a refusal).
    #[serde(skip)]
    #[error("the change was made but not audited: {0}")]
    Audit(AuditFailed),
}

impl From<AccountError> for AccountRefusal {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::BadName(name) => AccountRefusal::BadAccountName { name },
            AccountError::Exists(name) => AccountRefusal::AccountExists { name },
            AccountError::NoSuch(name) => AccountRefusal::NoSuchAccount { name },
            e => AccountRefusal::Failed(Arc::new(e)),
        }
    }
}

/// A new account.
#[derive(Clone, Debug)]
pub struct AddAccount {
    /// Login name, also the officer name changes are attributed to.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// An account made, with its one-time initial password (shown once).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Added {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The one-time initial password.
    pub password: String,
}

/// A new one-time password, in answer to a reset.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PasswordReset {
    /// The account.
    pub name: String,
    /// Its new one-time password (shown once).
    pub password: String,
}

/// Runs `f` on the accounts database off the async threads (argon2 and the database block).
async fn blocking<T: Send + 'static>(
    accounts: &Arc<Accounts>,
    f: impl FnOnce(&Accounts) -> Result<T, AccountError> + Send + 'static,
) -> Result<T, AccountRefusal> {
    let accounts = accounts.clone();
    let joined = tokio::task::spawn_blocking(move || f(&accounts)).await;
    match joined {
        Ok(r) => Ok(r?),
        Err(e) => Err(AccountRefusal::Audit(Arc::new(e))),
    }
}

async fn audit<A: Admin>(ctx: &Ctx<'_, A>, event: Event) -> Result<(), AccountRefusal> {
    ctx.admin.audit(event).await.map_err(AccountRefusal::Audit)
}

/// Every account, by name.
pub async fn list<A: Admin>(ctx: &Ctx<'_, A>) -> Result<Vec<AccountInfo>, AccountRefusal> {
    blocking(&ctx.accounts, |a| a.list()).await
}

/// Makes an account with a one-time initial password; the officer chooses a new one at the
/// first login.
pub async fn add<A: Admin>(ctx: &Ctx<'_, A>, input: AddAccount) -> Result<Added, AccountRefusal> {
    if input.name.chars().count() > ctx.name_chars as usize {
        return Err(AccountRefusal::AccountNameTooLong { max_chars: ctx.name_chars });
    }
    let (name, role) = (input.name.clone(), input.role);
    let password = blocking(&ctx.accounts, move |a| a.add(&name, role)).await?;
    tracing::info!(name = ?input.name, role = %input.role, "account added");
    audit(ctx, Event::AccountAdded { name: input.name.clone(), role: input.role.to_string(), by: ctx.by.clone() })
        .await?;
    Ok(Added { name: input.name, role: input.role, password })
}

/// Disables an account: it can no longer log in, and its sessions end.
pub async fn disable<A: Admin>(ctx: &Ctx<'_, A>, name: String) -> Result<AccountInfo, AccountRefusal> {
    let n = name.clone();
    let info = blocking(&ctx.accounts, move |a| a.disable(&n)).await?;
    ctx.admin.end_sessions(&name);
    tracing::info!(name = ?name, "account disabled; its sessions ended");
    audit(ctx, Event::AccountDisabled { name, by: ctx.by.clone() }).await?;
    Ok(info)
}

/// Enables a disabled account again: it logs in with the password it had.
pub async fn enable<A: Admin>(ctx: &Ctx<'_, A>, name: String) -> Result<AccountInfo, AccountRefusal> {
    let n = name.clone();
    let info = blocking(&ctx.accounts, move |a| a.enable(&n)).await?;
    tracing::info!(name = ?name, "account enabled");
    audit(ctx, Event::AccountEnabled { name, by: ctx.by.clone() }).await?;
    Ok(info)
}

/// Gives an account another role; its sessions end (a session holds the role it logged in
/// with).
pub async fn set_role<A: Admin>(ctx: &Ctx<'_, A>, name: String, role: Role) -> Result<AccountInfo, AccountRefusal> {
    let n = name.clone();
    let (before, info) = blocking(&ctx.accounts, move |a| {
        let before = a.set_role(&n, role)?;
        let info = a.get(&n)?.ok_or_else(|| AccountError::NoSuch(n.clone()))?;
        Ok((before, info))
    })
    .await?;
    ctx.admin.end_sessions(&name);
    tracing::info!(name = ?name, from = %before, to = %role, "account role changed; its sessions ended");
    let event = Event::AccountRoleChanged { name, from: before.to_string(), to: role.to_string(), by: ctx.by.clone() };
    audit(ctx, event).await?;
    Ok(info)
}

/// Replaces an account's password with a new one-time password; its sessions end, and the
/// officer chooses a new password at the next login.
pub async fn reset_password<A: Admin>(ctx: &Ctx<'_, A>, name: String) -> Result<PasswordReset, AccountRefusal> {
    let n = name.clone();
    let password = blocking(&ctx.accounts, move |a| a.reset_password(&n)).await?;
    ctx.admin.end_sessions(&name);
    tracing::info!(name = ?name, "account password reset; its sessions ended");
    audit(ctx, Event::PasswordChanged { name: name.clone(), by: ctx.by.clone(), reset: true }).await?;
    Ok(PasswordReset { name, password })
}
