//! `liaison config check`: everything a node needs to start, checked without starting it, so a
//! sysadmin finds a bad key, file or address before `systemctl reload` or a restart does.
//!
//! It never opens the store (a running node holds it) and never changes a file.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use clap::Subcommand;
use serde::Serialize;

use super::output;
use crate::config::{NodeConfig, PeerRole};
use crate::keys;

/// `liaison config ...`
#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Check node.toml, the keys and the API certificate; exits non-zero when a problem would
    /// stop the node or leave a peer unable to reach it.
    Check {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// Checked and right.
    Ok,
    /// The node runs, but something is likely not what the sysadmin wants.
    Warning,
    /// The node would not start, or a peer could not reach it.
    Error,
}

/// One thing checked.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// How bad.
    pub level: Level,
    /// What was checked: a file, or a file and key.
    pub what: String,
    /// What was found, and what would be right.
    pub detail: String,
}

/// What `config check --json` prints.
#[derive(Debug, Serialize)]
pub struct Report {
    /// No finding is an error.
    pub ok: bool,
    /// Every check, in order.
    pub findings: Vec<Finding>,
}

/// Runs the command.
pub fn run(dir: &Path, c: &ConfigCmd) -> anyhow::Result<()> {
    match c {
        ConfigCmd::Check { json } => {
            let report = check(dir);
            if *json {
                output::json(&report)?;
            } else {
                for f in &report.findings {
                    let tag = match f.level {
                        Level::Ok => "ok     ",
                        Level::Warning => "warning",
                        Level::Error => "ERROR  ",
                    };
                    println!("{tag}  {}: {}", f.what, f.detail);
                }
            }
            if report.ok {
                Ok(())
            } else {
                let n = report.findings.iter().filter(|f| f.level == Level::Error).count();
                Err(CheckFailed(n).into())
            }
        }
    }
}

/// `config check` found problems.
#[derive(Debug, thiserror::Error)]
#[error("{0} problem(s) in the node's configuration (see above)")]
pub struct CheckFailed(pub usize);

/// Checks the data dir's configuration, keys and certificate.
pub fn check(dir: &Path) -> Report {
    let mut f = Vec::new();
    let mut add = |level, what: &str, detail: String| f.push(Finding { level, what: what.to_string(), detail });

    match std::fs::metadata(dir) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => add(
            Level::Warning,
            &dir.display().to_string(),
            format!(
                "mode {:o}: others may list the data dir; run `chmod 700 {}`",
                m.permissions().mode() & 0o777,
                dir.display()
            ),
        ),
        Ok(_) => add(Level::Ok, &dir.display().to_string(), "the data dir is private (0700)".into()),
        Err(e) => {
            add(Level::Error, &dir.display().to_string(), format!("{e} (make a node with `liaison init`)"));
            return finish(f);
        }
    }

    let config = match NodeConfig::load(dir) {
        Ok(c) => {
            add(Level::Ok, &NodeConfig::path(dir).display().to_string(), "parses and every value is valid".into());
            Some(c)
        }
        Err(e) => {
            add(Level::Error, &NodeConfig::path(dir).display().to_string(), e.to_string());
            None
        }
    };

    match keys::load(dir) {
        Ok(k) => add(
            Level::Ok,
            keys::KEYS_DIR,
            format!("node, Party and API keys load, private (0600); peer id {}", k.public().peer_id),
        ),
        Err(e) => add(Level::Error, keys::KEYS_DIR, e.to_string()),
    }

    if let Some(c) = &config {
        let cert_what = if c.api.tls.organisation { "api.tls_cert" } else { keys::TLS_CERT };
        match crate::api::tls::server_config(&c.api.tls) {
            Err(e) => add(Level::Error, cert_what, e.to_string()),
            Ok(_) => match crate::api::tls::CertSummary::of_pem_file(&c.api.tls.cert) {
                None => add(Level::Error, cert_what, "the certificate cannot be read as X.509".into()),
                Some(cert) => {
                    let expires = chrono::DateTime::parse_from_rfc3339(&cert.not_after).ok();
                    let left = expires.map(|t| t.signed_duration_since(chrono::Utc::now()).num_days());
                    let wanted = c.api.tls.server_name.clone().unwrap_or_else(|| c.api.listen.ip().to_string());
                    let names = cert.names.join(", ");
                    if left.is_some_and(|d| d < 0) {
                        add(Level::Error, cert_what, format!("expired on {}: renew it, then reload", cert.not_after));
                    } else if !c.api.listen.ip().is_unspecified() && !cert.names.contains(&wanted) {
                        add(
                            Level::Error,
                            cert_what,
                            format!(
                                "is for {names}, not {wanted}: clients will refuse it (`liaison api-cert --name ...`, \
                                 a certificate for {wanted}, or [api] server_name)"
                            ),
                        );
                    } else if left.is_some_and(|d| d < 30) {
                        add(Level::Warning, cert_what, format!("expires on {}: renew it soon", cert.not_after));
                    } else {
                        add(
                            Level::Ok,
                            cert_what,
                            format!("loads, matches its key, names {names}, valid until {}", cert.not_after),
                        );
                    }
                }
            },
        }
        let exported = if c.network.external_addrs.is_empty() { &c.network.listen } else { &c.network.external_addrs };
        match exported.iter().map(crate::net::addr::dialable).find_map(Result::err) {
            Some(e) if c.network.external_addrs.is_empty() => add(
                Level::Warning,
                "network.external_addrs",
                format!(
                    "not set, and a listen address cannot be dialled from another site ({e}): \
                     `liaison id` will refuse to export it; set external_addrs to the address peers dial"
                ),
            ),
            Some(e) => add(Level::Error, "network.external_addrs", e.to_string()),
            None => add(
                Level::Ok,
                "network",
                format!("peers are given {}", exported.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
            ),
        }
        if let Some(m) = c.api.metrics_listen
            && !m.ip().is_loopback()
        {
            add(
                Level::Warning,
                "api.metrics_listen",
                format!("{m} serves metrics without a token beyond this machine: they name the pinned peers"),
            );
        }
        if c.api.listen.ip().is_loopback() {
            add(Level::Ok, "api.listen", format!("{} (this machine only)", c.api.listen));
        } else {
            add(
                Level::Warning,
                "api.listen",
                format!(
                    "{} is reachable from the network: its certificate must name the address officers use",
                    c.api.listen
                ),
            );
        }
        let parties = c.peers.iter().filter(|p| p.role == PeerRole::Party).count();
        if c.peers.is_empty() {
            add(Level::Warning, "peers", "no peer is pinned: this node syncs with nobody (`liaison peer add`)".into());
        } else {
            add(Level::Ok, "peers", format!("{} pinned ({parties} of another Party or this one)", c.peers.len()));
        }
        for (i, p) in c.peers.iter().enumerate() {
            let what = format!("peers[{i}] ({} {})", p.party_id, p.peer_id);
            if p.addrs.is_empty() {
                add(Level::Warning, &what, "no address: this node waits for the peer to dial it".into());
            }
            if p.role == PeerRole::Party && p.signing_key.is_none() {
                add(
                    Level::Error,
                    &what,
                    "no signing_key: its changes cannot be verified and are refused (pin it with `peer add --from-id`)"
                        .into(),
                );
            }
        }
    }
    finish(f)
}

fn finish(findings: Vec<Finding>) -> Report {
    Report { ok: findings.iter().all(|f| f.level != Level::Error), findings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_node_checks_clean_and_a_broken_one_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("n");
        let o = crate::node::InitOptions {
            party_id: crate::ids::PartyId::try_from("cica".to_string()).unwrap(),
            party_name: "CICA Secretariat".into(),
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            api: "127.0.0.1:0".parse().unwrap(),
            party_keys_from: None,
            external_addrs: Vec::new(),
        };
        crate::node::init_data_dir(&data, &o).unwrap();
        let r = check(&data);
        assert!(r.ok, "{:#?}", r.findings);
        // A key others can read is an error that says what to run.
        let key = data.join(keys::SIGNING_KEY);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let r = check(&data);
        assert!(!r.ok);
        assert!(
            r.findings.iter().any(|f| f.level == Level::Error && f.detail.contains("chmod 600")),
            "{:#?}",
            r.findings
        );
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        // A mistyped key in node.toml names the file and the key.
        let file = NodeConfig::path(&data);
        let text = std::fs::read_to_string(&file).unwrap().replacen("\n[api]\n", "\n[api]\nlisten_typo = 1\n", 1);
        std::fs::write(&file, text).unwrap();
        let r = check(&data);
        let e = r.findings.iter().find(|f| f.level == Level::Error).expect("an error");
        assert!(e.what.ends_with("node.toml") && e.detail.contains("listen_typo"), "{e:?}");
        // A certificate that is not the key's.
        std::fs::write(&file, std::fs::read_to_string(&file).unwrap().replace("listen_typo = 1\n", "")).unwrap();
        assert!(check(&data).ok);
        let other = rcgen::generate_simple_self_signed(vec!["x".into()]).unwrap();
        std::fs::write(data.join(keys::TLS_CERT), other.cert.pem()).unwrap();
        let r = check(&data);
        assert!(
            r.findings.iter().any(|f| f.level == Level::Error
                && f.what == keys::TLS_CERT
                && f.detail.contains("not the private key")),
            "{:#?}",
            r.findings
        );
    }
}
