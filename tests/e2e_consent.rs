//! End-to-end tests of provided information: items one Party provides, encrypted, that go to a
//! third party only with the provider's signed consent. The real `liaison` executable, three
//! nodes as separate processes on loopback (CICA, SCO RATS and a third party, the UN office),
//! real stores on disk.
//!
//! Every wait polls (`common::eventually`); every "this must not happen" watches for a quiet
//! period after evidence that the other side tried (`common::never`). Stores are read (and, to
//! tamper with them, written) only while their node is stopped.

mod common;

use std::collections::HashSet;
use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Node, POLL, all_logs, eventually, files_containing, files_under, in_sync_with, never, peer_entry};
use liaison::ids::{ItemId, parse_id16};
use liaison::store::{Store, StoredItem};
use redb::ReadableTable;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Distinctive strings in the title and the body of the item of the consent flow. Neither may
/// ever be found in any file of any node (titles and bodies are stored encrypted).
const TITLE_MARKER: &str = "KVW-ITEM-TITLE-MARKER-3391";
const BODY_MARKER: &str = "KVW-ITEM-BODY-MARKER-7720";

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Runs a command that must fail; returns its output.
fn refused(n: &Node, args: &[&str]) -> Output {
    let out = n.run(args);
    assert!(
        !out.status.success(),
        "{}: `liaison {}` must fail but succeeded\nstdout: {}\nstderr: {}\n{}",
        n.name,
        args.join(" "),
        text(&out.stdout),
        text(&out.stderr),
        n.logs()
    );
    out
}

/// Asserts that `haystack` contains every needle, naming what was run.
fn assert_says(what: &str, haystack: &str, needles: &[&str]) {
    let missing: Vec<&str> = needles.iter().copied().filter(|n| !haystack.contains(n)).collect();
    assert!(missing.is_empty(), "{what}: the message misses {missing:?}; it was:\n{haystack}");
}

fn item_id(id: &str) -> ItemId {
    ItemId(parse_id16(id).unwrap_or_else(|| panic!("{id:?} is not an item id (32 hex digits)")))
}

/// `item list --json`.
fn items(n: &Node) -> Result<Vec<Value>, String> {
    let v = n.try_json(&["item", "list", "--json"])?;
    v.as_array().cloned().ok_or_else(|| format!("item list is not an array: {v}"))
}

/// The item `id` in `item list --json`, if listed.
fn listed(n: &Node, id: &str) -> Result<Value, String> {
    let v = items(n)?;
    v.iter().find(|i| i["id"] == id).cloned().ok_or_else(|| format!("{}: item {id} not listed in {v:?}", n.name))
}

/// Ok when the node lists no item at all.
fn holds_no_item(n: &Node) -> Result<(), String> {
    let v = items(n)?;
    if v.is_empty() { Ok(()) } else { Err(format!("{} lists items: {v:?}", n.name)) }
}

/// The request `id` in `consent list --json`, if there.
fn consent_view(n: &Node, request: &str) -> Result<Value, String> {
    let v = n.try_json(&["consent", "list", "--json"])?;
    v.as_array()
        .and_then(|a| a.iter().find(|r| r["request"] == request).cloned())
        .ok_or_else(|| format!("{}: request {request} not in {v}", n.name))
}

/// Ok when the status of `n` shows `peer` connected.
fn connected(n: &Node, peer: &str) -> Result<(), String> {
    let s = n.try_json(&["status", "--json"])?;
    match peer_entry(&s, peer) {
        Some(p) if p["connected"] == true => Ok(()),
        other => Err(format!("{}: peer {peer} is {other:?}", n.name)),
    }
}

/// The events of `audit show --json --item ID`, as (kind, fields). Consent events are named
/// `consent:<record kind>`.
fn audit_events(n: &Node, item: &str) -> Result<Vec<(String, Value)>, String> {
    let v = n.try_json(&["audit", "show", "--json", "--item", item])?;
    let entries = v.as_array().ok_or_else(|| format!("audit show is not an array: {v}"))?;
    let mut out = Vec::new();
    for e in entries {
        let ev = e["entry"]["event"].as_object().ok_or_else(|| format!("an entry without an event: {e}"))?;
        let (kind, fields) = ev.iter().next().ok_or_else(|| format!("an empty event: {e}"))?;
        let label = if kind == "consent" {
            format!("consent:{}", fields["kind"].as_str().unwrap_or("?"))
        } else {
            kind.clone()
        };
        out.push((label, fields.clone()));
    }
    Ok(out)
}

fn labels(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(k, _)| k.as_str()).collect()
}

/// How many `transmission-refused` events about `item` for `peer` the node's audit log holds.
fn refusals(n: &Node, item: &str, peer: &str) -> Result<usize, String> {
    Ok(audit_events(n, item)?.iter().filter(|(k, f)| k == "transmission-refused" && f["to_peer"] == peer).count())
}

/// `cp -r SRC DST`.
fn cp_r(src: &Path, dst: &Path) {
    let out = Command::new("cp").arg("-r").arg(src).arg(dst).output().expect("run cp");
    assert!(out.status.success(), "cp -r {} {}: {}", src.display(), dst.display(), text(&out.stderr));
}

/// Every 32-byte window of `parts`.
fn windows32(parts: &[&[u8]]) -> HashSet<[u8; 32]> {
    parts.iter().flat_map(|p| p.windows(32)).map(|w| <[u8; 32]>::try_from(w).expect("32 bytes")).collect()
}

/// The files under `dir` that contain any of `windows`, with the offset of the first one found.
fn files_with_windows(dir: &Path, windows: &HashSet<[u8; 32]>) -> Vec<(PathBuf, usize)> {
    files_under(dir)
        .into_iter()
        .filter_map(|f| {
            let b = fs::read(&f).ok()?;
            let at = b.windows(32).position(|w| windows.contains(<&[u8; 32]>::try_from(w).expect("32 bytes")))?;
            Some((f, at))
        })
        .collect()
}

/// An item as stored in a stopped node's store, with its chunks' ciphertext.
fn stored_item(dir: &Path, id: ItemId) -> (StoredItem, Vec<Vec<u8>>) {
    let store = Store::open(dir).unwrap_or_else(|e| panic!("open the store of {}: {e}", dir.display()));
    let item =
        store.item(id).expect("read item").unwrap_or_else(|| panic!("item {id} not stored in {}", dir.display()));
    let chunks = (0..item.envelope.envelope.chunks)
        .map(|i| store.item_chunk(id, i).expect("read chunk").unwrap_or_else(|| panic!("chunk {i} of {id} missing")))
        .collect();
    (item, chunks)
}

/// Asserts that the store of a stopped node (or a copy) holds nothing of `id`: no envelope, no
/// chunk, no key.
fn store_holds_nothing_of(dir: &Path, id: ItemId) {
    let store = Store::open(dir).unwrap_or_else(|e| panic!("open the store of {}: {e}", dir.display()));
    let all = store.items().expect("read items");
    assert!(all.is_empty(), "{}: the store holds items: {all:?}", dir.display());
    assert!(store.item(id).expect("read item").is_none(), "{}: item {id} is stored", dir.display());
    assert_eq!(store.item_chunk_count(id).expect("count chunks"), 0, "{}: chunks of {id} are stored", dir.display());
    assert!(store.item_keys(id).expect("read keys").is_empty(), "{}: a key of {id} is stored", dir.display());
}

/// Writes `len` pseudo-random bytes (xorshift64) to `path`; returns their SHA-256.
fn write_pseudo_random(path: &Path, len: usize, seed: u64) -> [u8; 32] {
    let mut f = BufWriter::new(fs::File::create(path).expect("create file"));
    let mut h = Sha256::new();
    let mut x = seed | 1;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(buf.len());
        for c in buf[..n].chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
        }
        h.update(&buf[..n]);
        f.write_all(&buf[..n]).expect("write file");
        left -= n;
    }
    f.flush().expect("flush file");
    h.finalize().into()
}

/// SHA-256 of a file, read piece by piece.
fn sha256_file(path: &Path) -> [u8; 32] {
    let mut f = fs::File::open(path).unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).expect("read file");
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().into()
}

/// Peak resident set (VmHWM) of a process, in KiB.
fn vm_hwm_kib(pid: u32) -> u64 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/PID/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status:\n{status}"))
}

/// A and B in sync (both directions).
fn wait_pair_in_sync(a: &Node, b: &Node) {
    let (pa, pb) = (a.peer_id(), b.peer_id());
    eventually("A and B connected and in sync", &[a, b], || {
        in_sync_with(&a.try_json(&["status", "--json"])?, &pb)?;
        in_sync_with(&b.try_json(&["status", "--json"])?, &pa)
    });
}

/// A (cica) and B (sco-rats), running, pinned to each other and in sync. `setup_a` runs on A's
/// data dir before A starts (to edit its node.toml).
fn pair_with(setup_a: impl FnOnce(&Node)) -> (Node, Node) {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    let mut b = Node::init("B", "sco-rats", "SCO RATS Executive Committee");
    setup_a(&a);
    a.start();
    b.start();
    // B may be restarted: it keeps its port, so that A can still dial it.
    b.keep_listen_port();
    a.pin(&b, None);
    b.pin(&a, None);
    wait_pair_in_sync(&a, &b);
    (a, b)
}

/// A (cica), B (sco-rats) and T (un-oct, the third party), running. The Parties pin each other
/// as `party` and T as `third-party`; T pins both as `provider`. Each keeps its port across
/// restarts.
fn three_nodes() -> (Node, Node, Node) {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    let mut b = Node::init("B", "sco-rats", "SCO RATS Executive Committee");
    let mut t = Node::init("T", "un-oct", "UN Office of Counter-Terrorism");
    for n in [&mut a, &mut b, &mut t] {
        n.start();
        n.keep_listen_port();
    }
    a.pin(&b, None);
    b.pin(&a, None);
    a.pin(&t, Some("third-party"));
    b.pin(&t, Some("third-party"));
    t.pin(&a, Some("provider"));
    t.pin(&b, Some("provider"));
    wait_pair_in_sync(&a, &b);
    wait_third_party_connected(&a, &b, &t);
    (a, b, t)
}

/// T connected with A and with B, as both sides see it.
fn wait_third_party_connected(a: &Node, b: &Node, t: &Node) {
    let (pa, pb, pt) = (a.peer_id(), b.peer_id(), t.peer_id());
    eventually("the third party connected with both Parties' nodes", &[a, b, t], || {
        connected(a, &pt)?;
        connected(b, &pt)?;
        connected(t, &pa)?;
        connected(t, &pb)
    });
}

/// `liaison item share` of `file` with `title`; returns the printed id, checked.
fn share(n: &Node, title: &str, file: &Path, extra: &[&str]) -> String {
    let mut args = vec!["item", "share", "--title", title, "--file", path_str(file)];
    args.extend_from_slice(extra);
    let id = n.id_of(&args);
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "item share printed {id:?}, not an item id");
    id
}

// ---------------------------------------------------------------------------------------------
// 1. The whole consent flow.
// ---------------------------------------------------------------------------------------------

#[test]
fn an_item_reaches_a_third_party_only_with_the_providers_consent_and_is_destroyed_on_revocation() {
    let (mut a, mut b, mut t) = three_nodes();
    let (pa, pb, pt) = (a.peer_id(), b.peer_id(), t.peer_id());

    // (a) CICA provides an item; the title and the body carry the markers.
    let title = format!("Designated entities {TITLE_MARKER}");
    let body = format!("List of designated entities, annex 3.\n{BODY_MARKER}\nEnd of the annex.\n");
    let file = a.text_file("annex.txt", &body);
    let id = share(&a, &title, &file, &["--marking", "RESTRICTED"]);
    let iid = item_id(&id);
    // The marker scan finds the marker where it is (the source file beside A's data dir), so
    // that finding it nowhere else means something.
    assert_eq!(files_containing(a.scratch(), BODY_MARKER), vec![file.clone()]);
    let on_a = listed(&a, &id).unwrap();
    assert_eq!((on_a["title"].as_str(), on_a["provider"].as_str()), (Some(title.as_str()), Some("cica")), "{on_a}");
    assert_eq!(on_a["bytes"], body.len() as u64, "{on_a}");
    assert_eq!(on_a["readable"], true, "{on_a}");

    // (b) SCO RATS gets it, sealed to its key, and reads exactly the body.
    let on_b = eventually("the item on SCO RATS", &[&a, &b], || listed(&b, &id));
    assert_eq!(on_b["title"].as_str(), Some(title.as_str()), "{on_b}");
    assert_eq!(on_b["readable"], true, "{on_b}");
    assert_eq!(on_b["from_peer"].as_str(), Some(pa.as_str()), "{on_b}");
    let out = b.run(&["item", "show", &id]);
    assert!(out.status.success(), "item show on B failed: {}\n{}", text(&out.stderr), b.logs());
    assert_eq!(out.stdout, body.as_bytes(), "item show on B must print exactly the body");
    assert_says("item show on B (stderr)", &text(&out.stderr), &[&title, "provided by cica"]);
    // On a terminal, the body is not poured onto the screen unless `--output -` asks for it
    // (util-linux `script` gives the command a terminal; skipped where it is missing).
    if std::process::Command::new("script").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let on_tty = |extra: &str| {
            let line = format!("{} --data-dir {} item show {id} {extra} </dev/null", common::bin(), b.dir.display());
            std::process::Command::new("script").args(["-qec", &line, "/dev/null"]).output().expect("script")
        };
        // A terminal turns "\n" into "\r\n".
        let shown = on_tty("");
        let said = text(&shown.stdout).replace("\r\n", "\n");
        assert!(!shown.status.success() && said.contains("--output FILE") && !said.contains(&body), "{said}");
        let forced = on_tty("--output -");
        let poured = text(&forced.stdout).replace("\r\n", "\n");
        assert!(forced.status.success() && poured.contains(&body), "{poured}");
    }

    // (c) The third party has nothing, and the holder's policy says why.
    assert_eq!(items(&t).unwrap(), Vec::<Value>::new(), "the third party lists an item before any consent");
    let out = refused(&t, &["item", "show", &id]);
    assert_says("item show on T", &text(&out.stderr), &["no item", &id]);
    let no = b.ok(&["explain", &id, "--to", "un-oct"]);
    assert!(no.starts_with("no:"), "explain before consent: {no}");
    assert_says("explain before consent", &no, &["no consent of the provider cica names this item and un-oct"]);
    let e = b.json(&["explain", &id, "--to", "un-oct", "--json"]);
    assert_eq!((e["allowed"].as_bool(), e["grant"].is_null()), (Some(false), true), "{e}");
    // The third party asks outright: both Parties' nodes refuse (and audit it); nothing comes.
    let asked = t.ok(&["item", "request", &id]);
    assert_says("item request on T", &asked, &["asked 2 provider node(s)"]);
    eventually("both Parties' nodes refused the third party's request", &[&a, &b, &t], || {
        let (ra, rb) = (refusals(&a, &id, &pt)?, refusals(&b, &id, &pt)?);
        if ra >= 1 && rb >= 1 { Ok(()) } else { Err(format!("refusals: A {ra}, B {rb}")) }
    });
    never("the item reaches the third party without consent", &[&a, &b, &t], || holds_no_item(&t));

    // The ciphertext as SCO RATS stores it (read with the node stopped), and a copy of the third
    // party's data dir as it is before any consent.
    b.stop();
    t.stop();
    let (stored, chunks) = stored_item(&b.dir, iid);
    assert_eq!(stored.envelope.envelope.chunks as usize, chunks.len());
    let ciphertext = chunks.concat();
    assert!(ciphertext.len() > body.len(), "the ciphertext is shorter than the body");
    assert!(!ciphertext.windows(BODY_MARKER.len()).any(|w| w == BODY_MARKER.as_bytes()), "plaintext in ciphertext");
    let secret = windows32(&[&ciphertext, &stored.envelope.envelope.title_ct]);
    // The scan finds the ciphertext where it is, so that finding none elsewhere means something.
    assert!(!files_with_windows(&b.dir, &secret).is_empty(), "the ciphertext scan does not find B's own copy");
    let before = tempfile::Builder::new().prefix("liaison-e2e-T-before-grant-").tempdir().expect("tempdir");
    let t_before = before.path().join("data");
    cp_r(&t.dir, &t_before);
    b.start();
    t.start();
    for m in [TITLE_MARKER, BODY_MARKER] {
        let found = files_containing(&t_before, m);
        assert!(found.is_empty(), "the third party's data dir before consent holds {m:?} in {found:?}");
    }
    let found = files_with_windows(&t_before, &secret);
    assert!(found.is_empty(), "the third party's data dir before consent holds item ciphertext: {found:?}");
    store_holds_nothing_of(&t_before, iid);
    wait_pair_in_sync(&a, &b);
    wait_third_party_connected(&a, &b, &t);

    // (d) SCO RATS asks CICA for consent; only CICA may answer.
    let purpose = "threat assessment for the Security Council";
    let out = refused(&b, &["consent", "request", &id, "--third-party", "cica", "--purpose", purpose]);
    assert_says("consent request to a Party", &text(&out.stderr), &["is a Party, not a third party"]);
    let req = b.id_of(&["consent", "request", &id, "--third-party", "un-oct", "--purpose", purpose]);
    let mine = consent_view(&b, &req).unwrap();
    assert_eq!((mine["state"].as_str(), mine["ours_to_answer"].as_bool()), (Some("pending"), Some(false)), "{mine}");
    let theirs = eventually("the request on CICA", &[&a, &b], || consent_view(&a, &req));
    assert_eq!((theirs["state"].as_str(), theirs["ours_to_answer"].as_bool()), (Some("pending"), Some(true)));
    assert_eq!(
        (theirs["item"].as_str(), theirs["requester"].as_str(), theirs["third_party"].as_str()),
        (Some(id.as_str()), Some("sco-rats"), Some("un-oct")),
        "{theirs}"
    );
    assert_eq!(theirs["purpose"], purpose);
    let out = refused(&b, &["consent", "grant", &req]);
    assert_says("consent grant by the requester", &text(&out.stderr), &["for cica, the item's provider, to answer"]);
    let out = refused(&a, &["consent", "grant", &req, "--expires", "2020-01-01T00:00:00Z"]);
    assert_says("consent grant expiring in the past", &text(&out.stderr), &["in the past"]);
    assert!(holds_no_item(&t).is_ok(), "the third party got the item before the grant");
    let expires = (chrono::Utc::now() + chrono::Duration::days(365)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let grant = a.id_of(&["consent", "grant", &req, "--expires", &expires]);

    // (e) The holder sends item and grant; the third party reads it; CICA learns of it.
    let on_t = eventually("the item on the third party", &[&a, &b, &t], || listed(&t, &id));
    assert_eq!(on_t["title"].as_str(), Some(title.as_str()), "{on_t}");
    assert_eq!(on_t["readable"], true, "{on_t}");
    assert_eq!(on_t["from_peer"].as_str(), Some(pb.as_str()), "the holder, SCO RATS, sends it: {on_t}");
    let out = t.run(&["item", "show", &id]);
    assert!(out.status.success(), "item show on T failed: {}\n{}", text(&out.stderr), t.logs());
    assert_eq!(out.stdout, body.as_bytes(), "item show on T must print exactly the body");
    assert_says("item show on T (stderr)", &text(&out.stderr), &[&title, "provided by cica"]);
    let c = eventually("CICA learns of the transmission", &[&a, &b, &t], || {
        let v = consent_view(&a, &req)?;
        if v["transmitted"] == true { Ok(v) } else { Err(format!("{v}")) }
    });
    assert_eq!((c["state"].as_str(), c["grant"].as_str()), (Some("granted"), Some(grant.as_str())), "{c}");
    assert_eq!(c["expires"].as_str(), Some(expires.as_str()), "{c}");
    let yes = b.ok(&["explain", &id, "--to", "un-oct"]);
    assert!(yes.starts_with("yes:") && yes.contains(&grant), "explain after the grant: {yes}");

    // (f) CICA revokes: the third party destroys the key and confirms; nothing is sent again.
    let out = refused(&b, &["consent", "revoke", &grant]);
    assert_says("consent revoke by the holder", &text(&out.stderr), &["only it can revoke it"]);
    let rev = a.id_of(&["consent", "revoke", &grant]);
    let out = refused(&a, &["consent", "revoke", &grant]);
    assert_says("a second revocation", &text(&out.stderr), &["already revoked"]);
    eventually("the third party destroys the item", &[&a, &b, &t], || holds_no_item(&t));
    let out = refused(&t, &["item", "show", &id]);
    assert_says("item show on T after the revocation", &text(&out.stderr), &["no item", &id]);
    assert!(out.stdout.is_empty(), "item show on T after the revocation printed {:?}", text(&out.stdout));
    let c = eventually("CICA gets the confirmation", &[&a, &b, &t], || {
        let v = consent_view(&a, &req)?;
        if v["key_destroyed"] == true { Ok(v) } else { Err(format!("{v}")) }
    });
    assert_eq!((c["state"].as_str(), c["transmitted"].as_bool()), (Some("revoked"), Some(true)), "{c}");
    let no = b.ok(&["explain", &id, "--to", "un-oct"]);
    assert!(no.starts_with("no:"), "explain after the revocation: {no}");
    assert_says("explain after the revocation", &no, &[&format!("grant {grant} was revoked by the provider")]);
    // The third party asks again: refused by both, and the item does not come back.
    let (ra, rb) = (refusals(&a, &id, &pt).unwrap(), refusals(&b, &id, &pt).unwrap());
    t.ok(&["item", "request", &id]);
    eventually("both Parties' nodes refused the request after the revocation", &[&a, &b, &t], || {
        let (ra2, rb2) = (refusals(&a, &id, &pt)?, refusals(&b, &id, &pt)?);
        if ra2 > ra && rb2 > rb { Ok(()) } else { Err(format!("refusals: A {ra2}, B {rb2}")) }
    });
    never("the item goes back to the third party after the revocation", &[&a, &b, &t], || holds_no_item(&t));

    // (g) The audit logs verify, and record every step on each node.
    for n in [&a, &b, &t] {
        let v = n.ok(&["audit", "verify"]);
        assert_says(&format!("audit verify on {}", n.name), &v, &["audit log intact"]);
    }
    let ev_a = audit_events(&a, &id).unwrap();
    let ev_b = audit_events(&b, &id).unwrap();
    let ev_t = audit_events(&t, &id).unwrap();
    let has = |events: &[(String, Value)], who: &str, kind: &str, check: &dyn Fn(&Value) -> bool| {
        assert!(
            events.iter().any(|(k, f)| k == kind && check(f)),
            "{who}'s audit log has no {kind} event as expected: {:?}\n{events:?}",
            labels(events)
        );
    };
    let any = |_: &Value| true;
    // The provider: it provided the item, sent it to SCO RATS only, refused the third party,
    // and holds the whole consent history.
    has(&ev_a, "A", "item-provided", &|f| f["officer"] == "officer-a" && f["bytes"] == body.len() as u64);
    has(&ev_a, "A", "transmitted", &|f| f["to_party"] == "sco-rats" && f["grant"].is_null());
    assert!(
        ev_a.iter().all(|(k, f)| k != "transmitted" || f["to_party"] == "sco-rats"),
        "CICA sent the item elsewhere than to SCO RATS: {ev_a:?}"
    );
    has(&ev_a, "A", "transmission-refused", &|f| f["to_peer"] == pt.as_str());
    has(&ev_a, "A", "consent:request", &|f| f["record"] == req.as_str());
    has(&ev_a, "A", "consent:grant", &|f| f["record"] == grant.as_str() && f["by"] == "officer-a");
    has(&ev_a, "A", "consent:transmission", &any);
    has(&ev_a, "A", "consent:revocation", &|f| f["record"] == rev.as_str());
    has(&ev_a, "A", "consent:revocation-ack", &any);
    // The holder: received it from CICA, read it, asked, sent it to the third party under the
    // grant (once), and refused it before the grant and after the revocation.
    has(&ev_b, "B", "item-received", &|f| f["from_peer"] == pa.as_str() && f["grant"].is_null());
    has(&ev_b, "B", "item-decrypted", &|f| f["officer"] == "officer-b");
    has(&ev_b, "B", "consent:request", &|f| f["record"] == req.as_str() && f["by"] == "officer-b");
    has(&ev_b, "B", "consent:grant", &|f| f["record"] == grant.as_str());
    has(&ev_b, "B", "consent:revocation", &|f| f["record"] == rev.as_str());
    let to_t: Vec<&Value> =
        ev_b.iter().filter(|(k, f)| k == "transmitted" && f["to_party"] == "un-oct").map(|(_, f)| f).collect();
    assert_eq!(to_t.len(), 1, "SCO RATS must send the item to the third party exactly once: {ev_b:?}");
    assert_eq!(to_t[0]["grant"].as_str(), Some(grant.as_str()), "{ev_b:?}");
    let refused_b = ev_b.iter().filter(|(k, f)| k == "transmission-refused" && f["to_peer"] == pt.as_str()).count();
    assert!(refused_b >= 2, "SCO RATS refused the third party {refused_b} times: {ev_b:?}");
    // The third party: received it under the grant, read it, destroyed the key on revocation;
    // it never saw the request, and nothing of the item is in its log before the grant.
    has(&ev_t, "T", "item-received", &|f| f["from_peer"] == pb.as_str() && f["grant"] == grant.as_str());
    has(&ev_t, "T", "item-decrypted", &|f| f["officer"] == "officer-t");
    has(&ev_t, "T", "key-destroyed", &|f| f["revocation"] == rev.as_str());
    has(&ev_t, "T", "consent:grant", &|f| f["record"] == grant.as_str());
    has(&ev_t, "T", "consent:revocation", &|f| f["record"] == rev.as_str());
    has(&ev_t, "T", "consent:revocation-ack", &any);
    assert!(!labels(&ev_t).contains(&"consent:request"), "the third party saw the request: {ev_t:?}");
    assert!(
        ev_t.iter().all(|(k, f)| k != "item-received" || f["grant"] == grant.as_str()),
        "the third party received the item without the grant: {ev_t:?}"
    );
    let pos = |k: &str| labels(&ev_t).iter().position(|l| *l == k);
    assert!(pos("item-decrypted") < pos("key-destroyed"), "order on T: {:?}", labels(&ev_t));

    // No plaintext on disk: neither marker in any file of any node (stopped, so that anything
    // written at shutdown is there too), nor in their logs; the third party keeps nothing.
    a.stop();
    b.stop();
    t.stop();
    for dir in [&a.dir, &b.dir, &t.dir, &t_before] {
        assert!(!files_under(dir).is_empty(), "{} is empty", dir.display());
        for m in [TITLE_MARKER, BODY_MARKER] {
            let found = files_containing(dir, m);
            assert!(found.is_empty(), "plaintext {m:?} on disk in {found:?}");
        }
    }
    for log in [&a.log, &b.log, &t.log] {
        let l = fs::read_to_string(log).unwrap_or_default();
        assert!(!l.contains(TITLE_MARKER) && !l.contains(BODY_MARKER), "plaintext in the log {}", log.display());
    }
    store_holds_nothing_of(&t.dir, iid);
}

// ---------------------------------------------------------------------------------------------
// 2. A tampered item is refused, and nothing else is lost.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_tampered_item_is_refused_with_a_clear_error_and_nothing_else_is_lost() {
    let (a, mut b) = pair_with(|_| {});
    let meeting =
        a.id_of(&["meeting", "create", "--title", "Consultation on the annexes", "--starts", "2026-12-01T09:00:00Z"]);
    // X spans three chunks (its middle one is tampered with), Y and Z are small.
    let scratch = a.scratch().to_path_buf();
    let x_file = scratch.join("x.bin");
    write_pseudo_random(&x_file, (5 << 20) / 2, 0x5eed);
    let x = share(&a, "Annex X", &x_file, &[]);
    let y_body = "Annex Y: list of contact points.\n";
    let z_body = "Annex Z: schedule of consultations.\n";
    let y = share(&a, "Annex Y", &a.text_file("y.txt", y_body), &[]);
    let z = share(&a, "Annex Z", &a.text_file("z.txt", z_body), &[]);
    eventually("B has the three items and the meeting", &[&a, &b], || {
        for i in [&x, &y, &z] {
            listed(&b, i)?;
        }
        b.try_json(&["meeting", "show", &meeting, "--json"]).map(|_| ())
    });
    let meeting_before = b.json(&["meeting", "show", &meeting, "--json"]);
    let audit_before = b.ok(&["audit", "verify"]);
    assert_says("audit verify on B", &audit_before, &["audit log intact"]);

    // With B stopped: flip one byte of X's middle chunk, and downgrade Y's marking in its
    // signed envelope.
    b.stop();
    {
        let store = Store::open(&b.dir).expect("open B's store");
        let (xi, yi) = (item_id(&x), item_id(&y));
        assert_eq!(store.item(xi).unwrap().unwrap().envelope.envelope.chunks, 3);
        let mut chunk = store.item_chunk(xi, 1).unwrap().expect("chunk 1 of X");
        chunk[1000] ^= 0x01;
        let mut item = store.item(yi).unwrap().expect("Y");
        assert_eq!(item.envelope.envelope.marking, "RESTRICTED");
        item.envelope.envelope.marking = "UNCLASSIFIED".into();
        store
            .write(|w| {
                w.put_item_chunk(xi, 1, &chunk)?;
                w.put_item(&item)
            })
            .expect("tamper with B's store");
    }
    b.start();
    wait_pair_in_sync(&a, &b);

    // X: refused before any byte is written, naming the item and the mismatch.
    let out_x = b.scratch().join("x.out");
    let out = refused(&b, &["item", "show", &x, "--output", path_str(&out_x)]);
    assert_says("item show of the tampered chunk", &text(&out.stderr), &[&x, "does not match the signed envelope"]);
    assert!(!out_x.exists(), "item show of a tampered item left {}", out_x.display());
    let out = refused(&b, &["item", "show", &x]);
    assert_says("item show of the tampered chunk", &text(&out.stderr), &[&x, "does not match the signed envelope"]);
    assert!(out.stdout.is_empty(), "item show of a tampered item printed {} bytes", out.stdout.len());
    // Y: the envelope's signature no longer verifies.
    let out_y = b.scratch().join("y.out");
    let out = refused(&b, &["item", "show", &y, "--output", path_str(&out_y)]);
    assert_says("item show of the tampered envelope", &text(&out.stderr), &[&y, "signature does not verify"]);
    assert!(!out_y.exists(), "item show of a tampered item left {}", out_y.display());

    // Nothing else is lost: Z reads, every item is still held, the workspace is as it was, the
    // provider's own copy of X is intact, and no decryption of X or Y was recorded.
    let out_z = b.scratch().join("z.out");
    b.ok(&["item", "show", &z, "--output", path_str(&out_z)]);
    assert_eq!(fs::read_to_string(&out_z).unwrap(), z_body);
    for i in [&x, &y, &z] {
        listed(&b, i).unwrap();
    }
    assert_eq!(b.json(&["meeting", "show", &meeting, "--json"]), meeting_before);
    assert_eq!(a.json(&["meeting", "show", &meeting, "--json"]), meeting_before);
    let out_ax = a.scratch().join("x.out");
    a.ok(&["item", "show", &x, "--output", path_str(&out_ax)]);
    assert_eq!(sha256_file(&out_ax), sha256_file(&x_file), "the provider's copy of X");
    for i in [&x, &y] {
        let ev = audit_events(&b, i).unwrap();
        assert!(!labels(&ev).contains(&"item-decrypted"), "a decryption of tampered {i} was recorded: {ev:?}");
    }
    assert_says("audit verify on B after the refusals", &b.ok(&["audit", "verify"]), &["audit log intact"]);
}

// ---------------------------------------------------------------------------------------------
// 3. audit verify finds every kind of tampering with the log.
// ---------------------------------------------------------------------------------------------

const AUDIT_TABLE: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("audit");
/// The domain of audit entry hashes (src/audit.rs).
const ENTRY_DOMAIN: &[u8] = b"liaison/audit-entry/v1\0";

/// Runs `f` on the `audit` table of the (stopped) store in `dir`, and commits.
fn with_audit_table(dir: &Path, f: impl FnOnce(&mut redb::Table<'_, u64, &'static [u8]>)) {
    let db = redb::Database::open(dir.join(liaison::store::DB_FILE)).expect("open the redb file");
    let tx = db.begin_write().expect("begin write");
    {
        let mut t = tx.open_table(AUDIT_TABLE).expect("open the audit table");
        f(&mut t);
    }
    tx.commit().expect("commit");
}

fn raw_entry(t: &redb::Table<'_, u64, &'static [u8]>, seq: u64) -> Vec<u8> {
    t.get(seq).expect("get").unwrap_or_else(|| panic!("no audit entry {seq}")).value().to_vec()
}

/// `liaison audit verify` on a data dir with no node running.
fn verify_offline(dir: &Path, json: bool) -> Output {
    let mut c = Command::new(common::bin());
    c.arg("--data-dir").arg(dir).args(["audit", "verify"]);
    if json {
        c.arg("--json");
    }
    c.env("LIAISON_LOG", "warn").env_remove("LIAISON_DATA_DIR").stdin(Stdio::null()).output().expect("run liaison")
}

#[test]
fn audit_verify_names_the_first_bad_entry_of_an_edited_cut_or_reordered_log() {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    a.start();
    for (i, body) in ["First annex.\n", "Second annex.\n"].iter().enumerate() {
        let id = share(&a, &format!("Annex {i}"), &a.text_file(&format!("annex{i}.txt"), body), &[]);
        for _ in 0..2 {
            assert_eq!(a.ok(&["item", "show", &id]), *body);
        }
    }
    let report = a.json(&["audit", "verify", "--json"]);
    assert_eq!(report["ok"], true, "{report}");
    let n = report["entries"].as_u64().unwrap();
    assert!(n >= 6, "expected at least 6 audit entries: {report}");
    a.stop();
    let intact = verify_offline(&a.dir, false);
    assert!(intact.status.success(), "the stopped node's log must verify: {}", text(&intact.stderr));
    assert_says("offline audit verify", &text(&intact.stdout), &[&format!("audit log intact: {n} entries")]);

    type Tamper = Box<dyn FnOnce(&mut redb::Table<'_, u64, &'static [u8]>)>;
    let cases: Vec<(&str, Tamper, u64, String)> = vec![
        (
            "an edited byte in entry 2",
            Box::new(|t| {
                let mut v = raw_entry(t, 2);
                let at = v.windows(9).position(|w| w == b"officer-a").expect("the officer's name in entry 2");
                v[at + 8] = b'x';
                t.insert(2, v.as_slice()).unwrap();
            }),
            2,
            "entry 2 was edited".to_string(),
        ),
        (
            "entry 3 edited and re-hashed, without the node's key",
            Box::new(|t| {
                let mut e: liaison::audit::SignedEntry = postcard::from_bytes(&raw_entry(t, 3)).unwrap();
                e.entry.at = "2020-01-01T00:00:00.000Z".into();
                let mut h = Sha256::new();
                h.update(ENTRY_DOMAIN);
                h.update(postcard::to_allocvec(&e.entry).unwrap());
                e.hash = h.finalize().into();
                t.insert(3, postcard::to_allocvec(&e).unwrap().as_slice()).unwrap();
            }),
            3,
            "entry 3 is not signed by this node".to_string(),
        ),
        (
            "entry 2 removed",
            Box::new(|t| {
                t.remove(2).unwrap();
            }),
            2,
            "entry 3: expected sequence number 2 here".to_string(),
        ),
        (
            "entries 1 and 4 swapped",
            Box::new(|t| {
                let (e1, e4) = (raw_entry(t, 1), raw_entry(t, 4));
                t.insert(1, e4.as_slice()).unwrap();
                t.insert(4, e1.as_slice()).unwrap();
            }),
            1,
            "entry 4: expected sequence number 1 here".to_string(),
        ),
        (
            "the last two entries cut off",
            Box::new(move |t| {
                t.remove(n - 1).unwrap();
                t.remove(n - 2).unwrap();
            }),
            n - 2,
            format!("the log ends after {} entries but the signed head says {n}", n - 2),
        ),
    ];
    let copies = tempfile::Builder::new().prefix("liaison-e2e-audit-").tempdir().expect("tempdir");
    for (i, (what, tamper, first_bad, message)) in cases.into_iter().enumerate() {
        let copy = copies.path().join(format!("copy{i}"));
        cp_r(&a.dir, &copy);
        with_audit_table(&copy, tamper);
        let out = verify_offline(&copy, false);
        assert!(!out.status.success(), "{what}: audit verify passed\nstdout: {}", text(&out.stdout));
        assert_says(what, &text(&out.stdout), &["AUDIT LOG NOT INTACT", &message]);
        assert_says(what, &text(&out.stderr), &["failed verification"]);
        let out = verify_offline(&copy, true);
        assert!(!out.status.success(), "{what}: audit verify --json passed");
        let r: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{what}: audit verify --json printed no JSON ({e}): {}", text(&out.stdout)));
        assert_eq!((r["ok"].as_bool(), r["first_bad"].as_u64()), (Some(false), Some(first_bad)), "{what}: {r}");
    }

    // The original, untouched, still verifies: offline, and through its node after a restart.
    let out = verify_offline(&a.dir, false);
    assert!(out.status.success(), "the original no longer verifies: {}", text(&out.stdout));
    a.start();
    assert_says("audit verify through the node", &a.ok(&["audit", "verify"]), &[&format!("{n} entries")]);
}

// ---------------------------------------------------------------------------------------------
// 4. Mandates required by a Party's policy.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_party_that_requires_mandates_refuses_actions_without_a_recorded_one_of_its_own() {
    let (a, b) = pair_with(|a| {
        let file = a.dir.join("node.toml");
        let toml = fs::read_to_string(&file).unwrap();
        let old = "require_mandate = []";
        assert!(toml.contains(old), "node.toml has no {old}:\n{toml}");
        let new = r#"require_mandate = ["item-share", "group-create", "officer-assign"]"#;
        fs::write(&file, toml.replace(old, new)).unwrap();
    });
    let file = a.text_file("annex.txt", "Annex: list of contact points.\n");
    let f = path_str(&file);
    const ACTIONS: [&str; 3] = ["item-share", "group-create", "officer-assign"];
    // A mandate of the other Party does not count for this one.
    b.ok(&["mandate", "add", "--ref", "RATS-MS-2026/3", "--date", "2026-09-01", "--scope", "SCO RATS exchange"]);
    eventually("SCO RATS's mandate on CICA", &[&a, &b], || {
        let v = a.try_json(&["mandate", "list", "--json"])?;
        let ok = v.as_array().is_some_and(|m| m.iter().any(|m| m["reference"] == "RATS-MS-2026/3"));
        if ok { Ok(()) } else { Err(format!("{v}")) }
    });

    for action in ACTIONS {
        let args = |m| mandated_action(action, f, m);
        let out = refused(&a, &args(None));
        assert_says(
            &format!("{action} without a mandate"),
            &text(&out.stderr),
            &["require_mandate", action, "liaison mandate add"],
        );
        let out = refused(&a, &args(Some("CICA-MS-0000/0")));
        assert_says(
            &format!("{action} with an unrecorded mandate"),
            &text(&out.stderr),
            &["no mandate \"CICA-MS-0000/0\" of cica is recorded"],
        );
        let out = refused(&a, &args(Some("RATS-MS-2026/3")));
        assert_says(
            &format!("{action} with the other Party's mandate"),
            &text(&out.stderr),
            &["no mandate \"RATS-MS-2026/3\" of cica is recorded"],
        );
    }
    // Nothing of the refused actions exists, on either node.
    for n in [&a, &b] {
        assert_eq!(items(n).unwrap(), Vec::<Value>::new(), "{}: a refused share left an item", n.name);
        assert_eq!(n.json(&["group", "list", "--json"]), Value::Array(vec![]), "{}: a refused group", n.name);
        assert_eq!(n.json(&["officer", "list", "--json"]), Value::Array(vec![]), "{}: a refused officer", n.name);
    }
    // The policy is CICA's: SCO RATS creates a group without citing anything.
    b.id_of(&["group", "create", "--name", "SCO RATS group", "--mandate", "Its own work"]);

    // Once recorded, the mandate is accepted, and cited.
    let rec = a.ok(&["mandate", "add", "--ref", "CICA-MS-2026/7", "--date", "2026-10-01", "--scope", "exchange"]);
    assert_says("mandate add", &rec, &["recorded mandate CICA-MS-2026/7"]);
    let id = share(&a, "Contact points", &file, &["--mandate", "CICA-MS-2026/7"]);
    assert_eq!(listed(&a, &id).unwrap()["mandate"], "CICA-MS-2026/7");
    let on_b = eventually("the item on SCO RATS", &[&a, &b], || listed(&b, &id));
    assert_eq!(on_b["mandate"], "CICA-MS-2026/7", "{on_b}");
    let ev = audit_events(&a, &id).unwrap();
    assert!(
        ev.iter().any(|(k, f)| k == "item-provided" && f["mandate"] == "CICA-MS-2026/7"),
        "the provision's audit entry does not cite the mandate: {ev:?}"
    );
    let group = a.id_of(&mandated_action("group-create", f, Some("CICA-MS-2026/7")));
    let officer = a.id_of(&mandated_action("officer-assign", f, Some("CICA-MS-2026/7")));
    let g = a.json(&["group", "show", &group, "--json"]);
    assert_eq!(g["name"], "Drafting group", "{g}");
    let o = a.json(&["officer", "list", "--json"]);
    assert!(o.as_array().unwrap().iter().any(|e| e["id"] == officer.as_str()), "{o}");
}

/// The arguments of an action a Party can require a mandate for, citing `mandate` if given.
fn mandated_action<'a>(action: &str, file: &'a str, mandate: Option<&'a str>) -> Vec<&'a str> {
    let (mut v, flag) = match action {
        "item-share" => (vec!["item", "share", "--title", "Contact points", "--file", file], "--mandate"),
        "group-create" => {
            (vec!["group", "create", "--name", "Drafting group", "--mandate", "Draft the procedure"], "--mandate-ref")
        }
        "officer-assign" => (
            vec!["officer", "assign", "--name", "Ana Lima", "--party", "cica", "--contact", "ana@cica.example"],
            "--mandate",
        ),
        other => panic!("no such action {other}"),
    };
    if let Some(m) = mandate {
        v.extend([flag, m]);
    }
    v
}

// ---------------------------------------------------------------------------------------------
// 5. A 100 MiB item in bounded memory.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_100_mib_item_moves_between_the_parties_in_bounded_memory() {
    const SIZE: usize = 100 << 20;
    const MAX_HWM_KIB: u64 = 250 << 10;
    const BIG_DEADLINE: Duration = Duration::from_secs(300);
    let (a, b) = pair_with(|_| {});
    let files = tempfile::Builder::new().prefix("liaison-e2e-big-").tempdir().expect("tempdir");
    let src = files.path().join("big.bin");
    let src_hash = write_pseudo_random(&src, SIZE, 0x1234_5678_9abc_def1);

    let t0 = Instant::now();
    let id = share(&a, "A large annex", &src, &[]);
    let shared = t0.elapsed();
    let start = Instant::now();
    loop {
        match listed(&b, &id) {
            Ok(v) => {
                assert_eq!(v["bytes"], SIZE as u64, "{v}");
                break;
            }
            Err(e) if start.elapsed() > BIG_DEADLINE => {
                panic!("the 100 MiB item did not reach B in {BIG_DEADLINE:?}: {e}\n{}", all_logs(&[&a, &b]))
            }
            Err(_) => std::thread::sleep(POLL * 4),
        }
    }
    let moved = start.elapsed();
    let dst = files.path().join("big.out");
    let t1 = Instant::now();
    b.ok(&["item", "show", &id, "--output", path_str(&dst)]);
    let read = t1.elapsed();
    assert_eq!(fs::metadata(&dst).unwrap().len(), SIZE as u64);
    assert!(sha256_file(&dst) == src_hash, "the body read on B differs from the source");
    let (hwm_a, hwm_b) = (vm_hwm_kib(a.pid()), vm_hwm_kib(b.pid()));
    eprintln!(
        "100 MiB: share {shared:?}, to B {moved:?}, read {read:?}; peak RSS A {} MiB, B {} MiB",
        hwm_a >> 10,
        hwm_b >> 10
    );
    assert!(hwm_a < MAX_HWM_KIB, "A's peak RSS {hwm_a} KiB exceeds {MAX_HWM_KIB} KiB\n{}", a.logs());
    assert!(hwm_b < MAX_HWM_KIB, "B's peak RSS {hwm_b} KiB exceeds {MAX_HWM_KIB} KiB\n{}", b.logs());
    fs::remove_file(&src).unwrap();
    fs::remove_file(&dst).unwrap();
}

// ---------------------------------------------------------------------------------------------
// 5. Revocation and expiry reach every copy, and leave nothing on the disk that opens (issue 10,
//    findings 1 to 3).
// ---------------------------------------------------------------------------------------------

/// What someone holding a node's data dir learns of an item's key: the key wrap sealed to the
/// node's Party as it came (opened by the Party's long-term sealing key), and the wrap as the
/// store locks it (opened by any key slot left in the slot file), both read with the node
/// stopped while it still holds the item.
struct KeyTraces {
    /// HPKE encapsulated key and sealed item key, as they came in the offer.
    encapped: Vec<u8>,
    sealed: Vec<u8>,
    /// The locked wrap as stored, and what it is bound to.
    locked: liaison::store::LockedWrap,
    aad: Vec<u8>,
}

fn key_traces(dir: &Path, id: ItemId, party: &str) -> KeyTraces {
    let store = Store::open(dir).unwrap_or_else(|e| panic!("open the store of {}: {e}", dir.display()));
    let wraps = store.item_keys(id).expect("read key wraps");
    let at = wraps.iter().position(|w| w.recipient.as_str() == party).expect("a key wrap for the node's Party");
    let wrap = &wraps[at];
    let material = store.item_key_material(id).expect("read key material");
    // Both in the store's order (by Party).
    assert_eq!(material.len(), wraps.len(), "each wrap has its key slot");
    let (_, bytes) = material.into_iter().nth(at).expect("key material");
    KeyTraces {
        encapped: wrap.encapped.clone(),
        sealed: wrap.sealed.clone(),
        locked: postcard::from_bytes(&bytes).expect("a locked wrap"),
        aad: liaison::store::wrap_aad(id, party),
    }
}

/// The attack of finding 1, run on a stopped node's whole data dir with every key on it: is the
/// wrap as it came anywhere (its own sealing key would open it), and does any 32 bytes of the key
/// slot file open the locked wrap? Returns what opened, empty if nothing.
fn open_with_everything_on_disk(dir: &Path, t: &KeyTraces) -> Vec<String> {
    let mut opened = Vec::new();
    let files: Vec<(PathBuf, Vec<u8>)> =
        files_under(dir).into_iter().filter_map(|f| fs::read(&f).ok().map(|b| (f, b))).collect();
    let has = |b: &[u8], needle: &[u8]| b.windows(needle.len()).any(|w| w == needle);
    for (f, b) in &files {
        if has(b, &t.encapped) && has(b, &t.sealed) {
            opened.push(format!("the key wrap as it came, in {}", f.display()));
        }
    }
    let slots = fs::read(dir.join(liaison::store::SLOTS_FILE)).unwrap_or_default();
    for key in slots.chunks_exact(32) {
        let key: [u8; 32] = key.try_into().expect("32 bytes");
        if liaison::store::unlock_with(&key, &t.locked, &t.aad).is_some() {
            opened.push("the locked wrap, with a key in the slot file".into());
        }
    }
    opened
}

/// A flow up to the third party reading the item: CICA provides, SCO RATS asks, CICA grants
/// (with `expires`, if any), SCO RATS transmits, the third party reads the body. Returns the
/// item id and the grant id.
fn granted_and_read(a: &Node, b: &Node, t: &Node, body: &str, expires: Option<&str>) -> (String, String) {
    let title = format!("Watch list {TITLE_MARKER}");
    let file = a.text_file("watch.txt", body);
    let id = share(a, &title, &file, &["--marking", "RESTRICTED"]);
    eventually("the item on SCO RATS", &[a, b], || listed(b, &id));
    let req = b.id_of(&["consent", "request", &id, "--third-party", "un-oct", "--purpose", "assessment"]);
    eventually("the request on CICA", &[a, b], || consent_view(a, &req));
    let mut args = vec!["consent", "grant", req.as_str()];
    if let Some(e) = expires {
        args.extend(["--expires", e]);
    }
    let grant = a.id_of(&args);
    eventually("the item on the third party", &[a, b, t], || listed(t, &id));
    let out = t.run(&["item", "show", &id]);
    assert!(out.status.success(), "item show on T failed: {}\n{}", text(&out.stderr), t.logs());
    assert_eq!(out.stdout, body.as_bytes());
    eventually("CICA learns of the transmission", &[a, b, t], || {
        let v = consent_view(a, &req)?;
        if v["transmitted"] == true { Ok(()) } else { Err(format!("{v}")) }
    });
    (id, grant)
}

#[test]
fn a_revocation_reaches_the_third_party_with_the_holder_down_and_leaves_nothing_that_opens() {
    let (a, mut b, mut t) = three_nodes();
    let pa = a.peer_id();
    let body = format!("Entities to watch.\n{BODY_MARKER}\n");
    let (id, grant) = granted_and_read(&a, &b, &t, &body, None);
    let iid = item_id(&id);

    // What the third party's disk holds while it holds the item: the attack opens the key, so
    // that it opening nothing later means something. The wrap as it came is never stored.
    t.stop();
    let traces = key_traces(&t.dir, iid, "un-oct");
    let opened = open_with_everything_on_disk(&t.dir, &traces);
    assert_eq!(opened, vec!["the locked wrap, with a key in the slot file".to_string()], "before revocation");
    t.start();

    // The holder is down; CICA revokes; the revocation goes straight to the third party.
    b.stop();
    wait_third_party_connected_to(&a, &t);
    let rev = a.id_of(&["consent", "revoke", &grant]);
    eventually("the third party destroys the item with the holder down", &[&a, &t], || holds_no_item(&t));
    let out = refused(&t, &["item", "show", &id]);
    assert!(out.stdout.is_empty(), "item show after the revocation printed {:?}", text(&out.stdout));
    eventually("CICA gets the confirmation straight from the third party", &[&a, &t], || {
        let v = consent_view_by_grant(&a, &grant)?;
        if v["key_destroyed"] == true { Ok(()) } else { Err(format!("{v}")) }
    });
    let ev_t = audit_events(&t, &id).unwrap();
    assert!(
        ev_t.iter().any(|(k, f)| k == "consent:revocation" && f["by"] == pa.as_str()),
        "the third party's log does not say the revocation came from CICA's node: {ev_t:?}"
    );
    assert!(ev_t.iter().any(|(k, f)| k == "key-destroyed" && f["revocation"] == rev.as_str()), "{ev_t:?}");

    // The holder comes back: it learns of the revocation, the third party sees no replay.
    b.start();
    eventually("SCO RATS learns of the revocation", &[&a, &b], || {
        let v = consent_view_by_grant(&b, &grant)?;
        if v["state"] == "revoked" { Ok(()) } else { Err(format!("{v}")) }
    });

    // The whole disk of the third party, with every key on it, opens nothing of the item.
    t.stop();
    let opened = open_with_everything_on_disk(&t.dir, &traces);
    assert!(opened.is_empty(), "after revocation the third party's disk still opens the item's key: {opened:?}");
    for m in [TITLE_MARKER, BODY_MARKER] {
        assert!(files_containing(&t.dir, m).is_empty(), "plaintext {m:?} on the third party's disk");
    }
    store_holds_nothing_of(&t.dir, iid);
    assert_eq!(t.log_count("replayed revocation"), 0, "the holder's copy of the revocation was taken for a replay");
}

#[test]
fn an_expired_grant_is_carried_out_by_the_third_party_itself() {
    let (mut a, mut b, mut t) = three_nodes();
    // Long enough for the flow to reach the third party on a slow machine, short for a test.
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(15);
    let expires = expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = format!("Travel notice.\n{BODY_MARKER}\n");
    let (id, grant) = granted_and_read(&a, &b, &t, &body, Some(&expires));
    let iid = item_id(&id);
    t.stop();
    let traces = key_traces(&t.dir, iid, "un-oct");
    t.start();

    // Both Parties' nodes are down: nobody tells the third party anything.
    a.stop();
    b.stop();
    let wait = (expires_at - chrono::Utc::now()).to_std().unwrap_or_default();
    std::thread::sleep(wait);
    eventually("the third party destroys the item at the expiry by itself", &[&t], || holds_no_item(&t));
    let out = refused(&t, &["item", "show", &id]);
    assert!(out.stdout.is_empty(), "item show after the expiry printed {:?}", text(&out.stdout));
    let ev_t = audit_events(&t, &id).unwrap();
    assert!(ev_t.iter().any(|(k, f)| k == "grant-expired" && f["grant"] == grant.as_str()), "{ev_t:?}");
    assert!(ev_t.iter().any(|(k, f)| k == "key-destroyed" && f["revocation"].is_null()), "{ev_t:?}");
    assert!(ev_t.iter().any(|(k, _)| k == "consent:expiry-ack"), "{ev_t:?}");
    let at = ev_t.iter().find(|(k, _)| k == "key-destroyed").map(|(_, f)| f.clone());
    t.stop();
    let opened = open_with_everything_on_disk(&t.dir, &traces);
    assert!(
        opened.is_empty(),
        "after the expiry the third party's disk still opens the item's key: {opened:?} ({at:?})"
    );
    store_holds_nothing_of(&t.dir, iid);
    t.start();

    // The provider comes back: it audits the expiry itself and gets the signed confirmation.
    a.start();
    eventually("CICA gets the third party's confirmation of the expiry", &[&a, &t], || {
        let v = consent_view_by_grant(&a, &grant)?;
        if v["state"] == "expired" && v["key_destroyed"] == true { Ok(()) } else { Err(format!("{v}")) }
    });
    let ev_a = audit_events(&a, &id).unwrap();
    assert!(ev_a.iter().any(|(k, f)| k == "grant-expired" && f["grant"] == grant.as_str()), "{ev_a:?}");
    assert!(ev_a.iter().any(|(k, _)| k == "consent:expiry-ack"), "{ev_a:?}");
}

/// The consent view of the request a grant answered.
fn consent_view_by_grant(n: &Node, grant: &str) -> Result<Value, String> {
    let all = n.try_json(&["consent", "list", "--json"])?;
    all.as_array()
        .and_then(|a| a.iter().find(|v| v["grant"].as_str() == Some(grant)).cloned())
        .ok_or_else(|| format!("no request with grant {grant} on {}: {all}", n.name))
}

/// T and A connected, as both see it.
fn wait_third_party_connected_to(a: &Node, t: &Node) {
    let (pa, pt) = (a.peer_id(), t.peer_id());
    eventually("the third party connected with CICA", &[a, t], || {
        connected(a, &pt)?;
        connected(t, &pa)
    });
}

// ---------------------------------------------------------------------------------------------
// 6. The other Party witnesses each node's audit log (issue 10, finding 12).
// ---------------------------------------------------------------------------------------------

/// `liaison audit verify --witness FILE` on a stopped node.
fn verify_with_witness(dir: &Path, file: &Path) -> Output {
    let mut c = Command::new(common::bin());
    c.arg("--data-dir").arg(dir).args(["audit", "verify", "--witness"]).arg(file);
    c.env("LIAISON_LOG", "warn").env_remove("LIAISON_DATA_DIR").stdin(Stdio::null()).output().expect("run liaison")
}

#[test]
fn a_log_rewritten_and_signed_again_with_the_nodes_own_key_fails_against_the_other_partys_witness() {
    let (mut a, b) = pair_with(|_| {});
    let pa = a.peer_id();
    // CICA's officers act: each act is audited on CICA's node.
    a.ok(&["mandate", "add", "--ref", "CICA-MS-2026/9", "--date", "2026-10-01", "--scope", "exchange with SCO RATS"]);
    let id = share(&a, "Annex", &a.text_file("annex.txt", "An annex.\n"), &[]);
    a.ok(&["item", "show", &id]);
    let all = a.json(&["audit", "show", "--json"]);
    let kinds: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["entry"]["event"].as_object().and_then(|o| o.keys().next().cloned()))
        .collect();
    assert!(kinds.contains(&"party-act".to_string()), "the mandate is not audited: {kinds:?}");
    // Restarting CICA starts a session, which sends SCO RATS the head as it is now.
    a.stop();
    let len = Store::open(&a.dir).unwrap().audit_head().unwrap().expect("a head").len;
    a.start();
    let file = b.scratch().join("witnessed-by-sco-rats.json");
    eventually("SCO RATS witnesses CICA's head", &[&a, &b], || {
        let list = b.try_json(&["audit", "witnessed", "--json"])?;
        let of_a = list.as_array().map(|l| l.iter().filter(|w| w["node"] == pa.as_str()).count()).unwrap_or(0);
        let grown = list
            .as_array()
            .is_some_and(|l| l.iter().any(|w| w["node"] == pa.as_str() && w["head"]["len"].as_u64() >= Some(len)));
        if grown {
            fs::write(&file, serde_json::to_vec(&list).unwrap()).unwrap();
            Ok(())
        } else {
            Err(format!("{of_a} head(s) of A witnessed, none at {len}: {list}"))
        }
    });
    // CICA also holds its copy: its own heads, countersigned by SCO RATS.
    eventually("CICA holds SCO RATS's countersignature", &[&a, &b], || {
        let list = a.try_json(&["audit", "witnessed", "--json"])?;
        let ours = list.as_array().is_some_and(|l| l.iter().any(|w| w["node"] == pa.as_str()));
        if ours { Ok(()) } else { Err(format!("{list}")) }
    });

    // Honest: the log matches what the other Party witnessed.
    a.stop();
    let out = verify_with_witness(&a.dir, &file);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert_says("verify --witness on the honest log", &text(&out.stdout), &["matches the", "witnessed"]);

    // Whoever holds CICA's data dir rewrites entry 1 and signs the whole chain again with the
    // node's own key: the log verifies on its own...
    let keys = liaison::keys::load(&a.dir).unwrap();
    let entries = Store::open(&a.dir).unwrap().audit_entries().unwrap();
    with_audit_table(&a.dir, |t| {
        t.retain(|_, _| false).unwrap();
    });
    let store = Store::open(&a.dir).unwrap();
    store
        .write(|w| {
            let mut head = None;
            for (i, e) in entries.iter().enumerate() {
                let mut event = e.entry.event.clone();
                if i == 1 {
                    event = liaison::audit::Event::LogStarted { node: "a quiet start".into(), after_loss: false };
                }
                let (signed, h) = liaison::audit::append(&keys.node_ed25519, head.as_ref(), e.entry.at.clone(), event);
                w.append_audit(&signed, &h)?;
                head = Some(h);
            }
            Ok(())
        })
        .unwrap();
    drop(store);
    let out = verify_offline(&a.dir, false);
    assert!(out.status.success(), "the rewritten log should verify on its own: {}", text(&out.stdout));
    // ...but not against the other Party's witness, which names where it differs.
    let out = verify_with_witness(&a.dir, &file);
    assert!(!out.status.success(), "a rewritten log passed verify --witness: {}", text(&out.stdout));
    assert_says(
        "verify --witness on the rewritten log",
        &text(&out.stdout),
        &["NOT INTACT", "witnessed this log", "rewritten"],
    );
}

#[test]
fn an_item_its_provider_deletes_is_destroyed_everywhere_and_not_taken_back() {
    let (a, mut b, t) = three_nodes();
    let body = format!("Withdrawn annex.\n{BODY_MARKER}\n");
    let (id, _grant) = granted_and_read(&a, &b, &t, &body, None);
    let iid = item_id(&id);
    // Only the provider deletes.
    let out = refused(&b, &["item", "delete", &id]);
    assert_says("item delete by the holder", &text(&out.stderr), &["only its provider can delete it"]);
    // The holder is down when CICA deletes; the third party learns straight from CICA.
    b.stop();
    let traces = key_traces(&b.dir, iid, "sco-rats");
    assert!(!open_with_everything_on_disk(&b.dir, &traces).is_empty(), "the attack does not open B's copy");
    a.ok(&["item", "delete", &id]);
    assert_eq!(items(&a).unwrap(), Vec::<Value>::new(), "the provider still lists its deleted item");
    eventually("the third party destroys its copy", &[&a, &t], || holds_no_item(&t));
    // The holder comes back: it destroys its copy, and does not give it back to the provider.
    b.start();
    eventually("the holder destroys its copy", &[&a, &b], || holds_no_item(&b));
    wait_pair_in_sync(&a, &b);
    never("the deleted item comes back to the provider", &[&a, &b], || {
        let held = items(&a)?;
        if held.is_empty() { Ok(()) } else { Err(format!("{held:?}")) }
    });
    let ev_b = audit_events(&b, &id).unwrap();
    assert!(ev_b.iter().any(|(k, _)| k == "consent:deletion"), "{ev_b:?}");
    assert!(ev_b.iter().any(|(k, _)| k == "key-destroyed"), "{ev_b:?}");
    // The log is asked by an id prefix, as every item command takes, though the item is gone.
    assert_eq!(audit_events(&b, &id[..8]).unwrap(), ev_b, "audit show --item PREFIX of a deleted item");
    let bad = b.run(&["audit", "show", "--item", "zz12"]);
    assert!(!bad.status.success() && text(&bad.stderr).contains("not an item id"), "{}", text(&bad.stderr));
    b.stop();
    let opened = open_with_everything_on_disk(&b.dir, &traces);
    assert!(opened.is_empty(), "after the deletion the holder's disk still opens the item's key: {opened:?}");
    store_holds_nothing_of(&b.dir, iid);
}
