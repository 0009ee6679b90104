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
            titles: Default::default(),
            tz: Default::default(),
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
            titles: Default::default(),
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

// ---- authenticated changes: three nodes of two Parties ----
//
// Node 0 is CICA's headquarters, node 1 CICA's backup (same Party key, its own node key and
// actor), node 2 SCO RATS's. Each edits the joint meeting and draft (also from old versions, as
// an editor does, which writes with a derived actor) and its own Party's registry, and after
// each edit signs its heads, as a node does once per round. A sync message carries the
// sender's signed heads and every change since the shared heads; the receiver checks every
// new change as a node does (proven author, and the rule of who may write what) and must
// never refuse an honest node. At the end all converge, and every change of every replica is
// attributed to the Party of the node that made it.

mod authenticated {
    use super::*;
    use std::collections::HashMap;

    use automerge::ReadDoc;

    use ed25519_dalek::SigningKey;
    use liaison::authority::{self, DocFacts, Owner};
    use liaison::authorship::{self, ActorCert, Attribution, Certs, ChangeFacts, HeadBook, NodeActor, SignedHead};
    use liaison::ids::{DocId, PartyId};
    use liaison::workspace::party_docs::PartyDoc;
    use liaison::workspace::registry::{self, NewOfficer};

    const NODES: usize = 3;
    const PARTY: [&str; NODES] = ["cica", "cica", "sco-rats"];

    #[derive(Clone, Debug)]
    pub enum AOp {
        Splice(usize, f64, String),
        /// An edit from the version the node had `back` changes ago (a derived actor if it
        /// changed the draft since).
        EditFromOld(usize, f64, String),
        Agenda(usize, String),
        Officer(usize, String),
        Sync(usize, usize),
        Drop(usize, usize),
    }

    pub fn aop() -> impl Strategy<Value = AOp> {
        let n = 0..NODES;
        prop_oneof![
            3 => (n.clone(), 0.0..1.0f64, "[a-zа-я ]{1,5}").prop_map(|(i, p, s)| AOp::Splice(i, p, s)),
            1 => (n.clone(), 0.0..1.0f64, "[a-z]{1,4}").prop_map(|(i, p, s)| AOp::EditFromOld(i, p, s)),
            1 => (n.clone(), "[a-z]{1,8}").prop_map(|(i, s)| AOp::Agenda(i, s)),
            1 => (n.clone(), "[A-Z][a-z]{1,6}").prop_map(|(i, s)| AOp::Officer(i, s)),
            5 => (n.clone(), n.clone()).prop_map(|(a, b)| AOp::Sync(a, b)),
            1 => (n.clone(), n).prop_map(|(a, b)| AOp::Drop(a, b)),
        ]
    }

    struct Node {
        party: PartyId,
        node_key: SigningKey,
        actor: NodeActor,
        docs: Vec<Automerge>,
        books: Vec<HeadBook>,
        /// The draft's heads at the previous edit: the "old version" an editor may still show.
        old_draft: Vec<automerge::ChangeHash>,
    }

    pub struct World {
        nodes: Vec<Node>,
        ids: Vec<DocId>,
        owners: Vec<Owner>,
        genesis: Vec<Option<[u8; 32]>>,
        certs: Certs,
        party_keys: HashMap<PartyId, [u8; 32]>,
        /// Sync states `[doc][from][to]`.
        states: Vec<Vec<Vec<State>>>,
    }

    // Documents: 0 meeting, 1 draft, 2 CICA's registry, 3 SCO RATS's registry.
    const MEETING: usize = 0;
    const DRAFT: usize = 1;

    pub fn world() -> World {
        let cica_key = SigningKey::from_bytes(&[1; 32]);
        let rats_key = SigningKey::from_bytes(&[2; 32]);
        let (cica, rats): (PartyId, PartyId) = ("cica".parse().unwrap(), "sco-rats".parse().unwrap());
        let reg_c = PartyDoc::Registry.genesis(&cica).unwrap();
        let reg_r = PartyDoc::Registry.genesis(&rats).unwrap();
        let ids = vec![DocId([1; 16]), DocId([2; 16]), PartyDoc::Registry.id(&cica), PartyDoc::Registry.id(&rats)];
        let owners = vec![Owner::Joint, Owner::Joint, Owner::Party(cica.clone()), Owner::Party(rats.clone())];
        let genesis = vec![None, None, Some(reg_c.get_heads()[0].0), Some(reg_r.get_heads()[0].0)];
        let mut certs = Certs::default();
        let mut nodes = Vec::new();
        for (i, party) in PARTY.iter().enumerate() {
            let party: PartyId = party.parse().unwrap();
            let pk = if party == cica { &cica_key } else { &rats_key };
            let node_key = SigningKey::from_bytes(&[10 + i as u8; 32]);
            let lp =
                libp2p::identity::ed25519::PublicKey::try_from_bytes(&node_key.verifying_key().to_bytes()).unwrap();
            let peer = libp2p::PeerId::from_public_key(&libp2p::identity::PublicKey::from(lp)).to_string();
            let actor = NodeActor([0xa0 + i as u8; 16]);
            let cert = ActorCert::issue(pk, party.clone(), peer, node_key.verifying_key().to_bytes(), actor).unwrap();
            certs.add(cert).unwrap();
            nodes.push(Node {
                party,
                node_key,
                actor,
                docs: Vec::new(),
                books: vec![HeadBook::new(); 4],
                old_draft: Vec::new(),
            });
        }
        // The base replicas were made with random actors; make fresh ones authored by node 0.
        let meeting = {
            let mut d = Automerge::new();
            d.set_actor(nodes[0].actor.actor(0));
            meeting::create(
                &mut d,
                &ctx(0),
                &NewMeeting {
                    titles: Default::default(),
                    tz: Default::default(),
                    title: "Consultations".into(),
                    starts: "2026-12-01T09:00:00Z".into(),
                    ends: None,
                    kind: meeting::MeetingKind::Consultation,
                    venue: None,
                    sidelines_of: None,
                },
            )
            .unwrap();
            d
        };
        let draft = {
            let mut d = Automerge::new();
            d.set_actor(nodes[0].actor.actor(0));
            draft::create(
                &mut d,
                &ctx(0),
                &draft::NewDraft {
                    titles: Default::default(),
                    group: "g".into(),
                    title: "Statement".into(),
                    lang: "en".into(),
                    text: "The Parties agree.".into(),
                    languages: vec![],
                    parties: vec![],
                },
            )
            .unwrap();
            d
        };
        let start = [meeting, draft, reg_c, reg_r];
        for n in &mut nodes {
            n.docs = start
                .iter()
                .map(|d| {
                    let mut d = d.fork();
                    d.set_actor(n.actor.actor(0));
                    d
                })
                .collect();
            n.old_draft = n.docs[DRAFT].get_heads();
        }
        let mut w = World {
            nodes,
            ids,
            owners,
            genesis,
            certs,
            party_keys: [(cica, cica_key.verifying_key().to_bytes()), (rats, rats_key.verifying_key().to_bytes())]
                .into_iter()
                .collect(),
            states: (0..4).map(|_| (0..NODES).map(|_| (0..NODES).map(|_| State::new()).collect()).collect()).collect(),
        };
        // Everyone holds node 0's signature of the joint documents' first change.
        for doc in [MEETING, DRAFT] {
            let h = sign_newest(&w.nodes[0], w.ids[doc], &w.nodes[0].docs[doc]);
            for n in &mut w.nodes {
                for h in &h {
                    n.books[doc].keep(h.clone());
                }
            }
        }
        w
    }

    fn ctx(i: usize) -> ChangeCtx {
        ChangeCtx {
            author: Author { officer: format!("officer{i}"), party: PARTY[i].parse().unwrap() },
            now: Utc.timestamp_opt(1_800_000_000 + i as i64, 0).unwrap(),
        }
    }

    /// The node's signed heads of its own actors in `doc`, as it makes them each round.
    fn sign_newest(n: &Node, id: DocId, doc: &Automerge) -> Vec<SignedHead> {
        let mut newest: HashMap<Vec<u8>, (u64, [u8; 32])> = HashMap::new();
        for m in doc.get_changes_meta(&[]) {
            let a = m.actor.to_bytes().to_vec();
            if authorship::node_actor_of(&a) == Some(n.actor) {
                let e = newest.entry(a).or_insert((0, [0; 32]));
                if m.seq > e.0 {
                    *e = (m.seq, m.hash.0);
                }
            }
        }
        newest.into_iter().map(|(a, (s, h))| SignedHead::sign(&n.node_key, id, a, s, h).unwrap()).collect()
    }

    fn signed(w: &mut World, i: usize, doc: usize) {
        let heads = sign_newest(&w.nodes[i], w.ids[doc], &w.nodes[i].docs[doc]);
        for h in heads {
            w.nodes[i].books[doc].keep(h);
        }
    }

    pub fn apply(w: &mut World, op: &AOp) -> Result<(), TestCaseError> {
        match op {
            AOp::Splice(i, p, s) => {
                let n = &mut w.nodes[*i];
                n.old_draft = n.docs[DRAFT].get_heads();
                let d = &mut n.docs[DRAFT];
                let len = draft::read(d, "").unwrap().text.chars().count();
                let pos = ((len as f64) * p) as usize;
                draft::splice(d, &ctx(*i), &Splice { provision: None, lang: None, pos, delete: 0, insert: s.clone() })
                    .unwrap();
                signed(w, *i, DRAFT);
            }
            AOp::EditFromOld(i, p, s) => {
                let n = &mut w.nodes[*i];
                let base = n.old_draft.clone();
                let old = n.docs[DRAFT].fork_at(&base).unwrap();
                let text = draft::read(&old, "").unwrap().text;
                let chars: Vec<char> = text.chars().collect();
                let pos = ((chars.len() as f64) * p) as usize;
                let new: String = chars[..pos]
                    .iter()
                    .chain(s.chars().collect::<Vec<_>>().iter())
                    .chain(chars[pos..].iter())
                    .collect();
                let c = ctx(*i);
                draft::edit_from(&mut n.docs[DRAFT], &c, Some(&base), |d| draft::set_text(d, &c, &new)).unwrap();
                signed(w, *i, DRAFT);
            }
            AOp::Agenda(i, t) => {
                meeting::update(
                    &mut w.nodes[*i].docs[MEETING],
                    &ctx(*i),
                    &MeetingPatch { add_agenda: vec![t.clone()], ..Default::default() },
                )
                .unwrap();
                signed(w, *i, MEETING);
            }
            AOp::Officer(i, name) => {
                let doc = if PARTY[*i] == "cica" { 2 } else { 3 };
                let new = NewOfficer { name: name.clone(), party: None, contact: "c".into(), mandate: None };
                registry::assign(&mut w.nodes[*i].docs[doc], &ctx(*i), &new).unwrap();
                signed(w, *i, doc);
            }
            AOp::Sync(a, b) | AOp::Drop(a, b) => {
                for doc in 0..4 {
                    deliver(w, doc, *a, *b, matches!(op, AOp::Sync(..)))?;
                }
            }
        }
        Ok(())
    }

    /// One message of `doc` from node `a` to node `b`, checked by `b` as a node checks it.
    fn deliver(w: &mut World, doc: usize, a: usize, b: usize, arrive: bool) -> Result<bool, TestCaseError> {
        if a == b {
            return Ok(false);
        }
        let (from, to) = if a < b {
            let (x, y) = w.nodes.split_at_mut(b);
            (&mut x[a], &mut y[0])
        } else {
            let (x, y) = w.nodes.split_at_mut(a);
            (&mut y[0], &mut x[b])
        };
        let state = &mut w.states[doc][a][b];
        let sent_before = state.sent_hashes.clone();
        let Some(mut msg) = from.docs[doc].generate_sync_message(state) else { return Ok(false) };
        authorship::close_over_dependencies(&from.docs[doc], state, &sent_before, &mut msg);
        let heads: Vec<SignedHead> = from.books[doc].heads().cloned().collect();
        if !arrive {
            w.states[doc][a][b] = State::decode(&w.states[doc][a][b].encode()).unwrap();
            w.states[doc][b][a] = State::decode(&w.states[doc][b][a].encode()).unwrap();
            return Ok(true);
        }
        let keys = w.party_keys.clone();
        let key_of = |p: &PartyId| keys.get(p).copied();
        for h in heads {
            h.verify(&w.certs, &key_of).map_err(|e| TestCaseError::fail(format!("honest head refused: {e}")))?;
            to.books[doc].keep(h);
        }
        let before = to.docs[doc].get_heads();
        let (n_changes, version) = (msg.changes.len(), format!("{:?}", msg.version));
        let decoded = automerge::sync::Message::decode(&msg.encode()).unwrap();
        to.docs[doc].receive_sync_message(&mut w.states[doc][b][a], decoded).unwrap();
        let missing = to.docs[doc].get_missing_deps(&[]);
        prop_assert!(
            missing.is_empty(),
            "a message ({} changes, version {:?}, doc {doc}, {a}->{b}) left changes without their dependencies {:?}; shared heads {:?}",
            n_changes,
            version,
            missing,
            w.states[doc][a][b].shared_heads
        );
        let new: Vec<ChangeFacts> = to.docs[doc]
            .get_changes_meta(&before)
            .into_iter()
            .map(|m| ChangeFacts { hash: m.hash.0, actor: m.actor.to_bytes().to_vec(), seq: m.seq })
            .collect();
        check(w.ids[doc], &to.docs[doc], &new, &to.books[doc], &w.certs, w.genesis[doc], &w.owners[doc])?;
        Ok(true)
    }

    fn check(
        id: DocId,
        d: &Automerge,
        changes: &[ChangeFacts],
        book: &HeadBook,
        certs: &Certs,
        genesis: Option<[u8; 32]>,
        owner: &Owner,
    ) -> Result<Vec<Attribution>, TestCaseError> {
        use liaison::workspace::DocKind;
        let present = |h: &[u8; 32]| {
            d.get_change_meta_by_hash(&automerge::ChangeHash(*h)).map(|m| (m.actor.to_bytes().to_vec(), m.seq))
        };
        let who = authorship::attribute(id, changes, book, certs, genesis, &present)
            .map_err(|e| TestCaseError::fail(format!("an honest change was refused: {e}")))?;
        let kind = liaison::workspace::kind_of(d).unwrap_or(DocKind::Meeting);
        for w in &who {
            authority::may_write(&DocFacts { kind, owner, frozen: false }, w)
                .map_err(|e| TestCaseError::fail(format!("an honest change broke the rule: {e}")))?;
        }
        Ok(who)
    }

    pub fn settle_and_check(w: &mut World) -> Result<(), TestCaseError> {
        for _ in 0..100 {
            let mut any = false;
            for doc in 0..4 {
                for a in 0..NODES {
                    for b in 0..NODES {
                        any |= deliver(w, doc, a, b, true)?;
                    }
                }
            }
            if !any {
                break;
            }
        }
        for doc in 0..4 {
            let heads = w.nodes[0].docs[doc].get_heads();
            for n in &w.nodes {
                prop_assert_eq!(&n.docs[doc].get_heads(), &heads);
                // Every change of the document, from the first, is proven to be of the Party
                // of the node that made it.
                let all: Vec<ChangeFacts> = n.docs[doc]
                    .get_changes_meta(&[])
                    .into_iter()
                    .map(|m| ChangeFacts { hash: m.hash.0, actor: m.actor.to_bytes().to_vec(), seq: m.seq })
                    .collect();
                let who =
                    check(w.ids[doc], &n.docs[doc], &all, &n.books[doc], &w.certs, w.genesis[doc], &w.owners[doc])?;
                for (c, a) in all.iter().zip(&who) {
                    let maker = w.nodes.iter().find(|m| authorship::node_actor_of(&c.actor) == Some(m.actor));
                    match (maker, a) {
                        (Some(m), Attribution::Node { party, .. }) => prop_assert_eq!(party, &m.party),
                        (None, Attribution::Genesis) => {}
                        (m, a) => prop_assert!(false, "change {:?} attributed {:?}", m.map(|m| &m.party), a),
                    }
                }
            }
        }
        let view = draft::read(&w.nodes[0].docs[DRAFT], "").unwrap();
        for n in &w.nodes[1..] {
            prop_assert_eq!(&draft::read(&n.docs[DRAFT], "").unwrap(), &view);
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn authenticated_changes_of_three_nodes_of_two_parties_converge(ops in prop::collection::vec(authenticated::aop(), 1..60)) {
        let mut w = authenticated::world();
        for op in &ops {
            authenticated::apply(&mut w, op)?;
        }
        authenticated::settle_and_check(&mut w)?;
    }
}
