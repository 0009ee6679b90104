//! Helpers for the tests that run several real nodes in one process (real libp2p on
//! loopback, real stores, real TLS), and raw libp2p peers that speak, or garble, the sync
//! protocol.
#![allow(dead_code)]

pub mod hostile;

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;
use liaison::config::{self, PeerRole, PinnedPeer};
use liaison::engine::{EngineError, NodeStatus};
use liaison::ids::DocId;
use liaison::net::protocol::{Batch, Reply, SYNC_PROTOCOL};
use liaison::node::{InitOptions, Node, init_data_dir};
use liaison::workspace::draft::{self, NewDraft, Splice};
use liaison::workspace::meeting::{self, Meeting, MeetingKind, NewMeeting};
use liaison::workspace::{Author, ChangeCtx, DocKind};
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identity::Keypair, noise, tcp, yamux};
use tempfile::TempDir;

pub struct TestNode {
    pub dir: TempDir,
    pub node: Option<Node>,
    pub party: &'static str,
}

/// Logs of the nodes under test, when `LIAISON_TEST_LOG` is set (e.g. `liaison=debug`).
pub fn init_logs() {
    if let Ok(spec) = std::env::var("LIAISON_TEST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(spec).with_test_writer().try_init();
    }
}

impl TestNode {
    pub async fn new(party: &'static str, party_keys_from: Option<&Path>) -> TestNode {
        init_logs();
        let dir = tempfile::tempdir().unwrap();
        init_data_dir(
            dir.path(),
            &InitOptions {
                party_id: party.parse().unwrap(),
                party_name: format!("{party} node"),
                listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
                external_addrs: Vec::new(),
                api: "127.0.0.1:0".parse().unwrap(),
                party_keys_from: party_keys_from.map(Path::to_path_buf),
            },
        )
        .unwrap();
        let node = Node::start(dir.path()).await.unwrap();
        TestNode { dir, node: Some(node), party }
    }

    pub fn node(&self) -> &Node {
        self.node.as_ref().expect("node running")
    }

    pub fn peer_id(&self) -> PeerId {
        self.node().peer_id
    }

    pub fn addrs(&self) -> Vec<Multiaddr> {
        self.node().listen.clone()
    }

    pub async fn stop(&mut self) {
        if let Some(n) = self.node.take() {
            n.stop().await;
        }
    }

    pub async fn restart(&mut self) {
        self.stop().await;
        self.node = Some(Node::start(self.dir.path()).await.unwrap());
    }

    /// Pins `other` (at its current addresses, with no Party keys) and tells the running node.
    pub async fn pin(&self, other: PeerId, party: &str, addrs: Vec<Multiaddr>, role: PeerRole) {
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

    /// Pins another test node (at its current addresses) with its Party keys.
    pub async fn pin_node(&self, other: &TestNode, role: PeerRole) {
        let k = other.keys();
        let peer = PinnedPeer {
            party_id: other.party.parse().unwrap(),
            peer_id: other.peer_id(),
            addrs: other.addrs(),
            role,
            signing_key: Some(k.signing_key),
            sealing_key: Some(k.sealing_key),
        };
        config::add_peer(self.dir.path(), &peer).unwrap();
        self.node().reload().await.unwrap();
    }

    /// Pins a peer with its Party keys.
    pub async fn pin_with_keys(
        &self,
        other: PeerId,
        party: &str,
        role: PeerRole,
        signing_key: Option<[u8; 32]>,
        sealing_key: Option<[u8; 32]>,
    ) {
        let peer = PinnedPeer {
            party_id: party.parse().unwrap(),
            peer_id: other,
            addrs: vec![],
            role,
            signing_key,
            sealing_key,
        };
        config::add_peer(self.dir.path(), &peer).unwrap();
        self.node().reload().await.unwrap();
    }

    /// This node's Party keys.
    pub fn keys(&self) -> liaison::keys::PublicKeys {
        liaison::keys::load(self.dir.path()).unwrap().public()
    }

    pub fn ctx(&self) -> ChangeCtx {
        ChangeCtx { author: Author { officer: "tester".into(), party: self.party.parse().unwrap() }, now: Utc::now() }
    }

    pub async fn create_meeting(&self, title: &str) -> DocId {
        let ctx = self.ctx();
        let new = NewMeeting {
            titles: Default::default(),
            tz: Default::default(),
            title: title.into(),
            starts: "2026-12-01T09:00:00Z".into(),
            ends: None,
            kind: MeetingKind::WorkingMeeting,
            venue: None,
            sidelines_of: None,
        };
        self.node().engine.write(move |c| c.create(DocKind::Meeting, |d| meeting::create(d, &ctx, &new))).await.unwrap()
    }

    pub async fn create_draft(&self, text: &str) -> DocId {
        let ctx = self.ctx();
        let new = NewDraft {
            titles: Default::default(),
            group: "g".into(),
            title: "Draft".into(),
            lang: "en".into(),
            text: text.into(),
            languages: vec![],
            parties: vec![],
        };
        self.node().engine.write(move |c| c.create(DocKind::Draft, |d| draft::create(d, &ctx, &new))).await.unwrap()
    }

    pub async fn splice(&self, id: DocId, pos: usize, insert: &str) {
        let ctx = self.ctx();
        let sp = Splice { provision: None, lang: None, pos, delete: 0, insert: insert.into() };
        self.node().engine.write(move |c| c.change(id, |d| draft::splice(d, &ctx, &sp))).await.unwrap()
    }

    pub async fn meetings(&self) -> Vec<Meeting> {
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

    pub async fn draft_text(&self, id: DocId) -> Option<String> {
        self.node()
            .engine
            .read(move |c| match c.doc(id) {
                Ok(d) => Ok(Some(draft::read(d, "")?.text)),
                Err(_) => Ok(None),
            })
            .await
            .unwrap()
    }

    pub async fn status(&self) -> NodeStatus {
        self.node().engine.status().await.unwrap()
    }
}

/// Pins two nodes to each other as Party peers, each with the other's Party keys.
pub async fn pin_pair(a: &TestNode, b: &TestNode) {
    a.pin_node(b, PeerRole::Party).await;
    b.pin_node(a, PeerRole::Party).await;
}

/// Polls `f` until it returns `Some`, or fails after 20 s with `what`.
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
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

/// A codec that sends whatever bytes it is given: to speak garbage on the sync protocol.
#[derive(Clone, Default)]
pub struct RawCodec;

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
pub struct Raw {
    pub rr: request_response::Behaviour<RawCodec>,
}

pub fn raw_swarm(key: Keypair) -> Swarm<Raw> {
    libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)
        .unwrap()
        .with_behaviour(|_| Raw {
            rr: request_response::Behaviour::with_codec(
                RawCodec,
                [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(Duration::from_secs(20)),
            ),
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build()
}

/// What became of a raw request to a node.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// The node answered (a CBOR `Reply`).
    Answered(Vec<u8>),
    /// The request failed and the node closed the connection.
    Dropped,
}

/// Connects `swarm` to `addr`, sends `bytes` as one request, and reports what happened.
pub async fn send_raw(swarm: &mut Swarm<Raw>, peer: PeerId, addr: Multiaddr, bytes: Vec<u8>) -> Outcome {
    swarm.dial(addr.with(libp2p::multiaddr::Protocol::P2p(peer))).unwrap();
    let mut sent = false;
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
                // The request failed (the node reset the stream or closed the connection): no answer.
                SwarmEvent::Behaviour(RawEvent::Rr(request_response::Event::OutboundFailure { .. })) => return Outcome::Dropped,
                SwarmEvent::Behaviour(RawEvent::Rr(request_response::Event::Message {
                    message: request_response::Message::Request { channel, .. }, ..
                })) => {
                    // The node sends us what it sends its peers (a confirmation, say): take it.
                    let _ = swarm.behaviour_mut().rr.send_response(channel, ack_bytes());
                }
                SwarmEvent::ConnectionClosed { num_established: 0, .. } => {
                    // Closed before or after the request: either way the peer got nothing.
                    return Outcome::Dropped;
                }
                SwarmEvent::OutgoingConnectionError { .. } => return Outcome::Dropped,
                _ => {}
            },
            _ = &mut deadline => panic!("no outcome within 20 s (sent: {sent})"),
        }
    }
}

pub fn cbor(batch: &Batch) -> Vec<u8> {
    // Encode with libp2p's own codec, exactly as a node would.
    futures::executor::block_on(async {
        use libp2p::request_response::Codec;
        let mut codec = request_response::cbor::codec::Codec::<Batch, Reply>::default();
        let mut out = futures::io::Cursor::new(Vec::new());
        codec.write_request(&StreamProtocol::new(SYNC_PROTOCOL), &mut out, batch.clone()).await.unwrap();
        out.into_inner()
    })
}

/// A CBOR `Reply::Ack`, as a node's codec writes it.
pub fn ack_bytes() -> Vec<u8> {
    futures::executor::block_on(async {
        use libp2p::request_response::Codec;
        let mut codec = request_response::cbor::codec::Codec::<Batch, Reply>::default();
        let mut out = futures::io::Cursor::new(Vec::new());
        codec.write_response(&StreamProtocol::new(SYNC_PROTOCOL), &mut out, Reply::Ack).await.unwrap();
        out.into_inner()
    })
}

/// Waits until every connection of `swarm` has closed (the node drops a refused peer's
/// session shortly after its reply), so that the next attempt starts a new session.
pub async fn wait_closed(swarm: &mut Swarm<Raw>) {
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    while swarm.connected_peers().next().is_some() {
        tokio::select! {
            ev = swarm.select_next_some() => {
                if let SwarmEvent::Behaviour(RawEvent::Rr(request_response::Event::Message {
                    message: request_response::Message::Request { channel, .. }, ..
                })) = ev
                {
                    let _ = swarm.behaviour_mut().rr.send_response(channel, ack_bytes());
                }
            }
            _ = &mut deadline => panic!("the node did not close the refused session within 10 s"),
        }
    }
}

/// Sends a batch and decodes the node's reply; `None` if the node dropped the session without
/// one. After a refusal, waits for the node to close the session.
pub async fn send_batch(swarm: &mut Swarm<Raw>, peer: PeerId, addr: Multiaddr, batch: &Batch) -> Option<Reply> {
    let reply = send_batch_once(swarm, peer, addr, batch).await;
    if !matches!(reply, Some(Reply::Ack)) {
        wait_closed(swarm).await;
    }
    reply
}

async fn send_batch_once(swarm: &mut Swarm<Raw>, peer: PeerId, addr: Multiaddr, batch: &Batch) -> Option<Reply> {
    match send_raw(swarm, peer, addr, cbor(batch)).await {
        Outcome::Answered(bytes) => futures::executor::block_on(async {
            use libp2p::request_response::Codec;
            let mut codec = request_response::cbor::codec::Codec::<Batch, Reply>::default();
            let mut cur = futures::io::Cursor::new(bytes);
            codec.read_response(&StreamProtocol::new(SYNC_PROTOCOL), &mut cur).await.ok()
        }),
        Outcome::Dropped => None,
    }
}
