//! What every database of the data dir does before it is opened for writing: read its schema
//! version without writing, refuse a newer one, and copy an older one aside so that the
//! migration that follows can be undone by hand. (The store's own steps are `MIGRATIONS` in
//! `store.rs`; this is the part the accounts database shares.)

use std::path::{Path, PathBuf};

use redb::{ReadableDatabase, TableDefinition};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// A database that cannot be opened as it is.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// Written by a newer liaison.
    #[error("{}: schema version {found} was written by a newer liaison; this one reads versions up to {known} (run the newer liaison, or restore a backup taken with this one)", .file.display())]
    Newer {
        /// The database file.
        file: PathBuf,
        /// Its version.
        found: u32,
        /// The newest this binary knows.
        known: u32,
    },
    /// The copy could not be taken.
    #[error("{}: cannot copy the database aside before migrating it: {source}", .file.display())]
    Copy {
        /// The copy's path.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The schema version a database file says it has (`meta` table, `schema`, u32 LE), read without
/// writing: `None` if there is no file or it cannot be read so (a crash left it to repair);
/// `absent` if it has no `meta` or no `schema` (a layout from before versions were written).
pub fn peek_version(file: &Path, absent: u32) -> Option<u32> {
    if !file.exists() {
        return None;
    }
    let db = redb::ReadOnlyDatabase::open(file).ok()?;
    let tx = db.begin_read().ok()?;
    let meta = match tx.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Some(absent),
        Err(_) => return None,
    };
    match meta.get("schema").ok()? {
        Some(v) => Some(u32::from_le_bytes(v.value().try_into().ok()?)),
        None => Some(absent),
    }
}

/// Copies `file` to `<file>.v<version>-backup-<unix time>` beside it.
pub fn copy_aside(file: &Path, version: u32) -> Result<PathBuf, MigrateError> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let copy = file.with_file_name(format!("{name}.v{version}-backup-{}", chrono::Utc::now().timestamp()));
    std::fs::copy(file, &copy).map_err(|source| MigrateError::Copy { file: copy.clone(), source })?;
    tracing::warn!(copy = %copy.display(), "{name} of version {version}: a copy was taken before migrating it");
    Ok(copy)
}

/// Before the accounts database is opened: refuses a newer one, copies an older one aside.
/// Answers the version found.
pub fn accounts_before_open(file: &Path) -> Result<Option<u32>, MigrateError> {
    let known = crate::accounts::SCHEMA_VERSION;
    let found = peek_version(file, 0);
    match found {
        Some(v) if v > known => return Err(MigrateError::Newer { file: file.to_path_buf(), found: v, known }),
        Some(v) if v < known => {
            copy_aside(file, v)?;
        }
        _ => {}
    }
    Ok(found)
}
