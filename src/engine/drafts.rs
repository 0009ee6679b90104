//! The engine's part in drafting: what needs the node's keys, its config, its store or more than
//! one document (the joint draft and each Party's annex of it): the Parties and languages of a
//! new draft, each Party's record (approval, signature, comments, suggestions, decisions) in its
//! own annex, verifying against the pinned keys, and keeping this node's own original of an
//! executed draft.

use std::sync::Arc;

use super::{Core, EngineError};
use crate::ids::DocId;
use crate::workspace::draft::{self, Draft};
use crate::workspace::party_docs::PartyDoc;
use crate::workspace::{ChangeCtx, DocKind};

impl Core {
    /// Once a draft is executed (signed here or by a peer), this node keeps its own original:
    /// the signed canonical text, which `draft verify` compares the stored text with.
    pub(super) fn keep_original(&mut self, changed: DocId) {
        // A draft executes when its text or a Party's annex of it changes.
        let id = match self.docs.meta(changed).map(|m| m.kind) {
            Some(DocKind::Draft) => changed,
            Some(DocKind::Annex) => match self
                .docs
                .get(&self.store, changed)
                .ok()
                .and_then(|a| crate::workspace::util::get_str(&*a, &automerge::ROOT, "parent").ok().flatten())
            {
                Some(p) => match p.parse::<DocId>() {
                    Ok(p) if self.docs.meta(p).is_some_and(|m| m.kind == DocKind::Draft) => p,
                    _ => return,
                },
                None => return,
            },
            _ => return,
        };
        // Nothing to read for a draft no Party has signed, which is nearly every change; the
        // store is asked only for an executed draft.
        let Ok(Some(recs)) = self.signed_records(id) else { return };
        let original = match self.docs.get(&self.store, id) {
            Ok(doc) => draft::executed_original(doc, &recs, &id.to_string()),
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

    /// A draft with both Parties' records on it.
    pub fn read_draft(&mut self, id: DocId) -> Result<Draft, EngineError> {
        let recs = self.draft_records(id)?;
        Ok(draft::read_with(self.doc(id)?, &recs, &id.to_string())?)
    }

    /// Runs `f` on our Party's annex of a draft (made if we have none yet), with the draft and
    /// both Parties' records as they stand.
    fn in_own_annex<T>(
        &mut self,
        id: DocId,
        f: impl FnOnce(&mut automerge::Automerge, &automerge::Automerge, &draft::Records) -> crate::workspace::Result<T>,
    ) -> Result<T, EngineError> {
        let recs = self.draft_records(id)?;
        let doc = self.doc(id)?.clone();
        self.change_own(PartyDoc::Annex(id), |a| f(a, &doc, &recs))
    }

    /// Comments on a provision for our Party; returns the comment's id.
    pub fn comment_draft(
        &mut self,
        id: DocId,
        ctx: &ChangeCtx,
        provision: &str,
        text: &str,
        reply_to: Option<&str>,
    ) -> Result<String, EngineError> {
        self.in_own_annex(id, |a, d, _| draft::comment(a, d, ctx, provision, text, reply_to))
    }

    /// Suggests a text for our Party; returns the suggestion's id.
    pub fn suggest_draft(
        &mut self,
        id: DocId,
        ctx: &ChangeCtx,
        provision: &str,
        lang: &str,
        text: &str,
    ) -> Result<String, EngineError> {
        self.in_own_annex(id, |a, d, _| draft::suggest(a, d, ctx, provision, lang, text))
    }

    /// Records our Party's approval of the draft as it stands.
    pub fn approve_draft(&mut self, id: DocId, ctx: &ChangeCtx) -> Result<(), EngineError> {
        self.in_own_annex(id, |a, d, recs| draft::approve(a, d, recs, ctx, &id.to_string()))?;
        self.audit_act(ctx, "draft-approved", &id.to_string());
        Ok(())
    }

    /// Signs an agreed draft for our Party (the Party key never leaves the engine).
    pub fn sign_draft(&mut self, id: DocId, ctx: &ChangeCtx) -> Result<(), EngineError> {
        let key = self.crypto.signing.clone();
        self.in_own_annex(id, |a, d, recs| draft::sign(a, d, recs, ctx, &id.to_string(), &key))?;
        self.audit_act(ctx, "draft-signed", &id.to_string());
        Ok(())
    }

    /// Puts a draft to review.
    pub fn review_draft(&mut self, id: DocId, ctx: &ChangeCtx) -> Result<(), EngineError> {
        let recs = self.draft_records(id)?;
        self.change(id, |d| draft::start_review(d, &recs, ctx))?;
        self.audit_act(ctx, "draft-in-review", &id.to_string());
        Ok(())
    }

    /// Withdraws a draft.
    pub fn withdraw_draft(&mut self, id: DocId, ctx: &ChangeCtx) -> Result<(), EngineError> {
        let recs = self.draft_records(id)?;
        self.change(id, |d| draft::withdraw(d, &recs, ctx))?;
        self.audit_act(ctx, "draft-withdrawn", &id.to_string());
        Ok(())
    }

    /// Accepts or rejects a suggestion (of either Party) on whichever draft holds it; returns
    /// that draft's id.
    pub fn decide_suggestion(&mut self, sid: &str, ctx: &ChangeCtx, accept: bool) -> Result<DocId, EngineError> {
        // The summaries know which draft holds each suggestion: no scan of every draft.
        let Some(id) = self.draft_of_suggestion(sid).into_iter().next() else {
            return Err(EngineError::Workspace(Arc::new(crate::workspace::WorkspaceError::NoSuchEntry {
                what: "suggestion",
                id: sid.into(),
            })));
        };
        self.decide_suggestion_in(id, sid, ctx, accept)?;
        Ok(id)
    }

    /// Accepts or rejects suggestion `sid` of draft `id`.
    pub fn decide_suggestion_in(
        &mut self,
        id: DocId,
        sid: &str,
        ctx: &ChangeCtx,
        accept: bool,
    ) -> Result<(), EngineError> {
        let recs = self.draft_records(id)?;
        // The text edit (joint) first, then our decision (our annex); both in this round.
        let mut edited = self.doc(id)?.clone();
        let annex_id = self.own_party_doc(PartyDoc::Annex(id))?;
        let mut annex = self.doc(annex_id)?.clone();
        draft::decide(&mut edited, &mut annex, &recs, ctx, sid, accept)?;
        let merge = |from: automerge::Automerge| {
            move |d: &mut automerge::Automerge| -> crate::workspace::Result<()> {
                let mut from = from;
                d.merge(&mut from)?;
                Ok(())
            }
        };
        if accept {
            self.change(id, merge(edited))?;
        }
        self.change_own(PartyDoc::Annex(id), merge(annex))?;
        Ok(())
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
        let recs = self.draft_records(id)?;
        let doc = self.docs.get(&self.store, id)?;
        Ok(draft::verify(doc, &recs, &id.to_string(), &key_of, original.as_ref())?)
    }
}

/// What an executed draft's original in one language is made from: the draft with both Parties'
/// records, the Parties' full names, and the hash of the original this node kept.
pub struct OriginalSource {
    /// The draft.
    pub draft: Draft,
    /// Every Party this node knows, with its names.
    pub parties: Vec<super::PartyInfo>,
    /// The hash of the original this node kept when the draft was executed.
    pub kept: Option<[u8; 32]>,
}

impl Core {
    /// Reads what [`draft::pdf::original`] needs; the rendering is left to the caller, off the
    /// engine's thread.
    pub fn original_source(&mut self, id: DocId) -> Result<OriginalSource, EngineError> {
        let kept = self.store.original(id).map_err(|e| EngineError::Store(Arc::new(e)))?.map(|o| o.hash);
        Ok(OriginalSource { draft: self.read_draft(id)?, parties: self.parties()?, kept })
    }
}
