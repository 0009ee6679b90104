//! `liaison backup` and `liaison restore`: an encrypted backup of a node (taken inside the running
//! node, or straight from a stopped node's data dir under its lock), and its restore into a new
//! data dir. The format and what it holds are in [`crate::backup`].

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use super::output;
use crate::api::BackupRequest;
use crate::backup::{self, Manifest, Protect, Unlock};
use crate::client::{Client, ClientError};

/// Where the passphrase may also come from.
const PASSPHRASE_ENV: &str = "LIAISON_BACKUP_PASSPHRASE";

/// `liaison backup`.
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    /// Where to write the encrypted backup: a new file (never over an existing one), mode 0600.
    #[arg(long, value_name = "FILE")]
    to: PathBuf,
    /// Encrypt with the passphrase on the first line of FILE. Without it and without
    /// --recipient, the passphrase is LIAISON_BACKUP_PASSPHRASE, else asked for on the terminal.
    #[arg(long, value_name = "FILE", conflicts_with = "recipient")]
    passphrase_file: Option<PathBuf>,
    /// Encrypt to this age recipient (age1...) instead of a passphrase; repeat for several. The
    /// matching age identity file opens it (`liaison restore --identity FILE`).
    #[arg(long, value_name = "AGE1...")]
    recipient: Vec<String>,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

/// `liaison restore`.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    /// The backup to restore (written by `liaison backup`). The node is restored into
    /// --data-dir, which must not exist or be empty.
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// The passphrase is on the first line of FILE (else LIAISON_BACKUP_PASSPHRASE, else asked
    /// for on the terminal).
    #[arg(long, value_name = "FILE", conflicts_with = "identity")]
    passphrase_file: Option<PathBuf>,
    /// An age identity file whose key opens a backup encrypted with --recipient.
    #[arg(long, value_name = "FILE")]
    identity: Option<PathBuf>,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

/// The passphrase: from a file, the environment, or the terminal (twice when `confirm`).
fn passphrase(file: Option<&Path>, confirm: bool) -> anyhow::Result<SecretString> {
    let p = if let Some(f) = file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading the passphrase from {}", f.display()))?;
        text.lines().next().unwrap_or_default().to_string()
    } else if let Some(p) = std::env::var(PASSPHRASE_ENV).ok().filter(|p| !p.is_empty()) {
        p
    } else if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Backup passphrase: ").context("reading the passphrase")?;
        if confirm && rpassword::prompt_password("Again: ").context("reading the passphrase")? != p {
            anyhow::bail!("the two passphrases differ");
        }
        p
    } else {
        anyhow::bail!("no passphrase: give --passphrase-file FILE or {PASSPHRASE_ENV} (no terminal to ask on)");
    };
    if p.is_empty() {
        anyhow::bail!("the passphrase is empty");
    }
    Ok(SecretString::from(p))
}

fn bar(len: Option<u64>, what: &str) -> ProgressBar {
    let pb = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    let template = match len {
        Some(_) => "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        None => "{spinner} {msg} {bytes} {bytes_per_sec}",
    };
    pb.set_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()));
    pb.set_message(what.to_string());
    pb
}

/// `liaison backup --to FILE`.
pub async fn backup(dir: &Path, a: &BackupArgs) -> anyhow::Result<()> {
    let (protect, request) = if a.recipient.is_empty() {
        let p = passphrase(a.passphrase_file.as_deref(), true)?;
        let request = BackupRequest {
            passphrase: Some(age::secrecy::ExposeSecret::expose_secret(&p).to_string()),
            recipients: vec![],
        };
        (Protect::Passphrase(p), request)
    } else {
        (
            Protect::Recipients(backup::recipients(&a.recipient)?),
            BackupRequest { passphrase: None, recipients: a.recipient.clone() },
        )
    };
    let file = backup::create_archive_file(&a.to)?;
    let result = take(dir, &a.to, file, &protect, &request).await;
    let taken_while = match result {
        Ok(how) => how,
        Err(e) => {
            // Never leave a partial archive that looks like a backup.
            let _ = std::fs::remove_file(&a.to);
            return Err(e);
        }
    };
    let size = std::fs::metadata(&a.to).map(|m| m.len()).unwrap_or(0);
    if a.json {
        return output::json(&serde_json::json!({ "file": a.to, "bytes": size, "taken_while": taken_while }));
    }
    println!(
        "backup of {} written to {} ({size} bytes, encrypted with {}; node {taken_while})",
        dir.display(),
        a.to.display(),
        protect.describe()
    );
    println!(
        "It holds the node's and the Party's keys and the keys of the items held now: keep it safe, and destroy it when no longer needed (see the README)."
    );
    Ok(())
}

/// Takes the backup into `file`: through the running node, else from the stopped data dir.
async fn take(
    dir: &Path,
    to: &Path,
    file: std::fs::File,
    protect: &Protect,
    request: &BackupRequest,
) -> anyhow::Result<&'static str> {
    let c = Client::for_data_dir(dir, "")?;
    let mut out = tokio::fs::File::from_std(file.try_clone().context("opening the backup file")?);
    let pb = bar(None, "backup (node running)");
    let p2 = pb.clone();
    match c.post_download("/api/backup", request, &mut out, move |n| p2.inc(n)).await {
        Ok(_) => {
            pb.finish_and_clear();
            tokio::io::AsyncWriteExt::flush(&mut out).await?;
            out.sync_all().await.with_context(|| format!("writing {}", to.display()))?;
            Ok("running")
        }
        Err(ClientError::NoNode { .. }) => {
            pb.finish_and_clear();
            drop(out);
            let dir = dir.to_path_buf();
            let keys = crate::keys::load(&dir)?;
            let party = crate::config::NodeConfig::load(&dir)?.party.id.to_string();
            let staged = backup::stage_stopped(&dir)?;
            let pb = bar(Some(staged.total_bytes()), "backup (node stopped)");
            let node = keys.public().peer_id.to_string();
            let (_, f) = staged.write_archive(&node, &party, protect, std::io::BufWriter::new(file), &|n| pb.inc(n))?;
            pb.finish_and_clear();
            f.into_inner()
                .map_err(|e| e.into_error())?
                .sync_all()
                .with_context(|| format!("writing {}", to.display()))?;
            // On the node's own signed log, as the running node would have put it.
            let protected_by = protect.describe();
            let store = crate::store::Store::open(&dir)?;
            let event =
                crate::audit::Event::BackupTaken { taken_while: "stopped".into(), protected_by, items: staged.items() };
            super::account::audit_offline(&dir, &store, event)?;
            Ok("stopped")
        }
        Err(e) => {
            pb.finish_and_clear();
            Err(e).context("the node did not give a backup")
        }
    }
}

/// `liaison restore --from FILE --data-dir DIR`.
pub fn restore(dir: &Path, a: &RestoreArgs) -> anyhow::Result<()> {
    let unlock = match &a.identity {
        Some(f) => {
            let ids = age::IdentityFile::from_file(f.to_string_lossy().into_owned())
                .with_context(|| format!("reading the age identity file {}", f.display()))?
                .into_identities()
                .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
            Unlock::Identities(ids)
        }
        None => Unlock::Passphrase(passphrase(a.passphrase_file.as_deref(), false)?),
    };
    let size = std::fs::metadata(&a.from).with_context(|| format!("reading {}", a.from.display()))?.len();
    let pb = bar(Some(size), "restore");
    let m = backup::restore(&a.from, &unlock, dir, &|n| pb.inc(n));
    pb.finish_and_clear();
    let m = m?;
    if a.json {
        return output::json(&m);
    }
    print_next_steps(dir, &m);
    Ok(())
}

fn print_next_steps(dir: &Path, m: &Manifest) {
    let d = dir.display();
    println!(
        "restored node {} of {} into {d}: {} files, backup taken {} (node {})",
        m.node,
        m.party,
        m.files.len(),
        m.created,
        m.taken_while
    );
    println!("Next:");
    println!(
        "  1. Check {d}/node.toml: [network] listen, [api] listen and the peers' addresses, if this machine's differ."
    );
    println!("     If the service runs as its own user: chown -R that user {d}");
    println!("  2. Start it: liaison serve --data-dir {d}  (a store of an older version is migrated, after a copy)");
    println!("  3. It catches up with its peers: `liaison status --data-dir {d}` shows each peer in sync.");
    println!("     Deletions and revocations made since the backup are carried out again as the peers send them;");
    println!("     keep officers off until it is in sync.");
    println!("  4. Check its log: liaison audit verify --data-dir {d}");
    println!("  Officers log in again (sessions are not in backups); accounts and passwords are as they were then.");
}
