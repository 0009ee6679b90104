//! The libp2p side: one task owns the `Swarm`; the engine talks to it through [`NetCmd`]s on a
//! bounded channel and hears from it through [`NetEvent`]s, on a bounded channel the node gives
//! it ([`spawn`]). `net` knows nothing of the engine: the node forwards the events.
//!
//! - Transport: TCP with Noise (authenticated, encrypted) and Yamux; identify and ping.
//! - Only pinned peers may connect: the allow-list closes any other connection right after the
//!   Noise handshake, before any application protocol runs, and the refusal is logged.
//! - `/liaison/sync/3` (see [`protocol`]) carries the workspace.
//! - Pinned peers are dialled on start and redialled with exponential backoff.

pub mod addr;
mod codec;
pub mod protocol;
mod swarm;

use libp2p::request_response::InboundRequestId;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::oneshot;

use crate::config::PinnedPeer;
use protocol::{Batch, Reply};

#[doc(hidden)]
pub use codec::{SyncCodec, Wire}; // for the decoder fuzz tests (tests/fuzz_decoders.rs)
pub use swarm::{NetError, NetOptions, NetThread, spawn};

/// Capacity of the channel of [`NetEvent`]s. A full channel holds the swarm until there is room
/// (backpressure); a peer has at most one batch of its own in it (a second one before the first
/// is answered ends its session), so one peer that floods cannot crowd out the others.
pub const EVENT_CAPACITY: usize = 256;

/// What the engine asks of the network.
#[derive(Debug)]
pub enum NetCmd {
    /// Send a batch to a peer (the engine keeps at most one in flight per peer).
    Send {
        /// To whom.
        peer: PeerId,
        /// What.
        batch: Batch,
    },
    /// Answer a peer's batch.
    Respond {
        /// The request being answered.
        request: InboundRequestId,
        /// The answer.
        reply: Reply,
    },
    /// End a peer's session: it broke the protocol.
    Disconnect {
        /// The peer.
        peer: PeerId,
        /// Why, for the log.
        reason: String,
    },
    /// The pinned peers changed (config reload).
    SetPeers(Vec<PinnedPeer>),
    /// The peers our own Party's primary vouched for changed: they may connect and are dialled
    /// like pinned ones, unless pinned by hand (the hand-pinned entry wins).
    SetVouched(Vec<PinnedPeer>),
    /// The addresses we listen on.
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    /// Stop the swarm.
    Shutdown,
}

/// What the network tells the engine.
#[derive(Debug)]
pub enum NetEvent {
    /// A pinned peer connected (its first connection).
    Connected {
        /// The peer.
        peer: PeerId,
    },
    /// A peer's last connection closed.
    Disconnected {
        /// The peer.
        peer: PeerId,
    },
    /// A peer sent a batch.
    Inbound {
        /// The peer.
        peer: PeerId,
        /// To answer with [`NetCmd::Respond`].
        request: InboundRequestId,
        /// The batch.
        batch: Batch,
    },
    /// Our batch to a peer was applied by it.
    Delivered {
        /// The peer.
        peer: PeerId,
    },
    /// Our batch to a peer was lost or refused.
    Failed {
        /// The peer.
        peer: PeerId,
        /// Why.
        error: String,
    },
}
