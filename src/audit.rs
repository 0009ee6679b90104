//! The audit log: an append-only, hash-chained record of everything that crosses the line
//! around provided information, each entry signed by the node.
//!
//! Entry `n` holds the hash of entry `n-1`; its own hash is SHA-256 of its canonical encoding;
//! the node signs that hash with its node key. The node also keeps a signed **head** (last
//! sequence number and hash), written in the same transaction as each append. [`verify`] then
//! finds an edited entry (hash), a forged one (signature), a removed or reordered one
//! (sequence and chain), and a cut-off tail (head). Anyone who holds the node key can of course
//! rewrite the whole log; the key file is mode 0600, and the provider keeps its own record of
//! where its items went.
//!
//! Entries never hold plaintext of an item: ids, parties, peers, officers and reasons only.

use libp2p::identity::{PublicKey, ed25519};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{ItemId, RecordId};

const ENTRY_DOMAIN: &[u8] = b"liaison/audit-entry/v1\0";
const HEAD_DOMAIN: &[u8] = b"liaison/audit-head/v1\0";

/// What happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged: the store's encoding (postcard) cannot read internally tagged enums.
#[serde(rename_all = "kebab-case")]
pub enum Event {
    /// An officer of our Party provided an item.
    ItemProvided {
        /// The item.
        item: ItemId,
        /// Handling marking.
        marking: String,
        /// Plaintext size.
        bytes: u64,
        /// The officer.
        officer: String,
        /// Cited mandate.
        mandate: Option<String>,
    },
    /// An item arrived from a peer and was stored.
    ItemReceived {
        /// The item.
        item: ItemId,
        /// Its provider.
        provider: String,
        /// The sending peer.
        from_peer: String,
        /// The grant it came under, for a third party.
        grant: Option<RecordId>,
    },
    /// An officer decrypted an item.
    ItemDecrypted {
        /// The item.
        item: ItemId,
        /// The officer.
        officer: String,
    },
    /// An item sent to a peer.
    Transmitted {
        /// The item.
        item: ItemId,
        /// The peer.
        to_peer: String,
        /// The peer's organisation.
        to_party: String,
        /// The grant, for a third party.
        grant: Option<RecordId>,
    },
    /// A transmission not made, and why.
    TransmissionRefused {
        /// The item.
        item: ItemId,
        /// The peer.
        to_peer: String,
        /// Why.
        reason: String,
    },
    /// Something a peer sent that was refused, and why.
    ReceiveRefused {
        /// What it was ("item", "grant", ...).
        what: String,
        /// Its id, if it had one.
        id: Option<String>,
        /// The peer.
        from_peer: String,
        /// Why.
        reason: String,
    },
    /// A consent record (request, grant, denial, revocation, acknowledgement, report) was made
    /// here or accepted from a peer.
    Consent {
        /// Its kind.
        kind: String,
        /// Its id.
        record: RecordId,
        /// The item.
        item: ItemId,
        /// The third party concerned.
        third_party: Option<String>,
        /// The officer, if made here; the peer, if received.
        by: String,
    },
    /// An item's key was destroyed (revocation at a third party, or deletion).
    KeyDestroyed {
        /// The item.
        item: ItemId,
        /// The revocation.
        revocation: Option<RecordId>,
    },
    /// The log began: the first entry of every node's log, so that a log wiped whole (entries
    /// and head) does not pass for a new node's empty one.
    LogStarted {
        /// The node's peer id.
        node: String,
        /// True when the store already had history but no log: the log was lost or removed.
        after_loss: bool,
    },
    /// The pinned peers changed.
    PeerConfig {
        /// The peer.
        peer: String,
        /// Its organisation.
        party: String,
        /// "pinned", "unpinned" or "role changed to ...".
        change: String,
    },
    /// The store was upgraded from before authenticated changes.
    Upgraded {
        /// Documents held.
        documents: u64,
        /// Actors sealed as having written before authentication.
        sealed_actors: u64,
        /// Records of our Party copied into its own documents.
        records_copied: u64,
    },
    /// A grant's expiry came: transmissions under it stop, and the third party destroys the key.
    GrantExpired {
        /// The grant.
        grant: RecordId,
        /// The item.
        item: ItemId,
        /// The third party it named.
        third_party: String,
    },
    /// An officer of this node did something in its Party's name in the shared workspace.
    PartyAct {
        /// What: officer-assigned, officer-ended, mandate-recorded, mandate-amended,
        /// mandate-withdrawn, draft-approved, draft-signed, draft-in-review, draft-withdrawn.
        act: String,
        /// What it was done to: an officer id, a mandate reference, a draft id.
        subject: String,
        /// The officer.
        officer: String,
    },
    /// The other Party's node sent an audit head that does not follow the last one witnessed of
    /// it: its log went back or changed.
    WitnessConflict {
        /// That node.
        node: String,
        /// The length witnessed before.
        witnessed_len: u64,
        /// The length now claimed.
        new_len: u64,
    },
    // Accounts and logins (the local API's officers).
    /// An account was made at this node.
    AccountAdded {
        /// Its name.
        name: String,
        /// Its role.
        role: String,
        /// Who made it: an admin's account, or the node's API token.
        by: String,
    },
    /// An account's role changed; its sessions ended.
    AccountRoleChanged {
        /// The account.
        name: String,
        /// The role before.
        from: String,
        /// The role now.
        to: String,
        /// Who changed it.
        by: String,
    },
    /// An account was disabled; its sessions ended.
    AccountDisabled {
        /// The account.
        name: String,
        /// Who disabled it.
        by: String,
    },
    /// An account's password was changed by its officer, or reset by an admin to a new one-time
    /// password; the account's other sessions ended.
    PasswordChanged {
        /// The account.
        name: String,
        /// Who changed it.
        by: String,
        /// True for an admin's reset.
        reset: bool,
    },
    /// An officer logged in.
    LoginSucceeded {
        /// The account.
        name: String,
        /// The client's address, when known.
        addr: Option<String>,
    },
    /// Failed logins for one name from one address in one interval (`limits.api.login_audit_secs`),
    /// counted rather than one entry each, so that a flood writes a bounded number of entries.
    LoginsFailed {
        /// The name tried (checked for length and control characters); `None` for the tries
        /// past `limits.api.login_tracked` names in one interval, counted together.
        name: Option<String>,
        /// The client's address, when known.
        addr: Option<String>,
        /// Passwords tried and wrong (or an unknown name, or a disabled account).
        failed: u64,
        /// Tries turned away unchecked because they came before their wait was over.
        refused: u64,
    },
    /// Requests from one peer refused after the first of an interval
    /// (`limits.peer.refusal_audit_secs`), counted in this one entry instead of one each. The
    /// first of each interval has its own entry.
    RefusalsCounted {
        /// The peer.
        from_peer: String,
        /// What was asked ("item request").
        what: String,
        /// How many were refused.
        count: u64,
        /// When the first of them came, RFC 3339.
        since: String,
        /// When the last of them came, RFC 3339.
        until: String,
        /// Why the last of them was refused.
        reason: String,
    },
    /// A disabled account was enabled again (it logs in with the password it had).
    AccountEnabled {
        /// The account.
        name: String,
        /// Who enabled it.
        by: String,
    },
    /// A backup of this node was taken (`liaison backup`): it holds the node's and the Party's
    /// keys and the keys of every item held then, so who took one, when, is on the record.
    BackupTaken {
        /// Whether the node was running ("running") or stopped ("stopped").
        taken_while: String,
        /// How the archive is encrypted: "passphrase" or "N age recipient(s)".
        protected_by: String,
        /// Items whose keys the backup holds.
        items: u64,
    },
}

/// One entry, before signing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Hash of the previous entry (zeros for the first).
    #[serde(with = "serde_bytes")]
    pub prev: [u8; 32],
    /// When, RFC 3339.
    pub at: String,
    /// What.
    pub event: Event,
}

/// An entry with its hash and the node's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEntry {
    /// The entry.
    pub entry: Entry,
    /// SHA-256 of the entry's encoding.
    #[serde(with = "serde_bytes")]
    pub hash: [u8; 32],
    /// The node key's signature over the hash.
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
}

/// The last entry's position and hash, signed: what makes a cut-off tail visible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Number of entries.
    pub len: u64,
    /// Hash of the last entry.
    #[serde(with = "serde_bytes")]
    pub hash: [u8; 32],
    /// The node key's signature over (len, hash).
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
}

/// What `verify` found wrong, naming the first bad entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// An entry's content does not match its hash: it was edited.
    #[error("entry {seq} was edited: its content does not match its hash")]
    Edited {
        /// The entry.
        seq: u64,
    },
    /// An entry's signature is not the node's.
    #[error("entry {seq} is not signed by this node")]
    Forged {
        /// The entry.
        seq: u64,
    },
    /// An entry is missing or out of place.
    #[error(
        "entry {seq}: expected sequence number {expected} here: an entry was removed or the entries were reordered"
    )]
    OutOfSequence {
        /// What was found.
        seq: u64,
        /// What was expected.
        expected: u64,
    },
    /// An entry does not follow from the previous one.
    #[error("entry {seq} does not chain to the entry before it: entries were removed, reordered or replaced")]
    BrokenChain {
        /// The entry.
        seq: u64,
    },
    /// The log ends before the signed head.
    #[error("the log ends after {len} entries but the signed head says {head_len}: entries from {len} on were cut off")]
    Truncated {
        /// Entries present.
        len: u64,
        /// Entries the head records.
        head_len: u64,
    },
    /// The head itself is not the node's.
    #[error("the log's signed head is not signed by this node or does not match the last entry")]
    BadHead,
    /// No entries and no head: every node's log starts with an entry when the node first starts,
    /// so the log was removed.
    #[error("the log is empty: every node records its start, so the whole log was removed")]
    Empty,
}

fn entry_hash(e: &Entry) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(ENTRY_DOMAIN);
    // Encoding plain data into a growable buffer cannot fail in postcard (its errors are for
    // full fixed buffers and self-describing types), so there is no error to carry here.
    h.update(postcard::to_allocvec(e).unwrap_or_default());
    h.finalize().into()
}

fn head_message(len: u64, hash: &[u8; 32]) -> Vec<u8> {
    let mut m = HEAD_DOMAIN.to_vec();
    m.extend_from_slice(&len.to_le_bytes());
    m.extend_from_slice(hash);
    m
}

/// Makes the next entry after `head` (none for the first), and the new head.
pub fn append(key: &ed25519::Keypair, head: Option<&Head>, at: String, event: Event) -> (SignedEntry, Head) {
    let (seq, prev) = head.map(|h| (h.len, h.hash)).unwrap_or((0, [0u8; 32]));
    let entry = Entry { seq, prev, at, event };
    let hash = entry_hash(&entry);
    let mut msg = ENTRY_DOMAIN.to_vec();
    msg.extend_from_slice(&hash);
    let signature = key.sign(&msg);
    let head_sig = key.sign(&head_message(seq + 1, &hash));
    (SignedEntry { entry, hash, signature }, Head { len: seq + 1, hash, signature: head_sig })
}

impl Event {
    /// The provided item this entry is about, if any.
    pub fn item(&self) -> Option<ItemId> {
        match self {
            Event::ItemProvided { item, .. }
            | Event::ItemReceived { item, .. }
            | Event::ItemDecrypted { item, .. }
            | Event::Transmitted { item, .. }
            | Event::TransmissionRefused { item, .. }
            | Event::Consent { item, .. }
            | Event::KeyDestroyed { item, .. }
            | Event::GrantExpired { item, .. } => Some(*item),
            Event::ReceiveRefused { id, .. } => id.as_deref().and_then(crate::ids::parse_id16).map(ItemId),
            Event::PeerConfig { .. }
            | Event::LogStarted { .. }
            | Event::Upgraded { .. }
            | Event::PartyAct { .. }
            | Event::WitnessConflict { .. } => None,
            Event::AccountAdded { .. }
            | Event::AccountRoleChanged { .. }
            | Event::AccountDisabled { .. }
            | Event::AccountEnabled { .. }
            | Event::PasswordChanged { .. }
            | Event::LoginSucceeded { .. }
            | Event::LoginsFailed { .. } => None,
            Event::RefusalsCounted { .. } | Event::BackupTaken { .. } => None,
        }
    }
}

/// Why entries about an item could not be picked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemPrefixError {
    /// Not an item id nor a prefix of one (4 to 32 hex digits).
    #[error("{0:?} is not an item id or a prefix of one (4 to 32 hex digits)")]
    NotAnId(String),
    /// The prefix names more than one item in the log.
    #[error("{prefix:?} names {count} items in the log: give more digits")]
    Ambiguous {
        /// The prefix.
        prefix: String,
        /// How many items it names.
        count: usize,
    },
}

/// The entries about the one item whose id starts with `prefix` (as `liaison item` commands
/// take a unique prefix). Items are matched among those the log names, so an item deleted long
/// ago is found too. No entry about such an item: an empty list.
pub fn entries_about(entries: Vec<SignedEntry>, prefix: &str) -> Result<Vec<SignedEntry>, ItemPrefixError> {
    let p = prefix.trim().to_ascii_lowercase();
    if !(4..=32).contains(&p.len()) || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ItemPrefixError::NotAnId(prefix.to_string()));
    }
    let named: std::collections::BTreeSet<ItemId> =
        entries.iter().filter_map(|e| e.entry.event.item()).filter(|i| i.to_string().starts_with(&p)).collect();
    if named.len() > 1 {
        return Err(ItemPrefixError::Ambiguous { prefix: p, count: named.len() });
    }
    Ok(entries.into_iter().filter(|e| e.entry.event.item().is_some_and(|i| named.contains(&i))).collect())
}

/// Checks a whole log against the node's public key and its signed head. Returns the number of
/// entries, or the first problem.
pub fn verify(
    entries: impl IntoIterator<Item = SignedEntry>,
    node: &PublicKey,
    head: Option<&Head>,
) -> Result<u64, AuditError> {
    let mut expected = 0u64;
    let mut prev = [0u8; 32];
    for e in entries {
        if e.entry.seq != expected {
            return Err(AuditError::OutOfSequence { seq: e.entry.seq, expected });
        }
        if entry_hash(&e.entry) != e.hash {
            return Err(AuditError::Edited { seq: e.entry.seq });
        }
        let mut msg = ENTRY_DOMAIN.to_vec();
        msg.extend_from_slice(&e.hash);
        if !node.verify(&msg, &e.signature) {
            return Err(AuditError::Forged { seq: e.entry.seq });
        }
        if e.entry.prev != prev {
            return Err(AuditError::BrokenChain { seq: e.entry.seq });
        }
        prev = e.hash;
        expected += 1;
    }
    match head {
        None if expected == 0 => Err(AuditError::Empty),
        None => Err(AuditError::BadHead),
        Some(h) => {
            if !node.verify(&head_message(h.len, &h.hash), &h.signature) {
                return Err(AuditError::BadHead);
            }
            if h.len > expected {
                return Err(AuditError::Truncated { len: expected, head_len: h.len });
            }
            if h.len < expected || h.hash != prev {
                return Err(AuditError::BadHead);
            }
            Ok(expected)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: usize) -> (ed25519::Keypair, Vec<SignedEntry>, Head) {
        let key = ed25519::Keypair::generate();
        let mut head: Option<Head> = None;
        let mut out = Vec::new();
        for i in 0..n {
            let (e, h) = append(
                &key,
                head.as_ref(),
                format!("2026-11-28T10:00:0{i}Z"),
                Event::ItemDecrypted { item: ItemId([i as u8; 16]), officer: format!("officer {i}") },
            );
            out.push(e);
            head = Some(h);
        }
        (key, out, head.unwrap())
    }

    #[test]
    fn entries_about_an_item_are_found_by_a_unique_prefix_of_its_id() {
        // Items 00.., 01.., 02.., and a twin of 01.. that differs from its third byte on.
        let (key, mut entries, _) = log(3);
        let mut twin = [1u8; 16];
        twin[2..].fill(9);
        let twin = ItemId(twin);
        entries.push(append(&key, None, "t".into(), Event::ItemDecrypted { item: twin, officer: "x".into() }).0);
        let about = |p: &str| entries_about(entries.clone(), p);
        let first = ItemId([1; 16]).to_string();
        assert_eq!(about(&first).unwrap().len(), 1);
        assert_eq!(about("010101").unwrap()[0].entry.event.item(), Some(ItemId([1; 16])));
        assert_eq!(about("010109").unwrap()[0].entry.event.item(), Some(twin));
        assert_eq!(about("010101".to_uppercase().as_str()).unwrap().len(), 1);
        assert_eq!(about("0101"), Err(ItemPrefixError::Ambiguous { prefix: "0101".into(), count: 2 }));
        assert_eq!(about("010"), Err(ItemPrefixError::NotAnId("010".into())), "too short");
        assert_eq!(about("0z01"), Err(ItemPrefixError::NotAnId("0z01".into())));
        assert!(about("ffff").unwrap().is_empty(), "no item of the log starts so");
    }

    #[test]
    fn entries_survive_the_stores_encoding() {
        let (_, entries, _) = log(2);
        let bytes = postcard::to_allocvec(&entries[1]).unwrap();
        assert_eq!(postcard::from_bytes::<SignedEntry>(&bytes).unwrap(), entries[1]);
    }

    #[test]
    fn an_intact_log_verifies() {
        let (key, entries, head) = log(5);
        assert_eq!(verify(entries, &PublicKey::from(key.public()), Some(&head)), Ok(5));
    }

    #[test]
    fn a_log_wiped_whole_does_not_pass_for_an_empty_one() {
        let (key, _, head) = log(3);
        assert_eq!(verify(Vec::new(), &PublicKey::from(key.public()), None), Err(AuditError::Empty));
        // Wiping the entries but keeping the head is a cut-off tail.
        assert_eq!(
            verify(Vec::new(), &PublicKey::from(key.public()), Some(&head)),
            Err(AuditError::Truncated { len: 0, head_len: 3 })
        );
    }

    #[test]
    fn every_kind_of_tampering_names_the_first_bad_entry() {
        let (key, entries, head) = log(6);
        let pk = PublicKey::from(key.public());
        let mut edited = entries.clone();
        edited[3].entry.event = Event::ItemDecrypted { item: ItemId([3; 16]), officer: "someone else".into() };
        assert_eq!(verify(edited, &pk, Some(&head)), Err(AuditError::Edited { seq: 3 }));

        let mut removed = entries.clone();
        removed.remove(2);
        assert_eq!(verify(removed, &pk, Some(&head)), Err(AuditError::OutOfSequence { seq: 3, expected: 2 }));

        let mut reordered = entries.clone();
        reordered.swap(1, 4);
        assert_eq!(verify(reordered, &pk, Some(&head)), Err(AuditError::OutOfSequence { seq: 4, expected: 1 }));

        let truncated = entries[..4].to_vec();
        assert_eq!(verify(truncated, &pk, Some(&head)), Err(AuditError::Truncated { len: 4, head_len: 6 }));

        // Re-hashed after an edit, but not re-signed: forged.
        let mut rehashed = entries.clone();
        rehashed[2].entry.at = "2020-01-01T00:00:00Z".into();
        rehashed[2].hash = entry_hash(&rehashed[2].entry);
        assert_eq!(verify(rehashed, &pk, Some(&head)), Err(AuditError::Forged { seq: 2 }));

        // A whole log from another node.
        let (_, other, other_head) = log(6);
        assert_eq!(verify(other, &pk, Some(&other_head)), Err(AuditError::Forged { seq: 0 }));
    }
}
