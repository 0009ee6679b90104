use automerge::Automerge;

use super::*;
use crate::workspace::party_docs::PartyDoc;
use crate::workspace::testing::ctx;
use crate::workspace::{meeting, thread};

fn new_draft(text: &str) -> Automerge {
    let mut d = Automerge::new();
    draft::create(
        &mut d,
        &ctx("ana", "cica"),
        &draft::NewDraft {
            titles: Titles { title_en: Some("Joint proposals".into()), title_ru: Some("Совместные".into()) },
            group: "g1".into(),
            title: "Joint proposals".into(),
            lang: "en".into(),
            text: text.into(),
            languages: vec!["en".into(), "ru".into()],
            parties: vec!["cica".into(), "sco-rats".into()],
        },
    )
    .unwrap();
    d
}

fn annex(parent: DocId, party: &str) -> Automerge {
    let mut a = PartyDoc::Annex(parent).genesis(&party.parse().unwrap()).unwrap();
    a.set_actor(automerge::ActorId::random());
    a
}

#[test]
fn a_draft_summary_counts_what_the_list_shows() {
    let id = DocId([7; 16]);
    let d = new_draft("Article 1. Scope\n\nArticle 2. Terms");
    let read = draft::read(&d, &id.to_string()).unwrap();
    let (p1, p2) = (read.provisions[0].id.clone(), read.provisions[1].id.clone());
    let mut a = annex(id, "cica");
    draft::comment(&mut a, &d, &ctx("ana", "cica"), &p1, "Too broad", None).unwrap();
    draft::comment(&mut a, &d, &ctx("ana", "cica"), &p2, "Fine", None).unwrap();
    let sid = draft::suggest(&mut a, &d, &ctx("ana", "cica"), &p2, "en", "Article 2. Definitions").unwrap();
    let recs = draft::Records::read(&[&a], &|_| None).unwrap();
    let full = draft::read_with(&d, &recs, &id.to_string()).unwrap();
    let s = draft_summary(&full);
    assert_eq!((s.provisions, s.comments, s.suggestions_open, s.versions), (2, 2, 1, 0));
    assert_eq!(s.chars, "Article 1. Scope\n\nArticle 2. Terms".chars().count());
    assert_eq!((s.lang.as_str(), s.languages.len(), s.group.as_str()), ("en", 2, "g1"));
    assert_eq!(s.titles.title_ru.as_deref(), Some("Совместные"));
    assert_eq!((s.state, s.updated_at.clone()), (full.state, full.updated_at.clone()));
    assert!(recs.parties[0].suggestions.iter().any(|x| x.id == sid));
}

#[test]
fn a_thread_summary_has_the_last_message_and_who_wrote() {
    let id = DocId([9; 16]);
    let mut t = Automerge::new();
    thread::start(&mut t, &ctx("ana", "cica"), "Lists", &Titles::default()).unwrap();
    let (mut a, mut b) = (annex(id, "cica"), annex(id, "sco-rats"));
    thread::post(&mut a, &ctx("ana", "cica"), "Our list.").unwrap();
    thread::post(&mut a, &ctx("ana", "cica"), "And another.").unwrap();
    let mut late = ctx("oleg", "sco-rats");
    late.now += chrono::Duration::hours(1);
    thread::post(&mut b, &late, "Received.").unwrap();
    let s = thread_summary(thread::read(&t, &[&a, &b], &id.to_string()).unwrap());
    assert_eq!((s.messages, s.subject.as_str()), (3, "Lists"));
    assert_eq!(s.last_by.as_ref().map(|a| a.officer.as_str()), Some("oleg"));
    let who: Vec<(&str, &str)> = s.participants.iter().map(|a| (a.party.as_str(), a.officer.as_str())).collect();
    assert_eq!(who, vec![("cica", "ana"), ("sco-rats", "oleg")]);
}

fn s_of(d: &Automerge) -> Summary {
    Summary::Draft(Box::new(draft_summary(&draft::read(d, "ab").unwrap())))
}

#[test]
fn stored_summaries_read_back_as_the_lists_show_them() {
    let d = new_draft("One");
    let s = s_of(&d);
    let mut m = Automerge::new();
    meeting::create(
        &mut m,
        &ctx("ana", "cica"),
        &meeting::NewMeeting {
            title: "Consultation".into(),
            titles: Titles { title_en: None, title_ru: Some("Консультация".into()) },
            starts: "2027-02-10T10:00:00Z".into(),
            tz: None,
            ends: None,
            kind: meeting::MeetingKind::Consultation,
            venue: Some("Astana".into()),
            sidelines_of: None,
        },
    )
    .unwrap();
    let ms = Summary::Meeting(Box::new(meeting::read(&m, "cd").unwrap()));
    let facts = Facts::Draft(Box::new(crate::inbox::DraftFacts::from(&draft::read(&d, "ab").unwrap())));
    for (s, inbox) in [(s, Some(facts)), (ms, None)] {
        let stored = Stored {
            format: FORMAT,
            heads: vec![("00".repeat(16), vec!["11".repeat(32)])],
            suggestions: vec!["s1".into()],
            summary: s.clone(),
            facts: inbox.clone(),
        };
        let back: Stored = serde_json::from_slice(&serde_json::to_vec(&stored).unwrap()).unwrap();
        assert_eq!(serde_json::to_value(&back.summary).unwrap(), serde_json::to_value(&s).unwrap());
        assert_eq!(back.suggestions, vec!["s1".to_string()]);
        assert_eq!(serde_json::to_value(&back.facts).unwrap(), serde_json::to_value(&inbox).unwrap());
    }
    // The facts are the inbox's, never a list's: a draft's summary does not carry them.
    assert!(serde_json::to_value(s_of(&d)).unwrap().get("stale_version").is_none());
}

fn entry(kind: DocKind, suggestions: &[&str]) -> Entry {
    let summary = match kind {
        DocKind::Draft => Summary::Draft(Box::new(draft_summary(&draft::read(&new_draft("x"), "ab").unwrap()))),
        _ => Summary::Thread(Box::new(ThreadSummary {
            id: String::new(),
            subject: String::new(),
            titles: Titles::default(),
            messages: 0,
            last_at: None,
            last_by: None,
            participants: vec![],
        })),
    };
    Entry {
        summary,
        version: String::new(),
        heads: vec![],
        suggestions: suggestions.iter().map(|s| s.to_string()).collect(),
        facts: None,
        listed: Default::default(),
        instants: Default::default(),
    }
}

#[test]
fn an_entry_as_listed_is_its_summary_untagged_with_its_version_made_once() {
    let mut e = entry(DocKind::Draft, &[]);
    e.version = "ab,cd".into();
    let v: serde_json::Value = serde_json::from_str(e.listed_json()).unwrap();
    let mut want = match &e.summary {
        Summary::Draft(d) => serde_json::to_value(d).unwrap(),
        _ => unreachable!(),
    };
    want["version"] = "ab,cd".into();
    assert_eq!(v, want);
    assert!(std::ptr::eq(e.listed_json(), e.listed_json()), "made once");
}

#[test]
fn the_index_finds_suggestions_resolves_prefixes_and_knows_what_is_stale() {
    let ix = SummaryIndex::default();
    let d1: DocId = "abcd0000000000000000000000000001".parse().unwrap();
    let d2: DocId = "abcd0000000000000000000000000002".parse().unwrap();
    let t1: DocId = "ef000000000000000000000000000001".parse().unwrap();
    ix.write().insert(d1, entry(DocKind::Draft, &["s1", "s2"]));
    ix.write().insert(d2, entry(DocKind::Draft, &["s3"]));
    ix.write().insert(t1, entry(DocKind::Thread, &[]));
    assert_eq!(ix.read().suggestion_of.get("s2"), Some(&d1));
    // A draft computed again drops the suggestions it no longer holds.
    ix.write().insert(d1, entry(DocKind::Draft, &["s1"]));
    assert_eq!(ix.read().suggestion_of.get("s2"), None);
    assert_eq!(ix.read().suggestion_of.get("s1"), Some(&d1));

    assert!(matches!(ix.resolve(DocKind::Draft, "abcd"), Err(EngineError::Ambiguous { count: 2, .. })));
    assert_eq!(ix.resolve(DocKind::Draft, "ABCD0000000000000000000000000002").unwrap(), d2);
    assert!(matches!(ix.resolve(DocKind::Draft, "ef00"), Err(EngineError::NotFound { .. })));
    assert_eq!(ix.resolve(DocKind::Thread, "ef00").unwrap(), t1);

    assert!(!ix.is_stale(DocKind::Draft, None));
    ix.write().mark_stale(d2, DocKind::Draft);
    assert!(ix.is_stale(DocKind::Draft, None));
    assert!(!ix.is_stale(DocKind::Thread, None));
    assert!(!ix.is_stale(DocKind::Draft, Some(&[d1].into_iter().collect())));
    assert!(ix.is_stale(DocKind::Draft, Some(&[d2].into_iter().collect())));
    assert_eq!(ix.entries(DocKind::Draft, None).len(), 2);
    assert_eq!(ix.entries(DocKind::Draft, Some(&[d1, t1].into_iter().collect())).len(), 1);
}
