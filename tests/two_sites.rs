//! Two sites: each node in its own network namespace, joined by a veth pair with private test
//! addresses, as two machines on two networks would be. The nodes are initialised with
//! `--external-addr`, pinned from each other's `id --json`, their APIs listen on the site's
//! address with certificates issued by a test CA (rcgen), the CLI and a real HTTPS client work
//! against them, and the workspace syncs across the link.
//!
//! Making namespaces needs root and iproute2 (`ip netns`). Where they cannot be made, the test
//! says so and passes as skipped, unless `LIAISON_REQUIRE_NETNS=1` (CI sets it): there a skip is a
//! failure.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(30);

/// A network namespace of this test, removed (with its end of the veth pair) when dropped.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("`ip {}`: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// Makes two namespaces joined by a veth pair, with `a_ip`/24 and `b_ip`/24 on the two ends.
fn make_link(tag: &str, a_ip: &str, b_ip: &str) -> Result<(Netns, Netns), String> {
    let (na, nb) = (format!("lsa{tag}"), format!("lsb{tag}"));
    ip(&["netns", "add", &na])?;
    let a = Netns(na.clone());
    ip(&["netns", "add", &nb])?;
    let b = Netns(nb.clone());
    let (va, vb) = (format!("lva{tag}"), format!("lvb{tag}"));
    ip(&["link", "add", &va, "type", "veth", "peer", "name", &vb])?;
    ip(&["link", "set", &va, "netns", &na])?;
    ip(&["link", "set", &vb, "netns", &nb])?;
    for (ns, dev, addr) in [(&na, &va, a_ip), (&nb, &vb, b_ip)] {
        ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
        ip(&["-n", ns, "link", "set", dev, "up"])?;
        ip(&["-n", ns, "link", "set", "lo", "up"])?;
    }
    Ok((a, b))
}

/// One site: a namespace, its address, a data dir and its serve process.
struct Site {
    name: &'static str,
    ns: String,
    ip: String,
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Site {
    /// `liaison ARGS` run inside the site's namespace, on its data dir.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, common::bin(), "--data-dir"])
            .arg(&self.dir)
            .args(args)
            .env("LIAISON_OFFICER", format!("officer-{}", self.name))
            .env("LIAISON_LOG", "warn")
            .env_remove("LIAISON_DATA_DIR")
            .env_remove("LIAISON_LOG_FORMAT")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run liaison")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{}: `liaison {}` failed: {}\n{}\n{}",
            self.name,
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.logs()
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn json(&self, args: &[&str]) -> Result<Value, String> {
        let out = self.run(args);
        if !out.status.success() {
            return Err(format!("`liaison {}`: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
    }

    fn logs(&self) -> String {
        format!("--- {} serve log ---\n{}", self.name, fs::read_to_string(&self.log).unwrap_or_default())
    }

    fn start(&mut self) {
        let log = fs::File::create(&self.log).expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, common::bin(), "--data-dir"])
            .arg(&self.dir)
            .arg("serve")
            .env("LIAISON_LOG", "info")
            .env_remove("LIAISON_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn serve");
        let mut child = child;
        let run = self.dir.join("run.json");
        let start = Instant::now();
        while !run.exists() {
            if let Some(status) = child.try_wait().ok().flatten() {
                panic!("{}: serve exited with {status}\n{}", self.name, self.logs());
            }
            assert!(start.elapsed() < DEADLINE, "{}: not up within {DEADLINE:?}\n{}", self.name, self.logs());
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child = Some(child);
    }
}

fn wait<T>(what: &str, sites: &[&Site], mut check: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(e) if start.elapsed() > DEADLINE => {
                let logs: Vec<String> = sites.iter().map(|s| s.logs()).collect();
                panic!("waited {DEADLINE:?} for {what}: {e}\n{}", logs.join("\n"));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A test CA and, for each site, a leaf certificate naming the site's address.
struct Pki {
    ca_pem: String,
    ca: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, "liaison two-site test CA");
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::CrlSign];
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Pki { ca_pem: cert.pem(), ca: rcgen::Issuer::new(params, key) }
    }

    /// Writes `cert.pem` (the leaf, then the CA) and `key.pem` (0600) into `dir`.
    fn leaf(&self, ip: &str, dir: &Path) -> (PathBuf, PathBuf) {
        let mut params = rcgen::CertificateParams::new(vec![ip.to_string()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, format!("liaison API {ip}"));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        let (c, k) = (dir.join("api-cert.pem"), dir.join("api-key.pem"));
        fs::write(&c, format!("{}{}", cert.pem(), self.ca_pem)).unwrap();
        fs::write(&k, key.serialize_pem()).unwrap();
        fs::set_permissions(&k, fs::Permissions::from_mode(0o600)).unwrap();
        (c, k)
    }
}

/// Sets `[api] tls_cert` and `tls_key` in the site's node.toml.
fn use_certificate(site: &Site, cert: &Path, key: &Path) {
    let file = site.dir.join("node.toml");
    let mut doc: toml_edit::DocumentMut = fs::read_to_string(&file).unwrap().parse().unwrap();
    doc["api"]["tls_cert"] = toml_edit::value(cert.to_str().unwrap());
    doc["api"]["tls_key"] = toml_edit::value(key.to_str().unwrap());
    fs::write(&file, doc.to_string()).unwrap();
}

/// A GET through a real HTTPS client that trusts only the test CA, made from inside the site's
/// namespace (the thread joins it; the test's other threads stay where they are).
fn https_get(site: &Site, ca_pem: &str, path: &str, token: &str) -> (u16, String) {
    let (ns, url, ca, token) =
        (site.ns.clone(), format!("https://{}:4711{path}", site.ip), ca_pem.to_string(), token.to_string());
    std::thread::spawn(move || {
        let f = fs::File::open(format!("/run/netns/{ns}")).expect("netns file");
        let rc = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&f), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let http = reqwest::Client::builder()
                .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).unwrap())
                .no_proxy()
                .build()
                .unwrap();
            let r = http.get(&url).bearer_auth(&token).send().await.unwrap_or_else(|e| panic!("GET {url}: {e:?}"));
            let status = r.status().as_u16();
            (status, r.text().await.unwrap())
        })
    })
    .join()
    .expect("https thread")
}

#[test]
fn two_sites_on_two_networks_sync_through_their_external_addresses() {
    let tag = format!("{}", std::process::id() % 100_000);
    let net = format!("10.231.{}", std::process::id() % 200 + 20);
    let (a_ip, b_ip) = (format!("{net}.1"), format!("{net}.2"));
    let required = std::env::var("LIAISON_REQUIRE_NETNS").is_ok_and(|v| v == "1");
    let uid = unsafe { libc::geteuid() };
    let link = if uid != 0 { Err("not root".to_string()) } else { make_link(&tag, &a_ip, &b_ip) };
    let (ns_a, ns_b) = match link {
        Ok(l) => l,
        Err(e) => {
            assert!(!required, "LIAISON_REQUIRE_NETNS=1 but network namespaces cannot be made: {e}");
            eprintln!("SKIPPED two_sites: network namespaces cannot be made here ({e}); needs root and iproute2");
            return;
        }
    };

    let tmp = tempfile::tempdir().unwrap();
    let pki = Pki::new();
    let site = |name: &'static str, ns: &Netns, ip: &str| {
        let home = tmp.path().join(name);
        fs::create_dir_all(&home).unwrap();
        Site {
            name,
            ns: ns.0.clone(),
            ip: ip.to_string(),
            dir: home.join("data"),
            log: home.join("serve.log"),
            child: None,
        }
    };
    let mut a = site("cica", &ns_a, &a_ip);
    let mut b = site("sco-rats", &ns_b, &b_ip);

    for (s, party, name) in [(&a, "cica", "CICA Secretariat"), (&b, "sco-rats", "SCO RATS Executive Committee")] {
        let p2p = format!("/ip4/{}/tcp/4710", s.ip);
        s.ok(&[
            "init",
            "--party-id",
            party,
            "--party-name",
            name,
            "--listen",
            "/ip4/0.0.0.0/tcp/4710",
            "--external-addr",
            &p2p,
            "--api",
            &format!("{}:4711", s.ip),
        ]);
        let (cert, key) = pki.leaf(&s.ip, s.dir.parent().unwrap());
        use_certificate(s, &cert, &key);
        s.ok(&["config", "check"]);
    }

    // Each side's card carries its external address, never 0.0.0.0, and the other pins it.
    let card_of = |s: &Site| {
        let text = s.ok(&["id", "--json"]);
        let card: Value = serde_json::from_str(&text).unwrap();
        let addrs = card["listen_addrs"].to_string();
        assert!(addrs.contains(&format!("/ip4/{}/tcp/4710", s.ip)), "{}: card {card}", s.name);
        assert!(!addrs.contains("0.0.0.0"), "{}: card {card}", s.name);
        let file = s.dir.parent().unwrap().join("id.json");
        fs::write(&file, text).unwrap();
        file
    };
    let (card_a, card_b) = (card_of(&a), card_of(&b));
    a.ok(&["peer", "add", "--from-id", card_b.to_str().unwrap()]);
    b.ok(&["peer", "add", "--from-id", card_a.to_str().unwrap()]);

    a.start();
    b.start();

    // The CLI reaches its node on the site's address, over the organisation's certificate.
    let peer_b = b.json(&["id", "--json"]).unwrap()["peer_id"].as_str().unwrap().to_string();
    wait("A to be connected to B across the link", &[&a, &b], || {
        let s = a.json(&["status", "--json"])?;
        let p = s["peers"].as_array().and_then(|ps| ps.iter().find(|p| p["peer_id"] == peer_b.as_str()).cloned());
        match p {
            Some(p) if p["connected"] == true => Ok(()),
            _ => Err(format!("status {s}")),
        }
    });

    // Sync across the link, both ways.
    let m = a.ok(&["meeting", "create", "--title", "Two sites", "--starts", "2026-12-08T09:00:00Z"]).trim().to_string();
    wait("A's meeting at B", &[&a, &b], || {
        let list = b.json(&["meeting", "list", "--json"])?;
        if list.to_string().contains(&m) { Ok(()) } else { Err(format!("B has {list}")) }
    });
    let g = b.ok(&["meeting", "create", "--title", "Reply", "--starts", "2026-12-09T09:00:00Z"]).trim().to_string();
    wait("B's meeting at A", &[&a, &b], || {
        let list = a.json(&["meeting", "list", "--json"])?;
        if list.to_string().contains(&g) { Ok(()) } else { Err(format!("A has {list}")) }
    });

    // A real HTTPS client on A's network, trusting only the test CA, reads the API.
    let token = fs::read_to_string(a.dir.join("keys/api.token")).unwrap().trim().to_string();
    let (status, body) = https_get(&a, &pki.ca_pem, "/api/meetings", &token);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Two sites") && body.contains("Reply"), "{body}");
    // The token is still needed: the organisation's certificate opens nothing by itself.
    let (status, _) = https_get(&a, &pki.ca_pem, "/api/meetings", "not-the-token");
    assert_eq!(status, 401);
}
