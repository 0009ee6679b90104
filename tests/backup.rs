//! Backup and restore through the real binary: the whole drill (a node lost after a backup,
//! restored on a new data dir, catching up with its peer), and the refusals.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{Node, bin, eventually, in_sync_with, pair};

const PASSPHRASE: &str = "correct horse battery staple";

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

/// `liaison restore` into `into`.
fn restore(from: &Path, into: &Path, pass: &Path) -> Output {
    Command::new(bin())
        .arg("--data-dir")
        .arg(into)
        .args(["restore", "--from"])
        .arg(from)
        .arg("--passphrase-file")
        .arg(pass)
        .env_remove("LIAISON_DATA_DIR")
        .env_remove(PASS_ENV)
        .output()
        .expect("run liaison restore")
}

const PASS_ENV: &str = "LIAISON_BACKUP_PASSPHRASE";

/// The node's signed log says a backup was taken, while it was `taken_while`, with a passphrase,
/// and the log still verifies.
fn assert_backup_audited(n: &Node, taken_while: &str) {
    let log = n.json(&["audit", "show", "--json"]);
    let taken: Vec<&serde_json::Value> =
        log.as_array().unwrap().iter().filter_map(|e| e["entry"]["event"].get("backup-taken")).collect();
    assert_eq!(taken.len(), 1, "{}: one backup-taken entry in {log}", n.name);
    assert_eq!(taken[0]["taken_while"], taken_while, "{}", taken[0]);
    assert_eq!(taken[0]["protected_by"], "passphrase", "{}", taken[0]);
    n.ok(&["audit", "verify"]);
}

/// `liaison backup` of `n` into `to`.
fn backup(n: &Node, to: &Path, pass: &Path) -> String {
    n.ok(&["backup", "--to", to.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()])
}

fn meeting(n: &Node, title: &str) -> String {
    n.id_of(&["meeting", "create", "--title", title, "--starts", "2099-03-01T10:00:00Z"])
}

fn has_meetings(n: &Node, ids: &[&str]) -> Result<(), String> {
    let have = n.meeting_ids()?;
    match ids.iter().find(|id| !have.iter().any(|h| h == *id)) {
        Some(id) => Err(format!("{}: no meeting {id} among {have:?}", n.name)),
        None => Ok(()),
    }
}

/// A login with the web app's route; answers the HTTP status.
fn login(n: &Node, name: &str, password: &str) -> u16 {
    let pem = fs::read(n.dir.join("tls/api-cert.pem")).expect("cert");
    let http = liaison::client::http_client(&pem).expect("client");
    let addr = n.run_info().expect("run.json")["api_addr"].as_str().expect("api_addr").to_string();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = http
            .post(format!("https://{addr}/api/session"))
            .json(&serde_json::json!({ "name": name, "password": password }))
            .send()
            .await
            .expect("login request");
        r.status().as_u16()
    })
}

fn audit_verifies(n: &Node) {
    let v = n.json(&["audit", "verify", "--json"]);
    assert_eq!(v["ok"], true, "{}: audit verify: {v}\n{}", n.name, n.logs());
}

/// Whatever `restore` leaves in the parent of a target beside what was there.
fn leftovers(parent: &Path) -> Vec<PathBuf> {
    fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".liaison-restore-"))
        .collect()
}

#[test]
fn a_node_lost_after_a_backup_is_restored_and_catches_up_with_its_peer() {
    let (mut a, b) = pair();
    let password = a.json(&["account", "add", "--name", "Anna Petrova", "--role", "member", "--json"])["password"]
        .as_str()
        .expect("password")
        .to_string();
    assert_eq!(login(&a, "Anna Petrova", &password), 200, "login before the backup");
    let before = meeting(&a, "Before the backup");
    eventually("the first meeting at B", &[&a, &b], || has_meetings(&b, &[&before]));
    let peer_a = a.peer_id();

    // ---- The backup, taken while A runs.
    let pass = a.text_file("passphrase", &format!("{PASSPHRASE}\n"));
    let file = a.scratch().join("cica.backup");
    let out = backup(&a, &file, &pass);
    assert!(out.contains("node running"), "backup output: {out}");
    assert_backup_audited(&a, "running");
    assert_eq!(mode(&file), 0o600, "the backup file's mode");
    let bytes = fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1"), "not an age file");
    let token = fs::read_to_string(a.dir.join("keys/api.token")).unwrap();
    assert!(!bytes.windows(token.trim().len()).any(|w| w == token.trim().as_bytes()), "the API token is in clear");

    // ---- Edits after the backup, on both nodes.
    let after_a = meeting(&a, "After the backup, at CICA");
    let after_b = meeting(&b, "After the backup, at SCO RATS");
    eventually("both new meetings on both nodes", &[&a, &b], || {
        has_meetings(&a, &[&after_a, &after_b])?;
        has_meetings(&b, &[&after_a])
    });

    // ---- A is lost.
    a.kill();
    fs::remove_dir_all(&a.dir).unwrap();

    // ---- Restored on a new data dir.
    let tmp = tempfile::Builder::new().prefix("liaison-e2e-restored-").tempdir().unwrap();
    let dir = tmp.path().join("data");
    let out = restore(&file, &dir, &pass);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "restore: {}\n{stdout}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(&peer_a) && stdout.contains("Next:"), "restore output: {stdout}");
    assert_eq!(mode(&dir), 0o700);
    for f in ["keys/node.key", "keys/party-signing.key", "keys/api.token", "keys/item-key-slots", "accounts.redb"] {
        assert_eq!(mode(&dir.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&dir.join("keys")), 0o700);
    assert!(leftovers(tmp.path()).is_empty(), "{:?}", leftovers(tmp.path()));
    // The search index is made from the documents: left out, and built again at the start.
    assert!(!dir.join("search").exists(), "the search index was restored");
    let mut r = Node::adopt("A-restored", tmp, dir);
    r.start();
    assert_eq!(r.peer_id(), peer_a, "the restored node is not the same node");

    // ---- It catches up: the edits made after the backup come back from B.
    eventually("the restored node in sync with B, with every meeting", &[&r, &b], || {
        has_meetings(&r, &[&before, &after_a, &after_b])?;
        in_sync_with(&r.status(), &b.peer_id())?;
        in_sync_with(&b.status(), &peer_a)
    });
    audit_verifies(&r);
    let hits = r.json(&["search", "Before the backup", "--json"]);
    assert!(
        hits["hits"].as_array().unwrap().iter().any(|h| h["doc"] == before.as_str()),
        "search after restore: {hits}"
    );
    assert_eq!(login(&r, "Anna Petrova", &password), 200, "an account made before the backup logs in");
    // And it edits again, under a new actor: B takes its changes.
    let again = meeting(&r, "After the restore");
    eventually("the restored node's new meeting at B", &[&r, &b], || has_meetings(&b, &[&again]));
    audit_verifies(&b);
}

#[test]
fn a_wrong_passphrase_a_tampered_archive_and_a_used_directory_are_refused() {
    let mut a = Node::init("A", "cica", "CICA Secretariat");
    a.start();
    let m = meeting(&a, "Kept in the backup");
    a.stop();
    let pass = a.text_file("passphrase", PASSPHRASE);
    let wrong = a.text_file("wrong", "not the passphrase at all");
    let file = a.scratch().join("stopped.backup");
    let out = backup(&a, &file, &pass);
    assert!(out.contains("node stopped"), "backup output: {out}");
    assert_backup_audited(&a, "stopped");
    assert_eq!(mode(&file), 0o600);
    // A second backup never overwrites a file.
    let again = a.run(&["backup", "--to", file.to_str().unwrap(), "--passphrase-file", pass.to_str().unwrap()]);
    assert!(!again.status.success(), "a backup overwrote {}", file.display());

    let parent = tempfile::tempdir().unwrap();
    let target = parent.path().join("data");
    // Wrong passphrase: a clear error, nothing written.
    let out = restore(&file, &target, &wrong);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("wrong passphrase"), "wrong passphrase: {err}");
    assert!(!target.exists() && leftovers(parent.path()).is_empty(), "a failed restore left files");

    // Tampered: one byte changed in the middle, or the end cut off.
    let bytes = fs::read(&file).unwrap();
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let cut = bytes[..bytes.len() - 100].to_vec();
    for (what, b) in [("flipped", flipped), ("cut", cut)] {
        let bad = a.scratch().join(format!("{what}.backup"));
        fs::write(&bad, b).unwrap();
        let out = restore(&bad, &target, &pass);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("tampered"), "{what} archive: {err}");
        assert!(!target.exists() && leftovers(parent.path()).is_empty(), "{what}: a failed restore left files");
    }

    // A directory in use.
    fs::create_dir(&target).unwrap();
    fs::write(target.join("notes.txt"), "mine").unwrap();
    let out = restore(&file, &target, &pass);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("not empty"), "non-empty dir: {err}");
    assert_eq!(fs::read_dir(&target).unwrap().count(), 1);
    assert_eq!(fs::read_to_string(target.join("notes.txt")).unwrap(), "mine");
    // The existing node's own data dir is refused too.
    let out = restore(&file, &a.dir, &pass);
    assert!(!out.status.success(), "restored over a node");

    // Into an empty directory it works, and the node starts with what it had.
    fs::remove_file(target.join("notes.txt")).unwrap();
    let out = restore(&file, &target, &pass);
    assert!(out.status.success(), "restore: {}", String::from_utf8_lossy(&out.stderr));
    drop(a);
    let tmp = parent;
    let mut r = Node::adopt("A-restored", tmp, target);
    r.start();
    has_meetings(&r, &[&m]).unwrap();
    audit_verifies(&r);
}
