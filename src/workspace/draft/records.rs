//! Each Party's record on a draft: its approval, its execution signature, its comments, its
//! suggestions and its decisions on suggestions. A Party's record lives in its annex of the draft
//! (see [`crate::workspace::party_docs`]), a document only that Party's nodes write, so nobody
//! can approve, sign, comment or decide in another Party's name, nor edit or remove what the
//! other Party wrote. The joint draft document holds the texts both Parties write.
//!
//! Annex layout: `approval: {hash, by, at}`, `signature: {hash, signature, key, by, at,
//! heads}`, `comments: {id: {provision, text, by, at, reply_to?}}`, `suggestions: {id:
//! {provision, lang, text, base, by, at}}`, `decisions: {suggestion id: {accept, by, at}}`.

use automerge::{Automerge, ROOT, ReadDoc};
use serde::{Deserialize, Serialize};

use crate::ids::{PartyId, random_hex};
use crate::workspace::party_docs::party_of;
use crate::workspace::util::{get_str, map_maps, req_str};
use crate::workspace::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change};

/// A Party's approval of the draft's content.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// The content hash approved, hex.
    pub hash: String,
    /// Who.
    pub by: Author,
    /// When.
    pub at: String,
}

/// A Party's execution signature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignatureRecord {
    /// The content hash signed, hex.
    pub hash: String,
    /// Ed25519 signature, hex.
    pub signature: String,
    /// The key that signed, hex.
    pub key: String,
    /// The joint draft's version when it was signed.
    pub heads: String,
    /// Who.
    pub by: Author,
    /// When.
    pub at: String,
    /// Whether it verifies with the Party's pinned key over its hash.
    pub verified: bool,
}

/// A comment on a provision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// Id.
    pub id: String,
    /// The provision.
    #[serde(default)]
    pub provision: String,
    /// Who wrote it.
    pub author: Option<Author>,
    /// When.
    pub at: String,
    /// What it says.
    pub text: String,
    /// The comment it answers, if any.
    #[serde(default)]
    pub reply_to: Option<String>,
}

/// A suggestion as its author recorded it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuggestionRecord {
    /// Id.
    pub id: String,
    /// The provision.
    pub provision: String,
    /// The language.
    pub lang: String,
    /// The text proposed.
    pub text: String,
    /// The version it was made from.
    pub base: String,
    /// Who.
    pub by: Author,
    /// When.
    pub at: String,
}

/// A Party's decision on a suggestion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// Accepted (and applied) or rejected.
    pub accept: bool,
    /// Who.
    pub by: Author,
    /// When.
    pub at: String,
}

/// One Party's record on a draft.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PartyRecord {
    /// The Party.
    pub party: Option<PartyId>,
    /// Its approval, if any.
    pub approval: Option<ApprovalRecord>,
    /// Its signature, if any.
    pub signature: Option<SignatureRecord>,
    /// Its comments.
    pub comments: Vec<Comment>,
    /// Its suggestions.
    pub suggestions: Vec<SuggestionRecord>,
    /// Its decisions, by suggestion id.
    pub decisions: Vec<(String, DecisionRecord)>,
}

/// Both Parties' records on one draft.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Records {
    /// One per Party that has an annex.
    pub parties: Vec<PartyRecord>,
}

impl Records {
    /// Reads the annexes of a draft; `key_of` gives each Party's pinned signing key, with which
    /// its signature is checked.
    pub fn read(annexes: &[&Automerge], key_of: &dyn Fn(&PartyId) -> Option<[u8; 32]>) -> Result<Records> {
        let mut r = Records::default();
        for a in annexes {
            r.add(a, key_of)?;
        }
        Ok(r)
    }

    /// Adds one Party's annex.
    pub fn add(&mut self, annex: &Automerge, key_of: &dyn Fn(&PartyId) -> Option<[u8; 32]>) -> Result<()> {
        self.parties.push(read_annex(annex, key_of)?);
        self.parties.sort_by(|a, b| a.party.cmp(&b.party));
        Ok(())
    }

    /// A Party's record.
    pub fn of(&self, party: &str) -> Option<&PartyRecord> {
        self.parties.iter().find(|r| r.party.as_ref().is_some_and(|p| p.as_str() == party))
    }

    /// Whether any Party's signature verifies. A draft none has signed is neither fully signed
    /// nor executed, whatever its text: answered without reading the draft itself.
    pub fn any_signed(&self) -> bool {
        self.parties.iter().any(|r| r.signature.as_ref().is_some_and(|s| s.verified))
    }

    /// Every comment, oldest first.
    pub fn comments(&self) -> Vec<Comment> {
        let mut v: Vec<Comment> = self.parties.iter().flat_map(|r| r.comments.iter().cloned()).collect();
        v.sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
        v
    }

    /// The decision on a suggestion: an acceptance by any Party wins (its edit is in the text),
    /// else a rejection.
    pub fn decision(&self, suggestion: &str) -> Option<&DecisionRecord> {
        let all: Vec<&DecisionRecord> = self
            .parties
            .iter()
            .flat_map(|r| r.decisions.iter().filter(|(id, _)| id == suggestion).map(|(_, d)| d))
            .collect();
        all.iter().find(|d| d.accept).or_else(|| all.first()).copied()
    }
}

/// Whether a Party's annex holds a signature at all (verified or not): one key read, where
/// [`Records::add`] reads every comment, suggestion and decision. A draft whose annexes hold
/// none is not signed by any Party, which is all most of the engine's checks ask.
pub fn has_signature(annex: &Automerge) -> Result<bool> {
    Ok(match annex.get(ROOT, "signature")? {
        Some((_, s)) => get_str(annex, &s, "hash")?.is_some(),
        None => false,
    })
}

fn read_annex(doc: &Automerge, key_of: &dyn Fn(&PartyId) -> Option<[u8; 32]>) -> Result<PartyRecord> {
    let party = party_of(doc).ok_or_else(|| WorkspaceError::Malformed("an annex that names no Party".into()))?;
    let by = |o: &automerge::ObjId| -> Result<Author> {
        Ok(Author { officer: get_str(doc, o, "by")?.unwrap_or_default(), party: party.clone() })
    };
    let approval = match doc.get(ROOT, "approval")? {
        Some((_, a)) if get_str(doc, &a, "hash")?.is_some() => {
            Some(ApprovalRecord { hash: req_str(doc, &a, "hash")?, by: by(&a)?, at: req_str(doc, &a, "at")? })
        }
        _ => None,
    };
    let signature = match doc.get(ROOT, "signature")? {
        Some((_, s)) if get_str(doc, &s, "hash")?.is_some() => {
            let hash = req_str(doc, &s, "hash")?;
            let signature = req_str(doc, &s, "signature")?;
            let key = req_str(doc, &s, "key")?;
            let verified = key_of(&party)
                .is_some_and(|k| hex::encode(k) == key && super::workflow::signature_verifies(&k, &hash, &signature));
            Some(SignatureRecord {
                hash,
                signature,
                key,
                heads: get_str(doc, &s, "heads")?.unwrap_or_default(),
                by: by(&s)?,
                at: req_str(doc, &s, "at")?,
                verified,
            })
        }
        _ => None,
    };
    let mut comments = Vec::new();
    for (id, c) in map_maps(doc, &ROOT, "comments")? {
        comments.push(Comment {
            id,
            provision: req_str(doc, &c, "provision")?,
            author: Some(by(&c)?),
            at: req_str(doc, &c, "at")?,
            text: req_str(doc, &c, "text")?,
            reply_to: get_str(doc, &c, "reply_to")?,
        });
    }
    let mut suggestions = Vec::new();
    for (id, s) in map_maps(doc, &ROOT, "suggestions")? {
        suggestions.push(SuggestionRecord {
            id,
            provision: req_str(doc, &s, "provision")?,
            lang: req_str(doc, &s, "lang")?,
            text: req_str(doc, &s, "text")?,
            base: req_str(doc, &s, "base")?,
            by: by(&s)?,
            at: req_str(doc, &s, "at")?,
        });
    }
    let mut decisions = Vec::new();
    for (id, d) in map_maps(doc, &ROOT, "decisions")? {
        let accept = match doc.get(&d, "accept")? {
            Some((automerge::Value::Scalar(v), _)) => matches!(v.as_ref(), automerge::ScalarValue::Boolean(true)),
            _ => false,
        };
        decisions.push((id, DecisionRecord { accept, by: by(&d)?, at: req_str(doc, &d, "at")? }));
    }
    Ok(PartyRecord { party: Some(party), approval, signature, comments, suggestions, decisions })
}

/// Refuses to write in another Party's annex.
pub(super) fn check_own(annex: &Automerge, ctx: &ChangeCtx) -> Result<()> {
    let owner = party_of(annex).ok_or_else(|| WorkspaceError::Malformed("an annex that names no Party".into()))?;
    if owner != ctx.author.party {
        return Err(WorkspaceError::Refused(crate::authority::Refusal::NotItsParty {
            kind: DocKind::Annex,
            owner,
            writer: ctx.author.party.clone(),
        }));
    }
    Ok(())
}

/// Writes the author's Party's approval of `hash` into its annex.
pub(super) fn put_approval(annex: &mut Automerge, ctx: &ChangeCtx, hash: &str) -> Result<()> {
    check_own(annex, ctx)?;
    change(annex, ctx, |tx| {
        let a = tx.map(&ROOT, "approval")?;
        tx.put_str(&a, "hash", hash)?;
        tx.put_str(&a, "by", &ctx.author.officer)?;
        tx.put_str(&a, "at", &ctx.now_str())
    })
}

/// Writes the author's Party's signature into its annex.
pub(super) fn put_signature(
    annex: &mut Automerge,
    ctx: &ChangeCtx,
    hash: &str,
    sig: &str,
    key: &str,
    heads: &str,
) -> Result<()> {
    check_own(annex, ctx)?;
    change(annex, ctx, |tx| {
        let s = tx.map(&ROOT, "signature")?;
        tx.put_str(&s, "hash", hash)?;
        tx.put_str(&s, "signature", sig)?;
        tx.put_str(&s, "key", key)?;
        tx.put_str(&s, "heads", heads)?;
        tx.put_str(&s, "by", &ctx.author.officer)?;
        tx.put_str(&s, "at", &ctx.now_str())
    })
}

/// Writes a comment of the author's Party; returns its id.
pub(super) fn put_comment(
    annex: &mut Automerge,
    ctx: &ChangeCtx,
    provision: &str,
    text: &str,
    reply_to: Option<&str>,
) -> Result<String> {
    check_own(annex, ctx)?;
    let id = random_hex(6);
    change(annex, ctx, |tx| {
        let all = tx.map(&ROOT, "comments")?;
        let c = tx.put_map(&all, &id)?;
        tx.put_str(&c, "provision", provision)?;
        tx.put_str(&c, "text", text)?;
        tx.put_str(&c, "by", &ctx.author.officer)?;
        tx.put_str(&c, "at", &ctx.now_str())?;
        tx.put_opt_str(&c, "reply_to", reply_to)
    })?;
    Ok(id)
}

/// Writes a suggestion of the author's Party; returns its id.
pub(super) fn put_suggestion(
    annex: &mut Automerge,
    ctx: &ChangeCtx,
    provision: &str,
    lang: &str,
    text: &str,
    base: &str,
) -> Result<String> {
    check_own(annex, ctx)?;
    let id = random_hex(6);
    change(annex, ctx, |tx| {
        let all = tx.map(&ROOT, "suggestions")?;
        let s = tx.put_map(&all, &id)?;
        tx.put_str(&s, "provision", provision)?;
        tx.put_str(&s, "lang", lang)?;
        tx.put_str(&s, "text", text)?;
        tx.put_str(&s, "base", base)?;
        tx.put_str(&s, "by", &ctx.author.officer)?;
        tx.put_str(&s, "at", &ctx.now_str())
    })?;
    Ok(id)
}

/// Writes the author's Party's decision on a suggestion.
pub(super) fn put_decision(annex: &mut Automerge, ctx: &ChangeCtx, suggestion: &str, accept: bool) -> Result<()> {
    check_own(annex, ctx)?;
    change(annex, ctx, |tx| {
        let all = tx.map(&ROOT, "decisions")?;
        let d = tx.put_map(&all, suggestion)?;
        tx.put_bool(&d, "accept", accept)?;
        tx.put_str(&d, "by", &ctx.author.officer)?;
        tx.put_str(&d, "at", &ctx.now_str())
    })
}

/// Copies the author's Party's records on a draft from the draft document itself (where the
/// Parties kept them before authentication) into its annex, under the same ids, so that two
/// nodes of the Party doing it merge into one record each. Returns how many it copied.
pub fn migrate_from_legacy(annex: &mut Automerge, draft: &Automerge, ctx: &ChangeCtx) -> Result<usize> {
    use crate::workspace::util::get_author;
    check_own(annex, ctx)?;
    let party = ctx.author.party.as_str();
    let mine = |a: Option<Author>| a.filter(|a| a.party.as_str() == party);
    let mut n = 0;
    let approval = match map_maps(draft, &ROOT, "approvals")?.into_iter().find(|(p, _)| p == party) {
        Some((_, a)) => {
            Some((req_str(draft, &a, "hash")?, get_author(draft, &a, "officer")?, req_str(draft, &a, "at")?))
        }
        None => None,
    };
    let signature = match map_maps(draft, &ROOT, "signatures")?.into_iter().find(|(p, _)| p == party) {
        Some((_, s)) => Some((
            req_str(draft, &s, "hash")?,
            req_str(draft, &s, "signature")?,
            req_str(draft, &s, "key")?,
            get_author(draft, &s, "officer")?,
            req_str(draft, &s, "at")?,
        )),
        None => None,
    };
    let mut comments = Vec::new();
    for (pid, p) in map_maps(draft, &ROOT, "provisions")? {
        for c in crate::workspace::util::list_maps(draft, &p, "comments")? {
            if let Some(a) = mine(get_author(draft, &c, "author")?) {
                comments.push((
                    req_str(draft, &c, "id")?,
                    pid.clone(),
                    a,
                    req_str(draft, &c, "at")?,
                    req_str(draft, &c, "text")?,
                ));
            }
        }
    }
    let mut suggestions = Vec::new();
    let mut decisions = Vec::new();
    for (id, s) in map_maps(draft, &ROOT, "suggestions")? {
        if let Some(a) = mine(get_author(draft, &s, "author")?) {
            suggestions.push((
                id.clone(),
                req_str(draft, &s, "provision")?,
                req_str(draft, &s, "lang")?,
                req_str(draft, &s, "text")?,
                req_str(draft, &s, "base")?,
                a,
                req_str(draft, &s, "at")?,
            ));
        }
        let state = get_str(draft, &s, "state")?.unwrap_or_default();
        if state != "open"
            && let Some(a) = mine(get_author(draft, &s, "decided_by")?)
        {
            decisions.push((id, state == "accepted", a, get_str(draft, &s, "decided_at")?.unwrap_or_default()));
        }
    }
    n += usize::from(approval.is_some())
        + usize::from(signature.is_some())
        + comments.len()
        + suggestions.len()
        + decisions.len();
    if n == 0 {
        return Ok(0);
    }
    change(annex, ctx, |tx| {
        if let Some((hash, by, at)) = &approval {
            let a = tx.map(&ROOT, "approval")?;
            tx.put_str(&a, "hash", hash)?;
            tx.put_str(&a, "by", &by.as_ref().map(|b| b.officer.clone()).unwrap_or_default())?;
            tx.put_str(&a, "at", at)?;
        }
        if let Some((hash, sig, key, by, at)) = &signature {
            let s = tx.map(&ROOT, "signature")?;
            tx.put_str(&s, "hash", hash)?;
            tx.put_str(&s, "signature", sig)?;
            tx.put_str(&s, "key", key)?;
            tx.put_str(&s, "heads", "")?;
            tx.put_str(&s, "by", &by.as_ref().map(|b| b.officer.clone()).unwrap_or_default())?;
            tx.put_str(&s, "at", at)?;
        }
        let all = tx.map(&ROOT, "comments")?;
        for (id, provision, by, at, text) in &comments {
            let c = tx.put_map(&all, id)?;
            tx.put_str(&c, "provision", provision)?;
            tx.put_str(&c, "text", text)?;
            tx.put_str(&c, "by", &by.officer)?;
            tx.put_str(&c, "at", at)?;
            tx.put_bool(&c, "migrated", true)?;
        }
        let all = tx.map(&ROOT, "suggestions")?;
        for (id, provision, lang, text, base, by, at) in &suggestions {
            let s = tx.put_map(&all, id)?;
            tx.put_str(&s, "provision", provision)?;
            tx.put_str(&s, "lang", lang)?;
            tx.put_str(&s, "text", text)?;
            tx.put_str(&s, "base", base)?;
            tx.put_str(&s, "by", &by.officer)?;
            tx.put_str(&s, "at", at)?;
        }
        let all = tx.map(&ROOT, "decisions")?;
        for (id, accept, by, at) in &decisions {
            let d = tx.put_map(&all, id)?;
            tx.put_bool(&d, "accept", *accept)?;
            tx.put_str(&d, "by", &by.officer)?;
            tx.put_str(&d, "at", at)?;
        }
        Ok(())
    })?;
    Ok(n)
}
