//! The data dir's lock: one process at a time may serve or change a node's store.
//!
//! An advisory `flock` on `DATA_DIR/lock`, released by the kernel when the process dies (so a
//! `kill -9` never leaves a stale lock). The holder writes its pid into the file, so that the
//! refusal can say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Name of the lock file in the data dir.
pub const LOCK_FILE: &str = "lock";

/// The data dir could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error("{} is in use by another liaison process{}; stop it first, or use another --data-dir", .dir.display(), .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Held {
        /// The data dir.
        dir: PathBuf,
        /// The holder's pid, if it wrote one.
        pid: Option<u32>,
    },
    /// The lock file could not be opened.
    #[error("{}: {source}", .file.display())]
    Io {
        /// The lock file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Whether a process holds the lock of `data_dir` now (a node is running on it).
    pub fn is_held(data_dir: &Path) -> bool {
        match OpenOptions::new().read(true).write(true).open(data_dir.join(LOCK_FILE)) {
            Ok(f) => matches!(f.try_lock(), Err(TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }

    /// Takes the lock of `data_dir`, or says who holds it.
    pub fn acquire(data_dir: &Path) -> Result<DirLock, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |source| LockError::Io { file: path.clone(), source };
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(LockError::Held { dir: data_dir.to_path_buf(), pid: text.trim().parse().ok() });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        write!(file, "{}", std::process::id()).map_err(io)?;
        Ok(DirLock { _file: file })
    }
}
