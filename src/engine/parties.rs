//! The Parties' full names: this node's from its config, published in its Party's registry at
//! start so that the other Party can name it; every other Party's from its own registry, as
//! that Party published it. Each Party speaks only for its own name.

use serde::{Deserialize, Serialize};

use super::{Core, EngineError};
use crate::config::PeerRole;
use crate::ids::PartyId;
use crate::workspace::party_docs::PartyDoc;
use crate::workspace::registry::{self, PartyNames};
use crate::workspace::{Author, ChangeCtx, DocKind};

/// A Party as officers see it named (`GET /api/parties`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyInfo {
    /// Its short id, such as `cica`.
    pub id: String,
    /// Its full name in English; its id when it has published none.
    pub name_en: String,
    /// Its full name in Russian; its English name, else its id, when it has published none.
    pub name_ru: String,
    /// Whether it is this node's own Party.
    pub own: bool,
}

impl PartyInfo {
    /// The name in `lang` (`ru`, else English).
    pub fn name(&self, lang: &str) -> &str {
        if lang == "ru" { &self.name_ru } else { &self.name_en }
    }
}

impl Core {
    /// Writes our Party's names from the config into its registry when they differ from what
    /// it says (at start: a changed config takes effect there).
    pub(super) fn publish_own_names(&mut self) -> Result<(), EngineError> {
        let p = &self.identity.party;
        let names = PartyNames { en: Some(p.name.clone()), ru: p.name_ru.clone() };
        let ctx =
            ChangeCtx { author: Author { officer: "config".into(), party: p.id.clone() }, now: chrono::Utc::now() };
        // Only the documents that are there change: an unchanged name writes nothing.
        self.change_own(PartyDoc::Registry, |d| registry::set_names(d, &ctx, &names))?;
        Ok(())
    }

    /// Our Party and every other Party this node knows (pinned, or whose registry it holds),
    /// ours first, then by id.
    pub fn parties(&mut self) -> Result<Vec<PartyInfo>, EngineError> {
        let own = self.identity.party.clone();
        let mut ids: Vec<PartyId> = self
            .peers
            .pinned()
            .filter(|p| matches!(p.role, PeerRole::Party | PeerRole::Provider))
            .map(|p| p.party_id.clone())
            .collect();
        for id in self.ids_of(DocKind::Registry) {
            if let Ok(doc) = self.doc(id)
                && let Some(p) = crate::workspace::party_docs::party_of(doc)
            {
                ids.push(p);
            }
        }
        ids.retain(|p| *p != own.id);
        ids.sort();
        ids.dedup();
        let mut out = vec![PartyInfo {
            id: own.id.to_string(),
            name_ru: own.name_ru.clone().unwrap_or_else(|| own.name.clone()),
            name_en: own.name.clone(),
            own: true,
        }];
        for p in ids {
            let doc_id = PartyDoc::Registry.id(&p);
            let names = if self.docs.contains(doc_id) {
                registry::names(self.doc(doc_id)?).unwrap_or_default()
            } else {
                PartyNames::default()
            };
            let en = names.en.unwrap_or_else(|| p.to_string());
            out.push(PartyInfo {
                id: p.to_string(),
                name_ru: names.ru.unwrap_or_else(|| en.clone()),
                name_en: en,
                own: false,
            });
        }
        Ok(out)
    }
}
