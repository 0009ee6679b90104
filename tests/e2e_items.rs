//! End-to-end tests of items in the officers' day (issue 12), through the real `liaison`
//! executable on loopback: attachments on meetings and messages (only the item id in the
//! workspace; the title to who may read the item, nothing to who may not), TLP 2.0 markings, a
//! file saved under its own (Cyrillic) name, a third party's node that refuses to provide, and a
//! group updated under the other Party's own mandate.

mod common;

use std::path::Path;
use std::process::Output;

use common::{Node, eventually, files_containing, pair};
use serde_json::Value;

const TITLE: &str = "ATT-TITLE-MARKER-5517 Список организаций";
const BODY: &str = "ATT-BODY-MARKER-9043 list of entities";
const FILE_NAME: &str = "Список организаций.txt";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs a command as the officer `who` (an account of this node, whose role then applies).
fn run_as(n: &Node, who: &str, args: &[&str]) -> Output {
    n.cmd(args).env("LIAISON_OFFICER", who).output().expect("run liaison")
}

fn json_as(n: &Node, who: &str, args: &[&str]) -> Value {
    let out = run_as(n, who, args);
    assert!(out.status.success(), "{who}: `liaison {}` failed: {}", args.join(" "), text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json")
}

fn refused(n: &Node, who: &str, args: &[&str]) -> String {
    let out = run_as(n, who, args);
    assert!(!out.status.success(), "{who}: `liaison {}` must fail: {}", args.join(" "), text(&out.stdout));
    text(&out.stderr)
}

/// A raw API request with the node's token as `officer`: status, headers, body.
fn api(
    n: &Node,
    method: reqwest::Method,
    path: &str,
    officer: &str,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let pem = std::fs::read(n.dir.join("tls/api-cert.pem")).expect("cert");
    let token = std::fs::read_to_string(n.dir.join("keys/api.token")).expect("token");
    let addr = n.run_info().expect("run.json")["api_addr"].as_str().expect("api_addr").to_string();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let http = liaison::client::http_client(&pem).expect("client");
        let r = http
            .request(method, format!("https://{addr}{path}"))
            .bearer_auth(token.trim())
            .header("x-liaison-officer", officer)
            .body(body)
            .send()
            .await
            .expect("request");
        let (status, headers) = (r.status().as_u16(), r.headers().clone());
        (status, headers, r.bytes().await.expect("body").to_vec())
    })
}

fn share(n: &Node, title: &str, file: &Path, extra: &[&str]) -> String {
    let mut args = vec!["item", "share", "--title", title, "--file", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    n.id_of(&args)
}

#[test]
fn an_attachment_is_a_link_for_who_may_read_the_item_and_a_restricted_item_for_who_may_not() {
    let (mut a, mut b) = pair();
    // At SCO RATS, Vera is a viewer: she reads meetings and messages, no item.
    b.ok(&["account", "add", "--name", "vera", "--role", "viewer"]);

    // CICA provides an item from a file with a Cyrillic name, marked TLP:AMBER+STRICT.
    let file = a.scratch().join(FILE_NAME);
    std::fs::write(&file, BODY).unwrap();
    let item = share(&a, TITLE, &file, &["--tlp", "amber+strict"]);
    assert_eq!(a.json(&["item", "list", "--json"])[0]["marking"], "TLP:AMBER+STRICT");
    // A marking that looks like TLP but is not one of its labels is refused, by the CLI and by
    // the node itself (its typed refusal), and stores nothing.
    let e = refused(
        &a,
        "officer-a",
        &["item", "share", "--title", "x", "--file", file.to_str().unwrap(), "--marking", "TLP:WHITE"],
    );
    assert!(e.contains("TLP:CLEAR in TLP 2.0"), "{e}");
    let (status, _, body) = api(
        &a,
        reqwest::Method::POST,
        "/api/items",
        "officer-a",
        b"{\"title\":\"x\",\"marking\":\"tlp:ambr\"}\nbytes".to_vec(),
    );
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, v["refusal"]["code"].as_str(), v["refusal"]["reason"].as_str()),
        (422, Some("marking"), Some("not-tlp")),
        "{v}"
    );
    assert_eq!(a.json(&["item", "list", "--json"]).as_array().unwrap().len(), 1, "a refused item is not stored");

    // CICA attaches it (by a prefix) to a meeting and to a message.
    let meeting =
        a.id_of(&["meeting", "create", "--title", "Consultation in Astana", "--starts", "2099-02-10T10:00:00Z"]);
    let m = a.json(&["meeting", "attach", &meeting, "--item", &item[..8], "--json"]);
    assert_eq!(m["attachments"][0]["item"], item.as_str());
    assert_eq!(m["attachments"][0]["title"], TITLE, "{m}");
    let msg = a.scratch().join("msg.txt");
    std::fs::write(&msg, "Please see the attached list.").unwrap();
    let thread = a.json(&[
        "message",
        "send",
        "--subject",
        "Lists",
        "--text-file",
        msg.to_str().unwrap(),
        "--attach",
        &item,
        "--json",
    ])["thread"]
        .as_str()
        .unwrap()
        .to_string();
    // An item not held here cannot be cited.
    let e = refused(&a, "officer-a", &["meeting", "attach", &meeting, "--item", "00000000000000000000000000000000"]);
    assert!(e.contains("no item"), "{e}");

    // At SCO RATS, once the item and the documents arrived: a liaison officer sees the title...
    eventually("the meeting, the message and the item at SCO RATS", &[&a, &b], || {
        let m = b.try_json(&["meeting", "show", &meeting, "--json"])?;
        let t = b.try_json(&["message", "list", "--thread", &thread, "--json"])?;
        match (&m["attachments"][0]["title"], &t["messages"][0]["attachments"][0]["title"]) {
            (Value::String(x), Value::String(y)) if x == TITLE && y == TITLE => Ok(()),
            _ => Err(format!("not yet: {m} {t}")),
        }
    });
    let cited = b.json(&["item", "cited", &item[..8], "--json"]);
    assert_eq!(cited["meetings"][0]["id"], meeting.as_str(), "{cited}");
    assert_eq!(cited["messages"][0]["thread"], thread.as_str(), "{cited}");

    // ...and the viewer sees that an item is attached, its marking, and neither title nor byte.
    let m = json_as(&b, "vera", &["meeting", "show", &meeting, "--json"]);
    let att = &m["attachments"][0];
    assert_eq!(
        (att["held"].as_bool(), att["readable"].as_bool(), &att["title"]),
        (Some(true), Some(false), &Value::Null),
        "{m}"
    );
    assert_eq!(att["marking"], "TLP:AMBER+STRICT");
    let plain = text(&run_as(&b, "vera", &["meeting", "show", &meeting]).stdout);
    assert!(plain.contains("(restricted item)") && !plain.contains("ATT-TITLE-MARKER"), "{plain}");
    for args in [
        vec!["meeting", "show", &meeting, "--json"],
        vec!["meeting", "list", "--json"],
        vec!["message", "list", "--thread", &thread, "--json"],
        vec!["item", "list", "--json"],
    ] {
        let out = text(&run_as(&b, "vera", &args).stdout);
        assert!(!out.contains("ATT-TITLE-MARKER"), "vera's `{}` shows the title: {out}", args.join(" "));
    }
    let got = b.scratch().join("got.txt");
    let e = refused(&b, "vera", &["item", "show", &item, "--output", got.to_str().unwrap()]);
    assert!(e.contains("liaison role"), "{e}");
    assert!(!got.exists(), "a refused read writes no file");
    // Nor may a viewer attach anything.
    let e = refused(&b, "vera", &["meeting", "attach", &meeting, "--item", &item]);
    assert!(e.contains("\"vera\" has the viewer role"), "{e}");

    // Saved from the web app, the file keeps its name (RFC 6266 / 8187 for the Cyrillic).
    let (status, headers, body) =
        api(&b, reqwest::Method::GET, &format!("/api/items/{item}/content"), "officer-b", vec![]);
    assert_eq!(status, 200);
    assert_eq!(text(&body), BODY);
    let cd = headers.get("content-disposition").expect("Content-Disposition").to_str().unwrap().to_string();
    assert!(cd.starts_with("attachment; filename=\""), "{cd}");
    assert!(cd.contains("filename*=UTF-8''%D0%A1%D0%BF%D0%B8%D1%81%D0%BE%D0%BA%20"), "{cd}");
    assert!(cd.ends_with(".txt"), "{cd}");
    assert_eq!(b.json(&["item", "list", "--json"])[0]["file_name"], FILE_NAME);

    // No title, file name or byte of the item is in either workspace or store in plaintext.
    a.stop();
    b.stop();
    for n in [&a, &b] {
        for needle in ["ATT-TITLE-MARKER", "ATT-BODY-MARKER", "организаций"] {
            let found = files_containing(&n.dir, needle);
            assert!(found.is_empty(), "{}: {needle:?} in plaintext in {found:?}", n.name);
        }
    }
}

#[test]
fn a_third_party_node_refuses_to_provide_an_item_and_lists_what_it_was_granted() {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    let mut t = Node::init("T", "un-oct", "UN Office of Counter-Terrorism");
    a.start();
    t.start();
    a.pin(&t, Some("third-party"));
    t.pin(&a, Some("provider"));
    let file = t.scratch().join("report.txt");
    std::fs::write(&file, "goes nowhere").unwrap();
    let e = refused(&t, "officer-t", &["item", "share", "--title", "Report", "--file", file.to_str().unwrap()]);
    assert!(e.contains("third party's") && e.contains("provides none"), "{e}");
    // The node's own answer is a typed refusal, given before any of the body is stored.
    let (status, _, body) =
        api(&t, reqwest::Method::POST, "/api/items", "officer-t", b"{\"title\":\"x\"}\nbytes".to_vec());
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!((status, v["refusal"]["code"].as_str()), (403, Some("third-party-node")), "{v}");
    assert_eq!(t.json(&["item", "list", "--json"]), serde_json::json!([]), "nothing was stored");
    assert_eq!(t.json(&["item", "granted", "--json"]), serde_json::json!({ "third_party_node": true, "grants": [] }));
    // A Party's node is not one, and provides as before.
    assert_eq!(a.json(&["item", "granted", "--json"])["third_party_node"], false);
    share(&a, "Report", &file, &[]);
}

#[test]
fn the_other_party_updates_a_group_under_its_own_mandate() {
    let (a, b) = pair();
    a.ok(&["mandate", "add", "--ref", "CICA-MS-2026/1", "--date", "2026-01-10", "--scope", "working group"]);
    b.ok(&["mandate", "add", "--ref", "RATS-MS-2026/4", "--date", "2026-02-01", "--scope", "working group"]);
    let g = a.id_of(&[
        "group",
        "create",
        "--name",
        "WG on financing",
        "--mandate",
        "Proposals on CFT",
        "--mandate-ref",
        "CICA-MS-2026/1",
    ]);
    eventually("the group at SCO RATS", &[&a, &b], || b.try_json(&["group", "show", &g, "--json"]).map(|_| ()));
    // SCO RATS cannot cite CICA's mandate, only its own.
    let e = refused(&b, "officer-b", &["group", "update", &g, "--mandate-ref", "CICA-MS-2026/1"]);
    assert!(e.contains("no mandate \"CICA-MS-2026/1\" of sco-rats"), "{e}");
    let v = b.json(&[
        "group",
        "update",
        &g,
        "--add-member",
        "Ivan Petrov:sco-rats",
        "--mandate-ref",
        "RATS-MS-2026/4",
        "--json",
    ]);
    assert_eq!(v["mandate_refs"]["sco-rats"], "RATS-MS-2026/4", "{v}");
    assert_eq!(v["mandate_ref"], "CICA-MS-2026/1", "the founding citation stays");
    eventually("CICA sees SCO RATS's citation", &[&a, &b], || {
        let v = a.try_json(&["group", "show", &g, "--json"])?;
        if v["mandate_refs"]["sco-rats"] == "RATS-MS-2026/4" { Ok(()) } else { Err(format!("{v}")) }
    });
    let shown = a.ok(&["group", "show", &g]);
    assert!(shown.contains("cited by sco-rats: RATS-MS-2026/4"), "{shown}");
}
