//! Routes about the node itself: status, identity, reload, and the live event stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::Stream;
use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;

use super::{AppError, AppState};
use crate::config::{self, PeerRole, PinnedPeer};
use crate::engine::{DocInfo, NodeStatus};

/// What another node's sysadmin needs to pin this node (`liaison id`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeId {
    /// libp2p peer id.
    pub peer_id: String,
    /// Party id.
    pub party_id: String,
    /// Party name.
    pub party_name: String,
    /// Addresses other sites dial it at (`[network] external_addrs`, else those it bound).
    pub listen_addrs: Vec<String>,
    /// The Party's Ed25519 public key, hex.
    pub signing_key: String,
    /// The Party's X25519 public key, hex.
    pub sealing_key: String,
}

/// Every document with its committed heads: for checking that nodes hold the same thing.
pub async fn docs(State(s): State<AppState>) -> Result<Json<Vec<DocInfo>>, AppError> {
    Ok(Json(s.engine.doc_heads().await?))
}

pub async fn status(State(s): State<AppState>) -> Result<Json<NodeStatus>, AppError> {
    Ok(Json(s.engine.status().await?))
}

pub async fn id(State(s): State<AppState>) -> Json<NodeId> {
    Json(NodeId {
        peer_id: s.public.peer_id.to_string(),
        party_id: s.party.id.to_string(),
        party_name: s.party.name.clone(),
        // Only what another site can dial (a wildcard listener's bound address is not).
        listen_addrs: s
            .listen
            .iter()
            .filter(|a| crate::net::addr::dialable(a).is_ok())
            .map(|a| a.to_string())
            .collect(),
        signing_key: hex::encode(s.public.signing_key),
        sealing_key: hex::encode(s.public.sealing_key),
    })
}

/// Result of a reload.
#[derive(Serialize, Deserialize)]
pub struct Reloaded {
    /// Pinned peers now.
    pub peers: usize,
}

pub async fn reload(State(s): State<AppState>) -> Result<Json<Reloaded>, AppError> {
    let peers = (s.reload)().await.map_err(AppError::BadRequest)?;
    Ok(Json(Reloaded { peers }))
}

/// Server-sent events: every durable document change and peer connection change, as JSON.
pub async fn events(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    // A browser's stream ends with its session (logout, account disabled); the node token's
    // with the node.
    let session_ended = match super::session::from_cookie(&s, &headers) {
        Some(sess) => sess.ended,
        None => tokio_util::sync::CancellationToken::new(),
    };
    let rx = s.engine.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Ok(ev) => {
                let data = serde_json::to_string(&ev).unwrap_or_default();
                Some((Ok(SseEvent::default().data(data)), rx))
            }
            // A slow reader missed events; it reloads what it shows on this marker.
            Err(RecvError::Lagged(n)) => Some((Ok(SseEvent::default().event("lagged").data(n.to_string())), rx)),
            Err(RecvError::Closed) => None,
        }
    });
    let stream = futures::StreamExt::take_until(stream, s.stopping.cancelled_owned());
    let stream = futures::StreamExt::take_until(stream, session_ended.cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// A peer to pin: what `liaison id --json` printed on its node, and what it is to us.
#[derive(Deserialize)]
pub struct NewPeer {
    party_id: String,
    peer_id: String,
    #[serde(default)]
    listen_addrs: Vec<String>,
    signing_key: String,
    sealing_key: String,
    /// `party` (default), `third-party` or `provider`.
    #[serde(default = "party_role")]
    role: PeerRole,
}

fn party_role() -> PeerRole {
    PeerRole::Party
}

impl NewPeer {
    fn pinned(self) -> Result<PinnedPeer, String> {
        let addrs = self.listen_addrs.iter().map(|a| config::parse_multiaddr(a)).collect::<Result<Vec<_>, _>>()?;
        for a in &addrs {
            crate::net::addr::dialable(a).map_err(|e| {
                format!("listen_addrs: {e}; give the address that node is reached at (its [network] external_addrs)")
            })?;
        }
        Ok(PinnedPeer {
            party_id: self.party_id.parse().map_err(|e| format!("party_id: {e}"))?,
            peer_id: self.peer_id.parse().map_err(|e| format!("peer_id: {e}"))?,
            addrs,
            role: self.role,
            signing_key: Some(config::parse_key_hex(&self.signing_key).map_err(|e| format!("signing_key: {e}"))?),
            sealing_key: Some(config::parse_key_hex(&self.sealing_key).map_err(|e| format!("sealing_key: {e}"))?),
        })
    }
}

/// `POST /api/peers`: pins a peer in node.toml and applies it at once (admins only).
pub async fn add_peer(State(s): State<AppState>, Json(b): Json<NewPeer>) -> Result<Json<Reloaded>, AppError> {
    let peer = b.pinned().map_err(AppError::BadRequest)?;
    edit_peers(s, move |dir| config::add_peer(dir, &peer), AppError::BadRequest).await
}

/// `DELETE /api/peers/{peer}`: unpins a peer; its connections close (admins only).
pub async fn remove_peer(State(s): State<AppState>, Path(peer): Path<String>) -> Result<Json<Reloaded>, AppError> {
    let id: PeerId = peer.parse().map_err(|_| AppError::BadRequest(format!("{peer:?} is not a peer id")))?;
    edit_peers(s, move |dir| config::remove_peer(dir, &id), AppError::NotFound).await
}

/// Edits node.toml off the async threads (it takes a file lock), then has the node apply it.
async fn edit_peers(
    s: AppState,
    edit: impl FnOnce(&std::path::Path) -> Result<config::NodeConfig, config::ConfigError> + Send + 'static,
    refused: fn(String) -> AppError,
) -> Result<Json<Reloaded>, AppError> {
    let dir = s.data_dir.clone();
    tokio::task::spawn_blocking(move || edit(&dir))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
        .map_err(|e| refused(e.to_string()))?;
    reload(State(s)).await
}
