//! End-to-end tests of two real sites: addresses another site can dial, and a Party's second
//! node that syncs everything through its primary and takes over when the primary is lost.
//! The real `liaison` executable, separate processes on loopback.

mod common;

use std::fs;
use std::path::Path;
use std::process::Output;

use common::{Node, all_logs, eventually, in_sync_with, peer_entry};
use serde_json::Value;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `liaison init` with `args` into a fresh data dir.
fn init_with(name: &str, party_id: &str, party_name: &str, args: &[&str]) -> Result<Node, String> {
    let tmp = tempfile::Builder::new().prefix(&format!("liaison-e2e-{name}-")).tempdir().expect("tempdir");
    let dir = tmp.path().join("data");
    let node = Node::adopt(name, tmp, dir);
    let mut all = vec!["init", "--party-id", party_id, "--party-name", party_name];
    all.extend(args);
    let out = node.run(&all);
    if out.status.success() { Ok(node) } else { Err(stderr(&out)) }
}

fn node_toml(n: &Node) -> String {
    fs::read_to_string(n.dir.join("node.toml")).expect("node.toml")
}

#[test]
fn id_exports_only_addresses_another_site_can_dial_and_says_what_to_set() {
    // The default listen address, 0.0.0.0: nothing to export until external_addrs is set.
    let n = init_with("W", "cica", "CICA Secretariat", &["--api", "127.0.0.1:0"]).expect("init");
    for args in [&["id"][..], &["id", "--json"][..]] {
        let out = n.run(args);
        let e = stderr(&out);
        assert!(
            !out.status.success(),
            "`liaison {}` exported 0.0.0.0: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout)
        );
        for needle in ["0.0.0.0", "unspecified", "[network] external_addrs", "node.toml", "--external-addr"] {
            assert!(e.contains(needle), "`liaison {}` does not say {needle:?}: {e}", args.join(" "));
        }
    }
    // Its peer id is still there for scripts.
    assert!(n.ok(&["id", "--peer-id"]).trim().starts_with("12D3Koo"));

    // Port 0 on a stopped node: the port is not known yet.
    let mut z = Node::init("Z", "cica", "CICA Secretariat");
    let e = stderr(&z.run(&["id", "--json"]));
    assert!(e.contains("port 0") && e.contains("[network] external_addrs") && e.contains("start the node"), "{e}");
    // Running, it exports the port it bound (loopback, as it was told to listen).
    let info = z.start();
    let card = z.json(&["id", "--json"]);
    assert_eq!(card["listen_addrs"], info["listen"], "{card}");
    let bound = card["listen_addrs"][0].as_str().expect("an address");
    assert!(bound.starts_with("/ip4/127.0.0.1/tcp/") && !bound.ends_with("/tcp/0"), "{bound}");

    // --external-addr at init is written to node.toml and is what id exports, running or not.
    let x = init_with(
        "X",
        "cica",
        "CICA Secretariat",
        &[
            "--listen",
            "/ip4/0.0.0.0/tcp/0",
            "--api",
            "127.0.0.1:0",
            "--external-addr",
            "/ip4/192.0.2.7/tcp/4710",
            "--external-addr",
            "/dns4/liaison.cica.example/tcp/4710",
        ],
    )
    .expect("init with --external-addr");
    assert!(
        node_toml(&x)
            .contains(r#"external_addrs = ["/ip4/192.0.2.7/tcp/4710", "/dns4/liaison.cica.example/tcp/4710"]"#),
        "{}",
        node_toml(&x)
    );
    let card = x.json(&["id", "--json"]);
    assert_eq!(
        card["listen_addrs"],
        serde_json::json!(["/ip4/192.0.2.7/tcp/4710", "/dns4/liaison.cica.example/tcp/4710"]),
        "{card}"
    );

    // An external address that points nowhere is refused at init, and in node.toml.
    for bad in ["/ip4/0.0.0.0/tcp/4710", "/ip4/192.0.2.7/tcp/0"] {
        let e = init_with("Y", "cica", "CICA Secretariat", &["--external-addr", bad]).err().expect("refused");
        assert!(e.contains("--external-addr") && (e.contains("unspecified") || e.contains("port 0")), "{e}");
    }
    let file = x.dir.join("node.toml");
    fs::write(&file, node_toml(&x).replace("/ip4/192.0.2.7/tcp/4710", "/ip4/0.0.0.0/tcp/4710")).unwrap();
    let e = stderr(&x.run(&["id"]));
    assert!(e.contains("network.external_addrs[0]") && e.contains("unspecified"), "{e}");
}

#[test]
fn peer_add_refuses_addresses_that_point_nowhere_and_says_why() {
    let a = Node::init("A", "cica", "CICA Secretariat");
    let b = init_with("B", "sco-rats", "SCO RATS Executive Committee", &["--api", "127.0.0.1:0"]).expect("init");
    let key = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let peer = b.peer_id();
    for (addr, why) in [("/ip4/0.0.0.0/tcp/4710", "unspecified"), ("/ip4/192.0.2.9/tcp/0", "port 0")] {
        let out = a.run(&[
            "peer",
            "add",
            "--party-id",
            "sco-rats",
            "--peer-id",
            &peer,
            "--addr",
            addr,
            "--signing-key",
            key,
            "--sealing-key",
            key,
        ]);
        let e = stderr(&out);
        assert!(!out.status.success() && e.contains(addr) && e.contains(why) && e.contains("external_addrs"), "{e}");
    }
    // A card exported by an older liaison, with 0.0.0.0 in it.
    let card = serde_json::json!({
        "party_id": "sco-rats", "party_name": "SCO RATS", "peer_id": peer,
        "listen_addrs": ["/ip4/0.0.0.0/tcp/4710"], "signing_key": key, "sealing_key": key,
    });
    let f = a.text_file("old-card.json", &card.to_string());
    let out = a.run(&["peer", "add", "--from-id", f.to_str().unwrap()]);
    let e = stderr(&out);
    assert!(
        !out.status.success()
            && e.contains("old-card.json")
            && e.contains("unspecified")
            && e.contains("external_addrs"),
        "{e}"
    );
    // Nothing was pinned.
    assert!(!node_toml(&a).contains(&peer), "{}", node_toml(&a));
}

/// Creates a meeting at `n` and returns its id.
fn meeting(n: &Node, title: &str) -> String {
    n.id_of(&[
        "meeting",
        "create",
        "--title",
        title,
        "--starts",
        "2026-12-01T09:00:00Z",
        "--ends",
        "2026-12-01T17:00:00Z",
    ])
}

fn total(n: &Node) -> Result<u64, String> {
    let s = n.try_json(&["status", "--json"])?;
    s["documents_total"].as_u64().ok_or_else(|| format!("no documents_total: {s}"))
}

fn has_meeting(n: &Node, id: &str) -> Result<(), String> {
    let ids = n.meeting_ids()?;
    if ids.iter().any(|m| m == id) { Ok(()) } else { Err(format!("{} has meetings {ids:?}, not {id}", n.name)) }
}

#[test]
fn a_partys_second_node_syncs_everything_through_its_primary_and_takes_over_when_it_is_lost() {
    let mut p = Node::init("P", "cica", "CICA Secretariat");
    let mut r = Node::init("R", "sco-rats", "SCO RATS Executive Committee");
    p.start();
    r.start();
    p.pin(&r, None);
    r.pin(&p, None);
    // Both Parties write: documents of both, signed by both Party keys.
    meeting(&p, "Meeting made at the CICA primary");
    meeting(&r, "Meeting made at SCO RATS");
    r.id_of(&["officer", "assign", "--name", "Ivan Petrov", "--party", "sco-rats", "--contact", "ivan@sco.example"]);
    let f = p.text_file("msg.txt", "Dear colleagues,\nwe propose 1 December.\n");
    p.id_of(&["message", "send", "--subject", "Date", "--text-file", f.to_str().unwrap()]);
    let (pp, pr) = (p.peer_id(), r.peer_id());
    eventually("P and R in sync", &[&p, &r], || {
        in_sync_with(&p.status(), &pr)?;
        in_sync_with(&r.status(), &pp)
    });

    // The second node: the Party keys copied from the primary; it pins only the primary.
    let primary_dir = p.dir.to_str().unwrap().to_string();
    let mut s = init_with(
        "S",
        "cica",
        "CICA Secretariat",
        &["--listen", "/ip4/127.0.0.1/tcp/0", "--api", "127.0.0.1:0", "--party-keys-from", &primary_dir],
    )
    .expect("init the second node");
    s.start();
    let ps = s.peer_id();
    s.pin(&p, None);
    p.pin(&s, None);
    // SCO RATS's sysadmin pins the backup too, as they would for any node of CICA's.
    r.pin(&s, None);

    let want = total(&p).expect("documents at P");
    eventually("S holds every document P holds, verified", &[&p, &s, &r], || {
        in_sync_with(&s.status(), &pp)?;
        in_sync_with(&p.status(), &ps)?;
        let got = total(&s)?;
        if got == want && total(&p)? == want { Ok(()) } else { Err(format!("S holds {got} of {want} documents")) }
    });
    assert_eq!(s.meeting_ids().unwrap(), p.meeting_ids().unwrap());
    let logs = all_logs(&[&s]);
    assert!(!logs.contains("no signing key is pinned"), "{logs}");

    // R is known at S as vouched for by the primary, not pinned by hand, and S reaches it.
    let listed = s.json(&["peer", "list", "--json"]);
    let rows = listed.as_array().expect("array");
    let entry =
        rows.iter().find(|e| e["peer_id"] == pr.as_str()).unwrap_or_else(|| panic!("R not listed at S: {listed}"));
    assert_eq!(entry["pinned"], "vouched-by-party", "{listed}");
    assert_eq!(entry["vouched_by"], pp.as_str(), "{listed}");
    assert!(!node_toml(&s).contains(&pr), "the vouched peer is not written to node.toml");
    let text = s.ok(&["peer", "list"]);
    assert!(text.contains(&format!("vouched by our node {pp}")), "{text}");
    eventually("S connected to R directly", &[&s, &r], || in_sync_with(&s.status(), &pr));

    // The primary is lost for good.
    p.kill();
    fs::remove_dir_all(&p.dir).expect("remove the primary's data dir");
    assert!(!Path::new(&primary_dir).exists());

    // An edit at the second node reaches SCO RATS, and one at SCO RATS reaches the second node.
    let from_s = meeting(&s, "Meeting made at the CICA backup after the primary was lost");
    let from_r = meeting(&r, "Meeting made at SCO RATS after the CICA primary was lost");
    eventually("S's meeting at R", &[&s, &r], || has_meeting(&r, &from_s));
    eventually("R's meeting at S", &[&s, &r], || has_meeting(&s, &from_r));
    let (ms, mr) = (s.json(&["meeting", "show", &from_s, "--json"]), r.json(&["meeting", "show", &from_s, "--json"]));
    assert_eq!(ms, mr);

    // After a restart the second node still knows R (the vouched list is kept), without the primary.
    s.keep_listen_port();
    s.stop();
    s.start();
    let st: Value = s.status();
    let e = peer_entry(&st, &pr).unwrap_or_else(|| panic!("R forgotten at S after restart: {st}"));
    assert_eq!(e["vouched_by"], pp.as_str());
    eventually("S reconnected to R after its restart", &[&s, &r], || in_sync_with(&s.status(), &pr));
}
