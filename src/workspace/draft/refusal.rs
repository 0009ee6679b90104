//! Why an edit of a draft (its text, structure or review) is refused: a code with parameters.
//! The API sends it as `refusal`, the web app says it in English or Russian
//! (`web/refusals.js`) and the CLI in its own words with its commands
//! (`src/cli/refusal_words.rs`). The `Display` text is a neutral English sentence for logs and
//! scripts; it names no command or flag of any client.

use serde::Serialize;

/// An edit of a draft that the draft's content does not allow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum EditRefusal {
    /// The draft was withdrawn: nothing of it changes any more.
    #[error("the draft was withdrawn")]
    DraftWithdrawn,
    /// Our Party signed the text as it stands, so its officers may not move it from under the
    /// signature (the other Party still may, which voids it).
    #[error("{party} signed this text on {on}; it can no longer change it")]
    TextSigned {
        /// The Party that signed (the editor's).
        party: String,
        /// When it signed.
        on: String,
    },
    /// A language the draft is not written in.
    #[error("{lang:?} is not a language of this draft")]
    LangNotInDraft {
        /// The language asked for.
        lang: String,
    },
    /// A whole text whose paragraphs do not match the draft's provisions one to one.
    #[error("the text has {paragraphs} paragraphs but the draft has {provisions} provisions")]
    ParagraphsMismatch {
        /// Paragraphs in the text given.
        paragraphs: usize,
        /// Provisions in the draft.
        provisions: usize,
    },
    /// A version (base or revision) that is not one of this draft's.
    #[error("{version:?} is not a version of this draft")]
    VersionUnknown {
        /// What was given.
        version: String,
    },
    /// A splice at a place of the whole text that falls between provisions.
    #[error("position {pos} is not inside a provision")]
    SpliceOutsideProvision {
        /// The position, in characters.
        pos: usize,
    },
    /// A splice that reaches beyond the provision's text.
    #[error("position {pos} + {delete} deleted is beyond the provision's {len} characters")]
    SpliceOutOfRange {
        /// Where it starts, in characters.
        pos: usize,
        /// How many characters it deletes.
        delete: usize,
        /// The provision's length in that language, in characters.
        len: usize,
    },
    /// A reference that is a label and also the start of another provision's id.
    #[error("{reference:?} is both a label and the start of provision {id}'s id")]
    ProvisionLabelClash {
        /// The reference given.
        reference: String,
        /// The provision whose id it starts.
        id: String,
    },
    /// A prefix of several provisions' ids.
    #[error("{reference:?} matches {count} provisions")]
    ProvisionAmbiguous {
        /// The reference given.
        reference: String,
        /// How many match.
        count: usize,
    },
    /// Moving a provision after itself.
    #[error("a provision cannot go after itself")]
    AfterItself,
    /// A suggestion accepted or rejected already.
    #[error("the suggestion was already {state}")]
    SuggestionDecided {
        /// `accepted` or `rejected`.
        state: String,
    },
    /// A version name in use.
    #[error("a version is already named {name:?}")]
    VersionNameTaken {
        /// The name.
        name: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edit_refusal_is_a_code_with_parameters() {
        let r = EditRefusal::SpliceOutOfRange { pos: 9, delete: 2, len: 10 };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({ "code": "splice-out-of-range", "pos": 9, "delete": 2, "len": 10 })
        );
        assert_eq!(
            serde_json::to_value(EditRefusal::AfterItself).unwrap(),
            serde_json::json!({ "code": "after-itself" })
        );
    }
}
