//! The inbox's rules over facts made by hand: what is unread, for whom, in which order.

use super::*;
use crate::workspace::draft::Draft;
use crate::workspace::thread::Message;
use crate::workspace::thread::Thread;

fn author(officer: &str, party: &str) -> Option<Author> {
    Some(Author { officer: officer.into(), party: party.parse().unwrap() })
}

fn reader(name: &str, role: Role) -> Reader {
    Reader { key: name.into(), officer: Some(name.into()), party: "cica".parse().unwrap(), role }
}

fn thread(id: &str, msgs: &[(&str, &str, &str)]) -> Thread {
    Thread {
        id: id.into(),
        subject: "Urgent: venue change".into(),
        titles: Default::default(),
        created_by: None,
        created_at: None,
        messages: msgs
            .iter()
            .enumerate()
            .map(|(i, (who, party, at))| Message {
                id: format!("m{i}"),
                author: author(who, party),
                at: (*at).into(),
                text: "x".into(),
                attachments: vec![],
            })
            .collect(),
    }
}

fn threads(t: &ThreadFacts) -> Facts<'_> {
    Facts { threads: vec![t], ..Default::default() }
}

fn meetings(m: &Meeting) -> Facts<'_> {
    Facts { meetings: vec![m], ..Default::default() }
}

fn drafts(d: &DraftFacts) -> Facts<'_> {
    Facts { drafts: vec![d], ..Default::default() }
}

fn consent(state: &str, ours: bool) -> ConsentView {
    ConsentView {
        request: "req1".into(),
        item: "item1".into(),
        provider: "cica".into(),
        requester: "sco-rats".into(),
        third_party: "unoct".into(),
        purpose: "briefing".into(),
        requested_at: "2026-01-01T00:00:00Z".into(),
        state: state.into(),
        grant: None,
        expires: None,
        transmitted: false,
        key_destroyed: false,
        ours_to_answer: ours,
    }
}

#[test]
fn a_message_from_the_other_party_is_unread_until_read_and_own_messages_never_are() {
    let anna = reader("anna", Role::Liaison);
    let two = [("anna", "cica", "1"), ("ivan", "sco-rats", "2")];
    let t = ThreadFacts::from(&thread("t1", &two));
    let inbox = build(&threads(&t), &anna, &Marks::new(), false);
    assert_eq!(inbox.unread, 1);
    assert_eq!(inbox.counts.message, 1);
    let e = &inbox.entries[0];
    assert_eq!((e.kind, e.doc.as_str(), &e.why), (EntryKind::Message, "t1", &Why::NewMessages { count: 1 }));
    assert_eq!(e.by, author("ivan", "sco-rats"));
    let all = build(&threads(&t), &anna, &Marks::new(), true);
    assert_eq!(
        marks_for(&all, &MarkRead { doc: Some("t1".into()), all: false }, "now"),
        Err(MarkError::TooShort("t1".into()))
    );
    let t = ThreadFacts::from(&thread("t1t1", &two));
    let all = build(&threads(&t), &anna, &Marks::new(), true);
    let marks: Marks =
        marks_for(&all, &MarkRead { doc: Some("T1T1".into()), all: false }, "now").unwrap().into_iter().collect();
    assert_eq!(build(&threads(&t), &anna, &marks, false).unread, 0);
    assert!(build(&threads(&t), &anna, &marks, false).entries.is_empty(), "read messages leave the list");
    assert_eq!(build(&threads(&t), &anna, &marks, true).entries.len(), 1, "listed with all, as read");
    // Anna answers (not read since); the other Party answers again: one new, not two.
    let four = [two[0], two[1], ("anna", "cica", "3"), ("ivan", "sco-rats", "4")];
    let t = ThreadFacts::from(&thread("t1t1", &four));
    let e = &build(&threads(&t), &anna, &marks, false).entries[0];
    assert_eq!(
        (&e.why, e.at.as_deref(), &e.by),
        (&Why::NewMessages { count: 1 }, Some("4"), &author("ivan", "sco-rats"))
    );
    // Another reader's marks are its own: every message is new to Boris, Anna's too.
    let boris = reader("boris", Role::Liaison);
    assert_eq!(build(&threads(&t), &boris, &Marks::new(), false).entries[0].why, Why::NewMessages { count: 4 });
    // Read up to Ivan's last: with `all`, the entry shows the last message, Anna's or not.
    let marks: Marks = marks_for(&build(&threads(&t), &anna, &marks, true), &MarkRead { doc: None, all: true }, "now")
        .unwrap()
        .into_iter()
        .collect();
    let e = &build(&threads(&t), &anna, &marks, true).entries[0];
    assert_eq!((&e.why, e.at.as_deref(), e.unread), (&Why::NewMessages { count: 0 }, Some("4"), false));
}

#[test]
fn a_thread_s_facts_keep_each_message_s_author_time_and_citations() {
    let mut t = thread("t1t1", &[("ivan", "sco-rats", "1"), ("anna", "cica", "2"), ("ivan", "sco-rats", "3")]);
    t.messages[1].author = None;
    let cite = |item: &str| crate::workspace::attachments::Attachment {
        item: item.into(),
        by: None,
        at: None,
        held: false,
        readable: false,
        marking: None,
        title: None,
    };
    t.messages[2].attachments = vec![cite("i1"), cite("i2")];
    let f = ThreadFacts::from(&t);
    assert_eq!(f.authors, vec![author("ivan", "sco-rats").unwrap()], "each author once");
    assert_eq!(f.messages, vec![(Some(0), "1".into()), (None, "2".into()), (Some(0), "3".into())]);
    assert_eq!(f.cites, vec![(2, "m2".into(), "i1".into()), (2, "m2".into(), "i2".into())]);
    // A message with no author is news to everyone; a mark past the end reads as the end.
    let anna = reader("anna", Role::Viewer);
    assert_eq!(build(&threads(&f), &anna, &Marks::new(), false).entries[0].why, Why::NewMessages { count: 3 });
    let past: Marks = [("thread:t1t1".to_string(), ReadMark { version: "9".into(), at: "now".into() })].into();
    let e = &build(&threads(&f), &anna, &past, true).entries[0];
    assert_eq!((e.unread, e.at.as_deref(), e.version.as_str()), (false, Some("3"), "3"));
    let empty = ThreadFacts::from(&thread("t2t2", &[]));
    let e = &build(&threads(&empty), &anna, &Marks::new(), true).entries[0];
    assert_eq!((e.unread, e.at.as_deref(), e.by.as_ref()), (false, None, None));
}

#[test]
fn consent_requests_are_tasks_of_a_liaison_officer_only_while_pending_and_ours() {
    let f = Facts { consent: vec![consent("pending", true)], ..Default::default() };
    for role in [Role::Viewer, Role::Member] {
        assert!(build(&f, &reader("v", role), &Marks::new(), true).entries.is_empty(), "{role}");
    }
    let l = reader("l", Role::Liaison);
    let inbox = build(&f, &l, &Marks::new(), false);
    assert_eq!(inbox.counts.consent, 1);
    let marks: Marks = marks_for(&inbox, &MarkRead { doc: None, all: true }, "now").unwrap().into_iter().collect();
    let read = build(&f, &l, &marks, false);
    assert_eq!((read.unread, read.entries.len()), (0, 1), "still to do, no longer new");
    for other in [consent("granted", true), consent("pending", false)] {
        let f = Facts { consent: vec![other], ..Default::default() };
        assert!(build(&f, &l, &Marks::new(), true).entries.is_empty());
    }
}

#[test]
fn a_meeting_made_or_changed_by_someone_else_is_new_until_seen() {
    let mut m: Meeting = serde_json::from_value(serde_json::json!({
        "id": "mt01", "title": "Consultation", "kind": "consultation", "starts": "2026-05-01T09:00:00Z",
        "ends": null, "venue": null, "sidelines_of": null, "status": "proposed", "agenda": [],
        "participants": [], "minutes": "", "created_by": {"officer": "ivan", "party": "sco-rats"},
        "created_at": "2026-01-01T00:00:00Z", "updated_by": null, "updated_at": null
    }))
    .unwrap();
    let anna = reader("anna", Role::Viewer);
    let inbox = build(&meetings(&m), &anna, &Marks::new(), false);
    assert_eq!(inbox.entries[0].why, Why::NewMeeting);
    let marks: Marks = marks_for(&inbox, &MarkRead { doc: None, all: true }, "now").unwrap().into_iter().collect();
    assert!(build(&meetings(&m), &anna, &marks, false).entries.is_empty());
    m.updated_by = author("ivan", "sco-rats");
    m.updated_at = Some("2026-01-02T00:00:00Z".into());
    assert_eq!(build(&meetings(&m), &anna, &marks, false).entries[0].why, Why::MeetingChanged);
    // Anna's own change is not news to her.
    m.updated_by = author("anna", "cica");
    assert!(build(&meetings(&m), &anna, &marks, false).entries.is_empty());
}

fn draft() -> DraftFacts {
    DraftFacts::from(&full_draft())
}

fn full_draft() -> Draft {
    use crate::workspace::draft;
    let mut d = automerge::Automerge::new();
    let new = draft::NewDraft {
        group: "g".into(),
        title: "Joint proposals".into(),
        lang: "en".into(),
        text: "Article 1. The Parties cooperate.\n\nArticle 2. Information is exchanged.".into(),
        languages: vec![],
        parties: vec!["cica".into(), "sco-rats".into()],
        titles: Default::default(),
    };
    draft::create(&mut d, &crate::workspace::testing::ctx("anna", "cica"), &new).unwrap();
    draft::read(&d, "dr01").unwrap()
}

#[test]
fn a_draft_s_facts_keep_only_approvals_that_hold_and_who_made_languages_stale() {
    let mut d = full_draft();
    let approval = |party: &str, valid| crate::workspace::draft::Approval {
        party: party.into(),
        hash: "h".into(),
        officer: None,
        at: "now".into(),
        valid,
    };
    d.approvals = vec![approval("cica", false), approval("sco-rats", true)];
    let f = DraftFacts::from(&d);
    assert_eq!(f.approved, vec!["sco-rats".to_string()]);
    assert_eq!(f.stale, vec!["Article 1".to_string(), "Article 2".to_string()]);
    assert_eq!(f.stale_by, vec![author("anna", "cica").unwrap()]);
    assert_eq!(f.stale_version.split(',').count(), 2, "{}", f.stale_version);
    assert!(f.stale_version.contains("/ru/"), "{}", f.stale_version);
}

#[test]
fn drafts_bring_approval_signature_and_stale_tasks_to_the_roles_that_act_on_them() {
    // Anna wrote the English: the Russian is stale, a task for her, not for Boris.
    let mut d = draft();
    let anna = reader("anna", Role::Member);
    let inbox = build(&drafts(&d), &anna, &Marks::new(), false);
    assert_eq!(inbox.counts.stale, 1, "{inbox:?}");
    assert_eq!(inbox.entries[0].why, Why::StaleProvisions { provisions: vec!["Article 1".into(), "Article 2".into()] });
    assert!(build(&drafts(&d), &reader("boris", Role::Admin), &Marks::new(), true).entries.is_empty());
    assert!(build(&drafts(&d), &reader("anna", Role::Viewer), &Marks::new(), true).entries.is_empty());
    // Under review without our approval: a member's task; once approved (valid), none.
    d.stale.clear();
    d.state = DraftState::UnderReview;
    let boris = reader("boris", Role::Member);
    assert_eq!(build(&drafts(&d), &boris, &Marks::new(), false).entries[0].kind, EntryKind::Approval);
    assert!(build(&drafts(&d), &reader("vera", Role::Viewer), &Marks::new(), true).entries.is_empty());
    d.approved.push("cica".into());
    assert!(build(&drafts(&d), &boris, &Marks::new(), true).entries.is_empty());
    // Agreed, not signed by us: a liaison officer's task, not a member's.
    d.state = DraftState::Agreed;
    assert!(build(&drafts(&d), &boris, &Marks::new(), true).entries.is_empty());
    let liaison = reader("lena", Role::Liaison);
    let inbox = build(&drafts(&d), &liaison, &Marks::new(), false);
    assert_eq!((inbox.entries[0].kind, inbox.counts.signature), (EntryKind::Signature, 1));
    // Read, still listed; a new text is new again.
    let marks: Marks = marks_for(&inbox, &MarkRead { doc: None, all: true }, "now").unwrap().into_iter().collect();
    assert_eq!(build(&drafts(&d), &liaison, &marks, false).unread, 0);
    d.content_hash = "another".into();
    assert_eq!(build(&drafts(&d), &liaison, &marks, false).unread, 1);
    // A draft of other Parties is none of ours.
    d.parties = vec!["sco-rats".into(), "un-oct".into()];
    assert!(build(&drafts(&d), &liaison, &Marks::new(), true).entries.is_empty());
}

#[test]
fn marking_needs_a_document_or_all() {
    let i = Inbox::default();
    assert_eq!(marks_for(&i, &MarkRead { doc: None, all: false }, "now"), Err(MarkError::NothingNamed));
    assert_eq!(marks_for(&i, &MarkRead { doc: Some("abcd".into()), all: true }, "now"), Err(MarkError::NothingNamed));
    assert_eq!(marks_for(&i, &MarkRead { doc: Some("abcd".into()), all: false }, "now"), Ok(vec![]));
}

proptest::proptest! {
    /// Times compared by their prefixes first, then whole, order as the strings themselves: the
    /// inbox's order does not depend on the shortcut.
    #[test]
    fn times_order_by_prefix_then_string_as_by_string(
        // Often the same first 16 bytes, so that the strings decide.
        a in proptest::option::of("(2026-12-01T10:0)?[0-9:TZ+\\-\\x00]{0,12}"),
        b in proptest::option::of("(2026-12-01T10:0)?[0-9:TZ+\\-\\x00]{0,12}"),
    ) {
        let (a, b) = (a.as_deref(), b.as_deref());
        let shortcut = at_prefix(a).cmp(&at_prefix(b)).then_with(|| a.cmp(&b));
        proptest::prop_assert_eq!(shortcut, a.cmp(&b));
    }
}
