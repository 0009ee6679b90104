//! The data dir's lock: one process at a time may serve or change a node's store.
//!
//! An advisory `flock` on `DATA_DIR/lock`, released by the kernel when the process dies (so a
//! `kill -9` never leaves a stale lock). The holder writes `PID ROLE` into the file (and empties
//! it as it lets go), so that the others can tell who holds it.
//!
//! A CLI command holds the lock only for as long as it reads or changes a stopped node's store,
//! a few milliseconds; `serve` holds it for the node's life. So:
//! - while a *command* holds it, whoever wants it waits (up to [`WAIT`]): a monitoring check that
//!   runs `liaison status` in a loop must never make a starting `serve` fail;
//! - while a *serve* holds it, whoever wants it is refused at once ([`LockError::Held`] with
//!   [`Role::Serve`]): a node never runs twice on one data dir, and a command that would change
//!   the store of a node that is starting says so instead of waiting or writing under it.
//!
//! A waiting `serve` must not be starved by a stream of commands: it takes the *gate*
//! (`DATA_DIR/lock.gate`) while it waits, and a command that finds the gate taken waits for it
//! to be free before it reaches for the lock. Only the commands that were already past the gate
//! are waited for.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Name of the lock file in the data dir.
pub const LOCK_FILE: &str = "lock";
/// Name of the gate a waiting `serve` takes, so that commands started after it wait their turn.
pub const GATE_FILE: &str = "lock.gate";
/// How long one waits for a command that holds the lock before giving up.
pub const WAIT: Duration = Duration::from_secs(30);
/// How often a waiter looks again.
const POLL: Duration = Duration::from_millis(5);

/// Who holds (or wants) the lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `liaison serve`, for the node's life.
    Serve,
    /// A CLI command on a stopped node's store, for a moment.
    Command,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Serve => "serve",
            Role::Command => "command",
        }
    }
}

/// The data dir could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// A running node holds it: it is not waited for.
    #[error("{} is in use by another liaison process: the node serving it{}; stop it first, or use another --data-dir", .dir.display(), .pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Served {
        /// The data dir.
        dir: PathBuf,
        /// The node's pid.
        pid: Option<u32>,
    },
    /// Another process held it for longer than [`WAIT`].
    #[error("{} is in use by another liaison process{} and still was after {}s; try again, or find that process", .dir.display(), .pid.map(|p| format!(" (pid {p})")).unwrap_or_default(), WAIT.as_secs())]
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
    file: File,
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Emptied before the kernel lets go, so that the next waiter never reads a holder that
        // is gone and takes a stopped node for a running one.
        let _ = self.file.set_len(0);
    }
}

/// What the lock file says of its holder.
#[derive(Debug, Default, PartialEq, Eq)]
struct Holder {
    pid: Option<u32>,
    serve: bool,
}

fn read_holder(file: &mut File) -> Holder {
    let mut text = String::new();
    let _ = file.seek(SeekFrom::Start(0));
    let _ = file.read_to_string(&mut text);
    parse_holder(&text)
}

fn parse_holder(text: &str) -> Holder {
    let mut words = text.split_whitespace();
    let pid = words.next().and_then(|w| w.parse().ok());
    // A pid alone is the old format, written by a serve or a command alike: treated as a
    // command (waited for), which is right for both in the end.
    Holder { pid, serve: words.next() == Some(Role::Serve.as_str()) }
}

/// Whether process `pid` exists (a node killed with SIGKILL leaves its line in the file).
fn alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

impl DirLock {
    /// Whether a process holds the lock of `data_dir` now (a node is running on it). Looks
    /// with a shared lock, so that looking never keeps a starting `serve` out.
    pub fn is_held(data_dir: &Path) -> bool {
        match OpenOptions::new().read(true).open(data_dir.join(LOCK_FILE)) {
            Ok(f) => matches!(f.try_lock_shared(), Err(TryLockError::WouldBlock)),
            Err(_) => false,
        }
    }

    /// Takes the lock of `data_dir` for a CLI command (see [`DirLock::acquire_as`]).
    pub fn acquire(data_dir: &Path) -> Result<DirLock, LockError> {
        Self::acquire_as(data_dir, Role::Command)
    }

    /// Takes the lock of `data_dir` as `role`: waits (up to [`WAIT`]) while a command holds it,
    /// and is refused at once while a node serves it.
    pub fn acquire_as(data_dir: &Path, role: Role) -> Result<DirLock, LockError> {
        let path = data_dir.join(LOCK_FILE);
        let io = |file: &Path| {
            let file = file.to_path_buf();
            move |source| LockError::Io { file, source }
        };
        let open = |p: &Path| OpenOptions::new().read(true).write(true).create(true).truncate(false).open(p);
        let deadline = Instant::now() + WAIT;
        let gate_path = data_dir.join(GATE_FILE);
        let gate = open(&gate_path).map_err(io(&gate_path))?;
        match role {
            // Held while waiting: the commands that start from now on wait behind this serve.
            Role::Serve => wait_for(&deadline, || gate.try_lock()).map_err(io(&gate_path))?,
            // Only passed through: a command never keeps a serve waiting at the gate.
            Role::Command => {
                wait_for(&deadline, || gate.try_lock_shared()).map_err(io(&gate_path))?;
                gate.unlock().map_err(io(&gate_path))?;
            }
        }
        let mut file = open(&path).map_err(io(&path))?;
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let last = read_holder(&mut file);
                    let me = std::process::id();
                    let serving = last.serve && last.pid.is_some_and(|p| p != me && alive(p));
                    // Within one process, two opens of one data dir are a mistake, never a wait.
                    if serving || last.pid == Some(me) {
                        return Err(LockError::Served { dir: data_dir.to_path_buf(), pid: last.pid });
                    }
                    if !told {
                        told = true;
                        tracing::info!(dir = %data_dir.display(), pid = ?last.pid, "waiting for a liaison command to release the data dir");
                    }
                    if Instant::now() >= deadline {
                        return Err(LockError::Held { dir: data_dir.to_path_buf(), pid: last.pid });
                    }
                    std::thread::sleep(POLL);
                }
                Err(TryLockError::Error(e)) => return Err(io(&path)(e)),
            }
        }
        file.set_len(0).map_err(io(&path))?;
        file.seek(SeekFrom::Start(0)).map_err(io(&path))?;
        write!(file, "{} {}", std::process::id(), role.as_str()).map_err(io(&path))?;
        // Written before the gate opens: whoever passes it next reads who holds the lock.
        drop(gate);
        Ok(DirLock { file })
    }
}

/// Tries `take` until it succeeds or `deadline` passes (then the last refusal is returned as an
/// I/O error, which names the file).
fn wait_for(deadline: &Instant, take: impl Fn() -> Result<(), TryLockError>) -> std::io::Result<()> {
    loop {
        match take() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) if Instant::now() < *deadline => std::thread::sleep(POLL),
            Err(TryLockError::WouldBlock) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("another liaison process kept this gate for {}s", WAIT.as_secs()),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_process_never_waits_for_itself_and_the_line_goes_with_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let serving = DirLock::acquire_as(dir.path(), Role::Serve).unwrap();
        assert!(DirLock::is_held(dir.path()));
        let text = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert_eq!(parse_holder(&text), Holder { pid: Some(std::process::id()), serve: true });
        let start = Instant::now();
        let again = DirLock::acquire(dir.path());
        assert!(matches!(again, Err(LockError::Served { .. })), "{again:?}");
        assert!(start.elapsed() < Duration::from_secs(1), "refused at once");
        drop(serving);
        assert!(!DirLock::is_held(dir.path()));
        assert_eq!(std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(), "", "emptied as it lets go");
        DirLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn the_holder_line_is_read_old_and_new() {
        assert_eq!(parse_holder("42"), Holder { pid: Some(42), serve: false });
        assert_eq!(parse_holder("42 serve"), Holder { pid: Some(42), serve: true });
        assert_eq!(parse_holder("42 command"), Holder { pid: Some(42), serve: false });
        assert_eq!(parse_holder(""), Holder::default());
    }
}
