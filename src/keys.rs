//! The node's secrets on disk: the libp2p node key, the Party's signing and sealing keys, the
//! API's TLS key and certificate, and the API token.
//!
//! Layout under the data dir (secrets mode 0600 in a 0700 directory):
//!
//! | file | holds |
//! | --- | --- |
//! | `keys/node.key` | libp2p Ed25519 keypair (protobuf encoding); its public half is the peer id |
//! | `keys/party-signing.key` | the Party's Ed25519 signing key, hex; shared by the Party's nodes |
//! | `keys/party-sealing.key` | the Party's X25519 sealing key, hex; shared by the Party's nodes |
//! | `keys/api-tls.key` | private key of the API's certificate, PEM |
//! | `keys/api.token` | bearer token every API request must carry |
//! | `tls/api-cert.pem` | the API's self-signed certificate; clients pin exactly this one |

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use libp2p::identity::Keypair;
use x25519_dalek::{PublicKey as SealingPublic, StaticSecret};

use crate::ids::fill_random;

/// Directory of secret files, relative to the data dir.
pub const KEYS_DIR: &str = "keys";
/// The libp2p node key.
pub const NODE_KEY: &str = "keys/node.key";
/// The Party signing key.
pub const SIGNING_KEY: &str = "keys/party-signing.key";
/// The Party sealing key.
pub const SEALING_KEY: &str = "keys/party-sealing.key";
/// The API TLS private key.
pub const TLS_KEY: &str = "keys/api-tls.key";
/// The API token.
pub const API_TOKEN: &str = "keys/api.token";
/// The API certificate (public).
pub const TLS_CERT: &str = "tls/api-cert.pem";

/// Something is wrong with a key file.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing failed.
    #[error("{}: {source}", .file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file exists but does not hold a key of the right form.
    #[error("{}: {reason}", .file.display())]
    Malformed {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Others than the owner could read the secret.
    #[error("{}: mode {mode:o} lets others read this secret; run `chmod 600 {}`", .file.display(), .file.display())]
    TooOpen {
        /// The file.
        file: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The certificate could not be made.
    #[error("cannot create the API certificate: {0}")]
    Certificate(String),
}

/// The node's secrets, loaded.
pub struct NodeKeys {
    /// libp2p identity of this node.
    pub node: Keypair,
    /// The same key as Ed25519, whose signing cannot fail: it signs the audit log.
    pub node_ed25519: libp2p::identity::ed25519::Keypair,
    /// The Party's signing key.
    pub signing: SigningKey,
    /// The Party's sealing key.
    pub sealing: StaticSecret,
    /// The API bearer token.
    pub api_token: String,
}

impl NodeKeys {
    /// The public halves, as `liaison id` prints them.
    pub fn public(&self) -> PublicKeys {
        PublicKeys {
            peer_id: self.node.public().to_peer_id(),
            signing_key: self.signing.verifying_key().to_bytes(),
            sealing_key: SealingPublic::from(&self.sealing).to_bytes(),
        }
    }
}

/// What another node needs to pin this one.
#[derive(Clone, Debug)]
pub struct PublicKeys {
    /// The libp2p peer id.
    pub peer_id: libp2p::PeerId,
    /// The Party's Ed25519 public key.
    pub signing_key: [u8; 32],
    /// The Party's X25519 public key.
    pub sealing_key: [u8; 32],
}

/// Where the Party keys of a new node come from.
pub enum PartyKeys<'a> {
    /// Generate new ones: the first node of a Party.
    Generate,
    /// Copy them from another node's data dir: a Party's second node (backup, branch office).
    CopyFrom(&'a Path),
}

/// Creates every key file of a new node in `data_dir`. Never overwrites an existing file.
pub fn generate(data_dir: &Path, party_keys: PartyKeys<'_>, api_hosts: &[String]) -> Result<NodeKeys, KeyError> {
    make_private_dir(&data_dir.join(KEYS_DIR))?;
    let tls_dir = data_dir.join("tls");
    fs::create_dir_all(&tls_dir).map_err(|source| KeyError::Io { file: tls_dir.clone(), source })?;

    let node = Keypair::generate_ed25519();
    let encoded = node
        .to_protobuf_encoding()
        .map_err(|e| KeyError::Malformed { file: data_dir.join(NODE_KEY), reason: e.to_string() })?;
    write_secret(&data_dir.join(NODE_KEY), &encoded)?;

    let (signing, sealing) = match party_keys {
        PartyKeys::Generate => {
            let mut s = [0u8; 32];
            fill_random(&mut s);
            let mut x = [0u8; 32];
            fill_random(&mut x);
            (s, x)
        }
        PartyKeys::CopyFrom(other) => (read_hex32(&other.join(SIGNING_KEY))?, read_hex32(&other.join(SEALING_KEY))?),
    };
    write_secret(&data_dir.join(SIGNING_KEY), format!("{}\n", hex::encode(signing)).as_bytes())?;
    write_secret(&data_dir.join(SEALING_KEY), format!("{}\n", hex::encode(sealing)).as_bytes())?;

    let (cert, key) = self_signed(api_hosts)?;
    write_secret(&data_dir.join(TLS_KEY), key.as_bytes())?;
    let cert_file = data_dir.join(TLS_CERT);
    fs::write(&cert_file, cert).map_err(|source| KeyError::Io { file: cert_file, source })?;

    let mut token = [0u8; 32];
    fill_random(&mut token);
    write_secret(&data_dir.join(API_TOKEN), format!("{}\n", hex::encode(token)).as_bytes())?;

    load(data_dir)
}

/// The names every self-signed API certificate holds, for the CLI on the node's machine.
pub const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A self-signed certificate and its key (PEM) for the loopback names and `api_hosts` (DNS
/// names or IP addresses).
fn self_signed(api_hosts: &[String]) -> Result<(String, String), KeyError> {
    let names = api_cert_names(api_hosts);
    let cert = rcgen::generate_simple_self_signed(names).map_err(|e| KeyError::Certificate(e.to_string()))?;
    Ok((cert.cert.pem(), cert.signing_key.serialize_pem()))
}

/// The loopback names and `api_hosts`, each once.
pub fn api_cert_names(api_hosts: &[String]) -> Vec<String> {
    let mut names: Vec<String> = LOOPBACK_NAMES.iter().map(|s| s.to_string()).collect();
    for h in api_hosts {
        if !names.contains(h) {
            names.push(h.clone());
        }
    }
    names
}

/// Replaces the node's self-signed API certificate and key with new ones for `api_hosts`
/// (`liaison api-cert`). Each file is written beside itself and renamed over the old one, so
/// that a node reloading at the same time reads either the old pair or the new, never half.
pub fn replace_self_signed(data_dir: &Path, api_hosts: &[String]) -> Result<Vec<String>, KeyError> {
    let (cert, key) = self_signed(api_hosts)?;
    let key_file = data_dir.join(TLS_KEY);
    let cert_file = data_dir.join(TLS_CERT);
    let io = |file: &Path| {
        let file = file.to_path_buf();
        move |source| KeyError::Io { file, source }
    };
    let key_tmp = key_file.with_extension("key.new");
    let cert_tmp = cert_file.with_extension("pem.new");
    let _ = fs::remove_file(&key_tmp);
    write_secret(&key_tmp, key.as_bytes())?;
    fs::write(&cert_tmp, cert).map_err(io(&cert_tmp))?;
    fs::rename(&key_tmp, &key_file).map_err(io(&key_file))?;
    fs::rename(&cert_tmp, &cert_file).map_err(io(&cert_file))?;
    Ok(api_cert_names(api_hosts))
}

/// Loads the node's secrets, refusing files that others could read.
pub fn load(data_dir: &Path) -> Result<NodeKeys, KeyError> {
    let node_file = data_dir.join(NODE_KEY);
    let node = Keypair::from_protobuf_encoding(&read_secret(&node_file)?)
        .map_err(|e| KeyError::Malformed { file: node_file.clone(), reason: format!("not a libp2p key: {e}") })?;
    let node_ed25519 = node.clone().try_into_ed25519().map_err(|_| KeyError::Malformed {
        file: node_file,
        reason: "not an Ed25519 key (`liaison init` makes one)".into(),
    })?;
    let signing = SigningKey::from_bytes(&read_hex32(&data_dir.join(SIGNING_KEY))?);
    let sealing = StaticSecret::from(read_hex32(&data_dir.join(SEALING_KEY))?);
    let api_token = load_api_token(data_dir)?;
    Ok(NodeKeys { node, node_ed25519, signing, sealing, api_token })
}

/// Reads just the API token, as the CLI does.
pub fn load_api_token(data_dir: &Path) -> Result<String, KeyError> {
    let file = data_dir.join(API_TOKEN);
    let token = String::from_utf8(read_secret(&file)?)
        .map_err(|_| KeyError::Malformed { file: file.clone(), reason: "not text".into() })?
        .trim()
        .to_string();
    if token.len() < 32 {
        return Err(KeyError::Malformed { file, reason: "the token is too short (want 64 hex digits)".into() });
    }
    Ok(token)
}

fn make_private_dir(dir: &Path) -> Result<(), KeyError> {
    fs::create_dir_all(dir).map_err(|source| KeyError::Io { file: dir.to_path_buf(), source })?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|source| KeyError::Io { file: dir.to_path_buf(), source })
}

/// Writes a new secret file with mode 0600 from the start (no window where it is readable).
fn write_secret(file: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let io = |source| KeyError::Io { file: file.to_path_buf(), source };
    let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(file).map_err(io)?;
    f.write_all(bytes).map_err(io)?;
    f.sync_all().map_err(io)
}

/// Reads a secret file, refusing it when its group or others may read it.
pub fn read_secret(file: &Path) -> Result<Vec<u8>, KeyError> {
    let io = |source| KeyError::Io { file: file.to_path_buf(), source };
    let meta = fs::metadata(file).map_err(io)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::TooOpen { file: file.to_path_buf(), mode });
    }
    fs::read(file).map_err(io)
}

fn read_hex32(file: &Path) -> Result<[u8; 32], KeyError> {
    let text = read_secret(file)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(String::from_utf8_lossy(&text).trim(), &mut out)
        .map_err(|_| KeyError::Malformed { file: file.to_path_buf(), reason: "want 64 hex digits".into() })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_private_and_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let made = generate(dir.path(), PartyKeys::Generate, &[]).unwrap();
        for f in [NODE_KEY, SIGNING_KEY, SEALING_KEY, TLS_KEY, API_TOKEN] {
            let mode = fs::metadata(dir.path().join(f)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
        let loaded = load(dir.path()).unwrap();
        assert_eq!(loaded.public().peer_id, made.public().peer_id);
        assert_eq!(loaded.public().signing_key, made.public().signing_key);
        // A second generate must not overwrite anything.
        assert!(generate(dir.path(), PartyKeys::Generate, &[]).is_err());
        assert_eq!(load(dir.path()).unwrap().public().peer_id, made.public().peer_id);
    }

    #[test]
    fn a_second_node_shares_the_party_keys_but_not_the_node_key() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let ka = generate(a.path(), PartyKeys::Generate, &[]).unwrap().public();
        let kb = generate(b.path(), PartyKeys::CopyFrom(a.path()), &[]).unwrap().public();
        assert_eq!(ka.signing_key, kb.signing_key);
        assert_eq!(ka.sealing_key, kb.sealing_key);
        assert_ne!(ka.peer_id, kb.peer_id);
    }

    #[test]
    fn a_readable_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), PartyKeys::Generate, &[]).unwrap();
        fs::set_permissions(dir.path().join(SIGNING_KEY), fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(dir.path()).err().unwrap().to_string();
        assert!(e.contains("chmod 600"), "{e}");
    }
}
