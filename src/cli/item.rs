//! `liaison item ...` and `liaison explain`: information one Party provides.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::Method;

use super::output;
use crate::api::{Requested, ShareMeta};
use crate::client::Client;
use crate::engine::{Citations, Explanation, Granted, ItemView};

/// Item commands.
#[derive(Subcommand, Debug)]
pub enum ItemCmd {
    /// Provide an item to the other Party: encrypted with its own key, the key sealed to the
    /// Parties, signed by our Party. Prints its id.
    Share {
        /// Title (encrypted; shown only to officers of entitled Parties).
        #[arg(long)]
        title: String,
        /// The file to provide (any size; it is streamed).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        /// Handling marking, shown in lists: free text, or a TLP 2.0 label (TLP:CLEAR,
        /// TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT, TLP:RED), which is checked.
        #[arg(long, value_name = "MARKING", default_value = "RESTRICTED", conflicts_with = "tlp")]
        marking: String,
        /// Mark it with a TLP 2.0 label instead of --marking.
        #[arg(long, value_enum, value_name = "LABEL")]
        tlp: Option<crate::marking::Tlp>,
        /// The Member-State mandate it is provided under (recorded with `liaison mandate add`).
        #[arg(long, value_name = "REF")]
        mandate: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the items held here.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Decrypt an item for reading. The provider's signature and the ciphertext are checked
    /// first; the decryption is recorded in the audit log.
    Show {
        /// Its id (or a unique prefix).
        id: String,
        /// Write the body to this file; `-` for standard output. Without it the body goes to
        /// standard output unless that is a terminal (a provided file is rarely text).
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// The meetings and messages that attach an item.
    Cited {
        /// Its id (or a unique prefix).
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// On a third party's node: the items granted to this organisation, and whether each grant
    /// stands, was revoked (by whom, when) or expired.
    Granted {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// On a third party's node: ask the providers' nodes for an item granted to us.
    Request {
        /// The item id (32 hex digits).
        id: String,
    },
    /// Delete an item our Party provided: every grant of it is revoked (third parties destroy
    /// their copies and confirm), and every Party node that holds it destroys it. Its key slots
    /// are overwritten, so nothing left on any disk opens it.
    Delete {
        /// Its id (or a unique prefix).
        id: String,
        /// Print the deletion record's id as JSON.
        #[arg(long)]
        json: bool,
    },
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}

pub async fn run(dir: &Path, cmd: &ItemCmd, officer: &str) -> anyhow::Result<()> {
    // A refusal is said in the CLI's words (with its flags), not the node's neutral ones.
    commands(dir, cmd, officer).await.map_err(super::refusal_words_vault::reword_any)
}

async fn commands(dir: &Path, cmd: &ItemCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        ItemCmd::Share { title, file, marking, tlp, mandate, json } => {
            let f = tokio::fs::File::open(file).await.with_context(|| format!("opening {}", file.display()))?;
            let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
            let marking = tlp.map(|t| t.label().to_string()).unwrap_or_else(|| marking.clone());
            // Checked here too, so that a wrong label is said before the file is sent.
            let marking = crate::marking::normalize(Some(&marking))?;
            // The title goes in the body, never in the URL (access logs keep URLs). So does the
            // file's name, kept encrypted with the title so that it is saved under it again.
            let meta = ShareMeta {
                title: title.clone(),
                marking: Some(marking),
                mandate: mandate.clone(),
                file_name: file.file_name().map(|n| n.to_string_lossy().into_owned()),
            };
            let mut head = serde_json::to_vec(&meta)?;
            head.push(b'\n');
            let pb = bar(len, "encrypting and storing");
            let pb2 = pb.clone();
            let v: ItemView = c.upload("/api/items", head, f, move |n| pb2.inc(n)).await?;
            pb.finish_and_clear();
            if *json {
                output::json(&v)
            } else {
                println!("{}", v.id);
                Ok(())
            }
        }
        ItemCmd::List { json } => {
            let v: Vec<ItemView> = c.get("/api/items").await?;
            output::list(&v, *json, &["ID", "PROVIDER", "MARKING", "SIZE", "PROVIDED", "TITLE"], |i| {
                vec![
                    output::short(&i.id),
                    i.provider.clone(),
                    i.marking.clone(),
                    human_bytes(i.bytes),
                    i.created_at.clone(),
                    match (&i.title, i.signature_ok) {
                        (_, false) => "(ALTERED: the provider's signature does not verify)".into(),
                        (Some(t), true) => t.clone(),
                        (None, true) => "(no key for this Party)".into(),
                    },
                ]
            })
        }
        ItemCmd::Show { id, output } => {
            // `--output -` asks for standard output even when it is a terminal.
            let out = output.as_ref().filter(|f| f.as_os_str() != "-");
            if output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                anyhow::bail!(
                    "not writing the item's content to the terminal: give --output FILE, or --output - to write \
                     it to standard output anyway"
                );
            }
            let path = format!("/api/items/{id}/content");
            let headers = match out {
                Some(f) => {
                    // Write beside the target and rename on success, so a refused or broken
                    // download never leaves (or clobbers) a file under the name asked for.
                    let part = part_path(f);
                    let mut file =
                        tokio::fs::File::create(&part).await.with_context(|| format!("creating {}", part.display()))?;
                    let pb = bar(0, "decrypting");
                    let pb2 = pb.clone();
                    let h = c.download(&path, &mut file, move |n| pb2.inc(n)).await;
                    pb.finish_and_clear();
                    let h = match h {
                        Ok(h) => {
                            use tokio::io::AsyncWriteExt;
                            file.flush().await?;
                            file.sync_all().await?;
                            drop(file);
                            tokio::fs::rename(&part, f)
                                .await
                                .with_context(|| format!("moving {} to {}", part.display(), f.display()))?;
                            Ok(h)
                        }
                        Err(e) => {
                            drop(file);
                            let _ = tokio::fs::remove_file(&part).await;
                            Err(e)
                        }
                    };
                    h?
                }
                None => c.download(&path, &mut tokio::io::stdout(), |_| {}).await?,
            };
            let title =
                headers.get("x-liaison-title").and_then(|v| v.to_str().ok()).map(percent_decode).unwrap_or_default();
            let provider = headers.get("x-liaison-provider").and_then(|v| v.to_str().ok()).unwrap_or("");
            eprintln!("{title} (provided by {provider})");
            if let Some(f) = out {
                eprintln!("written to {}", f.display());
            }
            Ok(())
        }
        ItemCmd::Cited { id, json } => {
            let v: Citations = c.get(&format!("/api/items/{}/citations", crate::client::encode(id))).await?;
            if *json {
                return output::json(&v);
            }
            for m in &v.meetings {
                println!("meeting  {}  {}  {}", output::short(&m.id), m.starts, m.title);
            }
            for m in &v.messages {
                let who = m.author.as_ref().map(|a| format!("{} ({})", a.officer, a.party)).unwrap_or_default();
                println!("message  {}  {}  {who}  {}", output::short(&m.thread), m.at, m.subject);
            }
            if v.meetings.is_empty() && v.messages.is_empty() {
                eprintln!("no meeting or message attaches item {}", v.item);
            }
            Ok(())
        }
        ItemCmd::Granted { json } => {
            let v: Granted = c.get("/api/granted").await?;
            if *json {
                return output::json(&v);
            }
            output::list(&v.grants, false, &["ITEM", "PROVIDER", "STATE", "SINCE", "BY", "MARKING", "TITLE"], |g| {
                let (since, by) = match (&g.revoked_at, &g.revoked_by) {
                    (Some(at), by) => (at.clone(), by.clone().unwrap_or_default()),
                    _ => (g.granted_at.clone(), g.granted_by.clone()),
                };
                vec![
                    output::short(&g.item),
                    g.provider.clone(),
                    g.state.clone(),
                    since,
                    by,
                    g.marking.clone().unwrap_or_default(),
                    g.title
                        .clone()
                        .unwrap_or_else(|| if g.held { "(restricted item)".into() } else { "(not held)".into() }),
                ]
            })
        }
        ItemCmd::Request { id } => {
            let r: Requested =
                c.send(Method::POST, &format!("/api/items/{id}/request"), &serde_json::json!({})).await?;
            println!("asked {} provider node(s); a granted item arrives by itself (`liaison item list`)", r.asked);
            Ok(())
        }
        ItemCmd::Delete { id, json } => {
            let r: crate::api::RecordMade =
                c.send(Method::DELETE, &format!("/api/items/{id}"), &serde_json::json!({})).await?;
            if *json {
                return super::output::json(&r);
            }
            println!("{}", r.id);
            eprintln!("item {id} deleted: its grants are revoked and every node that holds it destroys it");
            Ok(())
        }
    }
}

/// `dir/.NAME.liaison-part` for `dir/NAME`.
fn part_path(f: &Path) -> PathBuf {
    let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "item".into());
    f.with_file_name(format!(".{name}.liaison-part"))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// `liaison explain ITEM --to PEER`.
pub async fn explain(dir: &Path, item: &str, to: &str, json: bool, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    let e: Explanation = c.get(&format!("/api/items/{item}/explain?to={}", crate::client::encode(to))).await?;
    if json {
        return output::json(&e);
    }
    let who = e.to_party.clone().map(|p| format!("{} ({p})", e.to)).unwrap_or_else(|| e.to.clone());
    if e.allowed {
        match &e.grant {
            Some(g) => println!("yes: item {} may go to {who} under grant {g}", e.item),
            None => println!("yes: item {} may go to {who}", e.item),
        }
    } else {
        println!("no: item {} may not go to {who}: {}", e.item, e.reason.unwrap_or_default());
    }
    Ok(())
}
