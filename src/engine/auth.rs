//! The engine's part in authenticated changes and per-Party authority: it keeps the actor
//! certificates and every document's signed heads, signs the heads of its own actors once per
//! round, and checks every change a peer sends (who made it, and whether that Party may write
//! that document) before anything of the batch is kept. Its own changes pass the same rule
//! before they are made. The rules themselves are in [`crate::authorship`] and
//! [`crate::authority`].

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use automerge::{Automerge, ChangeHash};
use libp2p::PeerId;

use super::docs::Backup;
use super::peers::Violation;
use super::{Core, EngineError};
use crate::authority::{self, DocFacts, Owner};
use crate::authorship::{self, ActorCert, Attribution, Certs, ChangeFacts, HeadBook, NodeActor, SignedHead};
use crate::ids::{DocId, PartyId};
use crate::store::{Store, StoreError, Writer};
use crate::workspace::draft::{self, Records};
use crate::workspace::party_docs::{self, PartyDoc};
use crate::workspace::{DocKind, WorkspaceError};

/// What the engine knows of who wrote what.
pub(super) struct Auth {
    /// Every verified certificate, ours included.
    pub certs: Certs,
    /// This node's actor.
    pub own: NodeActor,
    /// Our certificate, issued with our Party key at start.
    pub own_cert: ActorCert,
    /// Signs our heads: the node key.
    node_signer: ed25519_dalek::SigningKey,
    /// The signed heads of documents, loaded from the store when first needed.
    books: HashMap<DocId, HeadBook>,
    /// Heads to write at the next commit.
    dirty_heads: BTreeSet<(DocId, Vec<u8>)>,
    /// Certificates to write at the next commit.
    new_certs: Vec<ActorCert>,
}

impl Auth {
    /// Loads the certificates and makes ours.
    pub fn open(
        store: &Store,
        party: &PartyId,
        party_key: &ed25519_dalek::SigningKey,
        node_key: &libp2p::identity::ed25519::Keypair,
        peer_id: PeerId,
    ) -> Result<Auth, EngineError> {
        let own = NodeActor(store.actor().map_err(|e| EngineError::Store(Arc::new(e)))?);
        let secret: [u8; 32] = node_key.secret().as_ref().try_into().map_err(|_| EngineError::NodeKeyShape)?;
        let node_signer = ed25519_dalek::SigningKey::from_bytes(&secret);
        let own_cert = ActorCert::issue(
            party_key,
            party.clone(),
            peer_id.to_string(),
            node_signer.verifying_key().to_bytes(),
            own,
        )
        .map_err(|e| EngineError::Signing(Arc::new(e)))?;
        let mut certs = Certs::default();
        let mut new_certs = Vec::new();
        for c in store.certs().map_err(|e| EngineError::Store(Arc::new(e)))? {
            // Stored certificates were verified when they came; an actor stays one node's.
            if let Err(e) = certs.add(c) {
                tracing::warn!(error = %e, "a stored certificate conflicts with another; ignored");
            }
        }
        if certs.add(own_cert.clone()).map_err(|e| EngineError::Certificate(Arc::new(e)))? {
            new_certs.push(own_cert.clone());
        }
        Ok(Auth { certs, own, own_cert, node_signer, books: HashMap::new(), dirty_heads: BTreeSet::new(), new_certs })
    }

    /// The signed heads of `doc`.
    pub fn book(&mut self, store: &Store, doc: DocId) -> Result<&mut HeadBook, StoreError> {
        match self.books.entry(doc) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut b = HeadBook::new();
                for h in store.heads(doc)? {
                    b.keep(h);
                }
                Ok(e.insert(b))
            }
        }
    }

    /// Writes what changed since the last commit.
    pub fn persist(&mut self, w: &mut Writer<'_>) -> Result<(), StoreError> {
        for c in &self.new_certs {
            w.put_cert(c)?;
        }
        for (doc, actor) in &self.dirty_heads {
            if let Some(b) = self.books.get(doc) {
                w.put_heads(*doc, actor, b.of(actor))?;
            }
        }
        Ok(())
    }

    /// Whether anything waits to be written.
    pub fn has_dirty(&self) -> bool {
        !self.new_certs.is_empty() || !self.dirty_heads.is_empty()
    }

    /// The commit succeeded.
    pub fn committed(&mut self) {
        self.new_certs.clear();
        self.dirty_heads.clear();
        // Every book is now as the store holds it, and is read back when next needed: keep only
        // a few between commits. Kept for good, a fresh node's bootstrap left every document's
        // book in memory (20 MB at 14,612 documents, and growing with the workspace).
        if self.books.len() > BOOKS_KEPT {
            self.books.clear();
            self.books.shrink_to(BOOKS_KEPT);
        }
    }
}

/// The most head books kept in memory from one commit to the next: the documents being edited
/// now, not the whole workspace.
const BOOKS_KEPT: usize = 1024;

/// What a peer's batch changed that must be undone if it is refused.
#[derive(Default)]
pub(super) struct Stage {
    docs: Vec<(DocId, Backup)>,
    books: Vec<(DocId, Option<HeadBook>)>,
    certs: Vec<NodeActor>,
    writes: usize,
    audit: usize,
}

/// Whether an audit event records a refusal (those stay when a batch is undone).
fn is_refusal(e: &crate::audit::Event) -> bool {
    matches!(e, crate::audit::Event::ReceiveRefused { .. } | crate::audit::Event::TransmissionRefused { .. })
}

impl Core {
    // ---- batches: all or nothing ----

    /// Starts recording what a peer's batch changes.
    pub(super) fn begin_batch(&mut self) {
        self.stage = Some(Stage { writes: self.round.writes.len(), audit: self.audit_log.mark(), ..Stage::default() });
    }

    /// The batch is accepted: keep it.
    pub(super) fn accept_batch(&mut self) {
        self.stage = None;
    }

    /// The batch is refused: put back every document, head and certificate it changed, and drop
    /// its writes; only the refusals it recorded stay in the audit log. Says whether it recorded
    /// any.
    pub(super) fn undo_batch(&mut self) -> bool {
        let Some(stage) = self.stage.take() else { return false };
        for (doc, backup) in stage.docs.into_iter().rev() {
            self.docs.restore(doc, backup);
            self.round.origins.remove(&doc);
        }
        for (doc, book) in stage.books.into_iter().rev() {
            match book {
                Some(b) => {
                    self.auth.books.insert(doc, b);
                }
                None => {
                    self.auth.books.remove(&doc);
                }
            }
            self.auth.dirty_heads.retain(|(d, _)| *d != doc);
        }
        for actor in stage.certs {
            self.auth.certs.remove(&actor);
            self.auth.new_certs.retain(|c| c.actor != actor);
        }
        self.round.writes.truncate(stage.writes);
        self.audit_log.undo_to(stage.audit, is_refusal)
    }

    /// Before a batch changes `doc`: remember how to put it back.
    pub(super) fn stage_doc(&mut self, doc: DocId) {
        if let Some(stage) = self.stage.as_mut()
            && !stage.docs.iter().any(|(d, _)| *d == doc)
        {
            stage.docs.push((doc, self.docs.backup(doc)));
        }
    }

    fn stage_book(&mut self, doc: DocId) -> Result<(), StoreError> {
        let had = self.auth.book(&self.store, doc)?.clone();
        if let Some(stage) = self.stage.as_mut()
            && !stage.books.iter().any(|(d, _)| *d == doc)
        {
            stage.books.push((doc, Some(had)));
        }
        Ok(())
    }

    // ---- what peers send ----

    /// The signing key of a Party: ours, or pinned.
    pub(super) fn party_key(&self, party: &PartyId) -> Option<[u8; 32]> {
        if *party == self.identity.party.id {
            Some(self.crypto.signing.verifying_key().to_bytes())
        } else {
            self.peers.signing_key_of(party)
        }
    }

    /// Certificates from a peer: each must be signed by a Party pinned here with its key, and an
    /// actor already known stays its node's.
    pub(super) fn on_certs(&mut self, peer: PeerId, certs: Vec<ActorCert>) -> Result<(), Violation> {
        if certs.len() > 4096 {
            return Err(Violation("more than 4096 certificates in one batch".into()));
        }
        if self.peers.by_id.get(&peer).map(|p| p.pinned.role) != Some(crate::config::PeerRole::Party) {
            // Certificates are part of the workspace, which only the Parties share.
            return Err(Violation(crate::policy::DenyReason::WorkspaceToThirdParty.to_string()));
        }
        for c in certs {
            let Some(key) = self.party_key(&c.party) else {
                return Err(Violation(format!(
                    "a certificate of an actor of {}, whose signing key is not pinned here",
                    c.party
                )));
            };
            c.verify(&key).map_err(|e| Violation(e.to_string()))?;
            let actor = c.actor;
            match self.auth.certs.add(c.clone()) {
                Ok(true) => {
                    tracing::info!(%peer, node = %c.node, party = %c.party, "learnt a node's actor certificate");
                    self.auth.new_certs.push(c.clone());
                    if let Some(stage) = self.stage.as_mut() {
                        stage.certs.push(actor);
                    }
                    self.share_cert(peer, c);
                }
                Ok(false) => {}
                Err(e) => return Err(Violation(e.to_string())),
            }
        }
        Ok(())
    }

    /// Passes a newly learnt certificate on to the other Party peers in session.
    fn share_cert(&mut self, from: PeerId, cert: ActorCert) {
        for (id, p) in self.peers.by_id.iter_mut() {
            if *id == from {
                continue;
            }
            if let Some(s) = p.session.as_mut()
                && s.workspace
            {
                s.want_certs.push(cert.clone());
            }
        }
    }

    /// Signed heads from a peer for `doc`: each must verify; the newest of each actor is kept.
    pub(super) fn on_heads(&mut self, doc: DocId, heads: Vec<SignedHead>) -> Result<(), Violation> {
        if heads.is_empty() {
            return Ok(());
        }
        if heads.len() > 65_536 {
            return Err(Violation(format!("more than 65536 signed heads for document {doc}")));
        }
        self.stage_book(doc).map_err(|e| Violation(format!("cannot read the signed heads of {doc}: {e}")))?;
        for h in heads {
            if h.doc != doc {
                return Err(Violation(format!("a signed head of document {} sent with document {doc}", h.doc)));
            }
            let us = self.identity.party.id.clone();
            let own = self.crypto.signing.verifying_key().to_bytes();
            let peers = &self.peers;
            let key_of = |p: &PartyId| if *p == us { Some(own) } else { peers.signing_key_of(p) };
            h.verify(&self.auth.certs, &key_of).map_err(|e| Violation(e.to_string()))?;
            let actor = h.actor.clone();
            let book = self.auth.book(&self.store, doc).map_err(|e| Violation(e.to_string()))?;
            if book.keep(h) {
                self.auth.dirty_heads.insert((doc, actor));
            }
        }
        Ok(())
    }

    /// Checks changes of `doc` that a peer's batch brought (now in the document): who made each
    /// (proven), and whether that Party may write this document.
    pub(super) fn check_changes(
        &mut self,
        doc: DocId,
        facts: &DocFacts<'_>,
        genesis: Option<[u8; 32]>,
        changes: &[ChangeFacts],
    ) -> Result<(), Violation> {
        if changes.is_empty() {
            return Ok(());
        }
        let Core { auth, store, docs, .. } = self;
        let book = auth.book(store, doc).map_err(|e| Violation(e.to_string()))?.clone();
        let d = docs.get(store, doc).map_err(|e| Violation(e.to_string()))?;
        let present =
            |h: &[u8; 32]| d.get_change_meta_by_hash(&ChangeHash(*h)).map(|m| (m.actor.to_bytes().to_vec(), m.seq));
        let who = authorship::attribute(doc, changes, &book, &auth.certs, genesis, &present)
            .map_err(|e| Violation(format!("document {doc}: {e}")))?;
        let mut seen = std::collections::HashSet::new();
        for w in who {
            if seen.insert(w.clone()) {
                authority::may_write(facts, &w).map_err(|e| Violation(format!("document {doc}: {e}")))?;
            }
        }
        shape(doc, facts.kind, d, false)
    }

    /// Checks a whole document a peer sent (now held, not yet stored): who made every change,
    /// one actor at a time, and whether each may write this document.
    pub(super) fn check_whole(
        &mut self,
        doc: DocId,
        facts: &DocFacts<'_>,
        genesis: Option<[u8; 32]>,
    ) -> Result<(), Violation> {
        let Core { auth, store, docs, .. } = self;
        let book = auth.book(store, doc).map_err(|e| Violation(e.to_string()))?.clone();
        let d = docs.get(store, doc).map_err(|e| Violation(e.to_string()))?;
        let who = super::sync::guarded("snapshot", || {
            authorship::attribute_whole(doc, d, &book, &auth.certs, genesis).map_err(|e| e.to_string())
        })
        .map_err(|e| Violation(format!("document {doc}: {e}")))?;
        for w in who {
            authority::may_write(facts, &w).map_err(|e| Violation(format!("document {doc}: {e}")))?;
        }
        shape(doc, facts.kind, d, true)
    }

    /// Whether `doc` belongs to an executed draft: the draft itself, or a Party's annex of it.
    pub(super) fn doc_frozen(&mut self, doc: DocId) -> Result<bool, EngineError> {
        let Some(meta) = self.docs.meta(doc) else { return Ok(false) };
        let (draft, annex) = match meta.kind {
            DocKind::Draft => (doc, false),
            DocKind::Annex => {
                let d = self.docs.get(&self.store, doc)?;
                match crate::workspace::util::get_str(&*d, &automerge::ROOT, "parent").ok().flatten() {
                    Some(p) => match p.parse::<DocId>() {
                        Ok(p) if self.docs.meta(p).is_some_and(|m| m.kind == DocKind::Draft) => (p, true),
                        _ => return Ok(false),
                    },
                    None => return Ok(false),
                }
            }
            _ => return Ok(false),
        };
        self.draft_frozen(draft, annex)
    }

    /// Whether `draft` is executed, for a change of the draft itself or (`annex`) of a Party's
    /// record on it. The draft's text is frozen once this node kept its original. A Party's
    /// record is frozen once the records held here execute the draft: a draft executed before
    /// authentication has its original kept here while the Parties' records on it are still
    /// being copied into their own annexes (each Party's node copies its own when it upgrades),
    /// and those copies must still be written and received.
    pub(super) fn draft_frozen(&mut self, draft: DocId, annex: bool) -> Result<bool, EngineError> {
        // Kept once executed: no need to hash the text again.
        if !annex && matches!(self.store.original(draft), Ok(Some(_))) {
            return Ok(true);
        }
        let Some(recs) = self.signed_records(draft)? else {
            return Ok(false);
        };
        if !recs.any_signed() {
            return Ok(false);
        }
        let d = self.docs.get(&self.store, draft)?;
        Ok(draft::executed(d, &recs)?)
    }

    /// Both Parties' records on a draft if any annex holds a signature; `None` when none does,
    /// which answers every question of the engine that turns on a signature (frozen, editable,
    /// executed) without reading the records.
    ///
    /// Those questions are asked at every keystroke, on both nodes, and for every annex a peer
    /// sends: most drafts are not signed. Whether an annex holds a signature is one key, where
    /// reading the records reads every comment, suggestion and decision (on the years workspace,
    /// a tenth of the engine's time per keystroke, three times over); and a long draft costs
    /// tens of MB once loaded (a fresh node's bootstrap loaded every draft for this).
    pub(super) fn signed_records(&mut self, draft: DocId) -> Result<Option<Records>, EngineError> {
        let mut any = false;
        for id in self.annexes_of(draft)? {
            if draft::records::has_signature(self.docs.get(&self.store, id)?)? {
                any = true;
                break;
            }
        }
        if any { Ok(Some(self.draft_records(draft)?)) } else { Ok(None) }
    }

    /// Both Parties' records on a draft, with signatures checked against the pinned keys.
    pub fn draft_records(&mut self, draft: DocId) -> Result<Records, EngineError> {
        let annexes = self.annexes_of(draft)?;
        let us = self.identity.party.id.clone();
        let own = self.crypto.signing.verifying_key().to_bytes();
        let keys: Vec<(PartyId, [u8; 32])> =
            self.peers.pinned().filter_map(|p| p.signing_key.map(|k| (p.party_id.clone(), k))).collect();
        let key_of = move |p: &PartyId| {
            if *p == us { Some(own) } else { keys.iter().find(|(q, _)| q == p).map(|(_, k)| *k) }
        };
        let mut recs = Records::default();
        for id in annexes {
            recs.add(self.docs.get(&self.store, id)?, &key_of)?;
        }
        Ok(recs)
    }

    /// The annexes of a draft or thread held here (one per Party that wrote any): of our Party,
    /// of the Parties pinned, and of any Party whose node's certificate we hold (a peer unpinned
    /// for a while keeps its records).
    pub fn annexes_of(&self, parent: DocId) -> Result<Vec<DocId>, EngineError> {
        let mut parties: Vec<PartyId> = vec![self.identity.party.id.clone()];
        let pinned = self.peers.pinned().filter(|p| p.role == crate::config::PeerRole::Party).map(|p| &p.party_id);
        for p in pinned.chain(self.auth.certs.all().map(|c| &c.party)) {
            if !parties.contains(p) {
                parties.push(p.clone());
            }
        }
        Ok(parties.iter().map(|p| PartyDoc::Annex(parent).id(p)).filter(|id| self.docs.contains(*id)).collect())
    }

    /// The id of one of our Party's documents, created (from its fixed first change) if this
    /// node does not hold it yet.
    pub fn own_party_doc(&mut self, pd: PartyDoc) -> Result<DocId, EngineError> {
        let party = self.identity.party.id.clone();
        let id = pd.id(&party);
        if !self.docs.contains(id) {
            let doc = pd.genesis(&party)?;
            self.docs.insert_local(id, pd.kind(), Owner::Party(party), doc);
            self.round.origins.insert(id, (super::Origin::Local, super::mono_ns()));
        }
        Ok(id)
    }

    // ---- our own changes ----

    /// This node's actor certificate.
    pub fn own_cert(&self) -> ActorCert {
        self.auth.own_cert.clone()
    }

    /// Who we are, as the rule sees a change of ours.
    pub(super) fn own_attribution(&self) -> Attribution {
        Attribution::Node { party: self.identity.party.id.clone(), node: self.identity.peer_id.to_string() }
    }

    /// Refuses a change of ours that the rule refuses (another Party's document, a sealed one, an
    /// executed draft), before it is made.
    pub(super) fn check_own_write(&mut self, doc: DocId) -> Result<(), EngineError> {
        let Some(meta) = self.docs.meta(doc) else { return Ok(()) };
        let (kind, owner) = (meta.kind, meta.owner.clone());
        let frozen = self.doc_frozen(doc)?;
        authority::may_write(&DocFacts { kind, owner: &owner, frozen }, &self.own_attribution())
            .map_err(|r| EngineError::Workspace(Arc::new(WorkspaceError::Refused(r))))?;
        // A text no Party has signed is editable (until it is executed, which takes signatures).
        if kind == DocKind::Draft
            && let Some(recs) = self.signed_records(doc)?
        {
            let d = self.docs.get(&self.store, doc)?;
            draft::check_editable(d, &recs, self.identity.party.id.as_str())?;
        }
        Ok(())
    }

    /// After an officer's change to `doc` (from `before`): notes the newest change of each of
    /// our actors, to sign at the end of the round.
    pub(super) fn note_own_changes(&mut self, doc: DocId, before: &[ChangeHash]) {
        let Ok(d) = self.docs.get(&self.store, doc) else { return };
        for m in d.get_changes_meta(before) {
            let actor = m.actor.to_bytes().to_vec();
            let e = self.round.own_heads.entry((doc, actor)).or_insert((0, [0; 32]));
            if m.seq > e.0 {
                *e = (m.seq, m.hash.0);
            }
        }
    }

    /// Signs the newest change of each of our actors in each document changed this round: one
    /// signature per actor and document.
    pub(super) fn sign_own_heads(&mut self, own: BTreeMap<(DocId, Vec<u8>), (u64, [u8; 32])>) {
        for ((doc, actor), (seq, hash)) in own {
            if authorship::node_actor_of(&actor) != Some(self.auth.own) {
                tracing::error!(%doc, actor = %hex::encode(&actor), "a change of ours under another actor; not signed");
                continue;
            }
            let head = match SignedHead::sign(&self.auth.node_signer, doc, actor.clone(), seq, hash) {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(%doc, error = %e, "cannot sign a head");
                    continue;
                }
            };
            match self.auth.book(&self.store, doc) {
                Ok(book) => {
                    if book.keep(head) {
                        self.auth.dirty_heads.insert((doc, actor));
                    }
                }
                Err(e) => tracing::error!(%doc, error = %e, "cannot read the signed heads"),
            }
        }
    }

    /// Seals, with our Party key, every actor of `doc` that wrote before authentication (those
    /// not ours), and signs our own actors' heads: the upgrade of a version 1 store.
    pub(super) fn seal_legacy(&mut self, doc: DocId) -> Result<usize, EngineError> {
        let party = self.identity.party.id.clone();
        let d = self.docs.get(&self.store, doc)?;
        let mut newest: BTreeMap<Vec<u8>, (u64, [u8; 32])> = BTreeMap::new();
        for m in d.get_changes_meta(&[]) {
            let e = newest.entry(m.actor.to_bytes().to_vec()).or_insert((0, [0; 32]));
            if m.seq > e.0 {
                *e = (m.seq, m.hash.0);
            }
        }
        let mut own = BTreeMap::new();
        let mut sealed = 0;
        for (actor, (seq, hash)) in newest {
            if actor.as_slice() == authorship::GENESIS_ACTOR.as_slice() {
                continue;
            }
            if authorship::node_actor_of(&actor) == Some(self.auth.own) {
                own.insert((doc, actor), (seq, hash));
                continue;
            }
            let seal = SignedHead::seal_legacy(&self.crypto.signing, party.clone(), doc, actor.clone(), seq, hash)
                .map_err(|e| EngineError::Signing(Arc::new(e)))?;
            let book = self.auth.book(&self.store, doc).map_err(|e| EngineError::Store(Arc::new(e)))?;
            if book.keep(seal) {
                self.auth.dirty_heads.insert((doc, actor));
                sealed += 1;
            }
        }
        self.sign_own_heads(own);
        Ok(sealed)
    }

    /// What the rule needs to know of a document held here.
    pub(super) fn facts_of(&mut self, doc: DocId) -> Result<(DocKind, Owner, bool), EngineError> {
        let meta = self.docs.meta(doc).ok_or(EngineError::Load(Arc::new(super::docs::LoadError::Missing(doc))))?;
        let (kind, owner) = (meta.kind, meta.owner.clone());
        Ok((kind, owner, self.doc_frozen(doc)?))
    }

    /// The signed heads to send with a document.
    pub(super) fn heads_for(&mut self, doc: DocId) -> Vec<SignedHead> {
        match self.auth.book(&self.store, doc) {
            Ok(b) => b.heads().cloned().collect(),
            Err(e) => {
                tracing::error!(%doc, error = %e, "cannot read the signed heads");
                Vec::new()
            }
        }
    }
}

/// The facts [`authorship::attribute`] needs of every change of a document (or of the changes
/// after `since`).
pub(super) fn change_facts(doc: &Automerge, since: &[ChangeHash]) -> Vec<ChangeFacts> {
    doc.get_changes_meta(since)
        .into_iter()
        .map(|m| ChangeFacts { hash: m.hash.0, actor: m.actor.to_bytes().to_vec(), seq: m.seq })
        .collect()
}

/// Tells what a received document is and whose; refuses one whose root does not match its id.
pub(super) fn identify(doc: DocId, d: &Automerge) -> Result<party_docs::Identity, Violation> {
    party_docs::identify(doc, d).map_err(|e| Violation(format!("document {doc}: {e}")))
}

/// Puts whole documents written elsewhere with this node's actor into a stopped node's store,
/// signed as this node's own: what a benchmark or a test seeds a node with. Every change must be
/// by this node's actor (or one derived from it).
pub fn import_own_documents(
    data_dir: &std::path::Path,
    docs: &[(DocId, DocKind, &Automerge)],
) -> Result<(), EngineError> {
    let keys = crate::keys::load(data_dir).map_err(|e| EngineError::Keys(Arc::new(e)))?;
    let store = Store::open(data_dir).map_err(|e| EngineError::Store(Arc::new(e)))?;
    let own = NodeActor(store.actor().map_err(|e| EngineError::Store(Arc::new(e)))?);
    let secret: [u8; 32] = keys.node_ed25519.secret().as_ref().try_into().map_err(|_| EngineError::NodeKeyShape)?;
    let signer = ed25519_dalek::SigningKey::from_bytes(&secret);
    store
        .write(|w| {
            for (id, kind, doc) in docs {
                let mut newest: BTreeMap<Vec<u8>, (u64, [u8; 32])> = BTreeMap::new();
                for m in doc.get_changes_meta(&[]) {
                    let e = newest.entry(m.actor.to_bytes().to_vec()).or_insert((0, [0; 32]));
                    if m.seq > e.0 {
                        *e = (m.seq, m.hash.0);
                    }
                }
                for (actor, (seq, hash)) in newest {
                    if authorship::node_actor_of(&actor) != Some(own) {
                        return Err(StoreError::Corrupt {
                            path: data_dir.to_path_buf(),
                            table: "heads",
                            reason: format!(
                                "document {id} has changes of actor {} not this node's",
                                hex::encode(&actor)
                            ),
                        });
                    }
                    let head = SignedHead::sign(&signer, *id, actor.clone(), seq, hash).map_err(|e| {
                        StoreError::Corrupt { path: data_dir.to_path_buf(), table: "heads", reason: e.to_string() }
                    })?;
                    w.put_heads(*id, &actor, &[head])?;
                }
                let bytes = doc.save();
                let meta = crate::store::DocMeta {
                    kind: *kind,
                    heads: doc.get_heads().iter().map(|h| h.0).collect(),
                    snapshot_bytes: bytes.len() as u64,
                    chunk_bytes: 0,
                    next_chunk: 0,
                    owner: Owner::Joint,
                };
                w.put_snapshot(*id, &bytes)?;
                w.put_meta(*id, &meta)?;
            }
            Ok(())
        })
        .map_err(|e| EngineError::Store(Arc::new(e)))
}

/// A document a peer's batch leaves unreadable as its kind is refused (see
/// `workspace::check_shape`).
fn shape(doc: DocId, kind: DocKind, d: &automerge::Automerge, whole: bool) -> Result<(), Violation> {
    super::sync::guarded("document", || crate::workspace::check_shape(kind, d, whole).map_err(|e| e.to_string()))
        .map_err(|e| Violation(format!("document {doc} no longer reads as a {kind:?} after the peer's changes: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn books_beyond_the_bound_leave_memory_at_commit_and_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let party: PartyId = "cica".parse().unwrap();
        let party_key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let node_key = libp2p::identity::ed25519::Keypair::generate();
        let peer = libp2p::identity::Keypair::from(node_key.clone()).public().to_peer_id();
        let mut auth = Auth::open(&store, &party, &party_key, &node_key, peer).unwrap();
        let actor = auth.own.actor(0).to_bytes().to_vec();
        let docs: Vec<DocId> = (0..BOOKS_KEPT + 10).map(|_| DocId::random()).collect();
        for (i, doc) in docs.iter().enumerate() {
            let head = SignedHead::sign(&auth.node_signer, *doc, actor.clone(), 1 + i as u64, [i as u8; 32]).unwrap();
            assert!(auth.book(&store, *doc).unwrap().keep(head));
            auth.dirty_heads.insert((*doc, actor.clone()));
        }
        assert_eq!(auth.books.len(), BOOKS_KEPT + 10);
        store.write(|w| auth.persist(w)).unwrap();
        auth.committed();
        assert!(auth.books.is_empty(), "no book kept past the bound");
        // Read back from the store, each as it was.
        for (i, doc) in docs.iter().enumerate() {
            let b = auth.book(&store, *doc).unwrap();
            let h: Vec<&SignedHead> = b.heads().collect();
            assert_eq!(h.len(), 1);
            assert_eq!((h[0].seq, h[0].hash), (1 + i as u64, [i as u8; 32]));
        }
        auth.committed();
        // Under the bound, the books stay from one commit to the next.
        for doc in &docs[..3] {
            auth.book(&store, *doc).unwrap();
        }
        auth.committed();
        assert_eq!(auth.books.len(), 3);
    }
}
