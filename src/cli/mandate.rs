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
        /// Its date (YYYY-MM-DD).
        #[arg(long)]
        date: String,
        /// What it allows.
        #[arg(long)]
        scope: String,
    },
    /// List the recorded mandates of both Parties.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(dir: &Path, cmd: &MandateCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        MandateCmd::Add { reference, date, scope } => {
            let body = serde_json::json!({ "reference": reference, "date": date, "scope": scope });
            let _: Vec<Mandate> = c.send(Method::POST, "/api/mandates", &body).await?;
            println!("recorded mandate {reference}");
        }
        MandateCmd::List { json } => {
            let v: Vec<Mandate> = c.get("/api/mandates").await?;
            output::list(&v, *json, &["PARTY", "REF", "DATE", "SCOPE"], |m| {
                vec![m.party.clone(), m.reference.clone(), m.date.clone(), m.scope.clone()]
            })?;
        }
    }
    Ok(())
}
