//! The local HTTPS API: what the CLI's officer commands and the web app call.
//!
//! rustls only; loopback by default. Every API request carries the node's bearer token or a
//! logged-in officer's session, and its role is checked (`auth`). The web app's files are served
//! from the binary (`web`), every response with strict security headers. Handlers are thin: they
//! turn a request into a job for the engine and the job's answer into JSON. Connections are
//! capped and time out when idle (`conn`); logins are bounded and slowed (`login`), by the
//! client's address (`client_addr`, which believes a trusted proxy's `X-Forwarded-For`). The
//! certificate is the organisation's or the node's own, re-read at every reload (`tls`). Each
//! request is logged on the target `liaison::access`: method, path without its query, status,
//! time taken, client address; never a query, a token or a cookie.

mod account_routes;
mod app_refusal;
mod auth;
mod backup_routes;
mod calendar_routes;
pub mod client_addr;
mod conn;
mod draft_routes;
mod error;
mod health;
mod inbox_routes;
mod lists;
mod login;
mod login_audit;
mod login_limit;
mod node_routes;
mod original_routes;
mod presence;
mod provision_routes;
mod search_routes;
mod session;
mod test_hooks;
pub mod tls;
mod vault_refusals;
mod vault_routes;
mod web;
mod workspace_routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{delete, get, post, put};
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use libp2p::Multiaddr;
use tokio::task::JoinHandle;

use crate::accounts::Accounts;
use crate::config::{ApiLimits, PartyConfig};
use crate::engine::EngineHandle;
use crate::keys::PublicKeys;

pub use crate::engine::DocInfo;
pub use account_routes::{NewAccount, NewRole, Reset};
pub use auth::{Caller, required_role};
pub use backup_routes::BackupRequest;
pub use calendar_routes::{CalendarFeed, FeedState};
pub use conn::{ApiAddr, ServerHandle};
pub use draft_routes::{Action as DraftAction, DraftSummary, Spliced};
pub use error::AppError;
pub use health::serve_metrics;
pub use login::Logins;
pub use node_routes::{NodeId, Reloaded};
pub use original_routes::Parties;
pub use session::{COOKIE_NAME, CSRF_HEADER, SessionInfo, Sessions};
pub use tls::{CertSummary, TlsError};
pub use vault_routes::{AuditReport, RecordMade, Requested, ShareMeta};
pub use web::CSP;
pub use workspace_routes::{Created, OFFICER_HEADER, ThreadSummary};

/// Largest request body accepted, in bytes (a draft text is capped at 8 MiB).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Applies node.toml again (peers, the API's certificate, trusted proxies; see
/// `config::reload`) and answers how many peers are pinned; what `POST /api/reload` and SIGHUP
/// call.
pub type Reloader = Arc<dyn Fn() -> futures::future::BoxFuture<'static, Result<usize, String>> + Send + Sync>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub engine: EngineHandle,
    /// The bearer token.
    pub token: Arc<str>,
    /// Our Party.
    pub party: PartyConfig,
    /// Our public keys.
    pub public: PublicKeys,
    /// The libp2p addresses we listen on.
    pub listen: Vec<Multiaddr>,
    /// Re-reads the peers.
    pub reload: Reloader,
    /// The node's data dir (its node.toml holds the peers).
    pub data_dir: PathBuf,
    /// Officers' accounts.
    pub accounts: Arc<Accounts>,
    /// Logged-in sessions.
    pub sessions: Arc<Sessions>,
    /// The bounds on clients (`[limits.api]`).
    pub limits: ApiLimits,
    /// Failed-login counters and their tally for the audit log.
    pub logins: Arc<Logins>,
    /// Cancelled when the node stops, so that open event streams end and the graceful shutdown
    /// need not wait them out.
    pub stopping: tokio_util::sync::CancellationToken,
    /// Answers to recent splices, for retries.
    pub recent_edits: Arc<std::sync::Mutex<draft_routes::RecentEdits>>,
    /// What `/metrics` shows; the API counts failed logins in it.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// `[api] trusted_proxies`, replaced at a reload.
    pub trusted_proxies: Arc<client_addr::TrustedProxies>,
    /// Full-text search over the workspace and the items' titles.
    pub search: crate::search::Search,
}

/// The API's routes.
pub fn router(state: AppState) -> Router {
    use account_routes as a;
    use draft_routes as d;
    use node_routes as n;
    use vault_routes as v;
    use workspace_routes as w;
    let api = Router::new()
        .route("/api/session", get(session::whoami).post(login::login).delete(session::logout))
        .route("/api/session/password", post(login::change_password))
        .route("/api/accounts", get(a::list).post(a::add))
        .route("/api/accounts/{name}/disable", post(a::disable))
        .route("/api/accounts/{name}/enable", post(a::enable))
        .route("/api/accounts/{name}/role", post(a::set_role))
        .route("/api/accounts/{name}/reset", post(a::reset))
        .route("/api/peers", post(n::add_peer))
        .route("/api/peers/{peer}", delete(n::remove_peer))
        .route("/api/presence", post(presence::post))
        .route("/api/status", get(n::status))
        .route("/api/id", get(n::id))
        .route("/api/docs", get(n::docs))
        .route("/api/reload", post(n::reload))
        .route("/api/events", get(n::events))
        .route("/api/meetings", get(w::list_meetings).post(w::create_meeting))
        .route("/api/meetings/{id}", get(w::show_meeting).patch(w::update_meeting))
        .route("/api/meetings/{id}/history", get(w::meeting_history))
        .route("/api/meetings/{id}/ics", get(calendar_routes::meeting_ics))
        .route("/api/meetings/ics", get(calendar_routes::all_ics))
        .route(
            "/api/session/calendar",
            get(calendar_routes::own_state).post(calendar_routes::own_new).delete(calendar_routes::own_revoke),
        )
        .route(
            "/api/accounts/{name}/calendar",
            post(calendar_routes::account_new).delete(calendar_routes::account_revoke),
        )
        .route("/api/groups", get(w::list_groups).post(w::create_group))
        .route("/api/groups/{id}", get(w::show_group).patch(w::update_group))
        .route("/api/groups/{id}/history", get(w::group_history))
        .route("/api/drafts", get(d::list).post(d::create))
        .route("/api/drafts/{id}", get(d::show).patch(d::retitle))
        .route("/api/drafts/{id}/text", put(d::set_text))
        .route("/api/drafts/{id}/splice", post(d::splice))
        .route("/api/drafts/{id}/actions", post(d::action))
        .route("/api/drafts/{id}/diff", get(d::diff))
        .route("/api/drafts/{id}/history", get(w::draft_history))
        .route("/api/drafts/{id}/verify", get(d::verify))
        .route("/api/drafts/{id}/export", get(d::export))
        .route("/api/drafts/{id}/original", get(original_routes::original))
        .route("/api/drafts/{id}/provisions/{pid}", get(provision_routes::show))
        .route("/api/parties", get(original_routes::parties))
        .route("/api/suggestions/{id}", post(d::decide))
        .route("/api/officers", get(w::list_officers).post(w::assign_officer))
        .route("/api/officers/{id}/end", post(w::end_officer))
        .route("/api/threads", get(w::list_threads).post(w::start_thread))
        .route("/api/threads/{id}", get(w::show_thread))
        .route("/api/threads/{id}/messages", post(w::post_message))
        .route("/api/threads/{id}/history", get(w::thread_history))
        // An item's body streams in and is encrypted chunk by chunk; it has its own size limit.
        .route("/api/items", get(v::list).post(v::share).layer(axum::extract::DefaultBodyLimit::disable()))
        .route("/api/items/{id}", axum::routing::delete(v::delete_item))
        .route("/api/items/{id}/content", get(v::content))
        .route("/api/items/{id}/explain", get(v::explain))
        .route("/api/items/{id}/request", post(v::request_item))
        .route("/api/items/{id}/citations", get(v::citations))
        .route("/api/granted", get(v::granted))
        .route("/api/consent", get(v::consent_list).post(v::consent_request))
        .route("/api/consent/{id}/grant", post(v::consent_grant))
        .route("/api/consent/{id}/deny", post(v::consent_deny))
        .route("/api/consent/{id}/revoke", post(v::consent_revoke))
        .route("/api/mandates", get(v::mandates_list).post(v::mandates_add))
        .route("/api/mandates/{reference}", post(v::mandates_change))
        .route("/api/audit", get(v::audit_show))
        .route("/api/audit/verify", get(v::audit_verify))
        .route("/api/audit/witnessed", get(v::audit_witnessed))
        .route("/api/backup", post(backup_routes::backup))
        .route("/api/inbox", get(inbox_routes::list))
        .route("/api/inbox/read", post(inbox_routes::mark_read))
        .route("/api/search", get(search_routes::search))
        .merge(test_hooks::routes())
        // Unknown API paths answer 401 too when not logged in: nothing is learnt without it.
        .route("/api/{*rest}", axum::routing::any(error::not_found))
        .route("/metrics", get(health::metrics))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        // After the layer: asked without authentication, and they tell nothing but up or ready.
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        // After the layer too: a calendar feed's secret is its login (see `calendar_routes`).
        .route("/api/calendar/{file}", get(calendar_routes::feed));
    let proxies = state.trusted_proxies.clone();
    api.fallback(web::asset)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(web::security_headers))
        // The access log: one line per request on the target `liaison::access` when its
        // response is sent. The path only: a query string may hold what an officer typed, and
        // headers the token or the session cookie, so neither is ever written.
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let client = client_addr::of_request(req.extensions()).map(|a| a.to_string()).unwrap_or_default();
                    tracing::info_span!(target: "liaison::access", "http", method = %req.method(), path = %calendar_routes::loggable_path(req.uri().path()), client = %client)
                })
                .on_request(())
                .on_response(|res: &axum::http::Response<_>, latency: Duration, _: &tracing::Span| {
                    tracing::info!(target: "liaison::access", status = res.status().as_u16(), latency_ms = latency.as_millis() as u64, "request");
                })
                .on_body_chunk(())
                .on_eos(())
                .on_failure(()),
        )
        // Outside the access log, so that it shows the client a trusted proxy names.
        .layer(axum::middleware::from_fn_with_state(proxies, client_addr::layer))
        .with_state(state)
}

/// Serves the API over HTTPS on `addr` until `handle` is told to shut down. Returns the bound
/// address (port 0 resolved) and the server task, which writes the last failed logins to the
/// audit log as it ends.
/// `tls` may be reloaded while it serves (`RustlsConfig::reload_from_config`): connections
/// made after take the new certificate, open ones keep theirs.
pub async fn serve(
    addr: SocketAddr,
    tls: RustlsConfig,
    state: AppState,
    handle: ServerHandle,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let limits = state.limits.clone();
    let idle = Duration::from_secs(limits.header_timeout_secs);
    let timeouts = conn::Timeouts { idle, send: Duration::from_secs(limits.send_timeout_secs) };
    let listener = conn::Listener::bind(addr, limits.max_connections, timeouts).await?;
    let app = router(state.clone());
    let acceptor = RustlsAcceptor::new(tls).acceptor(conn::Counting);
    let mut server = axum_server::Server::from_listener(listener).acceptor(acceptor).handle(handle.clone());
    // hyper's own time-out for an HTTP/1 head; `conn` bounds the rest (HTTP/2, idle connections,
    // protocol detection) under TLS, where hyper does not.
    server.http_builder().http1().header_read_timeout(idle);
    let audit_every = Duration::from_secs(limits.login_audit_secs);
    let flusher = tokio::spawn(login_audit::run(state.clone(), audit_every));
    let task = tokio::spawn(async move {
        if let Err(e) = server.serve(app.into_make_service_with_connect_info::<SocketAddr>()).await {
            tracing::error!(error = %e, "the API server stopped");
        }
        flusher.abort();
        login_audit::flush(&state).await;
    });
    match handle.listening().await {
        Some(bound) => Ok((bound.0, task)),
        None => {
            task.abort();
            Err(std::io::Error::other(format!("cannot listen on {addr}")))
        }
    }
}
