//! Upgrade of two nodes written before authenticated changes, through the real binary.
//!
//! `tests/fixtures/v1/two-nodes.tar.gz` holds two stopped data dirs (CICA, SCO RATS) written by
//! the old version: store schema 1, sync protocol 1, one shared registry and mandates, each
//! Party's approvals, signatures, comments and messages inside the joint documents (see the
//! fixture's README.md and manifest.json). This binary must, at the first start of each node,
//! copy the old store aside, convert it, seal what was written before authentication, copy the
//! node's own Party's records into its Party's own documents, audit that once, and then sync
//! with the other upgraded node under the new rules.

mod common;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Node, eventually, in_sync_with};
use serde_json::Value;

/// The fixture directory.
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/v1");
/// The officer named in every change made after the upgrade (at SCO RATS).
const NEW_OFFICER: &str = "R. Nazarov";
/// What `officer end` of a CICA officer at SCO RATS must say: the rule that refuses it.
const NOT_ITS_PARTY: &str = "registry of cica can be written by cica only, not by sco-rats";

/// The fixture's manifest: ids, texts, keys.
fn manifest() -> Value {
    let text = fs::read_to_string(format!("{FIXTURE}/manifest.json")).expect("read manifest.json");
    serde_json::from_str(&text).expect("manifest.json is JSON")
}

/// The string at a JSON pointer of `v`.
fn st<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or_else(|| panic!("no string at {ptr} in {v}"))
}

/// The array at a JSON pointer of `v` (`Err` for polling).
fn arr<'a>(v: &'a Value, ptr: &str) -> Result<&'a Vec<Value>, String> {
    v.pointer(ptr).and_then(Value::as_array).ok_or_else(|| format!("no array at {ptr:?} in {v}"))
}

/// Unpacks one data dir (`cica` or `sco-rats`) of the archive into a fresh temporary dir and
/// makes a node of it.
fn unpack(name: &str, data_dir: &str) -> Node {
    let tmp = tempfile::Builder::new().prefix(&format!("liaison-upgrade-{data_dir}-")).tempdir().expect("tempdir");
    let out = Command::new("tar")
        .arg("-xzf")
        .arg(format!("{FIXTURE}/two-nodes.tar.gz"))
        .arg("-C")
        .arg(tmp.path())
        .arg(data_dir)
        .output()
        .expect("run tar");
    assert!(out.status.success(), "tar -xzf {data_dir}: {}", String::from_utf8_lossy(&out.stderr));
    let dir = tmp.path().join(data_dir);
    assert!(dir.join("store/liaison.redb").is_file(), "the archive has no {data_dir}/store/liaison.redb");
    assert!(!dir.join("run.json").exists(), "the fixture's {data_dir} has a run.json");
    Node::adopt(name, tmp, dir)
}

/// Two free loopback ports (both held while the second is found, so that they differ).
fn two_free_ports() -> (u16, u16) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind");
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

/// Rewrites `node`'s node.toml so that it listens on `own` and dials its one pinned peer at
/// `peer`; checks that the peer's Party keys stay pinned as the manifest has them.
fn repin(node: &Node, own: u16, peer: u16, peer_keys: &Value) {
    let file = node.dir.join("node.toml");
    let text = fs::read_to_string(&file).expect("read node.toml");
    let listen = r#"listen = ["/ip4/127.0.0.1/tcp/0"]"#;
    let (mut listens, mut addrs) = (0, 0);
    let mut out = String::new();
    for line in text.lines() {
        if line == listen {
            listens += 1;
            out.push_str(&format!(r#"listen = ["/ip4/127.0.0.1/tcp/{own}"]"#));
        } else if line.starts_with(r#"addrs = ["/ip4/127.0.0.1/tcp/"#) {
            addrs += 1;
            out.push_str(&format!(r#"addrs = ["/ip4/127.0.0.1/tcp/{peer}"]"#));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    assert_eq!((listens, addrs), (1, 1), "{}: node.toml is not the fixture's:\n{text}", node.name);
    for key in ["peer_id", "signing_key", "sealing_key"] {
        let want = format!("{key} = \"{}\"", st(peer_keys, &format!("/{key}")));
        assert!(out.contains(&want), "{}: node.toml does not pin {want}:\n{out}", node.name);
    }
    fs::write(&file, out).expect("write node.toml");
}

/// The v1 backups in the node's store dir.
fn backups(n: &Node) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(n.dir.join("store"))
        .expect("read store dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.file_name().and_then(|f| f.to_str()).is_some_and(|f| f.starts_with("liaison.redb.v1-backup-")))
        .collect();
    v.sort();
    v
}

/// Seconds since the epoch.
fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64
}

/// `audit verify` passes and says so.
fn audit_verifies(n: &Node) {
    let v = n.json(&["audit", "verify", "--json"]);
    assert_eq!(v["ok"], true, "{}: audit verify: {v}", n.name);
    assert!(v["first_bad"].is_null() && v["error"].is_null(), "{}: audit verify: {v}", n.name);
    n.ok(&["audit", "verify"]);
}

/// The fields of every `upgraded` event of the node's audit log.
fn upgraded_events(n: &Node) -> Vec<Value> {
    let v = n.json(&["audit", "show", "--json"]);
    let entries = v.as_array().unwrap_or_else(|| panic!("{}: audit show is not an array: {v}", n.name));
    entries.iter().filter_map(|e| e.pointer("/entry/event/upgraded").cloned()).collect()
}

/// How many of its own Party's records the node must have copied into its Party's documents:
/// its officers, mandates, approvals, signatures, comments and messages, as the manifest has
/// them.
fn own_records(m: &Value, party: &str) -> u64 {
    let officer = st(m, &format!("/officers/{party}"));
    let mut n = 0;
    n += m["registry"].as_object().unwrap().values().filter(|o| o["party"] == party).count();
    n += m["mandates"].as_array().unwrap().iter().filter(|x| x["party"] == party).count();
    for d in ["d1", "d2"] {
        n += m[d]["approvals"].as_array().unwrap().iter().filter(|x| x["party"] == party).count();
        n += m[d]["signatures"].as_array().map_or(0, |s| s.iter().filter(|x| x["party"] == party).count());
    }
    n += usize::from(st(m, "/d1/comment/officer") == officer);
    n += m["thread"]["messages"].as_array().unwrap().iter().filter(|x| x["party"] == party).count();
    n as u64
}

/// The meeting's agenda texts.
fn agenda(n: &Node, meeting: &str) -> Result<Vec<String>, String> {
    let v = n.try_json(&["meeting", "show", meeting, "--json"])?;
    Ok(arr(&v, "/agenda")?.iter().map(|a| a["text"].as_str().unwrap_or_default().to_string()).collect())
}

/// Both nodes connected, every shared document in sync, the same documents on both.
fn converged(a: &Node, b: &Node, peer_a: &str, peer_b: &str) -> Result<(), String> {
    let (sa, sb) = (a.try_json(&["status", "--json"])?, b.try_json(&["status", "--json"])?);
    in_sync_with(&sa, peer_b)?;
    in_sync_with(&sb, peer_a)?;
    if sa["documents_total"] != sb["documents_total"] || sa["documents"] != sb["documents"] {
        return Err(format!("not the same documents: {} vs {}", sa["documents"], sb["documents"]));
    }
    Ok(())
}

/// Both Parties' officers, under their original ids, copied (migrated) from the shared registry.
fn officers_migrated(n: &Node, m: &Value) -> Result<(), String> {
    let v = n.try_json(&["officer", "list", "--json"])?;
    let list = v.as_array().ok_or("officer list is not an array")?;
    for (party, want) in m["registry"].as_object().unwrap() {
        let id = st(want, "/id");
        let o = list
            .iter()
            .find(|o| o["id"] == id)
            .ok_or_else(|| format!("{}: no officer {id} ({party}) in {v}", n.name))?;
        let ok = o["name"] == want["name"]
            && o["party"] == want["party"]
            && o["contact"] == want["contact"]
            && o["assigned_by"]["officer"] == want["assigned_by"]
            && o["assigned_by"]["party"] == want["party"]
            && o["migrated"] == true
            && o["ended_at"].is_null();
        if !ok {
            return Err(format!("{}: officer {id} is {o}, the manifest has {want}", n.name));
        }
    }
    Ok(())
}

/// CICA's mandate, copied (migrated) into CICA's mandates.
fn mandate_migrated(n: &Node, m: &Value) -> Result<(), String> {
    let v = n.try_json(&["mandate", "list", "--json"])?;
    let want = &m["mandates"][0];
    let got = v
        .as_array()
        .ok_or("mandate list is not an array")?
        .iter()
        .find(|x| x["reference"] == want["reference"])
        .ok_or_else(|| format!("{}: no mandate {} in {v}", n.name, want["reference"]))?;
    let ok = got["party"] == want["party"]
        && got["date"] == want["date"]
        && got["scope"] == want["scope"]
        && got["recorded_by"]["officer"] == want["recorded_by"]
        && got["migrated"] == true
        && got["withdrawn_at"].is_null();
    if ok { Ok(()) } else { Err(format!("{}: mandate is {got}, the manifest has {want}", n.name)) }
}

/// D1 under review with CICA's comment on a1 and CICA's (valid) approval; D2 executed, approved
/// and signed by both.
fn drafts_carried_over(n: &Node, m: &Value) -> Result<(), String> {
    let d1 = n.try_json(&["draft", "show", st(m, "/d1/id"), "--json"])?;
    if d1["state"] != m["d1"]["state"] {
        return Err(format!("{}: D1 is {}, not {}", n.name, d1["state"], m["d1"]["state"]));
    }
    let a1 = &arr(&d1, "/provisions")?[0];
    if a1["texts"]["ru"] != m["d1"]["provisions"]["a1"]["ru"] {
        return Err(format!("{}: D1's a1 is {a1}", n.name));
    }
    let c = &m["d1"]["comment"];
    let comments = arr(a1, "/comments")?;
    let found = comments.iter().any(|x| {
        x["id"] == c["id"]
            && x["text"] == c["text"]
            && x["author"]["officer"] == c["officer"]
            && x["author"]["party"] == "cica"
    });
    if !found {
        return Err(format!("{}: no comment {} by CICA on D1's a1: {comments:?}", n.name, c["text"]));
    }
    let approvals: Vec<(&str, &str, bool)> = arr(&d1, "/approvals")?
        .iter()
        .map(|x| {
            (x["party"].as_str().unwrap_or("?"), x["officer"]["officer"].as_str().unwrap_or("?"), x["valid"] == true)
        })
        .collect();
    if approvals != [("cica", st(m, "/d1/approvals/0/officer"), true)] {
        return Err(format!("{}: D1's approvals are {approvals:?}", n.name));
    }
    let d2 = n.try_json(&["draft", "show", st(m, "/d2/id"), "--json"])?;
    if d2["state"] != "executed" {
        return Err(format!("{}: D2 is {}, not executed", n.name, d2["state"]));
    }
    for (what, valid) in [("approvals", "valid"), ("signatures", "verified")] {
        let got: Vec<(&str, &str, bool)> = arr(&d2, &format!("/{what}"))?
            .iter()
            .map(|x| {
                (x["party"].as_str().unwrap_or("?"), x["officer"]["officer"].as_str().unwrap_or("?"), x[valid] == true)
            })
            .collect();
        let want: Vec<(&str, &str, bool)> = arr(&m["d2"], &format!("/{what}"))?
            .iter()
            .map(|x| (x["party"].as_str().unwrap(), x["officer"].as_str().unwrap(), true))
            .collect();
        if got != want {
            return Err(format!("{}: D2's {what} are {got:?}, not {want:?}", n.name));
        }
    }
    Ok(())
}

/// The thread's two messages, in order, each by its Party.
fn thread_carried_over(n: &Node, m: &Value) -> Result<(), String> {
    let v = n.try_json(&["message", "list", "--thread", st(m, "/thread/id"), "--json"])?;
    let got: Vec<(&str, &str, &str)> = arr(&v, "/messages")?
        .iter()
        .map(|x| {
            (
                x["author"]["party"].as_str().unwrap_or("?"),
                x["author"]["officer"].as_str().unwrap_or("?"),
                x["text"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    let want: Vec<(&str, &str, &str)> = arr(&m["thread"], "/messages")?
        .iter()
        .map(|x| (x["party"].as_str().unwrap(), x["officer"].as_str().unwrap(), x["text"].as_str().unwrap()))
        .collect();
    if got != want {
        return Err(format!("{}: the thread shows {got:?}, not {want:?}", n.name));
    }
    if v["subject"] != m["thread"]["subject"] {
        return Err(format!("{}: the thread's subject is {}", n.name, v["subject"]));
    }
    Ok(())
}

/// The entries of a history (`draft history` or `meeting history`, JSON).
fn history(n: &Node, what: &str, id: &str) -> Vec<Value> {
    let v = n.json(&[what, "history", id, "--json"]);
    v.as_array().unwrap_or_else(|| panic!("{}: {what} history is not an array: {v}", n.name)).clone()
}

/// What a history must show.
struct HistoryWant<'a> {
    /// The Party of each old officer.
    old: &'a [(&'a str, &'a str)],
    /// Whether some old entry must be sealed as before authentication.
    some_sealed: bool,
    /// A Party some old entry must be proven by its node.
    some_node_of: Option<&'a str>,
    /// The migration's entry: whose record, and what it must name.
    migrated: Option<(&'a str, &'a [&'a str])>,
    /// The change made after the upgrade: what it names, and whose record (if in an annex).
    new: (&'a str, Option<&'a str>),
}

/// Checks a history as the node shows it: nothing unverified; every change from before the
/// upgrade (by the fixture's officers) proven by its Party's node or sealed as written before
/// authentication, with some of each kind asked for; the migration and the change made after the
/// upgrade proven by the node of the right Party.
fn check_history(n: &Node, what: &str, entries: &[Value], want: &HistoryWant<'_>, peers: &[(&str, &str)]) {
    let show = || serde_json::to_string_pretty(entries).unwrap();
    let ctx = |msg: String| format!("{}: {what} history: {msg}\n{}", n.name, show());
    let node_of = |party: &str| peers.iter().find(|(p, _)| *p == party).map(|(_, id)| *id).unwrap();
    let parties = ["cica", "sco-rats"];
    let (mut sealed, mut by_node) = (0, 0);
    for e in entries {
        let proof = e["proof"].as_str().unwrap_or("?");
        assert!(
            ["node", "genesis", "before-authentication"].contains(&proof),
            "{}",
            ctx(format!("proof {proof} in {e}"))
        );
        if proof == "node" {
            let party = e["party"].as_str().unwrap_or("?");
            assert!(parties.contains(&party) && e["node"] == node_of(party), "{}", ctx(format!("entry {e}")));
        }
        let Some(officer) = e["officer"].as_str() else { continue };
        if let Some((_, party)) = want.old.iter().find(|(o, _)| *o == officer) {
            match proof {
                "node" => {
                    assert_eq!(
                        e["party"],
                        *party,
                        "{}",
                        ctx(format!("{officer}'s change proven as another Party's: {e}"))
                    );
                    by_node += usize::from(Some(*party) == want.some_node_of);
                }
                "before-authentication" => {
                    let by = e["sealed_by"].as_str().unwrap_or("?");
                    assert!(parties.contains(&by) && e["party"].is_null(), "{}", ctx(format!("seal {e}")));
                    sealed += 1;
                }
                _ => panic!("{}", ctx(format!("an old change proven as {proof}: {e}"))),
            }
        }
    }
    if want.some_sealed {
        assert!(sealed > 0, "{}", ctx("no old change sealed as written before authentication".into()));
    }
    if want.some_node_of.is_some() {
        assert!(by_node > 0, "{}", ctx(format!("no old change proven by {:?}'s node", want.some_node_of)));
    }
    if let Some((party, names)) = want.migrated {
        let found = entries.iter().any(|e| {
            e["officer"] == "upgrade"
                && e["proof"] == "node"
                && e["party"] == party
                && e["record_of"] == party
                && names.iter().all(|w| e["what"].as_array().is_some_and(|a| a.iter().any(|x| x == w)))
        });
        assert!(found, "{}", ctx(format!("no entry of {party}'s records copied at the upgrade ({names:?})")));
    }
    let (names, record_of) = want.new;
    let found = entries.iter().any(|e| {
        e["officer"] == NEW_OFFICER
            && e["proof"] == "node"
            && e["party"] == "sco-rats"
            && e["node"] == node_of("sco-rats")
            && e["record_of"] == record_of.map_or(Value::Null, Value::from)
            && e["what"].as_array().is_some_and(|a| a.iter().any(|x| x == names))
    });
    assert!(found, "{}", ctx(format!("no entry of {NEW_OFFICER}'s {names} proven by SCO RATS's node")));
}

/// An officer as the node's registry shows them.
fn officer_entry(n: &Node, id: &str) -> Value {
    let v = n.json(&["officer", "list", "--json"]);
    v.as_array()
        .and_then(|l| l.iter().find(|o| o["id"] == id).cloned())
        .unwrap_or_else(|| panic!("{}: no officer {id}: {v}", n.name))
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|f| f.to_str()).unwrap_or_default()
}

#[test]
fn two_version_1_nodes_upgrade_keep_every_record_and_sync_under_the_new_rules() {
    let m = manifest();
    let (meeting, d1, d2) = (st(&m, "/meeting/id"), st(&m, "/d1/id"), st(&m, "/d2/id"));
    let (peer_a, peer_b) = (st(&m, "/nodes/cica/peer_id"), st(&m, "/nodes/sco-rats/peer_id"));
    let peers = [("cica", peer_a), ("sco-rats", peer_b)];
    let ana = st(&m, "/registry/cica/id");

    // ---- 1. The fixture, unpacked, each node re-pinned at the other's new port.
    let mut a = unpack("CICA", "cica");
    let mut b = unpack("SCO-RATS", "sco-rats");
    let original_a = fs::read(a.dir.join("store/liaison.redb")).expect("read CICA's store");
    let original_b = fs::read(b.dir.join("store/liaison.redb")).expect("read SCO RATS's store");
    let (port_a, port_b) = two_free_ports();
    repin(&a, port_a, port_b, &m["nodes"]["sco-rats"]);
    repin(&b, port_b, port_a, &m["nodes"]["cica"]);

    // ---- 2. SCO RATS starts first, alone (CICA is still on the old store): it upgrades and still
    // lacks CICA's late agenda item. Then CICA starts and upgrades.
    let started = now();
    b.start();
    let on_sco = m["meeting"]["agenda_on_sco_rats"].clone();
    assert_eq!(
        serde_json::to_value(agenda(&b, meeting).unwrap()).unwrap(),
        on_sco,
        "SCO RATS's agenda after its upgrade"
    );
    a.start();
    let up = now();
    for (n, original, party) in [(&a, &original_a, "cica"), (&b, &original_b, "sco-rats")] {
        let found = backups(n);
        assert_eq!(found.len(), 1, "{}: v1 backups {found:?}\n{}", n.name, n.logs());
        let t: i64 = file_name(&found[0])
            .trim_start_matches("liaison.redb.v1-backup-")
            .parse()
            .unwrap_or_else(|e| panic!("{}: backup {:?} is not named by a unix time: {e}", n.name, found[0]));
        assert!((started..=up).contains(&t), "{}: backup time {t} is not within the start ({started}..={up})", n.name);
        let copy = fs::read(&found[0]).expect("read backup");
        assert!(
            copy == *original,
            "{}: the backup ({} bytes) is not the v1 store ({} bytes)",
            n.name,
            copy.len(),
            original.len()
        );
        // The accounts database of the old release had no version: copied aside, then versioned.
        let accounts_copies: Vec<_> = fs::read_dir(&n.dir)
            .expect("read data dir")
            .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
            .filter(|f| f.starts_with("accounts.redb.v0-backup-"))
            .collect();
        assert_eq!(accounts_copies.len(), 1, "{}: accounts copies {accounts_copies:?}", n.name);
        assert_eq!(n.log_count("accounts database migrated"), 1, "{}\n{}", n.name, n.logs());
        assert_eq!(n.log_count("store migrated"), 1, "{}: one logged step\n{}", n.name, n.logs());
        audit_verifies(n);
        let events = upgraded_events(n);
        assert_eq!(events.len(), 1, "{}: upgraded events {events:?}", n.name);
        let e = &events[0];
        assert_eq!(e["documents"], m["documents_per_node"], "{}: {e}", n.name);
        assert_eq!(e["records_copied"], own_records(&m, party), "{}: {e}", n.name);
        assert!(e["sealed_actors"].as_u64().is_some_and(|s| s > 0), "{}: nothing sealed: {e}", n.name);
    }

    // ---- 3. They converge, and SCO RATS gets CICA's late item, written before authentication.
    eventually("both nodes connected and in sync after the upgrade", &[&a, &b], || converged(&a, &b, peer_a, peer_b));
    let want_agenda = m["meeting"]["agenda"].clone();
    eventually("CICA's late agenda item at SCO RATS", &[&a, &b], || {
        for n in [&a, &b] {
            let got = serde_json::to_value(agenda(n, meeting)?).unwrap();
            if got != want_agenda {
                return Err(format!("{}: agenda {got}, not {want_agenda}", n.name));
            }
        }
        Ok(())
    });

    // ---- 4.-6. Every record carried over, on both nodes.
    eventually("the records of both Parties carried over to both nodes", &[&a, &b], || {
        for n in [&a, &b] {
            officers_migrated(n, &m)?;
            mandate_migrated(n, &m)?;
            drafts_carried_over(n, &m)?;
            thread_carried_over(n, &m)?;
        }
        Ok(())
    });
    for n in [&a, &b] {
        let v = n.json(&["draft", "verify", d2, "--json"]);
        assert_eq!(v["ok"], true, "{}: draft verify D2: {v}", n.name);
        n.ok(&["draft", "verify", d2]);
    }
    // CICA's migrated mandate can still be cited; one not recorded cannot, nor CICA's by SCO RATS.
    let body = a.text_file("item.txt", "List of contacts");
    let body = body.to_str().unwrap();
    let reference = st(&m, "/mandates/0/reference");
    a.id_of(&["item", "share", "--title", "Contacts", "--file", body, "--mandate", reference]);
    for (n, reference) in [(&a, "MS-2026/99"), (&b, reference)] {
        let out = n.run(&["item", "share", "--title", "Contacts", "--file", body, "--mandate", reference]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("no mandate"), "{}: citing {reference}: {err}", n.name);
    }

    // ---- 7. Histories: old changes proven or sealed, the change after the upgrade proven.
    let added = "Item added after the upgrade";
    b.ok(&["--officer", NEW_OFFICER, "meeting", "update", meeting, "--add-agenda", added]);
    let comment = "Checked after the upgrade";
    b.ok(&["--officer", NEW_OFFICER, "draft", "comment", d1, "--provision", "a1", "--text", comment]);
    eventually("SCO RATS's new agenda item and comment at CICA", &[&a, &b], || {
        let got = agenda(&a, meeting)?;
        if got.last().map(String::as_str) != Some(added) {
            return Err(format!("CICA's agenda: {got:?}"));
        }
        let v = a.try_json(&["draft", "show", d1, "--json"])?;
        let comments = arr(&v, "/provisions/0/comments")?;
        let found = comments.iter().any(|c| {
            c["text"] == comment && c["author"]["officer"] == NEW_OFFICER && c["author"]["party"] == "sco-rats"
        });
        if found { Ok(()) } else { Err(format!("CICA's comments on a1: {comments:?}")) }
    });
    let old = [(st(&m, "/officers/cica"), "cica"), (st(&m, "/officers/sco-rats"), "sco-rats")];
    for n in [&a, &b] {
        let want = HistoryWant {
            old: &old,
            some_sealed: true,
            some_node_of: Some("cica"),
            migrated: None,
            new: ("agenda", None),
        };
        check_history(n, "meeting", &history(n, "meeting", meeting), &want, &peers);
        let want = HistoryWant {
            old: &old,
            some_sealed: true,
            some_node_of: None,
            migrated: Some(("cica", &["approval", "comment"])),
            new: ("comment", Some("sco-rats")),
        };
        check_history(n, "draft", &history(n, "draft", d1), &want, &peers);
    }

    // ---- 8. A new officer of SCO RATS reaches CICA; SCO RATS cannot end CICA's officer.
    let olga = b.id_of(&[
        "--officer",
        NEW_OFFICER,
        "officer",
        "assign",
        "--name",
        "Olga Sidorova",
        "--party",
        "sco-rats",
        "--contact",
        "olga@rats.example",
    ]);
    eventually("SCO RATS's new officer at CICA", &[&a, &b], || {
        let v = a.try_json(&["officer", "list", "--json"])?;
        let found = v.as_array().is_some_and(|l| {
            l.iter().any(|o| {
                o["id"] == olga.as_str()
                    && o["name"] == "Olga Sidorova"
                    && o["party"] == "sco-rats"
                    && o["assigned_by"]["officer"] == NEW_OFFICER
                    && o["migrated"] == false
            })
        });
        if found { Ok(()) } else { Err(format!("CICA's officers: {v}")) }
    });
    let ana_before = officer_entry(&a, ana);
    let out = b.run(&["--officer", NEW_OFFICER, "officer", "end", ana]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "SCO RATS ended CICA's officer: {}", String::from_utf8_lossy(&out.stdout));
    assert!(err.contains(NOT_ITS_PARTY), "the refusal does not name the rule ({NOT_ITS_PARTY:?}): {err}");
    for n in [&a, &b] {
        assert_eq!(officer_entry(n, ana), ana_before, "{}: CICA's officer changed", n.name);
    }

    // ---- 9. Restarted, neither node upgrades again; everything is still there.
    a.stop();
    b.stop();
    a.start();
    b.start();
    eventually("both nodes in sync after the restart", &[&a, &b], || converged(&a, &b, peer_a, peer_b));
    for n in [&a, &b] {
        assert_eq!(backups(n).len(), 1, "{}: backups {:?}", n.name, backups(n));
        assert_eq!(upgraded_events(n).len(), 1, "{}: upgraded again", n.name);
        assert_eq!(n.log_count("store of version 1"), 1, "{}: converted again\n{}", n.name, n.logs());
        assert_eq!(n.log_count("accounts database migrated"), 1, "{}: accounts migrated again", n.name);
        assert_eq!(n.log_count("upgraded a store from before authenticated changes"), 1, "{}\n{}", n.name, n.logs());
        audit_verifies(n);
        assert_eq!(officer_entry(n, ana), ana_before, "{}: CICA's officer changed", n.name);
        assert_eq!(officer_entry(n, &olga)["name"], "Olga Sidorova", "{}", n.name);
        assert_eq!(agenda(n, meeting).unwrap().last().map(String::as_str), Some(added), "{}", n.name);
        officers_migrated(n, &m).unwrap();
        drafts_carried_over(n, &m).unwrap();
        thread_carried_over(n, &m).unwrap();
        n.ok(&["draft", "verify", d2]);
    }
}
