//! Several real nodes in one process: real libp2p on loopback, real stores on disk, real TLS
//! for the API. Hostile and unpinned peers are raw libp2p swarms speaking (or garbling) the
//! sync protocol.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use liaison::config::{self, PeerRole, PinnedPeer};
use liaison::engine::{EngineError, NodeStatus};
use liaison::ids::DocId;
use liaison::net::protocol::{Batch, Frame, Reply, SYNC_PROTOCOL};
use liaison::node::{InitOptions, Node, init_data_dir};
use liaison::workspace::draft::{self, NewDraft, Splice};
use liaison::workspace::meeting::{self, Meeting, MeetingKind, NewMeeting};
use liaison::workspace::{Author, ChangeCtx, DocKind};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identity::Keypair, noise, tcp, yamux};
use tempfile::TempDir;

struct TestNode {
    dir: TempDir,
    node: Option<Node>,
    party: &'static str,
}

impl TestNode {
    async fn new(party: &'static str, party_keys_from: Option<&Path>) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        init_data_dir(
            dir.path(),
            &InitOptions {
                party_id: party.parse().unwrap(),
                party_name: format!("{party} node"),
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                api: "127.0.0.1:0".parse().unwrap(),
                party_keys_from: party_keys_from.map(Path::to_path_buf),
            },
        )
        .unwrap();
        let node = Node::start(dir.path()).await.unwrap();
        TestNode { dir, node: Some(node), party }
    }

    fn node(&self) -> &Node {
        self.node.as_ref().expect("node running")
    }

    fn peer_id(&self) -> PeerId {
        self.node().peer_id
    }

    fn addrs(&self) -> Vec<Multiaddr> {
        self.node().listen.clone()
    }

    async fn stop(&mut self) {
        if let Some(n) = self.node.take() {
            n.stop().await;
        }
    }

    async fn restart(&mut self) {
        self.stop().await;
        self.node = Some(Node::start(self.dir.path()).await.unwrap());
    }

    /// Pins `other` (at its current addresses) and tells the running node.
    async fn pin(&self, other: PeerId, party: &str, addrs: Vec<Multiaddr>, role: PeerRole) {
        let peer = PinnedPeer {
            party_id: party.parse().unwrap(),
            peer_id: other,
            addrs,
            role,
            signing_key: None,
            sealing_key: None,
        };
        config::add_peer(self.dir.path(), &peer).unwrap();
        self.node().reload().await.unwrap();
    }

    fn ctx(&self) -> ChangeCtx {
        ChangeCtx { author: Author { officer: "tester".into(), party: self.party.parse().unwrap() }, now: Utc::now() }
    }

    async fn create_meeting(&self, title: &str) -> DocId {
        let ctx = self.ctx();
        let new = NewMeeting {
            title: title.into(),
            starts: "2026-12-01T09:00:00Z".into(),
            ends: None,
            kind: MeetingKind::WorkingMeeting,
            venue: None,
            sidelines_of: None,
        };
        self.node().engine.write(move |c| c.create(DocKind::Meeting, |d| meeting::create(d, &ctx, &new))).await.unwrap()
    }

    async fn create_draft(&self, text: &str) -> DocId {
        let ctx = self.ctx();
        let new = NewDraft { group: "g".into(), title: "Draft".into(), lang: "en".into(), text: text.into() };
        self.node().engine.write(move |c| c.create(DocKind::Draft, |d| draft::create(d, &ctx, &new))).await.unwrap()
    }

    async fn splice(&self, id: DocId, pos: usize, insert: &str) {
        let ctx = self.ctx();
        let sp = Splice { pos, delete: 0, insert: insert.into() };
        self.node().engine.write(move |c| c.change(id, |d| draft::splice(d, &ctx, &sp))).await.unwrap()
    }

    async fn meetings(&self) -> Vec<Meeting> {
        self.node()
            .engine
            .read(|c| {
                let mut out = Vec::new();
                for id in c.ids_of(DocKind::Meeting) {
                    out.push(meeting::read(c.doc(id)?, &id.to_string())?);
                }
                Ok::<_, EngineError>(out)
            })
            .await
            .unwrap()
    }

    async fn draft_text(&self, id: DocId) -> Option<String> {
        self.node()
            .engine
            .read(move |c| match c.doc(id) {
                Ok(d) => Ok(Some(draft::read(d, "")?.text)),
                Err(_) => Ok(None),
            })
            .await
            .unwrap()
    }

    async fn status(&self) -> NodeStatus {
        self.node().engine.status().await.unwrap()
    }
}

/// Pins two nodes to each other as Party peers.
async fn pin_pair(a: &TestNode, b: &TestNode) {
    a.pin(b.peer_id(), b.party, b.addrs(), PeerRole::Party).await;
    b.pin(a.peer_id(), a.party, a.addrs(), PeerRole::Party).await;
}

/// Polls `f` until it returns `Some`, or fails after 20 s with `what`.
async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

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

/// A codec that sends whatever bytes it is given: to speak garbage on the sync protocol.
#[derive(Clone, Default)]
struct RawCodec;

impl request_response::Codec for RawCodec {
    type Protocol = StreamProtocol;
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T: futures::AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Vec<u8>> {
        let mut v = Vec::new();
        futures::AsyncReadExt::read_to_end(io, &mut v).await?;
        Ok(v)
    }
    async fn read_response<T: futures::AsyncRead + Unpin + Send>(
        &mut self,
        p: &StreamProtocol,
        io: &mut T,
    ) -> std::io::Result<Vec<u8>> {
        // A stream closed without a byte is no answer at all.
        let v = self.read_request(p, io).await?;
        if v.is_empty() { Err(std::io::ErrorKind::UnexpectedEof.into()) } else { Ok(v) }
    }
    async fn write_request<T: futures::AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Vec<u8>,
    ) -> std::io::Result<()> {
        futures::AsyncWriteExt::write_all(io, &req).await
    }
    async fn write_response<T: futures::AsyncWrite + Unpin + Send>(
        &mut self,
        p: &StreamProtocol,
        io: &mut T,
        r: Vec<u8>,
    ) -> std::io::Result<()> {
        self.write_request(p, io, r).await
    }
}

#[derive(NetworkBehaviour)]
struct Raw {
    rr: request_response::Behaviour<RawCodec>,
}

fn raw_swarm(key: Keypair) -> Swarm<Raw> {
    libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|_| Raw {
            rr: request_response::Behaviour::with_codec(
                RawCodec,
                [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Outbound)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(20)),
            ),
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// What became of a raw request to a node.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The node answered (a CBOR `Reply`).
    Answered(Vec<u8>),
    /// The request failed and the node closed the connection.
    Dropped,
}

/// Connects `swarm` to `addr`, sends `bytes` as one request, and reports what happened.
async fn send_raw(swarm: &mut Swarm<Raw>, peer: PeerId, addr: Multiaddr, bytes: Vec<u8>) -> Outcome {
    swarm.dial(addr.with(libp2p::multiaddr::Protocol::P2p(peer))).unwrap();
    let mut sent = false;
    let mut failed = false;
    let deadline = tokio::time::sleep(Duration::from_secs(20));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::ConnectionEstablished { .. } if !sent => {
                    swarm.behaviour_mut().rr.send_request(&peer, bytes.clone());
                    sent = true;
                }
                SwarmEvent::Behaviour(RawEvent::Rr(request_response::Event::Message {
                    message: request_response::Message::Response { response, .. }, ..
                })) => return Outcome::Answered(response),
                SwarmEvent::Behaviour(RawEvent::Rr(request_response::Event::OutboundFailure { .. })) => failed = true,
                SwarmEvent::ConnectionClosed { num_established: 0, .. } => {
                    // Closed before or after the request: either way the peer got nothing.
                    return Outcome::Dropped;
                }
                SwarmEvent::OutgoingConnectionError { .. } => return Outcome::Dropped,
                _ => {}
            },
            _ = &mut deadline => panic!("no outcome within 20 s (sent: {sent}, failed: {failed})"),
        }
    }
}

fn cbor(batch: &Batch) -> Vec<u8> {
    // Encode with libp2p's own codec, exactly as a node would.
    futures::executor::block_on(async {
        use libp2p::request_response::Codec;
        let mut codec = request_response::cbor::codec::Codec::<Batch, Reply>::default();
        let mut out = futures::io::Cursor::new(Vec::new());
        codec.write_request(&StreamProtocol::new(SYNC_PROTOCOL), &mut out, batch.clone()).await.unwrap();
        out.into_inner()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_lose_their_session_and_the_others_keep_syncing() {
    let a = TestNode::new("cica", None).await;
    let b = TestNode::new("sco-rats", None).await;
    pin_pair(&a, &b).await;
    let hostile_key = Keypair::generate_ed25519();
    let hostile_id = hostile_key.public().to_peer_id();
    a.pin(hostile_id, "sco-rats", vec![], PeerRole::Party).await;
    let mut hostile = raw_swarm(hostile_key);
    let addr = a.addrs()[0].clone();

    // Garbage that is not CBOR at all.
    let r = send_raw(&mut hostile, a.peer_id(), addr.clone(), b"\xff\x00garbage".to_vec()).await;
    assert_eq!(r, Outcome::Dropped);
    // A well-formed batch over the size cap (32 MiB by default): read up to the cap, then dropped.
    let big = Batch { frames: vec![Frame::Sync { doc: DocId::random(), msg: vec![0x42; 33 * 1024 * 1024] }] };
    let r = send_raw(&mut hostile, a.peer_id(), addr.clone(), cbor(&big)).await;
    assert_eq!(r, Outcome::Dropped);
    // Well-formed, but a snapshot that is not a document: refused, session dropped, nothing kept.
    let fake = DocId::random();
    let batch =
        Batch { frames: vec![Frame::Snapshot { doc: fake, kind: DocKind::Meeting, bytes: b"not automerge".to_vec() }] };
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
        frames: vec![Frame::Snapshot { doc: DocId::random(), kind: DocKind::Meeting, bytes: doc.save() }],
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
