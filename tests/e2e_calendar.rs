//! End-to-end tests of calendars and two-language titles through the real binary: a meeting
//! with its time zone and participants exported as ICS on either Party's node and read back with
//! an iCalendar parser, an officer's calendar feed that answers its current secret only, titles
//! in English and Russian that cross between the nodes, and documents with one title and no time
//! zone (what older nodes write) that still read.

mod common;

use common::{Node, eventually, pair};
use icalendar::{Calendar, Component, EventLike};
use serde_json::Value;

/// Exports meeting `id` from `node` and parses it.
fn export(node: &Node, id: &str) -> (String, Calendar) {
    let file = node.scratch().join(format!("{id}.ics"));
    node.ok(&["meeting", "export", id, "--format", "ics", "--output", file.to_str().unwrap()]);
    let text = std::fs::read_to_string(&file).unwrap();
    let cal: Calendar = text.parse().unwrap_or_else(|e| panic!("the export does not parse: {e}\n{text}"));
    (text, cal)
}

fn prop<'a>(ev: &'a icalendar::Event, key: &str) -> &'a icalendar::Property {
    ev.properties().get(key).unwrap_or_else(|| panic!("no {key}"))
}

#[test]
fn a_meeting_in_its_time_zone_exports_as_ics_on_both_nodes_and_titles_cross_in_two_languages() {
    let (a, b) = pair();
    // B's registry gives Ivan an e-mail address; Ana has none anywhere.
    b.ok(&["officer", "assign", "--name", "Ivan Petrov", "--contact", "+998 71 000; ivan.petrov@rats.example.org"]);
    let id = a.id_of(&[
        "meeting",
        "create",
        "--title-en",
        "Consultations on counter-terrorism",
        "--title-ru",
        "Консультации по борьбе с терроризмом",
        "--starts",
        "2026-12-01T09:00",
        "--ends",
        "2026-12-01T12:30",
        "--tz",
        "Asia/Almaty",
        "--venue",
        "Astana, Palace of Peace",
        "--kind",
        "consultation",
    ]);
    a.ok(&[
        "meeting",
        "update",
        &id,
        "--add-agenda",
        "Opening",
        "--add-participant",
        "Ana Lima:cica:chair",
        "--add-participant",
        "Ivan Petrov:sco-rats",
    ]);
    // The local time was read in the meeting's zone: 09:00 in Almaty is 04:00 UTC.
    let m = a.json(&["meeting", "show", &id, "--json"]);
    assert_eq!(m["tz"], "Asia/Almaty");
    assert_eq!(m["starts"], "2026-12-01T09:00:00+05:00");
    // The CLI shows the time in the zone, named.
    let shown = a.ok(&["meeting", "show", &id]);
    assert!(shown.contains("2026-12-01 09:00 Asia/Almaty"), "{shown}");
    assert!(shown.starts_with("Consultations on counter-terrorism / Консультации по борьбе с терроризмом"), "{shown}");

    // On B, once the participants and B's registry are there, the export is the same meeting.
    let (text, cal) = eventually("B exports the meeting with both participants", &[&a, &b], || {
        if b.try_json(&["meeting", "show", &id, "--json"])?["participants"].as_array().map_or(0, Vec::len) < 2 {
            return Err("participants not yet on B".into());
        }
        let (text, cal) = export(&b, &id);
        if text.contains("mailto:ivan.petrov@rats.example.org") { Ok((text, cal)) } else { Err(text) }
    });
    let ev = cal.events().next().expect("a VEVENT");
    assert_eq!(ev.get_uid(), Some(format!("{id}@liaison").as_str()));
    assert_eq!(ev.get_summary(), Some("Consultations on counter-terrorism / Консультации по борьбе с терроризмом"));
    assert_eq!(ev.get_location(), Some("Astana, Palace of Peace"));
    let start = prop(ev, "DTSTART");
    let tzid = start.params().get("TZID").map(|p| p.value());
    assert_eq!((start.value(), tzid), ("20261201T090000", Some("Asia/Almaty")));
    let instant = liaison::calendar::instant(start.value(), tzid).unwrap();
    assert_eq!(instant.to_rfc3339(), "2026-12-01T04:00:00+00:00");
    let end = prop(ev, "DTEND");
    assert_eq!(liaison::calendar::instant(end.value(), tzid).unwrap().to_rfc3339(), "2026-12-01T07:30:00+00:00");
    assert!(text.contains("BEGIN:VTIMEZONE\r\nTZID:Asia/Almaty"), "{text}");
    let attendees: Vec<(String, String)> = ev.multi_properties()["ATTENDEE"]
        .iter()
        .map(|p| (p.params()["CN"].value().to_string(), p.value().to_string()))
        .collect();
    assert_eq!(
        attendees,
        [
            (
                "Ana Lima (cica)".to_string(),
                "urn:liaison:participant:cica:Ana%20Lima:".to_string() + attendees[0].1.rsplit(':').next().unwrap()
            ),
            ("Ivan Petrov (sco-rats)".to_string(), "mailto:ivan.petrov@rats.example.org".to_string()),
        ]
    );
    assert!(prop(ev, "DESCRIPTION").value().contains("1. Opening"));
    let seq = ev.get_sequence().expect("SEQUENCE");

    // A change on B raises the SEQUENCE, and A's export says the same as B's.
    b.ok(&["meeting", "update", &id, "--venue", "Tashkent"]);
    eventually("A exports B's change with a higher SEQUENCE", &[&a, &b], || {
        let (_, cal) = export(&a, &id);
        let ev = cal.events().next().ok_or("no event")?;
        match (ev.get_location(), ev.get_sequence()) {
            (Some("Tashkent"), Some(s)) if s > seq => Ok(()),
            other => Err(format!("{other:?}")),
        }
    });

    // Groups and threads in two languages cross too; one given in Russian only is named by it.
    let g = a.id_of(&[
        "group",
        "create",
        "--title-en",
        "Working group on financing",
        "--title-ru",
        "Рабочая группа по финансированию",
        "--mandate",
        "Proposals",
    ]);
    let f = a.text_file("m.txt", "Здравствуйте.");
    let t = a.id_of(&["message", "send", "--title-ru", "Место встречи", "--text-file", f.to_str().unwrap()]);
    let gb = eventually("the group on B", &[&a, &b], || b.try_json(&["group", "show", &g, "--json"]));
    assert_eq!(
        (gb["title_en"].as_str(), gb["title_ru"].as_str()),
        (Some("Working group on financing"), Some("Рабочая группа по финансированию"))
    );
    assert_eq!(gb["name"], "Working group on financing");
    let tb = eventually("the thread on B", &[&a, &b], || {
        let v = b.try_json(&["message", "list", "--json"])?;
        v.as_array().and_then(|l| l.iter().find(|x| x["id"] == t.as_str()).cloned()).ok_or_else(|| v.to_string())
    });
    assert_eq!(
        (tb["subject"].as_str(), tb["title_ru"].as_str(), tb.get("title_en")),
        (Some("Место встречи"), Some("Место встречи"), None)
    );
    // B renames the group in Russian; the name as first written (English) stays, the English title too.
    b.ok(&["group", "update", &g, "--title-ru", "РГ по финансированию"]);
    eventually("A has B's Russian name", &[&a, &b], || {
        let g = a.try_json(&["group", "show", &g, "--json"])?;
        if g["title_ru"] == "РГ по финансированию" && g["name"] == "Working group on financing" {
            Ok(())
        } else {
            Err(g.to_string())
        }
    });
}

#[test]
fn a_meeting_with_one_title_and_no_time_zone_still_reads_and_exports_in_utc() {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    a.start();
    // `--title` and a UTC time, no zone: the layout every node wrote before zones and titles.
    let id = a.id_of(&["meeting", "create", "--title", "Old style", "--starts", "2099-02-10T10:00:00Z"]);
    let m: Value = a.json(&["meeting", "show", &id, "--json"]);
    assert_eq!(m["title"], "Old style");
    assert!(m.get("title_en").is_none() && m.get("title_ru").is_none() && m["tz"].is_null(), "{m}");
    let (text, cal) = export(&a, &id);
    assert!(text.contains("DTSTART:20990210T100000Z"), "{text}");
    assert!(!text.contains("VTIMEZONE"));
    assert_eq!(cal.events().next().unwrap().get_summary(), Some("Old style"));
    // A local time without a zone is refused, not guessed.
    let e = a.run(&["meeting", "create", "--title", "x", "--starts", "2099-02-10T10:00"]);
    assert!(!e.status.success());
    assert!(String::from_utf8_lossy(&e.stderr).contains("RFC 3339"));
    let e = a.run(&["meeting", "create", "--title", "x", "--starts", "2099-02-10T10:00", "--tz", "Asia/Nowhere"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("is not an IANA time zone"), "{e:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_calendar_feed_answers_its_current_secret_only() {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    a.start();
    let id =
        a.id_of(&["meeting", "create", "--title", "Feed me", "--starts", "2099-03-01T08:00", "--tz", "Asia/Tashkent"]);
    a.ok(&["account", "add", "--name", "omar", "--role", "viewer"]);
    let made = a.json(&["account", "calendar-url", "omar", "--json"]);
    let url = made["url"].as_str().expect("url").to_string();
    let pem = std::fs::read(a.dir.join("tls/api-cert.pem")).unwrap();
    let http = liaison::client::http_client(&pem).unwrap();
    let get = |u: String| {
        let http = http.clone();
        async move {
            let r = http.get(&u).send().await.unwrap();
            let (status, ct) =
                (r.status().as_u16(), r.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()));
            (status, ct, r.text().await.unwrap())
        }
    };
    let (status, ct, body) = get(url.clone()).await;
    assert_eq!((status, ct.as_deref()), (200, Some("text/calendar; charset=utf-8")), "{body}");
    let cal: Calendar = body.parse().unwrap();
    let ev = cal.events().next().unwrap();
    assert_eq!(ev.get_uid(), Some(format!("{id}@liaison").as_str()));
    assert_eq!(prop(ev, "DTSTART").params()["TZID"].value(), "Asia/Tashkent");
    // Asked again with nothing changed, the same calendar, byte for byte (the node keeps the
    // last one); a change to the meeting, or to the registry that gives its addresses, is in
    // the next answer, never an older calendar.
    assert_eq!(get(url.clone()).await.2, body);
    a.ok(&["meeting", "update", &id, "--title", "Feed me again", "--add-participant", "Ana Lima:cica"]);
    // Long lines are folded (RFC 5545 3.1): unfolded, to look for an address.
    let unfold = |s: String| s.replace("\r\n ", "");
    let changed = unfold(get(url.clone()).await.2);
    let cal: Calendar = changed.parse().unwrap();
    let ev2 = cal.events().next().unwrap();
    assert_eq!(ev2.get_summary(), Some("Feed me again"), "{changed}");
    assert!(ev2.get_sequence() > ev.get_sequence(), "{changed}");
    assert!(changed.contains("urn:liaison:participant:cica:Ana%20Lima"), "{changed}");
    a.ok(&["officer", "assign", "--name", "Ana Lima", "--party", "cica", "--contact", "ana.lima@cica.example"]);
    let registered = unfold(get(url.clone()).await.2);
    assert!(registered.contains("mailto:ana.lima@cica.example"), "{registered}");
    assert!(!registered.contains("urn:liaison:participant:cica:Ana%20Lima"), "{registered}");

    // A wrong secret, a malformed one and no secret: a bare 404, as for a revoked one.
    let secret = url.rsplit('/').next().unwrap().trim_end_matches(".ics").to_string();
    let flipped: String =
        secret.chars().enumerate().map(|(i, c)| if i == 0 { if c == 'a' { 'b' } else { 'a' } } else { c }).collect();
    let base = url.split("/api/").next().unwrap().to_string();
    for wrong in [
        format!("{base}/api/calendar/{flipped}.ics"),
        format!("{base}/api/calendar/{secret}"),
        format!("{base}/api/calendar/x.ics"),
    ] {
        let (status, _, body) = get(wrong.clone()).await;
        assert_eq!((status, body.as_str()), (404, ""), "{wrong}");
    }
    // A new URL stops the old one; revoking stops the new one; a disabled account has none.
    let second = a.json(&["account", "calendar-url", "omar", "--json"])["url"].as_str().unwrap().to_string();
    assert_eq!(get(url.clone()).await.0, 404);
    assert_eq!(get(second.clone()).await.0, 200);
    a.ok(&["account", "calendar-url", "omar", "--revoke"]);
    assert_eq!(get(second.clone()).await.0, 404);
    let third = a.json(&["account", "calendar-url", "omar", "--json"])["url"].as_str().unwrap().to_string();
    a.ok(&["account", "disable", "omar"]);
    assert_eq!(get(third.clone()).await.0, 404);
    a.ok(&["account", "enable", "omar"]);
    assert_eq!(get(third.clone()).await.0, 200);
    // Neither the access log nor the accounts database holds a secret.
    let third_secret = third.rsplit('/').next().unwrap().trim_end_matches(".ics");
    assert!(!a.log_text().contains(third_secret) && !a.log_text().contains(&secret));
    assert!(a.log_text().contains("/api/calendar/…"));
    let db = std::fs::read(a.dir.join("accounts.redb")).unwrap();
    assert!(!db.windows(64).any(|w| w == third_secret.as_bytes()));
}
