//! The application layer: one function per use case of an officer (create a draft, splice its
//! text, approve it, assign an officer, post a message, ...), each with a typed input, a typed
//! result and a typed refusal. The API's handlers, the CLI's offline paths and the tests all
//! call these; none of them rebuilds a use case by hand.
//!
//! Every use case has the same shape: `pub async fn name(engine: &EngineHandle, who: &Ctx,
//! input: Input) -> Result<Output, Refusal>`. It runs its whole rule inside one engine job, so it
//! is one round: durable when it answers `Ok`, nothing kept when it answers `Err`.
//!
//! Refusals are codes with parameters (`#[serde(tag = "code")]`), never sentences: the adapters
//! say them, the API in neutral English (`src/api/app_refusal.rs`), the CLI with its commands and
//! flags (`src/cli/refusal_words.rs`), the web app in English and Russian (`web/refusals.js`).

pub mod accounts;
pub mod drafts;
pub mod groups;
pub mod meetings;
pub mod officers;
pub mod refusal;
pub mod threads;
pub mod vault;

use chrono::Utc;

use crate::accounts::Role;
use crate::ids::PartyId;
use crate::workspace::{Author, ChangeCtx};

pub use refusal::{Class, Common};

/// Who asks: the officer, their Party and when (stamped on the change), and the role their
/// account has (some use cases need more than the route's: signing needs a liaison officer).
#[derive(Clone, Debug)]
pub struct Ctx {
    /// Who is making the change, and when.
    pub change: ChangeCtx,
    /// The caller's role.
    pub role: Role,
}

impl Ctx {
    /// An officer of `party` with `role`, acting now.
    pub fn new(officer: impl Into<String>, party: PartyId, role: Role) -> Ctx {
        Ctx { change: ChangeCtx { author: Author { officer: officer.into(), party }, now: Utc::now() }, role }
    }

    /// Refuses unless the caller's role is at least `need`.
    fn require(&self, need: Role) -> Result<(), Common> {
        if self.role >= need { Ok(()) } else { Err(Common::RoleRequired { need, role: self.role }) }
    }
}

/// The answer to a use case that makes a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// The new document's (or registry entry's) id.
    pub id: String,
}
