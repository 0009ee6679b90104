//! `liaison message ...`: communications between the liaison officers.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::Subcommand;
use reqwest::Method;

use super::{output, read_text_file};
use crate::api::{Created, ThreadSummary};
use crate::client::Client;
use crate::workspace::thread::Thread;

/// Message commands.
#[derive(Subcommand, Debug)]
pub enum MessageCmd {
    /// Send a message: a new thread, or a reply in one with --thread. Prints the thread id.
    Send {
        /// Subject of a new thread (or give it with --title-en / --title-ru).
        #[arg(long, required_unless_present_any = ["thread", "title_en", "title_ru"])]
        subject: Option<String>,
        /// The subject of a new thread in English and in Russian.
        #[command(flatten)]
        titles: super::titles::TitleArgs,
        /// The message (- is stdin).
        #[arg(long, value_name = "FILE")]
        text_file: PathBuf,
        /// Reply in this thread (id or unique prefix).
        #[arg(long, value_name = "THREAD")]
        thread: Option<String>,
        /// Attach a provided item held here: its id or a unique prefix (repeatable). Only the
        /// id goes into the message; officers who may not read the item see "restricted item".
        #[arg(long, value_name = "ITEM")]
        attach: Vec<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List threads, or the messages of one with --thread.
    List {
        /// The thread.
        #[arg(long, value_name = "THREAD")]
        thread: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// A thread's history: who posted what and when (Party and node proven, officer as each
    /// change says), each message shown as inserted words.
    History {
        /// The thread (id or unique prefix).
        thread: String,
        /// Show the newest this many entries.
        #[arg(long, default_value_t = 200)]
        limit: usize,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(dir: &Path, cmd: &MessageCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        MessageCmd::Send { subject, titles, text_file, thread, attach, json } => {
            let text = read_text_file(text_file)?;
            let id = match (thread, subject) {
                (Some(t), _) => {
                    let t: Thread = c
                        .send(
                            Method::POST,
                            &format!("/api/threads/{t}/messages"),
                            &serde_json::json!({ "text": text, "attach": attach }),
                        )
                        .await?;
                    t.id
                }
                (None, s) if s.is_some() || !titles.titles().is_empty() => {
                    let t = titles.titles();
                    let body = serde_json::json!({
                        "subject": s.clone().unwrap_or_default(),
                        "title_en": t.title_en,
                        "title_ru": t.title_ru,
                        "text": text,
                        "attach": attach,
                    });
                    let r: Created = c.send(Method::POST, "/api/threads", &body).await?;
                    r.id
                }
                (None, _) => bail!("--subject (or --title-en / --title-ru) is required for a new thread"),
            };
            if *json {
                output::json(&serde_json::json!({ "thread": id }))
            } else {
                println!("{id}");
                Ok(())
            }
        }
        MessageCmd::List { thread: None, json } => {
            let v: Vec<ThreadSummary> = c.get("/api/threads").await?;
            output::list(&v, *json, &["THREAD", "MESSAGES", "LAST", "BY", "SUBJECT"], |t| {
                vec![
                    output::short(&t.id),
                    t.messages.to_string(),
                    output::opt(&t.last_at),
                    t.last_by.as_ref().map(|a| format!("{} ({})", a.officer, a.party)).unwrap_or_default(),
                    super::titles::line(&t.subject, &t.titles),
                ]
            })
        }
        MessageCmd::History { thread, limit, json } => {
            let v: Vec<crate::engine::HistoryEntry> =
                c.get(&format!("/api/threads/{}/history?limit={limit}", crate::client::encode(thread))).await?;
            output::history(&v, *json)
        }
        MessageCmd::List { thread: Some(t), json } => {
            let t: Thread = c.get(&format!("/api/threads/{t}")).await?;
            if *json {
                return output::json(&t);
            }
            println!("{}  [{}]", super::titles::line(&t.subject, &t.titles), t.id);
            for m in &t.messages {
                let who = m.author.as_ref().map(|a| format!("{} ({})", a.officer, a.party)).unwrap_or_default();
                println!();
                println!("— {who}, {}", m.at);
                for l in m.text.lines() {
                    println!("  {l}");
                }
                for a in &m.attachments {
                    println!("  attached: {}", super::meeting::attachment_line(a));
                }
            }
            Ok(())
        }
    }
}
