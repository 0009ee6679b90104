//! A dishonest Party node tries to speak for the other Party. The hostile node is SCO RATS's:
//! it holds SCO RATS's real keys (Party key, node key) and a certified actor, builds changes
//! with the real workspace code or by hand on its copies of the documents, signs what it likes,
//! and sends them in the real protocol from a raw libp2p peer. Against it stand CICA's node and
//! CICA's second node (an honest third node that the hostile node also reaches). Every forgery
//! is refused, its batch is not kept, the session is dropped and the refusal audited; the
//! honest nodes keep converging, and what SCO RATS may write (joint work, its own records) is
//! still accepted and attributed to it.

mod inproc;

use inproc::hostile::Hostile;

use std::collections::BTreeMap;

use automerge::sync::{ChunkList, Message, MessageVersion};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc};
use chrono::Utc;
use inproc::{TestNode, eventually, pin_pair, send_batch};
use liaison::audit::Event;
use liaison::authorship::SignedHead;
use liaison::config::PeerRole;
use liaison::ids::DocId;
use liaison::net::protocol::{Batch, Frame, Reply};
use liaison::workspace::party_docs::PartyDoc;
use liaison::workspace::registry::NewOfficer;
use liaison::workspace::{Author, ChangeCtx, DocKind, draft, mandates, meeting, registry};
use libp2p::PeerId;

impl Hostile {
    fn signing_key(&self) -> [u8; 32] {
        self.party_key.verifying_key().to_bytes()
    }

    /// Pins the hostile node at `n` as SCO RATS's node, with SCO RATS's real Party key.
    async fn pinned_by(&self, n: &TestNode) {
        n.pin_with_keys(self.peer, "sco-rats", PeerRole::Party, Some(self.signing_key()), None).await;
    }

    /// The hostile node's copy of a document, as it would hold it after syncing with `n`.
    async fn copy(&self, n: &TestNode, id: DocId) -> Automerge {
        let bytes = n.node().engine.read(move |c| Ok(c.doc(id)?.save())).await.unwrap();
        let mut d = Automerge::load(&bytes).unwrap();
        d.set_actor(self.actor.actor(0));
        d
    }

    /// A signed head of `actor`'s newest change in `doc`, made with the hostile node's key.
    fn head(&self, id: DocId, doc: &Automerge, actor: &ActorId) -> SignedHead {
        let last = doc.get_changes_meta(&[]).into_iter().filter(|m| *m.actor == *actor).max_by_key(|m| m.seq).unwrap();
        SignedHead::sign(&self.node_key, id, actor.to_bytes().to_vec(), last.seq, last.hash.0).unwrap()
    }

    /// A batch with the hostile's certificate and a sync message carrying the changes `doc`
    /// has beyond `before`, with `heads`.
    fn batch(&self, id: DocId, before: &[automerge::ChangeHash], doc: &Automerge, heads: Vec<SignedHead>) -> Batch {
        let changes: Vec<Vec<u8>> = doc.get_changes(before).into_iter().map(|c| c.raw_bytes().to_vec()).collect();
        assert!(!changes.is_empty(), "the attack made no change");
        let msg = Message {
            heads: doc.get_heads(),
            need: vec![],
            have: vec![],
            changes: ChunkList::from(changes),
            flags: None,
            version: MessageVersion::V1,
        };
        Batch { frames: vec![Frame::Certs(vec![self.cert.clone()]), Frame::Sync { doc: id, msg: msg.encode(), heads }] }
    }

    /// Sends `batch` to `n`.
    async fn send(&mut self, n: &TestNode, batch: &Batch) -> Option<Reply> {
        send_batch(&mut self.swarm, n.peer_id(), n.addrs()[0].clone(), batch).await
    }
}

fn ctx(officer: &str, party: &str) -> ChangeCtx {
    ChangeCtx { author: Author { officer: officer.into(), party: party.parse().unwrap() }, now: Utc::now() }
}

fn refused(r: &Option<Reply>) -> String {
    match r {
        Some(Reply::Refused(reason)) => reason.clone(),
        other => panic!("expected a refusal with its reason, got {other:?}"),
    }
}

/// Every document's heads at `n`.
async fn all_heads(n: &TestNode) -> BTreeMap<String, Vec<String>> {
    n.node().engine.read(|c| Ok(c.doc_heads())).await.unwrap().into_iter().map(|d| (d.id, d.heads)).collect()
}

async fn refusals_from(n: &TestNode, peer: PeerId) -> usize {
    n.node()
        .engine
        .read(|c| c.audit_show(None))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(&e.entry.event, Event::ReceiveRefused { from_peer, .. } if from_peer.contains(&peer.to_string())))
        .count()
}

async fn connected(n: &TestNode, peer: PeerId) -> bool {
    n.status().await.peers.iter().any(|p| p.peer_id == peer.to_string() && p.connected)
}

/// Sends a forged batch to `n` and checks it is refused for `why`, its session dropped, the
/// refusal audited, and nothing of it kept.
async fn refuse(h: &mut Hostile, n: &TestNode, batch: &Batch, why: &str) {
    let before = all_heads(n).await;
    let audited = refusals_from(n, h.peer).await;
    let reason = refused(&h.send(n, batch).await);
    assert!(reason.contains(why), "refused, but for {reason:?}, not {why:?}");
    let peer = h.peer;
    eventually("the node drops the hostile session", || async { (!connected(n, peer).await).then_some(()) }).await;
    assert_eq!(all_heads(n).await, before, "something of a refused batch ({why}) was kept");
    assert_eq!(refusals_from(n, h.peer).await, audited + 1, "the refusal ({why}) is not audited once");
}

struct Scene {
    cica: TestNode,
    backup: TestNode,
    hostile: Hostile,
    registry: DocId,
    mandates: DocId,
    draft: DocId,
    annex: DocId,
    meeting: DocId,
    ana: String,
    comment: String,
}

/// CICA's node and its backup, in sync; the hostile SCO RATS node pinned at both. CICA has an
/// officer, a mandate, a meeting, and a draft under review with a comment of its own.
async fn scene() -> Scene {
    let cica = TestNode::new("cica", None).await;
    let backup = TestNode::new("cica", Some(cica.dir.path())).await;
    pin_pair(&cica, &backup).await;
    let hostile = Hostile::new();
    hostile.pinned_by(&cica).await;
    hostile.pinned_by(&backup).await;
    let c = cica.ctx();
    let ana = NewOfficer { name: "Ana".into(), party: None, contact: "ana@cica".into(), mandate: None };
    let ana = cica.node().engine.write(move |x| x.assign_officer(&c, &ana)).await.unwrap();
    let c = cica.ctx();
    let m = mandates::NewMandate { reference: "MS-1".into(), date: "2026-01-01".into(), scope: "lists".into() };
    cica.node().engine.write(move |x| x.add_mandate(&c, &m)).await.unwrap();
    let meeting = cica.create_meeting("Consultations").await;
    let c = cica.ctx();
    let draft = cica
        .node()
        .engine
        .write(move |x| {
            let new = draft::NewDraft {
                titles: Default::default(),
                group: "g".into(),
                title: "Joint proposals".into(),
                lang: "en".into(),
                text: "Article 1. The Parties cooperate.\n\nArticle 2. Information is exchanged.".into(),
                languages: vec![],
                parties: x.draft_parties(),
            };
            x.create(DocKind::Draft, |d| draft::create(d, &c, &new))
        })
        .await
        .unwrap();
    let c = cica.ctx();
    let comment = cica
        .node()
        .engine
        .write(move |x| {
            let d = x.read_draft(draft)?;
            for p in &d.provisions {
                let text = format!("Русский текст {}", p.label);
                let pid = p.id.clone();
                x.change(draft, |doc| draft::set_provision_text(doc, &c, &pid, "ru", &text))?;
                x.change(draft, |doc| draft::align(doc, &c, &pid))?;
            }
            x.review_draft(draft, &c)?;
            let a1 = d.provisions[0].id.clone();
            x.comment_draft(draft, &c, &a1, "Please check the Russian", None)
        })
        .await
        .unwrap();
    let cica_id: liaison::ids::PartyId = "cica".parse().unwrap();
    let s = Scene {
        registry: PartyDoc::Registry.id(&cica_id),
        mandates: PartyDoc::Mandates.id(&cica_id),
        annex: PartyDoc::Annex(draft).id(&cica_id),
        cica,
        backup,
        hostile,
        draft,
        meeting,
        ana,
        comment,
    };
    // Both of CICA's nodes publish the Party's names at their first start, so the backup may hold
    // a change CICA does not yet: wait until the two hold the same, whichever way it flowed.
    eventually("CICA's backup holds all of CICA's", || async {
        (all_heads(&s.backup).await == all_heads(&s.cica).await).then_some(())
    })
    .await;
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_node_cannot_write_the_other_partys_records() {
    let mut s = scene().await;
    let h = &mut s.hostile;
    let not_its = "can be written by cica only";

    // Another Party's officer: assigned in CICA's registry, with the real workspace code told
    // it is CICA (so its own check passes), and signed by the hostile node as its own change.
    let mut reg = h.copy(&s.cica, s.registry).await;
    let before = reg.get_heads();
    let impostor = NewOfficer { name: "Impostor".into(), party: None, contact: "x@x".into(), mandate: None };
    registry::assign(&mut reg, &ctx("forger", "cica"), &impostor).unwrap();
    let b = h.batch(s.registry, &before, &reg, vec![h.head(s.registry, &reg, &h.actor.actor(0))]);
    refuse(h, &s.cica, &b, not_its).await;
    refuse(h, &s.backup, &b, not_its).await;

    // Ending CICA's real officer.
    let mut reg = h.copy(&s.cica, s.registry).await;
    let before = reg.get_heads();
    registry::end(&mut reg, &ctx("forger", "cica"), &s.ana).unwrap();
    let b = h.batch(s.registry, &before, &reg, vec![h.head(s.registry, &reg, &h.actor.actor(0))]);
    refuse(h, &s.cica, &b, not_its).await;

    // A mandate recorded as CICA's, and CICA's withdrawn.
    for f in [
        (|d: &mut Automerge| {
            let m = mandates::NewMandate { reference: "FAKE".into(), date: "2026-01-01".into(), scope: "all".into() };
            mandates::add(d, &ctx("forger", "cica"), &m).unwrap()
        }) as fn(&mut Automerge),
        |d: &mut Automerge| mandates::withdraw(d, &ctx("forger", "cica"), "MS-1").unwrap(),
    ] {
        let mut man = h.copy(&s.cica, s.mandates).await;
        let before = man.get_heads();
        f(&mut man);
        let b = h.batch(s.mandates, &before, &man, vec![h.head(s.mandates, &man, &h.actor.actor(0))]);
        refuse(h, &s.cica, &b, not_its).await;
    }

    // An approval and an execution signature in CICA's name (in CICA's record on the draft),
    // and CICA's comment edited, then removed.
    let hash = s.cica.node().engine.read({
        let d = s.draft;
        move |c| Ok(c.read_draft(d)?.content_hash)
    });
    let hash = hash.await.unwrap();
    type Forgery = Box<dyn Fn(&mut Automerge, &str)>;
    let forgeries: Vec<(&str, Forgery)> = vec![
        (
            "approval",
            Box::new(|a: &mut Automerge, hash: &str| {
                let mut tx = a.transaction();
                let (_, m) = tx.get(ROOT, "approval").unwrap().unwrap();
                tx.put(&m, "hash", hash).unwrap();
                tx.put(&m, "by", "forger").unwrap();
                tx.put(&m, "at", "2026-11-30T00:00:00Z").unwrap();
                tx.commit();
            }),
        ),
        (
            "signature",
            Box::new(|a: &mut Automerge, hash: &str| {
                let mut tx = a.transaction();
                let (_, m) = tx.get(ROOT, "signature").unwrap().unwrap();
                tx.put(&m, "hash", hash).unwrap();
                tx.put(&m, "signature", "00".repeat(64)).unwrap();
                tx.put(&m, "key", "11".repeat(32)).unwrap();
                tx.put(&m, "by", "forger").unwrap();
                tx.put(&m, "at", "2026-11-30T00:00:00Z").unwrap();
                tx.commit();
            }),
        ),
    ];
    for (what, f) in &forgeries {
        let mut annex = h.copy(&s.cica, s.annex).await;
        let before = annex.get_heads();
        f(&mut annex, &hash);
        let b = h.batch(s.annex, &before, &annex, vec![h.head(s.annex, &annex, &h.actor.actor(0))]);
        refuse(h, &s.cica, &b, not_its).await;
        let d = s.cica.node().engine.read({
            let id = s.draft;
            move |c| c.read_draft(id)
        });
        let d = d.await.unwrap();
        assert!(d.approvals.iter().all(|a| a.officer.as_ref().unwrap().officer != "forger"), "{what} kept");
        assert!(d.signatures.is_empty(), "{what} kept");
    }
    for remove in [false, true] {
        let mut annex = h.copy(&s.cica, s.annex).await;
        let before = annex.get_heads();
        {
            let mut tx = annex.transaction();
            let (_, comments) = tx.get(ROOT, "comments").unwrap().unwrap();
            if remove {
                tx.delete(&comments, s.comment.as_str()).unwrap();
            } else {
                let (_, c) = tx.get(&comments, s.comment.as_str()).unwrap().unwrap();
                tx.put(&c, "text", "CICA agrees to everything").unwrap();
            }
            tx.commit();
        }
        let b = h.batch(s.annex, &before, &annex, vec![h.head(s.annex, &annex, &h.actor.actor(0))]);
        refuse(h, &s.cica, &b, not_its).await;
    }
    let d = s.cica.node().engine.read({
        let id = s.draft;
        move |c| c.read_draft(id)
    });
    let c = &d.await.unwrap().provisions[0].comments;
    assert_eq!((c.len(), c[0].text.as_str()), (1, "Please check the Russian"));

    // The API's acting Party is the node's: at the CICA node an officer cannot act for SCO RATS
    // either (the same rule, before anything is made).
    let c = ctx("clerk", "cica");
    let e = s
        .cica
        .node()
        .engine
        .write(move |x| {
            let n = NewOfficer {
                name: "X".into(),
                party: Some("sco-rats".parse().unwrap()),
                contact: "x".into(),
                mandate: None,
            };
            x.assign_officer(&c, &n)
        })
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("sco-rats can be written by sco-rats only"), "{e}");

    // CICA's registry and mandates are as CICA made them, on both of its nodes.
    for n in [&s.cica, &s.backup] {
        let officers = n.node().engine.read(|c| c.officers()).await.unwrap();
        assert_eq!(
            officers.iter().map(|o| (o.name.as_str(), o.ended_at.is_none())).collect::<Vec<_>>(),
            [("Ana", true)]
        );
        let m = n.node().engine.read(|c| c.mandates()).await.unwrap();
        assert_eq!(m.len(), 1);
        assert!(m[0].withdrawn_at.is_none());
    }
    converge(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_not_covered_by_their_own_nodes_signature_are_refused() {
    let mut s = scene().await;
    let h = &mut s.hostile;
    let cica_cert = s.cica.node().engine.read(|c| Ok(c.own_cert())).await.unwrap();

    // Joint work under the hostile node's own actor, validly signed: accepted, and proven the
    // hostile node's (so the refusals below are not refusals of everything).
    let mut m = h.copy(&s.cica, s.meeting).await;
    let before = m.get_heads();
    let patch = meeting::MeetingPatch { add_agenda: vec!["Item from SCO RATS".into()], ..Default::default() };
    meeting::update(&mut m, &ctx("ivan", "sco-rats"), &patch).unwrap();
    let good_head = h.head(s.meeting, &m, &h.actor.actor(0));
    let b = h.batch(s.meeting, &before, &m, vec![good_head.clone()]);
    assert!(matches!(h.send(&s.cica, &b).await, Some(Reply::Ack)));
    let hist = s.cica.node().engine.read({
        let id = s.meeting;
        move |c| c.history(id, None, 100)
    });
    let hist = hist.await.unwrap();
    let last = hist.last().unwrap();
    assert_eq!(
        (last.proof.as_str(), last.party.as_deref(), last.node.as_deref(), last.officer.as_deref()),
        ("node", Some("sco-rats"), Some(h.peer.to_string().as_str()), Some("ivan")),
        "{hist:?}"
    );

    // A valid actor, no signature at all.
    let mut m = h.copy(&s.cica, s.meeting).await;
    let before = m.get_heads();
    meeting::update(
        &mut m,
        &ctx("ivan", "sco-rats"),
        &meeting::MeetingPatch { venue: Some("Moscow".into()), ..Default::default() },
    )
    .unwrap();
    let b = h.batch(s.meeting, &before, &m, vec![]);
    refuse(h, &s.cica, &b, "is not covered by a signature of its node").await;

    // The same change with the old signature replayed (it covers only the earlier change).
    let b = h.batch(s.meeting, &before, &m, vec![good_head.clone()]);
    refuse(h, &s.cica, &b, "is not covered by a signature of its node").await;
    refuse(h, &s.backup, &b, "is not covered by a signature of its node").await;

    // A change under CICA's node's actor: signed by the hostile node's key it does not verify;
    // without a signature it is not covered.
    let mut m = h.copy(&s.cica, s.meeting).await;
    m.set_actor(cica_cert.actor.actor(0));
    let before = m.get_heads();
    meeting::update(
        &mut m,
        &ctx("A. Karimov", "cica"),
        &meeting::MeetingPatch { venue: Some("Nowhere".into()), ..Default::default() },
    )
    .unwrap();
    let forged = h.head(s.meeting, &m, &cica_cert.actor.actor(0));
    let b = h.batch(s.meeting, &before, &m, vec![forged]);
    refuse(h, &s.cica, &b, "does not hold").await;
    let b = h.batch(s.meeting, &before, &m, vec![]);
    refuse(h, &s.cica, &b, "is not covered by a signature of its node").await;

    // An actor nobody certified (the certificate is not sent, and none is held for it).
    let mut m = h.copy(&s.cica, s.meeting).await;
    m.set_actor(ActorId::from([0x77u8; 16].as_slice()));
    let before = m.get_heads();
    meeting::update(
        &mut m,
        &ctx("ghost", "sco-rats"),
        &meeting::MeetingPatch { venue: Some("?".into()), ..Default::default() },
    )
    .unwrap();
    let b = h.batch(s.meeting, &before, &m, vec![]);
    refuse(h, &s.cica, &b, "is not certified by any pinned Party").await;

    // A change whose seq skips a number (automerge itself would panic on it): refused, and the
    // node is still up and serving.
    let mut m = h.copy(&s.cica, s.meeting).await;
    let before = m.get_heads();
    meeting::update(
        &mut m,
        &ctx("ivan", "sco-rats"),
        &meeting::MeetingPatch { venue: Some("Gap".into()), ..Default::default() },
    )
    .unwrap();
    let mut e: automerge::ExpandedChange = m.get_last_local_change().unwrap().decode();
    e.seq += 5;
    e.hash = None;
    let gapped = automerge::Change::from(e);
    let head =
        SignedHead::sign(&h.node_key, s.meeting, h.actor.actor(0).to_bytes().to_vec(), gapped.seq(), gapped.hash().0)
            .unwrap();
    let msg = Message {
        heads: vec![gapped.hash()],
        need: vec![],
        have: vec![],
        changes: ChunkList::from(vec![gapped.raw_bytes().to_vec()]),
        flags: None,
        version: MessageVersion::V1,
    };
    let b = Batch {
        frames: vec![
            Frame::Certs(vec![h.cert.clone()]),
            Frame::Sync { doc: s.meeting, msg: msg.encode(), heads: vec![head] },
        ],
    };
    let _ = before;
    refuse(h, &s.cica, &b, "malformed").await;

    // A certificate for the hostile's actor signed with the wrong Party key is refused whole.
    let mut bad = h.cert.clone();
    bad.sig = [7; 64];
    let b = Batch { frames: vec![Frame::Certs(vec![bad])] };
    refuse(h, &s.cica, &b, "does not hold").await;

    converge(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_executed_draft_refuses_every_change_and_garbage_signatures_execute_nothing() {
    let mut s = scene().await;
    let h = &mut s.hostile;
    let sco_annex = PartyDoc::Annex(s.draft).id(&"sco-rats".parse().unwrap());

    let d = s.draft;
    // Both approve: SCO RATS in its own record (the real workspace code, signed by its node), and
    // CICA at its node.
    let draft_doc = h.copy(&s.cica, s.draft).await;
    let recs = s.cica.node().engine.read(move |x| x.draft_records(d)).await.unwrap();
    let mut annex = PartyDoc::Annex(s.draft).genesis(&"sco-rats".parse().unwrap()).unwrap();
    annex.set_actor(h.actor.actor(0));
    draft::approve(&mut annex, &draft_doc, &recs, &ctx("ivan", "sco-rats"), &d.to_string()).unwrap();
    let heads = vec![h.head(sco_annex, &annex, &h.actor.actor(0))];
    let b = Batch {
        frames: vec![
            Frame::Certs(vec![h.cert.clone()]),
            Frame::Snapshot { doc: sco_annex, kind: DocKind::Annex, bytes: annex.save(), heads },
        ],
    };
    assert!(matches!(h.send(&s.cica, &b).await, Some(Reply::Ack)));
    let c = s.cica.ctx();
    let state = s
        .cica
        .node()
        .engine
        .write(move |x| {
            x.approve_draft(d, &c)?;
            Ok(x.read_draft(d)?.state)
        })
        .await
        .unwrap();
    assert_eq!(state, draft::DraftState::Agreed);

    // SCO RATS writes garbage as its signature (its own record, so it is kept, and worth
    // nothing) and CICA signs: the draft is not executed, and it is not frozen.
    let before = annex.get_heads();
    {
        let hash = hex::encode(draft::content_hash(&draft_doc).unwrap());
        let mut tx = annex.transaction();
        let (_, m) = tx.get(ROOT, "signature").unwrap().unwrap();
        tx.put(&m, "hash", hash.as_str()).unwrap();
        tx.put(&m, "signature", "ab".repeat(64)).unwrap();
        tx.put(&m, "key", hex::encode(h.signing_key())).unwrap();
        tx.put(&m, "by", "ivan").unwrap();
        tx.put(&m, "at", "2026-11-30T00:00:00Z").unwrap();
        tx.commit();
    }
    let b = h.batch(sco_annex, &before, &annex, vec![h.head(sco_annex, &annex, &h.actor.actor(0))]);
    assert!(matches!(h.send(&s.cica, &b).await, Some(Reply::Ack)));
    let c = s.cica.ctx();
    let v = s
        .cica
        .node()
        .engine
        .write(move |x| {
            x.sign_draft(d, &c)?;
            x.read_draft(d)
        })
        .await
        .unwrap();
    assert_ne!(v.state, draft::DraftState::Executed, "garbage signatures executed the draft");
    assert!(v.signatures.iter().any(|s| s.party == "sco-rats" && !s.verified), "{:?}", v.signatures);
    assert!(!s.cica.node().engine.read(move |x| x.verify_draft(d)).await.unwrap().ok);

    // Now SCO RATS signs for real, with its Party key, in its own record: executed.
    let recs = s.cica.node().engine.read(move |x| x.draft_records(d)).await.unwrap();
    let before = annex.get_heads();
    draft::sign(&mut annex, &draft_doc, &recs, &ctx("ivan", "sco-rats"), &d.to_string(), &h.party_key).unwrap();
    let b = h.batch(sco_annex, &before, &annex, vec![h.head(sco_annex, &annex, &h.actor.actor(0))]);
    assert!(matches!(h.send(&s.cica, &b).await, Some(Reply::Ack)));
    let state = s.cica.node().engine.read(move |x| Ok(x.read_draft(d)?.state)).await.unwrap();
    assert_eq!(state, draft::DraftState::Executed);

    // Frozen: a text edit and a comment, validly signed by SCO RATS's node, are refused.
    let mut doc = h.copy(&s.cica, s.draft).await;
    let before = doc.get_heads();
    {
        let a1 = draft::read(&doc, "").unwrap().provisions[0].id.clone();
        let mut tx = doc.transaction();
        let (_, ps) = tx.get(ROOT, "provisions").unwrap().unwrap();
        let (_, p) = tx.get(&ps, a1.as_str()).unwrap().unwrap();
        let (_, texts) = tx.get(&p, "texts").unwrap().unwrap();
        let (_, en) = tx.get(&texts, "en").unwrap().unwrap();
        tx.splice_text(&en, 0, 0, "NOT ").unwrap();
        tx.commit();
    }
    let b = h.batch(s.draft, &before, &doc, vec![h.head(s.draft, &doc, &h.actor.actor(0))]);
    refuse(h, &s.cica, &b, "frozen").await;
    let mut annex = h.copy(&s.cica, sco_annex).await;
    let before = annex.get_heads();
    {
        let mut tx = annex.transaction();
        let (_, cs) = tx.get(ROOT, "comments").unwrap().unwrap();
        let c = tx.put_object(&cs, "late", ObjType::Map).unwrap();
        tx.put(&c, "provision", "a1").unwrap();
        tx.put(&c, "text", "after the fact").unwrap();
        tx.put(&c, "by", "ivan").unwrap();
        tx.put(&c, "at", "2026-11-30T00:00:00Z").unwrap();
        tx.commit();
    }
    let b = h.batch(sco_annex, &before, &annex, vec![h.head(sco_annex, &annex, &h.actor.actor(0))]);
    refuse(h, &s.cica, &b, "frozen").await;
    let v = s.cica.node().engine.read(move |x| x.verify_draft(d)).await.unwrap();
    assert!(v.ok, "{:?}", v.problems);
    converge(&s).await;
}

/// CICA's two nodes still converge: a change made at CICA after the attacks reaches the
/// backup, and both hold the very same documents.
async fn converge(s: &Scene) {
    s.cica.create_meeting("After the attacks").await;
    let (a, b) = (&s.cica, &s.backup);
    eventually("CICA's nodes converge after the attacks", || async {
        let (ha, hb) = (all_heads(a).await, all_heads(b).await);
        (ha == hb).then_some(())
    })
    .await;
}
