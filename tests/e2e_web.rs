//! End-to-end tests of the web app's server side through the real binary: the embedded files and
//! their security headers, accounts, sessions, CSRF, the login limit, roles for every client
//! (browser session and CLI alike), attribution, presence between the Parties' nodes, and
//! splices made against the version an editor saw.

mod common;

use common::{Node, eventually};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::{Value, json};

/// A browser-like client of one node: its cookie and CSRF token once logged in.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
    csrf: String,
}

impl Browser {
    fn at(node: &Node) -> Browser {
        let pem = std::fs::read(node.dir.join("tls/api-cert.pem")).expect("cert");
        let http = liaison::client::http_client(&pem).expect("client");
        let addr = node.run_info().expect("run.json")["api_addr"].as_str().expect("api_addr").to_string();
        Browser { http, base: format!("https://{addr}"), cookie: None, csrf: String::new() }
    }

    async fn login(&mut self, name: &str, password: &str) -> reqwest::Response {
        let r = self
            .http
            .post(format!("{}/api/session", self.base))
            .json(&json!({ "name": name, "password": password }))
            .send()
            .await
            .expect("login");
        if r.status() == StatusCode::OK {
            let set = r.headers().get(SET_COOKIE).expect("a cookie").to_str().unwrap().to_string();
            for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
                assert!(set.contains(flag), "session cookie without {flag}: {set}");
            }
            self.cookie = Some(set.split(';').next().unwrap().to_string());
        }
        r
    }

    async fn logged_in(node: &Node, name: &str, password: &str) -> Browser {
        let mut b = Browser::at(node);
        let r = b.login(name, password).await;
        assert_eq!(r.status(), StatusCode::OK, "login of {name}");
        let v: Value = r.json().await.unwrap();
        b.csrf = v["csrf"].as_str().unwrap().to_string();
        b
    }

    /// A request as the web app sends it: cookie, and the CSRF token when `csrf`.
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>, csrf: bool) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        if csrf {
            req = req.header("X-CSRF-Token", &self.csrf);
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
        self.call(reqwest::Method::GET, path, None, false).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body), true).await
    }
}

fn account(node: &Node, name: &str, role: &str) -> String {
    let v = node.json(&["account", "add", "--name", name, "--role", role, "--json"]);
    v["password"].as_str().expect("password").to_string()
}

/// An account whose officer has logged in once and replaced the one-time password (as the first
/// login requires): answers the password chosen.
async fn settled(node: &Node, name: &str, role: &str) -> String {
    let one_time = account(node, name, role);
    let b = Browser::logged_in(node, name, &one_time).await;
    let chosen = format!("{name}'s own passphrase");
    let (s, e) = b.post("/api/session/password", json!({ "current": one_time, "new": chosen })).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    chosen
}

fn started(name: &str, party: &str, party_name: &str) -> Node {
    let mut n = Node::init(name, party, party_name);
    n.start();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_app_comes_from_the_binary_with_strict_security_headers_on_every_response() {
    let node = started("A", "cica", "CICA Secretariat");
    let b = Browser::at(&node);
    for path in ["/", "/api/meetings", "/no-such-file"] {
        let r = b.http.get(format!("{}{path}", b.base)).send().await.unwrap();
        let h = r.headers();
        let csp = h.get("content-security-policy").unwrap_or_else(|| panic!("{path}: no CSP")).to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{path}: {csp}");
        assert!(h.get("strict-transport-security").is_some(), "{path}: no HSTS");
        assert_eq!(h.get("x-content-type-options").unwrap(), "nosniff");
    }
    let r = b.http.get(format!("{}/", b.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = r.text().await.unwrap();
    // Scripts only from files of the node itself: no inline script, nothing from elsewhere.
    assert!(html.contains("<script type=\"module\" src=\"/app.js\""), "{html}");
    assert!(!html.contains("<script>") && !html.contains("http://") && !html.contains("https://"), "{html}");
    let js = b.http.get(format!("{}/app.js", b.base)).send().await.unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    assert!(js.headers()["content-type"].to_str().unwrap().contains("javascript"));
    // The API answers nothing without a login, not even whether a route exists.
    assert_eq!(b.get("/api/no-such-route").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_csrf_and_sessions_are_enforced_for_browser_and_cli_alike() {
    let node = started("A", "cica", "CICA Secretariat");
    let viewer_pw = settled(&node, "Vera Viewer", "viewer").await;
    let member_pw = settled(&node, "Max Member", "member").await;
    // The accounts file holds argon2 hashes only.
    let db = std::fs::read(node.dir.join("accounts.redb")).unwrap();
    assert!(!db.windows(member_pw.len()).any(|w| w == member_pw.as_bytes()));

    let mut anon = Browser::at(&node);
    assert_eq!(anon.login("Max Member", "not the password").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anon.get("/api/meetings").await.0, StatusCode::UNAUTHORIZED);
    // Asking who one is without a session is answered plainly: nobody.
    assert_eq!(anon.get("/api/session").await, (StatusCode::OK, Value::Null));

    let member = Browser::logged_in(&node, "Max Member", &member_pw).await;
    let viewer = Browser::logged_in(&node, "Vera Viewer", &viewer_pw).await;
    let (s, who) = member.get("/api/session").await;
    assert_eq!((s, who["role"].as_str()), (StatusCode::OK, Some("member")));

    // A change needs the CSRF token.
    let group = json!({ "name": "Working group on terrorist financing", "mandate": "Protocol, art. 2" });
    let (s, e) = member.call(reqwest::Method::POST, "/api/groups", Some(group.clone()), false).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    let (s, g) = member.post("/api/groups", group).await;
    assert_eq!(s, StatusCode::OK, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (s, d) = member
        .post("/api/drafts", json!({ "group": gid, "title": "Joint statement", "text": "Article 1. Text." }))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let did = d["id"].as_str().unwrap().to_string();

    // Attributed to the account, whatever officer header a browser would send.
    let (_, shown) = member.get(&format!("/api/drafts/{did}")).await;
    assert_eq!(shown["created_by"]["officer"], "Max Member");

    // The viewer reads, and every change is refused, even hand-crafted.
    let (s, _) = viewer.get(&format!("/api/drafts/{did}")).await;
    assert_eq!(s, StatusCode::OK);
    let prov = shown["provisions"][0]["id"].as_str().unwrap().to_string();
    let splice = json!({ "provision": prov, "lang": "en", "pos": 0, "insert": "VIEWER " });
    let (s, e) = viewer.post(&format!("/api/drafts/{did}/splice"), splice.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{e}");
    assert!(e["error"].as_str().unwrap().contains("member"), "{e}");
    for (path, body) in [
        ("/api/meetings", json!({ "title": "T", "starts": "2026-12-08T09:00:00Z" })),
        (&format!("/api/drafts/{did}/actions") as &str, json!({ "action": "review" })),
        ("/api/accounts", json!({ "name": "x", "role": "admin" })),
    ] {
        let (s, e) = viewer.post(path, body).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {e}");
    }
    // A member may not provide items, read accounts, or sign.
    assert_eq!(member.post("/api/items", json!({})).await.0, StatusCode::FORBIDDEN);
    assert_eq!(member.get("/api/accounts").await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        member.post(&format!("/api/drafts/{did}/actions"), json!({ "action": "sign" })).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, after) = member.get(&format!("/api/drafts/{did}")).await;
    assert_eq!(after["text"], shown["text"], "a refused request changed the draft");

    // The CLI is held to the same roles when it acts for an account.
    let out = node.run(&[
        "--officer",
        "Vera Viewer",
        "meeting",
        "create",
        "--title",
        "T",
        "--starts",
        "2026-12-08T09:00:00Z",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs the member role"), "{out:?}");

    // Disabling an account ends its sessions and its logins.
    node.ok(&["account", "disable", "Vera Viewer"]);
    assert_eq!(viewer.get("/api/drafts").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(Browser::at(&node).login("Vera Viewer", &viewer_pw).await.status(), StatusCode::UNAUTHORIZED);
    let listed = node.json(&["account", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().iter().find(|a| a["name"] == "Vera Viewer").unwrap()["disabled"], true);

    // An officer changes the password: only with the current one, and not to a short one.
    let change = |current: &str, new: &str| json!({ "current": current, "new": new });
    assert_eq!(
        member.post("/api/session/password", change("wrong", "a long new passphrase")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(member.post("/api/session/password", change(&member_pw, "short")).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        member.post("/api/session/password", change(&member_pw, "a long new passphrase")).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(Browser::at(&node).login("Max Member", &member_pw).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(Browser::at(&node).login("Max Member", "a long new passphrase").await.status(), StatusCode::OK);

    // Logging out ends the session, and its open event stream.
    let mut events = member
        .http
        .get(format!("{}/api/events", member.base))
        .header(COOKIE, member.cookie.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let (s, _) = member.call(reqwest::Method::DELETE, "/api/session", None, true).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(member.get("/api/drafts").await.0, StatusCode::UNAUTHORIZED);
    let ended = tokio::time::timeout(common::DEADLINE, async { while let Ok(Some(_)) = events.chunk().await {} }).await;
    assert!(ended.is_ok(), "the event stream outlived its session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failed_logins_make_their_name_and_address_wait_even_with_the_right_password() {
    let node = started("A", "cica", "CICA Secretariat");
    let pw = account(&node, "Lena", "member");
    // Eight guesses at once: attempts count before the password is checked, so only five are
    // even tried.
    let guesses = (0..8).map(|_| async {
        let mut b = Browser::at(&node);
        b.login("Lena", "guess").await.status()
    });
    let mut answers: Vec<StatusCode> = futures::future::join_all(guesses).await;
    answers.sort();
    assert_eq!(answers.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count(), 5, "{answers:?}");
    assert_eq!(answers.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 3, "{answers:?}");
    let mut b = Browser::at(&node);
    let r = b.login("Lena", &pw).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // A wait, not a lockout: at most limits.api.login_max_delay_secs (60 s by default).
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0 && retry <= 60, "{retry}");
    // Another account is not slowed by Lena's failures.
    let other = account(&node, "Omar", "viewer");
    assert_eq!(Browser::at(&node).login("Omar", &other).await.status(), StatusCode::OK);
    // And once the wait is over, Lena's password gets her in.
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    assert_eq!(Browser::at(&node).login("Lena", &pw).await.status(), StatusCode::OK);
}

/// Two nodes of two Parties, an officer of each logged in to the web app, and a draft A's
/// officer made, held at B: answers both nodes, both browsers and the draft's id.
async fn officers_on_a_draft() -> (Node, Node, Browser, Browser, String) {
    let (a, b) = common::pair();
    let pw_a = settled(&a, "Aigerim", "member").await;
    let pw_b = settled(&b, "Boris", "member").await;
    let wa = Browser::logged_in(&a, "Aigerim", &pw_a).await;
    let wb = Browser::logged_in(&b, "Boris", &pw_b).await;
    let (_, g) = wa.post("/api/groups", json!({ "name": "G", "mandate": "M" })).await;
    let (_, d) = wa.post("/api/drafts", json!({ "group": g["id"], "title": "T", "text": "abcdef" })).await;
    let did = d["id"].as_str().unwrap().to_string();
    eventually("the draft at B", &[&a, &b], || b.draft_text(&did));
    (a, b, wa, wb, did)
}

/// Reads `events` until `done` accepts an event, and answers every event read (`data:` lines).
async fn events_until(events: &mut reqwest::Response, what: &str, done: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut buf = String::new();
    let deadline = std::time::Instant::now() + common::DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let chunk = tokio::time::timeout(left, events.chunk()).await;
        let Ok(Ok(Some(chunk))) = chunk else { panic!("{what}: not seen; saw {seen:?}") };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find('\n') {
            let line: String = buf.drain(..=end).collect();
            if let Some(data) = line.trim().strip_prefix("data:")
                && let Ok(ev) = serde_json::from_str::<Value>(data.trim())
            {
                let last = done(&ev);
                seen.push(ev);
                if last {
                    return seen;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peers_keystrokes_are_not_announced_as_vault_changes_and_a_provided_item_is() {
    let (a, b, wa, wb, did) = officers_on_a_draft().await;
    let (_, draft) = wa.get(&format!("/api/drafts/{did}")).await;
    let prov = draft["provisions"][0]["id"].as_str().unwrap().to_string();

    // B's web app listens while A's officer types: each keystroke is a batch B counts against
    // A's quota (a write of B's own records), and none of it is an item, a consent or an audit
    // entry, which is what `vault-changed` makes every open item page and dashboard read again.
    let mut events =
        wb.http.get(format!("{}/api/events", wb.base)).header(COOKIE, wb.cookie.clone().unwrap()).send().await.unwrap();
    for (i, ch) in ["x", "y", "z", "w"].iter().enumerate() {
        let body = json!({ "provision": prov, "lang": "en", "pos": i, "insert": ch });
        let (s, r) = wa.post(&format!("/api/drafts/{did}/splice"), body).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        // One at a time, as an officer types: each its own batch at B.
        let heads = r["heads"].as_array().unwrap().clone();
        let seen = events_until(&mut events, "the keystroke at B", |ev| {
            ev["event"] == "doc-changed" && ev["heads"].as_array() == Some(&heads)
        })
        .await;
        assert!(
            seen.iter().all(|ev| ev["event"] != "vault-changed"),
            "a keystroke announced as a vault change: {seen:?}"
        );
    }

    // Then A provides an item: that is announced, and nothing before it was.
    let file = a.text_file("report.txt", "the report");
    let item = a.id_of(&["item", "share", "--title", "Report", "--file", file.to_str().unwrap()]);
    events_until(&mut events, "a vault-changed at B once the item is shared", |ev| ev["event"] == "vault-changed")
        .await;
    eventually("the item at B", &[&a, &b], || {
        let v = b.try_json(&["item", "list", "--json"])?;
        if v.as_array().is_some_and(|l| l.iter().any(|i| i["id"] == item.as_str())) {
            Ok(())
        } else {
            Err(v.to_string())
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_reaches_the_other_node_and_splices_build_on_the_version_the_editor_saw() {
    let (a, b, wa, wb, did) = officers_on_a_draft().await;

    // B's browser listens to its node's events; A's officer says where she is.
    let mut events =
        wb.http.get(format!("{}/api/events", wb.base)).header(COOKIE, wb.cookie.clone().unwrap()).send().await.unwrap();
    let (_, draft) = wa.get(&format!("/api/drafts/{did}")).await;
    let prov = draft["provisions"][0]["id"].as_str().unwrap().to_string();
    let here = json!({ "doc": did, "provision": prov, "lang": "ru" });
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + common::DEADLINE;
    while !seen.contains("\"event\":\"presence\"") {
        assert!(std::time::Instant::now() < deadline, "no presence at B; saw: {seen}");
        assert_eq!(wa.post("/api/presence", here.clone()).await.0, StatusCode::NO_CONTENT);
        if let Ok(Ok(Some(chunk))) = tokio::time::timeout(std::time::Duration::from_millis(500), events.chunk()).await {
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    let line = seen.lines().find(|l| l.contains("\"presence\"")).unwrap();
    let ev: Value = serde_json::from_str(line.trim_start_matches("data:").trim()).unwrap();
    assert_eq!(
        (ev["officer"].as_str(), ev["party"].as_str(), ev["lang"].as_str()),
        (Some("Aigerim"), Some("cica"), Some("ru"))
    );
    // A viewer may say where it is too, but not as someone else: the officer is the account.
    assert_eq!(wb.post("/api/presence", json!({ "doc": "ffffffffffff" })).await.0, StatusCode::NOT_FOUND);

    // Two splices from the same version, and a third built on the first's answer: the third's
    // position counts in the text the first editor saw, not in the merged text.
    let v0 = draft["version"].as_str().unwrap().to_string();
    let sp = |pos: usize, ins: &str, base: &str| json!({ "provision": prov, "lang": "en", "pos": pos, "insert": ins, "base": base });
    let (s, r1) = wa.post(&format!("/api/drafts/{did}/splice"), sp(6, "X", &v0)).await;
    assert_eq!(s, StatusCode::OK, "{r1}");
    let (s, r2) = wa.post(&format!("/api/drafts/{did}/splice"), sp(0, "Y", &v0)).await;
    assert_eq!(s, StatusCode::OK, "{r2}");
    let v1 = r1["version"].as_str().unwrap();
    let mut third = sp(7, "Z", v1);
    third["edit"] = json!("editor-7f3a-1");
    let (s, r3) = wa.post(&format!("/api/drafts/{did}/splice"), third.clone()).await;
    assert_eq!(s, StatusCode::OK, "{r3}");
    // A retry of the same splice (its answer lost on the way) is answered, not applied again.
    let (s, again) = wa.post(&format!("/api/drafts/{did}/splice"), third).await;
    assert_eq!((s, &again["version"]), (StatusCode::OK, &r3["version"]));
    let (_, now) = wa.get(&format!("/api/drafts/{did}")).await;
    assert_eq!(now["provisions"][0]["texts"]["en"], "YabcdefXZ", "{now}");
    eventually("B has the same text", &[&a, &b], || {
        let t = b.draft_text(&did)?;
        if t.contains("YabcdefXZ") { Ok(()) } else { Err(t) }
    });
}
