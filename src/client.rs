//! The API's client, as the CLI uses it: HTTPS with exactly the node's own certificate as the
//! only trusted one, and the token from the data dir.

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
    /// The node answered with an error.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The node's explanation.
        message: String,
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
}

impl Client {
    /// A client for the node of `data_dir`, acting for `officer`.
    pub fn for_data_dir(data_dir: &Path, officer: &str) -> Result<Client, ClientError> {
        install_crypto_provider();
        let addr = match run_info(data_dir) {
            Some(info) => info.api_addr,
            None => NodeConfig::load(data_dir).map_err(|e| ClientError::Setup(e.to_string()))?.api.listen,
        };
        let addr = connectable(addr);
        let token = keys::load_api_token(data_dir).map_err(|e| ClientError::Setup(e.to_string()))?;
        let cert_file = data_dir.join(keys::TLS_CERT);
        let pem = std::fs::read(&cert_file).map_err(|e| ClientError::Setup(format!("{}: {e}", cert_file.display())))?;
        let http = http_client(&pem).map_err(|e| ClientError::Setup(format!("{}: {e}", cert_file.display())))?;
        Ok(Client {
            http,
            base: format!("https://{addr}"),
            token,
            officer: officer.to_string(),
            data_dir: data_dir.to_path_buf(),
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

    /// Sends a file as the request body, streamed, with `on_bytes` told of each piece sent;
    /// reads the JSON answer.
    pub async fn upload<T: DeserializeOwned>(
        &self,
        path_and_query: &str,
        file: tokio::fs::File,
        on_bytes: impl Fn(u64) + Send + Sync + 'static,
    ) -> Result<T, ClientError> {
        use futures::StreamExt;
        let (url, req) = self.request(Method::POST, path_and_query);
        let stream = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).inspect(move |r| {
            if let Ok(b) = r {
                on_bytes(b.len() as u64);
            }
        });
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
        if e.is_connect() {
            ClientError::NoNode { url: self.base.clone(), data_dir: self.data_dir.clone() }
        } else {
            ClientError::Transport { url: url.to_string(), reason: error_chain(&e) }
        }
    }

    async fn finish<T: DeserializeOwned>(&self, req: reqwest::RequestBuilder, url: String) -> Result<T, ClientError> {
        let resp = req.send().await.map_err(|e| self.send_error(&url, e))?;
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
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| ClientError::Transport { url: url.clone(), reason: error_chain(&e) })?;
        if !resp.status().is_success() {
            return Err(ClientError::Api { status: resp.status().as_u16(), message: "event stream refused".into() });
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

/// The node's error message from an error response.
fn api_error(status: reqwest::StatusCode, bytes: &[u8]) -> ClientError {
    let message = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| format!("HTTP {status}"));
    ClientError::Api { status: status.as_u16(), message }
}

/// An HTTPS client that trusts exactly the certificate in `pem`.
pub fn http_client(pem: &[u8]) -> Result<reqwest::Client, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    install_crypto_provider();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| format!("not a PEM certificate: {e}"))?;
        roots.add(cert).map_err(|e| format!("unusable certificate: {e}"))?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder().use_preconfigured_tls(tls).no_proxy().build().map_err(|e| e.to_string())
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
