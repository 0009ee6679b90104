//! The task that owns the libp2p `Swarm`. It never touches the disk and never waits on anyone
//! except to hand on an event: all it does is move bytes and keep pinned peers connected.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response::{self, InboundRequestId, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{
    Multiaddr, PeerId, StreamProtocol, Swarm, allow_block_list, identify, identity::Keypair, noise, ping, tcp, yamux,
};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::Instrument;

use super::codec::{SyncCodec, Wire};
use super::protocol::{Reply, SYNC_PROTOCOL};
use super::{NetCmd, NetEvent};
use crate::config::PinnedPeer;

/// First pause before redialling a peer; doubles on each failure.
const BACKOFF_START: Duration = Duration::from_millis(250);
/// Longest pause between redials.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A connection that lasted this long was a working one: redial quickly after it drops.
const STABLE_CONNECTION: Duration = Duration::from_secs(10);
/// Time for a refusal to reach the peer before its connection is closed.
const DISCONNECT_GRACE: Duration = Duration::from_millis(200);
/// How long a batch may take to be applied and acknowledged by a peer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Replies are tiny.
const MAX_REPLY_BYTES: u64 = 64 * 1024;

/// Starting the network failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The transport could not be built.
    #[error("cannot set up the network: {0}")]
    Setup(String),
    /// An address could not be listened on.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: Multiaddr,
        /// Why.
        reason: String,
    },
}

/// What the network needs to start.
pub struct NetOptions {
    /// The node key.
    pub keypair: Keypair,
    /// Where to listen.
    pub listen: Vec<Multiaddr>,
    /// Who may connect.
    pub peers: Vec<PinnedPeer>,
    /// The largest batch accepted from a peer.
    pub max_message_bytes: u64,
    /// Where other sites reach us (`[network] external_addrs`): announced to peers by identify.
    pub external: Vec<Multiaddr>,
}

#[derive(NetworkBehaviour)]
struct Behaviour {
    allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    ping: ping::Behaviour,
    identify: identify::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
}

/// Redial bookkeeping for one pinned peer.
struct Dial {
    addrs: Vec<Multiaddr>,
    connected: bool,
    /// When the current connection came up: the backoff resets only once a connection has
    /// lasted, because a peer that refuses us does so right after the handshake.
    connected_at: Option<Instant>,
    next: Instant,
    backoff: Duration,
}

struct EventLoop {
    swarm: Swarm<Behaviour>,
    /// Where what happens goes (the node forwards it to the engine). Bounded: a full channel
    /// holds the swarm until there is room, which is the backpressure on every peer.
    events: mpsc::Sender<NetEvent>,
    dials: HashMap<PeerId, Dial>,
    /// Inbound batches waiting for the engine's answer.
    inbound: HashMap<InboundRequestId, (PeerId, ResponseChannel<Reply>)>,
    /// Peers with a batch of theirs being applied: a second one breaks the protocol.
    inbound_busy: HashMap<PeerId, InboundRequestId>,
    outbound: HashMap<OutboundRequestId, PeerId>,
    /// Sessions to drop once the reply that says why has had time to leave.
    disconnects: Vec<(Instant, PeerId)>,
    /// The peers pinned in node.toml.
    pinned: Vec<PinnedPeer>,
    /// The peers our own Party's other node vouched for (a hand-pinned entry wins).
    vouched: Vec<PinnedPeer>,
}

/// The network, running on a thread of its own.
pub struct NetThread {
    /// The addresses actually bound (ports resolved).
    pub bound: Vec<Multiaddr>,
    /// The thread's runtime, for tasks that must not wait behind the API's (the forwarding of
    /// network events to the engine).
    pub runtime: tokio::runtime::Handle,
    /// Resolves when the network's thread ends (a message, not a join, so that a runtime
    /// dropped without stopping the node never waits for it).
    pub task: tokio::sync::oneshot::Receiver<()>,
}

/// Builds the swarm, starts listening, and runs the event loop on a thread of its own, with
/// its own runtime: the API's handlers (a 10,000-meeting list is tens of milliseconds of
/// serialising) run on the main runtime's workers, and a peer's batch must not wait for a free
/// one.
pub async fn spawn(
    opts: NetOptions,
    cmds: mpsc::Receiver<NetCmd>,
    events: mpsc::Sender<NetEvent>,
) -> Result<NetThread, NetError> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let (ended_tx, ended_rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("liaison-net".into())
        .spawn(move || {
            let _ = crate::sched::prefer_short_waits("network");
            let _ended = Ended(Some(ended_tx));
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(NetError::Setup(format!("the network's runtime: {e}"))));
                    return;
                }
            };
            rt.block_on(async move {
                match start(opts, events).await {
                    Ok((bound, ev)) => {
                        if ready_tx.send(Ok((bound, tokio::runtime::Handle::current()))).is_ok() {
                            ev.run(cmds).instrument(tracing::info_span!("net")).await;
                        }
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        })
        .map_err(|e| NetError::Setup(format!("the network's thread: {e}")))?;
    let started = ready_rx.await.map_err(|_| NetError::Setup("the network's thread ended at start".into()));
    let (bound, runtime) = match started.and_then(|r| r) {
        Ok(x) => x,
        Err(e) => {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            return Err(e);
        }
    };
    drop(thread);
    Ok(NetThread { bound, runtime, task: ended_rx })
}

/// Says that the network's thread ended, however it ends.
struct Ended(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for Ended {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            let _ = t.send(());
        }
    }
}

/// Builds the swarm and starts listening: the bound addresses and the event loop to run.
async fn start(opts: NetOptions, events: mpsc::Sender<NetEvent>) -> Result<(Vec<Multiaddr>, EventLoop), NetError> {
    let codec = SyncCodec::new(opts.max_message_bytes, MAX_REPLY_BYTES);
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(opts.keypair)
        .with_tokio()
        .with_tcp(tcp::Config::default().nodelay(true), noise::Config::new, yamux::Config::default)
        .map_err(|e| NetError::Setup(e.to_string()))?
        .with_dns()
        .map_err(|e| NetError::Setup(e.to_string()))?
        .with_behaviour(|key| Behaviour {
            allow: allow_block_list::Behaviour::default(),
            ping: ping::Behaviour::default(),
            // Identify tells a pinned peer our protocols, and nothing about the Party.
            identify: identify::Behaviour::new(
                identify::Config::new("/liaison/1".into(), key.public())
                    .with_agent_version(format!("liaison/{}", env!("CARGO_PKG_VERSION")))
                    .with_hide_listen_addrs(true),
            ),
            sync: request_response::Behaviour::with_codec(
                codec,
                [(StreamProtocol::new(SYNC_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(REQUEST_TIMEOUT)
                    .with_max_concurrent_streams(4),
            ),
        })
        .map_err(|e| NetError::Setup(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(24 * 3600)))
        .build();

    let mut listeners = Vec::new();
    for addr in &opts.listen {
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|e| NetError::Listen { addr: addr.clone(), reason: e.to_string() })?;
        listeners.push(id);
    }
    // Wait until every listener has an address, so that port 0 is resolved for the caller.
    let mut bound = Vec::new();
    let mut pending = listeners.len();
    let deadline = tokio::time::sleep(Duration::from_secs(10));
    tokio::pin!(deadline);
    while pending > 0 {
        tokio::select! {
            ev = swarm.select_next_some() => match ev {
                SwarmEvent::NewListenAddr { listener_id, address } => {
                    if listeners.contains(&listener_id) && !bound.iter().any(|(l, _)| *l == listener_id) {
                        pending -= 1;
                    }
                    bound.push((listener_id, address));
                }
                SwarmEvent::ListenerError { error, .. } | SwarmEvent::ListenerClosed { reason: Err(error), .. } => {
                    return Err(NetError::Listen { addr: opts.listen.first().cloned().unwrap_or(Multiaddr::empty()), reason: error.to_string() });
                }
                _ => {}
            },
            _ = &mut deadline => return Err(NetError::Setup("listening did not start within 10 s".into())),
        }
    }
    let bound: Vec<Multiaddr> = bound.into_iter().map(|(_, a)| a).collect();
    // Identify hides the listen addresses (they may be 0.0.0.0 or private) and reports these.
    for a in opts.external {
        swarm.add_external_address(a);
    }

    let mut ev = EventLoop {
        swarm,
        events,
        dials: HashMap::new(),
        inbound: HashMap::new(),
        inbound_busy: HashMap::new(),
        outbound: HashMap::new(),
        disconnects: Vec::new(),
        pinned: opts.peers,
        vouched: Vec::new(),
    };
    ev.set_peers();
    Ok((bound, ev))
}

impl EventLoop {
    async fn run(mut self, mut cmds: mpsc::Receiver<NetCmd>) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                cmd = cmds.recv() => match cmd {
                    None | Some(NetCmd::Shutdown) => break,
                    Some(c) => self.command(c),
                },
                ev = self.swarm.select_next_some() => self.event(ev).await,
                _ = tick.tick() => {
                    self.redial();
                    self.due_disconnects();
                }
            }
        }
        tracing::debug!("network stopped");
    }

    /// Applies the pinned and vouched peers: allow-list and dials.
    fn set_peers(&mut self) {
        let mut wanted: HashMap<PeerId, &PinnedPeer> = HashMap::new();
        // Vouched first, so that a hand-pinned entry for the same peer replaces it.
        for p in self.vouched.iter().chain(&self.pinned) {
            wanted.insert(p.peer_id, p);
        }
        let gone: Vec<PeerId> = self.dials.keys().filter(|id| !wanted.contains_key(id)).copied().collect();
        for id in gone {
            self.dials.remove(&id);
            // Closes its connections at once.
            self.swarm.behaviour_mut().allow.disallow_peer(id);
            tracing::info!(peer = %id, "peer unpinned; connections closed");
        }
        for (id, p) in wanted {
            self.swarm.behaviour_mut().allow.allow_peer(id);
            let d = self.dials.entry(id).or_insert_with(|| Dial {
                addrs: Vec::new(),
                connected: false,
                connected_at: None,
                next: Instant::now(),
                backoff: BACKOFF_START,
            });
            // 0.0.0.0 dials this machine, port 0 nothing: a hand-edited node.toml may hold them.
            let addrs: Vec<Multiaddr> = p
                .addrs
                .iter()
                .filter(|a| match super::addr::dialable(a) {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!(peer = %id, error = %e, "not dialling this address of the peer");
                        false
                    }
                })
                .cloned()
                .collect();
            if d.addrs != addrs {
                d.addrs = addrs;
                d.next = Instant::now();
                d.backoff = BACKOFF_START;
            }
        }
    }

    fn due_disconnects(&mut self) {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.disconnects.drain(..).partition(|(t, _)| *t <= now);
        self.disconnects = later;
        for (_, peer) in due {
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    fn redial(&mut self) {
        let now = Instant::now();
        let due: Vec<(PeerId, Vec<Multiaddr>)> = self
            .dials
            .iter()
            .filter(|(id, d)| !d.connected && d.next <= now && !d.addrs.is_empty() && !self.swarm.is_connected(id))
            .map(|(id, d)| (*id, d.addrs.clone()))
            .collect();
        for (id, addrs) in due {
            if let Some(d) = self.dials.get_mut(&id) {
                d.next = now + d.backoff;
                d.backoff = (d.backoff * 2).min(BACKOFF_MAX);
            }
            let opts =
                DialOpts::peer_id(id).addresses(addrs).condition(PeerCondition::DisconnectedAndNotDialing).build();
            if let Err(e) = self.swarm.dial(opts) {
                tracing::debug!(peer = %id, error = %e, "dial not started");
            }
        }
    }

    fn command(&mut self, cmd: NetCmd) {
        match cmd {
            NetCmd::Send { peer, batch } => {
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, Wire::Batch(batch));
                self.outbound.insert(id, peer);
            }
            NetCmd::Respond { request, reply } => {
                if let Some((peer, channel)) = self.inbound.remove(&request) {
                    self.inbound_busy.remove(&peer);
                    if self.swarm.behaviour_mut().sync.send_response(channel, reply).is_err() {
                        tracing::debug!(%peer, "reply not sent: the connection closed");
                    }
                }
            }
            NetCmd::Disconnect { peer, reason } => {
                tracing::warn!(%peer, %reason, "dropping the peer's session");
                // The refusal sent just before must reach the peer, so that its log says why.
                self.disconnects.push((Instant::now() + DISCONNECT_GRACE, peer));
            }
            NetCmd::SetPeers(peers) => {
                self.pinned = peers;
                self.set_peers();
            }
            NetCmd::SetVouched(peers) => {
                self.vouched = peers;
                self.set_peers();
            }
            NetCmd::ListenAddrs(reply) => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            NetCmd::Shutdown => {}
        }
    }

    async fn event(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, num_established, endpoint, .. } => {
                if let Some(d) = self.dials.get_mut(&peer_id) {
                    d.connected = true;
                    d.connected_at = Some(Instant::now());
                }
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, addr = %endpoint.get_remote_address(), "connected");
                    emit(&self.events, NetEvent::Connected { peer: peer_id }).await;
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, num_established: 0, cause, .. } => {
                if let Some(d) = self.dials.get_mut(&peer_id) {
                    d.connected = false;
                    if d.connected_at.take().is_some_and(|t| t.elapsed() >= STABLE_CONNECTION) {
                        d.backoff = BACKOFF_START;
                    }
                    d.next = Instant::now() + d.backoff;
                }
                self.forget_inbound(peer_id);
                tracing::info!(peer = %peer_id, cause = ?cause.map(|c| c.to_string()), "disconnected");
                emit(&self.events, NetEvent::Disconnected { peer: peer_id }).await;
            }
            SwarmEvent::IncomingConnectionError { peer_id, send_back_addr, error, .. } => {
                if let libp2p::swarm::ListenError::Denied { cause } = &error
                    && cause.downcast_ref::<allow_block_list::NotAllowed>().is_some()
                {
                    tracing::warn!(peer = ?peer_id.map(|p| p.to_string()), addr = %send_back_addr, "refused a connection from a peer that is not pinned");
                } else {
                    tracing::debug!(addr = %send_back_addr, %error, "incoming connection failed");
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id.map(|p| p.to_string()), %error, "dial failed");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(ev)) => self.sync_event(ev).await,
            _ => {}
        }
    }

    fn forget_inbound(&mut self, peer: PeerId) {
        self.inbound.retain(|_, (p, _)| *p != peer);
        self.inbound_busy.remove(&peer);
    }

    async fn sync_event(&mut self, ev: request_response::Event<Wire, Reply>) {
        use request_response::{Event, Message};
        match ev {
            Event::Message { peer, message: Message::Request { request: Wire::Malformed(reason), .. }, .. } => {
                // Garbage, or more than the cap: the peer is broken or hostile. Drop its session;
                // the others go on.
                tracing::warn!(%peer, %reason, "bad message from the peer; dropping its session");
                self.forget_inbound(peer);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Event::Message {
                peer,
                message: Message::Request { request_id, request: Wire::Batch(request), channel },
                ..
            } => {
                if let Some(busy) = self.inbound_busy.get(&peer) {
                    tracing::warn!(%peer, pending = %busy, "peer sent a second batch before the first was answered; dropping its session");
                    let _ = self.swarm.disconnect_peer_id(peer);
                    return;
                }
                tracing::debug!(%peer, frames = request.frames.len(), "batch received");
                self.inbound_busy.insert(peer, request_id);
                self.inbound.insert(request_id, (peer, channel));
                emit(&self.events, NetEvent::Inbound { peer, request: request_id, batch: request }).await;
            }
            Event::Message { peer, message: Message::Response { request_id, response }, .. } => {
                self.outbound.remove(&request_id);
                match response {
                    Reply::Ack => emit(&self.events, NetEvent::Delivered { peer }).await,
                    Reply::Refused(reason) => {
                        tracing::warn!(%peer, %reason, "the peer refused our batch");
                        emit(&self.events, NetEvent::Failed { peer, error: format!("refused: {reason}") }).await;
                    }
                }
            }
            Event::OutboundFailure { peer, request_id, error, .. } => {
                if self.outbound.remove(&request_id).is_some() {
                    emit(&self.events, NetEvent::Failed { peer, error: error.to_string() }).await;
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                // A batch that does not decode or exceeds the size cap: the peer is broken or
                // hostile. Drop its session; the others go on.
                tracing::warn!(%peer, %error, "bad message from the peer; dropping its session");
                self.forget_inbound(peer);
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Event::ResponseSent { .. } => {}
        }
    }
}

/// Hands an event on, waiting for room in the channel (backpressure on the swarm).
async fn emit(events: &mpsc::Sender<NetEvent>, ev: NetEvent) {
    if events.send(ev).await.is_err() {
        tracing::debug!("nobody hears the network any more; event dropped");
    }
}
