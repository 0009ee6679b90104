//! `liaison inbox`: what needs this officer (new messages, consent requests to answer, drafts to
//! approve or sign, meetings changed, stale provisions), and marking it read.

use std::path::Path;

use clap::Args;
use reqwest::Method;

use super::output;
use crate::client::Client;
use crate::inbox::{Entry, EntryKind, Inbox, MarkRead, Why};

/// Options of `liaison inbox`.
#[derive(Args, Debug)]
pub struct InboxArgs {
    /// Also list what was read: every thread and meeting, and tasks already seen.
    #[arg(long)]
    all: bool,
    /// Mark this document's entries read (a thread, meeting or draft id, or a consent request
    /// id; a unique prefix will do), then list the inbox.
    #[arg(long, value_name = "ID", conflicts_with = "read_all")]
    read: Option<String>,
    /// Mark every entry read, then list the inbox.
    #[arg(long)]
    read_all: bool,
    /// Entries to list at most, unread first then the newest (the node answers at most 1,000).
    #[arg(long, value_name = "N", default_value_t = crate::inbox::DEFAULT_LIMIT)]
    limit: usize,
    /// Entries to skip first, to list the next page.
    #[arg(long, value_name = "N", default_value_t = 0)]
    offset: usize,
    /// Print as JSON: `{unread, counts: {message, consent, approval, signature, meeting, stale},
    /// total, offset, entries: [{kind, key, doc, title, by, at, why: {code, ...}, unread}]}`.
    #[arg(long)]
    json: bool,
}

/// Read state is the caller's: with --officer naming an account here, that account's; otherwise
/// the node operator's (the node token's).
pub async fn run(dir: &Path, a: &InboxArgs, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    if a.read.is_some() || a.read_all {
        let what = MarkRead { doc: a.read.clone(), all: a.read_all };
        let _: Inbox = c.send(Method::POST, "/api/inbox/read", &what).await?;
    }
    let inbox: Inbox = c.get(&format!("/api/inbox?all={}&offset={}&limit={}", a.all, a.offset, a.limit)).await?;
    if a.json {
        return output::json(&inbox);
    }
    let n = &inbox.counts;
    println!(
        "{} unread: {} messages, {} consent requests, {} to approve, {} to sign, {} meetings, {} stale",
        inbox.unread, n.message, n.consent, n.approval, n.signature, n.meeting, n.stale
    );
    let rows: Vec<Vec<String>> = inbox.entries.iter().map(row).collect();
    output::table(&["", "KIND", "ID", "WHEN", "BY", "TITLE", "WHY"], &rows);
    if let Some(note) = output::page_note("entries", a.offset, inbox.entries.len(), inbox.total) {
        println!("{note}");
    }
    Ok(())
}

fn row(e: &Entry) -> Vec<String> {
    vec![
        if e.unread { "*".into() } else { String::new() },
        serde_json::to_value(e.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        output::short(&e.doc),
        output::opt(&e.at),
        e.by.as_ref().map(|a| format!("{} ({})", a.officer, a.party)).unwrap_or_default(),
        e.title.clone(),
        // A message or meeting listed with --all was seen: that is all there is to say.
        if e.unread
            || matches!(e.kind, EntryKind::Approval | EntryKind::Signature | EntryKind::Consent | EntryKind::Stale)
        {
            why(&e.why)
        } else {
            "read".into()
        },
    ]
}

fn why(w: &Why) -> String {
    match w {
        Why::NewMessages { count: 0 } => "read".into(),
        Why::NewMessages { count } => format!("{count} new"),
        Why::NewMeeting => "new meeting".into(),
        Why::MeetingChanged => "changed".into(),
        Why::ConsentToAnswer { item, requester, third_party } => {
            format!("{requester} asks to pass item {} to {third_party}", output::short(item))
        }
        Why::AwaitingApproval => "awaiting our approval".into(),
        Why::AwaitingSignature => "awaiting our signature".into(),
        Why::StaleProvisions { provisions } => format!("stale: {}", provisions.join(", ")),
    }
}
