//! Fuzzed API bodies (issue 10): every route that takes a JSON body, through the real router
//! of a real node in this process (real TLS, real engine, real store), with the node's token
//! (the admin role: the widest surface). Each case takes a valid body for a route and mutates
//! it, as JSON (a value replaced by one of another type, a huge number, a long or odd string,
//! deep nesting; a key removed, added or renamed) and then possibly as bytes (flipped, cut,
//! inserted), or replaces it with random bytes; sometimes the path's id is replaced too, or the
//! content type is wrong. Every answer must be a 2xx or a 4xx: never a 5xx, never a dropped
//! connection. Every 200 cases, and at the end, the node must still answer (`GET /api/status`)
//! and still do work (a valid meeting is created).
//!
//! | property | cases (requests) |
//! | --- | --- |
//! | `api_json_bodies_fuzzed` (20 routes, mutated JSON and raw bytes) | 3,000 |
//!
//! The body structs are private to `src/api`, so they are reached only through the router,
//! which is what a client reaches too.

mod inproc;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use inproc::TestNode;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::Method;
use serde_json::{Map, Value, json};

/// A client of the node's API with its token.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(n: &TestNode) -> Api {
        let pem = std::fs::read(n.dir.path().join("tls/api-cert.pem")).expect("cert");
        let http = liaison::client::http_client(&pem).expect("client");
        let token = std::fs::read_to_string(n.dir.path().join("keys/api.token")).expect("token").trim().to_string();
        Api { http, base: format!("https://{}", n.node().api_addr), token }
    }

    async fn send(&self, method: Method, path: &str, body: Vec<u8>, content_type: &str) -> (u16, String) {
        let r = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header("x-liaison-officer", "fuzz")
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: no answer: {e}"));
        let status = r.status().as_u16();
        (status, r.text().await.unwrap_or_default())
    }

    async fn json(&self, method: Method, path: &str, body: Value) -> Value {
        let (status, text) = self.send(method.clone(), path, body.to_string().into_bytes(), "application/json").await;
        assert!((200..300).contains(&status), "{method} {path} {body}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// The routes that take a JSON body, each with a valid body.
fn routes(ids: &Ids) -> Vec<(Method, String, Value)> {
    let Ids { meeting, group, draft, thread, provision, item } = ids;
    vec![
        (Method::POST, "/api/session".into(), json!({"name": "ana", "password": "correct horse battery staple"})),
        (Method::POST, "/api/session/password".into(), json!({"current": "old password 1", "new": "new password 22"})),
        (Method::POST, "/api/accounts".into(), json!({"name": "ana", "role": "member"})),
        (
            Method::POST,
            "/api/peers".into(),
            json!({
                "party_id": "sco-rats",
                "peer_id": "12D3KooWLbCNQi9KqKCNMmudzgm2XHrF89neiikCGsxX7nR1bdMH",
                "listen_addrs": ["/ip4/127.0.0.1/tcp/9"],
                "signing_key": "942cb9a452b41aada9fd069aef9c93accabaa42fdcd5acc406c8615dc5b10991",
                "sealing_key": "7d091963624dcb597dda40ad77a6b97d45d5bdec0fb547f9adac60d5cd40d713",
                "role": "third-party"
            }),
        ),
        (Method::POST, "/api/presence".into(), json!({"doc": draft, "provision": provision, "lang": "en"})),
        (
            Method::POST,
            "/api/meetings".into(),
            json!({"title": "Consultations", "starts": "2026-12-01T09:00:00Z", "ends": "2026-12-01T17:00:00Z",
                   "kind": "working-meeting", "venue": "Almaty", "sidelines_of": null}),
        ),
        (
            Method::PATCH,
            format!("/api/meetings/{meeting}"),
            json!({"title": "Renamed", "status": "confirmed", "add_agenda": ["Item one"], "remove_agenda": [],
                   "add_participants": [{"name": "Ana", "party": "cica", "role": "chair"}],
                   "remove_participants": [], "minutes": "Agreed.", "venue": ""}),
        ),
        (Method::POST, "/api/groups".into(), json!({"name": "Experts", "mandate": "Lists", "mandate_ref": null})),
        (
            Method::PATCH,
            format!("/api/groups/{group}"),
            json!({"name": "Experts II", "mandate": "More lists",
                   "add_members": [{"name": "Ivan", "party": "sco-rats"}], "remove_members": []}),
        ),
        (
            Method::POST,
            "/api/drafts".into(),
            json!({"group": group, "title": "Joint proposals", "lang": "en",
                   "text": "Article 1. Cooperation.\n\nArticle 2. Exchange.", "languages": ["en", "ru"]}),
        ),
        (Method::PATCH, format!("/api/drafts/{draft}"), json!({"title": "Joint proposals (rev)"})),
        (
            Method::PUT,
            format!("/api/drafts/{draft}/text"),
            json!({"text": "Article 1. Close cooperation.", "lang": "en"}),
        ),
        (
            Method::POST,
            format!("/api/drafts/{draft}/splice"),
            json!({"provision": provision, "lang": "en", "pos": 3, "delete": 1, "insert": "ticle", "edit": "e-1"}),
        ),
        (
            Method::POST,
            format!("/api/drafts/{draft}/actions"),
            json!({"action": "add-provision", "after": provision, "first": false, "kind": "article", "lang": "en",
                   "text": "Article 3. Review."}),
        ),
        (
            Method::POST,
            format!("/api/drafts/{draft}/actions"),
            json!({"action": "comment", "provision": provision, "text": "Please check", "reply_to": null}),
        ),
        (Method::POST, format!("/api/suggestions/{provision}"), json!({"accept": true})),
        (
            Method::POST,
            "/api/officers".into(),
            json!({"name": "Ana", "party": "cica", "contact": "ana@cica", "mandate": null}),
        ),
        (Method::POST, "/api/threads".into(), json!({"subject": "Lists", "text": "Please find attached."})),
        (Method::POST, format!("/api/threads/{thread}/messages"), json!({"text": "Received, thank you."})),
        (Method::POST, "/api/consent".into(), json!({"item": item, "third_party": "un-oct", "purpose": "assessment"})),
        (Method::POST, format!("/api/consent/{item}/grant"), json!({"expires": "2030-01-01T00:00:00Z"})),
        (Method::POST, "/api/mandates".into(), json!({"reference": "MS-1", "date": "2026-01-01", "scope": "lists"})),
        (Method::POST, "/api/mandates/MS-1".into(), json!({"action": "amend", "scope": "lists and more"})),
    ]
}

struct Ids {
    meeting: String,
    group: String,
    draft: String,
    thread: String,
    provision: String,
    item: String,
}

/// A change to a JSON body.
#[derive(Clone, Debug)]
enum Edit {
    /// Replace the value at a path (chosen by index over every value) with another.
    Replace(Index, Value),
    /// Remove a key of an object.
    Remove(Index),
    /// Add a key.
    Add(Index, String, Value),
    /// Rename a key.
    Rename(Index, String),
    /// Nest the body in arrays.
    Nest(usize),
}

fn odd_string() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[\\x00-\\x1f\"\\\\]{0,8}",
        (1..20_000usize).prop_map(|n| "x".repeat(n)),
        Just("../../etc/passwd".into()),
        Just("<script>alert(1)</script>".into()),
        Just("\u{202e}\u{0}\u{fffd}😀".into()),
        Just("2026-13-45T99:99:99Z".into()),
        Just("-1".into()),
        Just("ffffffffffffffffffffffffffffffff".into()),
        Just("12D3KooWF1GJ1yRhDJcCVkNrc5L6DeSK1K5V2z19rwKjvRhosmcv".into()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        prop_oneof![Just(u64::MAX), Just(0), Just(usize::MAX as u64), Just(1 << 53)].prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        odd_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[a-z_]{1,10}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<Index>(), json_value()).prop_map(|(i, v)| Edit::Replace(i, v)),
        2 => any::<Index>().prop_map(Edit::Remove),
        1 => (any::<Index>(), "[a-z_]{1,12}", json_value()).prop_map(|(i, k, v)| Edit::Add(i, k, v)),
        1 => (any::<Index>(), "[a-zA-Z_]{0,12}").prop_map(|(i, k)| Edit::Rename(i, k)),
        1 => prop_oneof![1..8usize, 100..400usize].prop_map(Edit::Nest),
    ]
}

/// How many values `v` holds (itself included), depth first.
fn count_values(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_values).sum(),
        Value::Object(o) => o.values().map(count_values).sum(),
        _ => 0,
    }
}

/// The `n`th value of `v`, depth first (0 is `v`).
fn nth_value(v: &mut Value, n: usize) -> Option<&mut Value> {
    if n == 0 {
        return Some(v);
    }
    let mut n = n - 1;
    let children: Vec<&mut Value> = match v {
        Value::Array(a) => a.iter_mut().collect(),
        Value::Object(o) => o.values_mut().collect(),
        _ => return None,
    };
    for c in children {
        let k = count_values(c);
        if n < k {
            return nth_value(c, n);
        }
        n -= k;
    }
    None
}

/// The objects among the values of `v`, by their depth-first position.
fn object_positions(v: &Value) -> Vec<usize> {
    fn walk(v: &Value, pos: &mut usize, out: &mut Vec<usize>) {
        if v.is_object() {
            out.push(*pos);
        }
        *pos += 1;
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, pos, out)),
            Value::Object(o) => o.values().for_each(|x| walk(x, pos, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut 0, &mut out);
    out
}

/// An object of `body` picked by `i`, if it has any.
fn some_object<'a>(body: &'a mut Value, i: &Index) -> Option<&'a mut Map<String, Value>> {
    let objs = object_positions(body);
    if objs.is_empty() {
        return None;
    }
    nth_value(body, objs[i.index(objs.len())]).and_then(Value::as_object_mut)
}

fn apply(mut body: Value, edits: &[Edit]) -> Value {
    for e in edits {
        match e {
            Edit::Replace(i, v) => {
                let n = i.index(count_values(&body));
                if let Some(x) = nth_value(&mut body, n) {
                    *x = v.clone();
                }
            }
            Edit::Remove(i) => {
                if let Some(o) = some_object(&mut body, i)
                    && let Some(k) = o.keys().nth(i.index(o.len().max(1))).cloned()
                {
                    o.remove(&k);
                }
            }
            Edit::Add(i, k, v) => {
                if let Some(o) = some_object(&mut body, i) {
                    o.insert(k.clone(), v.clone());
                }
            }
            Edit::Rename(i, k) => {
                if let Some(o) = some_object(&mut body, i)
                    && let Some(old) = o.keys().nth(i.index(o.len().max(1))).cloned()
                    && let Some(v) = o.remove(&old)
                {
                    o.insert(k.clone(), v);
                }
            }
            Edit::Nest(n) => {
                for _ in 0..*n {
                    body = Value::Array(vec![body]);
                }
            }
        }
    }
    body
}

#[derive(Clone, Debug)]
enum ByteEdit {
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, u8),
    Truncate(Index),
}

fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    prop_oneof![
        (any::<Index>(), 0..8u8).prop_map(|(i, b)| ByteEdit::Flip(i, b)),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..6)).prop_map(|(i, b)| ByteEdit::Insert(i, b)),
        (any::<Index>(), 1..8u8).prop_map(|(i, n)| ByteEdit::Delete(i, n)),
        any::<Index>().prop_map(ByteEdit::Truncate),
    ]
}

fn apply_bytes(mut v: Vec<u8>, edits: &[ByteEdit]) -> Vec<u8> {
    for e in edits {
        let at = |i: &Index, n: usize| if n == 0 { 0 } else { i.index(n) };
        match e {
            ByteEdit::Flip(i, b) if !v.is_empty() => {
                let p = at(i, v.len());
                v[p] ^= 1 << b;
            }
            ByteEdit::Insert(i, b) => {
                let p = at(i, v.len() + 1);
                v.splice(p..p, b.iter().copied());
            }
            ByteEdit::Delete(i, n) if !v.is_empty() => {
                let p = at(i, v.len());
                let end = (p + *n as usize).min(v.len());
                v.drain(p..end);
            }
            ByteEdit::Truncate(i) => {
                let p = at(i, v.len() + 1);
                v.truncate(p);
            }
            _ => {}
        }
    }
    v
}

#[derive(Clone, Debug)]
struct Case {
    route: Index,
    edits: Vec<Edit>,
    bytes: Vec<ByteEdit>,
    raw: Option<Vec<u8>>,
    path_id: Option<String>,
    content_type: &'static str,
}

fn case() -> impl Strategy<Value = Case> {
    (
        any::<Index>(),
        prop::collection::vec(edit(), 0..4),
        prop_oneof![3 => Just(vec![]), 1 => prop::collection::vec(byte_edit(), 1..4)],
        prop_oneof![12 => Just(None), 1 => prop::collection::vec(any::<u8>(), 0..512).prop_map(Some)],
        prop_oneof![12 => Just(None), 1 => odd_string().prop_map(Some)],
        prop_oneof![
            20 => Just("application/json"),
            1 => Just("text/plain"),
            1 => Just("application/json; charset=latin1"),
            1 => Just("")
        ],
    )
        .prop_map(|(route, edits, bytes, raw, path_id, content_type)| Case {
            route,
            edits,
            bytes,
            raw,
            path_id,
            content_type,
        })
}

/// Replaces the first id-like segment of `path` (32 hex digits or a reference) with `id`,
/// percent-encoded.
fn with_path_id(path: &str, id: &str) -> String {
    let segs: Vec<&str> = path.split('/').collect();
    let enc = liaison::client::encode(id);
    match segs.iter().position(|s| s.len() >= 4 && (s.chars().all(|c| c.is_ascii_hexdigit()) || s.contains('-'))) {
        Some(i) => {
            let mut v: Vec<String> = segs.iter().map(|s| s.to_string()).collect();
            v[i] = enc;
            v.join("/")
        }
        None => path.to_string(),
    }
}

const CASES: u32 = 3_000;

#[test]
fn api_json_bodies_fuzzed() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let node = rt.block_on(TestNode::new("cica", None));
    let api = Api::new(&node);
    // What the routes refer to.
    let ids = rt.block_on(async {
        let meeting = api.json(Method::POST, "/api/meetings", routes_seed_meeting()).await["id"]
            .as_str()
            .expect("id")
            .to_string();
        let group = api.json(Method::POST, "/api/groups", json!({"name": "Experts", "mandate": "Lists"})).await["id"]
            .as_str()
            .expect("id")
            .to_string();
        let draft = api
            .json(
                Method::POST,
                "/api/drafts",
                json!({"group": group, "title": "T", "text": "Article 1. A.\n\nArticle 2. B."}),
            )
            .await["id"]
            .as_str()
            .expect("id")
            .to_string();
        let d = api.json(Method::GET, &format!("/api/drafts/{draft}"), Value::Null).await;
        let provision = d["provisions"][0]["id"].as_str().expect("a provision").to_string();
        let thread = api.json(Method::POST, "/api/threads", json!({"subject": "S", "text": "T"})).await["id"]
            .as_str()
            .expect("id")
            .to_string();
        Ids { meeting, group, draft, thread, provision, item: "00112233445566778899aabbccddeeff".into() }
    });
    let routes = routes(&ids);
    // Each route's valid body is accepted or refused as a 4xx (some refuse by design: the node
    // token has no account for a password change, the item does not exist), never a 5xx.
    for (m, p, b) in &routes {
        let (status, text) = rt.block_on(api.send(m.clone(), p, b.to_string().into_bytes(), "application/json"));
        assert!(status < 500, "{m} {p} with its valid body: {status} {text}");
    }

    let statuses: Mutex<BTreeMap<u16, usize>> = Mutex::new(BTreeMap::new());
    let sent = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let config = Config { cases: CASES, failure_persistence: None, max_shrink_iters: 256, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&case(), |c| {
        let (method, path, body) = c.route.get(&routes);
        let path = match &c.path_id {
            Some(id) => with_path_id(path, id),
            None => path.clone(),
        };
        let body = match &c.raw {
            Some(raw) => raw.clone(),
            None => apply_bytes(apply(body.clone(), &c.edits).to_string().into_bytes(), &c.bytes),
        };
        let (status, text) = rt.block_on(api.send(method.clone(), &path, body.clone(), c.content_type));
        *statuses.lock().expect("lock").entry(status).or_default() += 1;
        prop_assert!(
            (200..500).contains(&status),
            "{method} {path} ({}) with {:?}: {status} {text}",
            c.content_type,
            String::from_utf8_lossy(&body[..body.len().min(400)])
        );
        let n = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if n.is_multiple_of(200) {
            let (s, t) = rt.block_on(api.send(Method::GET, "/api/status", vec![], "application/json"));
            prop_assert_eq!(s, 200, "the node stopped answering after {} requests: {}", n, t);
        }
        Ok::<(), TestCaseError>(())
    });
    let elapsed = started.elapsed();
    let statuses = statuses.into_inner().expect("lock");
    eprintln!("api_json_bodies_fuzzed: {} requests in {elapsed:.1?}; statuses {statuses:?}", sent.into_inner());
    if let Err(e) = result {
        panic!("api_json_bodies_fuzzed: {e}");
    }
    // The node still answers and still works.
    rt.block_on(async {
        let s = api.json(Method::GET, "/api/status", Value::Null).await;
        assert!(s.is_object(), "status: {s}");
        let m = api.json(Method::POST, "/api/meetings", routes_seed_meeting()).await;
        assert!(m["id"].is_string(), "a valid meeting after the fuzz: {m}");
    });
    assert!(statuses.keys().any(|s| (200..300).contains(s)), "some mutated bodies are still accepted: {statuses:?}");
    assert!(statuses.keys().any(|s| (400..500).contains(s)), "most are refused: {statuses:?}");
    let mut node = node;
    rt.block_on(node.stop());
}

fn routes_seed_meeting() -> Value {
    json!({"title": "Consultations", "starts": "2026-12-01T09:00:00Z"})
}
