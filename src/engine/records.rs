//! Use cases over each Party's own records outside drafts: the liaison officers' registry, the
//! mandates, and the messages of liaison communications. Each Party writes its own documents
//! only; these functions read both Parties' and write ours, and name the rule when an officer
//! asks to act in the other Party's name.

use std::sync::Arc;

use super::{Core, EngineError};
use crate::authority::{Owner, Refusal};
use crate::ids::DocId;
use crate::workspace::mandates::{self, Mandate, NewMandate};
use crate::workspace::party_docs::PartyDoc;
use crate::workspace::registry::{self, NewOfficer, Officer};
use crate::workspace::thread::{self, Thread};
use crate::workspace::{ChangeCtx, DocKind, WorkspaceError};

fn refused(r: Refusal) -> EngineError {
    EngineError::Workspace(Arc::new(WorkspaceError::Refused(r)))
}

impl Core {
    /// The documents of `kind` that belong to a Party (not the sealed ones from before
    /// authentication), with their Party.
    fn party_docs_of(&self, kind: DocKind) -> Vec<(DocId, crate::ids::PartyId)> {
        self.docs
            .all()
            .filter(|(_, m)| m.kind == kind)
            .filter_map(|(id, m)| match &m.owner {
                Owner::Party(p) => Some((id, p.clone())),
                _ => None,
            })
            .collect()
    }

    /// Every liaison officer of both Parties, by Party then name.
    pub fn officers(&mut self) -> Result<Vec<Officer>, EngineError> {
        let mut out = Vec::new();
        for (id, _) in self.party_docs_of(DocKind::Registry) {
            out.extend(registry::list(self.doc(id)?)?);
        }
        out.sort_by(|a, b| (&a.party, &a.name).cmp(&(&b.party, &b.name)));
        Ok(out)
    }

    /// Records an assignment of our Party (citing a mandate in force if the policy wants one);
    /// returns its id. Naming the other Party is refused: a Party assigns its own officers.
    pub fn assign_officer(&mut self, ctx: &ChangeCtx, new: &NewOfficer) -> Result<String, EngineError> {
        if let Some(p) = &new.party
            && *p != ctx.author.party
        {
            return Err(refused(Refusal::NotItsParty {
                kind: DocKind::Registry,
                owner: p.clone(),
                writer: ctx.author.party.clone(),
            }));
        }
        self.check_mandate(crate::config::MandatedAction::OfficerAssign, new.mandate.as_deref())?;
        let id = self.change_own(PartyDoc::Registry, |d| registry::assign(d, ctx, new))?;
        self.audit_act(ctx, "officer-assigned", &id);
        Ok(id)
    }

    /// Audits an act of an officer of ours in our Party's name.
    pub(super) fn audit_act(&mut self, ctx: &ChangeCtx, act: &str, subject: &str) {
        super::audit_log::record(
            self,
            crate::audit::Event::PartyAct {
                act: act.into(),
                subject: subject.into(),
                officer: ctx.author.officer.clone(),
            },
        );
    }

    /// Ends an assignment of our Party; one of the other Party's is refused.
    pub fn end_officer(&mut self, ctx: &ChangeCtx, id: &str) -> Result<(), EngineError> {
        for (doc, party) in self.party_docs_of(DocKind::Registry) {
            if !registry::has(self.doc(doc)?, id)? {
                continue;
            }
            if party != ctx.author.party {
                return Err(refused(Refusal::NotItsParty {
                    kind: DocKind::Registry,
                    owner: party,
                    writer: ctx.author.party.clone(),
                }));
            }
            self.change(doc, |d| registry::end(d, ctx, id))?;
            self.audit_act(ctx, "officer-ended", id);
            return Ok(());
        }
        Err(WorkspaceError::NoSuchEntry { what: "officer", id: id.into() }.into())
    }

    /// Every mandate of both Parties.
    pub fn mandates(&mut self) -> Result<Vec<Mandate>, EngineError> {
        let mut out = Vec::new();
        let today = chrono::Utc::now().date_naive();
        for (id, _) in self.party_docs_of(DocKind::Mandates) {
            out.extend(mandates::list(self.doc(id)?)?.into_iter().map(|mut m| {
                m.in_force = m.in_force(today);
                m
            }));
        }
        out.sort_by(|a, b| (&a.party, &a.reference).cmp(&(&b.party, &b.reference)));
        Ok(out)
    }

    /// Records a mandate of our Party.
    pub fn add_mandate(&mut self, ctx: &ChangeCtx, new: &NewMandate) -> Result<(), EngineError> {
        self.change_own(PartyDoc::Mandates, |d| mandates::add(d, ctx, new))?;
        self.audit_act(ctx, "mandate-recorded", &new.reference);
        Ok(())
    }

    /// Amends the scope of a mandate of our Party.
    pub fn amend_mandate(&mut self, ctx: &ChangeCtx, reference: &str, scope: &str) -> Result<(), EngineError> {
        self.refuse_others_mandate(ctx, reference)?;
        self.change_own(PartyDoc::Mandates, |d| mandates::amend(d, ctx, reference, scope))?;
        self.audit_act(ctx, "mandate-amended", reference);
        Ok(())
    }

    /// Withdraws a mandate of our Party.
    pub fn withdraw_mandate(&mut self, ctx: &ChangeCtx, reference: &str) -> Result<(), EngineError> {
        self.refuse_others_mandate(ctx, reference)?;
        self.change_own(PartyDoc::Mandates, |d| mandates::withdraw(d, ctx, reference))?;
        self.audit_act(ctx, "mandate-withdrawn", reference);
        Ok(())
    }

    /// A reference that is only the other Party's names its mandate: refused by the rule, not
    /// "not found".
    fn refuse_others_mandate(&mut self, ctx: &ChangeCtx, reference: &str) -> Result<(), EngineError> {
        let mut others = None;
        for (doc, party) in self.party_docs_of(DocKind::Mandates) {
            if mandates::find(self.doc(doc)?, reference)?.is_some() {
                if party == ctx.author.party {
                    return Ok(());
                }
                others = Some(party);
            }
        }
        match others {
            Some(owner) => {
                Err(refused(Refusal::NotItsParty { kind: DocKind::Mandates, owner, writer: ctx.author.party.clone() }))
            }
            None => Ok(()),
        }
    }

    /// A thread with the messages of both Parties.
    pub fn read_thread(&mut self, id: DocId) -> Result<Thread, EngineError> {
        let annexes: Vec<automerge::Automerge> =
            self.annexes_of(id)?.into_iter().map(|a| self.doc(a).cloned()).collect::<Result<_, _>>()?;
        let refs: Vec<&automerge::Automerge> = annexes.iter().collect();
        Ok(thread::read(self.doc(id)?, &refs, &id.to_string())?)
    }

    /// Starts a thread with its first message (ours); returns its id.
    pub fn start_thread(
        &mut self,
        ctx: &ChangeCtx,
        subject: &str,
        titles: &crate::workspace::titles::Titles,
        text: &str,
    ) -> Result<DocId, EngineError> {
        self.start_thread_with(ctx, subject, titles, text, &[])
    }

    /// [`Core::start_thread`], its first message attaching items held here.
    pub fn start_thread_with(
        &mut self,
        ctx: &ChangeCtx,
        subject: &str,
        titles: &crate::workspace::titles::Titles,
        text: &str,
        attach: &[String],
    ) -> Result<DocId, EngineError> {
        thread::check_body(text)?;
        for i in attach {
            self.item_to_attach(i)?;
        }
        let id = self.create(DocKind::Thread, |d| thread::start(d, ctx, subject, titles))?;
        self.post_message_with(ctx, id, text, attach)?;
        Ok(id)
    }

    /// Adds a message of ours to a thread; returns its id.
    pub fn post_message(&mut self, ctx: &ChangeCtx, thread_id: DocId, text: &str) -> Result<String, EngineError> {
        self.post_message_with(ctx, thread_id, text, &[])
    }

    /// Adds a message of ours to a thread, attaching items held here (ids or unique prefixes);
    /// returns its id.
    pub fn post_message_with(
        &mut self,
        ctx: &ChangeCtx,
        thread_id: DocId,
        text: &str,
        attach: &[String],
    ) -> Result<String, EngineError> {
        let attach = attach.iter().map(|i| self.item_to_attach(i)).collect::<Result<Vec<_>, _>>()?;
        self.change_own(PartyDoc::Annex(thread_id), |a| thread::post_with(a, ctx, text, &attach))
    }
}
