//! Property test: replicas of workspace documents converge, whatever the edits, the order in
//! which sync messages are delivered, and the partitions on the way.
//!
//! Several replicas start from one meeting and one draft. Each step either edits a random
//! replica through the workspace API (as officers do), or runs one sync message from one
//! replica to another (messages may also be dropped: a partition). At the end every pair syncs
//! to quiescence, and all replicas must have equal heads and equal materialised values.

use automerge::Automerge;
use automerge::sync::{State, SyncDoc};
use chrono::{TimeZone, Utc};
use liaison::workspace::draft::{self, Splice};
use liaison::workspace::meeting::{self, MeetingPatch, MeetingStatus, NewMeeting, NewParticipant};
use liaison::workspace::{Author, ChangeCtx};
use proptest::prelude::*;

const REPLICAS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    /// Replica, position (as a fraction of the length), characters to delete, text to insert.
    Splice(usize, f64, usize, String),
    /// Replica, new whole text built from the current one with an insertion: `draft edit`.
    Rewrite(usize, f64, String),
    Title(usize, String),
    AddAgenda(usize, String),
    RemoveFirstAgenda(usize),
    Status(usize, u8),
    AddParticipant(usize, String),
    Minutes(usize, String),
    /// Deliver one sync message from one replica to another.
    Sync(usize, usize),
    /// Generate a message and lose it (a partition drops traffic).
    Drop(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    let r = 0..REPLICAS;
    let word = "[a-zа-я ]{0,6}";
    prop_oneof![
        3 => (r.clone(), 0.0..1.0f64, 0..3usize, word).prop_map(|(i, p, d, s)| Op::Splice(i, p, d, s)),
        1 => (r.clone(), 0.0..1.0f64, "[a-z]{1,5}").prop_map(|(i, p, s)| Op::Rewrite(i, p, s)),
        1 => (r.clone(), "[A-Za-z]{1,8}").prop_map(|(i, s)| Op::Title(i, s)),
        1 => (r.clone(), "[a-z]{1,8}").prop_map(|(i, s)| Op::AddAgenda(i, s)),
        1 => r.clone().prop_map(Op::RemoveFirstAgenda),
        1 => (r.clone(), 0..4u8).prop_map(|(i, s)| Op::Status(i, s)),
        1 => (r.clone(), "[A-Z][a-z]{1,6}").prop_map(|(i, s)| Op::AddParticipant(i, s)),
        1 => (r.clone(), "[a-z \n]{0,12}").prop_map(|(i, s)| Op::Minutes(i, s)),
        4 => (r.clone(), r.clone()).prop_map(|(a, b)| Op::Sync(a, b)),
        1 => (r.clone(), r).prop_map(|(a, b)| Op::Drop(a, b)),
    ]
}

struct Replica {
    meeting: Automerge,
    draft: Automerge,
}

/// Sync states: `[from][to]` for each document.
struct Net {
    meeting: Vec<Vec<State>>,
    draft: Vec<Vec<State>>,
}

fn ctx(i: usize) -> ChangeCtx {
    ChangeCtx {
        author: Author {
            officer: format!("officer{i}"),
            party: if i.is_multiple_of(2) { "cica" } else { "sco-rats" }.parse().unwrap(),
        },
        now: Utc.timestamp_opt(1_800_000_000 + i as i64, 0).unwrap(),
    }
}

fn replicas() -> Vec<Replica> {
    let mut m = Automerge::new();
    meeting::create(
        &mut m,
        &ctx(0),
        &NewMeeting {
            title: "Consultations".into(),
            starts: "2026-12-01T09:00:00Z".into(),
            ends: None,
            kind: meeting::MeetingKind::Consultation,
            venue: None,
            sidelines_of: None,
        },
    )
    .unwrap();
    let mut d = Automerge::new();
    draft::create(
        &mut d,
        &ctx(0),
        &draft::NewDraft {
            group: "g".into(),
            title: "Statement".into(),
            lang: "en".into(),
            text: "The Parties agree.".into(),
            languages: vec![],
            parties: vec![],
        },
    )
    .unwrap();
    (0..REPLICAS)
        .map(|_| {
            let mut meeting = m.fork();
            let mut draft = d.fork();
            meeting.set_actor(automerge::ActorId::random());
            draft.set_actor(automerge::ActorId::random());
            Replica { meeting, draft }
        })
        .collect()
}

fn grid() -> Vec<Vec<State>> {
    (0..REPLICAS).map(|_| (0..REPLICAS).map(|_| State::new()).collect()).collect()
}

/// One message from `a` to `b` for one document; `deliver = false` loses it.
fn step(docs: &mut [&mut Automerge], states: &mut [Vec<State>], a: usize, b: usize, deliver: bool) -> bool {
    if a == b {
        return false;
    }
    let Some(msg) = docs[a].generate_sync_message(&mut states[a][b]) else {
        return false;
    };
    if deliver {
        let encoded = msg.encode();
        let decoded = automerge::sync::Message::decode(&encoded).unwrap();
        docs[b].receive_sync_message(&mut states[b][a], decoded).unwrap();
    } else {
        // A lost message: the sender learns of it as a dropped connection, and both sides
        // resume from their persisted states, as the node does on reconnect.
        states[a][b] = State::decode(&states[a][b].encode()).unwrap();
        states[b][a] = State::decode(&states[b][a].encode()).unwrap();
    }
    true
}

fn apply(rs: &mut [Replica], net: &mut Net, op: &Op) {
    match op {
        Op::Splice(i, p, del, s) => {
            let len = draft::read(&rs[*i].draft, "").unwrap().text.chars().count();
            let pos = ((len as f64) * p) as usize;
            let delete = (*del).min(len - pos);
            draft::splice(
                &mut rs[*i].draft,
                &ctx(*i),
                &Splice { provision: None, lang: None, pos, delete, insert: s.clone() },
            )
            .unwrap();
        }
        Op::Rewrite(i, p, s) => {
            let text = draft::read(&rs[*i].draft, "").unwrap().text;
            let chars: Vec<char> = text.chars().collect();
            let pos = ((chars.len() as f64) * p) as usize;
            let new: String =
                chars[..pos].iter().chain(s.chars().collect::<Vec<_>>().iter()).chain(chars[pos..].iter()).collect();
            draft::set_text(&mut rs[*i].draft, &ctx(*i), &new).unwrap();
        }
        Op::Title(i, t) => meeting::update(
            &mut rs[*i].meeting,
            &ctx(*i),
            &MeetingPatch { title: Some(t.clone()), ..Default::default() },
        )
        .unwrap(),
        Op::AddAgenda(i, t) => meeting::update(
            &mut rs[*i].meeting,
            &ctx(*i),
            &MeetingPatch { add_agenda: vec![t.clone()], ..Default::default() },
        )
        .unwrap(),
        Op::RemoveFirstAgenda(i) => {
            let m = meeting::read(&rs[*i].meeting, "").unwrap();
            if let Some(first) = m.agenda.first() {
                meeting::update(
                    &mut rs[*i].meeting,
                    &ctx(*i),
                    &MeetingPatch { remove_agenda: vec![first.id.clone()], ..Default::default() },
                )
                .unwrap();
            }
        }
        Op::Status(i, s) => {
            let status =
                [MeetingStatus::Proposed, MeetingStatus::Confirmed, MeetingStatus::Held, MeetingStatus::Cancelled]
                    [*s as usize];
            meeting::update(&mut rs[*i].meeting, &ctx(*i), &MeetingPatch { status: Some(status), ..Default::default() })
                .unwrap()
        }
        Op::AddParticipant(i, n) => meeting::update(
            &mut rs[*i].meeting,
            &ctx(*i),
            &MeetingPatch {
                add_participants: vec![NewParticipant { name: n.clone(), party: "cica".parse().unwrap(), role: None }],
                ..Default::default()
            },
        )
        .unwrap(),
        Op::Minutes(i, t) => meeting::update(
            &mut rs[*i].meeting,
            &ctx(*i),
            &MeetingPatch { minutes: Some(t.clone()), ..Default::default() },
        )
        .unwrap(),
        Op::Sync(a, b) | Op::Drop(a, b) => {
            let deliver = matches!(op, Op::Sync(..));
            let mut ms: Vec<&mut Automerge> = rs.iter_mut().map(|r| &mut r.meeting).collect();
            step(&mut ms, &mut net.meeting, *a, *b, deliver);
            let mut ds: Vec<&mut Automerge> = rs.iter_mut().map(|r| &mut r.draft).collect();
            step(&mut ds, &mut net.draft, *a, *b, deliver);
        }
    }
}

fn settle(rs: &mut [Replica], net: &mut Net) {
    for _round in 0..100 {
        let mut any = false;
        for a in 0..REPLICAS {
            for b in 0..REPLICAS {
                let mut ms: Vec<&mut Automerge> = rs.iter_mut().map(|r| &mut r.meeting).collect();
                any |= step(&mut ms, &mut net.meeting, a, b, true);
                let mut ds: Vec<&mut Automerge> = rs.iter_mut().map(|r| &mut r.draft).collect();
                any |= step(&mut ds, &mut net.draft, a, b, true);
            }
        }
        if !any {
            return;
        }
    }
    panic!("sync did not reach quiescence in 100 rounds");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn replicas_converge(ops in prop::collection::vec(op(), 1..80)) {
        let mut rs = replicas();
        let mut net = Net { meeting: grid(), draft: grid() };
        for op in &ops {
            apply(&mut rs, &mut net, op);
        }
        settle(&mut rs, &mut net);
        let heads_m = rs[0].meeting.get_heads();
        let heads_d = rs[0].draft.get_heads();
        let view_m = meeting::read(&rs[0].meeting, "").unwrap();
        let view_d = draft::read(&rs[0].draft, "").unwrap();
        for r in &rs[1..] {
            prop_assert_eq!(&r.meeting.get_heads(), &heads_m);
            prop_assert_eq!(&r.draft.get_heads(), &heads_d);
            prop_assert_eq!(&meeting::read(&r.meeting, "").unwrap(), &view_m);
            prop_assert_eq!(&draft::read(&r.draft, "").unwrap(), &view_d);
        }
    }
}
