//! Officers' calendar feeds: a secret URL per account that a calendar program polls, without a
//! login (`GET /api/calendar/{secret}.ics`).
//!
//! Table `calendar_feeds`: key the SHA-256 of the secret, value the account's name; at most one
//! row per account. The file holds nothing that opens a feed. A new secret replaces the old one;
//! a revoked one is gone. A feed answers only while its account exists and is enabled.

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use sha2::{Digest, Sha256};

use super::{AccountError, AccountInfo, Accounts, Result};

/// SHA-256 of a feed secret → account name.
const FEEDS: TableDefinition<&[u8], &str> = TableDefinition::new("calendar_feeds");

/// Length of a secret: 32 random bytes in hex.
const SECRET_CHARS: usize = 64;

fn key_of(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl Accounts {
    /// Gives `name` a new calendar-feed secret, replacing the one it had; answers the secret,
    /// which is stored only as its SHA-256 and so is shown this once.
    pub fn calendar_feed_new(&self, name: &str) -> Result<String> {
        if self.get_stored(name)?.is_none() {
            return Err(AccountError::NoSuch(name.into()));
        }
        let mut bytes = [0u8; 32];
        crate::ids::fill_random(&mut bytes);
        let secret = hex::encode(bytes);
        self.calendar_feed_write(name, Some(&key_of(&secret)))?;
        Ok(secret)
    }

    /// Revokes `name`'s feed; answers whether it had one.
    pub fn calendar_feed_revoke(&self, name: &str) -> Result<bool> {
        if self.get_stored(name)?.is_none() {
            return Err(AccountError::NoSuch(name.into()));
        }
        self.calendar_feed_write(name, None)
    }

    /// Whether `name` has a feed.
    pub fn calendar_feed_active(&self, name: &str) -> Result<bool> {
        let tx = self.db.begin_read().map_err(|e| self.err(e))?;
        let t = match tx.open_table(FEEDS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(false),
            Err(e) => return Err(self.err(e)),
        };
        for row in t.iter().map_err(|e| self.err(e))? {
            if row.map_err(|e| self.err(e))?.1.value() == name {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The enabled account whose feed `secret` opens, if any.
    pub fn calendar_feed_account(&self, secret: &str) -> Result<Option<AccountInfo>> {
        if secret.len() != SECRET_CHARS || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let name = {
            let tx = self.db.begin_read().map_err(|e| self.err(e))?;
            let t = match tx.open_table(FEEDS) {
                Ok(t) => t,
                Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
                Err(e) => return Err(self.err(e)),
            };
            match t.get(key_of(secret).as_slice()).map_err(|e| self.err(e))? {
                Some(v) => v.value().to_string(),
                None => return Ok(None),
            }
        };
        Ok(self.get(&name)?.filter(|a| !a.disabled))
    }

    /// Removes `name`'s feed rows and, with `key`, adds its new one, in one transaction.
    fn calendar_feed_write(&self, name: &str, key: Option<&[u8; 32]>) -> Result<bool> {
        let tx = self.db.begin_write().map_err(|e| self.err(e))?;
        let had;
        {
            let mut t = tx.open_table(FEEDS).map_err(|e| self.err(e))?;
            let mut old = Vec::new();
            for row in t.iter().map_err(|e| self.err(e))? {
                let (k, v) = row.map_err(|e| self.err(e))?;
                if v.value() == name {
                    old.push(k.value().to_vec());
                }
            }
            had = !old.is_empty();
            for k in old {
                t.remove(k.as_slice()).map_err(|e| self.err(e))?;
            }
            if let Some(key) = key {
                t.insert(key.as_slice(), name).map_err(|e| self.err(e))?;
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(had)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Role;
    use super::*;

    #[test]
    fn a_feed_opens_with_its_current_secret_only_and_never_for_a_disabled_account() {
        let dir = tempfile::tempdir().unwrap();
        let a = Accounts::open(dir.path()).unwrap();
        a.add("omar", Role::Viewer).unwrap();
        assert!(!a.calendar_feed_active("omar").unwrap());
        assert!(a.calendar_feed_account(&"0".repeat(64)).unwrap().is_none());
        let first = a.calendar_feed_new("omar").unwrap();
        assert_eq!(a.calendar_feed_account(&first).unwrap().unwrap().name, "omar");
        let second = a.calendar_feed_new("omar").unwrap();
        assert!(a.calendar_feed_account(&first).unwrap().is_none(), "replaced");
        assert!(a.calendar_feed_account(&second).unwrap().is_some());
        a.disable("omar").unwrap();
        assert!(a.calendar_feed_account(&second).unwrap().is_none(), "disabled");
        a.enable("omar").unwrap();
        assert!(a.calendar_feed_revoke("omar").unwrap());
        assert!(a.calendar_feed_account(&second).unwrap().is_none(), "revoked");
        assert!(!a.calendar_feed_revoke("omar").unwrap());
        assert!(matches!(a.calendar_feed_new("nobody"), Err(AccountError::NoSuch(_))));
        // Only hashes on disk.
        let third = a.calendar_feed_new("omar").unwrap();
        drop(a);
        let bytes = std::fs::read(dir.path().join(super::super::ACCOUNTS_FILE)).unwrap();
        assert!(!bytes.windows(64).any(|w| w == third.as_bytes()));
    }
}
