//! Refusals that officers meet in the web app carry a code and parameters (`refusal`), for the
//! web app to say in the officer's language; `error` is a neutral sentence, and the CLI says the
//! code in its own words, with its commands. Through the real
//! binary, one node, the API token as the CLI uses it (with an officer named for the roles).

mod common;

use common::Node;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn at(node: &Node) -> Api {
        let pem = std::fs::read(node.dir.join("tls/api-cert.pem")).expect("cert");
        let http = liaison::client::http_client(&pem).expect("client");
        let addr = node.run_info().expect("run.json")["api_addr"].as_str().expect("api_addr").to_string();
        let token = std::fs::read_to_string(node.dir.join("keys/api.token")).expect("token").trim().to_string();
        Api { http, base: format!("https://{addr}"), token }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        officer: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        // Writes are attributed to an officer; one without an account acts with the token's rights.
        req = req.header("x-liaison-officer", officer.unwrap_or("Anna"));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("request");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// The refusal's code, after checking that the CLI's words are still there.
fn code(answer: &Value) -> &str {
    assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "no error text: {answer}");
    answer["refusal"]["code"].as_str().unwrap_or_else(|| panic!("no refusal code: {answer}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_carry_codes_with_parameters_and_keep_the_cli_words() {
    let mut a = Node::init("a", "cica", "CICA Secretariat");
    a.ok(&["account", "add", "--name", "Vera", "--role", "viewer"]);
    a.start();
    let api = Api::at(&a);
    use reqwest::Method as M;

    // A mandate cited that is not recorded: the code names it and our Party; the CLI's words
    // still say how to list them.
    let (s, v) = api
        .call(M::POST, "/api/groups", None, Some(json!({ "name": "G", "mandate": "m", "mandate_ref": "MS-404" })))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(code(&v), "mandate-unknown");
    assert_eq!(v["refusal"]["reference"], "MS-404");
    assert_eq!(v["refusal"]["party"], "cica");
    assert!(!v["error"].as_str().unwrap().contains("liaison "), "the node's words name no CLI command: {v}");
    // The CLI says the code in its own words, with its commands.
    let out = a.run(&["group", "create", "--name", "G", "--mandate", "m", "--mandate-ref", "MS-404"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("liaison mandate list"), "{said}");

    // A draft's workflow step its state does not allow: approving a draft still being written.
    let (s, v) = api.call(M::POST, "/api/groups", None, Some(json!({ "name": "G", "mandate": "m" }))).await;
    assert!(s.is_success(), "group create: {s} {v}");
    let group = v["id"].as_str().expect("group id").to_string();
    let (s, v) = api.call(M::POST, "/api/drafts", None, Some(json!({ "group": group, "title": "Statement" }))).await;
    assert!(s.is_success(), "draft create: {s} {v}");
    let id = v["id"].as_str().expect("draft id").to_string();
    let (s, v) =
        api.call(M::POST, &format!("/api/drafts/{id}/actions"), None, Some(json!({ "action": "approve" }))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(code(&v), "draft-not-under-review");
    assert_eq!(v["refusal"]["state"], "draft");
    assert!(!v["error"].as_str().unwrap().contains("liaison "), "the node's words name no CLI command: {v}");
    let out = a.run(&["draft", "approve", &id]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("`liaison draft review ID`"), "{said}");
    // Put to review without a provision.
    let (s, v) =
        api.call(M::POST, &format!("/api/drafts/{id}/actions"), None, Some(json!({ "action": "review" }))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(code(&v), "draft-empty");

    // A consent record that does not exist.
    let (s, v) = api.call(M::POST, "/api/consent/abcdef01/grant", None, Some(json!({}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(code(&v), "consent-unknown");
    assert_eq!(v["refusal"]["id"], "abcdef01");

    // A document that does not exist.
    let (s, v) = api.call(M::GET, "/api/meetings/abcdef0123", None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    assert_eq!(code(&v), "not-found");
    assert_eq!(v["refusal"]["kind"], "meeting");

    // A role that does not allow it.
    let (s, v) = api
        .call(M::POST, "/api/meetings", Some("Vera"), Some(json!({ "title": "T", "starts": "2030-01-01T10:00:00Z" })))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(code(&v), "role-required");
    assert_eq!(v["refusal"]["need"], "member");
    assert_eq!(v["refusal"]["role"], "viewer");

    // And what is not a refusal has no code: a malformed body is the client's bug.
    let (s, v) = api.call(M::POST, "/api/meetings", None, Some(json!({ "nonsense": 1 }))).await;
    assert!(s.is_client_error(), "{s} {v}");
    assert!(v.get("refusal").is_none(), "{v}");
    a.stop();
}
