//! The API's client, as the CLI uses it: HTTPS to the node's API on this machine, with the token
//! from the data dir.
//!
//! It connects to where the node listens (its run file, else `[api] listen`; `0.0.0.0` meaning
//! loopback) and checks the certificate for `[api] server_name` if set, else for that address.
//! It trusts only the certificates the node's own files name, never the system's roots: those
//! of `[api] ca_file` if set, else every certificate in the file the API serves (the node's
//! self-signed one, or `[api] tls_cert`, whose chain should hold the issuing CA). The CLI runs on
//! the node's machine and can read them; a certificate the organisation renews stays trusted as
//! long as the same CA issues it.
//!
//! A refused connection means no node runs; any TLS failure is reported as one, with the name
//! expected and the names the certificate holds.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::OFFICER_HEADER;
use crate::config::NodeConfig;
use crate::keys;
use crate::node::{install_crypto_provider, run_info};

/// A client call that failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answers where the node should be.
    #[error("no liaison node answers at {url} for {}; start it with `liaison serve --data-dir {}`", .data_dir.display(), .data_dir.display())]
    NoNode {
        /// Where we tried.
        url: String,
        /// The data dir.
        data_dir: PathBuf,
    },
    /// Something answers, but the TLS handshake failed: the certificate is not for the name
    /// expected, not issued by a trusted CA, expired...
    #[error("TLS error talking to the node at {url}: {problem}")]
    Tls {
        /// Where.
        url: String,
        /// What is wrong, with what was expected, what the certificate says and what to do.
        problem: String,
    },
    /// The node answered with an error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The node's explanation.
        message: String,
        /// The refusal's code and parameters, when the node sent one (`{"code": .., ..}`), for
        /// the CLI to say in its own words.
        refusal: Option<serde_json::Value>,
    },
    /// The client could not be set up (missing token or certificate, bad config).
    #[error("{0}")]
    Setup(String),
    /// Something else went wrong on the way.
    #[error("talking to the node at {url}: {reason}")]
    Transport {
        /// Where.
        url: String,
        /// What.
        reason: String,
    },
}

/// A client of one node's API.
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    officer: String,
    data_dir: PathBuf,
    /// What a TLS error is explained with.
    tls: TlsContext,
}

/// What the client expects of the API's certificate, to explain a TLS failure.
#[derive(Clone, Debug)]
struct TlsContext {
    /// The name checked in the certificate.
    expected: String,
    /// The file(s) whose certificates are trusted, and the setting naming them.
    trusted: String,
    /// The certificate the node is configured to serve, and the setting naming it.
    served: PathBuf,
    /// Whether the organisation issued it (`[api] tls_cert`).
    organisation: bool,
}

impl Client {
    /// A client for the node of `data_dir`, acting for `officer`.
    pub fn for_data_dir(data_dir: &Path, officer: &str) -> Result<Client, ClientError> {
        install_crypto_provider();
        let config = NodeConfig::load(data_dir).map_err(|e| ClientError::Setup(e.to_string()))?;
        let addr = match run_info(data_dir) {
            Some(info) => info.api_addr,
            None => config.api.listen,
        };
        let addr = connectable(addr);
        let token = keys::load_api_token(data_dir).map_err(|e| ClientError::Setup(e.to_string()))?;
        let tls = &config.api.tls;
        let (trust_file, trusted) = match &tls.ca_file {
            Some(f) => (f.clone(), format!("{} ([api] ca_file)", f.display())),
            None if tls.organisation => {
                (tls.cert.clone(), format!("the certificates in {} ([api] tls_cert)", tls.cert.display()))
            }
            None => (tls.cert.clone(), format!("the node's self-signed certificate {}", tls.cert.display())),
        };
        let pem = std::fs::read(&trust_file).map_err(|e| ClientError::Setup(format!("{trusted}: {e}")))?;
        let (base, expected, resolve) = match &tls.server_name {
            Some(name) => (format!("https://{name}:{}", addr.port()), name.clone(), Some((name.as_str(), addr))),
            None => (format!("https://{addr}"), addr.ip().to_string(), None),
        };
        let http = client_trusting(&pem, resolve).map_err(|e| ClientError::Setup(format!("{trusted}: {e}")))?;
        Ok(Client {
            http,
            base,
            token,
            officer: officer.to_string(),
            data_dir: data_dir.to_path_buf(),
            tls: TlsContext { expected, trusted, served: tls.cert.clone(), organisation: tls.organisation },
        })
    }

    /// The API's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET a JSON resource.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call::<(), T>(Method::GET, path, None).await
    }

    /// Sends a JSON body with `method` and reads the JSON answer.
    pub async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, ClientError> {
        self.call(method, path, Some(body)).await
    }

    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        let (url, mut req) = self.request(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.finish(req, url).await
    }
}

impl Client {
    /// A request to `path` with the token and the officer, and its URL (for errors).
    fn request(&self, method: Method, path: &str) -> (String, reqwest::RequestBuilder) {
        let url = format!("{}{}", self.base, path);
        let req = self.http.request(method, &url).bearer_auth(&self.token).header(OFFICER_HEADER, &self.officer);
        (url, req)
    }

    /// GET a text resource.
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let (url, req) = self.request(Method::GET, path);
        let resp = req.send().await.map_err(|e| self.send_error(&url, e))?;
        let status = resp.status();
        let bytes =
            resp.bytes().await.map_err(|e| ClientError::Transport { url: url.clone(), reason: error_chain(&e) })?;
        if !status.is_success() {
            return Err(api_error(status, &bytes));
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Sends `head` then a file as the request body, streamed, with `on_bytes` told of each
    /// piece of the file sent; reads the JSON answer.
    pub async fn upload<T: DeserializeOwned>(
        &self,
        path: &str,
        head: Vec<u8>,
        file: tokio::fs::File,
        on_bytes: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<T, ClientError> {
        use futures::StreamExt;
        let (url, req) = self.request(Method::POST, path);
        let file = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).inspect(move |r| {
            if let Ok(b) = r {
                on_bytes(b.len() as u64);
            }
        });
        let stream = futures::stream::once(async move { Ok(axum::body::Bytes::from(head)) }).chain(file);
        let req = req.body(reqwest::Body::wrap_stream(stream));
        self.finish(req, url).await
    }

    /// Streams a response body into `out`, with `on_bytes` told of each piece; returns the
    /// response headers.
    pub async fn download(
        &self,
        path: &str,
        out: &mut (impl tokio::io::AsyncWrite + Unpin),
        on_bytes: impl Fn(u64),
    ) -> Result<reqwest::header::HeaderMap, ClientError> {
        let (url, req) = self.request(Method::GET, path);
        self.stream_into(url, req, out, on_bytes).await
    }

    /// POSTs a JSON body and streams the response body into `out`, as [`Client::download`].
    pub async fn post_download<B: Serialize>(
        &self,
        path: &str,
        body: &B,
        out: &mut (impl tokio::io::AsyncWrite + Unpin),
        on_bytes: impl Fn(u64),
    ) -> Result<reqwest::header::HeaderMap, ClientError> {
        let (url, req) = self.request(Method::POST, path);
        self.stream_into(url, req.json(body), out, on_bytes).await
    }

    async fn stream_into(
        &self,
        url: String,
        req: reqwest::RequestBuilder,
        out: &mut (impl tokio::io::AsyncWrite + Unpin),
        on_bytes: impl Fn(u64),
    ) -> Result<reqwest::header::HeaderMap, ClientError> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        let resp = req.send().await.map_err(|e| self.send_error(&url, e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if !status.is_success() {
            let bytes = resp.bytes().await.unwrap_or_default();
            return Err(api_error(status, &bytes));
        }
        let mut body = resp.bytes_stream();
        let broke = |reason: String| ClientError::Transport { url: url.clone(), reason };
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|e| broke(format!("the download broke off: {}", error_chain(&e))))?;
            out.write_all(&piece).await.map_err(|e| broke(format!("writing: {e}")))?;
            on_bytes(piece.len() as u64);
        }
        out.flush().await.map_err(|e| broke(format!("writing: {e}")))?;
        Ok(headers)
    }

    fn send_error(&self, url: &str, e: reqwest::Error) -> ClientError {
        if let Some(tls) = rustls_error(&e) {
            return ClientError::Tls { url: self.base.clone(), problem: self.explain_tls(tls) };
        }
        // Only a refused connection says that no node runs; anything else that answers (or
        // a route that is down) is not to be mistaken for it.
        if e.is_connect() && is_refused(&e) {
            ClientError::NoNode { url: self.base.clone(), data_dir: self.data_dir.clone() }
        } else {
            ClientError::Transport { url: url.to_string(), reason: error_chain(&e) }
        }
    }

    /// A TLS failure in words a sysadmin can act on: what was expected, what the certificate
    /// says, what to change.
    fn explain_tls(&self, e: &rustls::Error) -> String {
        use rustls::CertificateError as C;
        let t = &self.tls;
        let on_disk = crate::api::CertSummary::of_pem_file(&t.served);
        let fix_names = if t.organisation {
            "set [api] server_name in node.toml to one of the names it holds, or have the organisation issue a certificate with this name".to_string()
        } else {
            format!(
                "make a new self-signed certificate with this name: `liaison api-cert --data-dir {} --name {}`",
                self.data_dir.display(),
                t.expected
            )
        };
        match e {
            rustls::Error::InvalidCertificate(C::NotValidForNameContext { presented, .. }) => format!(
                "name mismatch: expected a certificate for {:?}, but the node's certificate is for {}; {fix_names}",
                t.expected,
                presented.iter().map(|n| plain_name(n)).collect::<Vec<_>>().join(", ")
            ),
            rustls::Error::InvalidCertificate(C::NotValidForName) => format!(
                "name mismatch: expected a certificate for {:?}, but the node's certificate is not for it (the served file {} is for {}); {fix_names}",
                t.expected,
                t.served.display(),
                on_disk.map(|c| c.names.join(", ")).unwrap_or_else(|| "names unknown".into())
            ),
            rustls::Error::InvalidCertificate(C::UnknownIssuer) => format!(
                "the certificate is not issued by a CA this client trusts ({}){}; set [api] ca_file in node.toml to the certificate of the CA that issued it, or put that CA after the server's certificate in [api] tls_cert",
                t.trusted,
                on_disk
                    .map(|c| format!(", and {} says it is issued by {:?}", t.served.display(), c.issuer))
                    .unwrap_or_default()
            ),
            rustls::Error::InvalidCertificate(C::ExpiredContext { time, not_after }) => format!(
                "the certificate expired at {} (it is now {}); renew {} and send the node SIGHUP",
                rfc3339(not_after.as_secs()),
                rfc3339(time.as_secs()),
                t.served.display()
            ),
            rustls::Error::InvalidCertificate(C::Expired) => {
                format!("the certificate has expired; renew {} and send the node SIGHUP", t.served.display())
            }
            rustls::Error::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
                "the certificate is not valid yet: check this machine's clock and the certificate's dates".into()
            }
            other => format!("{other} (the client trusts {} and expects the name {:?})", t.trusted, t.expected),
        }
    }

    async fn finish<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder, url: String) -> Result<T, ClientError> {
        let resp = req.send().await.map_err(|e| self.send_error(&url, e))?;
        self.read_json(resp, url).await
    }

    /// GET a page of a JSON list, and how many match in all (the answer's `x-total-count`,
    /// where the node gives it).
    pub async fn get_page<T: DeserializeOwned>(&self, path: &str) -> Result<(T, Option<usize>), ClientError> {
        let (url, req) = self.request(Method::GET, path);
        let resp = req.send().await.map_err(|e| self.send_error(&url, e))?;
        let total = resp.headers().get("x-total-count").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        Ok((self.read_json(resp, url).await?, total))
    }

    async fn read_json<T: DeserializeOwned>(&self, resp: reqwest::Response, url: String) -> Result<T, ClientError> {
        let status = resp.status();
        let bytes =
            resp.bytes().await.map_err(|e| ClientError::Transport { url: url.clone(), reason: error_chain(&e) })?;
        if !status.is_success() {
            return Err(api_error(status, &bytes));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| ClientError::Transport { url, reason: format!("unexpected answer: {e}") })
    }

    /// The node's event stream (`/api/events`), one JSON value per event.
    pub async fn event_stream(
        &self,
    ) -> Result<impl futures::Stream<Item = Result<serde_json::Value, ClientError>> + Unpin + use<>, ClientError> {
        use futures::StreamExt;
        let url = format!("{}/api/events", self.base);
        let resp = self.http.get(&url).bearer_auth(&self.token).send().await.map_err(|e| self.send_error(&url, e))?;
        if !resp.status().is_success() {
            let status = resp.status().as_u16();
            return Err(ClientError::Api { status, message: "event stream refused".into(), refusal: None });
        }
        let bytes = resp.bytes_stream();
        // Server-sent events: blocks separated by a blank line; JSON on the `data:` lines.
        let events = futures::stream::unfold((bytes, Vec::<u8>::new(), url), |(mut bytes, mut buf, url)| async move {
            loop {
                if let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                    let block: Vec<u8> = buf.drain(..end + 2).collect();
                    let text = String::from_utf8_lossy(&block);
                    let data: String = text.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
                    if data.is_empty() {
                        continue;
                    }
                    let item = serde_json::from_str(&data)
                        .map_err(|e| ClientError::Transport { url: url.clone(), reason: format!("bad event: {e}") });
                    return Some((item, (bytes, buf, url)));
                }
                match bytes.next().await {
                    Some(Ok(chunk)) => buf.extend_from_slice(&chunk),
                    Some(Err(e)) => {
                        let err = ClientError::Transport { url: url.clone(), reason: error_chain(&e) };
                        return Some((Err(err), (bytes, Vec::new(), url)));
                    }
                    None => return None,
                }
            }
        });
        Ok(Box::pin(events))
    }
}

/// The node's error message from an error response: the CLI's own words for a refusal whose
/// code it knows, else the node's.
fn api_error(status: reqwest::StatusCode, bytes: &[u8]) -> ClientError {
    let body = serde_json::from_slice::<serde_json::Value>(bytes).ok();
    let message = body
        .as_ref()
        .and_then(|v| v.get("refusal").and_then(crate::cli::refusal_words::words))
        .or_else(|| body.as_ref().and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string)))
        .unwrap_or_else(|| format!("HTTP {status}"));
    let refusal = body.and_then(|mut v| v.get_mut("refusal").map(serde_json::Value::take));
    ClientError::Api { status: status.as_u16(), message, refusal }
}

/// An HTTPS client that trusts exactly the certificates in `pem`.
pub fn http_client(pem: &[u8]) -> Result<reqwest::Client, String> {
    client_trusting(pem, None)
}

/// An HTTPS client that trusts exactly the certificates in `pem`; with `resolve`, the name is
/// connected to at that address (the certificate is checked for the name).
fn client_trusting(pem: &[u8], resolve: Option<(&str, SocketAddr)>) -> Result<reqwest::Client, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a PEM certificate: {e}"))?;
        roots.add(cert).map_err(|e| format!("unusable certificate: {e}"))?;
    }
    if roots.is_empty() {
        return Err("holds no PEM certificate".into());
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut b = reqwest::Client::builder().use_preconfigured_tls(tls).no_proxy();
    if let Some((name, addr)) = resolve {
        b = b.resolve(name, addr);
    }
    b.build().map_err(|e| e.to_string())
}

/// Every error in a chain, looking inside what `source()` does not show: an `io::Error`'s inner
/// error (its `source()` skips it).
fn each_error<'a>(e: &'a (dyn std::error::Error + 'static), f: &mut dyn FnMut(&'a (dyn std::error::Error + 'static))) {
    f(e);
    if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
        each_error(inner, f);
    }
    if let Some(next) = e.source() {
        each_error(next, f);
    }
}

/// The rustls error somewhere in a chain of errors.
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut found = None;
    each_error(e, &mut |c| {
        if found.is_none() {
            found = c.downcast_ref::<rustls::Error>();
        }
    });
    found
}

/// Whether an I/O error somewhere in a chain of errors is a refused connection (the HTTP stack
/// wraps it in further I/O errors of other kinds).
fn is_refused(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut refused = false;
    each_error(e, &mut |c| {
        refused |=
            c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
    });
    refused
}

/// A name as rustls shows it (`DnsName("a.example")`, `IpAddress(10.0.0.5)`), as written in a
/// certificate.
fn plain_name(shown: &str) -> String {
    let inner = shown.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')')).unwrap_or(shown);
    inner.trim_matches('"').to_string()
}

fn rfc3339(unix_secs: u64) -> String {
    chrono::DateTime::from_timestamp(unix_secs as i64, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| unix_secs.to_string())
}

/// Percent-encodes a path segment or query value (names hold spaces, titles anything).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Where to connect to reach a server bound to `addr`: the unspecified address means loopback.
fn connectable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
