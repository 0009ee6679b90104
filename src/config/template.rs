//! The commented `node.toml` that `liaison init` writes. Every key is explained where it stands,
//! so that a sysadmin can edit the file without the manual.

use std::net::SocketAddr;

use libp2p::Multiaddr;

use crate::ids::PartyId;

/// Text of a fresh `node.toml`.
pub fn render(
    party_id: &PartyId,
    party_name: &str,
    listen: &[Multiaddr],
    external: &[Multiaddr],
    api: SocketAddr,
) -> String {
    let listen = listen.iter().map(|a| format!("{:?}", a.to_string())).collect::<Vec<_>>().join(", ");
    let external = external.iter().map(|a| format!("{:?}", a.to_string())).collect::<Vec<_>>().join(", ");
    let name = toml_string(party_name);
    format!(
        r#"# liaison node configuration.
#
# Written by `liaison init`; edit by hand or with `liaison peer add|remove`. A running node picks
# up peer changes at once (`liaison peer ...` tells it; after a hand edit, send it SIGHUP).
# SIGHUP applies the peers, the API's certificate files and [api] trusted_proxies; every other
# setting takes effect at the next start (the log names each one changed).
# Keys, certificates and the API token live beside this file in keys/ and tls/ (mode 0600).

[party]
# Short id of the Party this node speaks for: lowercase letters, digits and dashes.
id = "{party_id}"
# Full name of the Party, shown to officers of both Parties.
name = {name}
# Its full name in Russian, for the Russian original of an executed draft and the Russian
# interface of both Parties (published to the other Party in this Party's registry). Without it the
# Russian texts show `name`. E.g.
# name_ru = "Секретариат Совещания по взаимодействию и мерам доверия в Азии (СВМДА)"

[network]
# libp2p addresses to listen on for other nodes (TCP, Noise, Yamux). Only the peers pinned
# below may connect; every other connection is refused right after the handshake.
listen = [{listen}]
# Where the other sites reach this node: what `liaison id` exports for their `peer add`, and what
# the node announces to its peers. Needed when the listen address is 0.0.0.0 or port 0 (they
# say "every interface" and "any port", not where to dial), and behind NAT or a port forward.
# Each must be a concrete IP or DNS name with a TCP port, e.g. ["/ip4/203.0.113.7/tcp/{p2p_port}"]
# or ["/dns4/liaison.example.org/tcp/{p2p_port}"]. Default [] (the listen addresses, if dialable).
external_addrs = [{external}]
# Largest message a peer may send, in bytes; a bigger one drops that peer's session.
# Default 33554432 (32 MiB).
max_message_bytes = {max}

[api]
# Address of the local HTTPS API used by the CLI and the web app. Loopback by default; every
# request needs the token in keys/api.token. Default "127.0.0.1:{api_port}".
listen = "{api}"
# Serve Prometheus metrics at /metrics on this address too, in plain HTTP and without the
# token (on the API address /metrics needs the token). Keep it on loopback or a monitoring
# network: the metrics name the pinned peers. Off by default; e.g. "127.0.0.1:9711".
# metrics_listen = "127.0.0.1:9711"
# The certificate the API serves. Without tls_cert and tls_key it is the node's self-signed
# one (tls/api-cert.pem, keys/api-tls.key; `liaison api-cert --name NAME` makes a new one for
# other names). To serve the organisation's own certificate, name its PEM files: the chain
# (the server's certificate first, then the intermediate and issuing CA certificates) and its
# private key, which must be mode 0600 (`chmod 600 FILE`). Relative paths are relative to the
# data dir. The files are read again on SIGHUP (`systemctl reload liaison`): put a renewed
# certificate in place and reload; a file that cannot be used keeps the old certificate and
# the log says why. Default: none (self-signed).
# tls_cert = "/etc/liaison/api-chain.pem"
# tls_key = "/etc/liaison/api.key"
# The CLI on this machine trusts only the certificates of tls_cert's file (so put the issuing
# CA in the chain), or, if set, those of ca_file (PEM). Default: none.
# ca_file = "/etc/liaison/org-ca.pem"
# The DNS name the CLI expects in the certificate when it is not the listen address (the CLI
# still connects to the listen address). Default: none (the listen address itself).
# server_name = "liaison.cica.example"
# Reverse proxies in front of the API (IP addresses or CIDR ranges). For a request from one of
# them, the client's address (what failed logins are counted and audited by) is the right-most
# address in X-Forwarded-For that is not a trusted proxy; from anyone else the header is
# ignored. Applied on SIGHUP. Default [] (none).
trusted_proxies = []

[store]
# How many documents stay loaded in memory; the others are read from the store on use.
# Default {cache}.
cache_docs = {cache}

[drafts]
# The languages of new drafts, all equally authentic. Default ["en", "ru"].
languages = ["en", "ru"]

[policy]
# Actions this Party's officers may take only when they cite a recorded mandate (a Member-State
# consent, `liaison mandate add`): any of "item-share", "group-create", "officer-assign".
# Default [] (none required).
require_mandate = []

# Bounds on what a peer may send or make this node hold. A peer past one loses its session, the
# refusal is audited, and the other peers are served on. Leave a key out for its default.
[limits.peer]
# Largest document from a peer once decompressed (a snapshot, or a document with the changes
# applied to it), in bytes. Default 67108864 (64 MiB).
doc_bytes = 67108864
# Most changes in one document from a peer. Default 2000000.
doc_changes = 2000000
# Most workspace documents one peer may create here. Default 200000.
docs = 200000
# Most bytes of workspace documents and changes one peer may add here, counted decompressed.
# Default 8589934592 (8 GiB).
bytes = 8589934592
# Most item offers from one peer in flight at once (liaison sends one at a time); their
# partial chunks are removed when its session ends. Default 8.
pending_offers = 8
# Largest item from a peer, in 1 MiB chunks, checked against its signed envelope before any
# chunk is stored. Default 16384 (16 GiB).
item_chunks = 16384
# Refused requests from one peer are audited once per this many seconds, with a count.
# Default 60.
refusal_audit_secs = 60
# Most operations in one document from a peer, and rows in any one of its columns.
# Default 16000000.
doc_ops = 16000000
# Most decompressed bytes of documents in one batch from a peer; at least doc_bytes + 16777216.
# Default 134217728 (128 MiB).
batch_doc_bytes = 134217728
# Most frames in one batch from a peer; at least 8192. Default 32768.
batch_frames = 32768

# Bounds on what a client of the API may send.
[limits.api]
# Seconds a client has to send a request's line and headers, after connecting or after its
# previous response; an idle connection is closed after it. Default 10.
header_timeout_secs = 10
# Most API connections open at once; more wait to be accepted. Default 512.
max_connections = 512
# Longest account name, in characters. Default 64.
name_chars = 64
# Longest password, in bytes. Default 1024.
password_bytes = 1024
# Seconds a response may wait for the client to read any of it before the connection is
# closed. Default 30.
send_timeout_secs = 30
# Failed logins for one name from one address before each further try must wait: 1 s, doubling
# with each failure, up to login_max_delay_secs. Other names and other addresses are not
# slowed by them. Default 5.
login_free_failures = 5
# Failed logins from one address, whatever the names, before its tries must wait likewise.
# Default 20.
login_free_failures_per_addr = 20
# Longest wait between two login tries, in seconds. Default 60.
login_max_delay_secs = 60
# Most failed-login counters kept; past it the oldest are forgotten. Default 10000.
login_tracked = 10000
# Failed logins are audited once per this many seconds for each name and address, with a
# count. Default 60.
login_audit_secs = 60

# Pinned peers, one [[peers]] table each (`liaison peer add` writes them):
#   party_id    the organisation of the peer
#   peer_id     its libp2p identity (from `liaison id` on that node)
#   addrs       multiaddrs to dial it at, e.g. ["/ip4/10.0.0.2/tcp/{p2p_port}"]
#   role        "party" (a node of either Party: receives the workspace),
#               "third-party" (receives only items a provider consented to), or, on a third
#               party's own node, "provider" (a Party's node it receives granted items from);
#               default "party"
#   signing_key the peer Party's Ed25519 public key, hex (from `liaison id`); it proves who made
#               each change the peer sends; required for a "party" peer
#   sealing_key the peer Party's X25519 public key, hex (from `liaison id`)
"#,
        max = super::DEFAULT_MAX_MESSAGE_BYTES,
        api_port = super::DEFAULT_API_PORT,
        p2p_port = super::DEFAULT_P2P_PORT,
        cache = super::DEFAULT_CACHE_DOCS,
    )
}

/// A TOML basic string with the needed escapes.
fn toml_string(s: &str) -> String {
    toml_edit::Value::from(s).to_string().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeConfig;
    use std::path::Path;

    #[test]
    fn the_template_parses_back_to_what_was_asked() {
        let text = render(
            &"cica".parse().unwrap(),
            "CICA \"Secretariat\"",
            &["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
            &["/dns4/liaison.example.org/tcp/4710".parse().unwrap()],
            "127.0.0.1:0".parse().unwrap(),
        );
        let c = NodeConfig::parse(Path::new("/d"), Path::new("/d/node.toml"), &text).unwrap();
        assert_eq!(c.party.name, "CICA \"Secretariat\"");
        assert_eq!(c.network.listen[0].to_string(), "/ip4/127.0.0.1/tcp/0");
        assert_eq!(c.network.external_addrs[0].to_string(), "/dns4/liaison.example.org/tcp/4710");
        assert!(c.peers.is_empty());
        // The defaults written in the template are the defaults in code.
        assert_eq!(c.limits, crate::config::Limits::default());
    }
}
