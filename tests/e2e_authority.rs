//! Each Party's word is its own, through the real binary and its stock API: an SCO RATS officer
//! cannot assign or end a CICA liaison officer (a 403 naming the rule, and CICA's registry is
//! unchanged on both nodes), while assigning its own works; and the history of a draft says
//! who changed what, with the Party proven.

mod common;

use common::{Node, eventually, never, pair};
use serde_json::{Value, json};

/// A call to a node's API with the node token, as the officer `officer`.
async fn api(node: &Node, method: reqwest::Method, path: &str, body: Value, officer: &str) -> (u16, Value) {
    let pem = std::fs::read(node.dir.join("tls/api-cert.pem")).expect("cert");
    let http = liaison::client::http_client(&pem).expect("client");
    let addr = node.run_info().expect("run.json")["api_addr"].as_str().expect("api_addr").to_string();
    let token = std::fs::read_to_string(node.dir.join("keys/api.token")).expect("token");
    let r = http
        .request(method, format!("https://{addr}{path}"))
        .bearer_auth(token.trim())
        .header("x-liaison-officer", officer)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn officers(n: &Node) -> Vec<(String, String, bool)> {
    let v = n.json(&["officer", "list", "--json"]);
    v.as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap().into(), o["party"].as_str().unwrap().into(), o["ended_at"].is_null()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sco_rats_officer_cannot_assign_or_end_a_cica_officer() {
    let (a, b) = pair();
    let ana = a.id_of(&["officer", "assign", "--name", "Ana Bekova", "--contact", "ana@cica.example"]);
    let cica_only = vec![("Ana Bekova".to_string(), "cica".to_string(), true)];
    eventually("B lists CICA's officer", &[&a, &b], || {
        if officers(&b) == cica_only { Ok(()) } else { Err(format!("{:?}", officers(&b))) }
    });

    // The CLI at SCO RATS: naming CICA, and ending CICA's officer, are refused with the rule.
    let rule = "registry of cica can be written by cica only, not by sco-rats";
    for args in [
        vec!["officer", "assign", "--name", "Impostor", "--party", "cica", "--contact", "x@example"],
        vec!["officer", "end", &ana],
    ] {
        let out = b.run(&args);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "`liaison {}` succeeded at SCO RATS", args.join(" "));
        assert!(err.contains(rule), "`liaison {}`: {err}", args.join(" "));
    }
    // The API itself, as a client that is not the CLI: a 403 with the refusal's code.
    let (status, body) = api(
        &b,
        reqwest::Method::POST,
        "/api/officers",
        json!({ "name": "Impostor", "party": "cica", "contact": "x@example" }),
        "I. Petrov",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["refusal"]["code"], "not-its-party", "{body}");
    assert_eq!(
        (body["refusal"]["owner"].as_str(), body["refusal"]["writer"].as_str()),
        (Some("cica"), Some("sco-rats"))
    );
    let (status, body) =
        api(&b, reqwest::Method::POST, &format!("/api/officers/{ana}/end"), json!({}), "I. Petrov").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["refusal"]["code"], "not-its-party", "{body}");

    // SCO RATS assigns its own officer: that works, and CICA sees it.
    b.id_of(&["officer", "assign", "--name", "Ivan Sokolov", "--contact", "ivan@rats.example"]);
    let both =
        vec![("Ana Bekova".to_string(), "cica".to_string(), true), ("Ivan Sokolov".into(), "sco-rats".into(), true)];
    eventually("A lists SCO RATS's officer", &[&a, &b], || {
        if officers(&a) == both { Ok(()) } else { Err(format!("{:?}", officers(&a))) }
    });
    // CICA's registry stays as CICA made it, on both nodes.
    never("an impostor or an ended CICA officer appears", &[&a, &b], || {
        for n in [&a, &b] {
            if officers(n) != both {
                return Err(format!("{}: {:?}", n.name, officers(n)));
            }
        }
        Ok(())
    });
}

#[test]
fn a_drafts_history_says_who_changed_what_with_the_party_proven() {
    let (a, b) = pair();
    let text = a.text_file("d.txt", "Article 1. The Parties cooperate.\n\nArticle 2. Information is exchanged.");
    let g = a.id_of(&["group", "create", "--name", "Joint group", "--mandate", "Proposals"]);
    let d = a.id_of(&[
        "draft",
        "create",
        "--group",
        &g,
        "--title",
        "Joint proposals",
        "--text-file",
        text.to_str().unwrap(),
    ]);
    eventually("B has the draft", &[&a, &b], || b.draft_text(&d).map(|_| ()));
    let ru = b.text_file("ru.txt", "Статья 2. Стороны обмениваются информацией.");
    let out = b
        .cmd(&["draft", "text", &d, "--provision", "a2", "--lang", "ru", "--text-file", ru.to_str().unwrap()])
        .env("LIAISON_OFFICER", "I. Petrov")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let b_node = b.peer_id();
    let h = eventually("A's history shows B's edit", &[&a, &b], || {
        let h = a.json(&["draft", "history", &d, "--provision", "a2", "--json"]);
        let found = h.as_array().unwrap().iter().any(|e| {
            e["party"] == "sco-rats"
                && e["node"] == b_node.as_str()
                && e["proof"] == "node"
                && e["officer"] == "I. Petrov"
        });
        if found { Ok(h) } else { Err(h.to_string()) }
    });
    // Filtered to Article 2, every entry concerns it; the first is CICA's creation.
    let entries = h.as_array().unwrap();
    assert!(entries.iter().all(|e| e["provisions"].as_array().unwrap().iter().any(|p| p.is_string())), "{h}");
    assert_eq!(entries[0]["party"], "cica", "{h}");
    let edit = entries.iter().find(|e| e["party"] == "sco-rats").unwrap();
    assert!(
        edit["what"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().starts_with("text of") && w.as_str().unwrap().ends_with("(ru)")),
        "{edit}"
    );
    // The plain listing names the officer and the Party.
    let out = a.ok(&["draft", "history", &d]);
    assert!(out.contains("I. Petrov (sco-rats, node") && out.contains("text of"), "{out}");
}
