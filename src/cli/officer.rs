//! `liaison officer ...`: the liaison officers' registry.

use std::path::Path;

use clap::Subcommand;
use reqwest::Method;

use super::output;
use crate::api::Created;
use crate::client::Client;
use crate::ids::PartyId;
use crate::workspace::registry::{NewOfficer, Officer};

/// Registry commands.
#[derive(Subcommand, Debug)]
pub enum OfficerCmd {
    /// Record a liaison officer's assignment; prints the entry id.
    Assign {
        /// Name.
        #[arg(long)]
        name: String,
        /// The assigning Party: always this node's own (a Party assigns its own officers); if
        /// given, it must be this node's Party.
        #[arg(long)]
        party: Option<PartyId>,
        /// How to reach the officer.
        #[arg(long)]
        contact: String,
        /// The mandate the assignment cites.
        #[arg(long, value_name = "REF")]
        mandate: Option<String>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the liaison officers of both Parties.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Record the end of an assignment (the entry stays, for the record).
    End {
        /// The entry id.
        id: String,
    },
}

pub async fn run(dir: &Path, cmd: &OfficerCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        OfficerCmd::Assign { name, party, contact, mandate, json } => {
            let new = NewOfficer {
                name: name.clone(),
                party: party.clone(),
                contact: contact.clone(),
                mandate: mandate.clone(),
            };
            let r: Created = c.send(Method::POST, "/api/officers", &new).await?;
            output::created(&r, *json)
        }
        OfficerCmd::List { json } => {
            let v: Vec<Officer> = c.get("/api/officers").await?;
            output::list(&v, *json, &["ID", "PARTY", "NAME", "CONTACT", "ASSIGNED", "STATE"], |o| {
                vec![
                    o.id.clone(),
                    o.party.clone(),
                    o.name.clone(),
                    o.contact.clone(),
                    o.assigned_at.clone(),
                    o.ended_at.clone().map(|e| format!("ended {e}")).unwrap_or_else(|| "active".into()),
                ]
            })
        }
        OfficerCmd::End { id } => {
            let _: Vec<Officer> =
                c.send(Method::POST, &format!("/api/officers/{id}/end"), &serde_json::json!({})).await?;
            println!("assignment {id} ended");
            Ok(())
        }
    }
}
