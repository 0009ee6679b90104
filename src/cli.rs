//! The `liaison` command line: sysadmin commands that work on the data dir directly, and
//! officer commands that are clients of the running node's API.

mod account;
mod audit;
mod backup;
mod bench;
mod config_check;
mod consent;
mod draft;
mod group;
mod inbox;
mod init;
mod item;
mod mandate;
mod manuals;
mod meeting;
mod message;
mod officer;
mod output;
mod peer;
pub mod refusal_words;
mod refusal_words_vault;
mod search;
mod status;
mod titles;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// The node each Party runs to cooperate under the CICA / SCO RATS Protocol.
#[derive(Parser, Debug)]
#[command(name = "liaison", version, about, long_about = None, propagate_version = true, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// The node's data directory (config, keys, store).
    #[arg(long, env = "LIAISON_DATA_DIR", global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format.
    #[arg(long, env = "LIAISON_LOG_FORMAT", global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// The officer on whose behalf officer commands act (defaults to the login name).
    #[arg(long, env = "LIAISON_OFFICER", global = true, value_name = "NAME")]
    pub officer: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written to stderr.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new node: keys, certificate, API token and a commented node.toml.
    Init(init::InitArgs),
    /// Print what another node's sysadmin needs to pin this node.
    Id(init::IdArgs),
    /// Make a new self-signed certificate for the API, for other names (a running node serves
    /// it to new connections at once).
    ApiCert(init::ApiCertArgs),
    /// Pin, list and unpin peers.
    #[command(subcommand)]
    Peer(peer::PeerCmd),
    /// Run the node until SIGINT or SIGTERM (SIGHUP applies node.toml again: peers, the API's
    /// certificate, trusted proxies; it names the changed settings that need a restart).
    Serve,
    /// Show peers, sync state, documents and store size.
    Status(status::StatusArgs),
    /// Joint working meetings and consultations.
    #[command(subcommand)]
    Meeting(meeting::MeetingCmd),
    /// Joint working groups.
    #[command(subcommand)]
    Group(group::GroupCmd),
    /// Drafts of the working groups.
    #[command(subcommand)]
    Draft(draft::DraftCmd),
    /// The liaison officers' registry.
    #[command(subcommand)]
    Officer(officer::OfficerCmd),
    /// Communications between the liaison officers.
    #[command(subcommand)]
    Message(message::MessageCmd),
    /// What needs you: new messages, consent requests to answer, drafts to approve or sign,
    /// meetings changed, stale provisions in drafts you edit. Unread ones are marked `*`.
    Inbox(inbox::InboxArgs),
    /// Items of information one Party provides: encrypted, signed, partitioned by provider.
    #[command(subcommand)]
    Item(item::ItemCmd),
    /// The provider's consent to pass an item on to a third party.
    #[command(subcommand)]
    Consent(consent::ConsentCmd),
    /// Say whether an item may go to a peer now, and why not.
    Explain {
        /// The item (id or unique prefix).
        item: String,
        /// The peer: its peer id, or its party id if one node of that party is pinned.
        #[arg(long, value_name = "PEER")]
        to: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Member-State mandates that activities cite.
    #[command(subcommand)]
    Mandate(mandate::MandateCmd),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Officers' accounts for the web app (admins; works with the node stopped too).
    #[command(subcommand)]
    Account(account::AccountCmd),
    /// Benchmark real nodes on loopback over the peerbench workloads (use a release build).
    Bench(bench::BenchArgs),
    /// Check the node's configuration, keys and certificate without starting it.
    #[command(subcommand)]
    Config(config_check::ConfigCmd),
    /// Write shell completions to standard output (bash, zsh, fish, elvish, powershell).
    Completions(manuals::CompletionArgs),
    /// Write the man page liaison(1) to standard output (roff; `liaison man | man -l -`).
    Man,
    /// Write an encrypted backup of the node (store, accounts, node.toml, keys), running or
    /// stopped.
    Backup(backup::BackupArgs),
    /// Restore a backup into a new data dir (--data-dir, which must not exist or be empty).
    Restore(backup::RestoreArgs),
    /// Search meetings, groups, drafts (every provision, every language), messages and the
    /// titles of the items this officer may read, with English and Russian stemming.
    Search(search::SearchArgs),
}

/// What `liaison` exits with, for scripts, monitoring checks and service managers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// It worked.
    Ok = 0,
    /// Any other error (bad input, a file that cannot be read, the node failed).
    Error = 1,
    /// The command line is wrong (clap's own code).
    Usage = 2,
    /// The node is not running (`status` still prints what it can tell without it).
    NotRunning = 3,
    /// Refused: wrong token or login, the officer's role, or the policy.
    Refused = 4,
    /// What was named does not exist.
    NotFound = 5,
    /// In use or in conflict: another process holds the data dir (a node serves it, so a second
    /// `serve` exits with this), or the node's state does not allow it now.
    InUse = 6,
}

/// The exit codes, as `liaison --help` lists them.
const EXIT_CODES_HELP: &str = "Exit codes:
  0  ok
  1  error
  2  usage: the command line is wrong
  3  the node is not running (status still prints what it can)
  4  refused: token or login, role, or policy
  5  not found
  6  in use or conflict: a node already serves the data dir, or the state does not allow it now";

/// An error that was already told (or needs no words): only its exit code remains.
#[derive(Debug, thiserror::Error)]
#[error("exit code {0:?}")]
pub struct Quiet(pub Code);

impl Code {
    /// The code for an error that ended a command: found among the typed errors it carries.
    pub fn of(e: &anyhow::Error) -> Code {
        use crate::client::ClientError;
        use crate::store::{LockError, StoreError};
        for cause in e.chain() {
            if let Some(Quiet(c)) = cause.downcast_ref::<Quiet>() {
                return *c;
            }
            if let Some(c) = cause.downcast_ref::<ClientError>() {
                return match c {
                    ClientError::NoNode { .. } => Code::NotRunning,
                    ClientError::Api { status: 401 | 403, .. } => Code::Refused,
                    ClientError::Api { status: 404, .. } => Code::NotFound,
                    ClientError::Api { status: 409, .. } => Code::InUse,
                    _ => Code::Error,
                };
            }
            // thiserror's `transparent` hides the lock error from the chain: looked for by hand.
            let locked = cause.downcast_ref::<LockError>().is_some()
                || matches!(cause.downcast_ref::<StoreError>(), Some(StoreError::Locked(_)))
                || matches!(
                    cause.downcast_ref::<crate::node::NodeError>(),
                    Some(crate::node::NodeError::Store(StoreError::Locked(_)))
                );
            if locked {
                return Code::InUse;
            }
        }
        Code::Error
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    // A command's output piped into `head` or `grep -q` ends quietly when the reader goes, as
    // other Unix tools do, instead of panicking on the closed pipe. Not for the node and the
    // bench: they write to sockets and must get EPIPE as an error, never die of the signal. Nor
    // for `item share`: the node may refuse an upload (a mandate, a third party's node) before
    // the whole file is sent, and the refusal must be read and said, not lost to the signal.
    let uploads = matches!(cli.command, Command::Item(item::ItemCmd::Share { .. }));
    if !matches!(cli.command, Command::Serve | Command::Bench(_)) && !uploads {
        // SAFETY: at start, before any thread is spawned; SIG_DFL is a valid disposition.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let code = Code::of(&e);
            if e.downcast_ref::<Quiet>().is_none() {
                eprintln!("error: {e:#}");
            }
            ExitCode::from(code as u8)
        }
    }
}

/// How much lower the API's threads run than the engine's and the network's (the nice value
/// the runtime's workers and blocking threads take).
const API_NICE: i32 = 5;

/// The node's runtime. Its threads serve the API: pages and lists, which can keep both cores
/// busy (two officers' dashboards over 10,000 meetings). The engine and the network run on
/// threads of their own, started from the main thread at normal priority; the API's threads
/// yield to them, so that a keystroke crossing to the other node does not wait behind a list.
/// Lowering one's own priority needs no privilege.
fn serve_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(|| {
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            // SAFETY: sets the calling thread's nice value (Linux keeps one per thread).
            unsafe {
                libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, API_NICE);
            }
        })
        .build()
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    // automerge instruments its loads with INFO spans whose arguments are formatted when
    // enabled: costly on a hot path and of no use to a sysadmin, so they stay off unless asked.
    let spec = std::env::var("LIAISON_LOG").unwrap_or_else(|_| "info,libp2p=warn,yamux=warn".into());
    let spec = if spec.contains("automerge") { spec } else { format!("{spec},automerge=warn") };
    let filter = EnvFilter::try_new(&spec).unwrap_or_else(|_| EnvFilter::new("info,automerge=warn"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = || -> anyhow::Result<PathBuf> {
        cli.data_dir.clone().ok_or_else(|| {
            anyhow::anyhow!("--data-dir DIR (or LIAISON_DATA_DIR) is required: the node's data directory")
        })
    };
    let officer =
        || cli.officer.clone().or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "officer".to_string());
    let rt = || tokio::runtime::Builder::new_multi_thread().enable_all().build();
    match &cli.command {
        Command::Init(a) => init::init(&data_dir()?, a),
        Command::Id(a) => init::id(&data_dir()?, a),
        Command::ApiCert(a) => init::api_cert(&data_dir()?, a),
        Command::Peer(c) => rt()?.block_on(peer::run(&data_dir()?, c, &officer())),
        Command::Serve => {
            let dir = data_dir()?;
            serve_runtime()?.block_on(liaison_serve(&dir))
        }
        Command::Status(a) => rt()?.block_on(status::run(&data_dir()?, a, &officer())),
        Command::Meeting(c) => rt()?.block_on(meeting::run(&data_dir()?, c, &officer())),
        Command::Group(c) => rt()?.block_on(group::run(&data_dir()?, c, &officer())),
        Command::Draft(c) => rt()?.block_on(draft::run(&data_dir()?, c, &officer())),
        Command::Officer(c) => rt()?.block_on(officer::run(&data_dir()?, c, &officer())),
        Command::Message(c) => rt()?.block_on(message::run(&data_dir()?, c, &officer())),
        Command::Inbox(a) => rt()?.block_on(inbox::run(&data_dir()?, a, &officer())),
        Command::Bench(a) => rt()?.block_on(bench::run(a)),
        Command::Item(c) => rt()?.block_on(item::run(&data_dir()?, c, &officer())),
        Command::Consent(c) => rt()?.block_on(consent::run(&data_dir()?, c, &officer())),
        Command::Explain { item, to, json } => rt()?.block_on(item::explain(&data_dir()?, item, to, *json, &officer())),
        Command::Mandate(c) => rt()?.block_on(mandate::run(&data_dir()?, c, &officer())),
        Command::Audit(c) => rt()?.block_on(audit::run(&data_dir()?, c, &officer())),
        // No $USER fallback here: without --officer the node token acts as the admin it is; with
        // it, that account's role applies.
        Command::Account(c) => rt()?.block_on(account::run(&data_dir()?, c, cli.officer.as_deref().unwrap_or(""))),
        Command::Config(c) => config_check::run(&data_dir()?, c),
        Command::Completions(a) => manuals::completions(a),
        Command::Man => manuals::man(),
        Command::Backup(a) => rt()?.block_on(backup::backup(&data_dir()?, a)),
        Command::Restore(a) => backup::restore(&data_dir()?, a),
        Command::Search(a) => rt()?.block_on(search::run(&data_dir()?, a, &officer())),
    }
}

async fn liaison_serve(dir: &std::path::Path) -> anyhow::Result<()> {
    crate::node::serve(dir).await?;
    Ok(())
}

/// Reads a text argument file; `-` is standard input.
pub(crate) fn read_text_file(path: &std::path::Path) -> anyhow::Result<String> {
    use anyhow::Context;
    if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).context("reading standard input")?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
