//! What a sysadmin watches a node with, through the real binary: `/healthz` and `/readyz`, the
//! Prometheus text at `/metrics`, the exit codes, and `serve` against the CLI over the data
//! dir's lock.

mod common;

use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use common::{DEADLINE, Node, POLL, bin, eventually, pair};
use reqwest::StatusCode;

fn https(node: &Node) -> (reqwest::Client, String) {
    liaison::node::install_crypto_provider();
    let pem = std::fs::read(node.dir.join("tls/api-cert.pem")).expect("cert");
    let http = liaison::client::http_client(&pem).expect("client");
    let addr = node.run_info().expect("run.json")["api_addr"].as_str().expect("api_addr").to_string();
    (http, format!("https://{addr}"))
}

fn token(node: &Node) -> String {
    std::fs::read_to_string(node.dir.join("keys/api.token")).expect("token").trim().to_string()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn get(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = http.get(url);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let (status, headers) = (r.status(), r.headers().clone());
    (status, headers, r.text().await.unwrap())
}

#[test]
fn health_and_readiness_answer_without_a_token_and_tell_nothing_more() {
    let mut n = Node::init("A", "cica", "CICA Secretariat");
    n.start();
    let (http, base) = https(&n);
    let peer_id = n.peer_id();
    rt().block_on(async {
        for (path, body) in [("/healthz", "ok"), ("/readyz", "ready")] {
            let (status, headers, text) = get(&http, &format!("{base}{path}"), None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {text}");
            assert_eq!(text, body, "{path} says only that");
            let all = format!("{headers:?}");
            for secret in [peer_id.as_str(), "cica", env!("CARGO_PKG_VERSION"), "set-cookie"] {
                assert!(!all.to_lowercase().contains(&secret.to_lowercase()), "{path} headers tell {secret}: {all}");
            }
        }
        // The API and the metrics still need the token.
        let (status, _, _) = get(&http, &format!("{base}/api/status"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _, text) = get(&http, &format!("{base}/metrics"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "/metrics without a token: {text}");
        assert!(!text.contains("liaison_"), "{text}");
    });
    n.stop();
}

/// One sample's value, whatever the type the parser gave it.
fn value(s: &prometheus_parse::Scrape, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    use prometheus_parse::Value as V;
    s.samples
        .iter()
        .filter(|x| x.metric == name && label.is_none_or(|(k, v)| x.labels.get(k) == Some(v)))
        .map(|x| match &x.value {
            V::Counter(v) | V::Gauge(v) | V::Untyped(v) => *v,
            V::Histogram(b) => b.iter().map(|b| b.count).fold(0.0, f64::max),
            V::Summary(_) => f64::NAN,
        })
        .reduce(|a, b| a + b)
}

fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text")
}

#[test]
fn metrics_after_a_sync_tell_peers_rounds_and_traffic() {
    let (a, b) = pair();
    let id = a.id_of(&["meeting", "create", "--title", "Watched", "--starts", "2026-12-01T09:00:00Z"]);
    eventually("B has the meeting", &[&a, &b], || {
        b.meeting_ids().and_then(|ids| if ids.contains(&id) { Ok(()) } else { Err(format!("{ids:?}")) })
    });
    let (http, base) = https(&a);
    let b_peer = b.peer_id();
    let text = rt().block_on(async {
        let (status, _, text) = get(&http, &format!("{base}/metrics"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
        // The metrics are the status the engine last published (at most a round late): the sync
        // that brought B the meeting shows in them at the latest a moment after.
        let t0 = std::time::Instant::now();
        loop {
            let (status, headers, text) = get(&http, &format!("{base}/metrics"), Some(&token(&a))).await;
            assert_eq!(status, StatusCode::OK, "{text}");
            assert!(headers[reqwest::header::CONTENT_TYPE].to_str().unwrap().contains("openmetrics-text"));
            let s = parse(&text);
            let traffic = |dir| value(&s, "liaison_peer_traffic_bytes_total", Some(("direction", dir))).unwrap_or(0.0);
            let synced = value(&s, "liaison_peers_connected", None) == Some(1.0)
                && traffic("in") > 0.0
                && traffic("out") > 0.0
                && value(&s, "liaison_peer_last_sync_age_seconds", Some(("peer", &b_peer))).is_some();
            if synced || t0.elapsed() > std::time::Duration::from_secs(20) {
                break text;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    let s = parse(&text);
    let v = |name: &str| value(&s, name, None).unwrap_or_else(|| panic!("{name} missing in\n{text}"));
    assert_eq!(v("liaison_peers_connected"), 1.0, "{text}");
    assert!(v("liaison_engine_round_seconds_count") > 0.0, "{text}");
    assert!(v("liaison_engine_round_seconds_sum") > 0.0, "{text}");
    let traffic = |dir| value(&s, "liaison_peer_traffic_bytes_total", Some(("direction", dir))).unwrap_or(0.0);
    assert!(traffic("in") > 0.0 && traffic("out") > 0.0, "{text}");
    assert!(
        value(&s, "liaison_peer_traffic_bytes_total", Some(("peer", &b_peer))).is_some(),
        "labelled by peer: {text}"
    );
    assert!(value(&s, "liaison_peer_documents_behind", Some(("party", "sco-rats"))).is_some(), "{text}");
    assert!(value(&s, "liaison_peer_last_sync_age_seconds", Some(("peer", &b_peer))).is_some_and(|x| x >= 0.0));
    assert!(v("liaison_store_bytes") > 0.0);
    assert!(v("liaison_documents") >= 1.0);
    assert!(v("liaison_audit_entries") >= 1.0, "the log began: {text}");
    assert_eq!(v("liaison_login_failures_total"), 0.0);
    assert_eq!(v("liaison_peer_batches_refused_total"), 0.0);
    assert_eq!(v("liaison_peer_batches_over_bound_total"), 0.0);
    assert_eq!(value(&s, "liaison_build_info", Some(("version", env!("CARGO_PKG_VERSION")))), Some(1.0));
}

#[test]
fn metrics_listen_serves_metrics_alone_without_a_token() {
    let mut n = Node::init("A", "cica", "CICA Secretariat");
    let file = n.dir.join("node.toml");
    let toml = std::fs::read_to_string(&file).unwrap();
    let api_line = "listen = \"127.0.0.1:0\"\n";
    assert!(toml.contains(api_line), "{toml}");
    std::fs::write(&file, toml.replace(api_line, &format!("{api_line}metrics_listen = \"127.0.0.1:0\"\n"))).unwrap();
    let info = n.start();
    let addr = info["metrics_addr"].as_str().expect("run.json names the metrics address").to_string();
    liaison::node::install_crypto_provider();
    let http = reqwest::Client::new();
    rt().block_on(async {
        let (status, _, text) = get(&http, &format!("http://{addr}/metrics"), None).await;
        assert_eq!(status, StatusCode::OK, "{text}");
        assert!(parse(&text).samples.iter().any(|s| s.metric == "liaison_store_bytes"), "{text}");
        // Only the metrics there: not the API, not the web app.
        for path in ["/api/status", "/", "/healthz"] {
            let (status, _, _) = get(&http, &format!("http://{addr}{path}"), None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path} on the metrics address");
        }
    });
    n.stop();
}

fn code(s: ExitStatus) -> i32 {
    s.code().unwrap_or(-1)
}

#[test]
fn exit_codes_say_what_went_wrong() {
    let mut n = Node::init("A", "cica", "CICA Secretariat");
    // Down: status still reports, and exits 3; an officer command exits 3 too.
    let out = n.run(&["status"]);
    assert_eq!(code(out.status), 3, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not running"));
    let out = n.run(&["status", "--json"]);
    assert_eq!(code(out.status), 3);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json prints while down");
    assert_eq!(v["running"], false);
    assert_eq!(code(n.run(&["meeting", "list"]).status), 3);
    // Usage.
    assert_eq!(code(n.run(&["status", "--no-such-flag"]).status), 2);
    let help = n.ok(&["--help"]);
    for line in ["Exit codes:", "3  the node is not running", "6  in use"] {
        assert!(help.contains(line), "--help lacks {line:?}:\n{help}");
    }

    n.start();
    assert_eq!(code(n.run(&["status"]).status), 0);
    // Not found.
    let out = n.run(&["meeting", "show", "0123456789abcdef"]);
    assert_eq!(code(out.status), 5, "{}", String::from_utf8_lossy(&out.stderr));
    // Refused: a viewer may not create.
    n.ok(&["account", "add", "--name", "vera", "--role", "viewer"]);
    let out = n.run(&["--officer", "vera", "meeting", "create", "--title", "X", "--starts", "2026-12-01T09:00:00Z"]);
    assert_eq!(code(out.status), 4, "{}", String::from_utf8_lossy(&out.stderr));
    // In use: a second serve.
    let out = n.run(&["serve"]);
    assert_eq!(code(out.status), 6, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("pid {}", n.pid())));
    n.stop();
}

fn serve(n: &Node) -> Child {
    Command::new(bin())
        .arg("--data-dir")
        .arg(&n.dir)
        .arg("serve")
        .env("LIAISON_LOG", "warn")
        .env_remove("LIAISON_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve")
}

fn sigterm(c: &mut Child) -> ExitStatus {
    // SAFETY: kill(2) on the pid of a child we own and have not reaped.
    assert_eq!(unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) }, 0);
    c.wait().expect("wait")
}

#[test]
fn two_serves_at_once_on_one_data_dir_exactly_one_runs() {
    let n = Node::init("A", "cica", "CICA Secretariat");
    for round in 0..5 {
        let mut both = [serve(&n), serve(&n)];
        let start = Instant::now();
        // The loser exits by itself, at once; the winner writes run.json.
        let (loser, status) = loop {
            if let Some((i, s)) = both.iter_mut().enumerate().find_map(|(i, c)| c.try_wait().unwrap().map(|s| (i, s))) {
                break (i, s);
            }
            assert!(start.elapsed() < DEADLINE, "round {round}: neither serve gave way");
            std::thread::sleep(POLL);
        };
        let mut err = String::new();
        std::io::Read::read_to_string(both[loser].stderr.as_mut().unwrap(), &mut err).unwrap();
        assert_eq!(code(status), 6, "round {round}: the second serve exited with {status}: {err}");
        assert!(err.contains("in use by another liaison process"), "{err}");
        let winner = &mut both[1 - loser];
        let pid = winner.id() as u64;
        eventually("the winner is up", &[&n], || match n.run_info() {
            Some(i) if i["pid"].as_u64() == Some(pid) => Ok(()),
            other => Err(format!("run.json: {other:?}")),
        });
        assert!(winner.try_wait().unwrap().is_none(), "round {round}: the winner exited too");
        assert!(sigterm(winner).success());
    }
}

#[test]
fn serve_always_starts_while_status_polls_in_a_loop() {
    let mut n = Node::init("A", "cica", "CICA Secretariat");
    let stop = Arc::new(AtomicBool::new(false));
    let polls = Arc::new(AtomicUsize::new(0));
    let poller = {
        let (stop, polls) = (stop.clone(), polls.clone());
        let mut cmd = n.cmd(&["status", "--json"]);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = cmd.status();
                polls.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let start = Instant::now();
    for _ in 0..50 {
        // `start` fails the test if serve exits before its run.json is written.
        n.start();
        n.stop();
    }
    stop.store(true, Ordering::Relaxed);
    poller.join().unwrap();
    let polls = polls.load(Ordering::Relaxed);
    assert!(polls >= 50, "the poller ran only {polls} times in {:?}", start.elapsed());
    let waited = n.log_count("waiting for a liaison command to release the data dir");
    eprintln!(
        "50 starts in {:?} with {polls} status runs beside them; {waited} starts waited for one",
        start.elapsed()
    );
}
