//! Officers' accounts at one node: name, role, argon2 password hash, disabled or not.
//!
//! Accounts are local to a node (each Party manages its own officers), so they live in their own
//! embedded database, `DATA_DIR/accounts.redb` (mode 0600), not in the replicated workspace.
//!
//! The web app's sessions are kept there too (table `sessions`), so that a restart of the node
//! does not log every officer out: keyed by the SHA-256 of the session cookie, never the cookie
//! itself. A change to how an account logs in or what it may do (disabled, role, password)
//! removes its sessions in the same transaction, so the rule holds on disk as in memory, and for
//! the CLI with the node stopped as for the node.

mod calendar_feed;

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

/// File name of the accounts database in the data dir.
pub const ACCOUNTS_FILE: &str = "accounts.redb";

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
/// SHA-256 of a session cookie → [`StoredSession`] (JSON).
const SESSIONS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("sessions");
/// `READER \0 ENTRY-KEY` → [`crate::inbox::ReadMark`] (JSON): what each reader (an account, or
/// the node token's caller) has read of its inbox. Ids and versions only, no content. A table
/// added without a schema change: older code never opens it, and this code makes it at open.
const INBOX_READ: TableDefinition<&str, &[u8]> = TableDefinition::new("inbox_read");
/// `schema`: the version of this database's layout (u32 LE). Releases before it had no `meta`:
/// version 0, which differs in nothing else.
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The layout this code writes; an older database is migrated at open, a newer one refused.
pub const SCHEMA_VERSION: u32 = 1;

/// What an officer may do, each role including the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads everything shared, but no provided item's content.
    Viewer,
    /// Also edits meetings, groups and drafts.
    Member,
    /// Also provides and reads items, asks for and answers consent, signs drafts.
    Liaison,
    /// Also manages peers and accounts.
    Admin,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Member => "member",
            Role::Liaison => "liaison",
            Role::Admin => "admin",
        })
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "member" => Ok(Role::Member),
            "liaison" => Ok(Role::Liaison),
            "admin" => Ok(Role::Admin),
            _ => Err(format!("{s:?} is not a role: use admin, liaison, member or viewer")),
        }
    }
}

/// An account as listed (no hash).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AccountInfo {
    /// Login name; also the officer name changes are attributed to.
    pub name: String,
    /// Role.
    pub role: Role,
    /// A disabled account cannot log in, and its sessions end.
    pub disabled: bool,
    /// When it was made, RFC 3339.
    pub created_at: String,
    /// Last successful login, RFC 3339.
    pub last_login: Option<String>,
    /// The password is a one-time password (from `account add` or `reset-password`): a login
    /// with it gets a session that may only choose a new one. (Absent in accounts made before
    /// this existed: false.)
    #[serde(default)]
    pub password_change_required: bool,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    info: AccountInfo,
    /// PHC string (argon2id).
    hash: String,
}

/// An account operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The database.
    #[error("accounts database {file}: {reason}")]
    Store {
        /// Its file.
        file: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A name that cannot be an account name.
    #[error("account name {0:?}: use 1 to 64 characters, letters, digits, spaces, '.', '-', '_' or '@'")]
    BadName(String),
    /// The name is taken.
    #[error("an account named {0:?} already exists")]
    Exists(String),
    /// No such account.
    #[error("no account named {0:?} (`liaison account list` lists them)")]
    NoSuch(String),
    /// Hashing failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// A new password that will not do.
    #[error("{0}")]
    WeakPassword(String),
}

/// The accounts of one node.
pub struct Accounts {
    db: redb::Database,
    file: PathBuf,
    /// Each reader's inbox marks as last read or written (see [`Accounts::inbox_marks`]).
    marks: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<crate::inbox::Marks>>>,
}

/// The most readers whose marks are kept in memory; past it, the kept ones are dropped (and read
/// again when next asked).
const MARKS_KEPT: usize = 64;

type Result<T> = std::result::Result<T, AccountError>;

/// Whether an account could have this name, its length aside: letters, digits, spaces, '.',
/// '-', '_' or '@', and no space at either end. (A login checks this before any work.)
pub fn could_be_name(name: &str) -> bool {
    !name.trim().is_empty() && name.trim() == name && name.chars().all(|c| c.is_alphanumeric() || " .-_@".contains(c))
}

fn check_name(name: &str) -> Result<()> {
    if could_be_name(name) && name.chars().count() <= 64 { Ok(()) } else { Err(AccountError::BadName(name.into())) }
}

/// Shortest password an officer may choose.
pub const MIN_PASSWORD_CHARS: usize = 12;

// The longest password is the API's bound (`limits.api.password_bytes`), checked before this.
fn check_new_password(new: &str, current: &str) -> Result<()> {
    if new.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::WeakPassword(format!(
            "a password needs {MIN_PASSWORD_CHARS} characters or more (a phrase of several words is easiest)"
        )));
    }
    if new == current {
        return Err(AccountError::WeakPassword("the new password is the current one".into()));
    }
    Ok(())
}

/// A fresh initial password: 20 characters from an alphabet without look-alikes (~116 bits).
fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479";
    let mut bytes = [0u8; 20];
    crate::ids::fill_random(&mut bytes);
    // 256 is not a multiple of the alphabet's size; the bias (< 1 bit overall) is irrelevant for a
    // one-time password the officer replaces.
    bytes.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect()
}

fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    crate::ids::fill_random(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| AccountError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

impl Accounts {
    /// Opens (or creates) the accounts database of `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Accounts> {
        let file = data_dir.join(ACCOUNTS_FILE);
        let err = |e: &dyn fmt::Display| AccountError::Store { file: file.clone(), reason: e.to_string() };
        let found = crate::store::migrate::accounts_before_open(&file).map_err(|e| err(&e))?;
        let db = redb::Database::create(&file).map_err(|e| err(&e))?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(|e| err(&e))?;
        let a = Accounts { db, file, marks: Default::default() };
        // Create the table, so that reads never meet a missing one.
        let tx = a.db.begin_write().map_err(|e| a.err(e))?;
        tx.open_table(TABLE).map_err(|e| a.err(e))?;
        tx.open_table(SESSIONS).map_err(|e| a.err(e))?;
        tx.open_table(INBOX_READ).map_err(|e| a.err(e))?;
        tx.open_table(META)
            .map_err(|e| a.err(e))?
            .insert("schema", SCHEMA_VERSION.to_le_bytes().as_slice())
            .map_err(|e| a.err(e))?;
        tx.commit().map_err(|e| a.err(e))?;
        if let Some(from) = found.filter(|v| *v < SCHEMA_VERSION) {
            tracing::warn!(from, to = SCHEMA_VERSION, "accounts database migrated: it records its schema version");
        }
        Ok(a)
    }

    /// Copies the accounts (not the sessions: a restored node starts with every officer logged
    /// out) into a new database `file`, from one read transaction: for a backup.
    pub fn copy_to(&self, file: &Path) -> Result<()> {
        let err = |e: &dyn fmt::Display| AccountError::Store { file: file.to_path_buf(), reason: e.to_string() };
        let from = self.db.begin_read().map_err(|e| self.err(e))?;
        let db = redb::Database::create(file).map_err(|e| err(&e))?;
        let to = db.begin_write().map_err(|e| err(&e))?;
        for t in [TABLE, META] {
            crate::store::copy_table(&from, &to, t).map_err(|e| err(&e))?;
        }
        to.commit().map_err(|e| err(&e))
    }

    fn err(&self, e: impl fmt::Display) -> AccountError {
        AccountError::Store { file: self.file.clone(), reason: e.to_string() }
    }

    fn get_stored(&self, name: &str) -> Result<Option<Stored>> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(TABLE).map_err(|e| self.err(e))?;
        match t.get(name).map_err(|e| self.err(e))? {
            Some(v) => Ok(Some(serde_json::from_slice(v.value()).map_err(|e| self.err(e))?)),
            None => Ok(None),
        }
    }

    fn put(&self, s: &Stored, must_be_new: bool) -> Result<()> {
        self.put_then(s, must_be_new, |_| Ok(()))
    }

    /// Writes `s`, and does `also` in the same transaction.
    fn put_then(
        &self,
        s: &Stored,
        must_be_new: bool,
        also: impl FnOnce(&redb::WriteTransaction) -> Result<()>,
    ) -> Result<()> {
        let bytes = serde_json::to_vec(s).map_err(|e| self.err(e))?;
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(TABLE).map_err(|e| self.err(e))?;
            if must_be_new && t.get(s.info.name.as_str()).map_err(|e| self.err(e))?.is_some() {
                return Err(AccountError::Exists(s.info.name.clone()));
            }
            t.insert(s.info.name.as_str(), bytes.as_slice()).map_err(|e| self.err(e))?;
        }
        also(&tx)?;
        tx.commit().map_err(|e| self.err(e))
    }

    /// Writes `s` and removes the account's stored sessions but `keep` (whose one-time-password
    /// mark is cleared: it has just chosen a new password).
    fn put_ending_sessions(&self, s: &Stored, keep: Option<&SessionKey>) -> Result<()> {
        self.put_then(s, false, |tx| {
            let mut t = tx.open_table(SESSIONS).map_err(|e| self.err(e))?;
            let mut ending = Vec::new();
            let mut kept = None;
            for row in t.iter().map_err(|e| self.err(e))? {
                let (k, v) = row.map_err(|e| self.err(e))?;
                let Ok(stored) = serde_json::from_slice::<StoredSession>(v.value()) else {
                    // Unreadable: of no use to anyone; gone with the rest.
                    ending.push(k.value().to_vec());
                    continue;
                };
                if stored.name != s.info.name {
                    continue;
                }
                if keep.is_some_and(|keep| keep.as_slice() == k.value()) {
                    kept = Some((k.value().to_vec(), stored));
                } else {
                    ending.push(k.value().to_vec());
                }
            }
            for k in ending {
                t.remove(k.as_slice()).map_err(|e| self.err(e))?;
            }
            if let Some((k, mut stored)) = kept {
                stored.password_change_required = s.info.password_change_required;
                let bytes = serde_json::to_vec(&stored).map_err(|e| self.err(e))?;
                t.insert(k.as_slice(), bytes.as_slice()).map_err(|e| self.err(e))?;
            }
            Ok(())
        })
    }

    /// Makes an account; answers its one-time initial password (stored only as a hash).
    pub fn add(&self, name: &str, role: Role) -> Result<String> {
        check_name(name)?;
        if self.get_stored(name)?.is_some() {
            return Err(AccountError::Exists(name.into()));
        }
        let password = new_password();
        let info = AccountInfo {
            name: name.into(),
            role,
            disabled: false,
            created_at: Utc::now().to_rfc3339(),
            last_login: None,
            password_change_required: true,
        };
        self.put(&Stored { info, hash: hash_password(&password)? }, true)?;
        Ok(password)
    }

    /// Every account, by name.
    pub fn list(&self) -> Result<Vec<AccountInfo>> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(TABLE).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in t.iter().map_err(|e| self.err(e))? {
            let (_, v) = row.map_err(|e| self.err(e))?;
            let s: Stored = serde_json::from_slice(v.value()).map_err(|e| self.err(e))?;
            out.push(s.info);
        }
        Ok(out)
    }

    /// One account.
    pub fn get(&self, name: &str) -> Result<Option<AccountInfo>> {
        Ok(self.get_stored(name)?.map(|s| s.info))
    }

    /// Disables an account; it can no longer log in, and its stored sessions are removed.
    pub fn disable(&self, name: &str) -> Result<AccountInfo> {
        let mut s = self.get_stored(name)?.ok_or_else(|| AccountError::NoSuch(name.into()))?;
        s.info.disabled = true;
        self.put_ending_sessions(&s, None)?;
        Ok(s.info)
    }

    /// Enables a disabled account again: it logs in with the password it had. (Answers it as it
    /// is now; enabling an enabled account changes nothing.)
    pub fn enable(&self, name: &str) -> Result<AccountInfo> {
        let mut s = self.get_stored(name)?.ok_or_else(|| AccountError::NoSuch(name.into()))?;
        if s.info.disabled {
            s.info.disabled = false;
            self.put(&s, false)?;
        }
        Ok(s.info)
    }

    /// Gives an account another role; answers the role it had. Its stored sessions are removed
    /// (a session holds the role it logged in with).
    pub fn set_role(&self, name: &str, role: Role) -> Result<Role> {
        let mut s = self.get_stored(name)?.ok_or_else(|| AccountError::NoSuch(name.into()))?;
        let before = s.info.role;
        s.info.role = role;
        self.put_ending_sessions(&s, None)?;
        Ok(before)
    }

    /// Replaces an account's password with a new one-time password, which it answers (stored
    /// only as a hash): for an officer who lost theirs. The officer must choose a new one at the
    /// next login; the account's stored sessions are removed.
    pub fn reset_password(&self, name: &str) -> Result<String> {
        let mut s = self.get_stored(name)?.ok_or_else(|| AccountError::NoSuch(name.into()))?;
        let password = new_password();
        s.hash = hash_password(&password)?;
        s.info.password_change_required = true;
        self.put_ending_sessions(&s, None)?;
        Ok(password)
    }

    /// Changes an account's password, given its current one. `Ok(false)` when the current
    /// password is wrong (or the account unknown or disabled). The account's stored sessions
    /// are removed but `keep` (the one that made the change), which may now do what the role
    /// allows.
    pub fn change_password(&self, name: &str, current: &str, new: &str, keep: Option<&SessionKey>) -> Result<bool> {
        check_new_password(new, current)?;
        let Some(mut s) = self.get_stored(name)? else {
            return Ok(false);
        };
        let parsed = PasswordHash::new(&s.hash).map_err(|e| AccountError::Hash(e.to_string()))?;
        if s.info.disabled || Argon2::default().verify_password(current.as_bytes(), &parsed).is_err() {
            return Ok(false);
        }
        s.hash = hash_password(new)?;
        s.info.password_change_required = false;
        self.put_ending_sessions(&s, keep)?;
        Ok(true)
    }

    /// Checks a login. `None` for an unknown name, a wrong password or a disabled account (the
    /// caller must not tell which). Unknown names still cost one hash, so timing does not tell.
    pub fn verify(&self, name: &str, password: &str) -> Result<Option<AccountInfo>> {
        let stored = self.get_stored(name)?;
        let hash = match &stored {
            Some(s) => s.hash.clone(),
            None => dummy_hash().to_string(),
        };
        let parsed = PasswordHash::new(&hash).map_err(|e| AccountError::Hash(e.to_string()))?;
        let good = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        match stored {
            Some(mut s) if good && !s.info.disabled => {
                s.info.last_login = Some(Utc::now().to_rfc3339());
                self.put(&s, false)?;
                Ok(Some(s.info))
            }
            _ => Ok(None),
        }
    }
}

// ---- Stored sessions (the web app's; their rules are in `api::session`) ----

/// The key of a stored session: the SHA-256 of its cookie value, so that the file holds nothing
/// that would let anyone in.
pub type SessionKey = [u8; 32];

/// A session as stored. Times are seconds since the Unix epoch (wall clock: they must mean the
/// same after a restart).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct StoredSession {
    /// The account.
    pub name: String,
    /// Its role at login.
    pub role: Role,
    /// The session's CSRF token (of no use without the cookie).
    pub csrf: String,
    /// When it began.
    pub created: u64,
    /// When it ends unless used before: the earlier of its last use plus the idle time-out and
    /// its beginning plus the longest a session lasts. Written when it moves by a minute or more,
    /// not on every request.
    pub expires: u64,
    /// Logged in with a one-time password: it may only choose a new one.
    #[serde(default)]
    pub password_change_required: bool,
}

impl Accounts {
    /// Stores a new session and removes the sessions in `drop` (expired, or past the bound of
    /// sessions per account), in one transaction.
    pub fn session_save(&self, key: &SessionKey, s: &StoredSession, drop: &[SessionKey]) -> Result<()> {
        let bytes = serde_json::to_vec(s).map_err(|e| self.err(e))?;
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(SESSIONS).map_err(|e| self.err(e))?;
            for k in drop {
                t.remove(k.as_slice()).map_err(|e| self.err(e))?;
            }
            t.insert(key.as_slice(), bytes.as_slice()).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Moves a stored session's end to `expires`, if it is still stored (one that ended
    /// meanwhile stays ended).
    pub fn session_refresh(&self, key: &SessionKey, expires: u64) -> Result<()> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(SESSIONS).map_err(|e| self.err(e))?;
            let found = t.get(key.as_slice()).map_err(|e| self.err(e))?.map(|v| v.value().to_vec());
            let Some(bytes) = found else {
                return Ok(());
            };
            let mut s: StoredSession = serde_json::from_slice(&bytes).map_err(|e| self.err(e))?;
            s.expires = expires;
            let bytes = serde_json::to_vec(&s).map_err(|e| self.err(e))?;
            t.insert(key.as_slice(), bytes.as_slice()).map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// Removes stored sessions (logged out, expired).
    pub fn sessions_remove(&self, keys: &[SessionKey]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(SESSIONS).map_err(|e| self.err(e))?;
            for k in keys {
                t.remove(k.as_slice()).map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))
    }

    /// The stored sessions still live at `now`; the others (expired, unreadable, of an account
    /// that is gone or disabled, or holding a role the account no longer has) are removed.
    pub fn sessions_load(&self, now: u64) -> Result<Vec<(SessionKey, StoredSession)>> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let mut live = Vec::new();
        {
            let accounts = tx.open_table(TABLE).map_err(|e| self.err(e))?;
            let mut t = tx.open_table(SESSIONS).map_err(|e| self.err(e))?;
            let mut dead = Vec::new();
            for row in t.iter().map_err(|e| self.err(e))? {
                let (k, v) = row.map_err(|e| self.err(e))?;
                let key = SessionKey::try_from(k.value()).ok();
                let stored = serde_json::from_slice::<StoredSession>(v.value()).ok();
                let account = match &stored {
                    Some(s) => accounts
                        .get(s.name.as_str())
                        .map_err(|e| self.err(e))?
                        .and_then(|a| serde_json::from_slice::<Stored>(a.value()).ok()),
                    None => None,
                };
                match (key, stored, account) {
                    // A role that differs is a role change the session raced with: it ends too.
                    (Some(key), Some(s), Some(a)) if s.expires > now && !a.info.disabled && a.info.role == s.role => {
                        live.push((key, s))
                    }
                    _ => dead.push(k.value().to_vec()),
                }
            }
            for k in dead {
                t.remove(k.as_slice()).map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(live)
    }
}

// ---- What each reader has read of its inbox (the rules are in `inbox`) ----

impl Accounts {
    /// Every mark of `reader`. Kept in memory once read: the web app asks for the inbox after
    /// every change event, and an officer who has read the workspace has a mark per meeting and
    /// thread (10,000 and more), each read and decoded again otherwise.
    pub fn inbox_marks(&self, reader: &str) -> Result<std::sync::Arc<crate::inbox::Marks>> {
        // Held while read from disk, so that marks written meanwhile are not lost: their writer
        // brings the kept copy up to date under the same lock, after its commit.
        let mut kept = self.marks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(m) = kept.get(reader) {
            return Ok(m.clone());
        }
        let m = std::sync::Arc::new(self.inbox_marks_stored(reader)?);
        if kept.len() >= MARKS_KEPT {
            kept.clear();
        }
        kept.insert(reader.to_string(), m.clone());
        Ok(m)
    }

    /// Every mark of `reader`, as stored.
    fn inbox_marks_stored(&self, reader: &str) -> Result<crate::inbox::Marks> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(INBOX_READ).map_err(|e| self.err(e))?;
        let (from, to) = (format!("{reader}\0"), format!("{reader}\u{1}"));
        let mut out = crate::inbox::Marks::new();
        for row in t.range(from.as_str()..to.as_str()).map_err(|e| self.err(e))? {
            let (k, v) = row.map_err(|e| self.err(e))?;
            // One unreadable mark only makes its entry unread again.
            if let Ok(m) = serde_json::from_slice(v.value()) {
                out.insert(k.value()[from.len()..].to_string(), m);
            }
        }
        Ok(out)
    }

    /// Stores marks of `reader`, in one transaction.
    pub fn inbox_mark(&self, reader: &str, marks: &[(String, crate::inbox::ReadMark)]) -> Result<()> {
        if marks.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(INBOX_READ).map_err(|e| self.err(e))?;
            for (key, m) in marks {
                let bytes = serde_json::to_vec(m).map_err(|e| self.err(e))?;
                t.insert(format!("{reader}\0{key}").as_str(), bytes.as_slice()).map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        let mut kept = self.marks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(m) = kept.get_mut(reader) {
            let m = std::sync::Arc::make_mut(m);
            m.extend(marks.iter().cloned());
        }
        Ok(())
    }
}

/// A hash of nothing anyone knows, verified against for unknown names.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password(&new_password()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_logs_in_with_its_password_only_and_not_once_disabled() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::open(dir.path()).unwrap();
        let pw = a.add("Anna Petrova", Role::Member).unwrap();
        assert_eq!(pw.len(), 20);
        assert!(matches!(a.add("Anna Petrova", Role::Admin), Err(AccountError::Exists(_))));
        assert_eq!(a.verify("Anna Petrova", &pw).unwrap().unwrap().role, Role::Member);
        assert!(a.verify("Anna Petrova", "wrong").unwrap().is_none());
        assert!(a.verify("nobody", &pw).unwrap().is_none());
        a.disable("Anna Petrova").unwrap();
        assert!(a.verify("Anna Petrova", &pw).unwrap().is_none());
        let listed = a.list().unwrap();
        assert!(!a.change_password("Anna Petrova", &pw, "a long enough passphrase", None).unwrap(), "disabled");
        assert_eq!(listed.len(), 1);
        assert!(listed[0].disabled && listed[0].last_login.is_some());
        // Stored as an argon2 hash: the password is nowhere in the file.
        drop(a);
        let bytes = std::fs::read(dir.path().join(ACCOUNTS_FILE)).unwrap();
        assert!(!bytes.windows(pw.len()).any(|w| w == pw.as_bytes()));
        assert!(bytes.windows(9).any(|w| w == b"$argon2id"));
        let mode = std::fs::metadata(dir.path().join(ACCOUNTS_FILE)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn an_officer_changes_the_password_with_the_current_one_only() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::open(dir.path()).unwrap();
        let pw = a.add("omar", Role::Viewer).unwrap();
        assert!(matches!(a.change_password("omar", &pw, "short", None), Err(AccountError::WeakPassword(_))));
        assert!(!a.change_password("omar", "not it", "correct horse battery", None).unwrap());
        assert!(a.change_password("omar", &pw, "correct horse battery", None).unwrap());
        assert!(a.verify("omar", &pw).unwrap().is_none());
        assert!(a.verify("omar", "correct horse battery").unwrap().is_some());
    }

    #[test]
    fn an_admin_changes_a_role_and_resets_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::open(dir.path()).unwrap();
        let old = a.add("omar", Role::Liaison).unwrap();
        assert_eq!(a.set_role("omar", Role::Viewer).unwrap(), Role::Liaison);
        assert_eq!(a.get("omar").unwrap().unwrap().role, Role::Viewer);
        let new = a.reset_password("omar").unwrap();
        assert_ne!(new, old);
        assert!(a.verify("omar", &old).unwrap().is_none());
        assert!(a.verify("omar", &new).unwrap().is_some());
        assert!(matches!(a.set_role("nobody", Role::Admin), Err(AccountError::NoSuch(_))));
        assert!(matches!(a.reset_password("nobody"), Err(AccountError::NoSuch(_))));
    }

    #[test]
    fn an_unversioned_database_is_copied_then_versioned_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(ACCOUNTS_FILE);
        {
            // The previous release's layout: the accounts table and no `meta`.
            let db = redb::Database::create(&file).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(TABLE).unwrap();
            tx.commit().unwrap();
        }
        let a = Accounts::open(dir.path()).unwrap();
        a.add("omar", Role::Viewer).unwrap();
        drop(a);
        let copies = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("accounts.redb.v0-backup-"))
            .count();
        assert_eq!(copies, 1);
        assert_eq!(crate::store::migrate::peek_version(&file, 0), Some(SCHEMA_VERSION));
        {
            let db = redb::Database::create(&file).unwrap();
            let tx = db.begin_write().unwrap();
            tx.open_table(META).unwrap().insert("schema", 7u32.to_le_bytes().as_slice()).unwrap();
            tx.commit().unwrap();
        }
        let e = Accounts::open(dir.path()).err().unwrap().to_string();
        assert!(e.contains("schema version 7 was written by a newer liaison"), "{e}");
    }

    #[test]
    fn inbox_marks_are_each_readers_own_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::open(dir.path()).unwrap();
        let m = |v: &str| crate::inbox::ReadMark { version: v.into(), at: "now".into() };
        a.inbox_mark("anna", &[("thread:ab".into(), m("2")), ("meeting:cd".into(), m("x"))]).unwrap();
        a.inbox_mark("ann", &[("thread:ab".into(), m("9"))]).unwrap();
        a.inbox_mark(crate::inbox::NODE_READER, &[("thread:ab".into(), m("5"))]).unwrap();
        drop(a);
        let a = Accounts::open(dir.path()).unwrap();
        let anna = a.inbox_marks("anna").unwrap();
        assert_eq!(anna.len(), 2);
        // Marks written after a read are in the next read (kept in memory), and on disk.
        a.inbox_mark("anna", &[("thread:ab".into(), m("3")), ("thread:ef".into(), m("1"))]).unwrap();
        let now = a.inbox_marks("anna").unwrap();
        assert_eq!((now.len(), &now["thread:ab"], anna["thread:ab"].version.as_str()), (3, &m("3"), "2"));
        assert_eq!(*now, a.inbox_marks_stored("anna").unwrap());
        assert_eq!(anna["thread:ab"], m("2"));
        assert_eq!(a.inbox_marks("ann").unwrap()["thread:ab"], m("9"), "a name that is a prefix of another");
        assert_eq!(a.inbox_marks(crate::inbox::NODE_READER).unwrap()["thread:ab"], m("5"));
        assert!(a.inbox_marks("boris").unwrap().is_empty());
    }

    #[test]
    fn names_and_roles_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::open(dir.path()).unwrap();
        for bad in ["", " x", "a\nb", "<script>", &"x".repeat(65)] {
            assert!(matches!(a.add(bad, Role::Viewer), Err(AccountError::BadName(_))), "{bad:?}");
        }
        assert!("root".parse::<Role>().unwrap_err().contains("admin, liaison, member or viewer"));
        assert!(Role::Viewer < Role::Member && Role::Member < Role::Liaison && Role::Liaison < Role::Admin);
    }
}
