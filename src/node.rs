//! Wires the parts of a node together and runs them: store, engine, network, API. The one
//! place that knows all of them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::accounts::{AccountError, Accounts};
use crate::api::{self, AppState, Reloader};
use crate::config::{ConfigError, NodeConfig, reload};
use crate::engine::{self, EngineHandle, EngineOptions, Identity, Msg};
use crate::keys::{self, KeyError};
use crate::net::{self, NetCmd, NetError, NetEvent, NetOptions};
use crate::store::{Store, StoreError};

/// File in the data dir where a running node says where it listens, for the CLI.
pub const RUN_FILE: &str = "run.json";
/// File in the data dir with this node's actor certificate (written at each start), for
/// `liaison id`.
pub const ACTOR_CERT_FILE: &str = "actor-cert.json";

/// The search index of the shared workspace, under the data dir (derived data: built again
/// when missing, and left out of backups).
pub const SEARCH_DIR: &str = "search";

/// What a running node writes to [`RUN_FILE`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunInfo {
    /// Process id.
    pub pid: u32,
    /// The API's bound address.
    pub api_addr: SocketAddr,
    /// The libp2p addresses bound.
    pub listen: Vec<String>,
    /// This node's peer id.
    pub peer_id: String,
    /// Where `/metrics` is served without authentication (`[api] metrics_listen`), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_addr: Option<SocketAddr>,
}

/// A node could not start.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Bad or missing keys.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The accounts database could not be opened.
    #[error(transparent)]
    Accounts(#[from] AccountError),
    /// The engine could not start.
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    /// The network could not start.
    #[error(transparent)]
    Net(#[from] NetError),
    /// The API's certificate cannot be served.
    #[error("API certificate: {0}")]
    Tls(#[from] api::TlsError),
    /// The API could not start.
    #[error("API on {addr}: {source}")]
    Api {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The run file could not be written.
    #[error("{}: {source}", .file.display())]
    RunFile {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The search index could not be opened or built again.
    #[error(transparent)]
    Search(#[from] crate::search::SearchError),
}

/// A running node.
pub struct Node {
    /// The engine, for in-process callers (tests, benchmarks).
    pub engine: EngineHandle,
    /// Where the API listens.
    pub api_addr: SocketAddr,
    /// Where libp2p listens.
    pub listen: Vec<Multiaddr>,
    /// This node's peer id.
    pub peer_id: PeerId,
    data_dir: PathBuf,
    net: mpsc::Sender<NetCmd>,
    engine_thread: Option<std::thread::JoinHandle<()>>,
    net_task: tokio::sync::oneshot::Receiver<()>,
    /// Hands the network's events to the engine (see [`forward_net_events`]).
    net_forward: tokio::task::JoinHandle<()>,
    api_task: tokio::task::JoinHandle<()>,
    api_handle: api::ServerHandle,
    metrics_task: Option<tokio::task::JoinHandle<()>>,
    search_task: tokio::task::JoinHandle<()>,
    /// The summaries' keep-up and the grants' clock: both hold the engine (and so the store)
    /// until they end, so `stop` waits for them before the store can be opened again.
    background: Vec<tokio::task::JoinHandle<()>>,
    stopping: tokio_util::sync::CancellationToken,
    reload: Reloader,
}

/// Hands each network event to the engine's inbox, waiting for room there: the swarm waits in
/// turn when its own channel is full, so the backpressure on peers is the engine's, as before
/// the network had a channel of its own. Ends when either side is gone.
async fn forward_net_events(mut events: mpsc::Receiver<NetEvent>, engine: mpsc::Sender<Msg>) {
    while let Some(ev) = events.recv().await {
        if engine.send(Msg::Net(ev)).await.is_err() {
            tracing::debug!("engine gone; network event dropped");
            break;
        }
    }
}

/// Installs ring as rustls's crypto provider for the process (idempotent). Needed because
/// both ring and aws-lc-rs may be in the dependency tree.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Node {
    /// Starts the node of `data_dir`.
    pub async fn start(data_dir: &Path) -> Result<Node, NodeError> {
        install_crypto_provider();
        let config = NodeConfig::load(data_dir)?;
        let keys = keys::load(data_dir)?;
        // Before anything starts: a certificate that cannot be served stops the node at once.
        let tls = axum_server::tls_rustls::RustlsConfig::from_config(api::tls::server_config(&config.api.tls)?);
        let public = keys.public();
        // The store first: it says clearly when another process runs on this data dir.
        let store = Store::open_as(data_dir, crate::store::LockRole::Serve)?;
        let accounts = Arc::new(Accounts::open(data_dir)?);

        let metrics = Arc::new(crate::metrics::Metrics::new());
        let (engine_tx, engine_rx) = mpsc::channel::<Msg>(engine::INBOX_CAPACITY);
        let (net_tx, net_rx) = mpsc::channel::<NetCmd>(engine::INBOX_CAPACITY);
        let identity = Identity { party: config.party.clone(), peer_id: public.peer_id };
        let sealing_secret = keys.sealing.to_bytes();
        let crypto = engine::Crypto {
            signing: keys.signing.clone(),
            sealing_public: public.sealing_key,
            sealing_secret,
            node_key: keys.node_ed25519.clone(),
        };
        let opts = EngineOptions {
            identity,
            cache_docs: config.store.cache_docs,
            peers: config.peers.clone(),
            crypto,
            policy: config.policy.clone(),
            limits: config.limits.peer.clone(),
            metrics: metrics.clone(),
        };
        let (engine, engine_thread) = engine::spawn(store, opts, (engine_tx.clone(), engine_rx), net_tx.clone())?;
        // The node's actor certificate, for its id card (public; the other Party's nodes also
        // get it in the sync protocol).
        if let Ok(cert) = engine.read(|c| Ok(c.own_cert())).await {
            let file = data_dir.join(ACTOR_CERT_FILE);
            if let Ok(json) = serde_json::to_vec_pretty(&cert)
                && let Err(e) = std::fs::write(&file, json)
            {
                tracing::warn!(file = %file.display(), error = %e, "cannot write the actor certificate for the id card");
            }
        }

        let net_opts = NetOptions {
            keypair: keys.node.clone(),
            listen: config.network.listen.clone(),
            peers: config.peers.clone(),
            max_message_bytes: config.network.max_message_bytes,
            external: config.network.external_addrs.clone(),
        };
        let (net_events, net_events_rx) = mpsc::channel::<NetEvent>(net::EVENT_CAPACITY);
        let (listen, net_task, net_forward) = match net::spawn(net_opts, net_rx, net_events).await {
            // On the network's own thread: a peer's batch reaches the engine without waiting for
            // a worker of the API's runtime.
            Ok(n) => (n.bound, n.task, n.runtime.spawn(forward_net_events(net_events_rx, engine_tx))),
            Err(e) => {
                engine.shutdown().await;
                let _ = tokio::task::spawn_blocking(move || engine_thread.join()).await;
                return Err(e.into());
            }
        };

        warn_if_cert_lacks_listen_name(&config);
        let trusted_proxies = Arc::new(api::client_addr::TrustedProxies::new(&config.api.trusted_proxies));
        let live =
            Live { engine: engine.clone(), net: net_tx.clone(), tls: tls.clone(), proxies: trusted_proxies.clone() };
        let reload = reloader(config.clone(), live);
        let stopping = tokio_util::sync::CancellationToken::new();
        // Until the node is made: a start that fails below ends the tasks that hold the engine.
        let stop_on_failure = stopping.clone().drop_guard();
        let (search, search_task) =
            crate::search::Search::start(&data_dir.join(SEARCH_DIR), engine.clone(), stopping.clone()).await?;
        // Freed memory goes back to the system as the node serves (see `memtrim`).
        crate::memtrim::start();
        // Summaries not stored yet (an older store, a bulk sync) are computed between rounds.
        let keep_up = tokio::spawn(crate::engine::summaries::keep_up(engine.clone(), stopping.clone()));
        let state = AppState {
            engine: engine.clone(),
            token: Arc::from(keys.api_token.as_str()),
            party: config.party.clone(),
            public: public.clone(),
            // What `/api/id` exports: where other sites reach us, else what we bound.
            listen: if config.network.external_addrs.is_empty() {
                listen.clone()
            } else {
                config.network.external_addrs.clone()
            },
            reload: reload.clone(),
            data_dir: data_dir.to_path_buf(),
            sessions: Arc::new(api::Sessions::open(accounts.clone())?),
            accounts,
            limits: config.limits.api.clone(),
            logins: Arc::new(api::Logins::new(&config.limits.api)),
            stopping: stopping.clone(),
            recent_edits: Default::default(),
            calendar: Default::default(),
            metrics,
            trusted_proxies,
            search,
        };
        // Grant expiries are carried out by the clock, not only when something else happens: a
        // third party destroys an expired item's key by itself, within a second.
        let clock = engine.clone();
        let clock_stop = stopping.clone();
        let clock_task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    _ = clock_stop.cancelled() => break,
                    _ = tick.tick() => {
                        if clock.write(|c| { c.expire_grants(); Ok(()) }).await.is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let (metrics_addr, metrics_task) = match config.api.metrics_listen {
            Some(addr) => {
                let (bound, task) =
                    api::serve_metrics(addr, state.clone()).await.map_err(|source| NodeError::Api { addr, source })?;
                (Some(bound), Some(task))
            }
            None => (None, None),
        };
        let api_handle = axum_server::Handle::new();
        let (api_addr, api_task) = api::serve(config.api.listen, tls, state, api_handle.clone())
            .await
            .map_err(|source| NodeError::Api { addr: config.api.listen, source })?;

        let info = RunInfo {
            pid: std::process::id(),
            api_addr,
            listen: listen.iter().map(|a| a.to_string()).collect(),
            peer_id: public.peer_id.to_string(),
            metrics_addr,
        };
        let run_file = data_dir.join(RUN_FILE);
        std::fs::write(&run_file, serde_json::to_vec_pretty(&info).unwrap_or_default())
            .map_err(|source| NodeError::RunFile { file: run_file, source })?;
        tracing::info!(
            party = %config.party.id,
            peer_id = %public.peer_id,
            api = %format!("https://{api_addr}"),
            listen = ?info.listen,
            peers = config.peers.len(),
            "node started"
        );
        Ok(Node {
            engine,
            api_addr,
            listen,
            peer_id: public.peer_id,
            data_dir: data_dir.to_path_buf(),
            net: net_tx,
            engine_thread: Some(engine_thread),
            net_task,
            net_forward,
            api_task,
            api_handle,
            metrics_task,
            search_task,
            background: vec![keep_up, clock_task],
            stopping: {
                stop_on_failure.disarm();
                stopping
            },
            reload,
        })
    }

    /// Applies node.toml again, as SIGHUP does.
    pub async fn reload(&self) -> Result<usize, String> {
        (self.reload)().await
    }

    /// Stops cleanly: no new API requests, the engine's last round committed, the swarm closed.
    pub async fn stop(mut self) {
        self.stopping.cancel();
        self.api_handle.graceful_shutdown(Some(Duration::from_secs(5)));
        let _ = (&mut self.api_task).await;
        if let Some(t) = self.metrics_task.take() {
            let _ = t.await;
        }
        // Before the engine: the indexer may be waiting on it for the batch it finishes.
        let _ = (&mut self.search_task).await;
        for t in self.background.drain(..) {
            let _ = t.await;
        }
        self.engine.shutdown().await;
        if let Some(t) = self.engine_thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        let _ = self.net.send(NetCmd::Shutdown).await;
        let _ = (&mut self.net_task).await;
        let _ = (&mut self.net_forward).await;
        let _ = std::fs::remove_file(self.data_dir.join(RUN_FILE));
        tracing::info!("node stopped");
    }
}

/// A self-signed certificate made for another `[api] listen` (the address was edited after
/// `init`) fails every client's name check: say so, and how to make one that fits.
fn warn_if_cert_lacks_listen_name(config: &NodeConfig) {
    let ip = config.api.listen.ip();
    if config.api.tls.organisation || ip.is_unspecified() || ip.is_loopback() {
        return;
    }
    if let Some(cert) = api::CertSummary::of_pem_file(&config.api.tls.cert)
        && !cert.names.contains(&ip.to_string())
    {
        tracing::warn!(
            file = %config.api.tls.cert.display(),
            names = ?cert.names,
            "the API's self-signed certificate is not for [api] listen {ip}: clients will refuse it; run `liaison api-cert --data-dir {} [--name OTHER-NAME]` to make one that is",
            config.data_dir.display()
        );
    }
}

/// What a reload changes in the running node.
struct Live {
    engine: EngineHandle,
    net: mpsc::Sender<NetCmd>,
    /// The API's certificate, swapped for new connections.
    tls: axum_server::tls_rustls::RustlsConfig,
    proxies: Arc<api::client_addr::TrustedProxies>,
}

/// Re-reads node.toml and applies what can change live (`config::reload`): the peers, the API's
/// certificate, the trusted proxies; warns of each changed setting that needs a restart. A
/// config that does not parse changes nothing; a certificate that cannot be served keeps the one
/// being served, and the reload answers the error after applying the rest.
fn reloader(running: NodeConfig, live: Live) -> Reloader {
    let running = Arc::new(tokio::sync::Mutex::new(running));
    let live = Arc::new(live);
    Arc::new(move || {
        let (running, live) = (running.clone(), live.clone());
        async move {
            // One reload at a time, so that two do not interleave their halves.
            let mut running = running.lock().await;
            let config = NodeConfig::load(&running.data_dir).map_err(|e| e.to_string())?;
            let diff = reload::diff(&running, &config);
            let n = config.peers.len();
            live.engine.set_peers(config.peers.clone()).await.map_err(|e| e.to_string())?;
            live.net
                .send(NetCmd::SetPeers(config.peers.clone()))
                .await
                .map_err(|_| "the network task stopped".to_string())?;
            live.proxies.set(&config.api.trusted_proxies);
            if diff.trusted_proxies {
                tracing::info!(trusted_proxies = ?config.api.trusted_proxies.iter().map(|n| n.to_string()).collect::<Vec<_>>(), "[api] trusted_proxies applied");
            }
            for setting in &diff.needs_restart {
                tracing::warn!(setting, "{setting} changed in node.toml; it takes effect when the node restarts");
            }
            let tls = api::tls::server_config(&config.api.tls);
            *running = reload::applied(&running, &config, tls.is_ok());
            tracing::info!(peers = n, "node.toml reloaded");
            match tls {
                Ok(server) => {
                    live.tls.reload_from_config(server);
                    let cert = api::CertSummary::of_pem_file(&config.api.tls.cert);
                    tracing::info!(
                        file = %config.api.tls.cert.display(),
                        serial = cert.as_ref().map(|c| c.serial.as_str()).unwrap_or("?"),
                        names = ?cert.as_ref().map(|c| c.names.clone()).unwrap_or_default(),
                        not_after = cert.as_ref().map(|c| c.not_after.as_str()).unwrap_or("?"),
                        "API certificate (re)loaded; new connections get it"
                    );
                    Ok(n)
                }
                Err(e) => {
                    tracing::error!(error = %e, "the API keeps serving its previous certificate");
                    Err(format!("{e}; the API keeps serving its previous certificate (the rest of node.toml was applied)"))
                }
            }
        }
        .boxed()
    })
}

/// Runs the node until SIGINT or SIGTERM; SIGHUP applies node.toml again (`config::reload`).
pub async fn serve(data_dir: &Path) -> Result<(), NodeError> {
    use tokio::signal::unix::{SignalKind, signal};
    // The handlers first: a SIGTERM sent as soon as run.json appears must stop the node cleanly,
    // not kill it with the default action.
    let sig = |k| signal(k).map_err(|source| NodeError::RunFile { file: "signal handler".into(), source });
    let mut int = sig(SignalKind::interrupt())?;
    let mut term = sig(SignalKind::terminate())?;
    let mut hup = sig(SignalKind::hangup())?;
    let node = Node::start(data_dir).await?;
    loop {
        tokio::select! {
            _ = int.recv() => { tracing::info!("SIGINT: shutting down"); break; }
            _ = term.recv() => { tracing::info!("SIGTERM: shutting down"); break; }
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reading node.toml again");
                if let Err(e) = node.reload().await {
                    tracing::error!(error = %e, "reload incomplete");
                }
            }
        }
    }
    node.stop().await;
    Ok(())
}

/// What a new node needs: `liaison init`'s arguments.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// The Party.
    pub party_id: crate::ids::PartyId,
    /// Its full name.
    pub party_name: String,
    /// libp2p listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Where other sites reach this node (`[network] external_addrs`); may be empty.
    pub external_addrs: Vec<Multiaddr>,
    /// API address.
    pub api: SocketAddr,
    /// Copy the Party keys from this data dir (a Party's further node) instead of making new ones.
    pub party_keys_from: Option<PathBuf>,
}

/// Why a data dir could not be created.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// It is a node already.
    #[error("{} is already a liaison node ({} exists); init never overwrites keys. Use another --data-dir, or remove that one first.", .dir.display(), .existing.display())]
    Exists {
        /// The data dir.
        dir: PathBuf,
        /// What exists.
        existing: PathBuf,
    },
    /// Bad input.
    #[error("{0}")]
    Invalid(String),
    /// Files could not be written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Keys could not be made.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// What was written does not parse back (a bug).
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Creates a node's data dir: keys (0600 in a 0700 dir), certificate, token, node.toml.
pub fn init_data_dir(dir: &Path, o: &InitOptions) -> Result<keys::PublicKeys, InitError> {
    use std::os::unix::fs::PermissionsExt;
    let file = NodeConfig::path(dir);
    for existing in [file.clone(), dir.join(keys::KEYS_DIR)] {
        if existing.exists() {
            return Err(InitError::Exists { dir: dir.to_path_buf(), existing });
        }
    }
    if o.party_name.trim().is_empty() {
        return Err(InitError::Invalid("--party-name must not be empty (e.g. \"CICA Secretariat\")".into()));
    }
    if o.listen.is_empty() {
        return Err(InitError::Invalid("at least one --listen address is needed".into()));
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    let party_keys = match &o.party_keys_from {
        Some(other) => keys::PartyKeys::CopyFrom(other),
        None => keys::PartyKeys::Generate,
    };
    let api_hosts = if o.api.ip().is_unspecified() { vec![] } else { vec![o.api.ip().to_string()] };
    let k = keys::generate(dir, party_keys, &api_hosts)?;
    let text = crate::config::render_template(&o.party_id, &o.party_name, &o.listen, &o.external_addrs, o.api);
    std::fs::write(&file, text).map_err(io(&file))?;
    // Parse back what was written: init must never leave a config that serve would refuse.
    NodeConfig::load(dir)?;
    Ok(k.public())
}

/// Reads the run file of `data_dir`, if a node that is still running wrote one (a node
/// killed with SIGKILL leaves its run file behind; its lock goes with the process).
pub fn run_info(data_dir: &Path) -> Option<RunInfo> {
    if !crate::store::DirLock::is_held(data_dir) {
        return None;
    }
    std::fs::read(data_dir.join(RUN_FILE)).ok().and_then(|b| serde_json::from_slice(&b).ok())
}
