//! Who made each change of the shared workspace, proven rather than claimed.
//!
//! - **Actors.** Every node writes the workspace with its own automerge actor (16 random bytes,
//!   fixed when the store was made), and with actors derived from it when an edit is made against
//!   an older version (automerge's own derivation: a marker, a level, then the node's actor).
//! - **Certificates.** The node's Party certifies that actor with the Party key: an
//!   [`ActorCert`] says "this actor is node N (whose node key is K) of Party P". A Party's backup
//!   node holds the Party key too, so it certifies its own actor the same way. Certificates are in
//!   each node's id card and travel in the sync protocol, so a node learns the actors of nodes it
//!   does not pin (a Party's backup behind its headquarters).
//! - **Signed heads.** After each round, the node signs with its node key the newest change of
//!   each of its actors in each document it changed: a [`SignedHead`] (document, actor, seq,
//!   change hash). automerge changes are hash-linked, and each change of an actor depends on that
//!   actor's previous change, so one signature over the newest hash authenticates the actor's
//!   whole history in that document: one signature per actor and round, not per change.
//! - **Checking.** A receiving node accepts a change only if its actor is certified by a pinned
//!   Party, and a valid signed head of that actor, with a seq at least the change's, is present
//!   in the document with the very hash it names ([`attribute`]). Two other writers exist: the
//!   *genesis* actor, which makes the fixed first change of the documents every node creates on
//!   its own (its hash is recomputed, never trusted), and actors that a Party sealed as written
//!   *before authentication* when its store was upgraded (a [`SignedHead`] of kind
//!   [`HeadSigner::Legacy`], shown as such and never allowed to write anything new).
//!
//! Why this is sound: automerge refuses two changes of one actor with the same seq, and the
//! signed change can only be present together with its whole ancestry, which holds the actor's
//! real changes 1..seq. A change of that actor that is not one of them would need a seq above the
//! signed one, which is refused. An old signed head replayed covers only the old seqs.
//!
//! Everything here is pure: no store, no network.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use automerge::ActorId;
use serde::{Deserialize, Serialize};

use crate::ids::{DocId, PartyId};
use crate::signing::{self, SignatureError};

const CERT_DOMAIN: &str = "liaison/actor-cert/v1";
const HEAD_DOMAIN: &str = "liaison/signed-head/v1";
const LEGACY_DOMAIN: &str = "liaison/legacy-head/v1";

/// The actor that writes the fixed first change of documents every node creates the same way.
pub const GENESIS_ACTOR: &[u8; 16] = b"liaison-genesis!";

/// automerge's marker for an actor derived from another (`ActorId::with_concurrency`).
const DERIVED_MARKER: [u8; 4] = [0x13, 0xb2, 0x23, 0x09];

/// Longest actor id accepted (a derived actor is the marker, a LEB128 level and 16 bytes).
pub const MAX_ACTOR_BYTES: usize = 32;

/// A node's own actor: the 16 bytes its Party certifies.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeActor(pub [u8; 16]);

impl fmt::Display for NodeActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for NodeActor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeActor({self})")
    }
}

impl NodeActor {
    /// The automerge actor of this node, or the one derived at `level` (0 is the node's own).
    pub fn actor(&self, level: u64) -> ActorId {
        if level == 0 {
            return ActorId::from(self.0.as_slice());
        }
        let mut b = DERIVED_MARKER.to_vec();
        let mut l = level;
        loop {
            let byte = (l & 0x7f) as u8;
            l >>= 7;
            if l == 0 {
                b.push(byte);
                break;
            }
            b.push(byte | 0x80);
        }
        b.extend_from_slice(&self.0);
        ActorId::from(b)
    }
}

/// The node actor an automerge actor belongs to, if it is one (directly or derived).
pub fn node_actor_of(actor: &[u8]) -> Option<NodeActor> {
    let mut rest = actor;
    if let Some(after) = rest.strip_prefix(DERIVED_MARKER.as_slice()) {
        // A LEB128 level of at most 9 bytes, then the node actor.
        let n = after.iter().take(9).position(|b| b & 0x80 == 0)?;
        rest = &after[n + 1..];
    }
    rest.try_into().ok().map(NodeActor)
}

/// "This actor is node `node` of Party `party`", signed with the Party key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorCert {
    /// The Party.
    pub party: PartyId,
    /// The node's libp2p peer id, as text (what officers and sysadmins see).
    pub node: String,
    /// The node's Ed25519 public key: it signs the node's heads.
    #[serde(with = "hex32")]
    pub node_key: [u8; 32],
    /// The node's actor.
    pub actor: NodeActor,
    /// The Party's signature.
    #[serde(with = "hex64")]
    pub sig: [u8; 64],
}

#[derive(Serialize)]
struct CertBody<'a> {
    party: &'a str,
    node: &'a str,
    node_key: &'a [u8; 32],
    actor: &'a [u8; 16],
}

impl ActorCert {
    /// Certifies `actor` as node `node` (with `node_key`) of `party`, with the Party's key.
    pub fn issue(
        party_key: &ed25519_dalek::SigningKey,
        party: PartyId,
        node: String,
        node_key: [u8; 32],
        actor: NodeActor,
    ) -> Result<ActorCert, SignatureError> {
        let body = CertBody { party: party.as_str(), node: &node, node_key: &node_key, actor: &actor.0 };
        let sig = signing::sign(party_key, CERT_DOMAIN, &body)?;
        Ok(ActorCert { party, node, node_key, actor, sig })
    }

    /// Checks the Party's signature with its pinned key, and that the peer id is the node key's.
    pub fn verify(&self, party_key: &[u8; 32]) -> Result<(), AuthError> {
        let body =
            CertBody { party: self.party.as_str(), node: &self.node, node_key: &self.node_key, actor: &self.actor.0 };
        signing::verify(party_key, self.party.as_str(), CERT_DOMAIN, &body, &self.sig)
            .map_err(|e| AuthError::BadCert { actor: self.actor, reason: e.to_string() })?;
        let derived = libp2p::identity::ed25519::PublicKey::try_from_bytes(&self.node_key)
            .map(|k| libp2p::PeerId::from_public_key(&libp2p::identity::PublicKey::from(k)).to_string());
        if derived.ok().as_deref() != Some(self.node.as_str()) {
            return Err(AuthError::BadCert {
                actor: self.actor,
                reason: "the node key is not the named node's".into(),
            });
        }
        Ok(())
    }
}

/// Who signed a head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeadSigner {
    /// The node the actor belongs to, with its node key.
    Node,
    /// A Party, with its Party key, sealing an actor that wrote before authentication existed.
    Legacy(PartyId),
}

/// "The newest change of `actor` in `doc` is number `seq`, with hash `hash`", signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    /// The document.
    pub doc: DocId,
    /// The automerge actor.
    #[serde(with = "serde_bytes")]
    pub actor: Vec<u8>,
    /// The seq of its newest change.
    pub seq: u64,
    /// That change's hash.
    #[serde(with = "serde_bytes")]
    pub hash: [u8; 32],
    /// Who signed.
    pub signer: HeadSigner,
    /// The signature.
    #[serde(with = "serde_bytes")]
    pub sig: [u8; 64],
}

#[derive(Serialize)]
struct HeadBody<'a> {
    doc: &'a [u8; 16],
    actor: &'a [u8],
    seq: u64,
    hash: &'a [u8; 32],
}

impl SignedHead {
    fn body(&self) -> HeadBody<'_> {
        HeadBody { doc: &self.doc.0, actor: &self.actor, seq: self.seq, hash: &self.hash }
    }

    /// Signs the head of one of this node's actors with the node key.
    pub fn sign(
        node_key: &ed25519_dalek::SigningKey,
        doc: DocId,
        actor: Vec<u8>,
        seq: u64,
        hash: [u8; 32],
    ) -> Result<SignedHead, SignatureError> {
        let mut h = SignedHead { doc, actor, seq, hash, signer: HeadSigner::Node, sig: [0; 64] };
        h.sig = signing::sign(node_key, HEAD_DOMAIN, &h.body())?;
        Ok(h)
    }

    /// Seals an actor that wrote before authentication, with the Party key.
    pub fn seal_legacy(
        party_key: &ed25519_dalek::SigningKey,
        party: PartyId,
        doc: DocId,
        actor: Vec<u8>,
        seq: u64,
        hash: [u8; 32],
    ) -> Result<SignedHead, SignatureError> {
        let mut h = SignedHead { doc, actor, seq, hash, signer: HeadSigner::Legacy(party), sig: [0; 64] };
        h.sig = signing::sign(party_key, LEGACY_DOMAIN, &h.body())?;
        Ok(h)
    }

    /// Checks the signature: a node's head with the node key its certificate names, a legacy
    /// seal with the sealing Party's pinned key.
    pub fn verify(&self, certs: &Certs, party_key: &dyn Fn(&PartyId) -> Option<[u8; 32]>) -> Result<(), AuthError> {
        if self.actor.len() > MAX_ACTOR_BYTES {
            return Err(AuthError::BadHead { doc: self.doc, reason: "the actor id is too long".into() });
        }
        let bad = |reason: String| AuthError::BadHead { doc: self.doc, reason };
        match &self.signer {
            HeadSigner::Node => {
                let node = node_actor_of(&self.actor).ok_or_else(|| bad("the actor is not a node's".into()))?;
                let cert = certs.get(&node).ok_or(AuthError::Uncertified { actor: hex::encode(&self.actor) })?;
                signing::verify(&cert.node_key, &cert.node, HEAD_DOMAIN, &self.body(), &self.sig)
                    .map_err(|e| bad(e.to_string()))
            }
            HeadSigner::Legacy(party) => {
                let key = party_key(party).ok_or_else(|| bad(format!("no key of {party} is pinned")))?;
                signing::verify(&key, party.as_str(), LEGACY_DOMAIN, &self.body(), &self.sig)
                    .map_err(|e| bad(e.to_string()))
            }
        }
    }
}

/// The certificates a node knows, by actor.
#[derive(Clone, Debug, Default)]
pub struct Certs {
    by_actor: HashMap<NodeActor, ActorCert>,
}

impl Certs {
    /// Adds a certificate that was verified. A second certificate for the same actor naming
    /// another node or Party is refused: an actor is one node's for good.
    pub fn add(&mut self, cert: ActorCert) -> Result<bool, AuthError> {
        match self.by_actor.get(&cert.actor) {
            Some(c) if c.party == cert.party && c.node == cert.node && c.node_key == cert.node_key => Ok(false),
            Some(c) => Err(AuthError::BadCert {
                actor: cert.actor,
                reason: format!("the actor is already certified as node {} of {}", c.node, c.party),
            }),
            None => {
                self.by_actor.insert(cert.actor, cert);
                Ok(true)
            }
        }
    }

    /// Forgets a certificate (one a refused batch brought).
    pub fn remove(&mut self, actor: &NodeActor) {
        self.by_actor.remove(actor);
    }

    /// The certificate of a node actor.
    pub fn get(&self, actor: &NodeActor) -> Option<&ActorCert> {
        self.by_actor.get(actor)
    }

    /// The certificate of an automerge actor (a node's own or derived from it).
    pub fn of_actor(&self, actor: &[u8]) -> Option<&ActorCert> {
        node_actor_of(actor).and_then(|n| self.by_actor.get(&n))
    }

    /// Every certificate.
    pub fn all(&self) -> impl Iterator<Item = &ActorCert> {
        self.by_actor.values()
    }
}

/// Who made a change, as proven.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "by")]
pub enum Attribution {
    /// A node of a Party.
    Node {
        /// The Party.
        party: PartyId,
        /// The node (libp2p peer id).
        node: String,
    },
    /// The fixed first change every node makes the same way.
    Genesis,
    /// Written before authentication; sealed by this Party when it upgraded.
    Legacy {
        /// The Party that sealed it.
        sealed_by: PartyId,
    },
}

impl Attribution {
    /// The Party proven to have made the change, if any.
    pub fn party(&self) -> Option<&PartyId> {
        match self {
            Attribution::Node { party, .. } => Some(party),
            _ => None,
        }
    }
}

/// Answers, for a change hash, the actor and seq of that change if the document holds it.
pub type Present<'a> = &'a dyn Fn(&[u8; 32]) -> Option<(Vec<u8>, u64)>;

/// What [`attribute`] needs to know of one change (automerge's change metadata).
#[derive(Clone, Debug)]
pub struct ChangeFacts {
    /// The change hash.
    pub hash: [u8; 32],
    /// The actor.
    pub actor: Vec<u8>,
    /// Its seq.
    pub seq: u64,
}

/// Proves who made every change of a whole document (one just received) without reading each
/// change: one signed head per actor, and one ancestry query per signer.
///
/// - Every actor of the document must have a signed head whose change is in it (the count of
///   actors with one must be automerge's count of actors), or be the genesis actor with the
///   document's expected first change.
/// - For each signer (a node, with all its actors; a Party for the old actors it sealed; the
///   genesis), the changes outside the ancestry of that signer's heads must include none of its
///   own actors: each of its changes is one its signed heads vouch for. A change passed off as
///   another node's, a change beyond the signed seq, or a second change with a signed seq, is
///   outside that ancestry and refused.
///
/// Returns who wrote, one entry per actor. The cost grows with the actors and with the changes
/// a signer's heads do not cover (other signers' concurrent work), not with the history.
pub fn attribute_whole(
    doc: DocId,
    d: &automerge::Automerge,
    heads: &HeadBook,
    certs: &Certs,
    genesis: Option<[u8; 32]>,
) -> Result<Vec<Attribution>, AuthError> {
    use automerge::ReadDoc;
    #[derive(PartialEq, Eq, PartialOrd, Ord)]
    enum Signer {
        Genesis,
        Node(String),
        Sealed(PartyId),
    }
    let present = |h: &[u8; 32]| {
        d.get_change_meta_by_hash(&automerge::ChangeHash(*h)).map(|m| (m.actor.to_bytes().to_vec(), m.seq))
    };
    let mut groups: BTreeMap<Signer, (Vec<automerge::ChangeHash>, HashSet<Vec<u8>>)> = BTreeMap::new();
    let mut out = Vec::new();
    if let Some(g) = genesis
        && present(&g).is_some_and(|(a, s)| a == GENESIS_ACTOR.as_slice() && s == 1)
    {
        let e = groups.entry(Signer::Genesis).or_default();
        e.0.push(automerge::ChangeHash(g));
        e.1.insert(GENESIS_ACTOR.to_vec());
        out.push(Attribution::Genesis);
    }
    for actor in heads.actors() {
        // The newest of its heads that is here; the node's own signature before a seal.
        let best = heads
            .of(actor)
            .iter()
            .filter(|h| present(&h.hash).is_some_and(|(a, s)| a == h.actor && s == h.seq))
            .max_by(|a, b| a.seq.cmp(&b.seq).then_with(|| legacy(b).cmp(&legacy(a))));
        let Some(h) = best else { continue };
        let (signer, who) = match &h.signer {
            HeadSigner::Node => {
                let cert = certs.of_actor(actor).ok_or_else(|| AuthError::Uncertified { actor: hex::encode(actor) })?;
                (
                    Signer::Node(cert.node.clone()),
                    Attribution::Node { party: cert.party.clone(), node: cert.node.clone() },
                )
            }
            HeadSigner::Legacy(p) => (Signer::Sealed(p.clone()), Attribution::Legacy { sealed_by: p.clone() }),
        };
        let e = groups.entry(signer).or_default();
        e.0.push(automerge::ChangeHash(h.hash));
        e.1.insert(actor.clone());
        out.push(who);
    }
    let covered: usize = groups.values().map(|(_, actors)| actors.len()).sum();
    if covered as u64 != d.stats().num_actors {
        // Name an actor without a head, for the refusal (a rare path: read what it takes).
        let known: HashSet<&Vec<u8>> = groups.values().flat_map(|(_, a)| a.iter()).collect();
        let stranger =
            d.get_changes_meta(&[]).into_iter().map(|m| m.actor.to_bytes().to_vec()).find(|a| !known.contains(a));
        return Err(match stranger {
            Some(a) if a.as_slice() == GENESIS_ACTOR.as_slice() => AuthError::BadGenesis { doc },
            Some(a) if certs.of_actor(&a).is_none() && heads.of(&a).is_empty() => {
                AuthError::Uncertified { actor: hex::encode(a) }
            }
            Some(a) => AuthError::NotCovered { actor: hex::encode(a), seq: 0, signed: "none here".into() },
            None => AuthError::NotCovered { actor: "?".into(), seq: 0, signed: "none".into() },
        });
    }
    for (hashes, actors) in groups.values() {
        if let Some(m) = d.get_changes_meta(hashes).into_iter().find(|m| actors.contains(m.actor.to_bytes())) {
            let actor = m.actor.to_bytes();
            if actor == GENESIS_ACTOR.as_slice() {
                return Err(AuthError::BadGenesis { doc });
            }
            return Err(AuthError::NotCovered {
                actor: hex::encode(actor),
                seq: m.seq,
                signed: heads.of(actor).first().map(|h| h.seq.to_string()).unwrap_or_else(|| "none".into()),
            });
        }
    }
    Ok(out)
}

/// A change, or a signed head, that cannot be accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// A certificate does not verify.
    #[error("the certificate of actor {actor} does not hold: {reason}")]
    BadCert {
        /// The actor.
        actor: NodeActor,
        /// Why.
        reason: String,
    },
    /// A signed head does not verify.
    #[error("a signed head of document {doc} does not hold: {reason}")]
    BadHead {
        /// The document.
        doc: DocId,
        /// Why.
        reason: String,
    },
    /// The actor is certified by no pinned Party.
    #[error("actor {actor} is not certified by any pinned Party")]
    Uncertified {
        /// The actor, hex.
        actor: String,
    },
    /// No valid signed head covers the change.
    #[error("change {seq} of actor {actor} is not covered by a signature of its node (newest signed: {signed})")]
    NotCovered {
        /// The actor, hex.
        actor: String,
        /// The change's seq.
        seq: u64,
        /// The newest seq signed for it, if any.
        signed: String,
    },
    /// The genesis actor made a change that is not the document's fixed first change.
    #[error("a change claims to be the fixed first change of document {doc} but is not")]
    BadGenesis {
        /// The document.
        doc: DocId,
    },
    /// Two changes of one actor with the same seq.
    #[error("two changes of actor {actor} with seq {seq}")]
    DuplicateSeq {
        /// The actor, hex.
        actor: String,
        /// The seq.
        seq: u64,
    },
}

/// How many signed heads of one actor a document keeps: the newest ones. A head arrives before
/// the change it names when the other path is faster; an older head whose change is there
/// still proves what it covers meanwhile.
pub const HEADS_PER_ACTOR: usize = 8;

/// The signed heads of one document, a few per actor, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeadBook {
    by_actor: BTreeMap<Vec<u8>, Vec<SignedHead>>,
}

impl HeadBook {
    /// An empty book.
    pub fn new() -> HeadBook {
        HeadBook::default()
    }

    /// Keeps `head` (verified) unless it is known or older than every kept head of its actor;
    /// says whether it did.
    pub fn keep(&mut self, head: SignedHead) -> bool {
        let list = self.by_actor.entry(head.actor.clone()).or_default();
        if list.iter().any(|h| h.seq == head.seq && h.hash == head.hash && h.signer == head.signer) {
            return false;
        }
        if list.len() >= HEADS_PER_ACTOR && list.last().is_some_and(|h| h.seq >= head.seq) {
            return false;
        }
        list.push(head);
        // Newest first; for one seq, the node's own signature before a Party's legacy seal.
        list.sort_by(|a, b| b.seq.cmp(&a.seq).then_with(|| legacy(a).cmp(&legacy(b))));
        list.truncate(HEADS_PER_ACTOR);
        true
    }

    /// Every head kept.
    pub fn heads(&self) -> impl Iterator<Item = &SignedHead> {
        self.by_actor.values().flatten()
    }

    /// The heads of one actor, newest first.
    pub fn of(&self, actor: &[u8]) -> &[SignedHead] {
        self.by_actor.get(actor).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every actor with a head.
    pub fn actors(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.by_actor.keys()
    }
}

fn legacy(h: &SignedHead) -> bool {
    matches!(h.signer, HeadSigner::Legacy(_))
}

/// Proves who made each of `changes` (new changes of document `doc`, now in it), or says why
/// one cannot be accepted. `present` answers, for a change hash, the actor and seq of that change
/// if the document holds it. `heads` are the verified signed heads of the document; `genesis` the
/// hash of its fixed first change, if it has one.
pub fn attribute(
    doc: DocId,
    changes: &[ChangeFacts],
    heads: &HeadBook,
    certs: &Certs,
    genesis: Option<[u8; 32]>,
    present: Present<'_>,
) -> Result<Vec<Attribution>, AuthError> {
    let mut seen: HashSet<(&[u8], u64)> = HashSet::with_capacity(changes.len());
    let mut covered = Covered::default();
    let mut out = Vec::with_capacity(changes.len());
    for c in changes {
        if !seen.insert((c.actor.as_slice(), c.seq)) {
            return Err(AuthError::DuplicateSeq { actor: hex::encode(&c.actor), seq: c.seq });
        }
        out.push(attribute_one(doc, c, heads, certs, genesis, present, &mut covered)?);
    }
    Ok(out)
}

/// [`attribute`] for changes a document already holds (a history): each change's attribution,
/// or `None` where it is not proven, working out once per actor what its signatures cover.
pub fn attribute_each(
    doc: DocId,
    changes: &[ChangeFacts],
    heads: &HeadBook,
    certs: &Certs,
    genesis: Option<[u8; 32]>,
    present: Present<'_>,
) -> Vec<Option<Attribution>> {
    let mut covered = Covered::default();
    changes.iter().map(|c| attribute_one(doc, c, heads, certs, genesis, present, &mut covered).ok()).collect()
}

/// For each actor (asked once): up to which seq its node's signature, and a Party's legacy seal,
/// cover it with a change that is in the document.
#[derive(Default)]
struct Covered(HashMap<Vec<u8>, (u64, u64)>);

fn attribute_one(
    doc: DocId,
    c: &ChangeFacts,
    heads: &HeadBook,
    certs: &Certs,
    genesis: Option<[u8; 32]>,
    present: Present<'_>,
    covered: &mut Covered,
) -> Result<Attribution, AuthError> {
    if c.actor.as_slice() == GENESIS_ACTOR.as_slice() {
        if c.seq == 1 && genesis == Some(c.hash) {
            return Ok(Attribution::Genesis);
        }
        return Err(AuthError::BadGenesis { doc });
    }
    let signed = heads.of(&c.actor);
    if signed.is_empty() {
        if certs.of_actor(&c.actor).is_none() {
            return Err(AuthError::Uncertified { actor: hex::encode(&c.actor) });
        }
        return Err(AuthError::NotCovered { actor: hex::encode(&c.actor), seq: c.seq, signed: "none".into() });
    }
    let (by_node, by_seal) = *covered.0.entry(c.actor.clone()).or_insert_with(|| {
        let mut best = (0, 0);
        for h in signed {
            if present(&h.hash).is_some_and(|(a, s)| a == h.actor && s == h.seq) {
                let slot = if legacy(h) { &mut best.1 } else { &mut best.0 };
                *slot = (*slot).max(h.seq);
            }
        }
        best
    });
    if c.seq <= by_node {
        let cert = certs.of_actor(&c.actor).ok_or_else(|| AuthError::Uncertified { actor: hex::encode(&c.actor) })?;
        Ok(Attribution::Node { party: cert.party.clone(), node: cert.node.clone() })
    } else if c.seq <= by_seal {
        let Some(HeadSigner::Legacy(p)) = signed.iter().find(|h| legacy(h) && h.seq >= c.seq).map(|h| &h.signer) else {
            return Err(AuthError::NotCovered { actor: hex::encode(&c.actor), seq: c.seq, signed: "none".into() });
        };
        Ok(Attribution::Legacy { sealed_by: p.clone() })
    } else {
        let newest = signed.first().map(|h| h.seq).unwrap_or(0);
        Err(AuthError::NotCovered {
            actor: hex::encode(&c.actor),
            seq: c.seq,
            signed: if newest > by_node.max(by_seal) {
                format!("{newest}, whose change is not in the document")
            } else {
                newest.to_string()
            },
        })
    }
}

/// Makes a sync message carry every change since the heads both sides are known to share.
///
/// automerge leaves out of a sync message the changes its Bloom filter wrongly takes for ones
/// the peer has; the peer would then hold changes whose dependencies it lacks, which it cannot
/// check yet (and a node refuses such a message). `sent_before` is the state's `sent_hashes`
/// before the message was generated: what the message carries is what it added, unless it is
/// the whole document. A change the peer already has from elsewhere is ignored there.
pub fn close_over_dependencies(
    d: &automerge::Automerge,
    state: &automerge::sync::State,
    sent_before: &std::collections::BTreeSet<automerge::ChangeHash>,
    m: &mut automerge::sync::Message,
) {
    // A document chunk (type 0 after the magic bytes and the checksum) is the whole history.
    if m.changes.is_empty() || m.changes.iter().any(|c| c.get(8) == Some(&0)) {
        return;
    }
    let missing: Vec<automerge::ChangeHash> = d
        .get_changes_meta(&state.shared_heads)
        .into_iter()
        .map(|c| c.hash)
        .filter(|h| !state.sent_hashes.contains(h) && !sent_before.contains(h))
        .collect();
    if missing.is_empty() {
        return;
    }
    let mut all: Vec<Vec<u8>> = m.changes.iter().map(<[u8]>::to_vec).collect();
    for h in missing {
        if let Some(c) = automerge::ReadDoc::get_change_by_hash(d, &h) {
            all.push(c.raw_bytes().to_vec());
        }
    }
    m.changes = all.into();
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut b = [0u8; 32];
        hex::decode_to_slice(&s, &mut b).map_err(serde::de::Error::custom)?;
        Ok(b)
    }
}

mod hex64 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 64], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 64], D::Error> {
        let s = String::deserialize(d)?;
        let mut b = [0u8; 64];
        hex::decode_to_slice(&s, &mut b).map_err(serde::de::Error::custom)?;
        Ok(b)
    }
}

#[cfg(test)]
mod tests;
