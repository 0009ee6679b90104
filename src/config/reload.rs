//! What a reload (SIGHUP, `POST /api/reload`, `liaison peer add|remove`) changes: node.toml read
//! again and compared, setting by setting, with what the node runs with.
//!
//! | setting | at a reload |
//! | --- | --- |
//! | `[[peers]]` | applied: who may connect and what each may receive |
//! | `[api] tls_cert`, `tls_key` | applied: the files are read again (also when only their content changed); new connections get the new certificate; a file that cannot be used keeps the old one |
//! | `[api] trusted_proxies` | applied to the next request |
//! | `[api] ca_file`, `server_name` | the CLI's own; read by each command |
//! | everything else | needs a restart: named in a warning |
//!
//! The log level is not in node.toml: `LIAISON_LOG`, read at start.

use super::NodeConfig;

/// How node.toml differs from what the node runs with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// `[[peers]]` changed.
    pub peers: bool,
    /// `[api] tls_cert` or `tls_key` name other files (their content is read again anyway).
    pub tls_files: bool,
    /// `[api] trusted_proxies` changed.
    pub trusted_proxies: bool,
    /// Changed settings that only a restart applies, as `[section] key`.
    pub needs_restart: Vec<&'static str>,
}

/// Compares the configuration the node runs with and the one just read.
pub fn diff(running: &NodeConfig, new: &NodeConfig) -> Diff {
    let mut restart = Vec::new();
    let mut changed = |what: &'static str, differs: bool| {
        if differs {
            restart.push(what);
        }
    };
    changed("[party] id", running.party.id != new.party.id);
    changed("[party] name", running.party.name != new.party.name);
    changed("[network] listen", running.network.listen != new.network.listen);
    changed("[network] max_message_bytes", running.network.max_message_bytes != new.network.max_message_bytes);
    changed("[network] external_addrs", running.network.external_addrs != new.network.external_addrs);
    changed("[api] listen", running.api.listen != new.api.listen);
    changed("[api] metrics_listen", running.api.metrics_listen != new.api.metrics_listen);
    changed("[store] cache_docs", running.store.cache_docs != new.store.cache_docs);
    changed("[policy] require_mandate", running.policy.require_mandate != new.policy.require_mandate);
    changed("[drafts] languages", running.policy.draft_languages != new.policy.draft_languages);
    changed("[limits.peer]", running.limits.peer != new.limits.peer);
    changed("[limits.api]", running.limits.api != new.limits.api);
    Diff {
        peers: running.peers != new.peers,
        tls_files: running.api.tls.cert != new.api.tls.cert || running.api.tls.key != new.api.tls.key,
        trusted_proxies: running.api.trusted_proxies != new.api.trusted_proxies,
        needs_restart: restart,
    }
}

/// What the node runs with after a reload: `running` with the settings a reload applies taken
/// from `new` (the certificate's files only if they could be served, `tls_applied`). The others
/// stay as they run, so that the next reload still warns of them until a restart.
pub fn applied(running: &NodeConfig, new: &NodeConfig, tls_applied: bool) -> NodeConfig {
    let mut now = running.clone();
    now.peers = new.peers.clone();
    now.api.trusted_proxies = new.api.trusted_proxies.clone();
    // The CLI's settings: nothing in the node uses them.
    now.api.tls.ca_file = new.api.tls.ca_file.clone();
    now.api.tls.server_name = new.api.tls.server_name.clone();
    if tls_applied {
        now.api.tls.cert = new.api.tls.cert.clone();
        now.api.tls.key = new.api.tls.key.clone();
        now.api.tls.organisation = new.api.tls.organisation;
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const BASE: &str = "[party]\nid = \"cica\"\nname = \"CICA\"\n";

    fn parse(text: &str) -> NodeConfig {
        NodeConfig::parse(Path::new("/d"), Path::new("/d/node.toml"), text).unwrap()
    }

    #[test]
    fn live_settings_and_restart_settings_are_told_apart() {
        let old = parse(BASE);
        assert_eq!(diff(&old, &old), Diff::default());
        let new = parse(&format!(
            "{BASE}[api]\nlisten = \"10.20.0.5:4711\"\ntls_cert = \"/etc/l/c.pem\"\ntls_key = \"k.pem\"\ntrusted_proxies = [\"10.20.0.2\"]\n[store]\ncache_docs = 7\n[limits.api]\nname_chars = 10\n"
        ));
        let d = diff(&old, &new);
        assert!(d.tls_files && d.trusted_proxies && !d.peers);
        assert_eq!(d.needs_restart, ["[api] listen", "[store] cache_docs", "[limits.api]"]);
        assert_eq!(new.api.tls.key, Path::new("/d/k.pem"), "relative to the data dir");

        // After the reload: the live ones taken, the others still differ (and still warn).
        let now = applied(&old, &new, true);
        let again = diff(&now, &new);
        assert!(!again.tls_files && !again.trusted_proxies);
        assert_eq!(again.needs_restart, d.needs_restart);
        // A certificate that could not be served is not taken.
        assert!(diff(&applied(&old, &new, false), &new).tls_files);
    }

    #[test]
    fn bad_api_settings_name_the_key_and_the_fix() {
        let bad = |api: &str| {
            NodeConfig::parse(Path::new("/d"), Path::new("/d/node.toml"), &format!("{BASE}[api]\n{api}\n"))
                .unwrap_err()
                .to_string()
        };
        let e = bad("tls_cert = \"c.pem\"");
        assert!(e.contains("api.tls_key") && e.contains("mode 0600"), "{e}");
        let e = bad("trusted_proxies = [\"10.0.0.0/33\"]");
        assert!(e.contains("api.trusted_proxies[0]") && e.contains("CIDR"), "{e}");
        let e = bad("server_name = \"10.0.0.1\"");
        assert!(e.contains("api.server_name") && e.contains("DNS name"), "{e}");
        let ok = parse(&format!("{BASE}[api]\ntrusted_proxies = [\"10.0.0.7\", \"192.168.1.9/24\", \"::1\"]\n"));
        let nets: Vec<String> = ok.api.trusted_proxies.iter().map(|n| n.to_string()).collect();
        assert_eq!(nets, ["10.0.0.7/32", "192.168.1.0/24", "::1/128"]);
    }
}
