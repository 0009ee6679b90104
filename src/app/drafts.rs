//! Use cases over drafts: create one, edit its text (whole, one splice, one provision), retitle
//! it, change its structure, review it and take it through the workflow, decide a suggestion.

use serde::{Deserialize, Serialize};

use super::{Common, Created, Ctx};
use crate::accounts::Role;
use crate::engine::{Core, EngineError, EngineHandle};
use crate::ids::DocId;
use crate::workspace::draft::{self, Draft, EditRefusal, NewDraft, Place, ProvisionKind, Splice, WorkflowRefusal};
use crate::workspace::titles::Titles;
use crate::workspace::{ChangeCtx, DocKind, WorkspaceError};

/// Why a use case over a draft is refused.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DraftRefusal {
    /// The draft's content does not allow the edit.
    Edit(EditRefusal),
    /// The draft's state does not allow the workflow step.
    Workflow(WorkflowRefusal),
    /// What any use case can meet.
    Common(Common),
}

impl DraftRefusal {
    /// What kind of "no" it is.
    pub fn class(&self) -> super::Class {
        match self {
            DraftRefusal::Edit(_) | DraftRefusal::Workflow(_) => super::Class::Unprocessable,
            DraftRefusal::Common(c) => c.class(),
        }
    }
}

impl From<EngineError> for DraftRefusal {
    fn from(e: EngineError) -> Self {
        if let EngineError::Workspace(w) = &e {
            match w.as_ref() {
                WorkspaceError::Edit(r) => return DraftRefusal::Edit(r.clone()),
                WorkspaceError::Workflow(r) => return DraftRefusal::Workflow(r.clone()),
                _ => {}
            }
        }
        DraftRefusal::Common(e.into())
    }
}

impl From<Common> for DraftRefusal {
    fn from(c: Common) -> Self {
        DraftRefusal::Common(c)
    }
}

/// Makes a draft in an existing working group; the Parties that approve and sign it are ours
/// and every other Party pinned here, its languages the node's unless given.
pub async fn create_draft(engine: &EngineHandle, who: &Ctx, input: NewDraft) -> Result<Created, DraftRefusal> {
    let ctx = who.change.clone();
    let id = engine
        .write(move |c| {
            let mut new = input;
            // Stored by its full id, so a prefix given today still names it when more groups exist.
            new.group = c.resolve(DocKind::Group, &new.group)?.to_string();
            new.parties = c.draft_parties();
            if new.languages.is_empty() {
                new.languages = c.draft_languages();
            }
            c.create(DocKind::Draft, |d| draft::create(d, &ctx, &new))
        })
        .await?;
    Ok(Created { id: id.to_string() })
}

/// A new whole text for a draft, in one language.
#[derive(Clone, Debug, Deserialize)]
pub struct NewText {
    /// The whole new text (provisions separated by a blank line).
    pub text: String,
    /// Its language (default: the draft's first).
    #[serde(default)]
    pub lang: Option<String>,
    /// The version the text was edited from; without it the text is compared with the current one.
    #[serde(default)]
    pub base: Option<String>,
}

/// Replaces a draft's whole text in one language (minimal splices, provision by provision);
/// answers with the draft as it then stands.
pub async fn set_text(engine: &EngineHandle, who: &Ctx, draft: String, input: NewText) -> Result<Draft, DraftRefusal> {
    let ctx = who.change.clone();
    change_draft(engine, draft, move |c, id| {
        let base = input.base.as_deref().map(draft::parse_version).transpose()?;
        c.change(id, |d| {
            draft::edit_from(d, &ctx, base.as_deref(), |d| {
                draft::set_text_lang(d, &ctx, input.lang.as_deref(), &input.text)
            })
            .map(|_| ())
        })
    })
    .await
}

/// A splice, made to the text as it was at `base` (default: the current text).
#[derive(Clone, Debug, Deserialize)]
pub struct SpliceAt {
    /// Where, what is deleted and what is inserted.
    #[serde(flatten)]
    pub splice: Splice,
    /// The version the editor's text was at.
    #[serde(default)]
    pub base: Option<String>,
    /// An id the editor gives this splice, so that a retry of it (its first answer lost) is not
    /// applied twice. (The API keeps the answers; the use case does not look at it.)
    #[serde(default)]
    pub edit: Option<String>,
}

/// The answer to a splice.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Spliced {
    /// Heads of the draft after the splice (and any concurrent changes), hex.
    pub heads: Vec<String>,
    /// The version whose text is exactly the base's with this splice applied (comma-separated
    /// hashes): the base of the editor's next splice.
    pub version: String,
    /// `CLOCK_MONOTONIC` ns when the splice was applied (for latency measurements).
    pub applied_mono_ns: u64,
}

/// Applies one splice of the web app's editor to a draft's text.
pub async fn splice(engine: &EngineHandle, who: &Ctx, draft: String, input: SpliceAt) -> Result<Spliced, DraftRefusal> {
    let ctx = who.change.clone();
    Ok(engine
        .write(move |c| {
            let id = c.resolve(DocKind::Draft, &draft)?;
            let base = input.base.as_deref().map(draft::parse_version).transpose()?;
            let version = c.change(id, |d| {
                draft::edit_from(d, &ctx, base.as_deref(), |d| draft::splice(d, &ctx, &input.splice))
            })?;
            let applied_mono_ns = crate::engine::mono_ns();
            let heads = c.doc(id)?.get_heads().iter().map(|h| h.to_string()).collect();
            let version = version.iter().map(|h| h.to_string()).collect::<Vec<_>>().join(",");
            Ok(Spliced { heads, version, applied_mono_ns })
        })
        .await?)
}

/// A new title.
#[derive(Clone, Debug, Deserialize)]
pub struct Retitle {
    /// The title as first written.
    #[serde(default)]
    pub title: Option<String>,
    /// The title in English and in Russian.
    #[serde(flatten)]
    pub titles: Titles,
}

/// Retitles a draft.
pub async fn retitle(engine: &EngineHandle, who: &Ctx, draft: String, input: Retitle) -> Result<Draft, DraftRefusal> {
    let ctx = who.change.clone();
    change_draft(engine, draft, move |c, id| {
        c.change(id, |d| draft::set_title(d, &ctx, input.title.as_deref(), &input.titles))
    })
    .await
}

/// Every change to a draft's structure, review and workflow.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Action {
    /// Add a provision.
    AddProvision {
        /// After this provision (id, prefix or label); last if neither this nor `first`.
        #[serde(default)]
        after: Option<String>,
        /// First in the draft.
        #[serde(default)]
        first: bool,
        /// Its kind.
        kind: ProvisionKind,
        /// Language of `text`.
        #[serde(default)]
        lang: Option<String>,
        /// Its text in `lang`.
        #[serde(default)]
        text: Option<String>,
    },
    /// Move a provision.
    MoveProvision {
        /// Which.
        provision: String,
        /// After this one; last if neither this nor `first`.
        #[serde(default)]
        after: Option<String>,
        /// First.
        #[serde(default)]
        first: bool,
    },
    /// Remove a provision.
    RemoveProvision {
        /// Which.
        provision: String,
    },
    /// Set one provision's text in one language (minimal splices).
    Text {
        /// Which.
        provision: String,
        /// The language.
        lang: String,
        /// The text.
        text: String,
        /// The version it was edited from.
        #[serde(default)]
        base: Option<String>,
    },
    /// Clear a provision's stale marks.
    Align {
        /// Which.
        provision: String,
    },
    /// Comment on a provision.
    Comment {
        /// Which.
        provision: String,
        /// The comment.
        text: String,
        /// The comment it answers.
        #[serde(default)]
        reply_to: Option<String>,
    },
    /// Suggest a text for a provision in one language.
    Suggest {
        /// Which.
        provision: String,
        /// The language.
        lang: String,
        /// The suggested text.
        text: String,
    },
    /// Name the current version.
    Version {
        /// The name.
        name: String,
    },
    /// Put it to review.
    Review,
    /// Approve it as it stands, for our Party.
    Approve,
    /// Sign it for our Party (when agreed).
    Sign,
    /// Withdraw it.
    Withdraw,
}

impl Action {
    /// The role the action needs beyond editing: signing binds the Party, and withdrawing
    /// cannot be undone, so both need a liaison officer, not just a member.
    pub fn needs(&self) -> Role {
        match self {
            Action::Sign | Action::Withdraw => Role::Liaison,
            _ => Role::Member,
        }
    }
}

/// Applies one action to a draft; answers with the draft as it then stands.
pub async fn act(engine: &EngineHandle, who: &Ctx, draft: String, action: Action) -> Result<Draft, DraftRefusal> {
    who.require(action.needs())?;
    let ctx = who.change.clone();
    change_draft(engine, draft, move |c, id| apply(c, id, &ctx, action)).await
}

/// Accept or reject.
#[derive(Clone, Copy, Debug, Deserialize)]
pub struct Decision {
    /// Accept (the suggested text goes in as an ordinary edit) or reject.
    pub accept: bool,
}

/// Accepts or rejects a suggestion of either Party, whichever draft holds it; answers with that
/// draft as it then stands.
pub async fn decide(
    engine: &EngineHandle,
    who: &Ctx,
    suggestion: String,
    input: Decision,
) -> Result<Draft, DraftRefusal> {
    let ctx = who.change.clone();
    Ok(engine
        .write(move |c| {
            let Some(id) = c.draft_of_suggestion(&suggestion).into_iter().next() else {
                return Err(WorkspaceError::NoSuchEntry { what: "suggestion", id: suggestion }.into());
            };
            c.decide_suggestion_in(id, &suggestion, &ctx, input.accept)?;
            c.read_draft(id)
        })
        .await?)
}

/// Runs a change on a draft and answers with the draft as it then stands.
async fn change_draft(
    engine: &EngineHandle,
    draft: String,
    f: impl FnOnce(&mut Core, DocId) -> Result<(), EngineError> + Send + 'static,
) -> Result<Draft, DraftRefusal> {
    Ok(engine
        .write(move |c| {
            let id = c.resolve(DocKind::Draft, &draft)?;
            f(c, id)?;
            c.read_draft(id)
        })
        .await?)
}

fn place(d: &automerge::Automerge, after: Option<String>, first: bool) -> Result<Place, EngineError> {
    Ok(match (after, first) {
        (_, true) => Place::First,
        (Some(a), false) => Place::After(draft::resolve_provision(d, &a)?),
        (None, false) => Place::Last,
    })
}

fn apply(c: &mut Core, id: DocId, ctx: &ChangeCtx, action: Action) -> Result<(), EngineError> {
    let pv = |c: &mut Core, p: &str| -> Result<String, EngineError> { Ok(draft::resolve_provision(c.doc(id)?, p)?) };
    match action {
        Action::AddProvision { after, first, kind, lang, text } => {
            let pl = place(c.doc(id)?, after, first)?;
            let lang = lang.unwrap_or_else(|| "en".into());
            c.change(id, |d| {
                draft::add_provision(d, ctx, &pl, kind, text.as_deref().map(|t| (lang.as_str(), t))).map(|_| ())
            })
        }
        Action::MoveProvision { provision, after, first } => {
            let p = pv(c, &provision)?;
            let pl = place(c.doc(id)?, after, first)?;
            c.change(id, |d| draft::move_provision(d, ctx, &p, &pl))
        }
        Action::RemoveProvision { provision } => {
            let p = pv(c, &provision)?;
            c.change(id, |d| draft::remove_provision(d, ctx, &p))
        }
        Action::Text { provision, lang, text, base } => {
            // A label is read in the numbering of the version the text was edited from: the
            // one the officer saw, whatever moved since.
            let base = base.as_deref().map(draft::parse_version).transpose()?;
            let p = draft::resolve_provision_at(c.doc(id)?, &provision, base.as_deref())?;
            c.change(id, |d| {
                draft::edit_from(d, ctx, base.as_deref(), |d| draft::set_provision_text(d, ctx, &p, &lang, &text))
                    .map(|_| ())
            })
        }
        Action::Align { provision } => {
            let p = pv(c, &provision)?;
            c.change(id, |d| draft::align(d, ctx, &p))
        }
        Action::Comment { provision, text, reply_to } => {
            let p = pv(c, &provision)?;
            c.comment_draft(id, ctx, &p, &text, reply_to.as_deref()).map(|_| ())
        }
        Action::Suggest { provision, lang, text } => {
            let p = pv(c, &provision)?;
            c.suggest_draft(id, ctx, &p, &lang, &text).map(|_| ())
        }
        Action::Version { name } => c.change(id, |d| draft::name_version(d, ctx, &name)),
        Action::Review => c.review_draft(id, ctx),
        Action::Approve => c.approve_draft(id, ctx),
        Action::Sign => c.sign_draft(id, ctx),
        Action::Withdraw => c.withdraw_draft(id, ctx),
    }
}
