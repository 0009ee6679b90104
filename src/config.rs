//! The node's configuration: `DATA_DIR/node.toml`.
//!
//! The file is parsed into raw serde structs (unknown keys refused), then validated once into
//! typed values; each part of the node receives only its own section. Every error names the
//! file, the key and what would be right.

mod edit;
mod limits;
pub mod reload;
mod template;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use libp2p::{Multiaddr, PeerId};
use serde::{Deserialize, Serialize};

use crate::ids::PartyId;

pub use edit::{add_peer, remove_peer};
pub use limits::{ApiLimits, Limits, PeerLimits, SENT_BATCH_DOC_BYTES, SENT_BATCH_FRAMES};
pub use template::render as render_template;

/// Name of the configuration file inside the data dir.
pub const CONFIG_FILE: &str = "node.toml";
/// Default libp2p port; fixed so that a sysadmin can open it in a firewall once.
pub const DEFAULT_P2P_PORT: u16 = 4710;
/// Default port of the local HTTPS API.
pub const DEFAULT_API_PORT: u16 = 4711;
/// Default cap on one peer message. A 100,000-change draft syncs in about 190 KB, a compacted
/// 1,000-document batch in a few MB; 32 MiB leaves room while bounding what a peer can make us
/// buffer.
pub const DEFAULT_MAX_MESSAGE_BYTES: u64 = 32 * 1024 * 1024;
/// Default number of documents kept loaded in memory.
pub const DEFAULT_CACHE_DOCS: usize = 512;

/// The validated configuration of one node.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// Where node.toml, the keys and the store live.
    pub data_dir: PathBuf,
    /// The Party this node belongs to.
    pub party: PartyConfig,
    /// The libp2p side.
    pub network: NetworkConfig,
    /// The local HTTPS API.
    pub api: ApiConfig,
    /// The embedded store.
    pub store: StoreConfig,
    /// The only peers that may connect, each with what it may receive.
    pub peers: Vec<PinnedPeer>,
    /// Rules this Party sets for its own officers.
    pub policy: PolicyConfig,
    /// Bounds on what peers and clients may send (`[limits.peer]`, `[limits.api]`).
    pub limits: Limits,
}

/// Rules a Party sets for its officers.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyConfig {
    /// Actions that must cite a recorded mandate (a Member-State consent).
    pub require_mandate: Vec<MandatedAction>,
    /// The languages of new drafts.
    pub draft_languages: Vec<String>,
}

/// An action that a Party's config can require a mandate for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MandatedAction {
    /// `liaison item share`.
    ItemShare,
    /// `liaison group create`.
    GroupCreate,
    /// `liaison officer assign`.
    OfficerAssign,
}

impl std::fmt::Display for MandatedAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            MandatedAction::ItemShare => "item-share",
            MandatedAction::GroupCreate => "group-create",
            MandatedAction::OfficerAssign => "officer-assign",
        })
    }
}

/// Longest full name of a Party (`name_ru`), in characters.
pub const MAX_PARTY_NAME_CHARS: usize = 300;

/// The Party this node speaks for.
#[derive(Clone, Debug)]
pub struct PartyConfig {
    /// Short id, such as `cica`.
    pub id: PartyId,
    /// Full name, shown to officers.
    pub name: String,
    /// Full name in Russian (`name_ru`), for the Russian original and the Russian interface;
    /// without it the Russian texts show `name`.
    pub name_ru: Option<String>,
}

/// Networking settings.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Addresses to listen on for other nodes.
    pub listen: Vec<Multiaddr>,
    /// Where other sites reach this node (`[network] external_addrs`): what `liaison id`
    /// exports and the swarm announces. Empty: the listen addresses, if they are dialable.
    pub external_addrs: Vec<Multiaddr>,
    /// Largest message accepted from a peer, in bytes.
    pub max_message_bytes: u64,
}

/// Local API settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiConfig {
    /// Address of the HTTPS API.
    pub listen: SocketAddr,
    /// Where `/metrics` is served without authentication, in plain HTTP (off by default).
    pub metrics_listen: Option<SocketAddr>,
    /// The certificate the API serves: the organisation's (`[api] tls_cert`, `tls_key`), or
    /// the node's self-signed one (`tls/api-cert.pem`, `keys/api-tls.key`).
    pub tls: ApiTls,
    /// Proxies whose `X-Forwarded-For` names the client (`[api] trusted_proxies`); empty: the
    /// header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// Which certificate the API serves, and how the CLI on this machine comes to trust it.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiTls {
    /// PEM certificate chain, leaf first; absolute.
    pub cert: PathBuf,
    /// PEM private key (mode 0600); absolute.
    pub key: PathBuf,
    /// Whether the organisation issued it (`[api] tls_cert` set), not `liaison init`.
    pub organisation: bool,
    /// `[api] ca_file`: the CA certificates the CLI trusts for the API; `None`: the
    /// certificates in `cert` itself (the issuing CA should be in the chain, or the leaf is
    /// self-signed).
    pub ca_file: Option<PathBuf>,
    /// `[api] server_name`: the DNS name the CLI expects in the certificate, connecting to
    /// `listen` all the same; `None`: the listen address itself.
    pub server_name: Option<String>,
}

/// Store settings.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// How many documents stay loaded in memory; the rest are loaded from disk on use.
    pub cache_docs: usize,
}

/// What a pinned peer is to us, which decides what it may receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerRole {
    /// A node of one of the two Parties (ours or the other): receives the workspace.
    Party,
    /// A node of any other organisation: receives only what a provider's consent names.
    ThirdParty,
    /// On a third party's own node: a Party's node that sends it the items granted to it.
    /// Shares no workspace.
    Provider,
}

impl std::fmt::Display for PeerRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PeerRole::Party => "party",
            PeerRole::ThirdParty => "third-party",
            PeerRole::Provider => "provider",
        })
    }
}

/// One peer pinned in the configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct PinnedPeer {
    /// The organisation the peer belongs to.
    pub party_id: PartyId,
    /// Its libp2p identity; connections from any other identity are refused.
    pub peer_id: PeerId,
    /// Where to dial it.
    pub addrs: Vec<Multiaddr>,
    /// What it may receive.
    pub role: PeerRole,
    /// The Party's Ed25519 signing key, to check what it signs (hex, 32 bytes).
    pub signing_key: Option<[u8; 32]>,
    /// The Party's X25519 sealing key, to seal items to it (hex, 32 bytes).
    pub sealing_key: Option<[u8; 32]>,
}

/// A configuration file that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is missing or unreadable.
    #[error("{file}: cannot read: {source} (create it with `liaison init --data-dir {dir}`)", file = .file.display(), dir = .file.parent().map(|p| p.display().to_string()).unwrap_or_default())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("{file}:{line}:{column}: {key}: {reason}", file = .file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// 1-based line of the problem, 0 if unknown.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The dotted key, such as `peers[0].addrs`.
        key: String,
        /// What is wrong and what would be right.
        reason: String,
    },
    /// A value parsed but is not acceptable.
    #[error("{file}: {key}: {reason}", file = .file.display())]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The dotted key.
        key: String,
        /// What is wrong and what would be right.
        reason: String,
    },
    /// Writing the file failed.
    #[error("{file}: cannot write: {source}", file = .file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

// ---- raw form, exactly as in the file ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    party: RawParty,
    #[serde(default)]
    network: RawNetwork,
    #[serde(default)]
    api: RawApi,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    peers: Vec<RawPeer>,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    drafts: RawDrafts,
    #[serde(default)]
    limits: Limits,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    require_mandate: Vec<MandatedAction>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrafts {
    #[serde(default = "default_languages")]
    languages: Vec<String>,
}

impl Default for RawDrafts {
    fn default() -> Self {
        RawDrafts { languages: default_languages() }
    }
}

fn default_languages() -> Vec<String> {
    vec!["en".into(), "ru".into()]
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    id: String,
    name: String,
    #[serde(default)]
    name_ru: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    #[serde(default = "default_listen")]
    listen: Vec<String>,
    #[serde(default)]
    external_addrs: Vec<String>,
    #[serde(default = "default_max_message_bytes")]
    max_message_bytes: u64,
}

impl Default for RawNetwork {
    fn default() -> Self {
        RawNetwork {
            listen: default_listen(),
            external_addrs: Vec::new(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

fn default_listen() -> Vec<String> {
    vec![format!("/ip4/0.0.0.0/tcp/{DEFAULT_P2P_PORT}")]
}

fn default_max_message_bytes() -> u64 {
    DEFAULT_MAX_MESSAGE_BYTES
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    #[serde(default = "default_api_listen")]
    listen: String,
    #[serde(default)]
    metrics_listen: Option<String>,
    #[serde(default)]
    tls_cert: Option<PathBuf>,
    #[serde(default)]
    tls_key: Option<PathBuf>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
}

impl Default for RawApi {
    fn default() -> Self {
        RawApi {
            listen: default_api_listen(),
            metrics_listen: None,
            tls_cert: None,
            tls_key: None,
            ca_file: None,
            server_name: None,
            trusted_proxies: Vec::new(),
        }
    }
}

fn default_api_listen() -> String {
    format!("127.0.0.1:{DEFAULT_API_PORT}")
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    #[serde(default = "default_cache_docs")]
    cache_docs: usize,
}

impl Default for RawStore {
    fn default() -> Self {
        RawStore { cache_docs: DEFAULT_CACHE_DOCS }
    }
}

fn default_cache_docs() -> usize {
    DEFAULT_CACHE_DOCS
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeer {
    party_id: String,
    peer_id: String,
    #[serde(default)]
    addrs: Vec<String>,
    #[serde(default = "default_role")]
    role: PeerRole,
    #[serde(default)]
    signing_key: Option<String>,
    #[serde(default)]
    sealing_key: Option<String>,
}

fn default_role() -> PeerRole {
    PeerRole::Party
}

impl NodeConfig {
    /// Path of the config file in `data_dir`.
    pub fn path(data_dir: &Path) -> PathBuf {
        data_dir.join(CONFIG_FILE)
    }

    /// Reads and validates `DATA_DIR/node.toml`.
    pub fn load(data_dir: &Path) -> Result<NodeConfig, ConfigError> {
        let file = Self::path(data_dir);
        let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read { file: file.clone(), source })?;
        Self::parse(data_dir, &file, &text)
    }

    /// Validates the text of a config file; `file` is only used in errors.
    pub fn parse(data_dir: &Path, file: &Path, text: &str) -> Result<NodeConfig, ConfigError> {
        let raw = parse_raw(file, text)?;
        validate(data_dir, file, raw)
    }

    /// The peer pinned with this id, if any.
    pub fn peer(&self, peer_id: &PeerId) -> Option<&PinnedPeer> {
        self.peers.iter().find(|p| &p.peer_id == peer_id)
    }
}

fn parse_raw(file: &Path, text: &str) -> Result<RawConfig, ConfigError> {
    let parse_error = |span: Option<std::ops::Range<usize>>, key: String, reason: String| {
        let (line, column) = span.map(|s| line_col(text, s.start)).unwrap_or((0, 0));
        ConfigError::Parse { file: file.to_path_buf(), line, column, key, reason }
    };
    let de = toml::de::Deserializer::parse(text)
        .map_err(|e| parse_error(e.span(), "(syntax)".into(), e.message().to_string()))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let mut reason = inner.message().to_string();
        if let Some(example) = example_for(&key) {
            reason.push_str(&format!(" (e.g. {example})"));
        }
        parse_error(inner.span(), key, reason)
    })
}

/// A right value for a key, to show with a type error at that key.
fn example_for(key: &str) -> Option<String> {
    let leaf = key.rsplit('.').next().unwrap_or(key);
    let leaf = leaf.split('[').next().unwrap_or(leaf);
    let example = match (key.split('.').next().unwrap_or(""), leaf) {
        ("network", "listen") => format!("listen = [\"/ip4/0.0.0.0/tcp/{DEFAULT_P2P_PORT}\"]"),
        ("network", "external_addrs") => format!("external_addrs = [\"/ip4/203.0.113.7/tcp/{DEFAULT_P2P_PORT}\"]"),
        ("network", "max_message_bytes") => format!("max_message_bytes = {DEFAULT_MAX_MESSAGE_BYTES}"),
        ("api", "listen") => format!("listen = \"127.0.0.1:{DEFAULT_API_PORT}\""),
        ("api", "trusted_proxies") => "trusted_proxies = [\"10.20.0.2\", \"192.168.1.0/24\"]".into(),
        ("api", "tls_cert") => "tls_cert = \"/etc/liaison/api-chain.pem\"".into(),
        ("api", "tls_key") => "tls_key = \"/etc/liaison/api.key\"".into(),
        ("store", "cache_docs") => format!("cache_docs = {DEFAULT_CACHE_DOCS}"),
        ("party", "id") => "id = \"cica\"".into(),
        ("party", "name") => "name = \"CICA Secretariat\"".into(),
        ("party", "name_ru") => "name_ru = \"Секретариат СВМДА\"".into(),
        (_, "addrs") => format!("addrs = [\"/ip4/10.0.0.2/tcp/{DEFAULT_P2P_PORT}\"]"),
        (_, "role") => "role = \"party\", \"third-party\" or \"provider\"".into(),
        ("policy", "require_mandate") => {
            "require_mandate = [\"item-share\", \"group-create\", \"officer-assign\"]".into()
        }
        (_, "peer_id") => "peer_id = \"12D3KooW...\" as `liaison id` prints it".into(),
        _ => return None,
    };
    Some(example)
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

fn validate(data_dir: &Path, file: &Path, raw: RawConfig) -> Result<NodeConfig, ConfigError> {
    let invalid = |key: String, reason: String| ConfigError::Invalid { file: file.to_path_buf(), key, reason };
    let party_id = PartyId::try_from(raw.party.id).map_err(|e| invalid("party.id".into(), e.to_string()))?;
    if raw.party.name.trim().is_empty() {
        return Err(invalid("party.name".into(), "must not be empty (e.g. \"CICA Secretariat\")".into()));
    }
    // Printed on the Russian original under the Party's signature: one line, like `name`.
    let name_ru = match raw.party.name_ru {
        Some(n) if n.trim().is_empty() || n.contains('\n') || n.chars().count() > MAX_PARTY_NAME_CHARS => {
            return Err(invalid(
                "party.name_ru".into(),
                format!("must be one line of 1 to {MAX_PARTY_NAME_CHARS} characters (or left out)"),
            ));
        }
        n => n,
    };
    let mut listen = Vec::new();
    for (i, a) in raw.network.listen.iter().enumerate() {
        listen.push(parse_multiaddr(a).map_err(|r| invalid(format!("network.listen[{i}]"), r))?);
    }
    if listen.is_empty() {
        return Err(invalid(
            "network.listen".into(),
            "needs at least one address, e.g. [\"/ip4/0.0.0.0/tcp/4710\"]".into(),
        ));
    }
    let mut external_addrs = Vec::new();
    for (i, a) in raw.network.external_addrs.iter().enumerate() {
        let key = format!("network.external_addrs[{i}]");
        let addr = parse_multiaddr(a).map_err(|r| invalid(key.clone(), r))?;
        // What other sites dial: "every interface" or "any port" would point nowhere.
        crate::net::addr::dialable(&addr).map_err(|e| {
            invalid(
                key,
                format!(
                    "{e}; give the address other sites reach this node at, e.g. /ip4/203.0.113.7/tcp/{DEFAULT_P2P_PORT}"
                ),
            )
        })?;
        external_addrs.push(addr);
    }
    if raw.network.max_message_bytes < 64 * 1024 {
        return Err(invalid(
            "network.max_message_bytes".into(),
            format!("{} is too small to carry a document; use at least 65536", raw.network.max_message_bytes),
        ));
    }
    let api_listen: SocketAddr = raw.api.listen.parse().map_err(|_| {
        invalid(
            "api.listen".into(),
            format!("{:?} is not an address with a port (try \"127.0.0.1:{DEFAULT_API_PORT}\")", raw.api.listen),
        )
    })?;
    let metrics_listen = match &raw.api.metrics_listen {
        None => None,
        Some(a) => Some(a.parse::<SocketAddr>().map_err(|_| {
            invalid(
                "api.metrics_listen".into(),
                format!("{a:?} is not an address with a port (try \"127.0.0.1:9711\")"),
            )
        })?),
    };
    let mut api = validate_api(data_dir, api_listen, raw.api).map_err(|(key, reason)| invalid(key, reason))?;
    api.metrics_listen = metrics_listen;
    if raw.drafts.languages.is_empty() {
        return Err(invalid("drafts.languages".into(), "needs at least one language, e.g. [\"en\", \"ru\"]".into()));
    }
    for (i, l) in raw.drafts.languages.iter().enumerate() {
        if !((2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase())) {
            return Err(invalid(
                format!("drafts.languages[{i}]"),
                format!("{l:?} is not a language code such as \"en\" or \"ru\""),
            ));
        }
    }
    raw.limits.check().map_err(|(key, reason)| invalid(key, reason))?;
    if raw.store.cache_docs == 0 {
        return Err(invalid("store.cache_docs".into(), "must be at least 1".into()));
    }
    let mut peers: Vec<PinnedPeer> = Vec::new();
    for (i, p) in raw.peers.into_iter().enumerate() {
        let key = |k: &str| format!("peers[{i}].{k}");
        let party_id = PartyId::try_from(p.party_id).map_err(|e| invalid(key("party_id"), e.to_string()))?;
        let peer_id: PeerId = p.peer_id.parse().map_err(|_| {
            invalid(
                key("peer_id"),
                format!(
                    "{:?} is not a libp2p peer id (it starts with 12D3Koo; `liaison id` on that node prints it)",
                    p.peer_id
                ),
            )
        })?;
        if peers.iter().any(|q| q.peer_id == peer_id) {
            return Err(invalid(key("peer_id"), format!("{peer_id} is pinned twice; remove one entry")));
        }
        let mut addrs = Vec::new();
        for (j, a) in p.addrs.iter().enumerate() {
            addrs.push(parse_multiaddr(a).map_err(|r| invalid(format!("peers[{i}].addrs[{j}]"), r))?);
        }
        let signing_key = p
            .signing_key
            .as_deref()
            .map(|h| parse_key_hex(h).map_err(|r| invalid(key("signing_key"), r)))
            .transpose()?;
        let sealing_key = p
            .sealing_key
            .as_deref()
            .map(|h| parse_key_hex(h).map_err(|r| invalid(key("sealing_key"), r)))
            .transpose()?;
        let clash = signing_key.and_then(|k| {
            peers.iter().find(|q| q.party_id == party_id && q.signing_key.is_some_and(|other| other != k))
        });
        if let Some(other) = clash {
            return Err(invalid(
                key("signing_key"),
                format!(
                    "differs from the signing key pinned for {party_id}'s node {}: a Party has one signing key; check which one is right",
                    other.peer_id
                ),
            ));
        }
        if p.role == PeerRole::Party && signing_key.is_none() {
            return Err(invalid(
                key("signing_key"),
                "a party peer needs its Party's signing key: it proves who made each change the peer sends (take it from the peer's `liaison id --json`, or pin with `liaison peer add --from-id`)".into(),
            ));
        }
        peers.push(PinnedPeer { party_id, peer_id, addrs, role: p.role, signing_key, sealing_key });
    }
    Ok(NodeConfig {
        data_dir: data_dir.to_path_buf(),
        party: PartyConfig { id: party_id, name: raw.party.name, name_ru },
        network: NetworkConfig { listen, external_addrs, max_message_bytes: raw.network.max_message_bytes },
        api,
        store: StoreConfig { cache_docs: raw.store.cache_docs },
        peers,
        policy: PolicyConfig { require_mandate: raw.policy.require_mandate, draft_languages: raw.drafts.languages },
        limits: raw.limits,
    })
}

/// The `[api]` section past its listen address: the certificate's files, the CLI's trust, the
/// trusted proxies. Relative paths are relative to the data dir.
fn validate_api(data_dir: &Path, listen: SocketAddr, raw: RawApi) -> Result<ApiConfig, (String, String)> {
    let abs = |p: PathBuf| if p.is_absolute() { p } else { data_dir.join(p) };
    let tls = match (raw.tls_cert, raw.tls_key) {
        (Some(cert), Some(key)) => {
            ApiTls { cert: abs(cert), key: abs(key), organisation: true, ca_file: None, server_name: None }
        }
        (None, None) => ApiTls {
            cert: data_dir.join(crate::keys::TLS_CERT),
            key: data_dir.join(crate::keys::TLS_KEY),
            organisation: false,
            ca_file: None,
            server_name: None,
        },
        (Some(_), None) => {
            return Err((
                "api.tls_key".into(),
                "is needed with api.tls_cert: the certificate's private key, a PEM file of mode 0600".into(),
            ));
        }
        (None, Some(_)) => {
            return Err((
                "api.tls_cert".into(),
                "is needed with api.tls_key: the certificate chain it belongs to, a PEM file, leaf first".into(),
            ));
        }
    };
    let server_name = match raw.server_name {
        Some(n)
            if n.parse::<std::net::IpAddr>().is_ok() || rustls::pki_types::DnsName::try_from(n.as_str()).is_err() =>
        {
            return Err((
                "api.server_name".into(),
                format!(
                    "{n:?} is not a DNS name (e.g. \"liaison.cica.example\"); for an IP address, leave server_name out: the CLI checks the listen address"
                ),
            ));
        }
        n => n,
    };
    let tls = ApiTls { ca_file: raw.ca_file.map(abs), server_name, ..tls };
    let mut trusted_proxies = Vec::new();
    for (i, p) in raw.trusted_proxies.iter().enumerate() {
        let net = p
            .parse::<ipnet::IpNet>()
            .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map_err(|_| {
                (
                    format!("api.trusted_proxies[{i}]"),
                    format!("{p:?} is not an IP address or a CIDR range (e.g. \"10.20.0.2\" or \"10.20.0.0/24\")"),
                )
            })?;
        trusted_proxies.push(net.trunc());
    }
    Ok(ApiConfig { listen, metrics_listen: None, tls, trusted_proxies })
}

/// Parses a multiaddr, with a hint at the right form when it is not one.
pub fn parse_multiaddr(s: &str) -> Result<Multiaddr, String> {
    s.parse::<Multiaddr>().map_err(|_| format!("{s:?} is not a multiaddr (try /ip4/10.0.0.2/tcp/{DEFAULT_P2P_PORT})"))
}

/// Parses a 32-byte public key written as 64 hex digits.
pub fn parse_key_hex(s: &str) -> Result<[u8; 32], String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s.trim(), &mut out)
        .map_err(|_| format!("{s:?} is not a 32-byte key in hex (64 digits; `liaison id` prints it)"))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[party]
id = "cica"
name = "CICA Secretariat"

[[peers]]
party_id = "sco-rats"
peer_id = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"
addrs = ["/ip4/127.0.0.1/tcp/4720"]
signing_key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
"#;

    fn parse(text: &str) -> Result<NodeConfig, ConfigError> {
        NodeConfig::parse(Path::new("/d"), Path::new("/d/node.toml"), text)
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.party.id.as_str(), "cica");
        assert_eq!(c.api.listen.to_string(), "127.0.0.1:4711");
        assert_eq!(c.network.listen[0].to_string(), "/ip4/0.0.0.0/tcp/4710");
        assert_eq!(c.peers.len(), 1);
        assert_eq!(c.peers[0].role, PeerRole::Party);
    }

    #[test]
    fn errors_name_file_key_and_fix() {
        let e = parse(&GOOD.replace("/ip4/127.0.0.1/tcp/4720", "tcp/4001")).unwrap_err().to_string();
        assert!(e.contains("/d/node.toml") && e.contains("peers[0].addrs[0]") && e.contains("/ip4/"), "{e}");

        let e = parse(&GOOD.replace("[party]", "[party]\ncolour = 1")).unwrap_err().to_string();
        assert!(e.contains("/d/node.toml:3") && e.contains("party") && e.contains("colour"), "{e}");

        let e = parse(&GOOD.replace("12D3KooWQYhT", "x")).unwrap_err().to_string();
        assert!(e.contains("peers[0].peer_id") && e.contains("liaison id"), "{e}");

        let e = parse("[party]\nid = 5\nname='x'").unwrap_err().to_string();
        assert!(e.contains("party.id") && e.contains(":2:"), "{e}");

        let e = parse(&GOOD.replace("[party]", "[network]\nlisten = \"tcp/4001\"\n[party]")).unwrap_err().to_string();
        assert!(e.contains("network.listen") && e.contains("e.g. listen = [\"/ip4/"), "{e}");

        // A Party's node without its Party's signing key could not prove who made its changes.
        let e = parse(&GOOD.replace("signing_key", "# signing_key")).unwrap_err().to_string();
        assert!(e.contains("peers[0].signing_key") && e.contains("liaison id --json"), "{e}");

        let e = parse("[party\n").unwrap_err().to_string();
        assert!(e.contains("/d/node.toml:1"), "{e}");

        let e = parse(&GOOD.replace("\"cica\"", "\"CICA\"")).unwrap_err().to_string();
        assert!(e.contains("party.id") && e.contains("lowercase"), "{e}");
    }

    #[test]
    fn the_example_configs_are_valid() {
        for (name, text) in
            [("cica", include_str!("../config/cica.toml")), ("sco-rats", include_str!("../config/sco-rats.toml"))]
        {
            let c = parse(text).unwrap_or_else(|e| panic!("config/{name}.toml: {e}"));
            assert_eq!(c.party.id.as_str(), name);
            assert_eq!(c.peers.len(), 2);
            assert!(c.peers.iter().all(|p| p.signing_key.is_some() && p.sealing_key.is_some()));
        }
    }

    #[test]
    fn a_peer_pinned_twice_is_refused() {
        let twice = format!("{GOOD}\n{}", &GOOD[GOOD.find("[[peers]]").unwrap()..]);
        let e = parse(&twice).unwrap_err().to_string();
        assert!(e.contains("pinned twice"), "{e}");
    }
}
