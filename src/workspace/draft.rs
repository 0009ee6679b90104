//! Drafts of a working group: a title and a text in one language, edited by officers of both
//! Parties at once. Edits are applied as minimal splices so that concurrent edits of different
//! parts of the text both survive.
//!
//! Layout: `kind`, `schema`, `group`, `title`, `lang`, `text` (text object), `created_by`,
//! `created_at`, `updated_by`, `updated_at`.

use automerge::{Automerge, ObjType, ROOT, ReadDoc, Value};
use serde::{Deserialize, Serialize};

use super::util::{get_author, get_str, req_str};
use super::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change, check_line, init_root, touch};

/// Largest draft text accepted, in bytes: far above any treaty, low enough to bound a request.
pub const MAX_TEXT_BYTES: usize = 8 * 1024 * 1024;

/// What an officer gives to start a draft.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewDraft {
    /// The working group's document id.
    pub group: String,
    /// Title.
    pub title: String,
    /// Language code, such as `en` or `ru`.
    #[serde(default = "default_lang")]
    pub lang: String,
    /// Initial text.
    #[serde(default)]
    pub text: String,
}

fn default_lang() -> String {
    "en".into()
}

/// One splice: at `pos` (in Unicode scalar values), delete `delete` characters and insert
/// `insert`. What an editor sends per keystroke.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Splice {
    /// Position in characters.
    pub pos: usize,
    /// Characters to delete.
    #[serde(default)]
    pub delete: usize,
    /// Text to insert.
    #[serde(default)]
    pub insert: String,
}

/// A draft as officers see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// Document id.
    pub id: String,
    /// The working group's document id.
    pub group: String,
    /// Title.
    pub title: String,
    /// Language code.
    pub lang: String,
    /// The text.
    pub text: String,
    /// Who started it.
    pub created_by: Option<Author>,
    /// When.
    pub created_at: Option<String>,
    /// Who changed it last.
    pub updated_by: Option<Author>,
    /// When.
    pub updated_at: Option<String>,
    /// The version shown: the document's heads, comma-separated. Give it back as the base of
    /// an edit made from this text.
    pub version: String,
}

/// Checks a language code: two or three lowercase letters (ISO 639).
pub fn check_lang(lang: &str) -> Result<()> {
    if (2..=3).contains(&lang.len()) && lang.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(WorkspaceError::Invalid {
            field: "lang",
            reason: format!("{lang:?} is not a language code such as \"en\" or \"ru\""),
        })
    }
}

fn check_text(text: &str) -> Result<()> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(WorkspaceError::Invalid {
            field: "text",
            reason: format!("is {} bytes; the limit is {MAX_TEXT_BYTES}", text.len()),
        });
    }
    Ok(())
}

/// Writes a new draft into an empty document.
pub fn create(doc: &mut Automerge, ctx: &ChangeCtx, new: &NewDraft) -> Result<()> {
    check_line("title", &new.title)?;
    check_lang(&new.lang)?;
    check_text(&new.text)?;
    change(doc, ctx, |tx| {
        init_root(tx, DocKind::Draft, ctx)?;
        tx.put_str(&ROOT, "group", &new.group)?;
        tx.put_str(&ROOT, "title", &new.title)?;
        tx.put_str(&ROOT, "lang", &new.lang)?;
        tx.put_text(&ROOT, "text", &new.text)?;
        touch(tx, ctx)
    })
}

/// Replaces the text with `text` through minimal splices.
pub fn set_text(doc: &mut Automerge, ctx: &ChangeCtx, text: &str) -> Result<()> {
    check_text(text)?;
    change(doc, ctx, |tx| {
        tx.update_text(&ROOT, "text", text)?;
        touch(tx, ctx)
    })
}

/// Replaces the text with `text`, as an edit of the version `base` (the heads the officer
/// started from). The edit is made on a fork at `base` and merged, so that what others changed
/// since `base` is kept wherever this edit did not touch it. Without a base, or when `base` is
/// the current version, this is [`set_text`].
pub fn set_text_from(
    doc: &mut Automerge,
    ctx: &ChangeCtx,
    base: Option<&[automerge::ChangeHash]>,
    text: &str,
) -> Result<()> {
    let Some(base) = base.filter(|b| *b != doc.get_heads().as_slice()) else {
        return set_text(doc, ctx, text);
    };
    check_text(text)?;
    let mut fork = doc.fork_at(base).map_err(|_| WorkspaceError::Invalid {
        field: "base",
        reason: "is not a version of this draft (`liaison draft show` prints the current one)".into(),
    })?;
    set_text(&mut fork, ctx, text)?;
    doc.merge(&mut fork)?;
    Ok(())
}

/// Parses a version as `draft show` prints it: change hashes in hex, separated by commas.
pub fn parse_version(s: &str) -> Result<Vec<automerge::ChangeHash>> {
    s.split(',')
        .map(|h| {
            h.trim().parse::<automerge::ChangeHash>().map_err(|_| WorkspaceError::Invalid {
                field: "base",
                reason: format!("{h:?} is not a change hash (the version `liaison draft show` prints)"),
            })
        })
        .collect()
}

/// Applies one splice, as a keystroke from an editor.
pub fn splice(doc: &mut Automerge, ctx: &ChangeCtx, s: &Splice) -> Result<()> {
    let text = match doc.get(ROOT, "text")? {
        Some((Value::Object(ObjType::Text), id)) => id,
        _ => return Err(WorkspaceError::Malformed("draft has no text".into())),
    };
    let len = doc.length(&text);
    if s.pos > len || s.delete > len - s.pos {
        return Err(WorkspaceError::Invalid {
            field: "splice",
            reason: format!("position {} + {} deleted is beyond the text's {len} characters", s.pos, s.delete),
        });
    }
    change(doc, ctx, |tx| {
        tx.splice_text(&text, s.pos, s.delete, &s.insert)?;
        touch(tx, ctx)
    })
}

/// Sets the title.
pub fn set_title(doc: &mut Automerge, ctx: &ChangeCtx, title: &str) -> Result<()> {
    check_line("title", title)?;
    change(doc, ctx, |tx| {
        tx.put_str(&ROOT, "title", title)?;
        touch(tx, ctx)
    })
}

/// Reads a draft document.
pub fn read(doc: &Automerge, id: &str) -> Result<Draft> {
    Ok(Draft {
        id: id.to_string(),
        group: req_str(doc, &ROOT, "group")?,
        title: req_str(doc, &ROOT, "title")?,
        lang: req_str(doc, &ROOT, "lang")?,
        text: get_str(doc, &ROOT, "text")?.unwrap_or_default(),
        created_by: get_author(doc, &ROOT, "created_by")?,
        created_at: get_str(doc, &ROOT, "created_at")?,
        updated_by: get_author(doc, &ROOT, "updated_by")?,
        updated_at: get_str(doc, &ROOT, "updated_at")?,
        version: version_of(doc),
    })
}

/// The version of a document as officers pass it around.
pub fn version_of(doc: &Automerge) -> String {
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    heads.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{ctx, sync_pair};

    fn new(text: &str) -> NewDraft {
        NewDraft { group: "g".into(), title: "Joint statement".into(), lang: "en".into(), text: text.into() }
    }

    #[test]
    fn edits_of_different_parts_on_two_nodes_both_survive() {
        let mut a = Automerge::new();
        create(
            &mut a,
            &ctx("ana", "cica"),
            &new("Article 1. The Parties cooperate.\nArticle 2. Information is exchanged.\n"),
        )
        .unwrap();
        let mut b = a.fork();
        set_text(
            &mut a,
            &ctx("ana", "cica"),
            "Article 1. The Parties shall cooperate.\nArticle 2. Information is exchanged.\n",
        )
        .unwrap();
        set_text(
            &mut b,
            &ctx("ivan", "sco-rats"),
            "Article 1. The Parties cooperate.\nArticle 2. Information is exchanged promptly.\n",
        )
        .unwrap();
        sync_pair(&mut a, &mut b);
        let want = "Article 1. The Parties shall cooperate.\nArticle 2. Information is exchanged promptly.\n";
        assert_eq!(read(&a, "").unwrap().text, want);
        assert_eq!(read(&b, "").unwrap().text, want);
    }

    #[test]
    fn an_edit_from_an_old_version_keeps_what_others_changed_since() {
        let mut a = Automerge::new();
        create(&mut a, &ctx("ana", "cica"), &new("line one\nline two\nline three\n")).unwrap();
        let base = parse_version(&read(&a, "").unwrap().version).unwrap();
        // Someone else changes line one first...
        set_text(&mut a, &ctx("ivan", "sco-rats"), "LINE ONE\nline two\nline three\n").unwrap();
        // ...then an officer saves an edit of line three made from the old text.
        set_text_from(&mut a, &ctx("ana", "cica"), Some(&base), "line one\nline two\nLINE THREE\n").unwrap();
        assert_eq!(read(&a, "").unwrap().text, "LINE ONE\nline two\nLINE THREE\n");
        // Without the base, the same save would have undone line one.
        let mut b = Automerge::new();
        create(&mut b, &ctx("ana", "cica"), &new("x")).unwrap();
        assert!(set_text_from(&mut b, &ctx("ana", "cica"), Some(&base), "y").is_err(), "a foreign version is refused");
    }

    #[test]
    fn splices_count_characters_not_bytes() {
        let mut a = Automerge::new();
        create(&mut a, &ctx("ivan", "sco-rats"), &new("Статья 1")).unwrap();
        splice(&mut a, &ctx("ivan", "sco-rats"), &Splice { pos: 6, delete: 0, insert: "я".into() }).unwrap();
        assert_eq!(read(&a, "").unwrap().text, "Статьяя 1");
        let e = splice(&mut a, &ctx("ivan", "sco-rats"), &Splice { pos: 9, delete: 1, insert: String::new() });
        assert!(e.is_err());
    }

    #[test]
    fn bad_language_is_refused() {
        let mut a = Automerge::new();
        let mut d = new("");
        d.lang = "English".into();
        assert!(create(&mut a, &ctx("ana", "cica"), &d).unwrap_err().to_string().contains("language code"));
    }
}
