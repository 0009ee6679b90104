//! The API's certificate: read from its PEM files at start and again at every reload (SIGHUP,
//! `POST /api/reload`), so that an organisation's renewed certificate is served without a
//! restart. A file that cannot be used at start stops the node; at a reload it leaves the
//! certificate being served as it was.
//!
//! The files are `[api] tls_cert` / `tls_key` when the organisation issues the certificate,
//! otherwise the node's self-signed `tls/api-cert.pem` / `keys/api-tls.key` (`liaison init`,
//! `liaison api-cert`). The key must be readable by its owner only.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::ApiTls;
use crate::keys::{self, KeyError};

/// The API's certificate files cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read, or the key is readable by others.
    #[error("{setting}: {source}")]
    Key {
        /// Which setting names the file.
        setting: &'static str,
        /// Why.
        source: KeyError,
    },
    /// The certificate file holds no usable PEM certificate.
    #[error("{setting}: {}: {reason} (want PEM certificates, the server's first, then its chain)", .file.display())]
    Cert {
        /// Which setting names the file.
        setting: &'static str,
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key file holds no usable private key, or not the certificate's.
    #[error("{setting}: {}: {reason}", .file.display())]
    PrivateKey {
        /// Which setting names the file.
        setting: &'static str,
        /// The file.
        file: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// The names settings go by in errors.
fn settings(tls: &ApiTls) -> (&'static str, &'static str) {
    if tls.organisation {
        ("[api] tls_cert", "[api] tls_key")
    } else {
        ("the API's self-signed certificate", "the API's self-signed certificate key")
    }
}

/// Reads the certificate chain and key of `tls` into a server configuration for the API (HTTP/2
/// and HTTP/1.1), checking that the key is private and belongs to the certificate.
pub fn server_config(tls: &ApiTls) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let (cert_setting, key_setting) = settings(tls);
    let chain = read_chain(&tls.cert).map_err(|e| match e {
        ChainError::Key(source) => TlsError::Key { setting: cert_setting, source },
        ChainError::Cert(reason) => TlsError::Cert { setting: cert_setting, file: tls.cert.clone(), reason },
    })?;
    let key_pem = keys::read_secret(&tls.key).map_err(|source| TlsError::Key { setting: key_setting, source })?;
    let bad_key = |reason: String| TlsError::PrivateKey { setting: key_setting, file: tls.key.clone(), reason };
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| bad_key(format!("no PEM private key (PKCS#8, PKCS#1 or SEC1) in it: {e}")))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad_key(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                bad_key(format!("is not the private key of the certificate in {}", tls.cert.display()))
            }
            e => bad_key(e.to_string()),
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

enum ChainError {
    Key(KeyError),
    Cert(String),
}

fn read_chain(file: &Path) -> Result<Vec<CertificateDer<'static>>, ChainError> {
    let pem =
        std::fs::read(file).map_err(|source| ChainError::Key(KeyError::Io { file: file.to_path_buf(), source }))?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ChainError::Cert(format!("not PEM: {e}")))?;
    if chain.is_empty() {
        return Err(ChainError::Cert("holds no certificate".into()));
    }
    if let Err(e) = x509_parser::parse_x509_certificate(&chain[0]) {
        return Err(ChainError::Cert(format!("the first certificate does not parse: {e}")));
    }
    Ok(chain)
}

/// What a certificate says, for logs and for TLS errors the sysadmin can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    /// Its subject alternative names (DNS names and IP addresses).
    pub names: Vec<String>,
    /// Its serial number, hex.
    pub serial: String,
    /// The end of its validity, RFC 3339.
    pub not_after: String,
    /// Its issuer.
    pub issuer: String,
}

impl CertSummary {
    /// Reads a DER certificate.
    pub fn of_der(der: &[u8]) -> Option<CertSummary> {
        use x509_parser::extensions::GeneralName;
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                match n {
                    GeneralName::DNSName(d) => names.push(d.to_string()),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => names.push(std::net::IpAddr::from(<[u8; 4]>::try_from(*b).ok()?).to_string()),
                        16 => names.push(std::net::IpAddr::from(<[u8; 16]>::try_from(*b).ok()?).to_string()),
                        _ => {}
                    },
                    _ => {}
                }
            }
        }
        let not_after = chrono::DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        Some(CertSummary {
            names,
            serial: hex::encode(cert.raw_serial()),
            not_after,
            issuer: cert.issuer().to_string(),
        })
    }

    /// Reads the first certificate of a PEM file.
    pub fn of_pem_file(file: &Path) -> Option<CertSummary> {
        let pem = std::fs::read(file).ok()?;
        let first = CertificateDer::pem_slice_iter(&pem).next()?.ok()?;
        CertSummary::of_der(&first)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn files(dir: &Path, names: &[&str]) -> ApiTls {
        let c = rcgen::generate_simple_self_signed(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        let (cert, key) = (dir.join("c.pem"), dir.join("k.pem"));
        std::fs::write(&cert, c.cert.pem()).unwrap();
        std::fs::write(&key, c.signing_key.serialize_pem()).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        ApiTls { cert, key, organisation: true, ca_file: None, server_name: None }
    }

    #[test]
    fn a_good_pair_loads_and_its_names_are_read() {
        crate::node::install_crypto_provider();
        let d = tempfile::tempdir().unwrap();
        let t = files(d.path(), &["liaison.example", "10.20.0.5"]);
        server_config(&t).unwrap();
        let s = CertSummary::of_pem_file(&t.cert).unwrap();
        assert_eq!(s.names, ["liaison.example", "10.20.0.5"]);
    }

    #[test]
    fn bad_files_are_refused_naming_setting_file_and_fix() {
        crate::node::install_crypto_provider();
        let d = tempfile::tempdir().unwrap();
        let t = files(d.path(), &["a.example"]);
        std::fs::set_permissions(&t.key, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = server_config(&t).unwrap_err().to_string();
        assert!(e.contains("[api] tls_key") && e.contains("chmod 600") && e.contains("k.pem"), "{e}");
        std::fs::set_permissions(&t.key, std::fs::Permissions::from_mode(0o600)).unwrap();

        // Another certificate's key.
        let other = d.path().join("o");
        std::fs::create_dir(&other).unwrap();
        let o = files(&other, &["b.example"]);
        let e = server_config(&ApiTls { key: o.key.clone(), ..t.clone() }).unwrap_err().to_string();
        assert!(e.contains("[api] tls_key") && e.contains("is not the private key of the certificate"), "{e}");

        std::fs::write(&t.cert, "not a certificate").unwrap();
        let e = server_config(&t).unwrap_err().to_string();
        assert!(e.contains("[api] tls_cert") && e.contains("c.pem") && e.contains("holds no certificate"), "{e}");

        let e = server_config(&ApiTls { cert: d.path().join("missing.pem"), ..t }).unwrap_err().to_string();
        assert!(e.contains("[api] tls_cert") && e.contains("missing.pem"), "{e}");
    }
}
