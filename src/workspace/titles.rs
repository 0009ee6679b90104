//! A title in the two working languages of the Protocol, for meetings, groups, drafts and
//! threads.
//!
//! Layout, beside the document's own title field (`title`, or a group's `name`, a thread's
//! `subject`): `title_en`?, `title_ru`?. The own field stays what it always was, the title as
//! first written, in whatever language: older nodes read it and nothing else, and documents
//! written before two-language titles have only it. When an officer changes the title in the
//! language the own field was written in, the own field follows, so that an older node shows the
//! current title too.

use automerge::{ObjId, ReadDoc};
use serde::{Deserialize, Serialize};

use super::util::get_str;
use super::{Result, Tx, WorkspaceError, check_line};

/// Key of the English title.
const EN: &str = "title_en";
/// Key of the Russian title.
const RU: &str = "title_ru";

/// The title in English and in Russian, each optional. In a change, an empty string clears one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Titles {
    /// The English title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    /// The Russian title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_ru: Option<String>,
}

impl Titles {
    fn each(&self) -> [(&'static str, Option<&str>); 2] {
        [(EN, self.title_en.as_deref()), (RU, self.title_ru.as_deref())]
    }

    /// Whether neither language is given.
    pub fn is_empty(&self) -> bool {
        self.each().iter().all(|(_, v)| v.is_none_or(|v| v.trim().is_empty()))
    }

    /// The title a document's own field gets at creation: `own` if given, else the English
    /// title, else the Russian one. Checks every title given; refuses when there is none.
    pub fn own_title(&self, field: &'static str, own: &str) -> Result<String> {
        self.check()?;
        let chosen = [Some(own), self.title_en.as_deref(), self.title_ru.as_deref()]
            .into_iter()
            .flatten()
            .find(|t| !t.trim().is_empty())
            .ok_or_else(|| WorkspaceError::Invalid {
                field,
                reason: "give a title in English or in Russian (or both)".into(),
            })?;
        check_line(field, chosen)?;
        Ok(chosen.to_string())
    }

    /// Checks the titles given (an empty one clears, and is accepted).
    pub fn check(&self) -> Result<()> {
        for (key, v) in self.each() {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                check_line(if key == EN { "title_en" } else { "title_ru" }, v)?;
            }
        }
        Ok(())
    }

    /// Writes the titles given into a new document.
    pub fn write_new(&self, tx: &mut Tx<'_, '_>, obj: &ObjId) -> Result<()> {
        for (key, v) in self.each() {
            if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                tx.put_str(obj, key, v)?;
            }
        }
        Ok(())
    }

    /// Applies the titles a change gives. `own_key` is the document's own title field; it
    /// follows a language whose title it equalled, unless the change sets it itself (`own_set`).
    pub fn apply(&self, tx: &mut Tx<'_, '_>, obj: &ObjId, own_key: &str, own_set: bool) -> Result<()> {
        let own = get_str(tx.read(), obj, own_key)?;
        for (key, v) in self.each() {
            let Some(v) = v else { continue };
            let before = get_str(tx.read(), obj, key)?;
            tx.put_opt_str(obj, key, Some(v))?;
            let follows = !own_set && !v.trim().is_empty() && before.is_some() && before == own;
            if follows {
                tx.put_str(obj, own_key, v)?;
            }
        }
        Ok(())
    }

    /// One line for a terminal or a calendar: the English title (else the one first written),
    /// then the Russian one beside it when it differs ("Consultations / Консультации").
    pub fn line(&self, own: &str) -> String {
        let first = self.title_en.as_deref().unwrap_or(own);
        match self.title_ru.as_deref() {
            Some(ru) if ru != first => format!("{first} / {ru}"),
            _ => first.to_string(),
        }
    }

    /// Reads the titles of a document (none in a document written before them).
    pub fn read<R: ReadDoc>(doc: &R, obj: &ObjId) -> Result<Titles> {
        Ok(Titles { title_en: get_str(doc, obj, EN)?, title_ru: get_str(doc, obj, RU)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_title_is_the_one_given_else_english_else_russian() {
        let ru = Titles { title_en: None, title_ru: Some("Консультации".into()) };
        assert_eq!(ru.own_title("title", "").unwrap(), "Консультации");
        let both = Titles { title_en: Some("Consultations".into()), ..ru.clone() };
        assert_eq!(both.own_title("title", "").unwrap(), "Consultations");
        assert_eq!(both.own_title("title", "Talks").unwrap(), "Talks");
        let e = Titles::default().own_title("title", " ").unwrap_err().to_string();
        assert!(e.starts_with("title: give a title"), "{e}");
        let bad = Titles { title_en: Some("a\nb".into()), title_ru: None };
        assert!(bad.own_title("title", "x").unwrap_err().to_string().starts_with("title_en:"));
    }
}
