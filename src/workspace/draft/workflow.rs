//! A draft's workflow: draft → under review → agreed → executed (or withdrawn by either Party).
//!
//! Only `draft`, `under-review` and `withdrawn` are stored (`phase`); **agreed** and
//! **executed** are read from the document, so that concurrent actions on two nodes resolve the
//! same way on both once merged:
//! - agreed: under review, no stale provision, no open suggestion, and an approval from each
//!   Party whose content hash is the current one (an edit after an approval voids it);
//! - executed: a signature from each Party over the current content hash. An executed draft is
//!   frozen: every edit is refused.
//!
//! The content hash is SHA-256 over a canonical JSON form of the title and of every provision's
//! text in every language, in order, bound to the document id.

use std::collections::BTreeMap;

use automerge::{Automerge, ROOT};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::records::{self, Records};
use super::{Provision, languages, ordered, ordered_fields, read_with, texts_in};
use crate::ids::PartyId;
use crate::workspace::util::{get_str, req_str};
use crate::workspace::{Author, ChangeCtx, Result, WorkspaceError, change, touch};

const HASH_DOMAIN: &[u8] = b"liaison/draft-content/v1\0";
const SIGN_DOMAIN: &[u8] = b"liaison/draft-execution/v1\0";

/// Where a draft stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DraftState {
    /// Being written.
    Draft,
    /// Put to review.
    UnderReview,
    /// Every condition for execution holds.
    Agreed,
    /// Signed by each Party; frozen.
    Executed,
    /// Withdrawn by a Party.
    Withdrawn,
}

impl std::fmt::Display for DraftState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DraftState::Draft => "draft",
            DraftState::UnderReview => "under review",
            DraftState::Agreed => "agreed",
            DraftState::Executed => "executed",
            DraftState::Withdrawn => "withdrawn",
        })
    }
}

/// A Party's approval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    /// The Party.
    pub party: String,
    /// The content hash approved, hex.
    pub hash: String,
    /// The officer.
    pub officer: Option<Author>,
    /// When.
    pub at: String,
    /// Whether it still holds (the text has not changed since).
    pub valid: bool,
}

/// A Party's signature of the executed text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// The Party.
    pub party: String,
    /// The content hash signed, hex.
    pub hash: String,
    /// Ed25519 signature, hex.
    pub signature: String,
    /// The Party key that signed, hex.
    pub key: String,
    /// Its fingerprint, for the signature block.
    pub fingerprint: String,
    /// The officer.
    pub officer: Option<Author>,
    /// When.
    pub at: String,
    /// Whether it verifies with the Party's pinned key over the hash it names.
    #[serde(default)]
    pub verified: bool,
    /// Whether it verifies and is over the current text.
    pub matches: bool,
}

/// The canonical form of a draft's content: what approvals and signatures are bound to.
pub fn canonical(doc: &Automerge) -> Result<Vec<u8>> {
    let langs = languages(doc)?;
    let mut provisions = Vec::new();
    for (pid, _, p) in ordered_fields(doc)? {
        let texts = texts_in(doc, &p, langs.iter())?;
        let kind = p.str(doc, "kind")?.unwrap_or_default();
        provisions.push((pid, kind, texts));
    }
    canonical_of(doc, &langs, provisions.iter().map(|(id, kind, texts)| (id.as_str(), kind.as_str(), texts)))
}

/// The canonical form of a draft whose provisions were read already, each as its id, its kind
/// as stored and its texts (`read_with` reads every text once, for the draft and its hash).
pub(crate) fn canonical_of<'p>(
    doc: &Automerge,
    langs: &[String],
    provisions: impl Iterator<Item = (&'p str, &'p str, &'p BTreeMap<String, String>)>,
) -> Result<Vec<u8>> {
    let provisions: Vec<serde_json::Value> =
        provisions.map(|(id, kind, texts)| serde_json::json!({ "id": id, "kind": kind, "texts": texts })).collect();
    let v = serde_json::json!({
        "draft": get_str(doc, &ROOT, "uid")?.unwrap_or_default(),
        "title": req_str(doc, &ROOT, "title")?,
        "languages": langs,
        "provisions": provisions,
    });
    serde_json::to_vec(&v).map_err(|e| WorkspaceError::Malformed(e.to_string()))
}

/// The content hash.
pub fn content_hash(doc: &Automerge) -> Result<[u8; 32]> {
    Ok(hash_of(&canonical(doc)?))
}

/// The content hash of a canonical form.
pub(crate) fn hash_of(canonical: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(HASH_DOMAIN);
    h.update(canonical);
    h.finalize().into()
}

/// A key's fingerprint: the first 16 bytes of its SHA-256, in groups of four hex digits.
pub fn fingerprint(key: &[u8]) -> String {
    let d = Sha256::digest(key);
    d[..16].chunks(2).map(hex::encode).collect::<Vec<_>>().join(":")
}

pub(super) fn approvals(recs: &Records, current: &[u8; 32]) -> Vec<Approval> {
    let cur = hex::encode(current);
    recs.parties
        .iter()
        .filter_map(|r| {
            let a = r.approval.as_ref()?;
            Some(Approval {
                party: a.by.party.to_string(),
                valid: a.hash == cur,
                hash: a.hash.clone(),
                officer: Some(a.by.clone()),
                at: a.at.clone(),
            })
        })
        .collect()
}

pub(super) fn signatures(recs: &Records, current: &[u8; 32]) -> Vec<Signature> {
    let cur = hex::encode(current);
    recs.parties
        .iter()
        .filter_map(|r| {
            let s = r.signature.as_ref()?;
            Some(Signature {
                party: s.by.party.to_string(),
                matches: s.verified && s.hash == cur,
                verified: s.verified,
                fingerprint: hex::decode(&s.key).map(|k| fingerprint(&k)).unwrap_or_default(),
                hash: s.hash.clone(),
                signature: s.signature.clone(),
                key: s.key.clone(),
                officer: Some(s.by.clone()),
                at: s.at.clone(),
            })
        })
        .collect()
}

/// Whether `sig` (hex) is a valid execution signature by `key` over `hash` (hex).
pub(crate) fn signature_verifies(key: &[u8; 32], hash: &str, sig: &str) -> bool {
    let Ok(hash) = <[u8; 32]>::try_from(hex::decode(hash).unwrap_or_default().as_slice()) else {
        return false;
    };
    let Ok(sig) = <[u8; 64]>::try_from(hex::decode(sig).unwrap_or_default().as_slice()) else {
        return false;
    };
    ed25519_dalek::VerifyingKey::from_bytes(key)
        .is_ok_and(|vk| vk.verify(&sign_message(&hash), &ed25519_dalek::Signature::from_bytes(&sig)).is_ok())
}

pub(super) fn state_of(
    doc: &Automerge,
    recs: &Records,
    provisions: &[Provision],
    parties: &[String],
    approvals: &[Approval],
    signatures: &[Signature],
) -> Result<DraftState> {
    let phase = get_str(doc, &ROOT, "phase")?.unwrap_or_default();
    if phase == "withdrawn" {
        return Ok(DraftState::Withdrawn);
    }
    let every = |f: &dyn Fn(&str) -> bool| !parties.is_empty() && parties.iter().all(|p| f(p));
    if every(&|p| signatures.iter().any(|s| s.party == p && s.matches)) {
        return Ok(DraftState::Executed);
    }
    if phase != "under-review" {
        return Ok(DraftState::Draft);
    }
    let no_stale = provisions.iter().all(|p| p.stale.is_empty());
    let no_open = super::review::suggestions(doc, recs)?.iter().all(|s| s.state != "open");
    if no_stale && no_open && every(&|p| approvals.iter().any(|a| a.party == p && a.valid)) {
        Ok(DraftState::Agreed)
    } else {
        Ok(DraftState::UnderReview)
    }
}

/// The draft's state.
pub fn state(doc: &Automerge, recs: &Records, id: &str) -> Result<DraftState> {
    Ok(read_with(doc, recs, id)?.state)
}

/// Why a step of a draft's workflow is refused: a code with parameters, which the API sends as
/// `refusal` for the web app to say in the officer's language. The words here are neutral
/// English for logs and scripts; the CLI says each code in its own words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum WorkflowRefusal {
    /// Only a draft being written is put to review.
    #[error("draft: it is {state}, not a draft being written")]
    DraftNotBeingWritten {
        /// Where it stands.
        state: DraftState,
    },
    /// A draft without provisions is not put to review.
    #[error("draft: it has no provision yet")]
    DraftEmpty,
    /// Only a draft under review is approved.
    #[error("draft: it is {state}, not under review")]
    DraftNotUnderReview {
        /// Where it stands.
        state: DraftState,
    },
    /// The officer's Party is not a Party of the draft.
    #[error("draft: {party} is not one of the Parties of this draft")]
    DraftNotAParty {
        /// The officer's Party.
        party: PartyId,
    },
    /// Signed by both already.
    #[error("draft: it is executed already")]
    DraftExecutedAlready,
    /// Only an agreed draft is signed; what is missing.
    #[error("draft: {}", not_agreed(*state, *stale, *open_suggestions, unapproved))]
    DraftNotAgreed {
        /// Where it stands.
        state: DraftState,
        /// How many provisions are stale.
        stale: usize,
        /// How many suggestions are open.
        open_suggestions: usize,
        /// The Parties without a valid approval.
        unapproved: Vec<String>,
    },
    /// Executed or withdrawn: it cannot be withdrawn.
    #[error("draft: it is {state}")]
    DraftEnded {
        /// Where it stands.
        state: DraftState,
    },
}

fn not_agreed(state: DraftState, stale: usize, open: usize, unapproved: &[String]) -> String {
    let mut why = vec![format!("it is {state}, not agreed")];
    if stale > 0 {
        why.push(format!("{stale} provision(s) are stale"));
    }
    if open > 0 {
        why.push(format!("{open} suggestion(s) are open"));
    }
    for p in unapproved {
        why.push(format!("no valid approval from {p}"));
    }
    why.join("; ")
}

/// Puts a draft to review.
pub fn review(doc: &mut Automerge, recs: &Records, ctx: &ChangeCtx) -> Result<()> {
    let s = state(doc, recs, "")?;
    if s != DraftState::Draft {
        return Err(WorkflowRefusal::DraftNotBeingWritten { state: s }.into());
    }
    if ordered(doc)?.is_empty() {
        return Err(WorkflowRefusal::DraftEmpty.into());
    }
    change(doc, ctx, |tx| {
        tx.put_str(&ROOT, "phase", "under-review")?;
        touch(tx, ctx)
    })
}

/// Records the author's Party's approval of the draft as it stands, in its annex.
pub fn approve(annex: &mut Automerge, doc: &Automerge, recs: &Records, ctx: &ChangeCtx, id: &str) -> Result<()> {
    records::check_own(annex, ctx)?;
    let d = read_with(doc, recs, id)?;
    if !matches!(d.state, DraftState::UnderReview | DraftState::Agreed) {
        return Err(WorkflowRefusal::DraftNotUnderReview { state: d.state }.into());
    }
    if !d.parties.iter().any(|p| p == ctx.author.party.as_str()) {
        return Err(WorkflowRefusal::DraftNotAParty { party: ctx.author.party.clone() }.into());
    }
    records::put_approval(annex, ctx, &d.content_hash)
}

fn sign_message(hash: &[u8; 32]) -> Vec<u8> {
    // The hash covers the draft's uid, so the signature binds to this draft.
    let mut m = SIGN_DOMAIN.to_vec();
    m.extend_from_slice(hash);
    m
}

/// Signs the canonical hash for the author's Party with its signing key, in its annex, with the
/// version signed. Only an agreed draft is signed; once each Party has signed, it is executed.
pub fn sign(
    annex: &mut Automerge,
    doc: &Automerge,
    recs: &Records,
    ctx: &ChangeCtx,
    id: &str,
    key: &SigningKey,
) -> Result<()> {
    records::check_own(annex, ctx)?;
    let d = read_with(doc, recs, id)?;
    match d.state {
        DraftState::Agreed => {}
        DraftState::Executed => return Err(WorkflowRefusal::DraftExecutedAlready.into()),
        state => {
            // What is missing, said only of a draft under review (the rest is the state).
            let review = state == DraftState::UnderReview;
            let stale = if review { d.provisions.iter().filter(|p| !p.stale.is_empty()).count() } else { 0 };
            let open_suggestions = if review { d.open_suggestions.len() } else { 0 };
            let unapproved = if review {
                d.parties.iter().filter(|p| !d.approvals.iter().any(|a| &a.party == *p && a.valid)).cloned().collect()
            } else {
                Vec::new()
            };
            return Err(WorkflowRefusal::DraftNotAgreed { state, stale, open_suggestions, unapproved }.into());
        }
    }
    let hash = content_hash(doc)?;
    let sig = key.sign(&sign_message(&hash));
    records::put_signature(
        annex,
        ctx,
        &hex::encode(hash),
        &hex::encode(sig.to_bytes()),
        &hex::encode(key.verifying_key().to_bytes()),
        &super::version_of(doc),
    )
}

/// Withdraws a draft (either Party may).
pub fn withdraw(doc: &mut Automerge, recs: &Records, ctx: &ChangeCtx) -> Result<()> {
    let s = state(doc, recs, "")?;
    if matches!(s, DraftState::Executed | DraftState::Withdrawn) {
        return Err(WorkflowRefusal::DraftEnded { state: s }.into());
    }
    change(doc, ctx, |tx| {
        tx.put_str(&ROOT, "phase", "withdrawn")?;
        touch(tx, ctx)
    })
}

/// What a node keeps of an executed draft: its own original.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Original {
    /// The canonical content that was signed.
    pub canonical: Vec<u8>,
    /// Its hash.
    pub hash: [u8; 32],
    /// The signatures, by Party: (public key, signature).
    pub signatures: BTreeMap<String, ([u8; 32], Vec<u8>)>,
}

/// Whether every Party of the draft has a signature that verifies with its pinned key: the
/// cheap test before hashing the text.
pub fn fully_signed(doc: &Automerge, recs: &Records) -> Result<bool> {
    let parties = super::strings(doc, &ROOT, "parties")?;
    Ok(!parties.is_empty()
        && parties.iter().all(|p| recs.of(p).and_then(|r| r.signature.as_ref()).is_some_and(|s| s.verified)))
}

/// Whether the draft is executed: every Party's signature verifies with its pinned key over the
/// content hash of the text as it stands.
pub fn executed(doc: &Automerge, recs: &Records) -> Result<bool> {
    if !fully_signed(doc, recs)? {
        return Ok(false);
    }
    let hash = hex::encode(content_hash(doc)?);
    Ok(recs.parties.iter().filter_map(|r| r.signature.as_ref()).all(|s| s.hash == hash))
}

/// The original of an executed draft, to keep.
pub fn executed_original(doc: &Automerge, recs: &Records, id: &str) -> Result<Option<Original>> {
    // The engine asks after every change to a draft, so answer the common "not signed by every
    // Party" case from the records, without reading (and hashing) the whole draft.
    if !fully_signed(doc, recs)? {
        return Ok(None);
    }
    let d = read_with(doc, recs, id)?;
    if d.state != DraftState::Executed {
        return Ok(None);
    }
    let mut signatures = BTreeMap::new();
    for s in &d.signatures {
        let key: [u8; 32] = hex::decode(&s.key).ok().and_then(|k| k.try_into().ok()).unwrap_or([0; 32]);
        signatures.insert(s.party.clone(), (key, hex::decode(&s.signature).unwrap_or_default()));
    }
    Ok(Some(Original { canonical: canonical(doc)?, hash: content_hash(doc)?, signatures }))
}

/// The result of `draft verify`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verification {
    /// Whether everything holds.
    pub ok: bool,
    /// The content hash of the text as stored now, hex.
    pub hash: String,
    /// Each Party's signature: who, the key's fingerprint, and whether it verifies.
    pub signatures: Vec<SignatureCheck>,
    /// Every problem found.
    pub problems: Vec<String>,
}

/// One signature checked.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SignatureCheck {
    /// The Party.
    pub party: String,
    /// The fingerprint of the key that signed.
    pub fingerprint: String,
    /// Whether it verifies over the current text with the Party's pinned key.
    pub valid: bool,
}

/// Checks an executed draft: each Party's signature against its pinned key (`key_of`) over the
/// hash of the text as stored now, and the stored text against this node's own original.
pub fn verify(
    doc: &Automerge,
    recs: &Records,
    id: &str,
    key_of: &dyn Fn(&PartyId) -> Option<[u8; 32]>,
    original: Option<&Original>,
) -> Result<Verification> {
    let d = read_with(doc, recs, id)?;
    let hash = content_hash(doc)?;
    let mut problems = Vec::new();
    let mut checks = Vec::new();
    for p in &d.parties {
        let Some(s) = d.signatures.iter().find(|s| &s.party == p) else {
            problems.push(format!("no signature of {p}"));
            checks.push(SignatureCheck { party: p.clone(), fingerprint: String::new(), valid: false });
            continue;
        };
        let pinned = p.parse::<PartyId>().ok().and_then(|id| key_of(&id));
        let valid = match pinned {
            None => {
                problems.push(format!("no signing key of {p} is pinned here"));
                false
            }
            Some(k) if hex::encode(k) != s.key => {
                problems.push(format!("{p}'s signature is by a key that is not its pinned key"));
                false
            }
            Some(k) => {
                let ok = ed25519_dalek::VerifyingKey::from_bytes(&k).is_ok_and(|vk| {
                    hex::decode(&s.signature).ok().and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok()).is_some_and(
                        |b| vk.verify(&sign_message(&hash), &ed25519_dalek::Signature::from_bytes(&b)).is_ok(),
                    )
                });
                if !ok {
                    problems.push(format!(
                        "{p}'s signature does not verify over the text as stored: the text differs from what was signed"
                    ));
                }
                ok
            }
        };
        checks.push(SignatureCheck { party: p.clone(), fingerprint: s.fingerprint.clone(), valid });
    }
    match original {
        Some(o) if o.hash != hash => problems.push(format!(
            "the text as stored (hash {}) differs from this node's executed original (hash {})",
            hex::encode(hash),
            hex::encode(o.hash)
        )),
        None if d.state == DraftState::Executed => {
            problems.push("this node keeps no original of it yet".into());
        }
        _ => {}
    }
    if d.state != DraftState::Executed && problems.is_empty() {
        problems.push(format!("it is {}, not executed", d.state));
    }
    Ok(Verification { ok: problems.is_empty(), hash: hex::encode(hash), signatures: checks, problems })
}
