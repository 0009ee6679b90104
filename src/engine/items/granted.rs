//! A third party's node: what it does with items is receive those a provider granted it, and
//! hold them until the grant ends. It provides none: an item provided there would be sealed to
//! no Party and sent nowhere, so providing is refused with [`ItemRefusal::ThirdPartyNode`].
//!
//! Which kind of node this is follows from whom it pins: a third party's node pins the Parties'
//! nodes as providers (`role = "provider"`) and no node as a Party.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{our_key, store_err};
use crate::config::PeerRole;
use crate::consent::Record;
use crate::engine::{Core, EngineError};
use crate::vault;

/// Why an item operation is refused, as a code with its parameters (the words are the
/// clients').
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum ItemRefusal {
    /// This node is a third party's: it receives granted items and provides none.
    #[error(
        "this node is a third party's: it receives the items a provider grants it and provides none (an item provided here would go nowhere)"
    )]
    ThirdPartyNode,
    /// The handling marking is not acceptable.
    #[error("{0}")]
    Marking(#[from] crate::marking::MarkingError),
    /// The title or the file name is not one line of text.
    #[error("the title must be 1 to 1000 bytes and, like the file name, hold no control character")]
    Label,
}

/// An item granted to this node's organisation, as the third party sees it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GrantedItem {
    /// The grant.
    pub grant: String,
    /// The item.
    pub item: String,
    /// Its provider, who granted it.
    pub provider: String,
    /// The Party that holds and sends it.
    pub holder: String,
    /// The purpose consented to.
    pub purpose: String,
    /// When granted, and by which of the provider's officers.
    pub granted_at: String,
    /// The provider's officer who granted it.
    pub granted_by: String,
    /// Until when, if limited.
    pub expires: Option<String>,
    /// `granted`, `revoked` or `expired`.
    pub state: String,
    /// When it was revoked, and by which of the provider's officers.
    pub revoked_at: Option<String>,
    /// The provider's officer who revoked it.
    pub revoked_by: Option<String>,
    /// Whether the item is held here now (it comes after the grant, and goes when it ends).
    pub held: bool,
    /// Its title, when held and the officer asking may read it.
    pub title: Option<String>,
    /// Its marking, when held.
    pub marking: Option<String>,
}

/// What a node answers about the items granted to it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Granted {
    /// Whether this is a third party's node (it pins providers and no Party).
    pub third_party_node: bool,
    /// The grants to this node's organisation, newest first.
    pub grants: Vec<GrantedItem>,
}

impl Core {
    /// Whether this is a third party's node: it pins provider nodes and no Party's node.
    pub fn is_third_party_node(&self) -> bool {
        self.peers.pinned().any(|p| p.role == PeerRole::Provider)
            && !self.peers.pinned().any(|p| p.role == PeerRole::Party)
    }

    /// Refuses to provide an item on a third party's node.
    pub fn check_may_provide(&self) -> Result<(), EngineError> {
        if self.is_third_party_node() {
            return Err(EngineError::ItemRefused(ItemRefusal::ThirdPartyNode));
        }
        Ok(())
    }

    /// The grants made to this node's organisation, with their state; titles only if
    /// `may_read` and the item is held and readable.
    pub fn granted(&self, may_read: bool) -> Result<Granted, EngineError> {
        let us = &self.identity.party.id;
        let now = Utc::now();
        let mut grants = Vec::new();
        for r in self.consent.records.values() {
            let Record::Grant(g) = &r.record else { continue };
            if &g.third_party != us {
                continue;
            }
            let revoked = self.consent.records.values().find_map(|r| match &r.record {
                Record::Revocation(v) if v.grant == g.id => Some(v),
                _ => None,
            });
            let expired = g
                .expires
                .as_deref()
                .and_then(|e| DateTime::parse_from_rfc3339(e).ok())
                .is_some_and(|t| t.with_timezone(&Utc) <= now);
            let state = if revoked.is_some() {
                "revoked"
            } else if expired {
                "expired"
            } else {
                "granted"
            };
            let stored = self.store.item(g.item).map_err(store_err)?.filter(|i| i.complete);
            let mut view = GrantedItem {
                grant: g.id.to_string(),
                item: g.item.to_string(),
                provider: g.provider.to_string(),
                holder: g.holder.to_string(),
                purpose: g.purpose.clone(),
                granted_at: g.at.clone(),
                granted_by: g.officer.clone(),
                expires: g.expires.clone(),
                state: state.into(),
                revoked_at: revoked.map(|v| v.at.clone()),
                revoked_by: revoked.map(|v| v.officer.clone()),
                held: stored.is_some(),
                title: None,
                marking: stored.as_ref().map(|i| i.envelope.envelope.marking.clone()),
            };
            if may_read
                && let Some(item) = &stored
                && let Some(key) = our_key(self, item)
            {
                view.title = vault::open_title(&key, &item.envelope.envelope).ok();
            }
            grants.push(view);
        }
        grants.sort_by(|a, b| b.granted_at.cmp(&a.granted_at));
        Ok(Granted { third_party_node: self.is_third_party_node(), grants })
    }
}
