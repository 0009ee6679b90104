//! The lists (meetings, groups, drafts, threads) come from per-document summaries kept at commit
//! (issue 13). Through the real `liaison` binary on loopback: a list is right at once after a
//! local change, soon after a peer's, after a clean restart (read from the store, nothing
//! computed again) and after a kill -9 right after a commit; `?ids=` gives only the entries it
//! names and is bounded; an item's title in a meeting's attachments reaches only a role that
//! reads items; and a suggestion is decided from the summaries' index.

mod common;

use common::{Node, eventually, pair};
use serde_json::Value;

/// A raw API request with the node's token as `officer`: status and JSON body.
fn api_get(n: &Node, path: &str, officer: &str) -> (u16, Value) {
    let (status, v, _) = api_get_total(n, path, officer);
    (status, v)
}

/// [`api_get`], with the answer's `x-total-count` header.
fn api_get_total(n: &Node, path: &str, officer: &str) -> (u16, Value, Option<usize>) {
    let pem = std::fs::read(n.dir.join("tls/api-cert.pem")).expect("cert");
    let token = std::fs::read_to_string(n.dir.join("keys/api.token")).expect("token");
    let addr = n.run_info().expect("run.json")["api_addr"].as_str().expect("api_addr").to_string();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let http = liaison::client::http_client(&pem).expect("client");
        let r = http
            .get(format!("https://{addr}{path}"))
            .bearer_auth(token.trim())
            .header("x-liaison-officer", officer)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let total = r.headers().get("x-total-count").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        (status, r.json().await.expect("json body"), total)
    })
}

fn find<'a>(list: &'a Value, id: &str) -> Option<&'a Value> {
    list.as_array()?.iter().find(|e| e["id"] == id)
}

/// Every list, as the CLI prints them.
fn lists(n: &Node) -> Vec<Value> {
    [
        vec!["meeting", "list", "--json"],
        vec!["group", "list", "--json"],
        vec!["draft", "list", "--json"],
        vec!["message", "list", "--json"],
    ]
    .iter()
    .map(|args| n.json(args))
    .collect()
}

const COMPUTING: &str = "summaries to compute";

#[test]
fn lists_follow_local_and_peer_changes_and_survive_a_restart_and_a_kill() {
    let (mut a, b) = pair();
    let meeting = a.id_of(&["meeting", "create", "--title", "Consultation", "--starts", "2099-02-10T10:00:00Z"]);
    let draft = a.new_draft(&["Article 1. Scope", "Article 2. Terms"]);
    let msg = a.text_file("msg.txt", "Please find our list.");
    let thread =
        a.json(&["message", "send", "--subject", "Lists", "--text-file", msg.to_str().unwrap(), "--json"])["thread"]
            .as_str()
            .unwrap()
            .to_string();

    // Right at once after a local change: the command answered after the commit, and the list
    // never serves a summary older than the document.
    let [meetings, groups, drafts, threads] = <[Value; 4]>::try_from(lists(&a)).unwrap();
    assert_eq!(find(&meetings, &meeting).expect("meeting listed")["title"], "Consultation", "{meetings}");
    assert_eq!(groups.as_array().unwrap().len(), 1, "{groups}");
    let d = find(&drafts, &draft).expect("draft listed");
    assert_eq!(
        (d["provisions"].as_u64(), d["comments"].as_u64(), d["state"].as_str()),
        (Some(2), Some(0), Some("draft")),
        "{d}"
    );
    assert_eq!(find(&threads, &thread).expect("thread listed")["messages"], 1, "{threads}");
    a.ok(&["meeting", "update", &meeting, "--title", "Consultation in Astana"]);
    assert_eq!(find(&a.json(&["meeting", "list", "--json"]), &meeting).unwrap()["title"], "Consultation in Astana");

    // After the other Party's changes: its title, its comment (in its own annex of the draft),
    // its suggestion and its reply (in its annex of the thread).
    eventually("everything at B", &[&a, &b], || {
        let t = b.try_json(&["message", "list", "--json"])?;
        let d = b.try_json(&["draft", "list", "--json"])?;
        let m = b.try_json(&["meeting", "list", "--json"])?;
        match (find(&t, &thread), find(&d, &draft), find(&m, &meeting)) {
            (Some(_), Some(_), Some(m)) if m["title"] == "Consultation in Astana" => Ok(()),
            _ => Err(format!("not yet: {t} {d} {m}")),
        }
    });
    b.ok(&["meeting", "update", &meeting, "--title", "Consultation in Astana, second day"]);
    let p: Vec<String> = b.json(&["draft", "show", &draft, "--json"])["provisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    b.ok(&["draft", "comment", &draft, "--provision", &p[0], "--text", "Too broad"]);
    let s = b.text_file("s.txt", "Article 2. Definitions");
    b.ok(&["draft", "suggest", &draft, "--provision", &p[1], "--lang", "en", "--text-file", s.to_str().unwrap()]);
    let reply = b.text_file("reply.txt", "Received, thank you.");
    b.ok(&["message", "send", "--thread", &thread, "--text-file", reply.to_str().unwrap()]);
    eventually("B's changes in A's lists", &[&a, &b], || {
        let m = a.try_json(&["meeting", "list", "--json"])?;
        let d = a.try_json(&["draft", "list", "--json"])?;
        let t = a.try_json(&["message", "list", "--json"])?;
        let (m, d, t) = (find(&m, &meeting).cloned(), find(&d, &draft).cloned(), find(&t, &thread).cloned());
        match (&m, &d, &t) {
            (Some(m), Some(d), Some(t))
                if m["title"] == "Consultation in Astana, second day"
                    && d["comments"] == 1
                    && d["suggestions_open"] == 1
                    && t["messages"] == 2
                    && t["last_by"]["party"] == "sco-rats" =>
            {
                Ok(())
            }
            _ => Err(format!("not yet: {m:?} {d:?} {t:?}")),
        }
    });

    // A decides B's suggestion: its draft is found from the summaries.
    let sid = a.json(&["draft", "show", &draft, "--json"])["open_suggestions"][0]["id"].as_str().unwrap().to_string();
    a.ok(&["draft", "suggestion", "accept", &sid]);
    let d = find(&a.json(&["draft", "list", "--json"]), &draft).cloned().unwrap();
    assert_eq!(d["suggestions_open"], 0, "{d}");
    assert!(a.json(&["draft", "show", &draft, "--json"])["text"].as_str().unwrap().contains("Definitions"));
    let e = a.run(&["draft", "suggestion", "accept", "ffffffffffffffff"]);
    assert!(!e.status.success(), "an unknown suggestion is refused");

    // A clean restart reads the summaries from the store: the same lists, nothing computed.
    let before = lists(&a);
    let computed = a.log_count(COMPUTING);
    a.stop();
    a.start();
    assert_eq!(lists(&a), before, "the lists after a restart");
    assert_eq!(a.log_count(COMPUTING), computed, "a clean restart computed summaries again:\n{}", a.logs());

    // A kill -9 right after a commit: whatever summary the store had is older than the meeting,
    // and is computed again, never served.
    a.ok(&["meeting", "update", &meeting, "--title", "Moved to Almaty"]);
    a.ok(&["draft", "comment", &draft, "--provision", &p[0], "--text", "Agreed"]);
    a.kill();
    a.start();
    assert_eq!(find(&a.json(&["meeting", "list", "--json"]), &meeting).unwrap()["title"], "Moved to Almaty");
    assert_eq!(find(&a.json(&["draft", "list", "--json"]), &draft).unwrap()["comments"], 2);
}

#[test]
fn ids_pick_entries_within_a_bound_and_titles_stay_with_the_roles_that_read_items() {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    a.start();
    a.ok(&["account", "add", "--name", "vera", "--role", "viewer"]);
    let m1 = a.id_of(&["meeting", "create", "--title", "First", "--starts", "2099-02-10T10:00:00Z"]);
    let m2 = a.id_of(&["meeting", "create", "--title", "Second", "--starts", "2099-03-10T10:00:00Z"]);
    let draft = a.new_draft(&["Article 1. Scope"]);

    // Only the ids named, of the list's kind; an id of another kind or unknown is left out.
    let (status, v) = api_get(&a, &format!("/api/meetings?ids={m2},{draft},{}", "0".repeat(32)), "officer-a");
    assert_eq!(status, 200, "{v}");
    let ids: Vec<&str> = v.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![m2.as_str()], "{v}");
    assert!(v[0]["version"].as_str().is_some_and(|s| s.len() == 64), "each entry says its version: {v}");
    let (status, v) = api_get(&a, &format!("/api/drafts?ids={draft}"), "officer-a");
    assert_eq!((status, v.as_array().map(Vec::len)), (200, Some(1)), "{v}");
    let (_, all) = api_get(&a, "/api/meetings", "officer-a");
    assert_eq!(all.as_array().unwrap().len(), 2);
    assert_eq!(all[0]["id"], m1.as_str(), "by start: {all}");

    // More than 100 ids, or what is not an id, is refused with a code, on every list.
    let many = vec![m1.clone(); 101].join(",");
    for route in ["/api/meetings", "/api/groups", "/api/drafts", "/api/threads"] {
        let (status, v) = api_get(&a, &format!("{route}?ids={many}"), "officer-a");
        assert_eq!(
            (status, v["refusal"]["code"].as_str(), v["refusal"]["max"].as_u64()),
            (400, Some("too-many-ids"), Some(100)),
            "{route}: {v}"
        );
        let (status, v) = api_get(&a, &format!("{route}?ids=not-an-id"), "officer-a");
        assert_eq!((status, v["refusal"]["code"].as_str()), (400, Some("bad-id")), "{route}: {v}");
    }

    // An attachment's title in the meeting list: to a role that reads items, not to a viewer
    // (as before summaries); and never in the store in plaintext.
    let file = a.text_file("item.txt", "SUMMARY-BODY-MARKER");
    let item = a.id_of(&["item", "share", "--title", "SUMMARY-TITLE-MARKER", "--file", file.to_str().unwrap()]);
    a.ok(&["meeting", "attach", &m1, "--item", &item]);
    let (_, v) = api_get(&a, "/api/meetings", "officer-a");
    assert_eq!(find(&v, &m1).unwrap()["attachments"][0]["title"], "SUMMARY-TITLE-MARKER", "{v}");
    let (status, v) = api_get(&a, "/api/meetings", "vera");
    assert_eq!(status, 200, "{v}");
    let att = &find(&v, &m1).unwrap()["attachments"][0];
    assert_eq!(
        (att["held"].as_bool(), att["readable"].as_bool(), &att["title"]),
        (Some(true), Some(false), &Value::Null),
        "{v}"
    );
    a.stop();
    assert!(common::files_containing(&a.dir, "SUMMARY-TITLE-MARKER").is_empty(), "an item's title on disk");
}

#[test]
fn meetings_are_picked_by_time_and_status_and_paged_in_order_of_start() {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    a.start();
    let meeting = |title: &str, starts: &str, ends: &str| {
        a.id_of(&["meeting", "create", "--title", title, "--starts", starts, "--ends", ends])
    };
    let past = meeting("Held long ago", "2020-01-10T10:00:00Z", "2020-01-10T12:00:00Z");
    let feb = meeting("February", "2099-02-10T10:00:00Z", "2099-02-10T12:00:00Z");
    let mar = meeting("March", "2099-03-10T10:00:00+05:00", "2099-03-10T12:00:00+05:00");
    let apr = meeting("April", "2099-04-10T10:00:00Z", "2099-04-10T12:00:00Z");
    a.ok(&["meeting", "update", &apr, "--status", "cancelled"]);
    let ids = |v: &Value| -> Vec<String> {
        v.as_array().expect("a list").iter().map(|m| m["id"].as_str().unwrap().to_string()).collect()
    };

    // What the dashboard asks for: the next meetings not cancelled, the first few.
    let (status, v, total) = api_get_total(
        &a,
        "/api/meetings?from=2030-01-01T00:00:00Z&status=proposed,confirmed,held&limit=12",
        "officer-a",
    );
    assert_eq!((status, ids(&v), total), (200, vec![feb.clone(), mar.clone()], Some(2)), "{v}");
    // A window of time, an offset and a limit; the total is of what matched, before paging.
    let (_, v, total) =
        api_get_total(&a, "/api/meetings?from=2099-03-01T00:00:00Z&to=2099-04-01T00:00:00Z", "officer-a");
    assert_eq!((ids(&v), total), (vec![mar.clone()], Some(1)), "{v}");
    let (_, v, total) = api_get_total(&a, "/api/meetings?offset=1&limit=2", "officer-a");
    assert_eq!((ids(&v), total), (vec![feb.clone(), mar.clone()], Some(4)), "{v}");
    let (_, v, total) = api_get_total(&a, "/api/meetings", "officer-a");
    assert_eq!((ids(&v), total), (vec![past.clone(), feb.clone(), mar.clone(), apr.clone()], Some(4)), "{v}");
    // A meeting is picked by its end: one that ends after `from` is still on.
    let (_, v, _) = api_get_total(&a, "/api/meetings?from=2020-01-10T11:00:00Z&limit=1", "officer-a");
    assert_eq!(ids(&v), vec![past.clone()], "{v}");

    // What does not read is refused with a code naming the parameter, and nothing else is read.
    for (query, param) in
        [("from=yesterday", "from"), ("to=2099-13-01", "to"), ("limit=-1", "limit"), ("status=postponed", "status")]
    {
        let (status, v) = api_get(&a, &format!("/api/meetings?{query}"), "officer-a");
        assert_eq!(
            (status, v["refusal"]["code"].as_str(), v["refusal"]["param"].as_str()),
            (400, Some("bad-parameter"), Some(param)),
            "{query}: {v}"
        );
    }

    // Times carry their own UTC offsets: the order is by the instant, not by the text.
    let early = meeting("At five UTC", "2099-05-10T10:00:00+05:00", "2099-05-10T11:00:00+05:00");
    let late = meeting("At six UTC", "2099-05-10T06:00:00Z", "2099-05-10T07:00:00Z");
    let (_, v, _) = api_get_total(&a, "/api/meetings?from=2099-05-01T00:00:00Z&limit=1", "officer-a");
    assert_eq!(ids(&v), vec![early.clone()], "{v}");
    let (_, v, _) = api_get_total(&a, "/api/meetings?from=2099-05-01T00:00:00Z", "officer-a");
    assert_eq!(ids(&v), vec![early.clone(), late.clone()], "{v}");

    // The CLI's list takes the same filters.
    let v = a.json(&["meeting", "list", "--from", "now", "--status", "proposed,confirmed", "--json"]);
    assert_eq!(ids(&v), vec![feb.clone(), mar.clone(), early.clone(), late], "{v}");
    let v = a.json(&["meeting", "list", "--from", "now", "--limit", "1", "--json"]);
    assert_eq!(ids(&v), vec![feb.clone()], "{v}");
    // The latest first, in pages, over HTTP and in the CLI, which says how to get the next page.
    let (_, v, total) = api_get_total(&a, "/api/meetings?order=desc&offset=1&limit=2", "officer-a");
    assert_eq!((ids(&v), total), (vec![early.clone(), apr.clone()], Some(6)), "{v}");
    let v = a.json(&["meeting", "list", "--latest-first", "--offset", "3", "--limit", "2", "--json"]);
    assert_eq!(ids(&v), vec![mar.clone(), feb.clone()], "{v}");
    let text = a.ok(&["meeting", "list", "--latest-first", "--offset", "3", "--limit", "2"]);
    assert!(text.contains("meetings 4–5 of 6; the next with --offset 5"), "{text}");
    let text = a.ok(&["meeting", "list", "--to", "now", "--latest-first", "--offset", "3"]);
    assert!(text.contains("no meetings past --offset 3: there are 1"), "{text}");
    let (status, v) = api_get(&a, "/api/meetings?order=sideways", "officer-a");
    assert_eq!((status, v["refusal"]["param"].as_str()), (400, Some("order")), "{v}");
    // An offset's `+` reaches the node as a `+`, not as a space.
    let v =
        a.json(&["meeting", "list", "--from", "2099-03-10T11:00:00+05:00", "--to", "2099-05-01T00:00:00Z", "--json"]);
    assert_eq!(ids(&v), vec![mar, apr], "{v}");
    let out = a.run(&["meeting", "list", "--from", "soon"]);
    assert!(!out.status.success(), "a time that does not read is refused");
    a.stop();
}
