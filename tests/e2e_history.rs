//! History with track changes, through the real binary on two nodes: a provision edited from
//! both nodes has a history with both Parties' edits in order, each with the words it inserted
//! and deleted (and nothing of the other's); a language filter keeps the other language out;
//! a suggestion and a version comparison are word diffs, never a unified diff; a meeting's and
//! a thread's histories show what changed in their fields and messages.

mod common;

use common::{Node, eventually, pair};
use serde_json::Value;

/// The words an entry's text changes inserted and deleted, as `(inserted, deleted)`.
fn words(e: &Value) -> (String, String) {
    let (mut ins, mut del) = (String::new(), String::new());
    for t in e["texts"].as_array().into_iter().flatten() {
        for p in t["diff"].as_array().unwrap() {
            match p["op"].as_str().unwrap() {
                "insert" => ins.push_str(p["text"].as_str().unwrap()),
                "delete" => del.push_str(p["text"].as_str().unwrap()),
                _ => {}
            }
        }
    }
    (ins, del)
}

fn edit(n: &Node, d: &str, lang: &str, text: &str) {
    let f = n.text_file(&format!("edit-{lang}.txt"), text);
    n.ok(&["draft", "text", d, "--provision", "a2", "--lang", lang, "--text-file", f.to_str().unwrap()]);
}

#[test]
fn a_provision_edited_from_both_nodes_has_both_edits_in_order_word_by_word() {
    let (a, b) = pair();
    let text = a.text_file("d.txt", "Article 1. The Parties cooperate.\n\nArticle 2. The Parties may hold meetings.");
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

    // SCO RATS edits Article 2 (English), then CICA edits it again once it has SCO RATS's edit.
    edit(&b, &d, "en", "Article 2. The Parties may hold joint working meetings.");
    eventually("A has B's edit", &[&a, &b], || {
        let t = a.draft_text(&d)?;
        if t.contains("joint working") { Ok(()) } else { Err(t) }
    });
    edit(&a, &d, "en", "Article 2. The Parties shall hold joint working meetings and consultations.");
    edit(&a, &d, "ru", "Статья 2. Стороны проводят встречи.");

    let h = eventually("B's history of a2 in English shows both edits", &[&a, &b], || {
        let h = b.json(&["draft", "history", &d, "--provision", "a2", "--lang", "en", "--json"]);
        let n = h.as_array().unwrap().iter().filter(|e| e["texts"].as_array().is_some_and(|t| !t.is_empty())).count();
        if n >= 3 { Ok(h) } else { Err(h.to_string()) }
    });
    let all: Vec<&Value> = h.as_array().unwrap().iter().filter(|e| e["texts"].is_array()).collect();
    assert_eq!(all.len(), 3, "the creation and two edits of a2 in English: {h}");
    // The history starts with the text the provision was created with, all of it inserted.
    assert_eq!(all[0]["what"], serde_json::json!(["created"]), "{h}");
    assert_eq!(words(all[0]), ("Article 2. The Parties may hold meetings.".to_string(), String::new()), "{h}");
    let edits = &all[1..];
    // In order: SCO RATS's first, then CICA's; each proven, each with only its own words.
    assert_eq!((edits[0]["party"].as_str(), edits[0]["proof"].as_str()), (Some("sco-rats"), Some("node")), "{h}");
    assert_eq!(words(edits[0]), ("joint working ".to_string(), String::new()), "{}", edits[0]);
    assert_eq!(edits[1]["party"], "cica", "{h}");
    let (ins, del) = words(edits[1]);
    assert_eq!(del, "may", "{}", edits[1]);
    assert!(ins.contains("shall") && ins.contains(" and consultations"), "{}", edits[1]);
    assert!(!ins.contains("joint"), "CICA's entry claims SCO RATS's words: {}", edits[1]);
    for e in edits {
        for t in e["texts"].as_array().unwrap() {
            assert!(t["what"].as_str().unwrap().ends_with("(en)"), "{e}");
        }
    }
    // The Russian history of a2 has CICA's Russian text, and not the English edits.
    let ru = b.json(&["draft", "history", &d, "--provision", "a2", "--lang", "ru", "--json"]);
    let ru_edits: Vec<&Value> = ru
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["texts"].is_array() && e["what"] != serde_json::json!(["created"]))
        .collect();
    assert_eq!(ru_edits.len(), 1, "{ru}");
    assert_eq!(words(ru_edits[0]).0, "Статья 2. Стороны проводят встречи.", "{ru}");
    // Article 1 was not edited: its history is its creation, and none of Article 2's words.
    let a1 = b.json(&["draft", "history", &d, "--provision", "a1", "--json"]);
    let a1: Vec<&Value> = a1.as_array().unwrap().iter().filter(|e| e["texts"].is_array()).collect();
    assert_eq!(a1.len(), 1, "{a1:?}");
    assert_eq!(words(a1[0]).0, "Article 1. The Parties cooperate.", "{a1:?}");

    // The plain listing shows the words as `git diff --word-diff` does (no colour off a terminal).
    let out = b.ok(&["draft", "history", &d, "--provision", "a2", "--lang", "en"]);
    assert!(out.contains("[-may-]{+shall+}") && out.contains("{+joint working +}"), "{out}");
    assert!(!out.contains('\x1b'), "colour off a terminal: {out:?}");

    // A suggestion: printed as a word diff, and the same in the JSON the web app reads.
    let s =
        b.text_file("s.txt", "Article 2. The Parties shall hold joint working meetings and consultations as agreed.");
    let out = b.ok(&["draft", "suggest", &d, "--provision", "a2", "--lang", "en", "--text-file", s.to_str().unwrap()]);
    assert!(out.contains("consultations{+ as agreed+}."), "{out}");
    for bad in ["No newline", "@@", "\n-", "\n+"] {
        assert!(!out.contains(bad), "a unified diff: {out}");
    }
    // A version comparison, from the beginning: word by word, CRLF-free, no unified-diff remarks.
    let cmp = b.json(&["draft", "diff", &d, "--lang", "en", "--json"]);
    assert_eq!(cmp["from"], "(empty)", "{cmp}");
    assert!(cmp["diff"].as_array().unwrap().iter().all(|p| p["op"] == "insert"), "{cmp}");
    b.ok(&["draft", "version", &d, "--name", "first reading"]);
    edit(&b, &d, "en", "Article 2. The Parties shall hold joint meetings and consultations.");
    let out = b.ok(&["draft", "diff", &d, "--lang", "en"]);
    assert!(out.contains("first reading → current (en)") && out.contains("joint [-working -]meetings"), "{out}");
    assert!(!out.contains("No newline"), "{out}");
}

#[test]
fn a_meetings_and_a_threads_history_show_what_changed() {
    let (a, b) = pair();
    let m = a.id_of(&[
        "meeting",
        "create",
        "--title",
        "Consultations",
        "--starts",
        "2099-02-01T10:00:00Z",
        "--venue",
        "Tashkent",
    ]);
    eventually("B has the meeting", &[&a, &b], || b.try_json(&["meeting", "show", &m, "--json"]).map(|_| ()));
    b.ok(&["meeting", "update", &m, "--venue", "Tashkent, CICA Secretariat"]);
    let h = eventually("A's meeting history shows B's venue change", &[&a, &b], || {
        let h = a.json(&["meeting", "history", &m, "--json"]);
        let found = h.as_array().unwrap().iter().any(|e| e["party"] == "sco-rats" && e["texts"].is_array());
        if found { Ok(h) } else { Err(h.to_string()) }
    });
    let e = h.as_array().unwrap().iter().find(|e| e["party"] == "sco-rats" && e["texts"].is_array()).unwrap();
    assert_eq!(e["texts"][0]["what"], "venue", "{e}");
    assert_eq!(words(e), (", CICA Secretariat".to_string(), String::new()), "{e}");

    // A thread: each Party's message in the thread's history as inserted words, by its Party.
    let t1 = a.text_file("m1.txt", "Urgent: venue change.");
    let t = a.id_of(&["message", "send", "--subject", "Venue", "--text-file", t1.to_str().unwrap()]);
    eventually("B has the thread", &[&a, &b], || {
        b.try_json(&["message", "list", "--thread", &t, "--json"]).map(|_| ())
    });
    let t2 = b.text_file("m2.txt", "Noted, thank you.");
    b.ok(&["message", "send", "--thread", &t, "--text-file", t2.to_str().unwrap()]);
    let h = eventually("A's thread history has both messages", &[&a, &b], || {
        let h = a.json(&["message", "history", &t, "--json"]);
        let n = h.as_array().unwrap().iter().filter(|e| e["texts"].is_array()).count();
        if n >= 2 { Ok(h) } else { Err(h.to_string()) }
    });
    let posts: Vec<(String, String)> = h
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["texts"].is_array())
        .map(|e| (e["party"].as_str().unwrap_or("").to_string(), words(e).0))
        .collect();
    assert_eq!(
        posts,
        vec![("cica".into(), "Urgent: venue change.".into()), ("sco-rats".into(), "Noted, thank you.".into())],
        "{h}"
    );
    let out = a.ok(&["message", "history", &t]);
    assert!(out.contains("{+Noted, thank you.+}"), "{out}");
}
