//! Key slots: where item keys can be destroyed for real (crypto-shredding).
//!
//! redb is copy-on-write: a removed or replaced value stays in a freed page until that page is
//! reused, and nothing zeroes it. A key wrap kept there could be read back from the disk after
//! the item was "destroyed" (and the Party's own long-term sealing key opens it). So the store
//! never keeps an item's key wrap as it came: it encrypts each wrap under a fresh random 256-bit
//! key of its own (ChaCha20-Poly1305), and keeps that key in one fixed-size slot of this file.
//! Destroying the item overwrites the slot with zeros in place and syncs the file; what stays
//! in redb's freed pages is then ciphertext under a key that exists nowhere.
//!
//! Why a plain file: it is the one place whose bytes we can overwrite in place. That holds on
//! the file systems a node runs on (ext4, xfs); on copy-on-write file systems (btrfs, zfs) an
//! overwrite goes to a new block, so the node warns at start (see [`copy_on_write_fs`]). Flash
//! translation layers may also keep an old block until the device erases it; full-disk
//! encryption covers that, and the README says so.
//!
//! Layout: slot `i` is bytes `32 i .. 32 i + 32` of `keys/item-key-slots`; all zeros is a free
//! slot. Writes are synced when the store commits, before the database commit that refers to
//! them, so a crash leaves at worst a slot nobody refers to, zeroed at the next open.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::StoreError;
use crate::ids::fill_random;

/// The slot file, relative to the data dir.
pub const SLOTS_FILE: &str = "keys/item-key-slots";
const SLOT: u64 = 32;
/// Associated data of a locked wrap: what it is, and which item and Party it belongs to.
const DOMAIN: &[u8] = b"liaison/locked-key-wrap/v1";

/// A key wrap as the store keeps it: encrypted under the key in `slot`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockedWrap {
    /// The slot holding the key.
    pub slot: u32,
    /// AEAD nonce.
    #[serde(with = "serde_bytes")]
    pub nonce: [u8; 12],
    /// The wrap (postcard), encrypted.
    #[serde(with = "serde_bytes")]
    pub ct: Vec<u8>,
}

/// The open slot file.
pub struct KeySlots {
    file: File,
    path: PathBuf,
    /// Slots past the end of the file are free too.
    free: BTreeSet<u32>,
    len: u32,
    dirty: bool,
}

impl KeySlots {
    /// Opens (creating, mode 0600) the slot file of `data_dir`. Slots not in `used` are zeroed:
    /// they belong to a wrap whose commit never happened, or to one destroyed before a crash.
    pub fn open(data_dir: &Path, used: &BTreeSet<u32>) -> Result<KeySlots, StoreError> {
        let path = data_dir.join(SLOTS_FILE);
        let p2 = path.clone();
        let io = |source| StoreError::Io { path: p2.clone(), source };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io { path: dir.to_path_buf(), source })?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(&io)?;
        let bytes = file.metadata().map_err(&io)?.len();
        let len = u32::try_from(bytes / SLOT).map_err(|_| StoreError::Corrupt {
            path: path.clone(),
            table: "item-key-slots",
            reason: "too many slots".into(),
        })?;
        let mut slots = KeySlots { file, path, free: BTreeSet::new(), len, dirty: false };
        let mut key = [0u8; 32];
        for i in 0..len {
            if used.contains(&i) {
                continue;
            }
            slots.file.read_exact_at(&mut key, u64::from(i) * SLOT).map_err(&io)?;
            if key != [0u8; 32] {
                slots.file.write_all_at(&[0u8; 32], u64::from(i) * SLOT).map_err(&io)?;
                slots.dirty = true;
            }
            slots.free.insert(i);
        }
        key.zeroize();
        slots.sync()?;
        Ok(slots)
    }

    fn io(&self, source: std::io::Error) -> StoreError {
        StoreError::Io { path: self.path.clone(), source }
    }

    /// A free slot filled with a fresh random key.
    fn take(&mut self) -> Result<(u32, Key), StoreError> {
        let slot = match self.free.pop_first() {
            Some(s) => s,
            None => {
                self.len = self.len.checked_add(1).ok_or_else(|| self.io(std::io::Error::other("no free key slot")))?;
                self.len - 1
            }
        };
        let mut key = [0u8; 32];
        fill_random(&mut key);
        self.file.write_all_at(&key, u64::from(slot) * SLOT).map_err(|e| self.io(e))?;
        self.dirty = true;
        let k = Key::from(key);
        key.zeroize();
        Ok((slot, k))
    }

    fn key(&self, slot: u32) -> Result<Option<Key>, StoreError> {
        if slot >= self.len || self.free.contains(&slot) {
            return Ok(None);
        }
        let mut key = [0u8; 32];
        self.file.read_exact_at(&mut key, u64::from(slot) * SLOT).map_err(|e| self.io(e))?;
        let out = (key != [0u8; 32]).then(|| Key::from(key));
        key.zeroize();
        Ok(out)
    }

    /// Overwrites a slot with zeros; synced at the next [`KeySlots::sync`].
    pub fn shred(&mut self, slot: u32) -> Result<(), StoreError> {
        if slot >= self.len {
            return Ok(());
        }
        self.file.write_all_at(&[0u8; 32], u64::from(slot) * SLOT).map_err(|e| self.io(e))?;
        self.free.insert(slot);
        self.dirty = true;
        Ok(())
    }

    /// Makes every slot write since the last sync durable.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        if self.dirty {
            self.file.sync_data().map_err(|e| self.io(e))?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Encrypts `plain` (a wrap) under a fresh slot; `aad` names what it belongs to.
    pub fn lock(&mut self, plain: &[u8], aad: &[u8]) -> Result<LockedWrap, StoreError> {
        let (slot, key) = self.take()?;
        let mut nonce = [0u8; 12];
        fill_random(&mut nonce);
        let ct = ChaCha20Poly1305::new(&key)
            .encrypt(&Nonce::from(nonce), Payload { msg: plain, aad: &[DOMAIN, aad].concat() })
            .map_err(|_| self.io(std::io::Error::other("cannot encrypt a key wrap")))?;
        Ok(LockedWrap { slot, nonce, ct })
    }

    /// Decrypts a locked wrap; none if its slot was shredded.
    pub fn unlock(&self, w: &LockedWrap, aad: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(key) = self.key(w.slot)? else { return Ok(None) };
        ChaCha20Poly1305::new(&key)
            .decrypt(&Nonce::from(w.nonce), Payload { msg: &w.ct, aad: &[DOMAIN, aad].concat() })
            .map(Some)
            .map_err(|_| StoreError::Corrupt {
                path: self.path.clone(),
                table: "item-key-slots",
                reason: format!("slot {} does not open its key wrap", w.slot),
            })
    }

    /// The key in a slot, for forensic tests that check it is gone from the disk.
    #[doc(hidden)]
    pub fn raw_key(&self, slot: u32) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(self.key(slot)?.map(Into::into))
    }
}

/// Opens a locked wrap with a key found anywhere (for forensic tests: what could someone who
/// holds the disk open with the keys on it?).
#[doc(hidden)]
pub fn unlock_with(key: &[u8; 32], w: &LockedWrap, aad: &[u8]) -> Option<Vec<u8>> {
    ChaCha20Poly1305::new(&Key::from(*key))
        .decrypt(&Nonce::from(w.nonce), Payload { msg: &w.ct, aad: &[DOMAIN, aad].concat() })
        .ok()
}

/// The name of the copy-on-write file system `path` is on, if it is one: there an overwrite
/// does not replace the old block, so a destroyed key may stay on the disk.
pub fn copy_on_write_fs(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `s` a properly sized out-parameter.
    if unsafe { libc::statfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)]
    match s.f_type as i64 {
        0x9123_683E => Some("btrfs"),
        0x2FC1_2FC1 => Some("zfs"),
        0xCA45_1A4E => Some("bcachefs"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shredded_slot_is_zero_on_disk_and_opens_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = KeySlots::open(dir.path(), &BTreeSet::new()).unwrap();
        let a = s.lock(b"wrap a", b"item-a").unwrap();
        let b = s.lock(b"wrap b", b"item-b").unwrap();
        s.sync().unwrap();
        assert_ne!(a.slot, b.slot);
        assert_eq!(s.unlock(&a, b"item-a").unwrap().as_deref(), Some(&b"wrap a"[..]));
        assert!(s.unlock(&a, b"item-b").is_err(), "a wrap opened for another item");
        let key_a = s.raw_key(a.slot).unwrap().unwrap();
        let file = std::fs::read(dir.path().join(SLOTS_FILE)).unwrap();
        assert!(file.windows(32).any(|w| w == key_a), "the key is not where the scan looks");
        s.shred(a.slot).unwrap();
        s.sync().unwrap();
        assert_eq!(s.unlock(&a, b"item-a").unwrap(), None);
        let file = std::fs::read(dir.path().join(SLOTS_FILE)).unwrap();
        assert!(!file.windows(32).any(|w| w == key_a), "the shredded key is still in the file");
        assert_eq!(s.unlock(&b, b"item-b").unwrap().as_deref(), Some(&b"wrap b"[..]));
        // The freed slot is taken again; an orphan slot is zeroed at open.
        let c = s.lock(b"wrap c", b"item-c").unwrap();
        assert_eq!(c.slot, a.slot);
        drop(s);
        let used: BTreeSet<u32> = [b.slot].into();
        let s = KeySlots::open(dir.path(), &used).unwrap();
        assert_eq!(s.unlock(&c, b"item-c").unwrap(), None, "an orphan slot survived the open");
        assert!(s.unlock(&b, b"item-b").unwrap().is_some());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(dir.path().join(SLOTS_FILE)).unwrap().permissions(),
        ) & 0o777;
        assert_eq!(mode, 0o600);
    }
}
