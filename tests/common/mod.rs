//! Harness for the end-to-end tests: real `liaison` processes on loopback, each with its own
//! data dir in a temporary directory, real stores and real TLS.
//!
//! A [`Node`] owns its data dir and its `liaison serve` process; dropping it SIGKILLs the process,
//! so a failing test leaves no orphan. Every serve's stderr is appended to `serve.log` next to the
//! data dir, and every failure message carries the logs of the nodes involved.
//!
//! The nodes log at `info`; set `LIAISON_E2E_LOG` to another `LIAISON_LOG` filter (such as
//! `info,liaison=debug`) to see more.

#![allow(dead_code)]

use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// How long a condition may take to come true.
pub const DEADLINE: Duration = Duration::from_secs(20);
/// How often it is checked.
pub const POLL: Duration = Duration::from_millis(50);
/// How long a "this never happens" check watches. Replication on loopback takes milliseconds;
/// this is two orders of magnitude more.
pub const QUIET: Duration = Duration::from_millis(2000);

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_liaison")
}

/// One node: its data dir, its log and, while it runs, its `serve` process.
pub struct Node {
    /// Short name for messages ("A", "B").
    pub name: String,
    /// The data dir.
    pub dir: PathBuf,
    /// Where `serve` writes its stderr (appended across restarts).
    pub log: PathBuf,
    child: Option<Child>,
    tmp: TempDir,
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Node {
    /// `liaison init` with port 0 for both libp2p and the API.
    pub fn init(name: &str, party_id: &str, party_name: &str) -> Node {
        let tmp = tempfile::Builder::new().prefix(&format!("liaison-e2e-{name}-")).tempdir().expect("tempdir");
        let dir = tmp.path().join("data");
        let log = tmp.path().join("serve.log");
        let node = Node { name: name.to_string(), dir, log, child: None, tmp };
        node.ok(&[
            "init",
            "--party-id",
            party_id,
            "--party-name",
            party_name,
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--api",
            "127.0.0.1:0",
        ]);
        node
    }

    /// A node on a data dir that already exists (such as a fixture the test unpacked): `dir`,
    /// inside `tmp`, which the node owns from now on. Its serve log is `tmp/serve.log`.
    pub fn adopt(name: &str, tmp: TempDir, dir: PathBuf) -> Node {
        let log = tmp.path().join("serve.log");
        Node { name: name.to_string(), dir, log, child: None, tmp }
    }

    /// A scratch directory beside the data dir (for text files, id cards).
    pub fn scratch(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `text` to a fresh file in the scratch dir and returns its path.
    pub fn text_file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.tmp.path().join(name);
        fs::write(&p, text).expect("write text file");
        p
    }

    /// Starts `liaison serve` and waits until its run.json (written by this process) says
    /// where it listens.
    pub fn start(&mut self) -> Value {
        assert!(self.child.is_none(), "{} is already running", self.name);
        let log = OpenOptions::new().create(true).append(true).open(&self.log).expect("open log");
        let child = Command::new(bin())
            .arg("--data-dir")
            .arg(&self.dir)
            .arg("serve")
            .env("LIAISON_LOG", std::env::var("LIAISON_E2E_LOG").unwrap_or_else(|_| "info".into()))
            .env_remove("LIAISON_LOG_FORMAT")
            .env_remove("LIAISON_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn liaison serve");
        let pid = child.id();
        self.child = Some(child);
        let start = Instant::now();
        loop {
            if let Some(info) = self.run_info()
                && info["pid"].as_u64() == Some(pid as u64)
            {
                return info;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                panic!("{}: `liaison serve` exited with {status} before it was up\n{}", self.name, self.logs());
            }
            if start.elapsed() > DEADLINE {
                panic!("{}: run.json did not appear within {DEADLINE:?}\n{}", self.name, self.logs());
            }
            std::thread::sleep(POLL);
        }
    }

    /// Whether a serve process of ours is running.
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// The pid of our serve process.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("node not running").id()
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(&mut self) {
        let mut c = self.child.take().expect("node not running");
        c.kill().expect("SIGKILL");
        c.wait().expect("wait");
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) {
        let mut c = self.child.take().expect("node not running");
        // SAFETY: kill(2) on the pid of a child we own and have not reaped.
        let r = unsafe { libc::kill(c.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(r, 0, "kill(SIGTERM)");
        let start = Instant::now();
        loop {
            if let Some(status) = c.try_wait().expect("try_wait") {
                assert!(status.success(), "{}: serve exited with {status} on SIGTERM\n{}", self.name, self.logs());
                return;
            }
            if start.elapsed() > DEADLINE {
                let _ = c.kill();
                let _ = c.wait();
                panic!("{}: serve did not stop within {DEADLINE:?} of SIGTERM\n{}", self.name, self.logs());
            }
            std::thread::sleep(POLL);
        }
    }

    /// What run.json says, if it exists.
    pub fn run_info(&self) -> Option<Value> {
        let b = fs::read(self.dir.join("run.json")).ok()?;
        serde_json::from_slice(&b).ok()
    }

    /// The serve log so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The serve log for a failure message (the tail, if it is long).
    pub fn logs(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        let skip = lines.len().saturating_sub(150);
        format!(
            "----- log of {} ({}{}) -----\n{}\n----- end of log of {} -----",
            self.name,
            self.log.display(),
            if skip > 0 { format!(", last 150 of {} lines", lines.len()) } else { String::new() },
            lines[skip..].join("\n"),
            self.name
        )
    }

    /// A `liaison` command on this data dir.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        c.arg("--data-dir")
            .arg(&self.dir)
            .args(args)
            .env("LIAISON_OFFICER", format!("officer-{}", self.name.to_lowercase()))
            .env("LIAISON_LOG", "warn")
            .env_remove("LIAISON_LOG_FORMAT")
            .env_remove("LIAISON_DATA_DIR")
            .stdin(Stdio::null());
        c
    }

    /// Runs a command and returns its output, whatever the exit code.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run liaison")
    }

    /// Runs a command that must succeed; returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        if !out.status.success() {
            panic!(
                "{}: `liaison {}` failed with {}\nstdout: {}\nstderr: {}\n{}",
                self.name,
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            );
        }
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs a command that prints one id (create commands) and returns it.
    pub fn id_of(&self, args: &[&str]) -> String {
        let out = self.ok(args);
        let id = out.trim().to_string();
        assert!(
            !id.is_empty() && !id.contains(char::is_whitespace),
            "{}: `liaison {}` printed {out:?}, not an id",
            self.name,
            args.join(" ")
        );
        id
    }

    /// Runs a command that must succeed and print JSON.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{}: `liaison {}` printed no JSON ({e}): {out}", self.name, args.join(" ")))
    }

    /// Like [`Node::json`], but a failure is an `Err` (for polling while a node may be down or
    /// an object not yet there).
    pub fn try_json(&self, args: &[&str]) -> Result<Value, String> {
        let out = self.run(args);
        if !out.status.success() {
            return Err(format!(
                "`liaison {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("`liaison {}` printed no JSON: {e}", args.join(" ")))
    }

    /// `liaison id --json`, saved to a file in the scratch dir, for another node's `peer add`.
    pub fn id_card(&self) -> PathBuf {
        let out = self.ok(&["id", "--json"]);
        let card: Value = serde_json::from_str(&out).expect("id --json");
        assert!(card["peer_id"].as_str().is_some_and(|p| p.starts_with("12D3Koo")), "{}: id card {card}", self.name);
        let p = self.tmp.path().join("id.json");
        fs::write(&p, out).expect("write id card");
        p
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> String {
        // `id --peer-id` works on a stopped node on port 0, whose card `id` refuses to export.
        self.ok(&["id", "--peer-id"]).trim().to_string()
    }

    /// Pins `other` here (as a Party peer, or with `--role third-party`).
    pub fn pin(&self, other: &Node, role: Option<&str>) {
        let card = other.id_card();
        let card = card.to_str().expect("utf-8 path");
        let mut args = vec!["peer", "add", "--from-id", card];
        if let Some(r) = role {
            args.extend(["--role", r]);
        }
        self.ok(&args);
    }

    /// Makes the next start listen on the port this run bound, so that peers that pinned it
    /// can still dial it after a restart (port 0 would give another one).
    pub fn keep_listen_port(&self) {
        let info = self.run_info().expect("run.json");
        let bound = info["listen"][0].as_str().expect("listen addr").to_string();
        let file = self.dir.join("node.toml");
        let text = fs::read_to_string(&file).expect("read node.toml");
        let old = r#"listen = ["/ip4/127.0.0.1/tcp/0"]"#;
        assert!(text.contains(old), "node.toml has no {old}:\n{text}");
        fs::write(&file, text.replace(old, &format!("listen = [{bound:?}]"))).expect("write node.toml");
    }

    /// `status --json`: of the running node, or what the data dir tells of a stopped one (then
    /// the command exits 3, "not running", after printing it).
    pub fn status(&self) -> Value {
        let out = self.run(&["status", "--json"]);
        let code = out.status.code();
        assert!(
            code == Some(0) || code == Some(3),
            "{}: `liaison status --json` exited {code:?}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("status --json");
        assert_eq!(code == Some(0), v["running"] == true, "{}: exit {code:?} for {v}", self.name);
        v
    }

    /// The ids of every meeting, sorted.
    pub fn meeting_ids(&self) -> Result<Vec<String>, String> {
        let v = self.try_json(&["meeting", "list", "--json"])?;
        let mut ids: Vec<String> = v
            .as_array()
            .ok_or("meeting list is not an array")?
            .iter()
            .map(|m| m["id"].as_str().unwrap_or_default().to_string())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// The text of a draft.
    pub fn draft_text(&self, id: &str) -> Result<String, String> {
        let v = self.try_json(&["draft", "show", id, "--json"])?;
        v["text"].as_str().map(str::to_string).ok_or_else(|| format!("draft show printed no text: {v}"))
    }

    /// A working group and a draft of `paragraphs` (English, one provision each) made here; the
    /// draft's id.
    pub fn new_draft(&self, paragraphs: &[&str]) -> String {
        let group =
            self.id_of(&["group", "create", "--name", "Joint working group on CFT", "--mandate", "Joint proposals"]);
        let f = self.text_file("initial-en.txt", &paragraphs.join("\n\n"));
        let f = f.to_str().expect("utf-8 path");
        let args = [
            "draft",
            "create",
            "--group",
            &group,
            "--title",
            "Joint proposals on CFT",
            "--lang",
            "en",
            "--text-file",
            f,
        ];
        self.id_of(&args)
    }

    /// How many times `needle` occurs in the serve log.
    pub fn log_count(&self, needle: &str) -> usize {
        self.log_text().matches(needle).count()
    }
}

/// A (cica) and B (sco-rats), running, pinned to each other as Parties, connected and in sync.
pub fn pair() -> (Node, Node) {
    let a = Node::init("A", "cica", "CICA Secretariat");
    let b = Node::init("B", "sco-rats", "SCO RATS Executive Committee");
    pair_of(a, b)
}

/// Starts two initialised nodes, pins each to the other as a Party, and waits until they are
/// connected and in sync.
pub fn pair_of(mut a: Node, mut b: Node) -> (Node, Node) {
    a.start();
    b.start();
    a.pin(&b, None);
    b.pin(&a, None);
    let (pa, pb) = (a.peer_id(), b.peer_id());
    eventually("A and B connected and in sync", &[&a, &b], || {
        in_sync_with(&a.status(), &pb)?;
        in_sync_with(&b.status(), &pa)
    });
    (a, b)
}

/// The logs of every node, for a failure message.
pub fn all_logs(nodes: &[&Node]) -> String {
    nodes.iter().map(|n| n.logs()).collect::<Vec<_>>().join("\n")
}

/// Polls `check` every [`POLL`] until it returns `Ok`, for at most [`DEADLINE`]. On timeout,
/// fails with `what`, the last thing `check` reported and the nodes' logs.
pub fn eventually<T>(what: &str, nodes: &[&Node], mut check: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(last) => {
                if start.elapsed() > DEADLINE {
                    panic!(
                        "timed out after {DEADLINE:?} waiting for: {what}\nlast observed: {last}\n{}",
                        all_logs(nodes)
                    );
                }
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Watches for [`QUIET`]: `check` must keep returning `Ok`; the first `Err` fails the test with
/// it and the nodes' logs. Returns how many times it checked.
pub fn never(what: &str, nodes: &[&Node], mut check: impl FnMut() -> Result<(), String>) -> usize {
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < QUIET {
        n += 1;
        if let Err(e) = check() {
            panic!("this must not happen: {what}\nobserved: {e}\n{}", all_logs(nodes));
        }
        std::thread::sleep(POLL);
    }
    n
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap_or_else(|e| panic!("read_dir {}: {e}", d.display())) {
            let e = e.expect("dir entry");
            let t = e.file_type().expect("file type");
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// The files under `dir` whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let needle = needle.as_bytes();
    files_under(dir)
        .into_iter()
        .filter(|f| fs::read(f).map(|b| b.windows(needle.len()).any(|w| w == needle)).unwrap_or(false))
        .collect()
}

/// The status entry of the peer with `peer_id`, if the node lists it.
pub fn peer_entry<'a>(status: &'a Value, peer_id: &str) -> Option<&'a Value> {
    status["peers"].as_array()?.iter().find(|p| p["peer_id"].as_str() == Some(peer_id))
}

/// Ok when `status` shows `peer_id` connected and every shared document in sync.
pub fn in_sync_with(status: &Value, peer_id: &str) -> Result<(), String> {
    let p = peer_entry(status, peer_id).ok_or_else(|| format!("peer {peer_id} not in status: {status}"))?;
    let ok = p["connected"] == true && p["behind"] == 0 && p["in_sync"] == p["shared"];
    if ok { Ok(()) } else { Err(format!("peer entry {p}")) }
}
