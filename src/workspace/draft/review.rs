//! Review of a draft: comments on provisions, suggestions (a proposed text for one provision in
//! one language, shown as a diff, changing nothing until accepted), named versions, and diffs
//! between versions.

use automerge::{Automerge, ROOT};
use serde::{Deserialize, Serialize};

use super::records::{self, Records};
use super::refusal::EditRefusal;
use super::{
    check_open, edit_from, languages, parse_version, provision_obj, set_provision_text, text_of, version_of, whole_text,
};
use crate::workspace::util::{get_author, get_str, list_maps, req_str};
use crate::workspace::word_diff::{self, Piece};
use crate::workspace::{Author, ChangeCtx, Result, WorkspaceError, change, check_line};

/// A suggested text for one provision in one language.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
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
    /// Who suggested it.
    pub author: Option<Author>,
    /// When.
    pub at: String,
    /// `open`, `accepted` or `rejected`.
    pub state: String,
    /// Who accepted or rejected it.
    pub decided_by: Option<Author>,
    /// The change it proposes against the provision's current text, word by word.
    pub diff: Vec<Piece>,
}

/// Two versions of a draft's text in one language compared word by word.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The language.
    pub lang: String,
    /// The older version, as named (a version's name, heads, or "(empty)").
    pub from: String,
    /// The newer one ("current" for the current text).
    pub to: String,
    /// Word by word, from `from` to `to`.
    pub diff: Vec<Piece>,
}

/// A named version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// Its name, such as "second reading".
    pub name: String,
    /// The version (heads).
    pub version: String,
    /// Who named it.
    pub by: Option<Author>,
    /// When.
    pub at: String,
}

/// Comments on a provision, for the author's Party (in its annex); returns the comment's id.
/// `reply_to` names the comment it answers, of either Party.
pub fn comment(
    annex: &mut Automerge,
    doc: &Automerge,
    ctx: &ChangeCtx,
    provision: &str,
    text: &str,
    reply_to: Option<&str>,
) -> Result<String> {
    if text.trim().is_empty() || text.len() > 100_000 {
        return Err(WorkspaceError::Invalid { field: "text", reason: "a comment is 1 to 100000 bytes".into() });
    }
    provision_obj(doc, provision)?;
    records::put_comment(annex, ctx, provision, text, reply_to)
}

/// Suggests `text` for a provision in `lang`, for the author's Party (in its annex); returns the
/// suggestion's id.
pub fn suggest(
    annex: &mut Automerge,
    doc: &Automerge,
    ctx: &ChangeCtx,
    provision: &str,
    lang: &str,
    text: &str,
) -> Result<String> {
    check_open(doc, ctx)?;
    provision_obj(doc, provision)?;
    if !languages(doc)?.iter().any(|l| l == lang) {
        return Err(EditRefusal::LangNotInDraft { lang: lang.to_string() }.into());
    }
    records::put_suggestion(annex, ctx, provision, lang, text, &version_of(doc))
}

/// Every suggestion of both Parties, each with where it stands and its diff against the current
/// text.
pub fn suggestions(doc: &Automerge, recs: &Records) -> Result<Vec<Suggestion>> {
    let mut out = Vec::new();
    for s in recs.parties.iter().flat_map(|r| r.suggestions.iter()) {
        let current = match provision_obj(doc, &s.provision) {
            Ok(p) => text_of(doc, &p, &s.lang)?,
            Err(_) => String::new(),
        };
        let diff = word_diff::words(&current, &s.text);
        let decision = recs.decision(&s.id);
        out.push(Suggestion {
            id: s.id.clone(),
            provision: s.provision.clone(),
            lang: s.lang.clone(),
            text: s.text.clone(),
            base: s.base.clone(),
            author: Some(s.by.clone()),
            at: s.at.clone(),
            state: match decision {
                None => "open".into(),
                Some(d) if d.accept => "accepted".into(),
                Some(_) => "rejected".into(),
            },
            decided_by: decision.map(|d| d.by.clone()),
            diff,
        });
    }
    out.sort_by(|a, b| (&a.at, &a.id).cmp(&(&b.at, &b.id)));
    Ok(out)
}

/// Accepts (applies to the joint text, as made to the version it was made from) or rejects a
/// suggestion of either Party; the decision is the author's Party's record, in its annex.
pub fn decide(
    doc: &mut Automerge,
    annex: &mut Automerge,
    recs: &Records,
    ctx: &ChangeCtx,
    id: &str,
    accept: bool,
) -> Result<()> {
    check_open(doc, ctx)?;
    records::check_own(annex, ctx)?;
    let s = suggestions(doc, recs)?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| WorkspaceError::NoSuchEntry { what: "suggestion", id: id.into() })?;
    if s.state != "open" {
        return Err(EditRefusal::SuggestionDecided { state: s.state.clone() }.into());
    }
    if accept {
        let base = parse_version(&s.base)?;
        edit_from(doc, ctx, Some(&base), |d| set_provision_text(d, ctx, &s.provision, &s.lang, &s.text))?;
    }
    records::put_decision(annex, ctx, id, accept)
}

/// Names the current version.
pub fn name_version(doc: &mut Automerge, ctx: &ChangeCtx, name: &str) -> Result<()> {
    check_line("name", name)?;
    if versions(doc)?.iter().any(|v| v.name == name) {
        return Err(EditRefusal::VersionNameTaken { name: name.to_string() }.into());
    }
    let version = version_of(doc);
    change(doc, ctx, |tx| {
        let list = tx.list(&ROOT, "versions")?;
        let v = tx.push_map(&list)?;
        tx.put_str(&v, "name", name)?;
        tx.put_str(&v, "version", &version)?;
        tx.put_author(&v, "by", &ctx.author)?;
        tx.put_str(&v, "at", &ctx.now_str())
    })
}

/// The named versions, oldest first.
pub fn versions(doc: &Automerge) -> Result<Vec<Version>> {
    list_maps(doc, &ROOT, "versions")?
        .iter()
        .map(|v| {
            Ok(Version {
                name: req_str(doc, v, "name")?,
                version: req_str(doc, v, "version")?,
                by: get_author(doc, v, "by")?,
                at: get_str(doc, v, "at")?.unwrap_or_default(),
            })
        })
        .collect()
}

/// The whole text in `lang` at a version given by name or as heads.
fn text_at(doc: &Automerge, lang: &str, rev: &str) -> Result<String> {
    let version = match versions(doc)?.into_iter().find(|v| v.name == rev) {
        Some(v) => v.version,
        None => rev.to_string(),
    };
    let heads = parse_version(&version).map_err(|_| EditRefusal::VersionUnknown { version: rev.to_string() })?;
    let at = doc.fork_at(&heads).map_err(|_| EditRefusal::VersionUnknown { version: rev.to_string() })?;
    whole_text(&at, lang)
}

/// The whole text in `lang` compared between two versions (names or heads), word by word.
/// Without `from`, from the last named version (or the beginning); without `to`, to the current
/// text.
pub fn diff(doc: &Automerge, lang: Option<&str>, from: Option<&str>, to: Option<&str>) -> Result<Comparison> {
    let langs = languages(doc)?;
    let lang = lang.map(str::to_string).or_else(|| langs.first().cloned()).unwrap_or_else(|| "en".into());
    if !langs.contains(&lang) {
        return Err(EditRefusal::LangNotInDraft { lang: lang.to_string() }.into());
    }
    let (old, old_name) = match from {
        Some(f) => (text_at(doc, &lang, f)?, f.to_string()),
        None => match versions(doc)?.last() {
            Some(v) => (text_at(doc, &lang, &v.version)?, v.name.clone()),
            None => (String::new(), "(empty)".to_string()),
        },
    };
    let (new, new_name) = match to {
        Some(t) => (text_at(doc, &lang, t)?, t.to_string()),
        None => (whole_text(doc, &lang)?, "current".to_string()),
    };
    Ok(Comparison { lang, from: old_name, to: new_name, diff: word_diff::words(&old, &new) })
}
