//! The engine's part of upgrading a store written before authenticated changes (version 1):
//! once, at the first start of the new version, in one commit.
//!
//! 1. Every actor in every document that is not this node's is sealed, with our Party key, as
//!    having written before authentication (its newest change, per document), so that those
//!    old changes can still travel and be checked; our own actor's heads are signed as usual.
//!    The other Party's node vouches for its own actor the same way when it upgrades, and that
//!    signature then takes the place of our seal.
//! 2. Our Party's records are copied from where the Parties kept them together (the shared
//!    registry and mandates, and each draft's and thread's own document) into our Party's own
//!    documents, under the same ids and marked as migrated. The old places stay as they were:
//!    the shared registry and mandates read-only, the rest no longer read.
//! 3. The upgrade is audited.
//!
//! A crash part-way leaves the store marked as still to upgrade, and it runs again: sealing and
//! copying under the same ids do the same thing twice.

use std::sync::Arc;

use super::{Core, EngineError};
use crate::workspace::party_docs::{LEGACY_MANDATES_ID, LEGACY_REGISTRY_ID, PartyDoc};
use crate::workspace::{Author, ChangeCtx, DocKind, draft, mandates, registry, thread};

/// Upgrades the documents if the store says a version 1 upgrade is pending.
pub(super) fn run_if_pending(core: &mut Core) -> Result<(), EngineError> {
    if !core.store.upgrade_pending().map_err(|e| EngineError::Store(Arc::new(e)))? {
        return Ok(());
    }
    let ctx = ChangeCtx {
        author: Author { officer: "upgrade".into(), party: core.identity.party.id.clone() },
        now: chrono::Utc::now(),
    };
    let all: Vec<_> = core.docs.all().map(|(id, m)| (id, m.kind)).collect();
    let mut sealed = 0;
    for (id, _) in &all {
        sealed += core.seal_legacy(*id)?;
    }
    let mut copied = 0;
    if core.docs.contains(LEGACY_REGISTRY_ID) {
        let legacy = core.doc(LEGACY_REGISTRY_ID)?.clone();
        copied += core.change_own(PartyDoc::Registry, |d| registry::migrate_from_legacy(d, &legacy, &ctx))?;
    }
    if core.docs.contains(LEGACY_MANDATES_ID) {
        let legacy = core.doc(LEGACY_MANDATES_ID)?.clone();
        copied += core.change_own(PartyDoc::Mandates, |d| mandates::migrate_from_legacy(d, &legacy, &ctx))?;
    }
    for (id, kind) in &all {
        let n = match kind {
            DocKind::Draft => {
                let legacy = core.doc(*id)?.clone();
                core.change_own(PartyDoc::Annex(*id), |a| draft::records::migrate_from_legacy(a, &legacy, &ctx))?
            }
            DocKind::Thread => {
                let legacy = core.doc(*id)?.clone();
                core.change_own(PartyDoc::Annex(*id), |a| thread::migrate_from_legacy(a, &legacy, &ctx))?
            }
            _ => 0,
        };
        copied += n;
    }
    tracing::warn!(documents = all.len(), sealed, copied, "upgraded a store from before authenticated changes");
    super::audit_log::record(
        core,
        crate::audit::Event::Upgraded {
            documents: all.len() as u64,
            sealed_actors: sealed as u64,
            records_copied: copied as u64,
        },
    );
    core.round.writes.push(Box::new(|w| w.finish_upgrade()));
    core.finish_round();
    Ok(())
}
