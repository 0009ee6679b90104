//! End-to-end tests of drafting: the real `liaison` executable, CICA (A) and SCO RATS (B) as
//! two processes on loopback with real stores and real TLS, a draft with provisions in English
//! and Russian taken through concurrent edits and moves, stale marks, approvals, signatures,
//! execution, verification (also of a store tampered with behind the node's back) and export.
//!
//! Every wait for replication polls with a deadline (`common::eventually`); every "this must not
//! happen" watches for a quiet period (`common::never`).

mod common;

use std::path::Path;
use std::process::{Output, Stdio};

use automerge::{ActorId, Automerge, ObjType, ROOT, ReadDoc, transaction::Transactable};
use common::{Node, eventually, never, pair, peer_entry};
use serde_json::Value;
use sha2::Digest;

const EN: [&str; 3] = [
    "Article 1. The Parties shall exchange information on the financing of terrorism.",
    "Article 2. The Parties shall hold joint consultations at least once a year.",
    "Article 3. Information received shall not be transmitted to third parties without the prior consent of the providing Party.",
];
const RU: [&str; 3] = [
    "Статья 1. Стороны обмениваются информацией о финансировании терроризма.",
    "Статья 2. Стороны проводят совместные консультации не реже одного раза в год.",
    "Статья 3. Полученная информация не передаётся третьим сторонам без предварительного согласия предоставившей её Стороны.",
];

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn path_str(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// Writes `text` to a file in `n`'s scratch dir; returns its path.
fn file(n: &Node, name: &str, text: &str) -> String {
    path_str(&n.text_file(name, text))
}

/// `draft show --json`.
fn show(n: &Node, d: &str) -> Value {
    n.json(&["draft", "show", d, "--json"])
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_else(|| panic!("no string {key:?} in {v}"))
}

/// The provision ids, in order.
fn ids(d: &Value) -> Vec<String> {
    d["provisions"].as_array().expect("provisions").iter().map(|p| str_of(p, "id").to_string()).collect()
}

/// The texts of every provision in `lang`, in order.
fn texts(d: &Value, lang: &str) -> Vec<String> {
    d["provisions"]
        .as_array()
        .expect("provisions")
        .iter()
        .map(|p| p["texts"][lang].as_str().unwrap_or_else(|| panic!("no {lang} text in {p}")).to_string())
        .collect()
}

/// The provision with id `id`.
fn provision<'a>(d: &'a Value, id: &str) -> &'a Value {
    d["provisions"]
        .as_array()
        .expect("provisions")
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no provision {id} in {d}"))
}

/// Waits until `draft show --json` is the same on both nodes and returns it.
fn same_draft(what: &str, a: &Node, b: &Node, d: &str) -> Value {
    eventually(what, &[a, b], || {
        let va = a.try_json(&["draft", "show", d, "--json"])?;
        let vb = b.try_json(&["draft", "show", d, "--json"])?;
        if va == vb { Ok(va) } else { Err(format!("A has {va}\nB has {vb}")) }
    })
}

/// Runs a command that must fail; returns its stderr.
fn refused(n: &Node, args: &[&str]) -> String {
    let out = n.run(args);
    assert!(
        !out.status.success(),
        "{}: `liaison {}` succeeded, but it must be refused\nstdout: {}\n{}",
        n.name,
        args.join(" "),
        stdout(&out),
        n.logs()
    );
    stderr(&out)
}

/// Runs a command as the officer `officer`, which must succeed; returns its stdout.
fn ok_as(n: &Node, officer: &str, args: &[&str]) -> String {
    let out = n.cmd(args).env("LIAISON_OFFICER", officer).output().expect("run liaison");
    assert!(
        out.status.success(),
        "{}: `liaison {}` as {officer} failed: {}\n{}",
        n.name,
        args.join(" "),
        stderr(&out),
        n.logs()
    );
    stdout(&out)
}

/// Starts a command on A and one on B at the same moment and waits for both.
fn at_once(a: &Node, a_args: &[&str], b: &Node, b_args: &[&str]) -> (Output, Output) {
    let spawn = |n: &Node, args: &[&str]| {
        n.cmd(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn liaison")
    };
    let (ca, cb) = (spawn(a, a_args), spawn(b, b_args));
    let (oa, ob) = (ca.wait_with_output().expect("wait A"), cb.wait_with_output().expect("wait B"));
    assert!(oa.status.success(), "A: `liaison {}` failed: {}\n{}", a_args.join(" "), stderr(&oa), a.logs());
    assert!(ob.status.success(), "B: `liaison {}` failed: {}\n{}", b_args.join(" "), stderr(&ob), b.logs());
    (oa, ob)
}

/// A working group and a draft made on A from `paragraphs` (English), once B holds it too.
fn create_draft(a: &Node, b: &Node, paragraphs: &[&str]) -> String {
    let d = a.new_draft(paragraphs);
    let v = same_draft("B holds the new draft as A does", a, b, &d);
    assert_eq!(v["parties"], serde_json::json!(["cica", "sco-rats"]), "the draft's Parties");
    assert_eq!(v["languages"], serde_json::json!(["en", "ru"]));
    assert_eq!(texts(&v, "en"), paragraphs, "one provision per paragraph");
    d
}

/// B writes the Russian text of every provision and aligns it; returns the draft once both
/// nodes hold the same.
fn fill_russian(a: &Node, b: &Node, d: &str, ru: &[&str]) -> Value {
    let v = show(b, d);
    let ids = ids(&v);
    assert_eq!(ids.len(), ru.len());
    for (i, (p, text)) in ids.iter().zip(ru).enumerate() {
        let f = file(b, &format!("fill-ru-{i}.txt"), text);
        b.ok(&["draft", "text", d, "--provision", p, "--lang", "ru", "--text-file", &f]);
        b.ok(&["draft", "align", d, "--provision", p]);
    }
    let v = same_draft("both nodes hold the Russian texts", a, b, d);
    assert_eq!(texts(&v, "ru"), ru);
    assert!(v["provisions"].as_array().unwrap().iter().all(|p| p["stale"] == serde_json::json!({})), "{v}");
    v
}

/// Unpins each node on the other and waits until neither lists the other.
fn partition(a: &Node, b: &Node) {
    let (pa, pb) = (a.peer_id(), b.peer_id());
    a.ok(&["peer", "remove", &pb]);
    b.ok(&["peer", "remove", &pa]);
    eventually("A and B no longer list each other", &[a, b], || {
        let (sa, sb) = (a.status(), b.status());
        if peer_entry(&sa, &pb).is_none() && peer_entry(&sb, &pa).is_none() {
            Ok(())
        } else {
            Err(format!("A: {sa}\nB: {sb}"))
        }
    });
}

/// Pins each node on the other again.
fn rejoin(a: &Node, b: &Node) {
    a.pin(b, None);
    b.pin(a, None);
}

/// Waits until `draft verify` passes on `n`; returns `draft verify --json`.
fn verified(n: &Node, others: &[&Node], d: &str) -> Value {
    eventually(&format!("draft verify passes on {}", n.name), others, || {
        let out = n.run(&["draft", "verify", d, "--json"]);
        let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("no JSON ({e}): {}", stderr(&out)))?;
        if out.status.success() && v["ok"] == true { Ok(v) } else { Err(format!("{v} / {}", stderr(&out))) }
    })
}

/// Takes a draft whose provisions are aligned from review to execution on both nodes (as in
/// scripts/demo-drafting.sh); returns the executed draft.
fn execute(a: &Node, b: &Node, d: &str) -> Value {
    a.ok(&["draft", "review", d]);
    let v = same_draft("review on both", a, b, d);
    assert_eq!(v["state"], "under-review");
    a.ok(&["draft", "approve", d]);
    b.ok(&["draft", "approve", d]);
    let v = eventually("agreed on both", &[a, b], || {
        let (va, vb) = (show(a, d), show(b, d));
        if va == vb && va["state"] == "agreed" { Ok(va) } else { Err(format!("A {va}\nB {vb}")) }
    });
    assert!(v["approvals"].as_array().unwrap().iter().all(|x| x["valid"] == true), "{v}");
    a.ok(&["draft", "sign", d]);
    b.ok(&["draft", "sign", d]);
    let v = eventually("executed on both", &[a, b], || {
        let (va, vb) = (show(a, d), show(b, d));
        if va == vb && va["state"] == "executed" { Ok(va) } else { Err(format!("A {va}\nB {vb}")) }
    });
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{v}");
    assert!(sigs.iter().all(|s| s["matches"] == true && s["hash"] == v["content_hash"]), "{v}");
    verified(a, &[a, b], d);
    verified(b, &[a, b], d);
    v
}

/// The fingerprint of a Party signing key as `liaison id --json` prints it (hex): the first 16
/// bytes of its SHA-256, in groups of four hex digits. Computed here, independently of the node.
fn fingerprint_of(key_hex: &str) -> String {
    let key = hex::decode(key_hex).expect("hex key");
    let d = sha2::Sha256::digest(&key);
    d[..16].chunks(2).map(hex::encode).collect::<Vec<_>>().join(":")
}

// ---------------------------------------------------------------------------------------------
// 1. Concurrent edits of the same provision in the same language.
// ---------------------------------------------------------------------------------------------

/// Both officers read the version, then both save an edit of different words of Article 2 in
/// English at the same moment, each from the version it read. `partitioned` cuts the nodes
/// apart for the edits.
fn concurrent_word_edits(partitioned: bool) {
    let (a, b) = pair();
    let d = create_draft(&a, &b, &EN);
    let before = fill_russian(&a, &b, &d, &RU);
    let p2 = ids(&before)[1].clone();
    if partitioned {
        partition(&a, &b);
    }
    let (va, vb) = (show(&a, &d), show(&b, &d));
    let (base_a, base_b) = (str_of(&va, "version").to_string(), str_of(&vb, "version").to_string());
    assert_eq!(base_a, base_b, "both officers read the same version");

    let on_a = EN[1].replace("shall hold joint", "shall convene joint");
    let on_b = EN[1].replace("once a year.", "once a year in Astana or Tashkent.");
    let merged = EN[1]
        .replace("shall hold joint", "shall convene joint")
        .replace("once a year.", "once a year in Astana or Tashkent.");
    assert!(on_a != EN[1] && on_b != EN[1] && merged != on_a && merged != on_b);
    let (fa, fb) = (file(&a, "a2-a.txt", &on_a), file(&b, "a2-b.txt", &on_b));
    at_once(
        &a,
        &["draft", "text", &d, "--provision", &p2, "--lang", "en", "--text-file", &fa, "--base", &base_a],
        &b,
        &["draft", "text", &d, "--provision", &p2, "--lang", "en", "--text-file", &fb, "--base", &base_b],
    );
    if partitioned {
        // Each node holds its own edit only: the edits were made apart.
        assert_eq!(provision(&show(&a, &d), &p2)["texts"]["en"], on_a.as_str());
        assert_eq!(provision(&show(&b, &d), &p2)["texts"]["en"], on_b.as_str());
        rejoin(&a, &b);
    }
    let v = eventually("both nodes hold both edits", &[&a, &b], || {
        let (va, vb) = (show(&a, &d), show(&b, &d));
        let (ta, tb) = (&provision(&va, &p2)["texts"]["en"], &provision(&vb, &p2)["texts"]["en"]);
        if va == vb && ta == merged.as_str() { Ok(va) } else { Err(format!("A: {ta}\nB: {tb}")) }
    });
    // Nothing else moved: the other provisions, every Russian text, the structure.
    assert_eq!(ids(&v), ids(&before));
    assert_eq!(texts(&v, "en"), [EN[0], merged.as_str(), EN[2]]);
    assert_eq!(texts(&v, "ru"), RU);
    assert_ne!(v["version"], before["version"]);
    // The English edit made the Russian of Article 2, and only that, stale.
    for p in v["provisions"].as_array().unwrap() {
        let want: Vec<&str> = if p["id"] == p2.as_str() { vec!["ru"] } else { vec![] };
        let got: Vec<&str> = p["stale"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(got, want, "stale marks of {}", p["label"]);
    }
    // The merged draft goes on replicating normally.
    let later = merged.replace("Article 2. The Parties", "Article 2. Both Parties");
    let f = file(&b, "a2-later.txt", &later);
    b.ok(&["draft", "text", &d, "--provision", &p2, "--lang", "en", "--text-file", &f]);
    eventually("both nodes hold the later edit", &[&a, &b], || {
        let (va, vb) = (show(&a, &d), show(&b, &d));
        let ta = &provision(&va, &p2)["texts"]["en"];
        if va == vb && ta == later.as_str() { Ok(()) } else { Err(format!("A: {ta}")) }
    });
    if partitioned {
        return;
    }

    // And when one edit has certainly arrived before the other is saved: both officers read
    // the version, A's edit of Article 3 reaches B, then B saves its edit of another word of
    // Article 3 made from the version it read. Both survive.
    let v = show(&b, &d);
    let p3 = ids(&v)[2].clone();
    let base = str_of(&v, "version").to_string();
    assert_eq!(show(&a, &d)["version"], base.as_str());
    let on_a = EN[2].replace("Information received", "Information so received");
    let on_b = EN[2].replace("prior consent", "prior written consent");
    let merged = on_a.replace("prior consent", "prior written consent");
    let f = file(&a, "a3-a.txt", &on_a);
    a.ok(&["draft", "text", &d, "--provision", &p3, "--lang", "en", "--text-file", &f, "--base", &base]);
    eventually("B has A's edit of Article 3", &[&a, &b], || {
        let v = show(&b, &d);
        let t = &provision(&v, &p3)["texts"]["en"];
        if t == on_a.as_str() { Ok(()) } else { Err(format!("B: {t}")) }
    });
    assert_ne!(show(&b, &d)["version"], base.as_str(), "B's officer edits from a version that is no longer current");
    let f = file(&b, "a3-b.txt", &on_b);
    b.ok(&["draft", "text", &d, "--provision", &p3, "--lang", "en", "--text-file", &f, "--base", &base]);
    let v = eventually("both nodes hold both edits of Article 3", &[&a, &b], || {
        let (va, vb) = (show(&a, &d), show(&b, &d));
        let t = &provision(&va, &p3)["texts"]["en"];
        if va == vb && t == merged.as_str() { Ok(va) } else { Err(format!("A: {t}")) }
    });
    assert_eq!(texts(&v, "en"), [EN[0], later.as_str(), merged.as_str()]);
}

#[test]
fn concurrent_edits_of_one_article_from_the_same_version_merge_while_connected() {
    concurrent_word_edits(false);
}

#[test]
fn concurrent_edits_of_one_article_merge_across_a_partition() {
    concurrent_word_edits(true);
}

// ---------------------------------------------------------------------------------------------
// 2. Concurrent moves.
// ---------------------------------------------------------------------------------------------

#[test]
fn concurrent_moves_converge_to_one_order_with_every_provision_once() {
    let (a, b) = pair();
    let paragraphs: Vec<String> = (1..=5).map(|i| format!("Article {i}. Text of the provision number {i}.")).collect();
    let refs: Vec<&str> = paragraphs.iter().map(String::as_str).collect();
    let d = create_draft(&a, &b, &refs);
    let ru: Vec<String> = (1..=5).map(|i| format!("Статья {i}. Текст положения номер {i}.")).collect();
    let ru_refs: Vec<&str> = ru.iter().map(String::as_str).collect();
    let v = fill_russian(&a, &b, &d, &ru_refs);
    let p = ids(&v); // p[0] is the provision first written as Article 1, and so on.
    // What each provision says, whatever its place: moves must carry the texts along.
    let en_of = |id: &str| paragraphs[p.iter().position(|x| x == id).unwrap()].clone();
    let ru_of = |id: &str| ru[p.iter().position(|x| x == id).unwrap()].clone();
    let check = |what: &str, v: &Value, want: &[&String]| {
        let got = ids(v);
        assert_eq!(got.iter().collect::<Vec<_>>(), want, "{what}: order");
        let mut sorted = got.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 5, "{what}: a provision is listed twice: {got:?}");
        for pv in v["provisions"].as_array().unwrap() {
            let id = str_of(pv, "id");
            assert_eq!(pv["texts"]["en"], en_of(id).as_str(), "{what}: English text of {id}");
            assert_eq!(pv["texts"]["ru"], ru_of(id).as_str(), "{what}: Russian text of {id}");
            assert_eq!(pv["stale"], serde_json::json!({}), "{what}: a move marked {id} stale");
        }
        let labels: Vec<&str> = v["provisions"].as_array().unwrap().iter().map(|x| str_of(x, "label")).collect();
        assert_eq!(labels, ["Article 1", "Article 2", "Article 3", "Article 4", "Article 5"], "{what}");
    };
    // `draft provision move` of `id` to `to`: "first", "last", or after that provision.
    let move_args = |id: &str, to: &str| -> Vec<String> {
        let mut args: Vec<String> =
            ["draft", "provision", "move", d.as_str(), "--provision", id].map(String::from).into();
        match to {
            "first" => args.push("--first".into()),
            "last" => {}
            after => args.extend(["--after".to_string(), after.to_string()]),
        }
        args
    };
    let moves_at_once = |a_move: Vec<String>, b_move: Vec<String>| {
        let (ma, mb): (Vec<&str>, Vec<&str>) =
            (a_move.iter().map(String::as_str).collect(), b_move.iter().map(String::as_str).collect());
        at_once(&a, &ma, &b, &mb);
    };
    let converge = |what: &str, want: &[&String]| {
        let v = eventually(what, &[&a, &b], || {
            let (va, vb) = (show(&a, &d), show(&b, &d));
            if va == vb && ids(&va).iter().collect::<Vec<_>>() == want {
                Ok(va)
            } else {
                Err(format!("A order {:?}\nB order {:?}", ids(&va), ids(&vb)))
            }
        });
        check(what, &v, want);
        v
    };

    // Round 1, different provisions: A moves the first after the third, B moves the fifth first.
    partition(&a, &b);
    moves_at_once(move_args(&p[0], &p[2]), move_args(&p[4], "first"));
    check("A's own move", &show(&a, &d), &[&p[1], &p[2], &p[0], &p[3], &p[4]]);
    check("B's own move", &show(&b, &d), &[&p[4], &p[0], &p[1], &p[2], &p[3]]);
    rejoin(&a, &b);
    let v1 = converge("both moves on both nodes", &[&p[4], &p[1], &p[2], &p[0], &p[3]]);
    assert_eq!(v1["content_hash"], show(&b, &d)["content_hash"]);

    // Round 2, the same provision to two places: A moves the second first, B after the third.
    // It ends up at one place, the same on both nodes.
    partition(&a, &b);
    moves_at_once(move_args(&p[1], "first"), move_args(&p[1], &p[2]));
    check("A's own move", &show(&a, &d), &[&p[1], &p[4], &p[2], &p[0], &p[3]]);
    check("B's own move", &show(&b, &d), &[&p[4], &p[2], &p[1], &p[0], &p[3]]);
    rejoin(&a, &b);
    // Readers take a provision's first place: A's move, at the head, wins on both nodes.
    converge("the same provision at one place on both nodes", &[&p[1], &p[4], &p[2], &p[0], &p[3]]);

    // A later move of that provision takes it from every place the concurrent moves left it
    // (B's place, after the third, is still in the order list): it does not reappear there.
    let m = move_args(&p[1], "last");
    b.ok(&m.iter().map(String::as_str).collect::<Vec<_>>());
    converge("the later move on both nodes", &[&p[4], &p[2], &p[0], &p[3], &p[1]]);
    let m = move_args(&p[3], "first");
    a.ok(&m.iter().map(String::as_str).collect::<Vec<_>>());
    converge("a further move on both nodes", &[&p[3], &p[4], &p[2], &p[0], &p[1]]);
}

// ---------------------------------------------------------------------------------------------
// 3. An edit voids the approvals.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_edit_after_both_approvals_voids_them_and_signing_is_refused() {
    let (a, b) = pair();
    let d = create_draft(&a, &b, &EN);
    fill_russian(&a, &b, &d, &RU);
    a.ok(&["draft", "review", &d]);
    same_draft("review on both", &a, &b, &d);
    a.ok(&["draft", "approve", &d]);
    b.ok(&["draft", "approve", &d]);
    let agreed = eventually("agreed on both", &[&a, &b], || {
        let (va, vb) = (show(&a, &d), show(&b, &d));
        if va == vb && va["state"] == "agreed" { Ok(va) } else { Err(format!("A {}\nB {}", va["state"], vb["state"])) }
    });
    let approvals = agreed["approvals"].as_array().unwrap();
    let parties: Vec<&str> = approvals.iter().map(|x| str_of(x, "party")).collect();
    assert_eq!(parties, ["cica", "sco-rats"]);
    assert!(approvals.iter().all(|x| x["valid"] == true && x["hash"] == agreed["content_hash"]), "{agreed}");

    // One word of Article 1 in English, on B.
    let p1 = ids(&agreed)[0].clone();
    let edited = EN[0].replace("exchange information", "exchange operational information");
    let f = file(&b, "a1.txt", &edited);
    b.ok(&["draft", "text", &d, "--provision", &p1, "--lang", "en", "--text-file", &f]);
    let v = eventually("the edit on both nodes", &[&a, &b], || {
        let (va, vb) = (show(&a, &d), show(&b, &d));
        if va == vb && provision(&va, &p1)["texts"]["en"] == edited.as_str() {
            Ok(va)
        } else {
            Err(format!("A {}\nB {}", va["state"], vb["state"]))
        }
    });
    assert_ne!(v["content_hash"], agreed["content_hash"]);
    for n in [&a, &b] {
        let v = show(n, &d);
        assert_eq!(v["state"], "under-review", "{}: {v}", n.name);
        let approvals = v["approvals"].as_array().unwrap();
        assert_eq!(approvals.len(), 2, "{}: the approvals are kept, void: {v}", n.name);
        assert!(approvals.iter().all(|x| x["valid"] == false), "{}: an approval still holds: {v}", n.name);
        let st = n.json(&["draft", "status", &d, "--json"]);
        assert_eq!(st["state"], "under-review");
        assert!(st["approvals"].as_array().unwrap().iter().all(|x| x["valid"] == false), "{st}");
    }

    // Neither Party can sign, and each is told what is missing.
    let before = show(&a, &d);
    for n in [&a, &b] {
        let err = refused(n, &["draft", "sign", &d]);
        for want in ["not agreed", "no valid approval from cica", "no valid approval from sco-rats", "stale"] {
            assert!(err.contains(want), "{}: the refusal does not say {want:?}: {err}", n.name);
        }
    }
    never("a refused signature shows up", &[&a, &b], || {
        for n in [&a, &b] {
            let v = show(n, &d);
            if v != before || v["signatures"] != serde_json::json!([]) {
                return Err(format!("{}: {v}", n.name));
            }
        }
        Ok(())
    });

    // Once the Russian says the same again and both approve anew, it is agreed again.
    let f = file(&b, "a1-ru.txt", &RU[0].replace("обмениваются информацией", "обмениваются оперативной информацией"));
    b.ok(&["draft", "text", &d, "--provision", &p1, "--lang", "ru", "--text-file", &f]);
    b.ok(&["draft", "align", &d, "--provision", &p1]);
    same_draft("the alignment on both", &a, &b, &d);
    a.ok(&["draft", "approve", &d]);
    b.ok(&["draft", "approve", &d]);
    let v = eventually("agreed again on both", &[&a, &b], || {
        let (va, vb) = (show(&a, &d), show(&b, &d));
        if va == vb && va["state"] == "agreed" { Ok(va) } else { Err(format!("A {}\nB {}", va["state"], vb["state"])) }
    });
    assert!(v["approvals"].as_array().unwrap().iter().all(|x| x["valid"] == true && x["hash"] == v["content_hash"]));
}

// ---------------------------------------------------------------------------------------------
// 4. Execution, verification, and a stored text tampered with.
// ---------------------------------------------------------------------------------------------

/// Changes the Russian text of `provision` in the stored draft `draft` of a stopped node, as
/// an automerge change by a fresh actor, and writes it back as the node's store holds it.
/// Returns the new Russian text.
fn tamper_russian(data_dir: &Path, draft: &str, provision: &str, from: &str, to: &str) -> String {
    use liaison::store::{DocMeta, Store};
    let store = Store::open(data_dir).expect("open the stopped node's store");
    let id: liaison::ids::DocId = draft.parse().expect("draft id");
    let (_, meta) = store.all_docs().unwrap().into_iter().find(|(i, _)| *i == id).expect("the draft in the store");
    assert_eq!(meta.kind, liaison::workspace::DocKind::Draft);
    let bytes = store.doc_bytes(id).unwrap().expect("the draft's bytes");
    let mut doc = Automerge::load(&bytes).expect("load the draft");
    doc.set_actor(ActorId::random());
    let obj = |doc: &Automerge, parent: &automerge::ObjId, key: &str, want: ObjType| match doc.get(parent, key).unwrap()
    {
        Some((automerge::Value::Object(t), o)) if t == want => o,
        other => panic!("{key}: expected a {want:?}, found {other:?}"),
    };
    let provisions = obj(&doc, &ROOT, "provisions", ObjType::Map);
    let p = obj(&doc, &provisions, provision, ObjType::Map);
    let texts = obj(&doc, &p, "texts", ObjType::Map);
    let ru = obj(&doc, &texts, "ru", ObjType::Text);
    let old = doc.text(&ru).unwrap();
    assert!(old.contains(from), "{old:?} does not contain {from:?}");
    let new = old.replace(from, to);
    let mut tx = doc.transaction();
    tx.update_text(&ru, &new).unwrap();
    tx.commit();
    assert_eq!(doc.text(&ru).unwrap(), new);
    let saved = doc.save();
    let meta = DocMeta {
        kind: meta.kind,
        heads: doc.get_heads().iter().map(|h| h.0).collect(),
        snapshot_bytes: saved.len() as u64,
        chunk_bytes: 0,
        next_chunk: 0,
        owner: meta.owner,
    };
    store
        .write(|w| {
            w.put_snapshot(id, &saved)?;
            w.put_meta(id, &meta)
        })
        .expect("write the tampered draft");
    new
}

#[test]
fn an_executed_draft_verifies_on_both_and_a_tampered_stored_text_does_not() {
    let (mut a, mut b) = pair();
    let d = create_draft(&a, &b, &EN);
    fill_russian(&a, &b, &d, &RU);
    let executed = execute(&a, &b, &d);
    let signed_hash = str_of(&executed, "content_hash").to_string();
    for n in [&a, &b] {
        let out = n.ok(&["draft", "verify", &d]);
        assert!(out.contains("verified") && out.contains("cica") && out.contains("sco-rats"), "{}: {out}", n.name);
        let v = n.json(&["draft", "verify", &d, "--json"]);
        assert_eq!(v["ok"], true);
        assert_eq!(v["hash"], signed_hash.as_str());
        assert_eq!(v["problems"], serde_json::json!([]));
        assert!(v["signatures"].as_array().unwrap().iter().all(|s| s["valid"] == true), "{v}");
    }

    // Both nodes stop cleanly (to restart where the other pinned them), so that nothing reaches
    // CICA while SCO RATS is checked; SCO RATS's stored Russian text of Article 2 is changed
    // behind its back, and it starts again alone, still pinning CICA and its key.
    a.keep_listen_port();
    b.keep_listen_port();
    a.stop();
    b.stop();
    let p2 = ids(&executed)[1].clone();
    let tampered = tamper_russian(&b.dir, &d, &p2, "одного раза в год", "одного раза в десять лет");
    b.start();

    // SCO RATS really holds the tampered text now (so what follows is no vacuous check), and
    // does not present it as executed...
    let v = show(&b, &d);
    assert_eq!(provision(&v, &p2)["texts"]["ru"], tampered.as_str());
    let new_hash = str_of(&v, "content_hash").to_string();
    assert_ne!(new_hash, signed_hash);
    assert!(v["signatures"].as_array().unwrap().iter().all(|s| s["matches"] == false), "{v}");
    assert_ne!(v["state"], "executed", "a text nobody signed shows as executed: {v}");
    // ...and verify fails, saying that the text differs from what was signed and from its
    // original; nothing else is wrong (both keys are still pinned).
    let out = b.run(&["draft", "verify", &d]);
    assert!(!out.status.success(), "verify passed over a tampered text: {}", stdout(&out));
    let text = stdout(&out);
    for want in ["VERIFICATION FAILED", "differs from what was signed", "differs from this node's executed original"] {
        assert!(text.contains(want), "verify does not say {want:?}:\n{text}\n{}", stderr(&out));
    }
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));
    let out = b.run(&["draft", "verify", &d, "--json"]);
    assert!(!out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("verify --json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["hash"], new_hash.as_str());
    assert!(v["signatures"].as_array().unwrap().iter().all(|s| s["valid"] == false), "{v}");
    let problems: Vec<&str> = v["problems"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    for party in ["cica", "sco-rats"] {
        let want = format!(
            "{party}'s signature does not verify over the text as stored: the text differs from what was signed"
        );
        assert!(problems.contains(&want.as_str()), "no {want:?} in {problems:#?}");
    }
    let want =
        format!("the text as stored (hash {new_hash}) differs from this node's executed original (hash {signed_hash})");
    assert!(problems.contains(&want.as_str()), "no {want:?} in {problems:#?}");

    // CICA starts again. The tampered change is no change SCO RATS's node made (no signature of
    // its node covers it), and the draft is executed and frozen at CICA: CICA refuses it, keeps
    // its text, records the refusal, and its verify still passes.
    a.start();
    eventually("CICA refuses the tampered change", &[&a, &b], || {
        let n = a.log_count("refused a peer's batch");
        if n > 0 { Ok(()) } else { Err("no refusal in CICA's log yet".into()) }
    });
    let v = show(&a, &d);
    assert_eq!(str_of(&v, "content_hash"), signed_hash, "CICA took the tampered text: {v}");
    assert_eq!(v["state"], "executed");
    let v = a.json(&["draft", "verify", &d, "--json"]);
    assert_eq!(v["ok"], true, "{v}");
    let audit = a.json(&["audit", "show", "--json"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.to_string().contains("receive-refused") && e.to_string().contains(&b.peer_id())),
        "no refusal of SCO RATS's batch in CICA's audit log: {audit}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Frozen after execution.
// ---------------------------------------------------------------------------------------------

#[test]
fn every_edit_of_an_executed_draft_is_refused_and_changes_nothing() {
    let (a, b) = pair();
    let d = create_draft(&a, &b, &EN);
    let early = fill_russian(&a, &b, &d, &RU);
    let executed = execute(&a, &b, &d);
    let p = ids(&executed);
    let old_version = str_of(&early, "version").to_string();
    let current = str_of(&executed, "version").to_string();
    let whole_en = EN.map(|t| t.replace("shall", "must")).join("\n\n");
    for n in [&a, &b] {
        let text = file(n, "frozen.txt", "Article 1. Something else entirely.");
        let whole = file(n, "frozen-whole.txt", &whole_en);
        let attempts: Vec<Vec<&str>> = vec![
            vec!["draft", "text", &d, "--provision", &p[0], "--lang", "en", "--text-file", &text],
            vec!["draft", "text", &d, "--provision", &p[0], "--lang", "ru", "--text-file", &text, "--base", &current],
            vec![
                "draft",
                "text",
                &d,
                "--provision",
                &p[0],
                "--lang",
                "en",
                "--text-file",
                &text,
                "--base",
                &old_version,
            ],
            vec!["draft", "provision", "add", &d, "--lang", "en", "--text-file", &text],
            vec!["draft", "provision", "add", &d, "--first"],
            vec!["draft", "provision", "move", &d, "--provision", &p[2], "--first"],
            vec!["draft", "provision", "remove", &d, "--provision", &p[1]],
            vec!["draft", "edit", &d, "--text-file", &whole],
            vec!["draft", "edit", &d, "--text-file", &whole, "--base", &old_version],
            vec!["draft", "suggest", &d, "--provision", &p[0], "--lang", "en", "--text-file", &text],
            vec!["draft", "align", &d, "--provision", &p[0]],
        ];
        for args in &attempts {
            let err = refused(n, args);
            assert!(
                err.contains("executed") && err.contains("frozen"),
                "{}: `liaison {}` is not refused as executed and frozen: {err}",
                n.name,
                args.join(" ")
            );
            assert_eq!(show(n, &d), executed, "{}: `liaison {}` changed the draft", n.name, args.join(" "));
        }
    }
    never("an executed draft changes on either node", &[&a, &b], || {
        for n in [&a, &b] {
            let v = show(n, &d);
            if v != executed {
                return Err(format!("{}: {v}", n.name));
            }
        }
        Ok(())
    });
    verified(&a, &[&a, &b], &d);
    verified(&b, &[&a, &b], &d);
}

// ---------------------------------------------------------------------------------------------
// 6. Stale marks.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_english_edit_marks_the_russian_stale_on_the_other_node_until_aligned() {
    let (a, b) = pair();
    let d = create_draft(&a, &b, &EN);
    let v = fill_russian(&a, &b, &d, &RU);
    let p2 = ids(&v)[1].clone();
    for n in [&a, &b] {
        let st = n.json(&["draft", "status", &d, "--json"]);
        assert_eq!(st["stale"], serde_json::json!([]), "{}: {st}", n.name);
    }

    let en2 = EN[1].replace("once a year", "twice a year");
    let f = file(&a, "a2.txt", &en2);
    ok_as(&a, "A. Karimov", &["draft", "text", &d, "--provision", &p2, "--lang", "en", "--text-file", &f]);
    let st = eventually("B lists Article 2 as stale", &[&a, &b], || {
        let st = b.try_json(&["draft", "status", &d, "--json"])?;
        if st["stale"].as_array().is_some_and(|s| !s.is_empty()) { Ok(st) } else { Err(format!("{st}")) }
    });
    let stale = st["stale"].as_array().unwrap();
    assert_eq!(stale.len(), 1, "only Article 2 is stale: {st}");
    assert_eq!(stale[0]["id"], p2.as_str());
    assert_eq!(stale[0]["label"], "Article 2");
    assert_eq!(stale[0]["texts"]["en"], en2.as_str());
    assert_eq!(stale[0]["texts"]["ru"], RU[1]);
    let marks = stale[0]["stale"].as_object().unwrap();
    assert_eq!(marks.keys().collect::<Vec<_>>(), ["ru"], "the Russian is stale, not the English: {st}");
    let m = &marks["ru"];
    assert_eq!(m["changed_lang"], "en");
    assert_eq!(m["by"]["officer"], "A. Karimov");
    assert_eq!(m["by"]["party"], "cica");
    assert!(m["since_rev"].as_i64().is_some_and(|r| r > 0), "{m}");
    assert!(m["at"].as_str().is_some_and(|t| !t.is_empty()), "{m}");
    // The same on A.
    assert_eq!(a.json(&["draft", "status", &d, "--json"])["stale"], st["stale"]);
    // The human-readable status on B says it too.
    let human = b.ok(&["draft", "status", &d]);
    assert!(human.contains("stale: Article 2") && human.contains("A. Karimov (cica)"), "{human}");

    // Catching up the Russian is alignment work: it marks the English stale in turn, and the
    // Russian stays marked until an officer aligns it.
    let ru2 = RU[1].replace("одного раза", "двух раз");
    let f = file(&b, "a2-ru.txt", &ru2);
    ok_as(&b, "I. Petrov", &["draft", "text", &d, "--provision", &p2, "--lang", "ru", "--text-file", &f]);
    let v = same_draft("the Russian catch-up on both", &a, &b, &d);
    let marks = provision(&v, &p2)["stale"].as_object().unwrap();
    assert_eq!(marks.keys().collect::<Vec<_>>(), ["ru"], "{v}");
    assert_eq!(marks["ru"]["by"]["officer"], "A. Karimov");

    ok_as(&b, "I. Petrov", &["draft", "align", &d, "--provision", &p2]);
    let v = eventually("the alignment on both nodes", &[&a, &b], || {
        let (sa, sb) = (a.json(&["draft", "status", &d, "--json"]), b.json(&["draft", "status", &d, "--json"]));
        if sa["stale"] == serde_json::json!([]) && sb["stale"] == serde_json::json!([]) && show(&a, &d) == show(&b, &d)
        {
            Ok(show(&a, &d))
        } else {
            Err(format!("A {}\nB {}", sa["stale"], sb["stale"]))
        }
    });
    assert_eq!(texts(&v, "en"), [EN[0], en2.as_str(), EN[2]], "alignment changes no text");
    assert_eq!(texts(&v, "ru"), [RU[0], ru2.as_str(), RU[2]], "alignment changes no text");
    assert_eq!(v["updated_by"]["officer"], "I. Petrov");
}

// ---------------------------------------------------------------------------------------------
// 7. Export.
// ---------------------------------------------------------------------------------------------

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

#[test]
fn html_export_aligns_both_languages_escapes_markup_and_carries_the_signature_block() {
    let (a, b) = pair();
    const SCRIPT: &str = "<script>alert('x')</script>";
    let en3 = format!("Article 3. Nothing in {SCRIPT} & \"quotes\" shall apply.");
    let en = [EN[0], EN[1], en3.as_str()];
    let d = create_draft(&a, &b, &en);
    let ru3 = format!("Статья 3. Ничто в {SCRIPT} не применяется.");
    let ru = [RU[0], RU[1], ru3.as_str()];
    fill_russian(&a, &b, &d, &ru);

    let check_rows = |html: &str, who: &str| {
        for (i, (e, r)) in en.iter().zip(&ru).enumerate() {
            // The label is generated in both languages; the typed "Article 1." is not repeated.
            let body = |t: &str| {
                html_escape(liaison::workspace::draft::body_text(liaison::workspace::draft::ProvisionKind::Article, t))
            };
            let row = format!(
                "<tr><td class=\"label\">Article {0} / Статья {0}</td><td lang=\"en\">{1}</td><td lang=\"ru\">{2}</td></tr>",
                i + 1,
                body(e),
                body(r)
            );
            assert!(html.contains(&row), "{who}: no aligned row {row}\nin:\n{html}");
        }
        assert!(!html.to_lowercase().contains("<script"), "{who}: the text injected markup:\n{html}");
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), "{who}: {html}");
    };
    let html = b.ok(&["draft", "export", &d, "--format", "html"]);
    check_rows(&html, "B before execution");
    assert!(!html.contains("<div class=\"sig\">"), "a signature block before any signature:\n{html}");
    assert!(!html.contains("Key fingerprint"), "{html}");

    let executed = execute(&a, &b, &d);
    let verify = a.json(&["draft", "verify", &d, "--json"]);
    let mut fps: Vec<(String, String)> = verify["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (str_of(s, "party").to_string(), str_of(s, "fingerprint").to_string()))
        .collect();
    fps.sort();
    // Each is the fingerprint of that Party's signing key as its own node prints it.
    let own_key = |n: &Node| fingerprint_of(str_of(&n.json(&["id", "--json"]), "signing_key"));
    assert_eq!(fps, [("cica".to_string(), own_key(&a)), ("sco-rats".to_string(), own_key(&b))]);
    assert_eq!(b.json(&["draft", "verify", &d, "--json"])["signatures"], verify["signatures"]);
    let out = path_str(&a.scratch().join("export.html"));
    a.ok(&["draft", "export", &d, "--format", "html", "--output", &out]);
    let from_a = std::fs::read_to_string(&out).unwrap();
    let from_b = b.ok(&["draft", "export", &d, "--format", "html"]);
    for (who, html) in [("A", &from_a), ("B", &from_b)] {
        check_rows(html, who);
        assert!(html.contains("State / Состояние: <b>executed / подписан</b>"), "{who}: {html}");
        assert!(html.contains(&format!("<code>{}</code>", str_of(&executed, "content_hash"))), "{who}");
        let block = &html[html.find("<div class=\"sig\">").unwrap_or_else(|| panic!("{who}: no signature block"))..];
        // Each Party by its full name (no Russian name is configured here, so the English one).
        for (party, fp) in &fps {
            let name = if party == "cica" { "CICA Secretariat" } else { "SCO RATS Executive Committee" };
            let heading = format!("<b>For {name} / За {name}</b>");
            assert!(block.contains(&heading), "{who}: no signature of {party}:\n{block}");
            assert!(
                block.contains(&format!("Key fingerprint / Отпечаток ключа {fp}")),
                "{who}: no fingerprint {fp}:\n{block}"
            );
        }
        assert!(!block.contains("For cica") && !block.contains("For sco-rats"), "{who}: a Party by its id:\n{block}");
        assert!(block.contains("officer-a") && block.contains("officer-b"), "{who}: {block}");
    }
    let md = a.ok(&["draft", "export", &d, "--format", "md"]);
    for (_, fp) in &fps {
        assert!(md.contains(&format!("`{fp}`")), "markdown lacks fingerprint {fp}:\n{md}");
    }
    assert!(md.contains("| Article 2 / Статья 2 | The Parties shall hold"), "{md}");
}

// ---------------------------------------------------------------------------------------------
// Concurrency between the workflow's steps on two nodes.
// ---------------------------------------------------------------------------------------------

/// An alignment concurrent with an edit of the other language keeps the stale mark: `align`
/// deletes only the marks it saw, and every edit writes its marks again, so the edit's mark
/// survives the merge (both were lost once).
#[test]
fn an_alignment_concurrent_with_an_edit_of_the_other_language_keeps_it_stale() {
    let (a, b) = pair();
    let d = create_draft(&a, &b, &EN);
    let v = fill_russian(&a, &b, &d, &RU);
    let p = ids(&v);
    // Article 2's English changes, its Russian is stale on both nodes.
    let f = file(&a, "a2-1.txt", &EN[1].replace("once a year", "twice a year"));
    a.ok(&["draft", "text", &d, "--provision", &p[1], "--lang", "en", "--text-file", &f]);
    same_draft("the edit on both", &a, &b, &d);
    partition(&a, &b);
    // B brings the Russian in line with the English it holds and aligns, while A changes the
    // English again.
    let f = file(&b, "a2-ru.txt", &RU[1].replace("одного раза", "двух раз"));
    b.ok(&["draft", "text", &d, "--provision", &p[1], "--lang", "ru", "--text-file", &f]);
    b.ok(&["draft", "align", &d, "--provision", &p[1]]);
    let f = file(&a, "a2-2.txt", &EN[1].replace("once a year", "twice a year, and whenever either Party asks"));
    a.ok(&["draft", "text", &d, "--provision", &p[1], "--lang", "en", "--text-file", &f]);
    // Article 1: A edits its English while B aligns it.
    let f = file(&a, "a1.txt", &EN[0].replace("exchange", "promptly exchange"));
    a.ok(&["draft", "text", &d, "--provision", &p[0], "--lang", "en", "--text-file", &f]);
    b.ok(&["draft", "align", &d, "--provision", &p[0]]);
    rejoin(&a, &b);
    let v = same_draft("the merge on both", &a, &b, &d);
    let lost: Vec<String> = p
        .iter()
        .take(2)
        .filter(|id| provision(&v, id)["stale"].get("ru").is_none())
        .map(|id| format!("{:#}", provision(&v, id)))
        .collect();
    assert!(
        lost.is_empty(),
        "the English changed concurrently with the alignment, yet the Russian is not stale:\n{}",
        lost.join("\n")
    );
}

/// A Party that has signed the text as it stands cannot edit it, so with a partition the other
/// node, which holds the draft executed with its original, does not see it fall back to under
/// review when the partition heals (it once did).
#[test]
fn an_executed_draft_stays_executed_when_the_other_party_edits_after_signing() {
    let (mut a, mut b) = pair();
    let d = create_draft(&a, &b, &EN);
    let v = fill_russian(&a, &b, &d, &RU);
    let p = ids(&v);
    a.ok(&["draft", "review", &d]);
    same_draft("review on both", &a, &b, &d);
    a.ok(&["draft", "approve", &d]);
    b.ok(&["draft", "approve", &d]);
    eventually("agreed on both", &[&a, &b], || {
        let (va, vb) = (show(&a, &d), show(&b, &d));
        if va == vb && va["state"] == "agreed" { Ok(()) } else { Err(format!("A {}\nB {}", va["state"], vb["state"])) }
    });
    b.ok(&["draft", "sign", &d]);
    same_draft("B's signature on A", &a, &b, &d);
    // Apart (each stopped in turn, so that both keep the other's Party key pinned): SCO RATS,
    // which signed, tries to edit its text; CICA signs and so executes the draft.
    a.keep_listen_port();
    b.keep_listen_port();
    a.stop();
    // SCO RATS signed: its text must be frozen for it too.
    let f = file(&b, "a1.txt", &EN[0].replace("exchange", "promptly exchange"));
    let out = b.run(&["draft", "text", &d, "--provision", &p[0], "--lang", "en", "--text-file", &f]);
    let b_edit = format!("status {}, stdout {}, stderr {}", out.status, stdout(&out), stderr(&out));
    b.stop();
    a.start();
    a.ok(&["draft", "sign", &d]);
    assert_eq!(show(&a, &d)["state"], "executed");
    b.start();
    let v = same_draft("the merge on both", &a, &b, &d);
    assert_eq!(
        v["state"], "executed",
        "the draft CICA held executed is no longer executed; SCO RATS's edit after signing gave: {b_edit}"
    );
    verified(&a, &[&a, &b], &d);
    assert!(!out.status.success(), "SCO RATS edited the text it had signed: {b_edit}");
}
