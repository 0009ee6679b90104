//! What a hostile peer can make a node hold or do is bounded (`[limits.peer]`), and a peer past
//! a bound loses its session, is audited once, and the other peers are served on. The hostile
//! peer is SCO RATS's node gone rogue (its real keys, a raw libp2p swarm speaking the real
//! protocol), or a third party; the hostile inputs are built with automerge and the vault
//! themselves. Against it: CICA's real node, with CICA's backup node as the honest peer that
//! keeps syncing through every attack.

mod inproc;

use inproc::hostile::Hostile;

use std::time::Instant;

use automerge::sync::{ChunkList, Message, MessageVersion};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ROOT};
use chrono::Utc;
use inproc::{TestNode, eventually, pin_pair, raw_swarm, send_batch};
use liaison::audit::Event;
use liaison::authorship::SignedHead;
use liaison::config::PeerRole;
use liaison::ids::{DocId, ItemId};
use liaison::net::protocol::{Batch, Frame, Reply};
use liaison::vault::{CHUNK_BYTES, Sealer, SignedEnvelope};
use liaison::workspace::meeting::{self, MeetingKind, NewMeeting};
use liaison::workspace::{Author, ChangeCtx, DocKind};
use libp2p::{PeerId, identity::Keypair};

impl Hostile {
    async fn pinned_by(&self, n: &TestNode) {
        let key = Some(self.party_key.verifying_key().to_bytes());
        n.pin_with_keys(self.peer, "sco-rats", PeerRole::Party, key, None).await;
    }

    fn actor_id(&self) -> ActorId {
        self.actor.actor(0)
    }

    /// The signed head of the hostile actor's newest change in `doc`.
    fn head(&self, id: DocId, doc: &Automerge) -> SignedHead {
        let me = self.actor_id();
        let last = doc.get_changes_meta(&[]).into_iter().filter(|m| *m.actor == me).max_by_key(|m| m.seq).unwrap();
        SignedHead::sign(&self.node_key, id, me.to_bytes().to_vec(), last.seq, last.hash.0).unwrap()
    }

    /// A meeting made by the hostile node, proven as SCO RATS's: what it may send.
    fn meeting(&self, title: &str) -> (DocId, Automerge) {
        let mut d = Automerge::new();
        d.set_actor(self.actor_id());
        let ctx = ChangeCtx {
            author: Author { officer: "ivan".into(), party: "sco-rats".parse().unwrap() },
            now: Utc::now(),
        };
        let new = NewMeeting {
            titles: Default::default(),
            tz: Default::default(),
            title: title.into(),
            starts: "2026-12-01T09:00:00Z".into(),
            ends: None,
            kind: MeetingKind::Consultation,
            venue: None,
            sidelines_of: None,
        };
        meeting::create(&mut d, &ctx, &new).unwrap();
        (DocId::random(), d)
    }

    fn snapshot(&self, id: DocId, d: &Automerge) -> Frame {
        Frame::Snapshot { doc: id, kind: DocKind::Meeting, bytes: d.save(), heads: vec![self.head(id, d)] }
    }

    async fn send(&mut self, n: &TestNode, batch: &Batch) -> Option<Reply> {
        send_batch(&mut self.swarm, n.peer_id(), n.addrs()[0].clone(), batch).await
    }
}

/// Sets `[limits.peer]` keys in a stopped or running node's node.toml, and restarts it.
async fn with_limits(n: &mut TestNode, keys: &[(&str, u64)]) {
    let file = n.dir.path().join("node.toml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    for (k, v) in keys {
        let start = text.find(&format!("\n{k} = ")).unwrap_or_else(|| panic!("no {k} in node.toml")) + 1;
        let end = start + text[start..].find('\n').unwrap();
        text.replace_range(start..end, &format!("{k} = {v}"));
    }
    std::fs::write(&file, text).unwrap();
    n.restart().await;
}

fn refused(r: &Option<Reply>) -> String {
    match r {
        Some(Reply::Refused(reason)) => reason.clone(),
        other => panic!("expected a refusal with its reason, got {other:?}"),
    }
}

async fn audit(n: &TestNode) -> Vec<Event> {
    n.node().engine.read(|c| c.audit_show(None)).await.unwrap().into_iter().map(|e| e.entry.event).collect()
}

/// Every document's heads at `n`.
async fn heads(n: &TestNode) -> std::collections::BTreeMap<String, Vec<String>> {
    n.node().engine.read(|c| Ok(c.doc_heads())).await.unwrap().into_iter().map(|d| (d.id, d.heads)).collect()
}

/// Refusals audited for `peer` because a batch was past a bound.
async fn bound_refusals(n: &TestNode, peer: PeerId) -> Vec<String> {
    audit(n)
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::ReceiveRefused { what, from_peer, reason, .. }
                if what == "batch past a bound" && from_peer == peer.to_string() =>
            {
                Some(reason)
            }
            _ => None,
        })
        .collect()
}

async fn connected(n: &TestNode, peer: PeerId) -> bool {
    n.status().await.peers.iter().any(|p| p.peer_id == peer.to_string() && p.connected)
}

/// The refusal of `batch` names `key`, the session is dropped, the refusal is audited once, and
/// nothing of the batch is kept (no new document, no new head).
async fn refused_for(h: &mut Hostile, n: &TestNode, batch: &Batch, key: &str) -> std::time::Duration {
    let before = heads(n).await;
    let audited = bound_refusals(n, h.peer).await.len();
    let t0 = Instant::now();
    let reason = refused(&h.send(n, batch).await);
    let took = t0.elapsed();
    assert!(reason.contains(key), "refused, but for {reason:?}, not {key}");
    let peer = h.peer;
    eventually("the node drops the session", || async { (!connected(n, peer).await).then_some(()) }).await;
    assert_eq!(heads(n).await, before, "a refused batch left something");
    let after = bound_refusals(n, h.peer).await;
    assert_eq!(after.len(), audited + 1, "not audited once: {after:?}");
    assert!(after.last().unwrap().contains(key), "{after:?}");
    took
}

/// The honest peer still syncs both ways with `a`.
async fn honest_still_syncs(a: &TestNode, b: &TestNode, title: &str) {
    let id = b.create_meeting(title).await;
    eventually("the honest peer's meeting reaches the node", || async {
        a.meetings().await.iter().any(|m| m.id == id.to_string()).then_some(())
    })
    .await;
    let id = a.create_meeting(&format!("{title}, answered")).await;
    eventually("the node's meeting reaches the honest peer", || async {
        b.meetings().await.iter().any(|m| m.id == id.to_string()).then_some(())
    })
    .await;
}

/// A document holding one string of `bytes` repeated bytes: a few KB saved, `bytes` loaded.
fn bomb(h: &Hostile, bytes: usize) -> Automerge {
    let mut d = Automerge::new();
    d.set_actor(h.actor_id());
    let mut tx = d.transaction();
    tx.put(ROOT, "s", "a".repeat(bytes)).unwrap();
    tx.commit();
    d
}

// ---- finding 6: decompressed size and change count, before decompressing or loading ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_past_the_bounds_are_refused_before_they_are_loaded() {
    let mut a = TestNode::new("cica", None).await;
    // The smallest bounds the config takes, so that the hostile inputs stay small here.
    with_limits(&mut a, &[("doc_bytes", 1 << 20), ("batch_doc_bytes", 17 << 20), ("doc_changes", 1000)]).await;
    let b = TestNode::new("cica", Some(a.dir.path())).await;
    pin_pair(&a, &b).await;
    let mut h = Hostile::new();
    h.pinned_by(&a).await;
    h.pinned_by(&b).await;
    let certs = Frame::Certs(vec![h.cert.clone()]);

    // A snapshot that is 16 KB saved and 16 MiB once decompressed.
    let d = bomb(&h, 16 << 20);
    let saved = d.save();
    assert!(saved.len() < 64 << 10, "{}", saved.len());
    let id = DocId::random();
    let frame = Frame::Snapshot { doc: id, kind: DocKind::Meeting, bytes: saved, heads: vec![h.head(id, &d)] };
    let took = refused_for(&mut h, &a, &Batch { frames: vec![certs.clone(), frame] }, "limits.peer.doc_bytes").await;
    assert!(took.as_secs() < 10, "refusing took {took:?}");
    honest_still_syncs(&a, &b, "After the bomb").await;

    // Many snapshots that each fit, together past the batch bound: nothing of them is loaded.
    let frames: Vec<Frame> = std::iter::once(certs.clone())
        .chain((0..20).map(|_| {
            let d = bomb(&h, 900 << 10);
            let id = DocId::random();
            Frame::Snapshot { doc: id, kind: DocKind::Meeting, bytes: d.save(), heads: vec![h.head(id, &d)] }
        }))
        .collect();
    refused_for(&mut h, &a, &Batch { frames }, "limits.peer.batch_doc_bytes").await;

    // A document of 1,500 empty changes: a few KB, past the change bound.
    let (id, mut d) = h.meeting("Many changes");
    for _ in 0..1500 {
        d.empty_commit(Default::default());
    }
    let frame = h.snapshot(id, &d);
    refused_for(&mut h, &a, &Batch { frames: vec![certs.clone(), frame] }, "limits.peer.doc_changes").await;

    // The sync message path: a compressed change that inflates past the bound, to a meeting we hold.
    let target = a.create_meeting("Target").await;
    let bytes = a.node().engine.read(move |c| Ok(c.doc(target)?.save())).await.unwrap();
    let mut copy = Automerge::load(&bytes).unwrap();
    copy.set_actor(h.actor_id());
    let before = copy.get_heads();
    let mut tx = copy.transaction();
    tx.put(ROOT, "padding", "a".repeat(8 << 20)).unwrap();
    tx.commit();
    let mut change = copy.get_changes(&before).pop().unwrap().clone();
    let packed = change.bytes().into_owned();
    assert!(packed.len() < 64 << 10, "{}", packed.len());
    let msg = Message {
        heads: copy.get_heads(),
        need: vec![],
        have: vec![],
        changes: ChunkList::from(vec![packed]),
        flags: None,
        version: MessageVersion::V1,
    };
    let frame = Frame::Sync { doc: target, msg: msg.encode(), heads: vec![h.head(target, &copy)] };
    refused_for(&mut h, &a, &Batch { frames: vec![certs.clone(), frame] }, "limits.peer.doc_bytes").await;

    // Growth: changes that each fit, to a document that they would take past the bound.
    let mut copy = Automerge::load(&bytes).unwrap();
    copy.set_actor(h.actor_id());
    for round in 0..2 {
        let before = copy.get_heads();
        let text: String = (0..600_000).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
        let mut tx = copy.transaction();
        tx.put(ROOT, format!("note{round}"), text).unwrap();
        tx.commit();
        let changes = copy.get_changes(&before).into_iter().map(|c| c.raw_bytes().to_vec()).collect::<Vec<_>>();
        let msg = Message {
            heads: copy.get_heads(),
            need: vec![],
            have: vec![],
            changes: ChunkList::from(changes),
            flags: None,
            version: MessageVersion::V1,
        };
        let batch = Batch {
            frames: vec![
                certs.clone(),
                Frame::Sync { doc: target, msg: msg.encode(), heads: vec![h.head(target, &copy)] },
            ],
        };
        if round == 0 {
            let r = h.send(&a, &batch).await;
            assert!(matches!(r, Some(Reply::Ack)), "a change within the bounds: {r:?}");
        } else {
            refused_for(&mut h, &a, &batch, "limits.peer.doc_bytes").await;
        }
    }
    honest_still_syncs(&a, &b, "After every document attack").await;
}

// ---- finding 7: what one peer may create here, kept across restarts ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_creates_no_more_documents_than_its_quota_even_after_a_restart() {
    let mut a = TestNode::new("cica", None).await;
    with_limits(&mut a, &[("docs", 5)]).await;
    let b = TestNode::new("cica", Some(a.dir.path())).await;
    pin_pair(&a, &b).await;
    // Both nodes publish their Party's names at first start: let that settle, so that what
    // arrives from b later cannot be taken for something a refused batch left.
    eventually("a and b hold the same", || async { (heads(&a).await == heads(&b).await).then_some(()) }).await;
    let mut h = Hostile::new();
    h.pinned_by(&a).await;
    h.pinned_by(&b).await;
    let certs = Frame::Certs(vec![h.cert.clone()]);
    let meetings_before = a.meetings().await.len();

    // Five meetings, the quota, in two batches: accepted, and proven as SCO RATS's.
    let mut made = Vec::new();
    for titles in [&["M1", "M2", "M3"][..], &["M4", "M5"]] {
        let frames = std::iter::once(certs.clone())
            .chain(titles.iter().map(|t| {
                let (id, d) = h.meeting(t);
                let f = h.snapshot(id, &d);
                made.push((id, d));
                f
            }))
            .collect();
        let r = h.send(&a, &Batch { frames }).await;
        assert!(matches!(r, Some(Reply::Ack)), "within the quota: {r:?}");
    }
    assert_eq!(a.meetings().await.len(), meetings_before + 5);
    // A sixth is past it: refused whole, audited once, the session dropped.
    let (id, d) = h.meeting("M6");
    let batch = Batch { frames: vec![certs.clone(), h.snapshot(id, &d)] };
    refused_for(&mut h, &a, &batch, "limits.peer.docs").await;
    honest_still_syncs(&a, &b, "Honest after the quota").await;

    // A restart does not give the peer a new quota.
    a.restart().await;
    let (id, d) = h.meeting("M7");
    let batch = Batch { frames: vec![certs.clone(), h.snapshot(id, &d)] };
    refused_for(&mut h, &a, &batch, "limits.peer.docs").await;
    assert_eq!(a.meetings().await.iter().filter(|m| m.title.starts_with('M')).count(), 5);

    // The bytes it added count too, across the restart: with limits.peer.bytes below what it
    // has added already, a change to one of its own meetings is refused.
    with_limits(&mut a, &[("bytes", 1)]).await;
    let (id, mut d) = made.swap_remove(0);
    let before = d.get_heads();
    let mut tx = d.transaction();
    tx.put(ROOT, "note", "one more line").unwrap();
    tx.commit();
    let msg = Message {
        heads: d.get_heads(),
        need: vec![],
        have: vec![],
        changes: ChunkList::from(
            d.get_changes(&before).into_iter().map(|c| c.raw_bytes().to_vec()).collect::<Vec<_>>(),
        ),
        flags: None,
        version: MessageVersion::V1,
    };
    let batch =
        Batch { frames: vec![certs.clone(), Frame::Sync { doc: id, msg: msg.encode(), heads: vec![h.head(id, &d)] }] };
    // (Every peer has its own count: the honest one is past a bound of 1 byte too, so it is not
    // asked to sync here.)
    refused_for(&mut h, &a, &batch, "limits.peer.bytes").await;
}

// ---- finding 7: item offers against the signed envelope, before anything is written ----

/// An item provided by SCO RATS (signed with its real Party key): `chunks` full chunks and a
/// short last one.
fn sco_item(h: &Hostile, full: usize) -> (SignedEnvelope, Vec<Vec<u8>>) {
    let mut s = Sealer::new(ItemId::random());
    let mut cts: Vec<Vec<u8>> =
        (0..full).map(|i| s.chunk(vec![i as u8; CHUNK_BYTES], false).unwrap().to_vec()).collect();
    cts.push(s.chunk(b"the end".to_vec(), true).unwrap().to_vec());
    let (env, _) = s
        .finish("sco-rats".parse().unwrap(), Utc::now().to_rfc3339(), "RESTRICTED".into(), None, "t", &h.party_key)
        .unwrap();
    (env, cts)
}

fn offer(env: &SignedEnvelope) -> Frame {
    Frame::ItemOffer { envelope: Box::new(env.clone()), wraps: vec![], grant: None }
}

async fn chunk_stored(n: &TestNode, item: ItemId, index: u32) -> bool {
    n.node().engine.read(move |c| Ok(c.item_chunk(item, index).is_ok())).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_offers_are_checked_against_the_signed_envelope_before_a_byte_is_written() {
    let a = TestNode::new("cica", None).await;
    let b = TestNode::new("cica", Some(a.dir.path())).await;
    pin_pair(&a, &b).await;
    let mut h = Hostile::new();
    h.pinned_by(&a).await;
    h.pinned_by(&b).await;
    let store_before = a.status().await.store_bytes;

    // An offer that claims u32::MAX chunks, signed with SCO RATS's real Party key (a dishonest
    // Party can sign whatever it likes): refused before anything.
    let (mut env, _) = sco_item(&h, 0);
    env.envelope.chunks = u32::MAX;
    env.envelope.plaintext_bytes = u64::from(u32::MAX) * CHUNK_BYTES as u64;
    env.signature = liaison::signing::sign(&h.party_key, "liaison/item-envelope/v1", &env.envelope).unwrap();
    assert!(env.verify(&h.party_key.verifying_key().to_bytes()).is_ok(), "the claim is properly signed");
    refused_item(&mut h, &a, &Batch { frames: vec![offer(&env)] }, "limits.peer.item_chunks").await;

    // A real two-chunk item, then a 30 MiB chunk where its envelope says 1 MiB and 16 bytes.
    let (env, cts) = sco_item(&h, 1);
    let item = env.envelope.item;
    let big = Frame::ItemChunk { item, index: 0, data: vec![0x42; 30 << 20] };
    refused_item(&mut h, &a, &Batch { frames: vec![offer(&env), big] }, "where its signed envelope makes it").await;
    assert!(!chunk_stored(&a, item, 0).await, "a chunk of the wrong size was written");
    let grown = a.status().await.store_bytes.saturating_sub(store_before);
    eprintln!("store after the u32::MAX offer and the 30 MiB chunk: grew by {} KiB", grown >> 10);
    assert!(grown < 4 << 20, "the store grew by {grown} bytes");

    // Offers past limits.peer.pending_offers (8 by default) in flight at once.
    let frames = (0..9).map(|_| offer(&sco_item(&h, 0).0)).collect();
    refused_item(&mut h, &a, &Batch { frames }, "limits.peer.pending_offers").await;

    // A transfer abandoned half way: its chunk is on disk once acknowledged, and removed as soon
    // as the session ends, not at the next start.
    let r = h
        .send(&a, &Batch { frames: vec![offer(&env), Frame::ItemChunk { item, index: 0, data: cts[0].clone() }] })
        .await;
    assert!(matches!(r, Some(Reply::Ack)), "{r:?}");
    assert!(chunk_stored(&a, item, 0).await);
    h.swarm = raw_swarm(liaison::keys::load(h.dir.path()).unwrap().node);
    eventually("the abandoned transfer's chunk is removed", || async {
        (!chunk_stored(&a, item, 0).await).then_some(())
    })
    .await;

    // The whole item, in order and of the right sizes, is received.
    let r = h
        .send(
            &a,
            &Batch {
                frames: vec![
                    offer(&env),
                    Frame::ItemChunk { item, index: 0, data: cts[0].clone() },
                    Frame::ItemChunk { item, index: 1, data: cts[1].clone() },
                ],
            },
        )
        .await;
    assert!(matches!(r, Some(Reply::Ack)), "{r:?}");
    let items = a.node().engine.read(|c| c.item_list()).await.unwrap();
    assert!(items.iter().any(|i| i.id == item.to_string()), "the honest transfer was not kept");
    honest_still_syncs(&a, &b, "Honest after the offers").await;
}

/// An item refusal: its reason, the session dropped, one item refusal audited.
async fn refused_item(h: &mut Hostile, n: &TestNode, batch: &Batch, why: &str) {
    let me = h.peer.to_string();
    let count = |ev: &[Event]| {
        ev.iter()
            .filter(
                |e| matches!(e, Event::ReceiveRefused { what, from_peer, .. } if what == "item" && *from_peer == me),
            )
            .count()
    };
    let audited = count(&audit(n).await);
    let reason = refused(&h.send(n, batch).await);
    assert!(reason.contains(why), "refused, but for {reason:?}, not {why:?}");
    let peer = h.peer;
    eventually("the node drops the session", || async { (!connected(n, peer).await).then_some(()) }).await;
    assert_eq!(count(&audit(n).await), audited + 1, "not audited once");
}

// ---- finding 5: a flood of refused requests ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_item_requests_costs_one_audit_entry_per_interval() {
    let holder = TestNode::new("sco-rats", None).await;
    let backup = TestNode::new("sco-rats", Some(holder.dir.path())).await;
    pin_pair(&holder, &backup).await;
    let x = Keypair::generate_ed25519();
    let x_id = x.public().to_peer_id();
    holder.pin_with_keys(x_id, "x-org", PeerRole::ThirdParty, None, None).await;
    let mut asker = raw_swarm(x);
    let addr = holder.addrs()[0].clone();
    let entries = |n: &TestNode| {
        let e = n.node().engine.clone();
        async move { e.read(|c| c.audit_show(None)).await.unwrap().len() }
    };
    // The pin is applied (and audited) in a round of its own: start counting after it.
    eventually("the third party is pinned", || async {
        holder.status().await.peers.iter().any(|p| p.peer_id == x_id.to_string()).then_some(())
    })
    .await;
    let (audit_before, store_before) = (entries(&holder).await, holder.status().await.store_bytes);

    // 200,000 requests in one batch: past limits.peer.batch_frames, refused without looking at
    // any of them: one audit entry, and quickly.
    let flood = Batch { frames: (0..200_000).map(|_| Frame::ItemRequest(ItemId::random())).collect() };
    let t0 = Instant::now();
    let r = send_batch(&mut asker, holder.peer_id(), addr.clone(), &flood).await;
    let took = t0.elapsed();
    assert!(refused(&r).contains("limits.peer.batch_frames"), "{r:?}");
    eprintln!("200,000 requests in one batch refused in {took:?}");
    assert!(took.as_secs() < 10, "refusing the flood took {took:?}");
    let ev = audit(&holder).await;
    assert_eq!(ev.len(), audit_before + 1, "{:?}", &ev[audit_before..]);

    // Within the frame bound, 3 × 10,000 requests: each answered, the first refusal audited on
    // its own, the rest counted, and the count audited once the session ends.
    for _ in 0..3 {
        let batch = Batch { frames: (0..10_000).map(|_| Frame::ItemRequest(ItemId::random())).collect() };
        let r = send_batch(&mut asker, holder.peer_id(), addr.clone(), &batch).await;
        assert!(matches!(r, Some(Reply::Ack)), "{r:?}");
    }
    let ev = audit(&holder).await;
    assert_eq!(
        ev.len(),
        audit_before + 2,
        "the first refusal has its entry, the rest are counted: {:?}",
        &ev[audit_before..]
    );
    drop(asker);
    let counted = eventually("the count is audited when the session ends", || async {
        audit(&holder).await.into_iter().find_map(|e| match e {
            Event::RefusalsCounted { from_peer, count, .. } if from_peer == x_id.to_string() => Some(count),
            _ => None,
        })
    })
    .await;
    assert_eq!(counted, 29_999);
    let ev = audit(&holder).await;
    assert_eq!(ev.len(), audit_before + 3, "{:?}", &ev[audit_before..]);
    let grown = holder.status().await.store_bytes.saturating_sub(store_before);
    eprintln!("after 230,000 refused requests the store grew by {} KiB", grown >> 10);
    assert!(grown < 2 << 20, "the store grew by {grown} bytes");
    let intact = holder.node().engine.read(|c| c.audit_verify()).await.unwrap();
    assert!(intact.is_ok(), "{intact:?}");

    // The other peers are served on.
    let id = backup.create_meeting("After the flood").await;
    eventually("the backup's meeting reaches the holder", || async {
        holder.meetings().await.iter().any(|m| m.id == id.to_string()).then_some(())
    })
    .await;
}

// ---- finding 6 through the real binary: the node process's memory ----

#[path = "common/mod.rs"]
mod common;

/// The peak resident memory of a process so far, in bytes.
fn vm_hwm(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_decompression_bombs_in_one_batch_do_not_raise_the_nodes_memory() {
    // The attack as it was made: `liaison serve` with its default bounds, and SCO RATS's node
    // (pinned, with its Party key) sending three 512 MiB documents of about 510 KB each.
    let mut a = common::Node::init("A", "cica", "CICA");
    let h = common::Node::init("H", "sco-rats", "SCO RATS");
    // H never serves (the test's own swarm speaks with its key): its card needs an address that
    // could be dialled, and nothing listens there.
    let toml = h.dir.join("node.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(&toml, text.replacen("external_addrs = []", "external_addrs = [\"/ip4/127.0.0.1/tcp/9\"]", 1))
        .unwrap();
    a.pin(&h, None);
    let info = a.start();
    let addr: libp2p::Multiaddr = info["listen"][0].as_str().unwrap().parse().unwrap();
    let a_id: PeerId = a.peer_id().parse().unwrap();
    let mut swarm = raw_swarm(liaison::keys::load(&h.dir).unwrap().node);

    let saved = {
        let mut d = Automerge::new();
        let mut tx = d.transaction();
        tx.put(ROOT, "s", "a".repeat(512 << 20)).unwrap();
        tx.commit();
        d.save()
    };
    assert!(saved.len() < 1 << 20, "{}", saved.len());
    let frames = (0..3)
        .map(|_| Frame::Snapshot { doc: DocId::random(), kind: DocKind::Meeting, bytes: saved.clone(), heads: vec![] })
        .collect();
    let before = vm_hwm(a.pid());
    let t0 = Instant::now();
    let r = send_batch(&mut swarm, a_id, addr, &Batch { frames }).await;
    let took = t0.elapsed();
    let reason = refused(&r);
    assert!(reason.contains("limits.peer.doc_bytes"), "{reason}\n{}", a.logs());
    let grew = vm_hwm(a.pid()).saturating_sub(before);
    eprintln!("VmHWM of the node: {} MiB before, grew by {} KiB; refused in {took:?}", before >> 20, grew >> 10);
    assert!(grew < 32 << 20, "the node's peak memory grew by {} MiB", grew >> 20);
    let audited = a.ok(&["audit", "show", "--json"]).matches("batch past a bound").count();
    assert_eq!(audited, 1, "{}", a.logs());
}
