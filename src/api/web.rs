//! The web app's files, embedded in the binary (`web/`), and the security headers every
//! response carries, API or not.

use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

/// Every file of `web/` except its README, in the binary: the nodes run on closed networks, so
/// nothing is fetched from anywhere else.
#[derive(RustEmbed)]
#[folder = "web/"]
#[exclude = "README.md"]
struct Assets;

/// Strict: scripts and styles only from files of this origin (no inline script, no eval), no
/// plugins, no framing, no form posts elsewhere, no fetches elsewhere.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: [(&str, &str); 7] = [
    ("content-security-policy", CSP),
    // The API port is HTTPS only; browsers should never try it in clear.
    ("strict-transport-security", "max-age=31536000"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-opener-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
];

/// Adds the security headers to every response.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    for (k, v) in SECURITY_HEADERS {
        // A response that set its own (stricter, sandboxed) policy keeps it: the draft export.
        if !h.contains_key(k) {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
    }
    res
}

/// Serves a file of the web app: `/` is `index.html`.
pub async fn asset(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match load(path) {
        Some(bytes) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            let ct =
                HeaderValue::from_str(mime.as_ref()).unwrap_or(HeaderValue::from_static("application/octet-stream"));
            // Files change with the binary; revalidating is cheap on loopback and never stale.
            ([(CONTENT_TYPE, ct), (CACHE_CONTROL, HeaderValue::from_static("no-cache"))], bytes).into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(debug_assertions)]
fn load(path: &str) -> Option<Vec<u8>> {
    // For developing the web app only (debug builds): serve web/ from this directory instead,
    // so a change needs no rebuild. Release builds always serve the embedded files.
    if let Some(dir) = std::env::var_os("LIAISON_WEB_DIR") {
        let base = std::path::Path::new(&dir);
        if path.split('/').any(|c| c == ".." || c.is_empty()) {
            return None;
        }
        return std::fs::read(base.join(path)).ok();
    }
    Assets::get(path).map(|f| f.data.into_owned())
}

#[cfg(not(debug_assertions))]
fn load(path: &str) -> Option<Vec<u8>> {
    Assets::get(path).map(|f| f.data.into_owned())
}
