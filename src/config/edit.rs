//! Changes to `node.toml` that keep the sysadmin's comments and layout (through `toml_edit`),
//! written atomically so that a crash leaves either the old or the new file, and one at a time
//! (an exclusive lock on `node.toml.lock`), so that two at once (the CLI and the web app's admin
//! page, say) cannot lose one another's change.

use std::io::Write;
use std::path::Path;

use libp2p::PeerId;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, value};

use super::{ConfigError, NodeConfig, PinnedPeer};

/// Holds the config's edit lock while `f` reads, changes and writes it.
fn locked<T>(data_dir: &Path, f: impl FnOnce() -> Result<T, ConfigError>) -> Result<T, ConfigError> {
    use std::os::fd::AsRawFd;
    let file = NodeConfig::path(data_dir).with_extension("toml.lock");
    let err = |source| ConfigError::Write { file: file.clone(), source };
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&file).map_err(err)?;
    // SAFETY: flock on a descriptor we own; the lock is released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(err(std::io::Error::last_os_error()));
    }
    f()
}

/// Pins `peer` in the config of `data_dir`. Refuses a peer id that is already pinned.
pub fn add_peer(data_dir: &Path, peer: &PinnedPeer) -> Result<NodeConfig, ConfigError> {
    locked(data_dir, || add_peer_locked(data_dir, peer))
}

fn add_peer_locked(data_dir: &Path, peer: &PinnedPeer) -> Result<NodeConfig, ConfigError> {
    let file = NodeConfig::path(data_dir);
    let config = NodeConfig::load(data_dir)?;
    if config.peer(&peer.peer_id).is_some() {
        return Err(ConfigError::Invalid {
            file,
            key: "peers".into(),
            reason: format!(
                "{} is already pinned; `liaison peer remove {}` first to change it",
                peer.peer_id, peer.peer_id
            ),
        });
    }
    let mut doc = read_doc(&file)?;
    let mut t = Table::new();
    t.insert("party_id", value(peer.party_id.as_str()));
    t.insert("peer_id", value(peer.peer_id.to_string()));
    let mut addrs = toml_edit::Array::new();
    for a in &peer.addrs {
        addrs.push(a.to_string());
    }
    t.insert("addrs", value(addrs));
    t.insert("role", value(peer.role.to_string()));
    if let Some(k) = peer.signing_key {
        t.insert("signing_key", value(hex::encode(k)));
    }
    if let Some(k) = peer.sealing_key {
        t.insert("sealing_key", value(hex::encode(k)));
    }
    match doc.get_mut("peers") {
        Some(Item::ArrayOfTables(a)) => a.push(t),
        Some(_) => {
            return Err(ConfigError::Invalid {
                file,
                key: "peers".into(),
                reason: "must be an array of [[peers]] tables".into(),
            });
        }
        None => {
            let mut a = ArrayOfTables::new();
            a.push(t);
            doc.insert("peers", Item::ArrayOfTables(a));
        }
    }
    write_checked(data_dir, &file, &doc)
}

/// Unpins `peer_id`. Returns the new config, or an error if it was not pinned.
pub fn remove_peer(data_dir: &Path, peer_id: &PeerId) -> Result<NodeConfig, ConfigError> {
    locked(data_dir, || remove_peer_locked(data_dir, peer_id))
}

fn remove_peer_locked(data_dir: &Path, peer_id: &PeerId) -> Result<NodeConfig, ConfigError> {
    let file = NodeConfig::path(data_dir);
    let mut doc = read_doc(&file)?;
    let wanted = peer_id.to_string();
    let removed = match doc.get_mut("peers") {
        Some(Item::ArrayOfTables(a)) => {
            let before = a.len();
            a.retain(|t| t.get("peer_id").and_then(|v| v.as_str()) != Some(wanted.as_str()));
            before != a.len()
        }
        _ => false,
    };
    if !removed {
        return Err(ConfigError::Invalid {
            file,
            key: "peers".into(),
            reason: format!("{peer_id} is not pinned (`liaison peer list` shows the pinned peers)"),
        });
    }
    write_checked(data_dir, &file, &doc)
}

fn read_doc(file: &Path) -> Result<DocumentMut, ConfigError> {
    let text =
        std::fs::read_to_string(file).map_err(|source| ConfigError::Read { file: file.to_path_buf(), source })?;
    text.parse::<DocumentMut>().map_err(|e| ConfigError::Parse {
        file: file.to_path_buf(),
        line: 0,
        column: 0,
        key: "(syntax)".into(),
        reason: e.to_string(),
    })
}

/// Validates the new text before it replaces the old file, so an edit can never leave a config
/// the node would refuse to start with.
fn write_checked(data_dir: &Path, file: &Path, doc: &DocumentMut) -> Result<NodeConfig, ConfigError> {
    let text = doc.to_string();
    let config = NodeConfig::parse(data_dir, file, &text)?;
    let tmp = file.with_extension("toml.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, file)?;
        if let Some(dir) = file.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    };
    write().map_err(|source| ConfigError::Write { file: file.to_path_buf(), source })?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{PeerRole, render_template};

    /// A data dir with the commented config `init` writes.
    fn node_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let text = render_template(
            &"cica".parse().unwrap(),
            "CICA",
            &["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            &[],
            "127.0.0.1:0".parse().unwrap(),
        );
        std::fs::write(dir.path().join("node.toml"), &text).unwrap();
        dir
    }

    #[test]
    fn add_and_remove_keep_comments() {
        let dir = node_dir();
        let peer = PinnedPeer {
            party_id: "sco-rats".parse().unwrap(),
            peer_id: PeerId::random(),
            addrs: vec!["/ip4/127.0.0.1/tcp/9".parse().unwrap()],
            role: PeerRole::Party,
            signing_key: Some([7; 32]),
            sealing_key: None,
        };
        let c = add_peer(dir.path(), &peer).unwrap();
        assert_eq!(c.peers, vec![peer.clone()]);
        assert!(add_peer(dir.path(), &peer).unwrap_err().to_string().contains("already pinned"));
        let after = std::fs::read_to_string(dir.path().join("node.toml")).unwrap();
        assert!(after.contains("# Largest message a peer may send"));
        let c = remove_peer(dir.path(), &peer.peer_id).unwrap();
        assert!(c.peers.is_empty());
        assert!(remove_peer(dir.path(), &peer.peer_id).unwrap_err().to_string().contains("not pinned"));
    }

    #[test]
    fn concurrent_edits_keep_every_peer() {
        let dir = node_dir();
        let peers: Vec<PinnedPeer> = (0..8)
            .map(|_| PinnedPeer {
                party_id: "sco-rats".parse().unwrap(),
                peer_id: PeerId::random(),
                addrs: vec![],
                role: PeerRole::ThirdParty,
                signing_key: None,
                sealing_key: None,
            })
            .collect();
        std::thread::scope(|s| {
            for p in &peers {
                s.spawn(|| add_peer(dir.path(), p).unwrap());
            }
        });
        let c = NodeConfig::load(dir.path()).unwrap();
        assert_eq!(c.peers.len(), peers.len(), "an edit was lost");
    }
}
