//! End-to-end tests of search: the real `liaison` executable, CICA (A) and SCO RATS (B) on
//! loopback. Text typed at one node is found at the other by another inflected form, in Russian
//! and in English; an edit replaces what is found; an item's title is found only by a role that
//! may read the item, and never reaches the disk; an index deleted while the node was stopped is
//! built again at start.

mod common;

use std::path::Path;

use common::{Node, eventually, files_containing, pair};
use serde_json::Value;

/// `liaison search QUERY --json` at `n` (as `officer`, or the node's default officer, an admin).
fn search(n: &Node, officer: Option<&str>, q: &str) -> Vec<Value> {
    let mut args = vec![];
    if let Some(o) = officer {
        args.extend(["--officer", o]);
    }
    args.extend(["search", q, "--json"]);
    n.json(&args)["hits"].as_array().expect("hits").clone()
}

/// The hits of `q` at `n` on document `doc`.
fn hits_on(n: &Node, q: &str, doc: &str) -> Vec<Value> {
    search(n, None, q).into_iter().filter(|h| h["doc"] == doc).collect()
}

fn found(n: &Node, q: &str, doc: &str) -> Result<Value, String> {
    hits_on(n, q, doc).into_iter().next().ok_or_else(|| format!("{}: no hit for {q:?} on {doc}", n.name))
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn russian_and_english_found_across_nodes_by_other_forms_and_edits_replace_them() {
    let (a, b) = pair();
    let d = a.new_draft(&["Article 1. The Parties shall exchange information on the financing of terrorism."]);
    let p = eventually("B holds the draft", &[&a, &b], || {
        let v = b.try_json(&["draft", "show", &d, "--json"])?;
        v["provisions"][0]["id"].as_str().map(str::to_string).ok_or_else(|| "no provision yet".to_string())
    });

    // Russian typed at SCO RATS, found at CICA by another case of the same word.
    let ru = b.text_file(
        "ru.txt",
        "Статья 1. Терроризм во всех его формах осуждается Сторонами, и они обмениваются информацией.",
    );
    b.ok(&["draft", "text", &d, "--provision", &p, "--lang", "ru", "--text-file", path_str(&ru)]);
    let hit = eventually("A finds the Russian provision by «терроризма»", &[&a, &b], || {
        found(&a, "терроризма", &d)
    });
    assert_eq!(hit["kind"], "draft");
    assert_eq!(hit["lang"], "ru", "{hit}");
    assert_eq!(hit["anchor"], p.as_str(), "{hit}");
    assert_eq!(hit["label"], "Article 1", "{hit}");
    assert_eq!(hit["title"], "Joint proposals on CFT");
    let snippet = hit["snippet"].as_str().unwrap();
    let [start, end] = [hit["highlights"][0][0].as_u64().unwrap(), hit["highlights"][0][1].as_u64().unwrap()];
    let marked: String = snippet.chars().skip(start as usize).take((end - start) as usize).collect();
    assert_eq!(marked, "Терроризм", "the highlight is the word found, counted in characters: {hit}");
    // The English provision is found by its own stem, and says so.
    let en = found(&a, "financed terrorist", &d);
    assert!(en.is_err(), "every word must be found: {en:?}");
    let en = found(&a, "exchanging information", &d).unwrap();
    assert_eq!(en["lang"], "en");

    // English: "meetings" finds a meeting typed at CICA, at SCO RATS.
    let m = a.id_of(&[
        "meeting",
        "create",
        "--title",
        "Joint working meeting on the sidelines of the summit",
        "--starts",
        "2099-03-01T10:00:00Z",
    ]);
    let hit = eventually("B finds the meeting by «meetings»", &[&a, &b], || found(&b, "meetings", &m));
    assert_eq!(hit["kind"], "meeting");
    assert_eq!(hit["title"], "Joint working meeting on the sidelines of the summit");

    // A later edit at SCO RATS: the new word is found at CICA and the old one no longer is.
    let ru2 = b.text_file("ru2.txt", "Статья 1. Стороны обмениваются информацией о противодействии экстремизму.");
    b.ok(&["draft", "text", &d, "--provision", &p, "--lang", "ru", "--text-file", path_str(&ru2)]);
    eventually("A finds the edit by «экстремизма»", &[&a, &b], || found(&a, "экстремизма", &d));
    assert!(
        hits_on(&a, "терроризма", &d).is_empty(),
        "the old word is still found: {:?}",
        hits_on(&a, "терроризма", &d)
    );

    // Messages: subject and text.
    let t = a.text_file("msg.txt", "The venue of the consultation moves to Tashkent.");
    let thread = a.id_of(&["message", "send", "--subject", "Urgent: venue change", "--text-file", path_str(&t)]);
    let hit = eventually("B finds the message", &[&a, &b], || found(&b, "tashkent consultations", &thread));
    assert_eq!(hit["kind"], "thread");
    assert_eq!(hit["title"], "Urgent: venue change");
    assert!(hit["label"].as_str().unwrap().contains("cica"), "{hit}");
}

#[test]
fn an_item_title_is_found_only_by_roles_that_may_read_the_item_and_stays_off_the_disk() {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    a.start();
    a.ok(&["account", "add", "--name", "Omar", "--role", "viewer"]);
    a.ok(&["account", "add", "--name", "Mira", "--role", "member"]);
    a.ok(&["account", "add", "--name", "Lena", "--role", "liaison"]);
    let body = a.text_file("report.bin", "contents");
    let item = a.id_of(&["item", "share", "--title", "Quarterly shipment reconciliation", "--file", path_str(&body)]);
    let m = a.id_of(&["meeting", "create", "--title", "Shipment review meeting", "--starts", "2099-03-01T10:00:00Z"]);

    let kinds = |a: &Node, officer: Option<&str>| -> Vec<(String, String)> {
        search(a, officer, "shipments")
            .iter()
            .map(|h| (h["kind"].as_str().unwrap().to_string(), h["doc"].as_str().unwrap().to_string()))
            .collect()
    };
    let item_hit = ("item".to_string(), item.clone());
    let meeting_hit = ("meeting".to_string(), m.clone());
    for who in [None, Some("Lena")] {
        let k = kinds(&a, who);
        assert!(k.contains(&item_hit), "{who:?} may read the item and finds its title: {k:?}");
    }
    for who in ["Omar", "Mira"] {
        let k = kinds(&a, Some(who));
        assert!(k.contains(&meeting_hit), "{who} finds the meeting: {k:?}");
        assert!(!k.iter().any(|(kind, _)| kind == "item"), "{who} may not read the item, yet finds it: {k:?}");
        let hits = search(&a, Some(who), "quarterly reconciliation");
        assert!(hits.is_empty(), "{who} sees the title: {hits:?}");
    }

    // The workspace's index is on disk, the item's title is not.
    let index = a.dir.join("search");
    assert!(!files_containing(&index, "Shipment review").is_empty(), "the workspace's index is not on disk");
    assert!(files_containing(&a.dir, "reconciliation").is_empty(), "an item's title is on disk in plaintext");

    // An index removed while the node was stopped is built again at start.
    a.stop();
    std::fs::remove_dir_all(&index).unwrap();
    a.start();
    let k = kinds(&a, None);
    assert!(k.contains(&meeting_hit) && k.contains(&item_hit), "after a rebuild: {k:?}");

    // Queries are bounded before any work.
    let long = "x".repeat(201);
    let out = a.run(&["search", &long]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 200"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = a.run(&["search", "x", "--limit", "101"]);
    assert!(!out.status.success());
}
