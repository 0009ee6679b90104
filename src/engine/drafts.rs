//! The engine's part in drafting: what needs the node's keys, its config or its store beside
//! the draft document (the Parties and languages of a new draft, signing, verifying against the
//! pinned keys, and keeping this node's own original of an executed draft).

use std::sync::Arc;

use super::{Core, EngineError};
use crate::ids::DocId;
use crate::workspace::DocKind;

impl Core {
    /// Once a draft is executed (signed here or by a peer), this node keeps its own original:
    /// the signed canonical text, which `draft verify` compares the stored text with.
    pub(super) fn keep_original(&mut self, id: DocId) {
        if self.docs.meta(id).map(|m| m.kind) != Some(DocKind::Draft) {
            return;
        }
        // Cheap for a draft not signed by every Party, which is nearly every change; the store
        // is asked only for an executed draft.
        let original = match self.docs.get(&self.store, id) {
            Ok(doc) => crate::workspace::draft::executed_original(doc, &id.to_string()),
            Err(_) => return,
        };
        if let Ok(Some(o)) = original
            && matches!(self.store.original(id), Ok(None))
        {
            match self.store.write(|w| w.put_original(id, &o)) {
                Ok(()) => tracing::info!(draft = %id, "draft executed: this node keeps its original"),
                Err(e) => tracing::error!(draft = %id, error = %e, "cannot keep the executed original"),
            }
        }
    }

    /// The Parties that approve and sign a new draft: ours and every other Party pinned as such.
    pub fn draft_parties(&self) -> Vec<String> {
        let mut v = vec![self.identity.party.id.to_string()];
        for p in self.peers.pinned() {
            if p.role == crate::config::PeerRole::Party && !v.contains(&p.party_id.to_string()) {
                v.push(p.party_id.to_string());
            }
        }
        v.sort();
        v
    }

    /// The languages of a new draft, from this node's config.
    pub fn draft_languages(&self) -> Vec<String> {
        self.policy.draft_languages.clone()
    }

    /// Signs an agreed draft for our Party (the Party key never leaves the engine).
    pub fn sign_draft(&mut self, id: DocId, ctx: &crate::workspace::ChangeCtx) -> Result<(), EngineError> {
        let key = self.crypto.signing.clone();
        self.change(id, |d| crate::workspace::draft::sign(d, ctx, &id.to_string(), &key))
    }

    /// Checks an executed draft's signatures against the pinned Party keys, and its text against
    /// this node's original.
    pub fn verify_draft(&mut self, id: DocId) -> Result<crate::workspace::draft::Verification, EngineError> {
        let original = self.store.original(id).map_err(|e| EngineError::Store(Arc::new(e)))?;
        let us = self.identity.party.id.clone();
        let own = self.crypto.signing.verifying_key().to_bytes();
        let keys: Vec<(crate::ids::PartyId, [u8; 32])> =
            self.peers.pinned().filter_map(|p| p.signing_key.map(|k| (p.party_id.clone(), k))).collect();
        let key_of = move |p: &crate::ids::PartyId| {
            if *p == us { Some(own) } else { keys.iter().find(|(q, _)| q == p).map(|(_, k)| *k) }
        };
        let doc = self.docs.get(&self.store, id)?;
        Ok(crate::workspace::draft::verify(doc, &id.to_string(), &key_of, original.as_ref())?)
    }
}
