//! `liaison draft ...`: drafts of the working groups.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use reqwest::Method;

use super::{output, read_text_file};
use crate::api::{Created, DraftSummary};
use crate::client::Client;
use crate::workspace::draft::{Draft, NewDraft};

/// Draft commands.
#[derive(Subcommand, Debug)]
pub enum DraftCmd {
    /// Start a draft in a working group; prints its id.
    Create {
        /// The working group (id or unique prefix).
        #[arg(long, value_name = "GROUP")]
        group: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Language code.
        #[arg(long, default_value = "en")]
        lang: String,
        /// Initial text (- is stdin).
        #[arg(long, value_name = "FILE")]
        text_file: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List drafts.
    List {
        /// Only the drafts of this group.
        #[arg(long, value_name = "GROUP")]
        group: Option<String>,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a draft with its text.
    Show {
        /// Its id (or a unique prefix).
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace a draft's text with a file's. Give --base, the version `draft show` printed
    /// when you took the text: the edit is then applied as made to that version, and whatever
    /// others changed since stays wherever you did not edit. Without --base the file is
    /// compared with the current text, and your file wins everywhere it differs.
    Edit {
        /// Its id (or a unique prefix).
        id: String,
        /// The new text (- is stdin).
        #[arg(long, value_name = "FILE")]
        text_file: PathBuf,
        /// The version the file was edited from (printed by `draft show`).
        #[arg(long, value_name = "VERSION")]
        base: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(dir: &Path, cmd: &DraftCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        DraftCmd::Create { group, title, lang, text_file, json } => {
            let text = text_file.as_deref().map(read_text_file).transpose()?.unwrap_or_default();
            let new = NewDraft { group: group.clone(), title: title.clone(), lang: lang.clone(), text };
            let r: Created = c.send(Method::POST, "/api/drafts", &new).await?;
            if *json {
                output::json(&r)
            } else {
                println!("{}", r.id);
                Ok(())
            }
        }
        DraftCmd::List { group, json } => {
            let path = match group {
                Some(g) => format!("/api/drafts?group={g}"),
                None => "/api/drafts".into(),
            };
            let v: Vec<DraftSummary> = c.get(&path).await?;
            if *json {
                return output::json(&v);
            }
            let rows = v
                .iter()
                .map(|d| {
                    vec![
                        output::short(&d.id),
                        output::short(&d.group),
                        d.lang.clone(),
                        d.chars.to_string(),
                        d.title.clone(),
                    ]
                })
                .collect::<Vec<_>>();
            output::table(&["ID", "GROUP", "LANG", "CHARS", "TITLE"], &rows);
            Ok(())
        }
        DraftCmd::Show { id, json } => {
            let d: Draft = c.get(&format!("/api/drafts/{id}")).await?;
            if *json {
                output::json(&d)
            } else {
                print_draft(&d);
                Ok(())
            }
        }
        DraftCmd::Edit { id, text_file, base, json } => {
            let text = read_text_file(text_file)?;
            let body = serde_json::json!({ "text": text, "base": base });
            let d: Draft = c.send(Method::PUT, &format!("/api/drafts/{id}/text"), &body).await?;
            if *json {
                output::json(&d)
            } else {
                print_draft(&d);
                Ok(())
            }
        }
    }
}

fn print_draft(d: &Draft) {
    println!("{} [{}]", d.title, d.lang);
    println!("  id       {}", d.id);
    println!("  group    {}", d.group);
    println!("  version  {}", d.version);
    if let Some(a) = &d.updated_by {
        println!("  changed  by {} ({}) {}", a.officer, a.party, output::opt(&d.updated_at));
    }
    println!("---");
    print!("{}", d.text);
    if !d.text.ends_with('\n') {
        println!();
    }
}
