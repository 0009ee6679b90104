//! Backups of a node and their restore.
//!
//! A backup is a tar inside an age file (a passphrase, or one or more age recipients). Its first
//! entry is `manifest.json` ([`Manifest`]: format, node, Party, time, schema versions, and the
//! size, SHA-256 and mode of every other entry); then the data dir's files as a restore lays
//! them out:
//!
//! | entry | what |
//! | --- | --- |
//! | `store/liaison.redb` | a logical copy of the store from one read transaction (no freed pages) |
//! | `keys/item-key-slots` | the key slots that copy refers to; every other slot zero |
//! | `accounts.redb` | the accounts (not the sessions: officers log in again after a restore) |
//! | `node.toml`, `keys/*`, `tls/*`, ... | every other file of the data dir, as it is |
//!
//! Left out: the lock, `run.json`, earlier migration copies (`*.v<N>-backup-*`) and `backups/`.
//!
//! # Destroyed keys
//!
//! A backup holds the keys of the items the node held when it was taken. An item deleted by its
//! provider, or a grant revoked or expired, after that moment has its key destroyed on the node
//! but not in the backup. What a restore does about it:
//! - nothing destroyed before the backup is in it: the copy is of live rows, and only the
//!   slots they use are copied (see `store::snapshot`);
//! - the restored node re-applies every deletion and revocation it learns of: each peer sends all
//!   its consent records at the start of every session, and a deletion or a revocation to this
//!   node destroys the item's key again when it arrives; expiries are carried out at start.
//!
//! The restored store gets a new automerge actor (`Store::give_new_actor`): the lost node may
//! have made changes after the backup under the old one, which the restored node would
//! otherwise number again.
//!
//! So until the restored node has met its peers, it may show an item destroyed since the backup.
//! Backups must therefore be kept only as long as they are needed, and destroyed (they are the
//! one copy of a destroyed key that this node cannot overwrite): the README says how.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::accounts::{ACCOUNTS_FILE, AccountError, Accounts};
use crate::store::{DirLock, LockError, SLOTS_FILE, StoreError, StoreSnapshot};

/// What the manifest's `format` says.
pub const FORMAT: &str = "liaison-backup";
/// The archive layout this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The first entry of the tar.
pub const MANIFEST: &str = "manifest.json";
/// Where `backup` stages its copies, inside the data dir (so that a hardened service that may
/// write only there can take one).
pub const BACKUPS_DIR: &str = "backups";
/// Largest manifest read (it lists a few dozen files).
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// The manifest: what is in the archive and what wrote it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The archive layout ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// The liaison that wrote it.
    pub liaison_version: String,
    /// The node's libp2p peer id.
    pub node: String,
    /// Its Party.
    pub party: String,
    /// When the snapshot was taken, RFC 3339.
    pub created: String,
    /// Whether the node was running (the copy was taken inside it) or stopped.
    pub taken_while: String,
    /// Schema versions of the databases in it.
    pub schema: Schemas,
    /// Every other entry, in archive order.
    pub files: Vec<FileEntry>,
}

/// Schema versions of the databases in a backup.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Schemas {
    /// The store's (`None`: a node that never started).
    pub store: Option<u32>,
    /// The accounts database's.
    pub accounts: u32,
}

/// One file of the archive.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    /// Path relative to the data dir, `/`-separated.
    pub path: String,
    /// Size.
    pub bytes: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Permission bits it is restored with.
    pub mode: u32,
}

/// How an archive is encrypted.
pub enum Protect {
    /// With a passphrase (age's scrypt).
    Passphrase(SecretString),
    /// To age recipients (`age1...`); their identities open it.
    Recipients(Vec<age::x25519::Recipient>),
}

impl Protect {
    /// How it is protected, for the audit log and the CLI: "passphrase" or "N age recipient(s)".
    pub fn describe(&self) -> String {
        match self {
            Protect::Passphrase(_) => "passphrase".to_string(),
            Protect::Recipients(r) => format!("{} age recipient(s)", r.len()),
        }
    }
}

/// How an archive is opened.
pub enum Unlock {
    /// With the passphrase it was encrypted with.
    Passphrase(SecretString),
    /// With identities from an age identity file.
    Identities(Vec<Box<dyn age::Identity>>),
}

/// A backup or restore that failed. Nothing is left behind by one that fails.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// The data dir is held by a running node (or another command).
    #[error(transparent)]
    Locked(#[from] LockError),
    /// The store could not be copied.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The accounts could not be copied.
    #[error(transparent)]
    Accounts(#[from] AccountError),
    /// Encrypting failed.
    #[error("cannot encrypt the backup: {0}")]
    Encrypt(String),
    /// Neither a passphrase nor a recipient.
    #[error("an age recipient {0:?} is not one (it starts with age1)")]
    BadRecipient(String),
    /// The passphrase or identities do not open it.
    #[error("{}: {reason}", .file.display())]
    WrongKey {
        /// The archive.
        file: PathBuf,
        /// Which key was wrong.
        reason: String,
    },
    /// Not an archive this liaison reads.
    #[error("{}: not a liaison backup: {reason}", .file.display())]
    NotABackup {
        /// The archive.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The archive was changed, cut or damaged after it was written.
    #[error("{}: the backup is damaged or was tampered with: {reason}; nothing was restored", .file.display())]
    Tampered {
        /// The archive.
        file: PathBuf,
        /// What did not check out.
        reason: String,
    },
    /// A newer liaison wrote it.
    #[error("{}: {what} is version {found}, this liaison knows up to {known}; restore it with a newer liaison", .file.display())]
    Newer {
        /// The archive.
        file: PathBuf,
        /// What is too new.
        what: &'static str,
        /// Its version.
        found: u32,
        /// The newest known here.
        known: u32,
    },
    /// The restore target holds something already.
    #[error("{} is not empty; restore into a new or empty directory (a restore never overwrites a node)", .0.display())]
    NotEmpty(PathBuf),
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_path_buf(), source }
}

/// The consistent copies of a backup, staged in `DATA_DIR/backups/` until archived; the staging
/// dir is removed when this is dropped.
pub struct Staged {
    dir: tempfile::TempDir,
    data_dir: PathBuf,
    schema: Schemas,
    taken_while: &'static str,
    created: String,
    items: u64,
}

fn staging_dir(data_dir: &Path) -> Result<tempfile::TempDir, BackupError> {
    let parent = data_dir.join(BACKUPS_DIR);
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o700)).map_err(io_err(&parent))?;
    tempfile::Builder::new().prefix(".staging-").tempdir_in(&parent).map_err(io_err(&parent))
}

/// Stages the copies of a running node: the store from `snapshot` (taken on the engine's
/// thread), the accounts from one read transaction.
pub fn stage_running(data_dir: &Path, snapshot: StoreSnapshot, accounts: &Accounts) -> Result<Staged, BackupError> {
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let dir = staging_dir(data_dir)?;
    let store = snapshot.schema();
    let items = snapshot.items();
    snapshot.write_to(dir.path())?;
    accounts.copy_to(&dir.path().join(ACCOUNTS_FILE))?;
    let schema = Schemas { store, accounts: crate::accounts::SCHEMA_VERSION };
    Ok(Staged { dir, data_dir: data_dir.to_path_buf(), schema, taken_while: "running", created, items })
}

/// Stages the copies of a stopped node, holding its data dir's lock meanwhile (so that it cannot
/// start half-way).
pub fn stage_stopped(data_dir: &Path) -> Result<Staged, BackupError> {
    let _lock = DirLock::acquire(data_dir)?;
    let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let dir = staging_dir(data_dir)?;
    let snapshot = crate::store::snapshot_stopped(data_dir)?;
    let store = snapshot.schema();
    let items = snapshot.items();
    snapshot.write_to(dir.path())?;
    let accounts = Accounts::open(data_dir)?;
    accounts.copy_to(&dir.path().join(ACCOUNTS_FILE))?;
    let schema = Schemas { store, accounts: crate::accounts::SCHEMA_VERSION };
    Ok(Staged { dir, data_dir: data_dir.to_path_buf(), schema, taken_while: "stopped", created, items })
}

/// Whether a data dir path (relative, `/`-separated) is left out of backups, or replaced by its
/// staged copy.
fn left_out(rel: &str) -> bool {
    const EXACT: &[&str] = &["lock", crate::node::RUN_FILE, "node.toml.lock", ACCOUNTS_FILE, SLOTS_FILE];
    EXACT.contains(&rel)
        || rel == BACKUPS_DIR
        || rel.starts_with(&format!("{BACKUPS_DIR}/"))
        || rel == crate::store::STORE_DIR
        || rel.starts_with(&format!("{}/", crate::store::STORE_DIR))
        || rel.contains("-backup-")
        || rel.starts_with(&format!("{ACCOUNTS_FILE}."))
        // The search index is made from the documents: a restored node builds it again at its
        // first start, and its files change under the indexer while a running node is copied.
        || rel == crate::node::SEARCH_DIR
        || rel.starts_with(&format!("{}/", crate::node::SEARCH_DIR))
}

/// Lists `root`'s regular files (relative paths, sorted), skipping what `skip` says.
fn walk(root: &Path, skip: &dyn Fn(&str) -> bool) -> Result<Vec<String>, BackupError> {
    let mut out = Vec::new();
    let mut todo = vec![String::new()];
    while let Some(rel) = todo.pop() {
        let dir = if rel.is_empty() { root.to_path_buf() } else { root.join(&rel) };
        for e in fs::read_dir(&dir).map_err(io_err(&dir))? {
            let e = e.map_err(io_err(&dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name } else { format!("{rel}/{name}") };
            if skip(&path) {
                continue;
            }
            let kind = e.file_type().map_err(io_err(&e.path()))?;
            if kind.is_dir() {
                todo.push(path);
            } else if kind.is_file() {
                out.push(path);
            } else {
                tracing::warn!(file = %e.path().display(), "not a regular file: left out of the backup");
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The mode a restored file gets: secrets (keys, databases) 0600, the rest at most 0644.
fn restored_mode(rel: &str, mode: u32) -> u32 {
    let secret = rel.starts_with("keys/") || rel.ends_with(".redb") || rel.ends_with(".key");
    if secret { 0o600 } else { mode & 0o644 }
}

fn sha256_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let n = io::copy(&mut f, &mut h).map_err(io_err(path))?;
    Ok((n, hex::encode(h.finalize())))
}

impl Staged {
    /// Where each entry of the archive comes from, in archive order.
    fn sources(&self) -> Result<Vec<(String, PathBuf)>, BackupError> {
        let mut out: Vec<(String, PathBuf)> = walk(self.dir.path(), &|_| false)?
            .into_iter()
            .map(|rel| (rel.clone(), self.dir.path().join(&rel)))
            .collect();
        for rel in walk(&self.data_dir, &left_out)? {
            out.push((rel.clone(), self.data_dir.join(&rel)));
        }
        Ok(out)
    }

    /// How many items the backup holds the keys of.
    pub fn items(&self) -> u64 {
        self.items
    }

    /// Total bytes of the files to archive (for a progress bar).
    pub fn total_bytes(&self) -> u64 {
        self.sources().map(|s| s.iter().filter_map(|(_, p)| fs::metadata(p).ok()).map(|m| m.len()).sum()).unwrap_or(0)
    }

    /// Writes the encrypted archive to `out`, telling `on_bytes` of each piece of file content
    /// archived; answers the manifest and `out`.
    pub fn write_archive<W: Write>(
        &self,
        node: &str,
        party: &str,
        protect: &Protect,
        out: W,
        on_bytes: &dyn Fn(u64),
    ) -> Result<(Manifest, W), BackupError> {
        let sources = self.sources()?;
        let mut files = Vec::new();
        for (rel, path) in &sources {
            let (bytes, sha256) = sha256_file(path)?;
            let mode = fs::metadata(path).map_err(io_err(path))?.permissions().mode() & 0o777;
            files.push(FileEntry { path: rel.clone(), bytes, sha256, mode: restored_mode(rel, mode) });
        }
        let manifest = Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            liaison_version: env!("CARGO_PKG_VERSION").into(),
            node: node.into(),
            party: party.into(),
            created: self.created.clone(),
            taken_while: self.taken_while.into(),
            schema: self.schema.clone(),
            files,
        };
        let enc = match protect {
            Protect::Passphrase(p) => age::Encryptor::with_user_passphrase(p.clone()),
            Protect::Recipients(rs) => age::Encryptor::with_recipients(rs.iter().map(|r| r as &dyn age::Recipient))
                .map_err(|e| BackupError::Encrypt(e.to_string()))?,
        };
        let enc_err = |e: io::Error| BackupError::Encrypt(e.to_string());
        let stream = enc.wrap_output(out).map_err(enc_err)?;
        let mut tar = tar::Builder::new(stream);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Encrypt(e.to_string()))?;
        let mut head = tar::Header::new_gnu();
        head.set_size(json.len() as u64);
        head.set_mode(0o600);
        head.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        tar.append_data(&mut head, MANIFEST, json.as_slice()).map_err(enc_err)?;
        for ((rel, path), entry) in sources.iter().zip(&manifest.files) {
            let f = File::open(path).map_err(io_err(path))?;
            let mut head = tar::Header::new_gnu();
            head.set_size(entry.bytes);
            head.set_mode(entry.mode);
            head.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
            // Exactly the bytes that were hashed: a file that grew since is cut, one that shrank
            // fails here (and the backup with it) rather than disagreeing with its manifest.
            let reader = Counting { inner: f.take(entry.bytes), on_bytes };
            tar.append_data(&mut head, rel, reader).map_err(|e| io_err(path)(e))?;
        }
        let stream = tar.into_inner().map_err(enc_err)?;
        let out = stream.finish().map_err(enc_err)?;
        Ok((manifest, out))
    }
}

struct Counting<'a, R> {
    inner: R,
    on_bytes: &'a dyn Fn(u64),
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.on_bytes)(n as u64);
        Ok(n)
    }
}

/// Parses `age1...` recipients.
pub fn recipients(list: &[String]) -> Result<Vec<age::x25519::Recipient>, BackupError> {
    list.iter().map(|r| r.trim().parse().map_err(|_| BackupError::BadRecipient(r.clone()))).collect()
}

/// Creates `file` for a backup: a new file (never over another), mode 0600.
pub fn create_archive_file(file: &Path) -> Result<File, BackupError> {
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(file).map_err(io_err(file))
}

/// Whether `dir` may receive a restore: it does not exist, or is an empty directory.
fn check_target(dir: &Path) -> Result<(), BackupError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(dir.to_path_buf()));
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(BackupError::Io { path: dir.to_path_buf(), source: e }),
    }
}

/// A relative path of the archive that stays inside the target.
fn safe_relative(rel: &str) -> bool {
    let p = Path::new(rel);
    !rel.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)))
}

/// Restores the backup `file` into `into` (which must not exist, or be empty): decrypts,
/// checks every entry against the manifest, and only then moves the result into place, with
/// keys and databases 0600 and directories 0700. On any failure nothing is left in `into`.
pub fn restore(file: &Path, unlock: &Unlock, into: &Path, on_bytes: &dyn Fn(u64)) -> Result<Manifest, BackupError> {
    check_target(into)?;
    let f = File::open(file).map_err(io_err(file))?;
    let not_backup = |reason: String| BackupError::NotABackup { file: file.to_path_buf(), reason };
    let dec = age::Decryptor::new(BufReader::new(f)).map_err(|e| not_backup(format!("not an age file ({e})")))?;
    let wrong = |reason: &str| BackupError::WrongKey { file: file.to_path_buf(), reason: reason.into() };
    let reader = match unlock {
        Unlock::Passphrase(p) => {
            if !dec.is_scrypt() {
                return Err(wrong("it is encrypted to an age recipient, not a passphrase; give --identity FILE"));
            }
            let id = age::scrypt::Identity::new(p.clone());
            dec.decrypt(std::iter::once(&id as &dyn age::Identity))
        }
        Unlock::Identities(ids) => {
            if dec.is_scrypt() {
                return Err(wrong(
                    "it is encrypted with a passphrase; give --passphrase-file or LIAISON_BACKUP_PASSPHRASE",
                ));
            }
            dec.decrypt(ids.iter().map(|i| i.as_ref()))
        }
    };
    let reader = reader.map_err(|e| match e {
        age::DecryptError::DecryptionFailed | age::DecryptError::KeyDecryptionFailed => {
            wrong("wrong passphrase: it does not open this backup")
        }
        age::DecryptError::NoMatchingKeys => wrong("none of the identities given opens this backup"),
        age::DecryptError::InvalidMac => wrong("wrong passphrase, or a tampered header: it does not open this backup"),
        e => not_backup(e.to_string()),
    })?;

    let parent = match into.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let stage = tempfile::Builder::new().prefix(".liaison-restore-").tempdir_in(&parent).map_err(io_err(&parent))?;
    let tampered = |reason: String| BackupError::Tampered { file: file.to_path_buf(), reason };
    let mut archive = tar::Archive::new(reader);
    let mut entries = archive.entries().map_err(|e| tampered(e.to_string()))?;
    let manifest: Manifest = {
        let mut first = entries
            .next()
            .ok_or_else(|| not_backup("the archive is empty".into()))?
            .map_err(|e| tampered(e.to_string()))?;
        let path = first.path().map_err(|e| tampered(e.to_string()))?.to_string_lossy().into_owned();
        if path != MANIFEST {
            return Err(not_backup(format!("its first entry is {path:?}, not {MANIFEST}")));
        }
        let mut json = Vec::new();
        (&mut first).take(MAX_MANIFEST_BYTES).read_to_end(&mut json).map_err(|e| tampered(e.to_string()))?;
        serde_json::from_slice(&json).map_err(|e| not_backup(format!("its manifest does not read: {e}")))?
    };
    if manifest.format != FORMAT {
        return Err(not_backup(format!("its manifest's format is {:?}", manifest.format)));
    }
    let newer = |what, found: u32, known: u32| BackupError::Newer { file: file.to_path_buf(), what, found, known };
    if manifest.format_version > FORMAT_VERSION {
        return Err(newer("the archive format", manifest.format_version, FORMAT_VERSION));
    }
    if let Some(v) = manifest.schema.store.filter(|v| *v > crate::store::SCHEMA_VERSION) {
        return Err(newer("the store's schema", v, crate::store::SCHEMA_VERSION));
    }
    if manifest.schema.accounts > crate::accounts::SCHEMA_VERSION {
        return Err(newer("the accounts schema", manifest.schema.accounts, crate::accounts::SCHEMA_VERSION));
    }
    let mut seen = std::collections::BTreeSet::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| tampered(e.to_string()))?;
        let rel = entry.path().map_err(|e| tampered(e.to_string()))?.to_string_lossy().into_owned();
        let want = manifest
            .files
            .iter()
            .find(|f| f.path == rel)
            .ok_or_else(|| tampered(format!("{rel:?} is not in its manifest")))?;
        if !safe_relative(&rel) || !seen.insert(rel.clone()) || entry.header().entry_type() != tar::EntryType::Regular {
            return Err(tampered(format!("entry {rel:?} is not a plain file inside the data dir, or is there twice")));
        }
        let dest = stage.path().join(&rel);
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let mut out = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(restored_mode(&rel, want.mode))
            .open(&dest)
            .map_err(io_err(&dest))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut n = 0u64;
        loop {
            let k = entry.read(&mut buf).map_err(|e| tampered(e.to_string()))?;
            if k == 0 {
                break;
            }
            h.update(&buf[..k]);
            out.write_all(&buf[..k]).map_err(io_err(&dest))?;
            n += k as u64;
            on_bytes(k as u64);
        }
        out.sync_all().map_err(io_err(&dest))?;
        if n != want.bytes || hex::encode(h.finalize()) != want.sha256 {
            return Err(tampered(format!("{rel} does not match its SHA-256 in the manifest")));
        }
    }
    // Read the age stream to its end: its last chunk is authenticated too, so a cut archive fails.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| tampered(e.to_string()))?;
    if let Some(missing) = manifest.files.iter().find(|f| !seen.contains(&f.path)) {
        return Err(tampered(format!("{} is in the manifest but not in the archive", missing.path)));
    }
    if stage.path().join(crate::store::DB_FILE).exists() {
        crate::store::Store::give_new_actor(stage.path())?;
    }
    // Directories 0700, then into place.
    for rel in walk(stage.path(), &|_| false)? {
        let mut p = stage.path().join(&rel);
        while let Some(dir) = p.parent().map(Path::to_path_buf) {
            if dir == stage.path() {
                break;
            }
            fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).map_err(io_err(&dir))?;
            p = dir;
        }
    }
    check_target(into)?;
    if into.exists() {
        for e in fs::read_dir(stage.path()).map_err(io_err(stage.path()))? {
            let e = e.map_err(io_err(stage.path()))?;
            let to = into.join(e.file_name());
            fs::rename(e.path(), &to).map_err(io_err(&to))?;
        }
    } else {
        fs::rename(stage.path(), into).map_err(io_err(into))?;
    }
    fs::set_permissions(into, fs::Permissions::from_mode(0o700)).map_err(io_err(into))?;
    Ok(manifest)
}
