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
mod routes;
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
use axum::routing::get;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use libp2p::Multiaddr;
use tokio::task::JoinHandle;

use crate::accounts::{Accounts, Role};
use crate::config::{ApiLimits, PartyConfig};
use crate::engine::EngineHandle;
use crate::keys::PublicKeys;
use routes::{Access, Group};

pub use crate::engine::DocInfo;
pub use account_routes::{NewAccount, NewRole, Reset};
pub use auth::Caller;
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
    /// The last calendar of every meeting, written again only when what it shows changed.
    pub calendar: Arc<calendar_routes::CalendarCache>,
}

/// The role needed to read a provided item's content (`GET /api/items/{id}/content`); search
/// answers an item's title under the same rule.
pub(crate) const ITEM_CONTENT_ROLE: Role = Role::Liaison;

/// What anybody may ask: the login itself (the authentication layer lets it through).
fn public_routes() -> Group {
    Group { access: Access::Public, routes: vec![routes::post("/api/session", login::login)] }
}

/// Reading, and what changes nothing shared: the officer's own session, password, calendar
/// feed, presence and inbox.
fn viewer_routes() -> Group {
    use draft_routes as d;
    use node_routes as n;
    use routes::{delete, get, post};
    use vault_routes as v;
    use workspace_routes as w;
    routes::needs(
        Role::Viewer,
        vec![
            get("/api/session", session::whoami),
            delete("/api/session", session::logout),
            post("/api/session/password", login::change_password),
            post("/api/presence", presence::post),
            get("/api/status", n::status),
            get("/api/id", n::id),
            get("/api/docs", n::docs),
            get("/api/events", n::events),
            get("/api/meetings", w::list_meetings),
            get("/api/meetings/{id}", w::show_meeting),
            get("/api/meetings/{id}/history", w::meeting_history),
            get("/api/meetings/{id}/ics", calendar_routes::meeting_ics),
            get("/api/meetings/ics", calendar_routes::all_ics),
            get("/api/session/calendar", calendar_routes::own_state),
            post("/api/session/calendar", calendar_routes::own_new),
            delete("/api/session/calendar", calendar_routes::own_revoke),
            get("/api/groups", w::list_groups),
            get("/api/groups/{id}", w::show_group),
            get("/api/groups/{id}/history", w::group_history),
            get("/api/drafts", d::list),
            get("/api/drafts/{id}", d::show),
            get("/api/drafts/{id}/diff", d::diff),
            get("/api/drafts/{id}/history", w::draft_history),
            get("/api/drafts/{id}/verify", d::verify),
            get("/api/drafts/{id}/export", d::export),
            get("/api/drafts/{id}/original", original_routes::original),
            get("/api/drafts/{id}/provisions/{pid}", provision_routes::show),
            get("/api/parties", original_routes::parties),
            get("/api/officers", w::list_officers),
            get("/api/threads", w::list_threads),
            get("/api/threads/{id}", w::show_thread),
            get("/api/threads/{id}/history", w::thread_history),
            get("/api/items", v::list),
            get("/api/items/{id}/explain", v::explain),
            get("/api/items/{id}/citations", v::citations),
            get("/api/granted", v::granted),
            get("/api/consent", v::consent_list),
            get("/api/mandates", v::mandates_list),
            get("/api/audit", v::audit_show),
            get("/api/audit/verify", v::audit_verify),
            get("/api/audit/witnessed", v::audit_witnessed),
            get("/api/inbox", inbox_routes::list),
            // Marking one's own inbox read changes nothing shared.
            post("/api/inbox/read", inbox_routes::mark_read),
            get("/api/search", search_routes::search),
            // Unknown API paths: 404 once logged in (401 before, like every route here).
            get("/api/{*rest}", error::not_found),
        ],
    )
}

/// Changing meetings, groups and drafts. (Signing a draft needs a liaison officer; the action
/// is in the body, so its handler checks.)
fn member_routes() -> Group {
    use draft_routes as d;
    use routes::{delete, patch, post, put};
    use workspace_routes as w;
    routes::needs(
        Role::Member,
        vec![
            post("/api/meetings", w::create_meeting),
            patch("/api/meetings/{id}", w::update_meeting),
            post("/api/groups", w::create_group),
            patch("/api/groups/{id}", w::update_group),
            post("/api/drafts", d::create),
            patch("/api/drafts/{id}", d::retitle),
            put("/api/drafts/{id}/text", d::set_text),
            post("/api/drafts/{id}/splice", d::splice),
            post("/api/drafts/{id}/actions", d::action),
            post("/api/suggestions/{id}", d::decide),
            post("/api/backup", backup_routes::backup),
            // Changing an unknown path needs what changing needs, as before the paths were known.
            post("/api/{*rest}", error::not_found),
            put("/api/{*rest}", error::not_found),
            patch("/api/{*rest}", error::not_found),
            delete("/api/{*rest}", error::not_found),
        ],
    )
}

/// Provided information, consent, mandates, the officers' registry and messages.
fn liaison_routes() -> Group {
    use routes::{delete, post};
    use vault_routes as v;
    use workspace_routes as w;
    routes::needs(
        Role::Liaison,
        vec![
            post("/api/officers", w::assign_officer),
            post("/api/officers/{id}/end", w::end_officer),
            post("/api/threads", w::start_thread),
            post("/api/threads/{id}/messages", w::post_message),
            // An item's body streams in and is encrypted chunk by chunk; it has its own size limit.
            post("/api/items", v::share).unlimited_body(),
            delete("/api/items/{id}", v::delete_item),
            post("/api/items/{id}/request", v::request_item),
            post("/api/consent", v::consent_request),
            post("/api/consent/{id}/grant", v::consent_grant),
            post("/api/consent/{id}/deny", v::consent_deny),
            post("/api/consent/{id}/revoke", v::consent_revoke),
            post("/api/mandates", v::mandates_add),
            post("/api/mandates/{reference}", v::mandates_change),
        ],
    )
}

/// A provided item's content.
fn item_content_routes() -> Group {
    routes::needs(ITEM_CONTENT_ROLE, vec![routes::get("/api/items/{id}/content", vault_routes::content)])
}

/// Peers, accounts, reloading and the metrics.
fn admin_routes() -> Group {
    use account_routes as a;
    use node_routes as n;
    use routes::{delete, get, post};
    routes::needs(
        Role::Admin,
        vec![
            get("/api/accounts", a::list),
            post("/api/accounts", a::add),
            post("/api/accounts/{name}/disable", a::disable),
            post("/api/accounts/{name}/enable", a::enable),
            post("/api/accounts/{name}/role", a::set_role),
            post("/api/accounts/{name}/reset", a::reset),
            post("/api/accounts/{name}/calendar", calendar_routes::account_new),
            delete("/api/accounts/{name}/calendar", calendar_routes::account_revoke),
            post("/api/peers", n::add_peer),
            delete("/api/peers/{peer}", n::remove_peer),
            post("/api/reload", n::reload),
            get("/metrics", health::metrics),
        ],
    )
}

/// Every route behind the login, in groups by who may call them.
fn groups() -> Vec<Group> {
    vec![public_routes(), viewer_routes(), member_routes(), liaison_routes(), item_content_routes(), admin_routes()]
}

/// The API's routes.
pub fn router(state: AppState) -> Router {
    let api = routes::build(groups())
        // Debug builds only, and only with LIAISON_TEST_HOOKS=1; the handlers require an admin.
        .merge(test_hooks::routes())
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

#[cfg(test)]
mod tests;
