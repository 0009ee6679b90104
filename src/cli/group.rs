//! `liaison group ...`: joint working groups and their members.

use std::path::Path;

use clap::Subcommand;
use reqwest::Method;

use super::{meeting::parse_person, output};
use crate::api::Created;
use crate::client::Client;
use crate::workspace::group::{Group, GroupPatch, NewGroup, NewMember};

/// Working group commands.
#[derive(Subcommand, Debug)]
pub enum GroupCmd {
    /// Establish a working group; prints its id.
    Create {
        /// Name (or give it with --title-en / --title-ru).
        #[arg(long, required_unless_present_any = ["title_en", "title_ru"])]
        name: Option<String>,
        #[command(flatten)]
        titles: super::titles::TitleArgs,
        /// What it is to develop proposals on.
        #[arg(long)]
        mandate: String,
        /// The Member-State mandate (recorded with `liaison mandate add`) that the establishment
        /// cites.
        #[arg(long, value_name = "REF")]
        mandate_ref: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the working groups.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one group with its members.
    Show {
        /// Its id (or a unique prefix).
        id: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a group: name, mandate, members.
    Update {
        /// Its id (or a unique prefix).
        id: String,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        titles: super::titles::TitleArgs,
        /// New mandate.
        #[arg(long)]
        mandate: Option<String>,
        /// Add a member as NAME:PARTY or NAME:PARTY:ROLE (repeatable).
        #[arg(long, value_name = "NAME:PARTY[:ROLE]", value_parser = parse_person)]
        add_member: Vec<crate::workspace::meeting::NewParticipant>,
        /// Remove a member by id (repeatable).
        #[arg(long, value_name = "ID")]
        remove_member: Vec<String>,
        /// Cite this Party's Member-State mandate (recorded with `liaison mandate add`) for the
        /// change, as `group create --mandate-ref` does; each Party cites its own ("" takes
        /// ours back).
        #[arg(long, value_name = "REF")]
        mandate_ref: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(dir: &Path, cmd: &GroupCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        GroupCmd::Create { name, titles, mandate, mandate_ref, json } => {
            let r: Created = c
                .send(
                    Method::POST,
                    "/api/groups",
                    &NewGroup {
                        name: name.clone().unwrap_or_default(),
                        titles: titles.titles(),
                        mandate: mandate.clone(),
                        mandate_ref: mandate_ref.clone(),
                    },
                )
                .await?;
            output::created(&r, *json)
        }
        GroupCmd::List { json } => {
            let v: Vec<Group> = c.get("/api/groups").await?;
            output::list(&v, *json, &["ID", "NAME", "MEMBERS", "MANDATE"], |g| {
                vec![
                    output::short(&g.id),
                    super::titles::line(&g.name, &g.titles),
                    g.members.len().to_string(),
                    g.mandate.clone(),
                ]
            })
        }
        GroupCmd::Show { id, json } => {
            let g: Group = c.get(&format!("/api/groups/{id}")).await?;
            if *json {
                output::json(&g)
            } else {
                print_group(&g);
                Ok(())
            }
        }
        GroupCmd::Update { id, name, titles, mandate, add_member, remove_member, mandate_ref, json } => {
            let patch = GroupPatch {
                name: name.clone(),
                titles: titles.titles(),
                mandate: mandate.clone(),
                add_members: add_member
                    .iter()
                    .map(|p| NewMember { name: p.name.clone(), party: p.party.clone(), role: p.role.clone() })
                    .collect(),
                remove_members: remove_member.clone(),
                mandate_ref: mandate_ref.clone(),
            };
            let g: Group = c.send(Method::PATCH, &format!("/api/groups/{id}"), &patch).await?;
            if *json {
                output::json(&g)
            } else {
                print_group(&g);
                Ok(())
            }
        }
    }
}

fn print_group(g: &Group) {
    println!("{}", super::titles::line(&g.name, &g.titles));
    println!("  id       {}", g.id);
    println!("  mandate  {}", g.mandate);
    if let Some(r) = &g.mandate_ref {
        println!("  set up under {r}{}", g.created_by.as_ref().map(|a| format!(" ({})", a.party)).unwrap_or_default());
    }
    for (party, r) in &g.mandate_refs {
        println!("  cited by {party}: {r}");
    }
    if let Some(a) = &g.created_by {
        println!("  set up   by {} ({}) {}", a.officer, a.party, output::opt(&g.created_at));
    }
    println!("  members");
    for m in &g.members {
        println!(
            "    {} ({}){}  [{}]",
            m.name,
            m.party,
            m.role.as_ref().map(|r| format!(", {r}")).unwrap_or_default(),
            m.id
        );
    }
}
