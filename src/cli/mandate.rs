//! `liaison mandate ...`: Member-State consents the Parties' activities cite.

use std::path::Path;

use clap::Subcommand;
use reqwest::Method;

use super::output;
use crate::client::Client;
use crate::workspace::mandates::Mandate;

/// Mandate commands.
#[derive(Subcommand, Debug)]
pub enum MandateCmd {
    /// Record a mandate of our Party (replicated to the other Party).
    Add {
        /// Its reference, such as a decision number.
        #[arg(long = "ref", value_name = "REF")]
        reference: String,
        /// Its date (YYYY-MM-DD): it is in force from that day.
        #[arg(long)]
        date: String,
        /// What it allows.
        #[arg(long)]
        scope: String,
    },
    /// Amend the scope of a mandate of our Party.
    Amend {
        /// Its reference.
        #[arg(long = "ref", value_name = "REF")]
        reference: String,
        /// The new scope.
        #[arg(long)]
        scope: String,
    },
    /// Withdraw a mandate of our Party: from now on it is not in force, and actions can no
    /// longer cite it.
    Withdraw {
        /// Its reference.
        #[arg(long = "ref", value_name = "REF")]
        reference: String,
    },
    /// List the recorded mandates of both Parties.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(dir: &Path, cmd: &MandateCmd, officer: &str) -> anyhow::Result<()> {
    // A refusal is said in the CLI's words (with its flags), not the node's neutral ones.
    commands(dir, cmd, officer).await.map_err(super::refusal_words_vault::reword_any)
}

async fn commands(dir: &Path, cmd: &MandateCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        MandateCmd::Add { reference, date, scope } => {
            let body = serde_json::json!({ "reference": reference, "date": date, "scope": scope });
            let _: Vec<Mandate> = c.send(Method::POST, "/api/mandates", &body).await?;
            println!("recorded mandate {reference}");
        }
        MandateCmd::Amend { reference, scope } => {
            let body = serde_json::json!({ "action": "amend", "scope": scope });
            let path = format!("/api/mandates/{}", crate::client::encode(reference));
            let _: Vec<Mandate> = c.send(Method::POST, &path, &body).await?;
            println!("amended mandate {reference}");
        }
        MandateCmd::Withdraw { reference } => {
            let body = serde_json::json!({ "action": "withdraw" });
            let path = format!("/api/mandates/{}", crate::client::encode(reference));
            let _: Vec<Mandate> = c.send(Method::POST, &path, &body).await?;
            println!("withdrew mandate {reference}");
        }
        MandateCmd::List { json } => {
            let v: Vec<Mandate> = c.get("/api/mandates").await?;
            let today = chrono::Utc::now().date_naive();
            output::list(&v, *json, &["PARTY", "REF", "DATE", "STATE", "SCOPE"], |m| {
                let state = if m.withdrawn_at.is_some() {
                    "withdrawn"
                } else if m.in_force(today) {
                    "in force"
                } else {
                    "not yet in force"
                };
                vec![m.party.clone(), m.reference.clone(), m.date.clone(), state.into(), m.scope.clone()]
            })?;
        }
    }
    Ok(())
}
