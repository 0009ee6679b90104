//! The sync stream protocol ([`SYNC_PROTOCOL`]): what nodes say to each other.
//!
//! Each side sends batches of frames as requests and gets one small response per batch, after
//! the receiver has applied and durably stored the batch. A side keeps at most one batch in
//! flight per peer: the next batch carries everything that accumulated meanwhile, which batches
//! incoming changes on the receiver for free and gives backpressure. A peer that sends a second
//! batch before the first is answered breaks the protocol and loses its session.
//!
//! Encoded as CBOR with byte strings for binary data; the codec caps the size of every message.

use serde::{Deserialize, Serialize};

use crate::authorship::{ActorCert, SignedHead};
use crate::consent::SignedRecord;
use crate::ids::{DocId, ItemId};
use crate::vault::{KeyWrap, SignedEnvelope};
use crate::workspace::DocKind;

/// The protocol name on the wire. Version 2 carries who made each change: actor certificates
/// and signed heads (see [`crate::authorship`]); a version 1 node cannot talk to it. Version 3
/// offers items whose ciphertext hash is BLAKE3 (a 33-byte field, [`crate::vault::CiphertextHash`]),
/// which a version 2 node could not decode: it would drop the session at each offer. Both
/// Parties upgrade together; until then their nodes do not sync, and the status names the
/// failure (the peer supports none of our protocols).
pub const SYNC_PROTOCOL: &str = "/liaison/sync/3";

/// One request: frames to apply in order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Batch {
    /// The frames.
    pub frames: Vec<Frame>,
}

/// One unit of sync.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Frame {
    /// Sent once per session, first: every document the receiver is entitled to, with our
    /// heads. It lets both sides skip the documents already in sync, and send a compacted
    /// snapshot of the ones the other side lacks instead of their whole history.
    Catalog(Vec<CatalogEntry>),
    /// A whole document the receiver does not have: snapshot and later chunks, as stored.
    Snapshot {
        /// The document.
        doc: DocId,
        /// What it is (checked against the document itself on receipt).
        kind: DocKind,
        /// Bytes for `Automerge::load`.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
        /// The signed head of every actor in it: what proves who made each change.
        heads: Vec<SignedHead>,
    },
    /// An automerge sync message for a document both sides have.
    Sync {
        /// The document.
        doc: DocId,
        /// `automerge::sync::Message::encode()`.
        #[serde(with = "serde_bytes")]
        msg: Vec<u8>,
        /// Signed heads the receiver may not have yet, covering the changes in `msg`.
        heads: Vec<SignedHead>,
    },
    /// Certificates of the actors of nodes (a Party's certificate of each of its nodes), sent
    /// at the start of a session and whenever a new one is learnt.
    Certs(Vec<ActorCert>),
    /// Signed consent records (requests, grants, denials, revocations, confirmations, reports).
    Records(Vec<SignedRecord>),
    /// Between the Parties' nodes, at the start of a session: the items we hold complete.
    ItemList(Vec<ItemId>),
    /// An item begins: the provider's signed envelope, the key sealed to the receiver's Party
    /// (to each Party, between the Parties), and for a third party the grant it comes under.
    /// Its chunks follow in order.
    ItemOffer {
        /// The signed envelope.
        envelope: Box<SignedEnvelope>,
        /// Key wraps.
        wraps: Vec<KeyWrap>,
        /// The provider's grant, when the receiver is a third party.
        grant: Option<Box<SignedRecord>>,
    },
    /// One chunk of an offered item (ciphertext).
    ItemChunk {
        /// The item.
        item: ItemId,
        /// Its position.
        index: u32,
        /// The ciphertext.
        #[serde(with = "serde_bytes")]
        data: Vec<u8>,
    },
    /// A third party asks for an item granted to it.
    ItemRequest(ItemId),
    /// Who is looking at which draft, between the Parties: shown live, never stored.
    Presence(Vec<PresenceNote>),
    /// Between the Parties: the sender's signed audit head, for the receiver to witness.
    AuditHead(crate::audit::Head),
    /// Between the Parties: heads of the receiver's audit log, countersigned by the sender.
    Witnessed(Vec<crate::witness::Witnessed>),
    /// Between one Party's own nodes: the peers the sender pinned for other Parties, signed
    /// with the Party key (see [`crate::vouch`]); sent at the start of a session and whenever
    /// they change. At most [`crate::vouch::MAX_CARDS`] cards.
    Vouched(Box<crate::vouch::VouchedList>),
}

/// One officer at one draft. The Party is the sending peer's, never taken from the wire.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PresenceNote {
    /// The draft.
    pub doc: DocId,
    /// The officer.
    pub officer: String,
    /// The provision they are in, if any.
    pub provision: Option<String>,
    /// The language they are in, if any.
    pub lang: Option<String>,
}

impl Frame {
    /// Bytes of payload the frame carries (documents, sync messages, catalog entries), without
    /// the CBOR framing: what traffic counters count.
    pub fn payload_len(&self) -> usize {
        match self {
            Frame::Catalog(entries) => entries.iter().map(|e| 17 + 32 * e.heads.len()).sum(),
            Frame::Snapshot { bytes, heads, .. } => bytes.len() + heads.len() * 160,
            Frame::Sync { msg, heads, .. } => msg.len() + heads.len() * 160,
            Frame::Certs(c) => c.len() * 200,
            Frame::Records(r) => r.len() * 256,
            Frame::ItemList(l) => l.len() * 16,
            Frame::ItemOffer { wraps, .. } => 512 + wraps.len() * 128,
            Frame::ItemChunk { data, .. } => data.len(),
            Frame::ItemRequest(_) => 16,
            Frame::Presence(n) => n.len() * 64,
            Frame::AuditHead(_) => 112,
            Frame::Witnessed(w) => w.len() * 320,
            Frame::Vouched(v) => 128 + v.cards.len() * 256,
        }
    }
}

/// One document in a catalog.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// The document.
    pub doc: DocId,
    /// What it is.
    pub kind: DocKind,
    /// Its heads, as change hashes.
    pub heads: Vec<Hash>,
}

/// A 32-byte change hash, as a CBOR byte string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Hash(#[serde(with = "serde_bytes")] pub [u8; 32]);

/// The answer to a batch.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Reply {
    /// Applied and durably stored.
    Ack,
    /// Not applied, and why; the session ends.
    Refused(String),
}
