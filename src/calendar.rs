//! Meetings as calendars (RFC 5545): what `meeting export --format ics`, `GET
//! /api/meetings/{id}/ics` and an officer's calendar feed answer.
//!
//! One `VEVENT` per meeting:
//!
//! | property | from |
//! | --- | --- |
//! | `UID` | the meeting's document id: the same on both Parties' nodes, so that an update replaces the entry |
//! | `SEQUENCE` | how many changes the meeting has had: every change raises it |
//! | `DTSTAMP` | when it last changed |
//! | `DTSTART`, `DTEND` | with `TZID` and a `VTIMEZONE` when the meeting has a time zone; in UTC when not |
//! | `SUMMARY` | the title, English first and Russian beside it |
//! | `LOCATION`, `DESCRIPTION` | the venue; the agenda, the sidelines event and the time zone |
//! | `STATUS` | proposed: `TENTATIVE`; confirmed or held: `CONFIRMED`; cancelled: `CANCELLED` |
//! | `ORGANIZER`, `ATTENDEE` | who proposed it and its participants; `mailto:` when the officers' registry gives an e-mail address for that name, else a `urn:liaison:` address that names them |
//!
//! The `VTIMEZONE` lists the zone's offset changes from a year before the first meeting to a
//! year after the last one, computed from the tz database (`chrono-tz`), so that a calendar
//! program without that zone still places the meeting right.

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, Tz};
use icalendar::{Calendar, Component, EventLike, EventStatus, Property};

use crate::workspace::meeting::{Meeting, MeetingStatus, parse_tz};
use crate::workspace::registry::Officer;
use crate::workspace::{Result, WorkspaceError, parse_time};

/// A meeting to put in a calendar, with its `SEQUENCE` (see [`crate::workspace::meeting::sequence`]).
#[derive(Clone, Copy, Debug)]
pub struct Invitation<'a> {
    /// The meeting.
    pub meeting: &'a Meeting,
    /// How many changes it has had.
    pub sequence: u32,
}

/// A calendar of `invitations`, named `name`. `officers` (the registry) gives e-mail addresses
/// for the names it knows. A meeting whose times do not read (written by a broken peer) is left
/// out, and logged.
pub fn calendar(name: &str, invitations: &[Invitation<'_>], officers: &[Officer]) -> String {
    // Each event is written out as soon as it is made, not pushed into the crate's `Calendar`
    // and written at the end: an event there is a few maps of owned strings, about 6 KiB, so a
    // workspace's 10,000 meetings held at once took 60 MiB of heap per request, which the
    // allocator kept afterwards (the node's peak RSS in the years bench).
    let mut events = String::new();
    let mut zones: Vec<(Tz, DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for inv in invitations {
        match event(inv, officers) {
            Ok((ev, tz)) => {
                if let Some((tz, from, to)) = tz {
                    match zones.iter_mut().find(|z| z.0 == tz) {
                        Some(z) => (z.1, z.2) = (z.1.min(from), z.2.max(to)),
                        None => zones.push((tz, from, to)),
                    }
                }
                // Writing into a `String` cannot fail.
                let _ = ev.fmt_write(&mut events);
            }
            Err(e) => tracing::warn!(meeting = %inv.meeting.id, error = %e, "meeting left out of the calendar"),
        }
    }
    let mut cal = Calendar::new();
    cal.properties.retain(|p| p.key() != "PRODID");
    cal.append_property(Property::new("PRODID", "-//liaison//meetings//EN"));
    cal.append_property(Property::new("METHOD", "PUBLISH"));
    cal.name(name);
    // VTIMEZONEs before the events: some programs read a TZID only against a zone defined
    // before it. They are written as text, because the crate would give them the DTSTAMP and
    // UID of an event, which RFC 5545 does not allow in a VTIMEZONE.
    let zones: String = zones.into_iter().map(|(tz, from, to)| vtimezone(tz, from, to)).collect();
    const END: &str = "END:VCALENDAR\r\n";
    let empty = cal.to_string();
    let head = empty.strip_suffix(END).unwrap_or(&empty);
    let mut out = String::with_capacity(head.len() + zones.len() + events.len() + END.len());
    for part in [head, &zones, &events, END] {
        out.push_str(part);
    }
    out
}

/// One meeting's `VEVENT`, and its zone with the span it must cover.
#[allow(clippy::type_complexity)]
fn event(
    inv: &Invitation,
    officers: &[Officer],
) -> Result<(icalendar::Event, Option<(Tz, DateTime<Utc>, DateTime<Utc>)>)> {
    let m = &inv.meeting;
    let starts = parse_time("starts", &m.starts)?;
    let ends = m.ends.as_deref().map(|e| parse_time("ends", e)).transpose()?;
    let tz = m.tz.as_deref().map(parse_tz).transpose()?;
    let mut ev = icalendar::Event::new();
    ev.uid(&format!("{}@liaison", m.id));
    ev.sequence(inv.sequence);
    let stamp = m.updated_at.as_deref().or(m.created_at.as_deref()).and_then(|t| parse_time("updated_at", t).ok());
    ev.timestamp(stamp.unwrap_or_else(Utc::now));
    ev.summary(&m.titles.line(&m.title));
    ev.append_property(time_property("DTSTART", starts, tz));
    if let Some(e) = ends {
        ev.append_property(time_property("DTEND", e, tz));
    }
    if let Some(v) = &m.venue {
        ev.location(v);
    }
    ev.description(&description(m));
    ev.status(match m.status {
        MeetingStatus::Proposed => EventStatus::Tentative,
        MeetingStatus::Confirmed | MeetingStatus::Held => EventStatus::Confirmed,
        MeetingStatus::Cancelled => EventStatus::Cancelled,
    });
    if let Some(a) = &m.created_by {
        let mut p = Property::new("ORGANIZER", address(officers, &a.officer, a.party.as_str(), None));
        p.add_parameter("CN", &format!("{} ({})", a.officer, a.party));
        ev.append_property(p);
    }
    for person in &m.participants {
        let mut p = Property::new("ATTENDEE", address(officers, &person.name, &person.party, Some(&person.id)));
        p.add_parameter("CN", &format!("{} ({})", person.name, person.party));
        p.add_parameter("ROLE", "REQ-PARTICIPANT");
        p.add_parameter("PARTSTAT", "NEEDS-ACTION");
        ev.append_multi_property(p);
    }
    Ok((ev.done(), tz.map(|tz| (tz, starts, ends.unwrap_or(starts)))))
}

/// `DTSTART`/`DTEND`: the local time with `TZID` in a zone, else UTC.
fn time_property(key: &str, t: DateTime<Utc>, tz: Option<Tz>) -> Property {
    match tz {
        Some(tz) => {
            let mut p = Property::new(key, t.with_timezone(&tz).format("%Y%m%dT%H%M%S").to_string());
            p.add_parameter("TZID", tz.name());
            p
        }
        None => Property::new(key, t.format("%Y%m%dT%H%M%SZ").to_string()),
    }
}

fn description(m: &Meeting) -> String {
    let mut out = Vec::new();
    if let Some(s) = &m.sidelines_of {
        out.push(format!("On the sidelines of {s}."));
    }
    if !m.agenda.is_empty() {
        out.push("Agenda:".to_string());
        out.extend(m.agenda.iter().enumerate().map(|(i, a)| format!("{}. {}", i + 1, a.text)));
    }
    if let Some(tz) = &m.tz {
        out.push(format!("Time zone: {tz}."));
    }
    out.join("\n")
}

/// A calendar address for a person: the e-mail address the officers' registry gives for that
/// name and Party, else a URN that names them (RFC 5545 takes any URI; no address is invented).
fn address(officers: &[Officer], name: &str, party: &str, id: Option<&str>) -> String {
    let email = officers
        .iter()
        .filter(|o| o.ended_at.is_none() && o.party == party && o.name.eq_ignore_ascii_case(name))
        .find_map(|o| email_in(&o.contact));
    match (email, id) {
        (Some(e), _) => format!("mailto:{e}"),
        (None, Some(id)) => format!("urn:liaison:participant:{}:{}:{id}", urn_part(party), urn_part(name)),
        (None, None) => format!("urn:liaison:officer:{}:{}", urn_part(party), urn_part(name)),
    }
}

/// The first word of a registry contact that reads as an e-mail address.
fn email_in(contact: &str) -> Option<String> {
    contact
        .split(|c: char| c.is_whitespace() || ",;<>()".contains(c))
        .map(|w| w.trim_start_matches("mailto:").trim_matches(|c: char| c == '.' || c == '"'))
        .find(|w| {
            let mut parts = w.splitn(2, '@');
            let (user, host) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            !user.is_empty() && host.contains('.') && !host.starts_with('.') && !host.contains('@')
        })
        .map(str::to_string)
}

/// Percent-encodes what a URN part may not hold.
fn urn_part(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A `VTIMEZONE` for `tz`: the observance in force a year before `from`, and every offset change
/// until a year after `to`.
fn vtimezone(tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    // From a midnight (UTC), so that the first observance starts on a round time.
    let lo = (from - Duration::days(366)).date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    let hi = to + Duration::days(366);
    let at = |t: DateTime<Utc>| {
        let o = tz.offset_from_utc_datetime(&t.naive_utc());
        (o.fix().local_minus_utc(), o.dst_offset().num_seconds() != 0)
    };
    let local = |t: DateTime<Utc>, off: i32| (t.naive_utc() + Duration::seconds(off.into())).format("%Y%m%dT%H%M%S");
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", tz.name());
    let mut observance = |kind: &str, start: String, from: i32, to: i32| {
        out.push_str(&format!(
            "BEGIN:{kind}\r\nDTSTART:{start}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\nEND:{kind}\r\n",
            offset(from),
            offset(to)
        ));
    };
    let (first, dst) = at(lo);
    observance(if dst { "DAYLIGHT" } else { "STANDARD" }, local(lo, first).to_string(), first, first);
    let (mut t, mut cur) = (lo, first);
    while t < hi {
        let next = t + Duration::days(1);
        let (off, _) = at(next);
        if off != cur {
            // Narrow the change down to the second.
            let (mut a, mut b) = (t, next);
            while b - a > Duration::seconds(1) {
                let mid = a + (b - a) / 2;
                if at(mid).0 == cur { a = mid } else { b = mid }
            }
            let (to_off, dst) = at(b);
            observance(if dst { "DAYLIGHT" } else { "STANDARD" }, local(b, cur).to_string(), cur, to_off);
            cur = to_off;
        }
        t = next;
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

/// `+0500`, `-0330`, `+054512`.
fn offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let s = secs.unsigned_abs();
    let (h, m, sec) = (s / 3600, s / 60 % 60, s % 60);
    if sec == 0 { format!("{sign}{h:02}{m:02}") } else { format!("{sign}{h:02}{m:02}{sec:02}") }
}

/// The instant a parsed `DTSTART`/`DTEND` names: with `TZID` read in that zone, with `Z` in
/// UTC. For the tests and for anyone reading back what [`calendar`] wrote.
pub fn instant(value: &str, tzid: Option<&str>) -> Result<DateTime<Utc>> {
    let bad = || WorkspaceError::Invalid { field: "DTSTART", reason: format!("{value:?} is not an iCalendar time") };
    if let Some(v) = value.strip_suffix('Z') {
        let t = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
        return Ok(Utc.from_utc_datetime(&t));
    }
    let t = NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
    let tz = parse_tz(tzid.ok_or_else(bad)?)?;
    tz.from_local_datetime(&t).earliest().map(|t| t.with_timezone(&Utc)).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::meeting::{AgendaItem, MeetingKind, Participant};
    use crate::workspace::titles::Titles;

    fn meeting(tz: Option<&str>) -> Meeting {
        Meeting {
            id: "0123abcd".into(),
            title: "Consultations".into(),
            titles: Titles {
                title_en: Some("Consultations".into()), title_ru: Some("Консультации".into())
            },
            kind: MeetingKind::Consultation,
            starts: "2026-12-01T04:00:00Z".into(),
            ends: Some("2026-12-01T07:30:00Z".into()),
            tz: tz.map(str::to_string),
            venue: Some("Astana, Palace of Peace".into()),
            sidelines_of: None,
            status: MeetingStatus::Confirmed,
            agenda: vec![AgendaItem { id: "a".into(), text: "Opening; welcome, words".into() }],
            participants: vec![Participant {
                id: "p1".into(),
                name: "Ivan Petrov".into(),
                party: "sco-rats".into(),
                role: None,
            }],
            minutes: String::new(),
            attachments: vec![],
            created_by: None,
            created_at: Some("2026-11-28T10:00:00Z".into()),
            updated_by: None,
            updated_at: None,
        }
    }

    fn officer(name: &str, contact: &str) -> Officer {
        serde_json::from_value(serde_json::json!({
            "id": "o", "name": name, "party": "sco-rats", "contact": contact, "assigned_at": "2026-01-01T00:00:00Z",
            "assigned_by": null, "mandate": null, "ended_at": null
        }))
        .unwrap()
    }

    #[test]
    fn a_meeting_in_a_zone_reads_back_at_the_same_instant_in_that_zone() {
        let m = meeting(Some("Asia/Almaty"));
        let inv = Invitation { meeting: &m, sequence: 3 };
        let text = calendar("cica", &[inv], &[officer("Ivan Petrov", "tel +7 1, ivan@rats.example.org")]);
        let cal: Calendar = text.parse().unwrap();
        let ev = cal.events().next().unwrap();
        let start = ev.properties().get("DTSTART").unwrap();
        let tzid = start.params().get("TZID").map(|p| p.value());
        assert_eq!(tzid, Some("Asia/Almaty"));
        // Almaty is UTC+5 since 2024-03-01.
        assert_eq!(start.value(), "20261201T090000");
        assert_eq!(instant(start.value(), tzid).unwrap(), parse_time("s", "2026-12-01T04:00:00Z").unwrap());
        assert_eq!(ev.get_summary(), Some("Consultations / Консультации"));
        assert_eq!(ev.get_sequence(), Some(3));
        assert_eq!(ev.get_location(), Some("Astana, Palace of Peace"));
        let att = ev.multi_properties().get("ATTENDEE").unwrap();
        assert_eq!(att[0].value(), "mailto:ivan@rats.example.org");
        assert!(text.contains("BEGIN:VTIMEZONE\r\nTZID:Asia/Almaty\r\n"), "{text}");
        assert!(text.contains("TZOFFSETTO:+0500"), "{text}");
        // The change of 1 March 2024 (+06 to +05) is not in a zone from Dec 2025 on.
        assert!(!text.contains("TZOFFSETFROM:+0600"), "{text}");
    }

    #[test]
    fn without_a_zone_times_are_in_utc_and_unknown_people_get_a_urn() {
        let m = meeting(None);
        let text = calendar("cica", &[Invitation { meeting: &m, sequence: 0 }], &[]);
        assert!(text.contains("DTSTART:20261201T040000Z"), "{text}");
        assert!(!text.contains("VTIMEZONE"));
        assert!(text.contains("urn:liaison:participant:sco-rats:Ivan%20Petrov:p1"), "{text}");
    }

    #[test]
    fn a_zone_with_summer_time_lists_both_changes() {
        let mut m = meeting(Some("Europe/Berlin"));
        m.starts = "2026-07-01T08:00:00Z".into();
        m.ends = None;
        let text = calendar("x", &[Invitation { meeting: &m, sequence: 0 }], &[]);
        assert!(text.contains("DTSTART;TZID=Europe/Berlin:20260701T100000"), "{text}");
        assert!(
            text.contains("BEGIN:DAYLIGHT\r\nDTSTART:20260329T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200"),
            "{text}"
        );
        assert!(
            text.contains("BEGIN:STANDARD\r\nDTSTART:20261025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100"),
            "{text}"
        );
    }

    #[test]
    fn emails_are_found_in_contacts() {
        assert_eq!(email_in("Tel. +7 700; a.b@mfa.kz."), Some("a.b@mfa.kz".into()));
        assert_eq!(email_in("<mailto:x@y.org>"), Some("x@y.org".into()));
        assert_eq!(email_in("room 5 @ HQ"), None);
        assert_eq!(offset(-12600), "-0330");
        assert_eq!(offset(18000), "+0500");
    }
}
