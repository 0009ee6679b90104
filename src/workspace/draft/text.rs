//! Editing a draft's text: one provision in one language, a whole language at once, a single
//! splice from the web app, or an edit made against an older version. Every edit marks the
//! other languages stale; alignment clears the marks. Nothing edits a frozen draft.

use automerge::{Automerge, ObjId, ObjType, ROOT, ReadDoc, Value};

use super::records::Records;
use super::refusal::EditRefusal;
use super::{
    PROVISION_BREAK, ProvisionKind, Splice, check_text, counter, languages, ordered, provision_obj, resolve_provision,
    split_text, structure, text_of, version_str,
};
use crate::workspace::titles::Titles;
use crate::workspace::util::{get_str, map_maps};
use crate::workspace::{ChangeCtx, Result, Tx, WorkspaceError, change, check_line, touch};

/// Sets the text of provision `id` in `lang` (minimal splices), bumps the revisions and marks
/// the other languages stale.
pub(super) fn write_text(tx: &mut Tx<'_, '_>, ctx: &ChangeCtx, id: &str, lang: &str, text: &str) -> Result<()> {
    let p = provision_obj(tx.read(), id)?;
    let texts = tx.map(&p, "texts")?;
    let before = get_str(tx.read(), &texts, lang)?.unwrap_or_default();
    if before == text {
        return Ok(());
    }
    tx.update_text(&texts, lang, text)?;
    tx.increment(&ROOT, "rev")?;
    mark_others_stale(tx, ctx, &p, lang)
}

/// Refuses changes to a withdrawn draft. (An executed draft, and a Party editing the text it
/// signed, are refused by [`check_editable`], which needs both Parties' records: the node
/// applies it to every change of a draft, its own and its peers'.)
pub(super) fn check_open(doc: &Automerge, _ctx: &ChangeCtx) -> Result<()> {
    if get_str(doc, &ROOT, "phase")?.as_deref() == Some("withdrawn") {
        return Err(EditRefusal::DraftWithdrawn.into());
    }
    Ok(())
}

/// Whether `party` may change the draft's text: not once it is executed (both Parties signed
/// it: the text is frozen), and not by a Party that signed the text as it stands (its signature
/// says this is the text it executes, so its own officers must not move the text from under it;
/// the other Party still may, which voids the signature and puts the draft back to review).
pub fn check_editable(doc: &Automerge, recs: &Records, party: &str) -> Result<()> {
    let Some(sig) = recs.of(party).and_then(|r| r.signature.as_ref()) else {
        return Ok(());
    };
    let current = hex::encode(super::content_hash(doc)?);
    if super::workflow::executed(doc, recs)? {
        return Err(WorkspaceError::Refused(crate::authority::Refusal::Frozen));
    }
    if sig.verified && sig.hash == current {
        return Err(EditRefusal::TextSigned { party: party.to_string(), on: sig.at.clone() }.into());
    }
    Ok(())
}

/// Sets provision `provision`'s text in `lang`.
pub fn set_provision_text(doc: &mut Automerge, ctx: &ChangeCtx, provision: &str, lang: &str, text: &str) -> Result<()> {
    check_open(doc, ctx)?;
    check_text(text)?;
    if !languages(doc)?.iter().any(|l| l == lang) {
        return Err(EditRefusal::LangNotInDraft { lang: lang.to_string() }.into());
    }
    change(doc, ctx, |tx| {
        write_text(tx, ctx, provision, lang, text)?;
        touch(tx, ctx)
    })
}

/// Replaces the whole text in `lang` (default: the first language). Its paragraphs map onto the
/// provisions in order, and each changed provision gets minimal splices. The number of
/// paragraphs must match the number of provisions: structure changes with `provision add`,
/// `move` and `remove`.
pub fn set_text_lang(doc: &mut Automerge, ctx: &ChangeCtx, lang: Option<&str>, text: &str) -> Result<()> {
    check_open(doc, ctx)?;
    check_text(text)?;
    let langs = languages(doc)?;
    let lang = lang.map(str::to_string).or_else(|| langs.first().cloned()).unwrap_or_else(|| "en".into());
    if !langs.contains(&lang) {
        return Err(EditRefusal::LangNotInDraft { lang: lang.to_string() }.into());
    }
    let ids: Vec<String> = ordered(doc)?.into_iter().map(|(id, _)| id).collect();
    let parts = split_text(text);
    if ids.is_empty() {
        return change(doc, ctx, |tx| {
            for p in &parts {
                let id = structure::insert_provision(tx, None, ProvisionKind::guess(p), &langs)?;
                write_text(tx, ctx, &id, &lang, p)?;
            }
            touch(tx, ctx)
        });
    }
    if parts.len() != ids.len() {
        return Err(EditRefusal::ParagraphsMismatch { paragraphs: parts.len(), provisions: ids.len() }.into());
    }
    change(doc, ctx, |tx| {
        for (id, p) in ids.iter().zip(&parts) {
            write_text(tx, ctx, id, &lang, p)?;
        }
        touch(tx, ctx)
    })
}

/// [`set_text_lang`] in the first language.
pub fn set_text(doc: &mut Automerge, ctx: &ChangeCtx, text: &str) -> Result<()> {
    set_text_lang(doc, ctx, None, text)
}

/// Applies `edit` as made to the version `base` (the heads the officer started from): on a fork
/// at `base`, merged back, so that what others changed since is kept wherever this edit did not
/// touch it. Without a base, or when it is the current version, `edit` applies directly.
pub fn edit_from(
    doc: &mut Automerge,
    ctx: &ChangeCtx,
    base: Option<&[automerge::ChangeHash]>,
    edit: impl FnOnce(&mut Automerge) -> Result<()>,
) -> Result<Vec<automerge::ChangeHash>> {
    let Some(base) = base.filter(|b| *b != doc.get_heads().as_slice()) else {
        edit(doc)?;
        return Ok(doc.get_heads());
    };
    check_open(doc, ctx)?;
    let mut fork = doc.fork_at(base).map_err(|_| EditRefusal::VersionUnknown { version: version_str(base) })?;
    fork.set_actor(isolated_actor(doc, base));
    edit(&mut fork)?;
    // The fork's heads name exactly "base plus this edit": an editor that keeps typing builds on
    // that version, so its next edit is never applied against text it has not seen.
    let version = fork.get_heads();
    doc.merge(&mut fork)?;
    Ok(version)
}

/// The actor an edit made at `base` writes with: the node's own if it made no change that `base`
/// lacks, else one derived from it (automerge's own derivation) that made none, so that its
/// changes continue where that actor left off inside `base` and every change stays the node's.
fn isolated_actor(doc: &Automerge, base: &[automerge::ChangeHash]) -> automerge::ActorId {
    let own = doc.get_actor().clone();
    let Some(node) = crate::authorship::node_actor_of(own.to_bytes()) else {
        return automerge::ActorId::random();
    };
    let busy: std::collections::HashSet<Vec<u8>> =
        doc.get_changes_meta(base).iter().map(|m| m.actor.to_bytes().to_vec()).collect();
    (0u64..).map(|l| node.actor(l)).find(|a| !busy.contains(a.to_bytes())).unwrap_or(own)
}

/// Replaces the whole first-language text as made to version `base`.
pub fn set_text_from(
    doc: &mut Automerge,
    ctx: &ChangeCtx,
    base: Option<&[automerge::ChangeHash]>,
    text: &str,
) -> Result<()> {
    edit_from(doc, ctx, base, |d| set_text(d, ctx, text)).map(|_| ())
}

/// Applies one splice, as a keystroke from an editor.
pub fn splice(doc: &mut Automerge, ctx: &ChangeCtx, s: &Splice) -> Result<()> {
    check_open(doc, ctx)?;
    let langs = languages(doc)?;
    let lang = s.lang.clone().or_else(|| langs.first().cloned()).unwrap_or_else(|| "en".into());
    if !langs.contains(&lang) {
        return Err(EditRefusal::LangNotInDraft { lang: lang.to_string() }.into());
    }
    // Find the provision and the position within its text.
    let (id, pos) = match &s.provision {
        Some(p) => (resolve_provision(doc, p)?, s.pos),
        None => {
            let mut start = 0usize;
            let mut found = None;
            for (id, p) in ordered(doc)? {
                let len = text_of(doc, &p, &lang)?.chars().count();
                if s.pos >= start && s.pos <= start + len {
                    found = Some((id, s.pos - start));
                    break;
                }
                start += len + PROVISION_BREAK.chars().count();
            }
            found.ok_or(EditRefusal::SpliceOutsideProvision { pos: s.pos })?
        }
    };
    let p = provision_obj(doc, &id)?;
    let texts = match doc.get(&p, "texts")? {
        Some((Value::Object(ObjType::Map), t)) => t,
        _ => return Err(WorkspaceError::Malformed("provision without texts".into())),
    };
    let current = get_str(doc, &texts, &lang)?.unwrap_or_default();
    let len = current.chars().count();
    if pos > len || s.delete > len - pos {
        return Err(EditRefusal::SpliceOutOfRange { pos, delete: s.delete, len }.into());
    }
    let mut new: String = current.chars().take(pos).collect();
    new.push_str(&s.insert);
    new.extend(current.chars().skip(pos + s.delete));
    change(doc, ctx, |tx| {
        let texts = tx.map(&p, "texts")?;
        match tx.read().get(&texts, lang.as_str())? {
            Some((Value::Object(ObjType::Text), t)) => {
                tx.splice_text(&t, pos, s.delete, &s.insert)?;
                // Bookkeeping as for any edit, without re-diffing the text.
                tx.increment(&ROOT, "rev")?;
                mark_others_stale(tx, ctx, &p, &lang)?;
            }
            _ => write_text(tx, ctx, &id, &lang, &new)?,
        }
        touch(tx, ctx)
    })
}

/// After an edit in `lang`: marks every other language stale, unless `lang` was itself stale
/// (catching up is alignment work and marks nothing in turn). A mark already there is written
/// again, so that an alignment made at the same time on another node, which did not see this
/// edit, cannot delete it on merge.
fn mark_others_stale(tx: &mut Tx<'_, '_>, ctx: &ChangeCtx, p: &ObjId, lang: &str) -> Result<()> {
    if map_maps(tx.read(), p, "stale")?.iter().any(|(l, _)| l == lang) {
        return Ok(());
    }
    let rev = counter(tx.read(), &ROOT, "rev")?;
    let stale = tx.map(p, "stale")?;
    for other in languages(tx.read())? {
        if other == lang {
            continue;
        }
        let m = tx.put_map(&stale, &other)?;
        tx.put_i64(&m, "since_rev", rev)?;
        tx.put_str(&m, "lang", lang)?;
        tx.put_author(&m, "by", &ctx.author)?;
        tx.put_str(&m, "at", &ctx.now_str())?;
    }
    Ok(())
}

/// Clears a provision's stale marks, once an officer has brought the texts in line.
pub fn align(doc: &mut Automerge, ctx: &ChangeCtx, provision: &str) -> Result<()> {
    check_open(doc, ctx)?;
    let p = provision_obj(doc, provision)?;
    change(doc, ctx, |tx| {
        // Delete just the marks seen here: a mark written concurrently by an edit this node has
        // not seen yet survives the merge.
        let stale = tx.map(&p, "stale")?;
        for (lang, _) in map_maps(tx.read(), &p, "stale")? {
            tx.delete_key(&stale, &lang)?;
        }
        touch(tx, ctx)
    })
}

/// Sets the title.
/// `titles` sets the title in one language or both (see [`crate::workspace::titles`]).
pub fn set_title(doc: &mut Automerge, ctx: &ChangeCtx, title: Option<&str>, titles: &Titles) -> Result<()> {
    check_open(doc, ctx)?;
    if let Some(title) = title {
        check_line("title", title)?;
    }
    titles.check()?;
    change(doc, ctx, |tx| {
        if let Some(title) = title {
            tx.put_str(&ROOT, "title", title)?;
        }
        titles.apply(tx, &ROOT, "title", title.is_some())?;
        touch(tx, ctx)
    })
}
