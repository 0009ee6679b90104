//! The inbox through the real binary: a message posted at SCO RATS is unread in CICA's
//! `liaison inbox`, each account's read state is its own, and a role that cannot answer a consent
//! request is not given it to answer.

mod common;

use common::*;
use serde_json::Value;

/// `liaison --officer WHO inbox --json ARGS` at `n`.
fn inbox(n: &Node, who: &str, extra: &[&str]) -> Result<Value, String> {
    let mut args = vec!["--officer", who, "inbox", "--json"];
    args.extend_from_slice(extra);
    n.try_json(&args)
}

/// The entry of `kind` about `doc` in an inbox, if listed.
fn entry<'a>(inbox: &'a Value, kind: &str, doc: &str) -> Option<&'a Value> {
    inbox["entries"].as_array()?.iter().find(|e| e["kind"] == kind && e["doc"] == doc)
}

/// Waits until `who`'s inbox at `n` lists `doc` as unread `kind`; answers the inbox.
fn wait_unread(n: &Node, who: &str, kind: &str, doc: &str, nodes: &[&Node]) -> Value {
    eventually(&format!("{who}'s inbox at {} lists {kind} {doc} unread", n.name), nodes, || {
        let v = inbox(n, who, &[])?;
        match entry(&v, kind, doc) {
            Some(e) if e["unread"] == true => Ok(v.clone()),
            other => Err(format!("{other:?} in {v}")),
        }
    })
}

fn add_account(n: &Node, name: &str, role: &str) {
    n.json(&["account", "add", "--name", name, "--role", role, "--json"]);
}

#[test]
fn a_message_from_the_other_party_is_unread_per_account_until_read_and_tasks_follow_the_role() {
    let (a, b) = pair();
    for (name, role) in [("anna", "liaison"), ("boris", "liaison"), ("vera", "viewer")] {
        add_account(&a, name, role);
    }
    // The node token's own caller (the CLI's default officer is not an account): the operator.
    let operator = "officer-a";

    // SCO RATS writes; CICA's officers each see it as new.
    let f = b.text_file("urgent.txt", "The venue moves to the second floor.");
    let thread = b.id_of(&["message", "send", "--subject", "Urgent: venue change", "--text-file", f.to_str().unwrap()]);
    let v = wait_unread(&a, "anna", "message", &thread, &[&a, &b]);
    let e = entry(&v, "message", &thread).unwrap();
    assert_eq!(e["title"], "Urgent: venue change", "{e}");
    assert_eq!((e["why"]["code"].as_str(), e["why"]["count"].as_u64()), (Some("new-messages"), Some(1)), "{e}");
    assert_eq!(e["by"]["party"], "sco-rats", "{e}");
    assert!(v["unread"].as_u64() >= Some(1) && v["counts"]["message"] == 1, "{v}");
    for who in ["boris", "vera", operator] {
        wait_unread(&a, who, "message", &thread, &[&a, &b]);
    }
    // Not at SCO RATS, whose officer wrote it.
    let theirs = inbox(&b, "officer-b", &[]).unwrap();
    assert!(entry(&theirs, "message", &thread).is_none(), "the author's own message is not news: {theirs}");

    // Anna reads it: gone from her inbox, listed as read with --all; nobody else's changes.
    let after = inbox(&a, "anna", &["--read", &thread]).unwrap();
    assert!(entry(&after, "message", &thread).is_none(), "read, still listed: {after}");
    assert_eq!(after["counts"]["message"], 0, "{after}");
    let all = inbox(&a, "anna", &["--all"]).unwrap();
    assert_eq!(entry(&all, "message", &thread).map(|e| e["unread"].clone()), Some(Value::Bool(false)), "{all}");
    for who in ["boris", "vera", operator] {
        let v = inbox(&a, who, &[]).unwrap();
        assert_eq!(entry(&v, "message", &thread).map(|e| e["unread"].clone()), Some(Value::Bool(true)), "{who}: {v}");
    }

    // Anna's own reply is not news to her; SCO RATS's answer is, one message.
    let f = a.text_file("reply.txt", "Noted, thank you.");
    a.ok(&["--officer", "anna", "message", "send", "--thread", &thread, "--text-file", f.to_str().unwrap()]);
    never("anna's own reply shows in her inbox", &[&a], || match entry(&inbox(&a, "anna", &[])?, "message", &thread) {
        None => Ok(()),
        Some(e) => Err(e.to_string()),
    });
    let f = b.text_file("again.txt", "And the time moves to 10:00.");
    b.ok(&["message", "send", "--thread", &thread, "--text-file", f.to_str().unwrap()]);
    let v = wait_unread(&a, "anna", "message", &thread, &[&a, &b]);
    assert_eq!(entry(&v, "message", &thread).unwrap()["why"]["count"], 1, "{v}");

    // A consent request to CICA: a task for a liaison officer, none for a viewer.
    let mut t = Node::init("T", "un-oct", "UN Office of Counter-Terrorism");
    t.start();
    a.pin(&t, Some("third-party"));
    b.pin(&t, Some("third-party"));
    let f = a.text_file("contacts.txt", "contact points");
    let item = a.id_of(&["item", "share", "--title", "Contact points", "--file", f.to_str().unwrap()]);
    eventually("the item at SCO RATS", &[&a, &b], || {
        let v = b.try_json(&["item", "list", "--json"])?;
        if v.to_string().contains(&item) { Ok(()) } else { Err(v.to_string()) }
    });
    let req = b.id_of(&["consent", "request", &item, "--third-party", "un-oct", "--purpose", "joint assessment"]);
    let v = wait_unread(&a, "anna", "consent", &req, &[&a, &b]);
    let e = entry(&v, "consent", &req).unwrap();
    assert_eq!((e["title"].as_str(), e["why"]["code"].as_str()), (Some("joint assessment"), Some("consent-to-answer")));
    assert_eq!((e["why"]["item"].as_str(), e["why"]["third_party"].as_str()), (Some(item.as_str()), Some("un-oct")));
    let vera = inbox(&a, "vera", &["--all"]).unwrap();
    assert!(entry(&vera, "consent", &req).is_none(), "a viewer cannot answer consent: {vera}");
    assert_eq!(vera["counts"]["consent"], 0, "{vera}");
    // Nor is it SCO RATS's to answer.
    assert!(entry(&inbox(&b, "officer-b", &["--all"]).unwrap(), "consent", &req).is_none());

    // A task read stays listed while it waits, no longer counted as new.
    let v = inbox(&a, "anna", &["--read", &req]).unwrap();
    let e = entry(&v, "consent", &req).expect("still to answer");
    assert_eq!((e["unread"].as_bool(), v["counts"]["consent"].as_u64()), (Some(false), Some(0)), "{v}");
    // Answered: gone.
    a.ok(&["--officer", "anna", "consent", "grant", &req]);
    let v = inbox(&a, "anna", &["--all"]).unwrap();
    assert!(entry(&v, "consent", &req).is_none(), "answered, still listed: {v}");

    // The viewer may mark its own inbox read, all of it.
    let v = inbox(&a, "vera", &["--read-all"]).unwrap();
    assert_eq!(v["unread"], 0, "{v}");
    assert!(inbox(&a, "boris", &[]).unwrap()["unread"].as_u64() >= Some(1), "vera's marks are hers alone");
}

#[test]
fn marking_needs_an_id_long_enough_and_the_cli_says_so() {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    a.start();
    let out = a.run(&["inbox", "--read", "ab"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 4 characters"), "{out:?}");
    let v = a.json(&["inbox", "--json"]);
    assert_eq!((v["unread"].as_u64(), v["entries"].as_array().map(Vec::len)), (Some(0), Some(0)), "{v}");
}

#[test]
fn a_long_inbox_comes_in_pages_that_count_every_entry() {
    let (a, b) = pair();
    add_account(&a, "anna", "member");
    for i in 0..5 {
        b.id_of(&["meeting", "create", "--title", &format!("Meeting {i}"), "--starts", "2099-03-01T10:00:00Z"]);
    }
    let whole = eventually("anna's inbox at A lists SCO RATS's five meetings", &[&a, &b], || {
        let v = inbox(&a, "anna", &[])?;
        (v["counts"]["meeting"] == 5).then_some(v.clone()).ok_or(format!("{v}"))
    });
    let keys = |v: &Value| v["entries"].as_array().unwrap().iter().map(|e| e["key"].to_string()).collect::<Vec<_>>();
    assert_eq!((whole["total"].as_u64(), keys(&whole).len()), (Some(5), 5), "{whole}");

    // Pages of two: the counts are the whole inbox's, and the pages follow each other.
    let mut paged = vec![];
    for offset in ["0", "2", "4"] {
        let v = inbox(&a, "anna", &["--limit", "2", "--offset", offset]).unwrap();
        assert_eq!(
            (v["unread"].as_u64(), v["total"].as_u64(), v["counts"]["meeting"].as_u64()),
            (Some(5), Some(5), Some(5))
        );
        assert_eq!(v["offset"].as_u64(), offset.parse().ok(), "{v}");
        paged.extend(keys(&v));
    }
    assert_eq!(paged, keys(&whole), "the pages are not the inbox in order");
    let past = inbox(&a, "anna", &["--offset", "9"]).unwrap();
    assert_eq!((past["entries"].as_array().map(Vec::len), past["total"].as_u64()), (Some(0), Some(5)), "{past}");

    // The table says where the page is and how to get the next.
    let text = a.ok(&["--officer", "anna", "inbox", "--limit", "2"]);
    assert!(text.contains("5 unread") && text.contains("entries 1–2 of 5; the next with --offset 2"), "{text}");
    let text = a.ok(&["--officer", "anna", "inbox", "--offset", "9"]);
    assert!(text.contains("no entries past --offset 9: there are 5"), "{text}");
}
