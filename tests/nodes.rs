//! Several real nodes in one process: real libp2p on loopback, real stores on disk, real TLS
//! for the API. Hostile and unpinned peers are raw libp2p swarms speaking (or garbling) the sync
//! protocol.

mod inproc;

use chrono::Utc;
use inproc::{Outcome, TestNode, cbor, eventually, pin_pair, raw_swarm, send_raw};
use liaison::config::PeerRole;
use liaison::ids::DocId;
use liaison::net::protocol::{Batch, Frame};
use liaison::workspace::meeting::{self, MeetingKind, NewMeeting};
use liaison::workspace::{Author, ChangeCtx, DocKind};
use libp2p::identity::Keypair;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_party_with_two_nodes_and_the_other_party_replicate_everything() {
    let mut hq = TestNode::new("cica", None).await;
    let backup = TestNode::new("cica", Some(hq.dir.path())).await;
    let rats = TestNode::new("sco-rats", None).await;
    pin_pair(&hq, &backup).await;
    pin_pair(&hq, &rats).await;
    pin_pair(&backup, &rats).await;

    hq.create_meeting("Joint working meeting in Astana").await;
    for n in [&backup, &rats] {
        eventually("the meeting reaches every node", || async { (n.meetings().await.len() == 1).then_some(()) }).await;
    }

    // With HQ down, the other Party's edits still reach CICA's backup, and HQ catches up later.
    let d = rats.create_draft("Article 1.").await;
    eventually("the draft reaches both CICA nodes", || async {
        (hq.draft_text(d).await.is_some() && backup.draft_text(d).await.is_some()).then_some(())
    })
    .await;
    hq.stop().await;
    rats.splice(d, 10, " The Parties cooperate.").await;
    eventually("the backup gets the edit", || async {
        (backup.draft_text(d).await.as_deref() == Some("Article 1. The Parties cooperate.")).then_some(())
    })
    .await;
    hq.restart().await;
    eventually("HQ catches up after its restart", || async {
        (hq.draft_text(d).await.as_deref() == Some("Article 1. The Parties cooperate.")).then_some(())
    })
    .await;
    let st = hq.status().await;
    assert_eq!(st.peers.len(), 2);
    eventually("HQ reports both peers in sync", || async {
        let st = hq.status().await;
        st.peers.iter().all(|p| p.connected && p.behind == 0 && p.shared == st.documents_total).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnect_costs_what_changed_not_the_history() {
    let a = TestNode::new("cica", None).await;
    let mut b = TestNode::new("sco-rats", None).await;
    pin_pair(&a, &b).await;
    let mut drafts = Vec::new();
    for i in 0..30 {
        let d = a.create_draft(&format!("Draft {i}: {}", "lorem ipsum dolor sit amet ".repeat(40))).await;
        for k in 0..5 {
            a.splice(d, k, "x").await;
        }
        drafts.push(d);
    }
    let last = *drafts.last().unwrap();
    eventually("B has every draft", || async {
        b.draft_text(last).await.is_some_and(|t| t.starts_with("xxxxxDraft 29")).then_some(())
    })
    .await;
    let first_sync = b.status().await.peers[0].traffic.bytes_received;
    assert!(first_sync > 30 * 1000, "the first sync carried only {first_sync} bytes");

    b.stop().await;
    a.splice(drafts[3], 0, "CHANGED ").await;
    b.restart().await;
    eventually("B gets the change made while it was away", || async {
        b.draft_text(drafts[3]).await.is_some_and(|t| t.starts_with("CHANGED ")).then_some(())
    })
    .await;
    eventually("B is in sync again", || async {
        let st = b.status().await;
        (st.peers[0].behind == 0 && st.peers[0].connected).then_some(())
    })
    .await;
    let again = b.status().await.peers[0].traffic.bytes_received;
    // The catalog (about 50 bytes a document) plus one change; not the drafts again.
    assert!(again < first_sync / 10, "reconnect received {again} bytes; first sync was {first_sync}");
}

// ---- hostile and unpinned peers ----
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_lose_their_session_and_the_others_keep_syncing() {
    let a = TestNode::new("cica", None).await;
    let b = TestNode::new("sco-rats", None).await;
    pin_pair(&a, &b).await;
    let hostile_key = Keypair::generate_ed25519();
    let hostile_id = hostile_key.public().to_peer_id();
    a.pin_with_keys(hostile_id, "sco-rats", PeerRole::Party, Some(b.keys().signing_key), None).await;
    let mut hostile = raw_swarm(hostile_key);
    let addr = a.addrs()[0].clone();

    let dropped = |a: &TestNode| {
        let a = a.node().engine.clone();
        async move {
            let st = a.status().await.unwrap();
            st.peers.iter().any(|p| p.peer_id == hostile_id.to_string() && !p.connected).then_some(())
        }
    };
    // Garbage that is not CBOR at all: no answer, and the node itself drops the session.
    let r = send_raw(&mut hostile, a.peer_id(), addr.clone(), b"\xff\x00garbage".to_vec()).await;
    assert_eq!(r, Outcome::Dropped);
    eventually("A drops the session of the peer that sent garbage", || dropped(&a)).await;
    // A well-formed batch over the size cap (32 MiB by default): read up to the cap, then dropped.
    let big =
        Batch { frames: vec![Frame::Sync { doc: DocId::random(), msg: vec![0x42; 33 * 1024 * 1024], heads: vec![] }] };
    let r = send_raw(&mut hostile, a.peer_id(), addr.clone(), cbor(&big)).await;
    assert_eq!(r, Outcome::Dropped);
    eventually("A drops the session of the peer that sent too much", || dropped(&a)).await;
    // Well-formed, but a snapshot that is not a document: refused, session dropped, nothing kept.
    let fake = DocId::random();
    let batch = Batch {
        frames: vec![Frame::Snapshot {
            doc: fake,
            kind: DocKind::Meeting,
            bytes: b"not automerge".to_vec(),
            heads: vec![],
        }],
    };
    let r = send_raw(&mut hostile, a.peer_id(), addr.clone(), cbor(&batch)).await;
    match r {
        Outcome::Answered(bytes) => assert!(String::from_utf8_lossy(&bytes).contains("Refused"), "{bytes:?}"),
        Outcome::Dropped => {}
    }
    assert!(!a.status().await.documents.contains_key("meeting"), "the fake snapshot was stored");

    // Meanwhile the honest peer still syncs both ways.
    b.create_meeting("Still working").await;
    eventually("B's meeting reaches A after the attacks", || async { (a.meetings().await.len() == 1).then_some(()) })
        .await;
    a.create_meeting("Back to B").await;
    eventually("A's meeting reaches B", || async { (b.meetings().await.len() == 2).then_some(()) }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpinned_and_third_party_peers_get_nothing() {
    let a = TestNode::new("cica", None).await;
    a.create_meeting("SECRET-MARKER consultations").await;
    let addr = a.addrs()[0].clone();

    // Not pinned: the connection is closed right after the handshake; no request is answered.
    let mut stranger = raw_swarm(Keypair::generate_ed25519());
    let hello = cbor(&Batch { frames: vec![Frame::Catalog(vec![])] });
    assert_eq!(send_raw(&mut stranger, a.peer_id(), addr.clone(), hello.clone()).await, Outcome::Dropped);

    // A third party: connected, but its sync requests are refused, and a workspace document it
    // offers is not stored.
    let tp_key = Keypair::generate_ed25519();
    a.pin(tp_key.public().to_peer_id(), "un-office", vec![], PeerRole::ThirdParty).await;
    let mut tp = raw_swarm(tp_key);
    let mut doc = automerge::Automerge::new();
    let ctx =
        ChangeCtx { author: Author { officer: "x".into(), party: "un-office".parse().unwrap() }, now: Utc::now() };
    meeting::create(
        &mut doc,
        &ctx,
        &NewMeeting {
            titles: Default::default(),
            tz: Default::default(),
            title: "Planted".into(),
            starts: "2026-12-01T09:00:00Z".into(),
            ends: None,
            kind: MeetingKind::Consultation,
            venue: None,
            sidelines_of: None,
        },
    )
    .unwrap();
    let plant = cbor(&Batch {
        frames: vec![Frame::Snapshot {
            doc: DocId::random(),
            kind: DocKind::Meeting,
            bytes: doc.save(),
            heads: vec![],
        }],
    });
    match send_raw(&mut tp, a.peer_id(), addr.clone(), plant).await {
        Outcome::Answered(bytes) => {
            let text = String::from_utf8_lossy(&bytes).to_string();
            assert!(text.contains("Refused") && text.contains("third party"), "{text}");
        }
        Outcome::Dropped => {}
    }
    let titles: Vec<String> = a.meetings().await.into_iter().map(|m| m.title).collect();
    assert_eq!(titles, vec!["SECRET-MARKER consultations".to_string()]);
    // And nothing of the workspace was ever sent to it: A's counters for it are zero.
    let st = a.status().await;
    let tp_status = st.peers.iter().find(|p| p.role == "third-party").unwrap();
    assert_eq!((tp_status.shared, tp_status.traffic.bytes_sent), (0, 0));
}
