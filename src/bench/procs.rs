//! Node processes for the benchmark: start, pin, measure, stop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use libp2p::Multiaddr;

use crate::config::{self, NodeConfig, PeerRole, PinnedPeer};
use crate::keys;
use crate::node::run_info;

/// A `liaison serve` child process; killed if dropped while running.
pub struct Proc {
    child: tokio::process::Child,
    dir: PathBuf,
}

impl Proc {
    /// Starts `exe serve` on `dir` and waits until it has written its run file.
    pub async fn serve(exe: &Path, dir: &Path) -> anyhow::Result<Proc> {
        let _ = std::fs::remove_file(dir.join(crate::node::RUN_FILE));
        let log = std::fs::File::create(dir.with_extension("log"))?;
        // A profiler before a node's command, e.g. `LIAISON_BENCH_WRAP_B="heaptrack -o /tmp/b"`
        // for the node in `…/b` (`_A` for `…/a`): how the README's memory figures were
        // explained (its RSS is then the wrapper's).
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("").to_uppercase();
        let wrap: Vec<String> = match std::env::var(format!("LIAISON_BENCH_WRAP_{name}")) {
            Ok(w) if name == "A" || name == "B" => w.split_whitespace().map(String::from).collect(),
            _ => Vec::new(),
        };
        let mut cmd = match wrap.split_first() {
            Some((first, rest)) => {
                let mut c = tokio::process::Command::new(first);
                c.args(rest).arg(exe);
                c
            }
            None => tokio::process::Command::new(exe),
        };
        let child = cmd
            .args(["serve", "--data-dir"])
            .arg(dir)
            .env("LIAISON_LOG", std::env::var("LIAISON_BENCH_LOG").unwrap_or_else(|_| "warn".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let mut p = Proc { child, dir: dir.to_path_buf() };
        let t0 = Instant::now();
        while run_info(dir).is_none() {
            if let Some(status) = p.child.try_wait()? {
                bail!("the node on {} exited ({status}); see {}", dir.display(), dir.with_extension("log").display());
            }
            if t0.elapsed() > Duration::from_secs(30) {
                bail!("the node on {} did not start within 30 s", dir.display());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Ok(p)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// The addresses it listens on.
    pub fn listen(&self) -> anyhow::Result<Vec<Multiaddr>> {
        let info = run_info(&self.dir).context("run file gone")?;
        info.listen.iter().map(|a| a.parse().context("listen address")).collect()
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on our own child's pid with a valid signal number.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
        }
        let t0 = Instant::now();
        let status = tokio::time::timeout(Duration::from_secs(180), self.child.wait())
            .await
            .with_context(|| format!("the node on {} did not stop within 180 s of SIGTERM", self.dir.display()))??;
        if t0.elapsed() > Duration::from_secs(5) {
            eprintln!("(the node on {} took {:.1} s to stop)", self.dir.display(), t0.elapsed().as_secs_f64());
        }
        if !status.success() {
            bail!("node on {} exited with {status}", self.dir.display());
        }
        Ok(())
    }
}

/// Pins the node of `other` in `dir`'s config, as a Party peer at `addrs`.
pub fn pin(dir: &Path, other: &Path, addrs: Option<&[Multiaddr]>) -> anyhow::Result<()> {
    let k = keys::load(other)?.public();
    let party_id = NodeConfig::load(other)?.party.id;
    if NodeConfig::load(dir)?.peer(&k.peer_id).is_some() {
        config::remove_peer(dir, &k.peer_id)?;
    }
    let peer = PinnedPeer {
        party_id,
        peer_id: k.peer_id,
        addrs: addrs.map(<[Multiaddr]>::to_vec).unwrap_or_default(),
        role: PeerRole::Party,
        signing_key: Some(k.signing_key),
        sealing_key: Some(k.sealing_key),
    };
    config::add_peer(dir, &peer)?;
    Ok(())
}

/// Copies a directory tree, keeping permissions (keys stay 0600).
pub fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    std::fs::set_permissions(to, std::fs::metadata(from)?.permissions())?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

/// Peak resident set size of a process (VmHWM), MiB.
pub fn peak_rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}
