//! One page of an inbox. An officer who has never opened the app has every meeting ever held
//! unread (10,000 in the years workload): the header's count and the page need the counts and the
//! first few entries, not all of them.

use super::{Entry, Inbox, Why};

/// Entries in a page when the request does not say.
pub const DEFAULT_LIMIT: usize = 100;
/// The most entries one page holds; a larger `limit` is taken as this.
pub const MAX_LIMIT: usize = 1_000;

/// Which part of the inbox to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Entries to skip.
    pub offset: usize,
    /// Entries at most (at most [`MAX_LIMIT`]).
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

impl Entry {
    /// Whether this entry is about document or item `id`.
    pub fn is_about(&self, id: &str) -> bool {
        self.doc == id || matches!(&self.why, Why::ConsentToAnswer { item, .. } if item == id)
    }
}

impl Inbox {
    /// Page `p` of this inbox; the counts and `total` still count every entry.
    pub fn page(mut self, p: &Page) -> Inbox {
        let about = p.about.as_deref().map(|id| self.entries.iter().filter(|e| e.is_about(id)).cloned().collect());
        let start = p.offset.min(self.entries.len());
        let end = start.saturating_add(p.limit.min(MAX_LIMIT)).min(self.entries.len());
        self.entries.truncate(end);
        self.entries.drain(..start);
        Inbox { offset: start, about, ..self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::{Counts, EntryKind};

    fn entry(doc: &str, why: Why) -> Entry {
        Entry {
            kind: EntryKind::Meeting,
            key: format!("meeting:{doc}"),
            doc: doc.into(),
            title: doc.into(),
            by: None,
            at: None,
            why,
            unread: true,
            version: String::new(),
        }
    }

    fn inbox(n: usize) -> Inbox {
        let mut entries: Vec<Entry> = (0..n).map(|i| entry(&format!("d{i:04}"), Why::NewMeeting)).collect();
        entries.push(entry(
            "req1",
            Why::ConsentToAnswer { item: "item9".into(), requester: "cica".into(), third_party: "un".into() },
        ));
        Inbox {
            unread: n + 1,
            counts: Counts { meeting: n, consent: 1, ..Counts::default() },
            total: n + 1,
            offset: 0,
            entries,
            about: None,
        }
    }

    fn docs(i: &Inbox) -> Vec<&str> {
        i.entries.iter().map(|e| e.doc.as_str()).collect()
    }

    #[test]
    fn a_page_keeps_the_counts_of_every_entry() {
        let p = inbox(250).page(&Page::default());
        assert_eq!((p.unread, p.total, p.offset, p.entries.len()), (251, 251, 0, DEFAULT_LIMIT));
        assert_eq!(p.counts.meeting, 250);
        assert_eq!(docs(&p)[..2], ["d0000", "d0001"]);
        assert!(p.about.is_none());
    }

    #[test]
    fn offsets_past_the_end_and_limits_past_the_cap() {
        let p = inbox(250).page(&Page { offset: 240, limit: 50, about: None });
        assert_eq!((p.offset, p.entries.len()), (240, 11));
        assert_eq!(docs(&p).last(), Some(&"req1"));
        let p = inbox(250).page(&Page { offset: 9_999, limit: 50, about: None });
        assert_eq!((p.offset, p.entries.len(), p.total), (251, 0, 251));
        let p = inbox(1_500).page(&Page { offset: 0, limit: usize::MAX, about: None });
        assert_eq!(p.entries.len(), MAX_LIMIT);
        let p = inbox(3).page(&Page { offset: usize::MAX, limit: usize::MAX, about: None });
        assert!(p.entries.is_empty());
    }

    #[test]
    fn about_finds_a_document_or_an_item_beyond_the_page() {
        let p = inbox(250).page(&Page { offset: 0, limit: 10, about: Some("d0200".into()) });
        assert_eq!(p.about.as_ref().map(|a| a.iter().map(|e| e.doc.as_str()).collect::<Vec<_>>()), Some(vec!["d0200"]));
        // A consent request is about its item (the item's page shows it), and about its own id.
        let p = inbox(250).page(&Page { offset: 0, limit: 0, about: Some("item9".into()) });
        assert_eq!(p.about.map(|a| a.len()), Some(1));
        assert_eq!(
            inbox(2).page(&Page { about: Some("req1".into()), ..Page::default() }).about.map(|a| a.len()),
            Some(1)
        );
        assert_eq!(inbox(2).page(&Page { about: Some("nothing".into()), ..Page::default() }).about, Some(vec![]));
    }
}
