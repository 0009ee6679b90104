//! Officers' accounts and sessions through the real binary (issue 11): `account
//! reset-password|enable|set-role` with the node running (through its API) and stopped (on the
//! accounts database, audited in the same signed log); a one-time password opens a session that
//! may only choose a new password; sessions survive a restart of the node (SIGTERM, serve again)
//! and end, on disk too, with the account's disabling or role change, with logging out, and past
//! the bound per account; the database never holds a session's cookie.

mod common;

use common::Node;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A browser of one node: its cookie value and CSRF token once logged in. The node's address is
/// looked up for each request, so the same browser carries on after the node restarts (on
/// another port: the tests configure port 0).
struct Browser {
    /// The node's data dir, whose run.json says where it listens.
    dir: std::path::PathBuf,
    http: reqwest::Client,
    token: Option<String>,
    csrf: String,
}

impl Browser {
    fn at(node: &Node) -> Browser {
        let pem = std::fs::read(node.dir.join("tls/api-cert.pem")).expect("cert");
        let http = liaison::client::http_client(&pem).expect("client");
        Browser { dir: node.dir.clone(), http, token: None, csrf: String::new() }
    }

    fn url(&self, path: &str) -> String {
        let info: Value = serde_json::from_slice(&std::fs::read(self.dir.join("run.json")).expect("run.json")).unwrap();
        format!("https://{}{path}", info["api_addr"].as_str().expect("api_addr"))
    }

    /// Tries a login; keeps the session if it succeeds. Answers the status and the body.
    async fn login(&mut self, name: &str, password: &str) -> (StatusCode, Value) {
        let r = self.http.post(self.url("/api/session")).json(&json!({ "name": name, "password": password }));
        let r = r.send().await.expect("login");
        let status = r.status();
        if status == StatusCode::OK {
            let set = r.headers()[SET_COOKIE].to_str().unwrap();
            let value = set.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
            self.token = Some(value);
        }
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if status == StatusCode::OK {
            self.csrf = body["csrf"].as_str().unwrap().to_string();
        }
        (status, body)
    }

    async fn logged_in(node: &Node, name: &str, password: &str) -> (Browser, Value) {
        let mut b = Browser::at(node);
        let (s, body) = b.login(name, password).await;
        assert_eq!(s, StatusCode::OK, "login of {name}: {body}\n{}", node.logs());
        (b, body)
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.url(path)).header("X-CSRF-Token", &self.csrf);
        if let Some(t) = &self.token {
            req = req.header(COOKIE, format!("__Host-liaison={t}"));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    async fn change_password(&self, current: &str, new: &str) -> (StatusCode, Value) {
        self.post("/api/session/password", json!({ "current": current, "new": new })).await
    }
}

fn started() -> Node {
    let mut n = Node::init("A", "cica", "CICA Secretariat");
    n.start();
    n
}

fn one_time(node: &Node, name: &str, role: &str) -> String {
    let v = node.json(&["account", "add", "--name", name, "--role", role, "--json"]);
    v["password"].as_str().expect("password").to_string()
}

/// An account whose officer has logged in once and chosen a password: answers it.
async fn settled(node: &Node, name: &str, role: &str) -> String {
    let pw = one_time(node, name, role);
    let (b, _) = Browser::logged_in(node, name, &pw).await;
    let chosen = format!("{name}'s own passphrase");
    assert_eq!(b.change_password(&pw, &chosen).await.0, StatusCode::NO_CONTENT);
    chosen
}

/// The audit log's entries of one kind, as JSON.
fn audited(node: &Node, kind: &str) -> Vec<Value> {
    let all = node.json(&["audit", "show", "--json"]);
    all.as_array().unwrap().iter().filter_map(|e| e["entry"]["event"].get(kind).cloned()).collect()
}

fn listed(node: &Node, name: &str) -> Value {
    let all = node.json(&["account", "list", "--json"]);
    all.as_array().unwrap().iter().find(|a| a["name"] == name).cloned().expect("listed")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_password_enable_and_set_role_work_with_the_node_running_and_stopped() {
    let mut node = started();
    one_time(&node, "Lena", "member");

    // Running: through the API, as the node's admin.
    let v = node.json(&["account", "set-role", "Lena", "liaison", "--json"]);
    assert_eq!((v["name"].as_str(), v["role"].as_str()), (Some("Lena"), Some("liaison")));
    // The older form still works.
    node.ok(&["account", "role", "Lena", "--role", "member"]);
    assert_eq!(listed(&node, "Lena")["role"], "member");
    let bad = node.run(&["account", "set-role", "Lena", "root"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("root"), "{bad:?}");
    assert_eq!(node.json(&["account", "disable", "Lena", "--json"])["disabled"], true);
    assert_eq!(node.json(&["account", "enable", "Lena", "--json"])["disabled"], false);
    let reset = node.json(&["account", "reset-password", "Lena", "--json"]);
    let pw = reset["password"].as_str().unwrap().to_string();
    let (s, body) = Browser::at(&node).login("Lena", &pw).await;
    assert_eq!((s, &body["password_change_required"]), (StatusCode::OK, &json!(true)), "{body}");
    let missing = node.run(&["account", "enable", "Nobody"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no account named \"Nobody\""), "{missing:?}");
    let by = "API token (officer-a)";
    assert_eq!(audited(&node, "account-enabled"), vec![json!({ "name": "Lena", "by": by })]);
    assert_eq!(audited(&node, "account-role-changed").len(), 2);

    // Stopped: on the accounts database, audited in the same signed chain.
    node.stop();
    assert_eq!(node.json(&["account", "set-role", "Lena", "viewer", "--json"])["role"], "viewer");
    assert_eq!(node.json(&["account", "disable", "Lena", "--json"])["disabled"], true);
    assert_eq!(listed(&node, "Lena")["disabled"], true);
    assert_eq!(node.json(&["account", "enable", "Lena", "--json"])["disabled"], false);
    let pw = node.json(&["account", "reset", "Lena", "--json"])["password"].as_str().unwrap().to_string();
    let offline = "CLI (officer-a), node stopped";
    assert_eq!(audited(&node, "account-enabled")[1], json!({ "name": "Lena", "by": offline }));
    assert_eq!(
        audited(&node, "account-role-changed")[2],
        json!({ "name": "Lena", "from": "member", "to": "viewer", "by": offline })
    );
    assert_eq!(audited(&node, "password-changed")[1], json!({ "name": "Lena", "by": offline, "reset": true }));
    assert!(node.ok(&["audit", "verify"]).contains("intact"));
    assert_eq!(listed(&node, "Lena")["password_change_required"], true);

    node.start();
    let (_, body) = Browser::logged_in(&node, "Lena", &pw).await;
    assert_eq!((body["role"].as_str(), &body["password_change_required"]), (Some("viewer"), &json!(true)));
    assert!(node.ok(&["audit", "verify"]).contains("intact"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_password_opens_only_the_password_change_and_then_everything() {
    let node = started();
    let pw = one_time(&node, "Max", "member");
    assert_eq!(listed(&node, "Max")["password_change_required"], true);
    let (max, body) = Browser::logged_in(&node, "Max", &pw).await;
    assert_eq!(body["password_change_required"], true, "{body}");

    // Nothing but the change: reading, writing, the event stream, all refused with the code.
    let group = json!({ "name": "Working group on terrorist financing", "mandate": "Protocol, art. 2" });
    for (method, path, body) in [
        (reqwest::Method::GET, "/api/meetings", None),
        (reqwest::Method::GET, "/api/events", None),
        (reqwest::Method::GET, "/api/status", None),
        (reqwest::Method::POST, "/api/groups", Some(group.clone())),
    ] {
        let (s, e) = max.call(method.clone(), path, body).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("password-change-required")),
            "{method} {path}: {e}"
        );
    }
    // Who it is, it may ask (the web app shows its page from that).
    let (s, who) = max.get("/api/session").await;
    assert_eq!((s, &who["password_change_required"]), (StatusCode::OK, &json!(true)));

    // The new password must differ from the one-time one and be long enough.
    let (s, e) = max.change_password(&pw, &pw).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert!(e["error"].as_str().unwrap().contains("current one"), "{e}");
    assert_eq!(max.change_password(&pw, "short").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(max.change_password("not it", "a long new passphrase").await.0, StatusCode::FORBIDDEN);
    assert_eq!(max.get("/api/meetings").await.0, StatusCode::FORBIDDEN, "a refused change frees nothing");

    // Changed: the same session may now do what a member does.
    assert_eq!(max.change_password(&pw, "a long new passphrase").await.0, StatusCode::NO_CONTENT);
    assert_eq!(max.get("/api/meetings").await.0, StatusCode::OK);
    let (s, g) = max.post("/api/groups", group).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(max.get("/api/session").await.1["password_change_required"], false);
    assert_eq!(listed(&node, "Max")["password_change_required"], false);
    // The one-time password is gone; the new one logs in to a full session.
    assert_eq!(Browser::at(&node).login("Max", &pw).await.0, StatusCode::UNAUTHORIZED);
    let (again, body) = Browser::logged_in(&node, "Max", "a long new passphrase").await;
    assert_eq!(body["password_change_required"], false);
    assert_eq!(again.get("/api/meetings").await.0, StatusCode::OK);

    // A reset ends both sessions, and its one-time password is held to the change again.
    let reset = node.json(&["account", "reset-password", "Max", "--json"]);
    assert_eq!(max.get("/api/meetings").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(again.get("/api/meetings").await.0, StatusCode::UNAUTHORIZED);
    let (third, _) = Browser::logged_in(&node, "Max", reset["password"].as_str().unwrap()).await;
    assert_eq!(third.get("/api/meetings").await.1["code"], "password-change-required");

    // The node's API token (the sysadmin's CLI) is not held to anything of the kind.
    node.ok(&["meeting", "list"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_survive_a_restart_and_end_with_the_account_even_on_disk() {
    let mut node = started();
    let lena_pw = settled(&node, "Lena", "member").await;
    let omar_pw = settled(&node, "Omar", "member").await;
    let (lena, _) = Browser::logged_in(&node, "Lena", &lena_pw).await;
    let (omar, _) = Browser::logged_in(&node, "Omar", &omar_pw).await;
    let (out, _) = Browser::logged_in(&node, "Omar", &omar_pw).await;
    let vera_pw = one_time(&node, "Vera", "viewer");
    let (vera, _) = Browser::logged_in(&node, "Vera", &vera_pw).await;
    assert_eq!(out.call(reqwest::Method::DELETE, "/api/session", None).await.0, StatusCode::NO_CONTENT);

    // Stored by the SHA-256 of the cookie, never the cookie.
    let db_file = node.dir.join("accounts.redb");
    let db = || std::fs::read(&db_file).unwrap();
    let has = |bytes: &[u8], needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    let bytes = db();
    for b in [&lena, &omar, &vera] {
        let token = b.token.as_deref().unwrap();
        assert!(!has(&bytes, token.as_bytes()), "the cookie is in accounts.redb");
        assert!(has(&bytes, &Sha256::digest(token.as_bytes())), "the session is not stored");
    }

    // SIGTERM, serve again on the same data dir: the same cookies and CSRF tokens work.
    node.stop();
    node.start();
    assert_eq!(lena.get("/api/meetings").await.0, StatusCode::OK);
    let (s, g) = lena.post("/api/groups", json!({ "name": "G", "mandate": "M" })).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    assert_eq!(omar.get("/api/meetings").await.0, StatusCode::OK);
    assert_eq!(out.get("/api/meetings").await.0, StatusCode::UNAUTHORIZED, "a logout outlives the restart");
    // A one-time password's session is still held to the change.
    assert_eq!(vera.get("/api/meetings").await.1["code"], "password-change-required");
    assert_eq!(vera.get("/api/session").await.1["name"], "Vera");

    // Disabling ends Lena's session at once, and on disk: enabled again with the node stopped,
    // her account is loaded live, and the session is not. (The file's bytes are not searched for
    // the removed key: redb may leave a freed page as it was.)
    node.ok(&["account", "disable", "Lena"]);
    assert_eq!(lena.get("/api/meetings").await.0, StatusCode::UNAUTHORIZED);
    node.stop();
    node.ok(&["account", "enable", "Lena"]);
    // With the node stopped, a role change ends Omar's sessions on disk.
    node.ok(&["account", "set-role", "Omar", "viewer"]);
    node.start();
    assert_eq!(lena.get("/api/meetings").await.0, StatusCode::UNAUTHORIZED, "enabling brings no session back");
    assert_eq!(omar.get("/api/meetings").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(vera.get("/api/session").await.0, StatusCode::OK, "others' sessions stay");

    // An account keeps at most 8 sessions: the ninth login ends the oldest.
    let (first, _) = Browser::logged_in(&node, "Lena", &lena_pw).await;
    let mut later = Vec::new();
    for _ in 0..8 {
        later.push(Browser::logged_in(&node, "Lena", &lena_pw).await.0);
    }
    assert_eq!(first.get("/api/meetings").await.0, StatusCode::UNAUTHORIZED, "the oldest did not end");
    for b in &later {
        assert_eq!(b.get("/api/meetings").await.0, StatusCode::OK);
    }
}
