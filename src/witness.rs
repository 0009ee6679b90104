//! The other Party witnesses each node's audit log.
//!
//! A node's log is hash-chained and signed by its node key, so an edited, removed or reordered
//! entry shows (`audit::verify`). But whoever holds the node's data dir holds that key too, and can
//! rewrite the whole chain and sign it again. So each node sends its signed audit **head** (length
//! and hash of the last entry) to the other Party's nodes from time to time; they check the
//! signature against the sender's peer id (its node key), countersign it with their own node key
//! and keep it. A rewritten log no longer has, at a witnessed length, the hash the other Party
//! holds: `audit verify --witness` shows it, naming the entry.
//!
//! Heads carry no event: the other Party learns how long the log is, nothing of what is in it.
//! Pure code: no I/O.

use libp2p::PeerId;
use libp2p::identity::{PublicKey, ed25519};
use serde::{Deserialize, Serialize};

use crate::audit::{Head, SignedEntry};

const WITNESS_DOMAIN: &[u8] = b"liaison/audit-witness/v1\0";
const HEAD_DOMAIN: &[u8] = b"liaison/audit-head/v1\0";

/// A head of one node's log, countersigned by a node of the other Party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witnessed {
    /// The node whose log it is (peer id).
    pub node: String,
    /// The head it signed.
    pub head: Head,
    /// When the witness received it, RFC 3339.
    pub at: String,
    /// The witnessing node (peer id).
    pub witness: String,
    /// The witness's node-key signature over node, head and time.
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
}

/// Why a witnessed head cannot be taken, or does not match a log.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// A peer id that is not an Ed25519 key.
    #[error("{0} is not a node's peer id")]
    NotANode(String),
    /// The head is not signed by the node it names.
    #[error("the head of {node}'s log at {len} entries is not signed by that node")]
    HeadNotSigned {
        /// The node.
        node: String,
        /// The head's length.
        len: u64,
    },
    /// The countersignature is not the witness's.
    #[error("the countersignature of {witness} on {node}'s head at {len} entries does not verify")]
    NotCountersigned {
        /// The witness.
        witness: String,
        /// The node.
        node: String,
        /// The head's length.
        len: u64,
    },
    /// The log is shorter than a head the other Party witnessed: entries were cut off.
    #[error("{witness} witnessed this log at {len} entries on {at}, but it has {have}: entries were removed")]
    Cut {
        /// The witness.
        witness: String,
        /// Witnessed length.
        len: u64,
        /// When.
        at: String,
        /// Entries present.
        have: u64,
    },
    /// The log's entry at a witnessed length has another hash: it was rewritten.
    #[error(
        "{witness} witnessed this log at {len} entries on {at} with another last entry: entry {seq} or one before it was rewritten"
    )]
    Rewritten {
        /// The witness.
        witness: String,
        /// Witnessed length.
        len: u64,
        /// When.
        at: String,
        /// The entry whose hash differs.
        seq: u64,
    },
}

fn public_key(peer: &str) -> Result<PublicKey, WitnessError> {
    let id: PeerId = peer.parse().map_err(|_| WitnessError::NotANode(peer.into()))?;
    // Ed25519 peer ids embed the public key (identity multihash of its protobuf encoding).
    let mh = id.as_ref();
    if mh.code() != 0 {
        return Err(WitnessError::NotANode(peer.into()));
    }
    PublicKey::try_decode_protobuf(mh.digest()).map_err(|_| WitnessError::NotANode(peer.into()))
}

fn head_message(len: u64, hash: &[u8; 32]) -> Vec<u8> {
    let mut m = HEAD_DOMAIN.to_vec();
    m.extend_from_slice(&len.to_le_bytes());
    m.extend_from_slice(hash);
    m
}

fn witness_message(node: &str, head: &Head, at: &str) -> Vec<u8> {
    let mut m = WITNESS_DOMAIN.to_vec();
    for part in [node.as_bytes(), &head.len.to_le_bytes(), &head.hash, &head.signature, at.as_bytes()] {
        m.extend_from_slice(&(part.len() as u64).to_le_bytes());
        m.extend_from_slice(part);
    }
    m
}

/// Checks that `head` is signed by `node`, and countersigns it as `witness`.
pub fn countersign(
    key: &ed25519::Keypair,
    witness: &PeerId,
    node: &PeerId,
    head: &Head,
    at: String,
) -> Result<Witnessed, WitnessError> {
    let node = node.to_string();
    if !public_key(&node)?.verify(&head_message(head.len, &head.hash), &head.signature) {
        return Err(WitnessError::HeadNotSigned { node, len: head.len });
    }
    let signature = key.sign(&witness_message(&node, head, &at));
    Ok(Witnessed { node, head: head.clone(), at, witness: witness.to_string(), signature })
}

impl Witnessed {
    /// Checks both signatures: the node's on its head, the witness's on the whole.
    pub fn check(&self) -> Result<(), WitnessError> {
        if !public_key(&self.node)?.verify(&head_message(self.head.len, &self.head.hash), &self.head.signature) {
            return Err(WitnessError::HeadNotSigned { node: self.node.clone(), len: self.head.len });
        }
        if !public_key(&self.witness)?.verify(&witness_message(&self.node, &self.head, &self.at), &self.signature) {
            return Err(WitnessError::NotCountersigned {
                witness: self.witness.clone(),
                node: self.node.clone(),
                len: self.head.len,
            });
        }
        Ok(())
    }
}

/// Checks a node's log against heads the other Party witnessed: each must be countersigned, and
/// the log must have, at each witnessed length, the witnessed hash. Returns how many heads were
/// checked. `node` is the log's node; heads of other nodes are not about this log and skipped.
pub fn check_log(entries: &[SignedEntry], node: &str, witnessed: &[Witnessed]) -> Result<usize, WitnessError> {
    let mut checked = 0;
    for w in witnessed.iter().filter(|w| w.node == node) {
        w.check()?;
        let have = entries.len() as u64;
        if w.head.len == 0 {
            continue;
        }
        if w.head.len > have {
            return Err(WitnessError::Cut { witness: w.witness.clone(), len: w.head.len, at: w.at.clone(), have });
        }
        let last = &entries[(w.head.len - 1) as usize];
        if last.hash != w.head.hash {
            return Err(WitnessError::Rewritten {
                witness: w.witness.clone(),
                len: w.head.len,
                at: w.at.clone(),
                seq: last.entry.seq,
            });
        }
        checked += 1;
    }
    Ok(checked)
}

/// Whether a newly received head is consistent with the last one witnessed of the same node:
/// a log only grows, and at equal length it has the same last entry.
pub fn follows(last: &Head, new: &Head) -> bool {
    new.len > last.len || (new.len == last.len && new.hash == last.hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Event, append};
    use crate::ids::ItemId;

    fn log(key: &ed25519::Keypair, n: usize, officer: &str) -> (Vec<SignedEntry>, Head) {
        let mut head: Option<Head> = None;
        let mut out = Vec::new();
        for i in 0..n {
            let (e, h) = append(
                key,
                head.as_ref(),
                format!("2026-11-30T10:00:0{i}Z"),
                Event::ItemDecrypted { item: ItemId([i as u8; 16]), officer: officer.into() },
            );
            out.push(e);
            head = Some(h);
        }
        (out, head.unwrap())
    }

    #[test]
    fn a_log_rewritten_and_signed_again_by_its_own_key_fails_against_the_witness() {
        let node = ed25519::Keypair::generate();
        let node_id = PeerId::from_public_key(&PublicKey::from(node.public()));
        let witness = ed25519::Keypair::generate();
        let witness_id = PeerId::from_public_key(&PublicKey::from(witness.public()));
        let (entries, head) = log(&node, 5, "honest");
        let w = countersign(&witness, &witness_id, &node_id, &head, "2026-11-30T10:01:00Z".into()).unwrap();
        assert_eq!(check_log(&entries, &node_id.to_string(), std::slice::from_ref(&w)), Ok(1));
        // The whole log rewritten with the node's own key: it verifies on its own...
        let (forged, forged_head) = log(&node, 6, "rewritten");
        assert!(crate::audit::verify(forged.clone(), &PublicKey::from(node.public()), Some(&forged_head)).is_ok());
        // ...but not against the head the other Party holds.
        assert!(matches!(
            check_log(&forged, &node_id.to_string(), std::slice::from_ref(&w)),
            Err(WitnessError::Rewritten { len: 5, seq: 4, .. })
        ));
        // Cut back below the witnessed length.
        assert!(matches!(
            check_log(&entries[..3], &node_id.to_string(), std::slice::from_ref(&w)),
            Err(WitnessError::Cut { len: 5, have: 3, .. })
        ));
        // A forged countersignature, and a head the node did not sign, are refused.
        let mut bad = w.clone();
        bad.at = "2027-01-01T00:00:00Z".into();
        assert!(matches!(bad.check(), Err(WitnessError::NotCountersigned { .. })));
        let other = ed25519::Keypair::generate();
        let (_, foreign_head) = log(&other, 2, "x");
        assert!(matches!(
            countersign(&witness, &witness_id, &node_id, &foreign_head, "t".into()),
            Err(WitnessError::HeadNotSigned { .. })
        ));
        assert!(follows(&w.head, &forged_head));
        assert!(!follows(&forged_head, &w.head));
    }
}
