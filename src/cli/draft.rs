//! `liaison draft ...`: drafts of the working groups, in every language of the draft, from
//! first text to two signed originals.

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, Subcommand};
use reqwest::Method;

use super::{output, read_text_file};
use crate::api::{Created, DraftAction, DraftSummary};
use crate::client::Client;
use crate::workspace::draft::{Draft, DraftState, NewDraft, ProvisionKind, Verification};

/// Draft commands.
#[derive(Subcommand, Debug)]
pub enum DraftCmd {
    /// Start a draft in a working group; prints its id. The text's paragraphs (separated by a
    /// blank line) become its provisions; a paragraph starting "Article"/"Статья" is an article.
    Create {
        /// The working group (id or unique prefix).
        #[arg(long, value_name = "GROUP")]
        group: String,
        /// Title (or give it with --title-en / --title-ru).
        #[arg(long, required_unless_present_any = ["title_en", "title_ru"])]
        title: Option<String>,
        #[command(flatten)]
        titles: super::titles::TitleArgs,
        /// Language of the initial text.
        #[arg(long, default_value = "en")]
        lang: String,
        /// The draft's languages, comma-separated [default: from node.toml, en,ru].
        #[arg(long, value_name = "CODES", value_delimiter = ',')]
        languages: Vec<String>,
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
    /// Show a draft: every provision in every language, stale marks, state, version.
    Show {
        /// Its id (or a unique prefix).
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace a draft's whole text in one language with a file's: its paragraphs map onto the
    /// provisions in order. Give --base, the version `draft show` printed when you took the
    /// text, and whatever others changed since stays wherever you did not edit.
    Edit {
        /// Its id (or a unique prefix).
        id: String,
        /// The new text (- is stdin).
        #[arg(long, value_name = "FILE")]
        text_file: PathBuf,
        /// Its language [default: the draft's first].
        #[arg(long)]
        lang: Option<String>,
        /// The version the file was edited from (printed by `draft show`).
        #[arg(long, value_name = "VERSION")]
        base: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stale provisions, open suggestions, approvals and what execution still needs.
    Status {
        /// Its id (or a unique prefix).
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Who changed what and when (Party and node proven, officer as each change says), with
    /// each Party's record (approvals, signatures, comments, suggestions).
    History {
        /// Its id (or a unique prefix).
        id: String,
        /// Only what concerns this provision (id, prefix or label such as a2); its successive
        /// texts are shown word by word ([-deleted-]{+inserted+}).
        #[arg(long, value_name = "P")]
        provision: Option<String>,
        /// Compare the provisions' texts in this language only (en, ru ...).
        #[arg(long, value_name = "LANG")]
        lang: Option<String>,
        /// Show the newest this many entries.
        #[arg(long, default_value_t = 200)]
        limit: usize,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add, move or remove provisions.
    #[command(subcommand)]
    Provision(ProvisionCmd),
    /// Set one provision's text in one language (applied as minimal edits).
    Text {
        /// The draft.
        id: String,
        #[command(flatten)]
        at: ProvisionArg,
        /// The language.
        #[arg(long)]
        lang: String,
        /// The text (- is stdin).
        #[arg(long, value_name = "FILE")]
        text_file: PathBuf,
        /// The version the text was edited from (printed by `draft show`). A label in
        /// --provision is then read in that version's numbering: "a1" is what was Article 1
        /// when you read it, even if a provision moved since.
        #[arg(long, value_name = "VERSION")]
        base: Option<String>,
    },
    /// Clear a provision's stale marks, once the languages say the same again.
    Align {
        /// The draft.
        id: String,
        #[command(flatten)]
        at: ProvisionArg,
    },
    /// Comment on a provision.
    Comment {
        /// The draft.
        id: String,
        #[command(flatten)]
        at: ProvisionArg,
        /// The comment.
        #[arg(long)]
        text: String,
        /// The comment (of either Party) this one answers.
        #[arg(long, value_name = "COMMENT")]
        reply_to: Option<String>,
    },
    /// Suggest a text for a provision in one language; it changes nothing until accepted.
    Suggest {
        /// The draft.
        id: String,
        #[command(flatten)]
        at: ProvisionArg,
        /// The language.
        #[arg(long)]
        lang: String,
        /// The suggested text (- is stdin).
        #[arg(long, value_name = "FILE")]
        text_file: PathBuf,
    },
    /// Accept or reject a suggestion.
    #[command(subcommand)]
    Suggestion(SuggestionCmd),
    /// What changed in one language between two versions (names or versions).
    Diff {
        /// The draft.
        id: String,
        /// The language [default: the draft's first].
        #[arg(long)]
        lang: Option<String>,
        /// From this version [default: the last named one].
        #[arg(long, value_name = "REV")]
        from: Option<String>,
        /// To this version [default: now].
        #[arg(long, value_name = "REV")]
        to: Option<String>,
        /// Print the comparison as JSON: {lang, from, to, diff: [{op: equal|insert|delete, text}]}.
        #[arg(long)]
        json: bool,
    },
    /// Name the current version, such as "second reading".
    Version {
        /// The draft.
        id: String,
        /// The name.
        #[arg(long)]
        name: String,
    },
    /// Put the draft to review.
    Review {
        /// The draft.
        id: String,
    },
    /// Approve the draft as it stands, for our Party. Any later edit voids the approval.
    Approve {
        /// The draft.
        id: String,
    },
    /// Sign the agreed draft for our Party; with both Parties' signatures it is executed and
    /// frozen.
    Sign {
        /// The draft.
        id: String,
    },
    /// Withdraw the draft.
    Withdraw {
        /// The draft.
        id: String,
    },
    /// Check an executed draft: both signatures against the pinned keys, and the stored text
    /// against the signed hash and this node's original. Exits non-zero on any difference.
    Verify {
        /// The draft.
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write the original of an executed draft in one language as a PDF: title, the Parties by
    /// their full names in that language, preamble, numbered articles, both signature blocks
    /// and the content hash with how to verify it. The same signed state always makes the same
    /// file, on either Party's node. A draft not yet signed by every Party is refused (`draft
    /// export` shows a draft at any stage).
    Original {
        /// The draft.
        id: String,
        /// The language of the original: one of the draft's (en, ru).
        #[arg(long)]
        lang: String,
        /// The file format.
        #[arg(long, default_value = "pdf", value_parser = ["pdf"])]
        format: String,
        /// Write here (`-` for standard output) [default: ID-original-LANG.pdf in the current
        /// directory].
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Print what was written (file, bytes, SHA-256 of the file) as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write both language texts side by side, with the state, approvals and signature block.
    Export {
        /// The draft.
        id: String,
        /// md or html.
        #[arg(long, default_value = "html", value_parser = ["md", "html"])]
        format: String,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

/// Which provision: its id (or a unique prefix), or its label as shown ("a3" for Article 3,
/// "p1" for Preamble 1).
#[derive(Args, Debug)]
pub struct ProvisionArg {
    /// The provision: its id (8 hex digits, as `draft show` prints in brackets; it never
    /// changes), a unique prefix of at least 4 of them, or its label in the numbering `draft show`
    /// prints now ("a3", "article 3" or "статья 3" for the third article, "p1" for the first
    /// preamble paragraph). After a move a label names whatever provision is at that number
    /// (`draft text --base` reads it in the version you saw); scripts should use ids. A reference
    /// that is both a label and an id prefix is refused.
    #[arg(long, value_name = "P")]
    provision: String,
}

/// Provision commands.
#[derive(Subcommand, Debug)]
pub enum ProvisionCmd {
    /// Add a provision (empty, or with a text in one language). Prints the draft.
    Add {
        /// The draft.
        id: String,
        /// After this provision [default: last].
        #[arg(long, value_name = "P", conflicts_with = "first")]
        after: Option<String>,
        /// First in the draft.
        #[arg(long)]
        first: bool,
        /// Its kind.
        #[arg(long, value_enum, default_value_t = ProvisionKind::Article)]
        kind: ProvisionKind,
        /// Language of --text-file.
        #[arg(long, requires = "text_file")]
        lang: Option<String>,
        /// Its text (- is stdin).
        #[arg(long, value_name = "FILE")]
        text_file: Option<PathBuf>,
    },
    /// Move a provision.
    Move {
        /// The draft.
        id: String,
        #[command(flatten)]
        at: ProvisionArg,
        /// After this provision [default: last].
        #[arg(long, value_name = "P", conflicts_with = "first")]
        after: Option<String>,
        /// First in the draft.
        #[arg(long)]
        first: bool,
    },
    /// Remove a provision.
    Remove {
        /// The draft.
        id: String,
        #[command(flatten)]
        at: ProvisionArg,
    },
}

/// Suggestion commands.
#[derive(Subcommand, Debug)]
pub enum SuggestionCmd {
    /// Apply a suggestion (as made to the version it was made from).
    Accept {
        /// The suggestion's id.
        id: String,
    },
    /// Reject a suggestion.
    Reject {
        /// The suggestion's id.
        id: String,
    },
}

async fn act(c: &Client, id: &str, a: &DraftAction) -> anyhow::Result<Draft> {
    Ok(c.send(Method::POST, &format!("/api/drafts/{id}/actions"), a).await?)
}

pub async fn run(dir: &Path, cmd: &DraftCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    let done = |d: &Draft, what: &str| {
        println!("{what}: {} [{}], version {}", d.title, d.state, d.version);
        Ok(())
    };
    match cmd {
        DraftCmd::Create { group, title, titles, lang, languages, text_file, json } => {
            let text = text_file.as_deref().map(read_text_file).transpose()?.unwrap_or_default();
            let new = NewDraft {
                group: group.clone(),
                title: title.clone().unwrap_or_default(),
                titles: titles.titles(),
                lang: lang.clone(),
                text,
                languages: languages.clone(),
                parties: vec![],
            };
            let r: Created = c.send(Method::POST, "/api/drafts", &new).await?;
            output::created(&r, *json)
        }
        DraftCmd::List { group, json } => {
            let path = match group {
                Some(g) => format!("/api/drafts?group={g}"),
                None => "/api/drafts".into(),
            };
            let v: Vec<DraftSummary> = c.get(&path).await?;
            output::list(&v, *json, &["ID", "GROUP", "STATE", "LANGS", "PROVISIONS", "STALE", "TITLE"], |d| {
                vec![
                    output::short(&d.id),
                    output::short(&d.group),
                    d.state.to_string(),
                    d.languages.join(","),
                    d.provisions.to_string(),
                    d.stale.to_string(),
                    super::titles::line(&d.title, &d.titles),
                ]
            })
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
        DraftCmd::Edit { id, text_file, lang, base, json } => {
            let text = read_text_file(text_file)?;
            let body = serde_json::json!({ "text": text, "base": base, "lang": lang });
            let d: Draft = c.send(Method::PUT, &format!("/api/drafts/{id}/text"), &body).await?;
            if *json {
                output::json(&d)
            } else {
                print_draft(&d);
                Ok(())
            }
        }
        DraftCmd::Status { id, json } => {
            let d: Draft = c.get(&format!("/api/drafts/{id}")).await?;
            if *json {
                let stale: Vec<_> = d.provisions.iter().filter(|p| !p.stale.is_empty()).collect();
                return output::json(&serde_json::json!({
                    "id": d.id, "state": d.state, "stale": stale, "open_suggestions": d.open_suggestions,
                    "approvals": d.approvals, "signatures": d.signatures, "parties": d.parties, "version": d.version,
                }));
            }
            print_status(&d);
            Ok(())
        }
        DraftCmd::History { id, provision, lang, limit, json } => {
            let mut path = format!("/api/drafts/{}/history?limit={limit}", crate::client::encode(id));
            if let Some(p) = provision {
                path.push_str(&format!("&provision={}", crate::client::encode(p)));
            }
            if let Some(l) = lang {
                path.push_str(&format!("&lang={}", crate::client::encode(l)));
            }
            let v: Vec<crate::engine::HistoryEntry> = c.get(&path).await?;
            output::history(&v, *json)
        }
        DraftCmd::Provision(p) => {
            let (id, a) = match p {
                ProvisionCmd::Add { id, after, first, kind, lang, text_file } => {
                    let text = text_file.as_deref().map(read_text_file).transpose()?;
                    (
                        id,
                        DraftAction::AddProvision {
                            after: after.clone(),
                            first: *first,
                            kind: *kind,
                            lang: lang.clone(),
                            text,
                        },
                    )
                }
                ProvisionCmd::Move { id, at, after, first } => (
                    id,
                    DraftAction::MoveProvision { provision: at.provision.clone(), after: after.clone(), first: *first },
                ),
                ProvisionCmd::Remove { id, at } => {
                    (id, DraftAction::RemoveProvision { provision: at.provision.clone() })
                }
            };
            let d = act(&c, id, &a).await?;
            print_draft(&d);
            Ok(())
        }
        DraftCmd::Text { id, at, lang, text_file, base } => {
            let text = read_text_file(text_file)?;
            let d = act(
                &c,
                id,
                &DraftAction::Text { provision: at.provision.clone(), lang: lang.clone(), text, base: base.clone() },
            )
            .await?;
            done(&d, "text set")
        }
        DraftCmd::Align { id, at } => {
            let d = act(&c, id, &DraftAction::Align { provision: at.provision.clone() }).await?;
            done(&d, "aligned")
        }
        DraftCmd::Comment { id, at, text, reply_to } => {
            let d = act(
                &c,
                id,
                &DraftAction::Comment {
                    provision: at.provision.clone(),
                    text: text.clone(),
                    reply_to: reply_to.clone(),
                },
            )
            .await?;
            done(&d, "commented")
        }
        DraftCmd::Suggest { id, at, lang, text_file } => {
            let text = read_text_file(text_file)?;
            let d = act(&c, id, &DraftAction::Suggest { provision: at.provision.clone(), lang: lang.clone(), text })
                .await?;
            if let Some(s) = d.open_suggestions.last() {
                println!("{}", s.id);
                println!("{}", output::word_diff(&s.diff));
            }
            Ok(())
        }
        DraftCmd::Suggestion(s) => {
            let (sid, accept) = match s {
                SuggestionCmd::Accept { id } => (id, true),
                SuggestionCmd::Reject { id } => (id, false),
            };
            let d: Draft = c
                .send(Method::POST, &format!("/api/suggestions/{sid}"), &serde_json::json!({ "accept": accept }))
                .await?;
            done(&d, if accept { "suggestion accepted" } else { "suggestion rejected" })
        }
        DraftCmd::Diff { id, lang, from, to, json } => {
            let mut q = Vec::new();
            for (k, v) in [("lang", lang), ("from", from), ("to", to)] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", crate::client::encode(v)));
                }
            }
            let path = format!("/api/drafts/{id}/diff{}{}", if q.is_empty() { "" } else { "?" }, q.join("&"));
            let d: crate::workspace::draft::Comparison = c.get(&path).await?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            } else {
                println!("{} → {} ({})", d.from, d.to, d.lang);
                if crate::workspace::word_diff::changed(&d.diff) {
                    println!("{}", output::word_diff(&d.diff));
                } else {
                    println!("no differences");
                }
            }
            Ok(())
        }
        DraftCmd::Version { id, name } => {
            let d = act(&c, id, &DraftAction::Version { name: name.clone() }).await?;
            done(&d, &format!("version {name:?} named"))
        }
        DraftCmd::Review { id } => done(&act(&c, id, &DraftAction::Review).await?, "put to review"),
        DraftCmd::Approve { id } => done(&act(&c, id, &DraftAction::Approve).await?, "approved"),
        DraftCmd::Sign { id } => done(&act(&c, id, &DraftAction::Sign).await?, "signed"),
        DraftCmd::Withdraw { id } => done(&act(&c, id, &DraftAction::Withdraw).await?, "withdrawn"),
        DraftCmd::Verify { id, json } => {
            let v: Verification = c.get(&format!("/api/drafts/{id}/verify")).await?;
            if *json {
                output::json(&v)?;
            } else if v.ok {
                println!(
                    "verified: both signatures hold over the text as stored (hash {}), which matches this node's original",
                    v.hash
                );
                for s in &v.signatures {
                    println!("  {}: key {} valid", s.party, s.fingerprint);
                }
            } else {
                println!("VERIFICATION FAILED for draft {id}:");
                for p in &v.problems {
                    println!("  - {p}");
                }
            }
            if !v.ok {
                bail!("draft {id} does not verify");
            }
            Ok(())
        }
        DraftCmd::Original { id, lang, format, output: out, json } => {
            let path = format!(
                "/api/drafts/{}/original?lang={}&format={format}",
                crate::client::encode(id),
                crate::client::encode(lang)
            );
            let mut bytes: Vec<u8> = Vec::new();
            let headers = c.download(&path, &mut bytes, |_| {}).await?;
            let named = headers
                .get(reqwest::header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split("filename=\"").nth(1))
                .map(|v| v.trim_end_matches('"').to_string())
                .filter(|n| !n.is_empty() && !n.contains(['/', '\\']))
                .unwrap_or_else(|| format!("original-{lang}.pdf"));
            let file = match out {
                Some(f) if f.as_os_str() == "-" => {
                    use std::io::Write;
                    std::io::stdout().write_all(&bytes)?;
                    return Ok(());
                }
                Some(f) => f.clone(),
                None => PathBuf::from(named),
            };
            std::fs::write(&file, &bytes)?;
            let digest = {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(&bytes))
            };
            if *json {
                return output::json(&serde_json::json!({
                    "file": file, "bytes": bytes.len(), "sha256": digest, "lang": lang,
                }));
            }
            println!("original in {lang} written to {} ({} bytes, SHA-256 {digest})", file.display(), bytes.len());
            Ok(())
        }
        DraftCmd::Export { id, format, output: out } => {
            let text = c.get_text(&format!("/api/drafts/{id}/export?format={format}")).await?;
            match out {
                Some(f) => {
                    std::fs::write(f, &text)?;
                    eprintln!("written to {}", f.display());
                }
                None => print!("{text}"),
            }
            Ok(())
        }
    }
}

fn print_status(d: &Draft) {
    println!("{} [{}]", d.title, d.state);
    let stale: Vec<_> = d.provisions.iter().filter(|p| !p.stale.is_empty()).collect();
    if stale.is_empty() {
        println!("  no stale provision");
    }
    for p in stale {
        for (lang, s) in &p.stale {
            let by = s.by.as_ref().map(|a| format!("{} ({})", a.officer, a.party)).unwrap_or_default();
            println!(
                "  stale: {} [{}] {lang}: {} changed since revision {} by {by} at {}",
                p.label, p.id, s.changed_lang, s.since_rev, s.at
            );
        }
    }
    for s in &d.open_suggestions {
        println!("  open suggestion {} on {} [{}]", s.id, s.provision, s.lang);
    }
    for p in &d.parties {
        match d.approvals.iter().find(|a| &a.party == p) {
            Some(a) if a.valid => println!("  approved by {p}"),
            Some(_) => println!("  approval of {p} void: the text changed since"),
            None => println!("  not yet approved by {p}"),
        }
    }
    for s in &d.signatures {
        println!(
            "  signed by {} (key {}){}",
            s.party,
            s.fingerprint,
            if s.matches { "" } else { " over another text" }
        );
    }
    if d.state == DraftState::UnderReview {
        println!("  to be agreed it needs: no stale provision, no open suggestion, a valid approval from each Party");
    }
}

fn print_draft(d: &Draft) {
    println!("{} [{}]", d.title, d.state);
    println!("  id        {}", d.id);
    println!("  group     {}", d.group);
    println!("  languages {}", d.languages.join(", "));
    println!("  version   {}", d.version);
    if let Some(a) = &d.updated_by {
        println!("  changed   by {} ({}) {}", a.officer, a.party, output::opt(&d.updated_at));
    }
    for p in &d.provisions {
        println!();
        println!("{} [{}]", p.label, p.id);
        for l in &d.languages {
            let stale = if p.stale.contains_key(l) { " (stale)" } else { "" };
            let text = p.texts.get(l).map(String::as_str).unwrap_or("").trim_end();
            println!("  {l}{stale}: {}", text.replace('\n', "\n      "));
        }
    }
}
