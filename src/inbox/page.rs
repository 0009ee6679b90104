//! One page of an inbox. An officer who has never opened the app has every meeting ever held
//! unread (10,000 in the years workload): the header's count and the page need the counts and the
//! first few entries, not all of them.

/// Entries in a page when the request does not say.
pub const DEFAULT_LIMIT: usize = 100;
/// The most entries one page of the API holds; a larger `limit` is taken as this.
pub const MAX_LIMIT: usize = 1_000;

/// Which part of the inbox to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Entries to skip.
    pub offset: usize,
    /// Entries at most.
    pub limit: usize,
    /// Also every entry about this document (a thread, meeting or draft id) or item (a consent
    /// request about it): what the web app marks read while that page is on screen.
    pub about: Option<String>,
}

impl Default for Page {
    fn default() -> Self {
        Page { offset: 0, limit: DEFAULT_LIMIT, about: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Role;
    use crate::engine::ConsentView;
    use crate::inbox::{Facts, Inbox, Marks, Reader, build, build_page};
    use crate::workspace::meeting::Meeting;

    fn meeting(i: usize) -> Meeting {
        let mut m: Meeting = serde_json::from_value(serde_json::json!({
            "id": format!("d{i:04}"), "title": format!("Meeting {i}"), "kind": "consultation",
            "starts": "2099-01-01T09:00:00Z", "ends": null, "venue": null, "sidelines_of": null,
            "status": "proposed", "agenda": [], "participants": [], "minutes": "",
            "created_by": {"officer": "ivan", "party": "sco-rats"}, "created_at": null,
            "updated_by": null, "updated_at": null
        }))
        .unwrap();
        // The newest first: d0000 is the newest.
        let at = chrono::DateTime::UNIX_EPOCH + chrono::TimeDelta::days(20_600) - chrono::TimeDelta::seconds(i as i64);
        m.created_at = Some(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        m
    }

    fn consent() -> ConsentView {
        serde_json::from_value(serde_json::json!({
            "request": "req1", "item": "item9", "provider": "cica", "requester": "sco-rats",
            "third_party": "unoct", "purpose": "briefing", "requested_at": "2025-01-01T00:00:00Z",
            "state": "pending", "grant": null, "expires": null, "transmitted": false,
            "key_destroyed": false, "ours_to_answer": true,
        }))
        .unwrap()
    }

    fn reader() -> Reader {
        Reader { key: "anna".into(), officer: Some("anna".into()), party: "cica".parse().unwrap(), role: Role::Liaison }
    }

    /// `n` unread meetings and one consent request (the oldest).
    fn inbox(n: usize, page: &Page) -> Inbox {
        let ms: Vec<Meeting> = (0..n).map(meeting).collect();
        let f = Facts { meetings: ms.iter().collect(), consent: vec![consent()], ..Default::default() };
        build_page(&f, &reader(), &Marks::new(), false, page)
    }

    fn docs(i: &Inbox) -> Vec<&str> {
        i.entries.iter().map(|e| e.doc.as_str()).collect()
    }

    #[test]
    fn a_page_keeps_the_counts_of_every_entry_and_is_that_part_of_the_whole() {
        let p = inbox(250, &Page::default());
        assert_eq!((p.unread, p.total, p.offset, p.entries.len()), (251, 251, 0, DEFAULT_LIMIT));
        assert_eq!((p.counts.meeting, p.counts.consent), (250, 1));
        assert_eq!(docs(&p)[..2], ["d0000", "d0001"]);
        assert!(p.about.is_none());
        let ms: Vec<Meeting> = (0..250).map(meeting).collect();
        let f = Facts { meetings: ms.iter().collect(), consent: vec![consent()], ..Default::default() };
        let whole = build(&f, &reader(), &Marks::new(), false);
        assert_eq!(whole.entries[..DEFAULT_LIMIT], p.entries[..]);
        let next = inbox(250, &Page { offset: 100, limit: 100, about: None });
        assert_eq!(whole.entries[100..200], next.entries[..]);
    }

    #[test]
    fn every_page_is_the_same_slice_of_the_whole_read_and_unread() {
        let ms: Vec<Meeting> = (0..40).map(meeting).collect();
        // Every third meeting read: with `all`, the read ones follow the unread.
        let marks: Marks = ms
            .iter()
            .step_by(3)
            .map(|m| {
                (
                    format!("meeting:{}", m.id),
                    crate::inbox::ReadMark { version: m.created_at.clone().unwrap(), at: "now".into() },
                )
            })
            .collect();
        let f = Facts { meetings: ms.iter().collect(), consent: vec![consent()], ..Default::default() };
        let whole = build(&f, &reader(), &marks, true);
        assert_eq!((whole.total, whole.unread), (41, 27));
        assert!(whole.entries.windows(2).all(|w| w[0].unread >= w[1].unread), "unread first");
        for offset in [0, 1, 5, 26, 27, 40, 41] {
            for limit in [0, 1, 2, 7, 20, 100] {
                let p = build_page(&f, &reader(), &marks, true, &Page { offset, limit, about: None });
                let end = (offset + limit).min(41);
                assert_eq!(p.entries[..], whole.entries[offset.min(41)..end], "offset {offset}, limit {limit}");
                assert_eq!((p.total, p.unread, &p.counts), (41, 27, &whole.counts));
            }
        }
    }

    #[test]
    fn offsets_past_the_end() {
        let p = inbox(250, &Page { offset: 240, limit: 50, about: None });
        assert_eq!((p.offset, p.entries.len()), (240, 11));
        assert_eq!(docs(&p).last(), Some(&"req1"));
        let p = inbox(250, &Page { offset: 9_999, limit: 50, about: None });
        assert_eq!((p.offset, p.entries.len(), p.total), (251, 0, 251));
        let p = inbox(3, &Page { offset: usize::MAX, limit: usize::MAX, about: None });
        assert!(p.entries.is_empty());
    }

    #[test]
    fn about_finds_a_document_or_an_item_beyond_the_page() {
        let p = inbox(250, &Page { offset: 0, limit: 10, about: Some("d0200".into()) });
        assert_eq!(p.about.as_ref().map(|a| a.iter().map(|e| e.doc.as_str()).collect::<Vec<_>>()), Some(vec!["d0200"]));
        // A consent request is about its item (the item's page shows it), and about its own id.
        let p = inbox(250, &Page { offset: 0, limit: 0, about: Some("item9".into()) });
        assert_eq!(p.about.map(|a| a.len()), Some(1));
        assert_eq!(inbox(2, &Page { about: Some("req1".into()), ..Page::default() }).about.map(|a| a.len()), Some(1));
        assert_eq!(inbox(2, &Page { about: Some("nothing".into()), ..Page::default() }).about, Some(vec![]));
    }
}
