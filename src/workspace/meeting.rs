//! Joint working meetings and consultations (Protocol, item iv), including those held on the
//! sidelines of other organisations' events.
//!
//! Layout of a meeting document's root:
//! `kind`, `schema`, `title`, `title_en`?, `title_ru`? (see [`super::titles`]), `meeting_kind`,
//! `starts`, `ends`?, `tz`?, `venue`?, `sidelines_of`?, `status`, `agenda: [{id, text}]`,
//! `participants: [{id, name, party, role?}]`, `minutes` (text object), `created_by`,
//! `created_at`, `updated_by`, `updated_at`.
//!
//! `starts` and `ends` are instants (RFC 3339); `tz` is the IANA time zone the meeting is held
//! in (`Asia/Almaty`), which says how to show them. Documents written before `tz` have none:
//! their times are shown as they were written.

use automerge::{Automerge, ROOT};
use serde::{Deserialize, Serialize};

use super::attachments::{self, Attachment};
use super::titles::Titles;
use super::util::{get_author, get_str, list_maps, req_str};
use super::{Author, ChangeCtx, DocKind, Result, WorkspaceError, change, check_line, init_root, parse_time, touch};
use crate::ids::{PartyId, random_hex};

/// Whether a meeting is a working meeting or a consultation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MeetingKind {
    /// A joint working meeting.
    #[default]
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
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct NewMeeting {
    /// Title as first written (may be empty when `titles` gives one).
    #[serde(default)]
    pub title: String,
    /// The title in English and in Russian.
    #[serde(flatten)]
    pub titles: Titles,
    /// Start, RFC 3339; with `tz`, a local time without offset (2026-12-01T09:00) is read in it.
    pub starts: String,
    /// IANA time zone the meeting is held in (Asia/Almaty).
    #[serde(default)]
    pub tz: Option<String>,
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
    /// New titles per language; an empty string clears one.
    #[serde(flatten)]
    pub titles: Titles,
    /// New start.
    #[serde(default)]
    pub starts: Option<String>,
    /// New time zone; an empty string clears it.
    #[serde(default)]
    pub tz: Option<String>,
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
    /// Title as first written (older nodes know only this one).
    pub title: String,
    /// The title in English and in Russian, where given.
    #[serde(flatten)]
    pub titles: Titles,
    /// Working meeting or consultation.
    pub kind: MeetingKind,
    /// Start.
    pub starts: String,
    /// End.
    pub ends: Option<String>,
    /// IANA time zone it is held in; none in meetings written before time zones.
    #[serde(default)]
    pub tz: Option<String>,
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

impl Meeting {
    /// When it starts and ends, as instants (ms since 1970; its start if it has no end). Times
    /// carry their meeting's UTC offset, so their text does not sort by time. `None` for a time
    /// that does not read (a document from before times were checked).
    pub fn instants(&self) -> (Option<i64>, Option<i64>) {
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok().map(|t| t.timestamp_millis());
        let start = at(&self.starts);
        (start, self.ends.as_deref().map_or(start, at))
    }
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
    let title = new.titles.own_title("title", &new.title)?;
    let tz = new.tz.as_deref().filter(|t| !t.is_empty()).map(parse_tz).transpose()?;
    let starts = local_time("starts", &new.starts, tz)?;
    let ends = new.ends.as_deref().filter(|e| !e.is_empty()).map(|e| local_time("ends", e, tz)).transpose()?;
    if let Some(e) = &ends {
        check_order(&starts, e)?;
    }
    change(doc, ctx, |tx| {
        init_root(tx, DocKind::Meeting, ctx)?;
        tx.put_str(&ROOT, "title", &title)?;
        new.titles.write_new(tx, &ROOT)?;
        tx.put_str(&ROOT, "meeting_kind", new.kind.as_str())?;
        tx.put_str(&ROOT, "starts", &starts)?;
        tx.put_opt_str(&ROOT, "ends", ends.as_deref())?;
        if let Some(tz) = tz {
            tx.put_str(&ROOT, "tz", tz.name())?;
        }
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

/// Parses an IANA time zone name.
pub fn parse_tz(name: &str) -> Result<chrono_tz::Tz> {
    name.parse().map_err(|_| WorkspaceError::Invalid {
        field: "tz",
        reason: format!("{name:?} is not an IANA time zone (like Asia/Almaty or Asia/Tashkent)"),
    })
}

/// A time as stored: an RFC 3339 time as given, or, with a time zone, a local time without
/// offset (2026-12-01T09:00) read in that zone, as an officer reads a meeting's invitation.
fn local_time(field: &'static str, s: &str, tz: Option<chrono_tz::Tz>) -> Result<String> {
    use chrono::{NaiveDateTime, SecondsFormat, TimeZone};
    if parse_time(field, s).is_ok() {
        return Ok(s.to_string());
    }
    let local = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok());
    match (tz, local) {
        // At a clock change, an hour that occurs twice is taken the first time; one that does
        // not occur is refused.
        (Some(tz), Some(local)) => match tz.from_local_datetime(&local).earliest() {
            Some(t) => Ok(t.to_rfc3339_opts(SecondsFormat::Secs, false)),
            None => Err(WorkspaceError::Invalid { field, reason: format!("{s} does not occur in {}", tz.name()) }),
        },
        _ => parse_time(field, s).map(|_| s.to_string()),
    }
}

/// Applies `patch` to a meeting in one change.
pub fn update(doc: &mut Automerge, ctx: &ChangeCtx, patch: &MeetingPatch) -> Result<()> {
    if let Some(t) = &patch.title {
        check_line("title", t)?;
    }
    patch.titles.check()?;
    let current = read(doc, "")?;
    let tz = match patch.tz.as_deref() {
        Some("") => None,
        Some(t) => Some(parse_tz(t)?),
        None => current.tz.as_deref().and_then(|t| parse_tz(t).ok()),
    };
    let new_starts = patch.starts.as_deref().map(|s| local_time("starts", s, tz)).transpose()?;
    let new_ends = patch
        .ends
        .as_deref()
        .map(|e| if e.is_empty() { Ok(String::new()) } else { local_time("ends", e, tz) })
        .transpose()?;
    let starts = new_starts.clone().unwrap_or(current.starts);
    parse_time("starts", &starts)?;
    if let Some(e) = new_ends.clone().or(current.ends) {
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
        patch.titles.apply(tx, &ROOT, "title", patch.title.is_some())?;
        if let Some(s) = &new_starts {
            tx.put_str(&ROOT, "starts", s)?;
        }
        if let Some(e) = &new_ends {
            tx.put_opt_str(&ROOT, "ends", Some(e))?;
        }
        if patch.tz.is_some() {
            tx.put_opt_str(&ROOT, "tz", tz.map(|t| t.name()))?;
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

/// How many changes a meeting has had since it was proposed (0 for none): its invitation's
/// `SEQUENCE`, which every change raises, whichever node made it (old nodes included).
pub fn sequence(doc: &Automerge) -> u32 {
    u32::try_from(doc.get_changes_meta(&[]).len().saturating_sub(1)).unwrap_or(u32::MAX)
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
        titles: Titles::read(doc, &ROOT)?,
        kind: MeetingKind::parse(&req_str(doc, &ROOT, "meeting_kind")?)?,
        starts: req_str(doc, &ROOT, "starts")?,
        ends: get_str(doc, &ROOT, "ends")?,
        tz: get_str(doc, &ROOT, "tz")?,
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
            ..Default::default()
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
    fn a_local_time_is_read_in_the_zone_and_the_title_first_written_follows_its_language() {
        let mut doc = Automerge::new();
        let new = NewMeeting {
            titles: Titles { title_en: None, title_ru: Some("Встреча".into()) },
            starts: "2026-12-01T09:00".into(),
            tz: Some("Asia/Tashkent".into()),
            ..Default::default()
        };
        create(&mut doc, &ctx("ana", "cica"), &new).unwrap();
        let m = read(&doc, "").unwrap();
        assert_eq!(
            (m.title.as_str(), m.starts.as_str(), m.tz.as_deref()),
            ("Встреча", "2026-12-01T09:00:00+05:00", Some("Asia/Tashkent"))
        );
        let e =
            update(&mut doc, &ctx("ana", "cica"), &MeetingPatch { tz: Some("Mars/Base".into()), ..Default::default() });
        assert!(e.unwrap_err().to_string().starts_with("tz: \"Mars/Base\" is not an IANA time zone"));
        let titles =
            Titles { title_en: Some("Meeting".into()), title_ru: Some("Встреча экспертов".into()) };
        update(&mut doc, &ctx("ivan", "sco-rats"), &MeetingPatch { titles, ..Default::default() }).unwrap();
        let m = read(&doc, "").unwrap();
        assert_eq!(m.title, "Встреча экспертов", "the title first written was the Russian one: it follows");
        assert_eq!(m.titles.title_en.as_deref(), Some("Meeting"));
        // A new zone keeps the instant; a local time given with it is read there.
        update(&mut doc, &ctx("ana", "cica"), &MeetingPatch { tz: Some("Asia/Almaty".into()), ..Default::default() })
            .unwrap();
        assert_eq!(read(&doc, "").unwrap().starts, "2026-12-01T09:00:00+05:00");
        let p = MeetingPatch { starts: Some("2026-12-01T10:00".into()), ..Default::default() };
        update(&mut doc, &ctx("ana", "cica"), &p).unwrap();
        assert_eq!(read(&doc, "").unwrap().starts, "2026-12-01T10:00:00+05:00");
        let seq = sequence(&doc);
        assert!(seq >= 3, "{seq}");
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
