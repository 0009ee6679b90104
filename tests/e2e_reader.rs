//! Reads that do not queue behind the engine's writes, through the real binary: with the
//! engine's thread held (a debug build's test hook, `LIAISON_TEST_HOOKS=1`), a draft's page, its
//! history and diff, a meeting, a group, a thread, `/api/docs` and `/api/status` are all
//! answered while a write sent before them is still waiting for the engine; once the engine goes
//! on, the write is acknowledged and every read made after it shows it (read-your-writes).

mod common;

use std::time::Duration;

use common::Node;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The node's API with its token, acting for one officer.
#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn of(node: &Node) -> Api {
        let pem = std::fs::read(node.dir.join("tls/api-cert.pem")).expect("cert");
        let http = liaison::client::http_client(&pem).expect("client");
        let addr = node.run_info().expect("run.json")["api_addr"].as_str().expect("api_addr").to_string();
        let token = std::fs::read_to_string(node.dir.join("keys/api.token")).expect("token").trim().to_string();
        Api { http, base: format!("https://{addr}"), token }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("x-liaison-officer", "Reader Test")
            // Not a measurement: a read that waited for the held engine would wait two minutes.
            .timeout(Duration::from_secs(60));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    async fn get(&self, path: &str) -> Value {
        let (s, v) = self.call(reqwest::Method::GET, path, None).await;
        assert_eq!(s, StatusCode::OK, "GET {path}: {v}");
        v
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.call(reqwest::Method::POST, path, Some(body)).await;
        assert_eq!(s, StatusCode::OK, "POST {path}: {v}");
        v
    }
}

fn started() -> Node {
    // SAFETY: set before any node starts, in this test binary's only test; the serve processes
    // inherit it.
    unsafe { std::env::set_var("LIAISON_TEST_HOOKS", "1") };
    let mut n = Node::init("A", "cica", "CICA Secretariat");
    n.start();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_and_status_are_answered_while_the_engine_is_held_and_show_every_acknowledged_write() {
    let node = started();
    let api = Api::of(&node);
    let draft = node.new_draft(&["Article 1. The Parties cooperate.", "Article 2. They meet."]);
    let group = api.get(&format!("/api/drafts/{draft}")).await["group"].as_str().unwrap().to_string();
    let meeting =
        node.id_of(&["meeting", "create", "--title", "Consultation in Astana", "--starts", "2099-03-01T10:00:00Z"]);
    let thread = api.post("/api/threads", json!({ "subject": "Agenda", "text": "First message" })).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    api.post("/api/mandates", json!({ "reference": "CM-2026/7", "date": "2026-01-15", "scope": "Working groups" }))
        .await;
    let before = api.get("/api/status").await;
    let docs_before = before["documents_total"].as_u64().unwrap();
    // An edit just before the hold: the draft's summary is stale, and the lists compute it on the
    // reader's threads, not the engine's.
    let chars = api.get(&format!("/api/drafts/{draft}")).await["text"].as_str().unwrap().chars().count();
    api.post(&format!("/api/drafts/{draft}/splice"), json!({ "pos": 0, "insert": "Ω " })).await;

    // Hold the engine, then send a write: it waits behind the held job.
    api.post("/api/test/stall", json!({})).await;
    let writer = api.clone();
    let write = tokio::spawn(async move {
        writer.post("/api/meetings", json!({ "title": "Held meeting", "starts": "2099-04-01T10:00:00Z" })).await
    });

    // Every read of one page, the documents and the status is answered meanwhile.
    let d = api.get(&format!("/api/drafts/{draft}")).await;
    assert!(d["text"].as_str().unwrap().contains("Article 2. They meet."), "{d}");
    assert_eq!(d["id"], draft.as_str());
    let h = api.get(&format!("/api/drafts/{draft}/history")).await;
    assert!(!h.as_array().unwrap().is_empty(), "{h}");
    api.get(&format!("/api/drafts/{draft}/diff")).await;
    assert_eq!(api.get(&format!("/api/meetings/{meeting}")).await["title"], "Consultation in Astana");
    api.get(&format!("/api/meetings/{meeting}/history")).await;
    assert_eq!(api.get(&format!("/api/groups/{group}")).await["id"], group.as_str());
    let t = api.get(&format!("/api/threads/{thread}")).await;
    assert_eq!(t["messages"].as_array().unwrap().len(), 1, "{t}");
    api.get(&format!("/api/threads/{thread}/history")).await;
    let docs = api.get("/api/docs").await;
    assert!(docs.as_array().unwrap().iter().any(|x| x["id"] == draft.as_str()), "{docs}");
    let drafts = api.get("/api/drafts").await;
    let listed = drafts.as_array().unwrap().iter().find(|x| x["id"] == draft.as_str()).cloned();
    assert_eq!(listed.as_ref().and_then(|d| d["chars"].as_u64()), Some(chars as u64 + 2), "{drafts}");
    let meetings = api.get("/api/meetings").await;
    assert!(meetings.as_array().unwrap().iter().any(|x| x["id"] == meeting.as_str()), "{meetings}");
    let threads = api.get("/api/threads").await;
    assert!(threads.as_array().unwrap().iter().any(|x| x["id"] == thread.as_str()), "{threads}");
    // The inbox (every page asks it after each change), the consent list and the calendars are
    // made from the summaries and the last commit, not by the engine.
    let inbox = api.get("/api/inbox?all=true").await;
    let listed =
        |kind: &str, id: &str| inbox["entries"].as_array().unwrap().iter().any(|e| e["kind"] == kind && e["doc"] == id);
    assert!(listed("meeting", &meeting) && listed("message", &thread), "{inbox}");
    // One entry of the page, and every entry about the thread wherever it falls; a limit that is
    // not a number is refused with its code.
    let page = api.get(&format!("/api/inbox?all=true&limit=1&about={thread}")).await;
    assert_eq!(page["entries"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["total"], inbox["total"], "{page}");
    let about: Vec<_> =
        page["about"].as_array().unwrap().iter().map(|e| (e["kind"].clone(), e["doc"].clone())).collect();
    assert_eq!(about, [(json!("message"), json!(thread))], "{page}");
    let (s, v) = api.call(reqwest::Method::GET, "/api/inbox?limit=ten", None).await;
    assert_eq!(
        (s, &v["refusal"]["code"], &v["refusal"]["param"]),
        (StatusCode::BAD_REQUEST, &json!("bad-parameter"), &json!("limit")),
        "{v}"
    );
    assert!(api.get("/api/consent").await.as_array().unwrap().is_empty());
    // The audit log, its check and the mandates, from the last commit too.
    let audit = api.get("/api/audit").await;
    assert!(!audit.as_array().unwrap().is_empty(), "{audit}");
    let verified = api.get("/api/audit/verify").await;
    assert_eq!(
        (&verified["ok"], verified["entries"].as_u64()),
        (&json!(true), Some(audit.as_array().unwrap().len() as u64)),
        "{verified}"
    );
    let mandates = api.get("/api/mandates").await;
    assert_eq!(
        mandates.as_array().map(|m| m.iter().map(|m| m["reference"].clone()).collect::<Vec<_>>()),
        Some(vec![json!("CM-2026/7")]),
        "{mandates}"
    );
    assert_eq!(mandates[0]["in_force"], true, "{mandates}");
    let (s, _) = api.call(reqwest::Method::GET, &format!("/api/meetings/{meeting}/ics"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = api.call(reqwest::Method::GET, "/api/meetings/ics", None).await;
    assert_eq!(s, StatusCode::OK);
    let held = api.get("/api/status").await;
    assert_eq!(held["documents_total"].as_u64(), Some(docs_before), "{held}");
    // An unknown or ambiguous id is still told apart, without the engine.
    let (s, _) = api.call(reqwest::Method::GET, "/api/drafts/ffffffffffff", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The order: all of that was answered while the write still waited for the engine.
    assert!(!write.is_finished(), "the write finished while the engine was held");

    api.post("/api/test/release", json!({})).await;
    let created = write.await.expect("write task");
    let new_meeting = created["id"].as_str().unwrap();
    // Read-your-writes: the write was acknowledged, so every read after it shows it.
    assert_eq!(api.get(&format!("/api/meetings/{new_meeting}")).await["title"], "Held meeting");
    assert_eq!(api.get("/api/status").await["documents_total"].as_u64(), Some(docs_before + 1));
    assert!(api.get("/api/docs").await.as_array().unwrap().iter().any(|x| x["id"] == new_meeting));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_read_after_each_edit_shows_that_edit() {
    let node = started();
    let api = Api::of(&node);
    let draft = node.new_draft(&["Article 1. The Parties cooperate."]);
    // The page is read (and cached by the reader) between edits, so each read after an edit
    // finds its copy one commit behind and must catch up.
    let mut text = api.get(&format!("/api/drafts/{draft}")).await["text"].as_str().unwrap().to_string();
    for i in 0..12 {
        let word = format!(" w{i}");
        let pos = text.chars().count();
        api.post(&format!("/api/drafts/{draft}/splice"), json!({ "pos": pos, "delete": 0, "insert": word })).await;
        let d = api.get(&format!("/api/drafts/{draft}")).await;
        text = d["text"].as_str().unwrap().to_string();
        assert!(text.ends_with(&word), "edit {i} not shown by the read after it: {text:?}");
        let h = api.get(&format!("/api/drafts/{draft}/history")).await;
        assert!(h.to_string().contains(&format!("w{i}")), "edit {i} not in the history read after it: {h}");
        // The same page again, nothing changed: the same answer (the reader keeps it).
        assert_eq!(api.get(&format!("/api/drafts/{draft}")).await, d);
    }
    // A record on the draft lives in our Party's annex, not in the draft: the kept page is not
    // served once the annex changed.
    let d = api.get(&format!("/api/drafts/{draft}")).await;
    let provision = d["provisions"][0]["id"].as_str().unwrap().to_string();
    api.post(
        &format!("/api/drafts/{draft}/actions"),
        json!({ "action": "comment", "provision": provision, "text": "Too broad" }),
    )
    .await;
    let d = api.get(&format!("/api/drafts/{draft}")).await;
    assert!(d.to_string().contains("Too broad"), "the comment is not on the page read after it: {d}");
}

/// Polls `check` until it holds (each node answers within the test's deadline).
async fn until(what: &str, mut check: impl AsyncFnMut() -> Result<(), String>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let last = match check().await {
            Ok(()) => return,
            Err(e) => e,
        };
        assert!(std::time::Instant::now() < deadline, "{what}: {last}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One provision as `GET /api/drafts/{id}/provisions/{pid}` answers it: (label, number, text).
async fn provision(api: &Api, draft: &str, pid: &str) -> (String, u64, String) {
    let v = api.get(&format!("/api/drafts/{draft}/provisions/{pid}?lang=en")).await;
    (v["label"].as_str().unwrap().into(), v["number"].as_u64().unwrap(), v["texts"]["en"].as_str().unwrap().into())
}

/// The reader keeps a draft's outline (labels, places) across keystrokes, which leave it as it
/// was. Played across two real nodes, where the other Party's changes arrive by sync: after
/// text edits the label stays; after a provision is added before it, removed before it, or the
/// provision itself moved, from either node, both nodes answer the new label and place, as
/// the whole draft's read does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provision_read_alone_has_the_label_and_place_the_whole_draft_gives_after_every_kind_of_change() {
    let (a, b) = common::pair();
    let (api_a, api_b) = (Api::of(&a), Api::of(&b));
    let draft = a.new_draft(&["Article 1. The Parties cooperate.", "Article 2. They meet."]);
    let p2 = api_a.get(&format!("/api/drafts/{draft}")).await["provisions"][1]["id"].as_str().unwrap().to_string();
    // Both nodes answer as the whole draft does, once B holds what A did.
    let agree = async |want: (&str, u64, &str)| {
        until(&format!("both nodes show {want:?}"), async || {
            for api in [&api_a, &api_b] {
                let (status, _) = api.call(reqwest::Method::GET, &format!("/api/drafts/{draft}"), None).await;
                if status != StatusCode::OK {
                    return Err(format!("the draft: {status}"));
                }
                let got = provision(api, &draft, &p2).await;
                if (got.0.as_str(), got.1, got.2.as_str()) != want {
                    return Err(format!("{} answers {got:?}", api.base));
                }
                let whole = api.get(&format!("/api/drafts/{draft}")).await;
                let place = whole["provisions"].as_array().unwrap().iter().position(|p| p["id"] == p2.as_str());
                if place.map(|i| i as u64 + 1) != Some(want.1) || whole["provisions"][place.unwrap()]["label"] != want.0
                {
                    return Err(format!("the whole draft at {} disagrees: {whole}", api.base));
                }
            }
            Ok(())
        })
        .await
    };
    agree(("Article 2", 2, "Article 2. They meet.")).await;
    // Keystrokes at A, read at both (B's come by sync): the outline is carried over.
    for (i, ch) in ["!", "?"].iter().enumerate() {
        let pos = "Article 2. They meet.".chars().count() + i;
        api_a
            .post(
                &format!("/api/drafts/{draft}/splice"),
                json!({ "provision": p2, "lang": "en", "pos": pos, "insert": ch }),
            )
            .await;
    }
    agree(("Article 2", 2, "Article 2. They meet.!?")).await;
    // A provision added first, at A: Article 3 on both nodes.
    api_a
        .post(
            &format!("/api/drafts/{draft}/actions"),
            json!({ "action": "add-provision", "first": true, "kind": "article", "lang": "en", "text": "Article 0. Scope." }),
        )
        .await;
    agree(("Article 3", 3, "Article 2. They meet.!?")).await;
    // A keystroke at B, then B removes the first provision: Article 2 again.
    api_b
        .post(&format!("/api/drafts/{draft}/splice"), json!({ "provision": p2, "lang": "en", "pos": 0, "insert": "«" }))
        .await;
    agree(("Article 3", 3, "«Article 2. They meet.!?")).await;
    let first = api_b.get(&format!("/api/drafts/{draft}")).await["provisions"][0]["id"].as_str().unwrap().to_string();
    api_b
        .post(&format!("/api/drafts/{draft}/actions"), json!({ "action": "remove-provision", "provision": first }))
        .await;
    agree(("Article 2", 2, "«Article 2. They meet.!?")).await;
    // The provision itself moved first, at A, then typed in: Article 1.
    api_a
        .post(
            &format!("/api/drafts/{draft}/actions"),
            json!({ "action": "move-provision", "provision": p2, "first": true }),
        )
        .await;
    api_a
        .post(&format!("/api/drafts/{draft}/splice"), json!({ "provision": p2, "lang": "en", "pos": 1, "insert": "»" }))
        .await;
    agree(("Article 1", 1, "«»Article 2. They meet.!?")).await;
}
