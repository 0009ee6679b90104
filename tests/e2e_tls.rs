//! The API on the organisation's network, through the real binary: a certificate the
//! organisation's CA issues (made here with rcgen), renewed in place and taken up on SIGHUP; TLS
//! failures reported as TLS errors; `[api] trusted_proxies` for the login limit and audit; an
//! access log that never holds a query string.

mod common;

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{Node, eventually};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A test CA: what an organisation's PKI would be.
struct Ca {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    pem: String,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        p.distinguished_name.push(rcgen::DnType::CommonName, name);
        p.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        Ca { pem: cert.pem(), issuer: rcgen::Issuer::new(p, key) }
    }

    /// A server certificate for `names` with serial `serial`: (chain PEM, key PEM, leaf DER).
    fn leaf(&self, names: &[&str], serial: u64) -> (String, String, Vec<u8>) {
        let mut p = rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
        p.serial_number = Some(rcgen::SerialNumber::from(serial));
        p.distinguished_name.push(rcgen::DnType::CommonName, names[0]);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &self.issuer).unwrap();
        (format!("{}{}", cert.pem(), self.pem), key.serialize_pem(), cert.der().to_vec())
    }
}

/// Writes a leaf and its key where node.toml's `[api] tls_cert` / `tls_key` point, the key
/// with `mode`; replaces each file whole (written beside, renamed over).
fn install(dir: &Path, leaf: &(String, String, Vec<u8>), mode: u32) {
    let (cert, key) = (dir.join("api-chain.pem"), dir.join("api.key"));
    std::fs::write(dir.join("api-chain.pem.new"), &leaf.0).unwrap();
    std::fs::write(dir.join("api.key.new"), &leaf.1).unwrap();
    std::fs::set_permissions(dir.join("api.key.new"), std::fs::Permissions::from_mode(mode)).unwrap();
    std::fs::rename(dir.join("api-chain.pem.new"), cert).unwrap();
    std::fs::rename(dir.join("api.key.new"), key).unwrap();
}

/// Sets `[api]` keys of node.toml (each given as a whole `key = value` line after `listen`).
fn set_api(node: &Node, lines: &[&str]) {
    let file = node.dir.join("node.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let at = text.find("[api]\n").expect("an [api] section");
    let end = at + text[at..].find("listen = ").unwrap();
    let end = end + text[end..].find('\n').unwrap() + 1;
    let mut new = text[..end].to_string();
    for l in lines {
        new.push_str(l);
        new.push('\n');
    }
    // The template's own line for a key set here goes.
    for rest in text[end..].lines() {
        if !lines.iter().any(|l| rest.split('=').next() == l.split('=').next()) {
            new.push_str(rest);
            new.push('\n');
        }
    }
    std::fs::write(&file, new).unwrap();
}

fn api_addr(node: &Node) -> std::net::SocketAddr {
    node.run_info().unwrap()["api_addr"].as_str().unwrap().parse().unwrap()
}

fn sighup(node: &Node) {
    // SAFETY: kill(2) on the pid of a child the harness owns.
    assert_eq!(unsafe { libc::kill(node.pid() as libc::pid_t, libc::SIGHUP) }, 0);
}

/// An HTTPS client trusting only `ca_pem`, as a browser with the organisation's CA installed.
fn https(ca_pem: &str) -> reqwest::Client {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
    liaison::node::install_crypto_provider();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .tls_info(true)
        .no_proxy()
        .build()
        .unwrap()
}

/// The leaf certificate a new connection to the node's API is served.
async fn served_leaf(node: &Node, ca_pem: &str) -> Result<Vec<u8>, String> {
    let token = std::fs::read_to_string(node.dir.join("keys/api.token")).unwrap();
    let r = https(ca_pem)
        .get(format!("https://{}/api/status", api_addr(node)))
        .bearer_auth(token.trim())
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    if r.status() != StatusCode::OK {
        return Err(format!("status {}", r.status()));
    }
    let info = r.extensions().get::<reqwest::tls::TlsInfo>().ok_or("no TLS info")?;
    info.peer_certificate().map(<[u8]>::to_vec).ok_or_else(|| "no peer certificate".into())
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_serves_the_organisations_certificate_renewed_on_sighup_and_tls_errors_say_so() {
    let ca = Ca::new("CICA Test Root CA");
    let mut node = Node::init("A", "cica", "CICA Secretariat");
    let files: PathBuf = node.scratch().join("pki");
    std::fs::create_dir(&files).unwrap();
    set_api(
        &node,
        &[&format!("tls_cert = {:?}", files.join("api-chain.pem")), &format!("tls_key = {:?}", files.join("api.key"))],
    );

    // A key others may read is refused at start, naming the file and the fix.
    let first = ca.leaf(&["127.0.0.1", "liaison.cica.test"], 1001);
    install(&files, &first, 0o644);
    let out = node.run(&["serve"]);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(e.contains("[api] tls_key") && e.contains("api.key") && e.contains("chmod 600"), "{e}");
    std::fs::set_permissions(files.join("api.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    node.start();

    // The CLI trusts the chain it is configured with: status, peer list, an officer command.
    assert_eq!(node.status()["running"], true);
    let list = node.ok(&["peer", "list"]);
    assert!(!list.contains("not running"), "{list}");
    node.id_of(&["officer", "assign", "--name", "Ana Lima", "--contact", "ana@cica.test"]);
    assert_eq!(node.json(&["officer", "list", "--json"]).as_array().unwrap().len(), 1);
    // A browser with the organisation's CA gets the organisation's certificate.
    assert_eq!(served_leaf(&node, &ca.pem).await.unwrap(), first.2);

    // Renewed in place, then SIGHUP: a new connection gets the new certificate.
    let renewed = ca.leaf(&["127.0.0.1", "liaison.cica.test"], 1002);
    install(&files, &renewed, 0o600);
    sighup(&node);
    let start = std::time::Instant::now();
    while served_leaf(&node, &ca.pem).await.unwrap() != renewed.2 {
        assert!(start.elapsed() < common::DEADLINE, "the renewed certificate is not served\n{}", node.logs());
        tokio::time::sleep(common::POLL).await;
    }
    assert_eq!(node.status()["running"], true, "the CLI after the renewal");

    // A broken file at a reload: the error names it, and the renewed certificate stays.
    std::fs::write(files.join("api-chain.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
    sighup(&node);
    eventually("the reload error in the log", &[&node], || {
        let log = node.log_text();
        let line = log.lines().find(|l| l.contains("keeps serving its previous certificate")).ok_or("no error yet")?;
        if line.contains("api-chain.pem") && line.contains("[api] tls_cert") { Ok(()) } else { Err(line.to_string()) }
    });
    assert_eq!(served_leaf(&node, &ca.pem).await.unwrap(), renewed.2);

    // A certificate for another name: the CLI says TLS, names what it expected and what the
    // certificate holds, and exits non-zero; peer list does not say "not running".
    let other = ca.leaf(&["liaison.cica.test", "10.20.0.5"], 1003);
    install(&files, &other, 0o600);
    sighup(&node);
    eventually("the other certificate served", &[&node], || {
        let out = node.run(&["status"]);
        let e = stderr(&out);
        if out.status.success() {
            return Err("status still succeeds".into());
        }
        if e.contains("TLS")
            && e.contains("name mismatch")
            && e.contains("127.0.0.1")
            && e.contains("liaison.cica.test")
        {
            Ok(())
        } else {
            Err(e)
        }
    });
    for args in [&["peer", "list"][..], &["officer", "list"][..]] {
        let out = node.run(args);
        let e = stderr(&out);
        assert!(!out.status.success() && e.contains("name mismatch") && !e.contains("not running"), "{args:?}: {e}");
    }
    // With [api] server_name, the CLI checks that name while connecting to the listen address.
    set_api(&node, &["server_name = \"liaison.cica.test\""]);
    assert_eq!(node.status()["running"], true);

    // A CA the CLI is not told of: an unknown issuer, reported as a TLS error with the fix.
    let stranger = Ca::new("Someone Else's CA");
    let mut foreign = stranger.leaf(&["liaison.cica.test"], 7);
    foreign.0 = foreign.0.replace(&stranger.pem, "");
    install(&files, &foreign, 0o600);
    sighup(&node);
    eventually("the foreign certificate refused", &[&node], || {
        let out = node.run(&["status"]);
        let e = stderr(&out);
        if !out.status.success() && e.contains("TLS") && e.contains("[api] ca_file") { Ok(()) } else { Err(e) }
    });
    // ...which ca_file fixes.
    let ca_file = files.join("stranger-ca.pem");
    std::fs::write(&ca_file, &stranger.pem).unwrap();
    set_api(&node, &["server_name = \"liaison.cica.test\"", &format!("ca_file = {ca_file:?}")]);
    assert_eq!(node.status()["running"], true);
    node.stop();

    // Stopped: only now does the CLI say the node is not running.
    let list = node.ok(&["peer", "list"]);
    assert!(!list.contains("TLS"), "{list}");
    assert_eq!(node.status()["running"], false);
}

#[test]
fn api_names_go_in_the_self_signed_certificate_and_api_cert_makes_a_new_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let out = std::process::Command::new(common::bin())
        .args(["--data-dir", dir.to_str().unwrap(), "init", "--party-id", "cica", "--party-name", "CICA"])
        .args(["--api", "127.0.0.1:0", "--api-name", "liaison.cica.test", "--api-name", "10.20.0.5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let names = liaison::api::CertSummary::of_pem_file(&dir.join("tls/api-cert.pem")).unwrap().names;
    for n in ["localhost", "127.0.0.1", "liaison.cica.test", "10.20.0.5"] {
        assert!(names.iter().any(|x| x == n), "{n} not in {names:?}");
    }
    let bad = std::process::Command::new(common::bin())
        .args(["--data-dir", "/nonexistent", "init", "--party-id", "cica", "--party-name", "C", "--api-name", "a b"])
        .output()
        .unwrap();
    assert!(!bad.status.success() && stderr(&bad).contains("neither a DNS name nor an IP address"), "{}", stderr(&bad));

    let out = std::process::Command::new(common::bin())
        .args(["--data-dir", dir.to_str().unwrap(), "api-cert", "--name", "office.cica.test"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let names = liaison::api::CertSummary::of_pem_file(&dir.join("tls/api-cert.pem")).unwrap().names;
    assert!(names.contains(&"office.cica.test".to_string()) && !names.contains(&"10.20.0.5".to_string()), "{names:?}");
    let mode = std::fs::metadata(dir.join("keys/api-tls.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// Tries a wrong password for `name` from local address `from`, with `forwarded_for` in
/// X-Forwarded-For; answers the status.
async fn wrong_login(node: &Node, from: &str, forwarded_for: &str, name: &str) -> StatusCode {
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(node.dir.join("tls/api-cert.pem")).unwrap()).unwrap(),
        )
        .tls_built_in_root_certs(false)
        .local_address(from.parse::<IpAddr>().unwrap())
        .no_proxy()
        .build()
        .unwrap();
    let r = http
        .post(format!("https://{}/api/session", api_addr(node)))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({ "name": name, "password": "guess" }))
        .send()
        .await
        .unwrap();
    r.status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_forwarded_for_counts_only_from_a_trusted_proxy_and_the_access_log_has_no_query() {
    liaison::node::install_crypto_provider();
    let mut node = Node::init("A", "cica", "CICA Secretariat");
    let file = node.dir.join("node.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text
        .replace("login_free_failures_per_addr = 20", "login_free_failures_per_addr = 2")
        .replace("login_max_delay_secs = 60", "login_max_delay_secs = 30");
    std::fs::write(&file, text).unwrap();
    set_api(&node, &["trusted_proxies = [\"127.0.0.9\"]"]);
    node.start();

    // From an address that is not a trusted proxy, the header is ignored: whatever it claims,
    // every try counts against the real address, which is slowed after two.
    let mut answers = Vec::new();
    for i in 0..4 {
        answers.push(wrong_login(&node, "127.0.0.8", &format!("198.51.100.{i}"), &format!("n{i}")).await);
    }
    assert_eq!(answers[..2], [StatusCode::UNAUTHORIZED; 2], "{answers:?}");
    assert_eq!(answers[2..], [StatusCode::TOO_MANY_REQUESTS; 2], "{answers:?}");

    // From the trusted proxy, each client it names is counted on its own: none is slowed...
    for i in 0..4 {
        let s = wrong_login(&node, "127.0.0.9", &format!("6.6.6.6, 198.51.100.{}", 10 + i), &format!("m{i}")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "client {i} behind the proxy");
    }
    // ...while one client behind it is, from there and only there (the proxy's own address is
    // not the key: another client behind it is not slowed).
    for _ in 0..2 {
        assert_eq!(wrong_login(&node, "127.0.0.9", "198.51.100.50", "x").await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(wrong_login(&node, "127.0.0.9", "198.51.100.50", "y").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(wrong_login(&node, "127.0.0.9", "198.51.100.51", "y").await, StatusCode::UNAUTHORIZED);

    // The login audit records the client behind the proxy.
    let pw = node.json(&["account", "add", "--name", "Lena", "--role", "member", "--json"])["password"]
        .as_str()
        .unwrap()
        .to_string();
    let http = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(node.dir.join("tls/api-cert.pem")).unwrap()).unwrap(),
        )
        .tls_built_in_root_certs(false)
        .local_address("127.0.0.9".parse::<IpAddr>().unwrap())
        .no_proxy()
        .build()
        .unwrap();
    let base = format!("https://{}", api_addr(&node));
    let r = http
        .post(format!("{base}/api/session"))
        .header("x-forwarded-for", "203.0.113.7")
        .json(&json!({ "name": "Lena", "password": pw }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let audit = node.json(&["audit", "show", "--json"]);
    let logins: Vec<Value> =
        audit.as_array().unwrap().iter().filter_map(|e| e["entry"]["event"].get("login-succeeded").cloned()).collect();
    assert_eq!(logins, vec![json!({ "name": "Lena", "addr": "203.0.113.7" })]);

    // A request with a query string: the access log has its path, status and client, never
    // the query.
    let marker = "secret-title-8c1f";
    let token = std::fs::read_to_string(node.dir.join("keys/api.token")).unwrap();
    let r = http
        .get(format!("{base}/api/drafts?group={marker}"))
        .bearer_auth(token.trim())
        .header("x-forwarded-for", "203.0.113.8")
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    eventually("the access log line", &[&node], || {
        let log = node.log_text();
        let line = log
            .lines()
            .find(|l| l.contains("liaison::access") && l.contains("path=/api/drafts") && l.contains("203.0.113.8"))
            .ok_or("no access log line yet")?;
        if line.contains(&format!("status={status}")) { Ok(()) } else { Err(line.to_string()) }
    });
    node.stop();
    let log = node.log_text();
    assert!(!log.contains(marker), "the query string reached the log:\n{log}");
    assert!(!log.contains(token.trim()), "the token reached the log");
}
