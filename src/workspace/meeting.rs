//! Joint working meetings and consultations (Protocol, item iv), including those held on the
//! sidelines of other organisations' events.
//!
//! Layout of a meeting document's root:
//! `kind`, `schema`, `title`, `meeting_kind`, `starts`, `ends`?, `venue`?, `sidelines_of`?,
//! `status`, `agenda: [{id, text}]`, `participants: [{id, name, party, role?}]`,
//! `minutes` (text object), `created_by`, `created_at`, `updated_by`, `updated_at`.

use automerge::{Automerge, ROOT};
use serde::{Deserialize, Serialize};

use super::attachments::{self, Attachment};
use super::util::{get_author, get_str, list_maps, req_str};
use super::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change, check_line, init_root, parse_time, touch};
use crate::ids::{PartyId, random_hex};

/// Whether a meeting is a working meeting or a consultation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MeetingKind {
    /// A joint working meeting.
    WorkingMeeting,
    /// A consultation.
    Consultation,
}

impl MeetingKind {
    fn as_str(self) -> &'static str {
        match self {
            MeetingKind::WorkingMeeting => "working-meeting",
            MeetingKind::Consultation => "consultation",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "working-meeting" => Ok(MeetingKind::WorkingMeeting),
            "consultation" => Ok(MeetingKind::Consultation),
            _ => Err(WorkspaceError::Malformed(format!("meeting_kind {s:?}"))),
        }
    }
}

/// Where a meeting stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MeetingStatus {
    /// Proposed by one Party, not yet agreed.
    Proposed,
    /// Both Parties agreed to hold it.
    Confirmed,
    /// It took place.
    Held,
    /// It will not take place.
    Cancelled,
}

impl MeetingStatus {
    fn as_str(self) -> &'static str {
        match self {
            MeetingStatus::Proposed => "proposed",
            MeetingStatus::Confirmed => "confirmed",
            MeetingStatus::Held => "held",
            MeetingStatus::Cancelled => "cancelled",
        }
    }
    fn parse(s: &str) -> Result<Self> {
        match s {
            "proposed" => Ok(MeetingStatus::Proposed),
            "confirmed" => Ok(MeetingStatus::Confirmed),
            "held" => Ok(MeetingStatus::Held),
            "cancelled" => Ok(MeetingStatus::Cancelled),
            _ => Err(WorkspaceError::Malformed(format!("status {s:?}"))),
        }
    }
}

/// What an officer gives to create a meeting.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewMeeting {
    /// Title.
    pub title: String,
    /// Start, RFC 3339.
    pub starts: String,
    /// End, RFC 3339.
    #[serde(default)]
    pub ends: Option<String>,
    /// Working meeting or consultation.
    #[serde(default = "default_kind")]
    pub kind: MeetingKind,
    /// Where.
    #[serde(default)]
    pub venue: Option<String>,
    /// The event it is held on the sidelines of, if any.
    #[serde(default)]
    pub sidelines_of: Option<String>,
}

fn default_kind() -> MeetingKind {
    MeetingKind::WorkingMeeting
}

/// A change to a meeting; absent fields stay as they are.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MeetingPatch {
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// New start.
    #[serde(default)]
    pub starts: Option<String>,
    /// New end; an empty string clears it.
    #[serde(default)]
    pub ends: Option<String>,
    /// New kind.
    #[serde(default)]
    pub kind: Option<MeetingKind>,
    /// New venue; an empty string clears it.
    #[serde(default)]
    pub venue: Option<String>,
    /// New sidelines event; an empty string clears it.
    #[serde(default)]
    pub sidelines_of: Option<String>,
    /// New status.
    #[serde(default)]
    pub status: Option<MeetingStatus>,
    /// Agenda items to append.
    #[serde(default)]
    pub add_agenda: Vec<String>,
    /// Agenda item ids to remove.
    #[serde(default)]
    pub remove_agenda: Vec<String>,
    /// Participants to add.
    #[serde(default)]
    pub add_participants: Vec<NewParticipant>,
    /// Participant ids to remove.
    #[serde(default)]
    pub remove_participants: Vec<String>,
    /// New minutes text, merged as minimal splices.
    #[serde(default)]
    pub minutes: Option<String>,
    /// Provided items to attach, by full id (only the id goes into the meeting).
    #[serde(default)]
    pub attach: Vec<String>,
    /// Attached items to take off, by full id.
    #[serde(default)]
    pub detach: Vec<String>,
}

/// A participant to add.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewParticipant {
    /// Name.
    pub name: String,
    /// Party (or the organisation of a guest).
    pub party: PartyId,
    /// Role at the meeting, such as "head of delegation".
    #[serde(default)]
    pub role: Option<String>,
}

/// A meeting as officers see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Meeting {
    /// Document id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Working meeting or consultation.
    pub kind: MeetingKind,
    /// Start.
    pub starts: String,
    /// End.
    pub ends: Option<String>,
    /// Venue.
    pub venue: Option<String>,
    /// Sidelines event.
    pub sidelines_of: Option<String>,
    /// Status.
    pub status: MeetingStatus,
    /// Agenda, in order.
    pub agenda: Vec<AgendaItem>,
    /// Participants from both Parties.
    pub participants: Vec<Participant>,
    /// Minutes.
    pub minutes: String,
    /// Who created it.
    pub created_by: Option<Author>,
    /// When.
    pub created_at: Option<String>,
    /// Who changed it last.
    pub updated_by: Option<Author>,
    /// When.
    pub updated_at: Option<String>,
    /// Provided items it cites (see [`super::attachments`]).
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

/// One agenda item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgendaItem {
    /// Stable id within the meeting.
    pub id: String,
    /// The item.
    pub text: String,
}

/// One participant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Stable id within the meeting.
    pub id: String,
    /// Name.
    pub name: String,
    /// Party.
    pub party: String,
    /// Role.
    pub role: Option<String>,
}

/// Writes a new meeting into an empty document.
pub fn create(doc: &mut Automerge, ctx: &ChangeCtx, new: &NewMeeting) -> Result<()> {
    check_line("title", &new.title)?;
    parse_time("starts", &new.starts)?;
    if let Some(e) = &new.ends {
        check_order(&new.starts, e)?;
    }
    change(doc, ctx, |tx| {
        init_root(tx, DocKind::Meeting, ctx)?;
        tx.put_str(&ROOT, "title", &new.title)?;
        tx.put_str(&ROOT, "meeting_kind", new.kind.as_str())?;
        tx.put_str(&ROOT, "starts", &new.starts)?;
        tx.put_opt_str(&ROOT, "ends", new.ends.as_deref())?;
        tx.put_opt_str(&ROOT, "venue", new.venue.as_deref())?;
        tx.put_opt_str(&ROOT, "sidelines_of", new.sidelines_of.as_deref())?;
        tx.put_str(&ROOT, "status", MeetingStatus::Proposed.as_str())?;
        tx.list(&ROOT, "agenda")?;
        tx.list(&ROOT, "participants")?;
        tx.put_text(&ROOT, "minutes", "")?;
        touch(tx, ctx)
    })
}

fn check_order(starts: &str, ends: &str) -> Result<()> {
    if ends.is_empty() {
        return Ok(());
    }
    if parse_time("ends", ends)? < parse_time("starts", starts)? {
        return Err(WorkspaceError::Invalid { field: "ends", reason: format!("{ends} is before the start {starts}") });
    }
    Ok(())
}

/// Applies `patch` to a meeting in one change.
pub fn update(doc: &mut Automerge, ctx: &ChangeCtx, patch: &MeetingPatch) -> Result<()> {
    if let Some(t) = &patch.title {
        check_line("title", t)?;
    }
    let current = read(doc, "")?;
    let starts = patch.starts.clone().unwrap_or(current.starts);
    parse_time("starts", &starts)?;
    if let Some(e) = patch.ends.clone().or(current.ends) {
        check_order(&starts, &e)?;
    }
    for a in &patch.add_agenda {
        check_line("agenda", a)?;
    }
    for p in &patch.add_participants {
        check_line("participant name", &p.name)?;
    }
    let attach = attachments::check(&patch.attach, current.attachments.len())?;
    change(doc, ctx, |tx| {
        if let Some(t) = &patch.title {
            tx.put_str(&ROOT, "title", t)?;
        }
        if let Some(s) = &patch.starts {
            tx.put_str(&ROOT, "starts", s)?;
        }
        if let Some(e) = &patch.ends {
            tx.put_opt_str(&ROOT, "ends", Some(e))?;
        }
        if let Some(k) = patch.kind {
            tx.put_str(&ROOT, "meeting_kind", k.as_str())?;
        }
        if let Some(v) = &patch.venue {
            tx.put_opt_str(&ROOT, "venue", Some(v))?;
        }
        if let Some(s) = &patch.sidelines_of {
            tx.put_opt_str(&ROOT, "sidelines_of", Some(s))?;
        }
        if let Some(s) = patch.status {
            tx.put_str(&ROOT, "status", s.as_str())?;
        }
        let agenda = tx.list(&ROOT, "agenda")?;
        for id in &patch.remove_agenda {
            tx.remove_by_id(&agenda, "agenda item", id)?;
        }
        for text in &patch.add_agenda {
            let m = tx.push_map(&agenda)?;
            tx.put_str(&m, "id", &random_hex(4))?;
            tx.put_str(&m, "text", text)?;
        }
        let participants = tx.list(&ROOT, "participants")?;
        for id in &patch.remove_participants {
            tx.remove_by_id(&participants, "participant", id)?;
        }
        for p in &patch.add_participants {
            let m = tx.push_map(&participants)?;
            tx.put_str(&m, "id", &random_hex(4))?;
            tx.put_str(&m, "name", &p.name)?;
            tx.put_str(&m, "party", p.party.as_str())?;
            tx.put_opt_str(&m, "role", p.role.as_deref())?;
        }
        if let Some(m) = &patch.minutes {
            tx.update_text(&ROOT, "minutes", m)?;
        }
        attachments::remove(tx, &ROOT, &patch.detach)?;
        attachments::put(tx, &ROOT, &attach, ctx)?;
        touch(tx, ctx)
    })
}

/// Reads a meeting document.
pub fn read(doc: &Automerge, id: &str) -> Result<Meeting> {
    let agenda = list_maps(doc, &ROOT, "agenda")?
        .iter()
        .map(|m| Ok(AgendaItem { id: req_str(doc, m, "id")?, text: req_str(doc, m, "text")? }))
        .collect::<Result<Vec<_>>>()?;
    let participants = list_maps(doc, &ROOT, "participants")?
        .iter()
        .map(|m| {
            Ok(Participant {
                id: req_str(doc, m, "id")?,
                name: req_str(doc, m, "name")?,
                party: req_str(doc, m, "party")?,
                role: get_str(doc, m, "role")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Meeting {
        id: id.to_string(),
        title: req_str(doc, &ROOT, "title")?,
        kind: MeetingKind::parse(&req_str(doc, &ROOT, "meeting_kind")?)?,
        starts: req_str(doc, &ROOT, "starts")?,
        ends: get_str(doc, &ROOT, "ends")?,
        venue: get_str(doc, &ROOT, "venue")?,
        sidelines_of: get_str(doc, &ROOT, "sidelines_of")?,
        status: MeetingStatus::parse(&req_str(doc, &ROOT, "status")?)?,
        agenda,
        participants,
        minutes: get_str(doc, &ROOT, "minutes")?.unwrap_or_default(),
        created_by: get_author(doc, &ROOT, "created_by")?,
        created_at: get_str(doc, &ROOT, "created_at")?,
        updated_by: get_author(doc, &ROOT, "updated_by")?,
        updated_at: get_str(doc, &ROOT, "updated_at")?,
        attachments: attachments::read(doc, &ROOT)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::testing::{ctx, sync_pair};

    fn new_meeting() -> NewMeeting {
        NewMeeting {
            title: "Consultations on counter-terrorism".into(),
            starts: "2026-12-01T09:00:00Z".into(),
            ends: Some("2026-12-01T12:00:00Z".into()),
            kind: MeetingKind::Consultation,
            venue: Some("Astana".into()),
            sidelines_of: Some("UN General Assembly".into()),
        }
    }

    #[test]
    fn create_update_and_read() {
        let mut doc = Automerge::new();
        create(&mut doc, &ctx("ana", "cica"), &new_meeting()).unwrap();
        let patch = MeetingPatch {
            status: Some(MeetingStatus::Confirmed),
            add_agenda: vec!["Opening".into(), "Exchange of information".into()],
            add_participants: vec![NewParticipant {
                name: "Ivan".into(),
                party: "sco-rats".parse().unwrap(),
                role: None,
            }],
            minutes: Some("Agreed to meet again.".into()),
            ..Default::default()
        };
        update(&mut doc, &ctx("ivan", "sco-rats"), &patch).unwrap();
        let m = read(&doc, "x").unwrap();
        assert_eq!(m.status, MeetingStatus::Confirmed);
        assert_eq!(m.agenda.len(), 2);
        assert_eq!(m.participants[0].party, "sco-rats");
        assert_eq!(m.minutes, "Agreed to meet again.");
        assert_eq!(m.updated_by.unwrap().officer, "ivan");
        let first = m.agenda[0].id.clone();
        update(&mut doc, &ctx("ana", "cica"), &MeetingPatch { remove_agenda: vec![first], ..Default::default() })
            .unwrap();
        assert_eq!(read(&doc, "x").unwrap().agenda[0].text, "Exchange of information");
    }

    #[test]
    fn bad_input_changes_nothing() {
        let mut doc = Automerge::new();
        let mut bad = new_meeting();
        bad.starts = "tomorrow".into();
        assert!(create(&mut doc, &ctx("ana", "cica"), &bad).unwrap_err().to_string().contains("RFC 3339"));
        assert!(doc.get_heads().is_empty());
        create(&mut doc, &ctx("ana", "cica"), &new_meeting()).unwrap();
        let heads = doc.get_heads();
        let e = update(
            &mut doc,
            &ctx("ana", "cica"),
            &MeetingPatch { ends: Some("2020-01-01T00:00:00Z".into()), ..Default::default() },
        );
        assert!(e.unwrap_err().to_string().contains("before the start"));
        let e = update(
            &mut doc,
            &ctx("ana", "cica"),
            &MeetingPatch { remove_agenda: vec!["nope".into()], ..Default::default() },
        );
        assert!(matches!(e, Err(WorkspaceError::NoSuchEntry { .. })));
        assert_eq!(doc.get_heads(), heads, "a refused update must leave no change");
    }

    #[test]
    fn concurrent_minutes_edits_merge() {
        let mut a = Automerge::new();
        create(&mut a, &ctx("ana", "cica"), &new_meeting()).unwrap();
        update(
            &mut a,
            &ctx("ana", "cica"),
            &MeetingPatch { minutes: Some("one two three".into()), ..Default::default() },
        )
        .unwrap();
        let mut b = a.fork();
        update(
            &mut a,
            &ctx("ana", "cica"),
            &MeetingPatch { minutes: Some("ONE two three".into()), ..Default::default() },
        )
        .unwrap();
        update(
            &mut b,
            &ctx("ivan", "sco-rats"),
            &MeetingPatch { minutes: Some("one two THREE".into()), ..Default::default() },
        )
        .unwrap();
        sync_pair(&mut a, &mut b);
        assert_eq!(read(&a, "").unwrap().minutes, "ONE two THREE");
        assert_eq!(read(&a, "").unwrap(), read(&b, "").unwrap());
    }
}
