//! `liaison meeting ...`: joint working meetings and consultations.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use reqwest::Method;

use super::{output, read_text_file};
use crate::api::Created;
use crate::client::Client;
use crate::workspace::meeting::{Meeting, MeetingKind, MeetingPatch, MeetingStatus, NewMeeting, NewParticipant};

/// Meeting commands.
#[derive(Subcommand, Debug)]
pub enum MeetingCmd {
    /// Propose a meeting; prints its id.
    Create {
        /// Title (or give it with --title-en / --title-ru).
        #[arg(long, required_unless_present_any = ["title_en", "title_ru"])]
        title: Option<String>,
        #[command(flatten)]
        titles: super::titles::TitleArgs,
        /// Start: RFC 3339 (2026-12-01T09:00:00Z), or with --tz a local time there
        /// (2026-12-01T09:00).
        #[arg(long, value_name = "TIME")]
        starts: String,
        /// End, as --starts.
        #[arg(long, value_name = "TIME")]
        ends: Option<String>,
        /// The IANA time zone the meeting is held in (Asia/Almaty, Asia/Tashkent): its times are
        /// shown there, and the calendar export carries it.
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// Working meeting or consultation.
        #[arg(long, value_enum, default_value_t = MeetingKind::WorkingMeeting)]
        kind: MeetingKind,
        /// Where.
        #[arg(long)]
        venue: Option<String>,
        /// The event it is held on the sidelines of.
        #[arg(long, value_name = "EVENT")]
        sidelines_of: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List meetings by start time.
    List {
        /// Only meetings not ended before this time (RFC 3339, or "now").
        #[arg(long, value_name = "TIME")]
        from: Option<String>,
        /// Only meetings starting before this time (RFC 3339, or "now").
        #[arg(long, value_name = "TIME")]
        to: Option<String>,
        /// Only meetings with these statuses.
        #[arg(long, value_enum, value_delimiter = ',')]
        status: Vec<MeetingStatus>,
        /// At most this many (the first, by start).
        #[arg(long)]
        limit: Option<usize>,
        /// Skip this many first (with --limit, the pages of a long list).
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// The latest first (for the meetings held so far: --to now --latest-first).
        #[arg(long)]
        latest_first: bool,
        /// Print as JSON (the meetings of the page only).
        #[arg(long)]
        json: bool,
    },
    /// Show one meeting.
    Show {
        /// Its id (or a unique prefix).
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write meetings as an RFC 5545 calendar (ICS), for a calendar program: one meeting, or
    /// every meeting with --all. Each officer's live feed is `liaison account calendar-url`.
    Export {
        /// Its id (or a unique prefix).
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every meeting.
        #[arg(long)]
        all: bool,
        /// The format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Ics)]
        format: ExportFormat,
        /// Write here instead of to standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Who changed what and when (Party and node proven, officer as each change says).
    History {
        /// Its id (or a unique prefix).
        id: String,
        /// Show the newest this many entries.
        #[arg(long, default_value_t = 200)]
        limit: usize,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a meeting: fields, status, agenda, participants, minutes.
    Update {
        /// Its id (or a unique prefix).
        id: String,
        /// New title.
        #[arg(long)]
        title: Option<String>,
        #[command(flatten)]
        titles: super::titles::TitleArgs,
        /// New start (RFC 3339, or a local time in the meeting's time zone).
        #[arg(long, value_name = "TIME")]
        starts: Option<String>,
        /// New end ("" clears it).
        #[arg(long, value_name = "TIME")]
        ends: Option<String>,
        /// New IANA time zone ("" clears it); the start and end stay the same instants.
        #[arg(long, value_name = "ZONE")]
        tz: Option<String>,
        /// New kind.
        #[arg(long, value_enum)]
        kind: Option<MeetingKind>,
        /// New venue ("" clears it).
        #[arg(long)]
        venue: Option<String>,
        /// New sidelines event ("" clears it).
        #[arg(long, value_name = "EVENT")]
        sidelines_of: Option<String>,
        /// New status.
        #[arg(long, value_enum)]
        status: Option<MeetingStatus>,
        /// Append an agenda item (repeatable).
        #[arg(long, value_name = "TEXT")]
        add_agenda: Vec<String>,
        /// Remove an agenda item by id (repeatable).
        #[arg(long, value_name = "ID")]
        remove_agenda: Vec<String>,
        /// Add a participant as NAME:PARTY or NAME:PARTY:ROLE (repeatable).
        #[arg(long, value_name = "NAME:PARTY[:ROLE]", value_parser = parse_person)]
        add_participant: Vec<NewParticipant>,
        /// Remove a participant by id (repeatable).
        #[arg(long, value_name = "ID")]
        remove_participant: Vec<String>,
        /// Replace the minutes with this file's text (merged as minimal edits; - is stdin).
        #[arg(long, value_name = "FILE")]
        minutes_file: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Attach provided items to a meeting (or take them off with --detach). Only the item's id
    /// goes into the meeting; who may read the item is still the vault's rule, so officers who
    /// may not see "restricted item". Needs the liaison role.
    Attach {
        /// The meeting's id (or a unique prefix).
        id: String,
        /// An item held here: its id or a unique prefix (repeatable).
        #[arg(long, value_name = "ITEM", required = true)]
        item: Vec<String>,
        /// Take these items off the meeting instead.
        #[arg(long)]
        detach: bool,
        /// Print the meeting as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// What `meeting export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// iCalendar (RFC 5545), for Outlook, Google Calendar, Apple Calendar, Thunderbird.
    Ics,
}

/// Parses NAME:PARTY[:ROLE].
pub fn parse_person(s: &str) -> Result<NewParticipant, String> {
    let mut it = s.splitn(3, ':');
    let name = it.next().unwrap_or("").trim().to_string();
    let party =
        it.next().ok_or_else(|| format!("{s:?}: want NAME:PARTY or NAME:PARTY:ROLE, e.g. \"Ivan Petrov:sco-rats\""))?;
    let party = party.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
    let role = it.next().map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    if name.is_empty() {
        return Err(format!("{s:?}: the name is empty"));
    }
    Ok(NewParticipant { name, party, role })
}

pub async fn run(dir: &Path, cmd: &MeetingCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        MeetingCmd::Create { title, titles, starts, ends, tz, kind, venue, sidelines_of, json } => {
            let new = NewMeeting {
                title: title.clone().unwrap_or_default(),
                titles: titles.titles(),
                tz: tz.clone(),
                starts: starts.clone(),
                ends: ends.clone(),
                kind: *kind,
                venue: venue.clone(),
                sidelines_of: sidelines_of.clone(),
            };
            let r: Created = c.send(Method::POST, "/api/meetings", &new).await?;
            output::created(&r, *json)
        }
        MeetingCmd::List { from, to, status, limit, offset, latest_first, json } => {
            let q = ListQuery {
                from: from.as_deref(),
                to: to.as_deref(),
                status,
                limit: *limit,
                offset: *offset,
                latest_first: *latest_first,
            };
            let (v, total): (Vec<Meeting>, _) = c.get_page(&list_path(&q)).await?;
            output::list(&v, *json, &["ID", "STARTS", "STATUS", "KIND", "TITLE"], |m| {
                vec![
                    output::short(&m.id),
                    when(&m.starts, m.tz.as_deref()),
                    status_str(m.status).into(),
                    kind_str(m.kind).into(),
                    super::titles::line(&m.title, &m.titles),
                ]
            })?;
            let note = total.and_then(|t| output::page_note("meetings", *offset, v.len(), t));
            if let (Some(note), false) = (note, *json) {
                println!("{note}");
            }
            Ok(())
        }
        MeetingCmd::Show { id, json } => {
            let m: Meeting = c.get(&format!("/api/meetings/{id}")).await?;
            if *json {
                output::json(&m)
            } else {
                print_meeting(&m);
                Ok(())
            }
        }
        MeetingCmd::Attach { id, item, detach, json } => attach(&c, id, item, *detach, *json).await,
        MeetingCmd::Export { id, all: _, format: ExportFormat::Ics, output } => {
            let path = match id {
                Some(id) => format!("/api/meetings/{}/ics", crate::client::encode(id)),
                None => "/api/meetings/ics".into(),
            };
            let text = c.get_text(&path).await?;
            match output {
                Some(f) => std::fs::write(f, text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        MeetingCmd::History { id, limit, json } => {
            let v: Vec<crate::engine::HistoryEntry> =
                c.get(&format!("/api/meetings/{}/history?limit={limit}", crate::client::encode(id))).await?;
            output::history(&v, *json)
        }
        MeetingCmd::Update {
            id,
            title,
            titles,
            starts,
            ends,
            tz,
            kind,
            venue,
            sidelines_of,
            status,
            add_agenda,
            remove_agenda,
            add_participant,
            remove_participant,
            minutes_file,
            json,
        } => {
            let minutes = minutes_file.as_deref().map(read_text_file).transpose()?;
            let patch = MeetingPatch {
                title: title.clone(),
                titles: titles.titles(),
                tz: tz.clone(),
                starts: starts.clone(),
                ends: ends.clone(),
                kind: *kind,
                venue: venue.clone(),
                sidelines_of: sidelines_of.clone(),
                status: *status,
                add_agenda: add_agenda.clone(),
                remove_agenda: remove_agenda.clone(),
                add_participants: add_participant.clone(),
                remove_participants: remove_participant.clone(),
                minutes,
                ..Default::default()
            };
            let m: Meeting = c.send(Method::PATCH, &format!("/api/meetings/{id}"), &patch).await?;
            if *json {
                output::json(&m)
            } else {
                print_meeting(&m);
                Ok(())
            }
        }
    }
}

/// `meeting attach ID --item ITEM [--detach]`.
async fn attach(c: &Client, id: &str, items: &[String], detach: bool, json: bool) -> anyhow::Result<()> {
    let patch = if detach {
        // Detaching names the full id the meeting holds: find it from a prefix.
        let m: Meeting = c.get(&format!("/api/meetings/{id}")).await?;
        let mut full = Vec::new();
        for i in items {
            let found: Vec<&str> = m
                .attachments
                .iter()
                .map(|a| a.item.as_str())
                .filter(|a| a.starts_with(&i.to_ascii_lowercase()))
                .collect();
            match found.as_slice() {
                [one] => full.push(one.to_string()),
                [] => anyhow::bail!("no item {i:?} is attached to this meeting"),
                _ => anyhow::bail!("{i:?} matches {} attached items; give more of the id", found.len()),
            }
        }
        MeetingPatch { detach: full, ..Default::default() }
    } else {
        MeetingPatch { attach: items.to_vec(), ..Default::default() }
    };
    let m: Meeting = c.send(Method::PATCH, &format!("/api/meetings/{id}"), &patch).await?;
    if json {
        output::json(&m)
    } else {
        print_meeting(&m);
        Ok(())
    }
}

fn status_str(s: MeetingStatus) -> &'static str {
    match s {
        MeetingStatus::Proposed => "proposed",
        MeetingStatus::Confirmed => "confirmed",
        MeetingStatus::Held => "held",
        MeetingStatus::Cancelled => "cancelled",
    }
}

fn kind_str(k: MeetingKind) -> &'static str {
    match k {
        MeetingKind::WorkingMeeting => "working meeting",
        MeetingKind::Consultation => "consultation",
    }
}

fn print_meeting(m: &Meeting) {
    println!("{}", super::titles::line(&m.title, &m.titles));
    println!("  id            {}", m.id);
    println!("  kind          {}", kind_str(m.kind));
    println!("  status        {}", status_str(m.status));
    println!("  starts        {}", when(&m.starts, m.tz.as_deref()));
    println!("  ends          {}", m.ends.as_deref().map(|e| when(e, m.tz.as_deref())).unwrap_or_else(|| "-".into()));
    println!("  venue         {}", output::opt(&m.venue));
    if let Some(s) = &m.sidelines_of {
        println!("  sidelines of  {s}");
    }
    if let Some(a) = &m.created_by {
        println!("  proposed by   {} ({}) {}", a.officer, a.party, output::opt(&m.created_at));
    }
    println!("  agenda");
    for (i, a) in m.agenda.iter().enumerate() {
        println!("    {}. {}  [{}]", i + 1, a.text, a.id);
    }
    println!("  participants");
    for p in &m.participants {
        println!(
            "    {} ({}){}  [{}]",
            p.name,
            p.party,
            p.role.as_ref().map(|r| format!(", {r}")).unwrap_or_default(),
            p.id
        );
    }
    if !m.attachments.is_empty() {
        println!("  attachments");
        for a in &m.attachments {
            println!("    {}", attachment_line(a));
        }
    }
    if !m.minutes.is_empty() {
        println!("  minutes");
        for l in m.minutes.lines() {
            println!("    {l}");
        }
    }
}

/// One attachment as the CLI prints it: the title only if this officer may read the item.
pub fn attachment_line(a: &crate::workspace::attachments::Attachment) -> String {
    let what = match (&a.title, a.held) {
        (Some(t), _) => t.clone(),
        (None, true) => "(restricted item)".into(),
        (None, false) => "(item not held here)".into(),
    };
    let marking = a.marking.as_ref().map(|m| format!(" [{m}]")).unwrap_or_default();
    format!("{}  {what}{marking}", output::short(&a.item))
}

/// A meeting's time as an officer reads it: in the meeting's zone with the zone's name, and the
/// time here beside it when this machine's offset differs ("2026-12-01 09:00 Asia/Almaty (here
/// 05:00 +01:00)"). Without a zone, as written.
fn when(t: &str, tz: Option<&str>) -> String {
    use chrono::{Local, Offset};
    let (Ok(at), Some(Ok(zone))) = (crate::workspace::parse_time("t", t), tz.map(crate::workspace::meeting::parse_tz))
    else {
        return t.to_string();
    };
    let there = at.with_timezone(&zone);
    let here = at.with_timezone(&Local);
    let mut s = format!("{} {}", there.format("%Y-%m-%d %H:%M"), zone.name());
    if there.offset().fix() != *here.offset() {
        let day = if here.date_naive() == there.date_naive() { "%H:%M" } else { "%Y-%m-%d %H:%M" };
        s.push_str(&format!(" (here {} {})", here.format(day), here.format("%:z")));
    }
    s
}

/// What `meeting list` asks for.
struct ListQuery<'a> {
    from: Option<&'a str>,
    to: Option<&'a str>,
    status: &'a [MeetingStatus],
    limit: Option<usize>,
    offset: usize,
    latest_first: bool,
}

/// `GET /api/meetings` with the list's filters.
fn list_path(l: &ListQuery) -> String {
    let time = |t: &str| {
        if t == "now" { chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true) } else { t.to_string() }
    };
    // Times and statuses: only `+` (a space in a query) and what is not plain ASCII need escaping.
    let enc = |v: &str| -> String {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b',' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let mut q = Vec::new();
    if let Some(t) = l.from {
        q.push(format!("from={}", enc(&time(t))));
    }
    if let Some(t) = l.to {
        q.push(format!("to={}", enc(&time(t))));
    }
    if !l.status.is_empty() {
        q.push(format!("status={}", l.status.iter().map(|s| status_str(*s)).collect::<Vec<_>>().join(",")));
    }
    if l.latest_first {
        q.push("order=desc".into());
    }
    if l.offset > 0 {
        q.push(format!("offset={}", l.offset));
    }
    if let Some(n) = l.limit {
        q.push(format!("limit={n}"));
    }
    if q.is_empty() { "/api/meetings".into() } else { format!("/api/meetings?{}", q.join("&")) }
}
