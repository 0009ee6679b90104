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

/// CPU time a process has used (user and system), in clock ticks; `None` if it does not read.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command's name in parentheses (which may hold spaces): state is field 3, utime
    // and stime fields 14 and 15.
    let rest = stat.rsplit_once(')')?.1;
    let mut f = rest.split_whitespace().skip(11).map(|n| n.parse::<u64>().ok());
    Some(f.next()?? + f.next()??)
}

/// Waits until each of `pids` has used less than a twentieth of a core for two seconds in a row
/// (its background work after a bootstrap done: the search index, the summaries), or `within`
/// passes; returns how long it waited.
pub async fn settle(pids: &[u32], within: std::time::Duration) -> std::time::Duration {
    // SAFETY: sysconf only reads a constant of the system.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap_or(100).max(1);
    let t0 = std::time::Instant::now();
    let total = || pids.iter().map(|p| cpu_ticks(*p).unwrap_or(0)).sum::<u64>();
    let (mut last, mut quiet) = (total(), 0);
    while quiet < 2 && t0.elapsed() < within {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = total();
        // Less than 5 % of one core over the second, for every process together.
        quiet = if now.saturating_sub(last) * 20 < hz { quiet + 1 } else { 0 };
        last = now;
    }
    t0.elapsed()
}
