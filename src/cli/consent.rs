//! `liaison consent ...`: the provider's consent to pass an item to a third party.

use std::path::Path;

use clap::Subcommand;
use reqwest::Method;

use super::output;
use crate::api::RecordMade;
use crate::client::Client;
use crate::engine::ConsentView;
use crate::ids::PartyId;

/// Consent commands.
#[derive(Subcommand, Debug)]
pub enum ConsentCmd {
    /// Ask the item's provider to let it go to a third party. Prints the request id.
    Request {
        /// The item (id or unique prefix).
        item: String,
        /// The third party that would receive it.
        #[arg(long, value_name = "ID")]
        third_party: PartyId,
        /// What the third party needs it for.
        #[arg(long)]
        purpose: String,
    },
    /// List consent requests and what became of them.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// As the provider: consent, signing a grant for exactly this item, third party and purpose.
    /// Prints the grant id.
    Grant {
        /// The request (id or unique prefix).
        request: String,
        /// Until when the grant holds (RFC 3339); without it, until revoked.
        #[arg(long, value_name = "RFC3339")]
        expires: Option<String>,
    },
    /// As the provider: refuse a request.
    Deny {
        /// The request (id or unique prefix).
        request: String,
    },
    /// As the provider: withdraw a grant. The holder transmits no more; the third party's node
    /// destroys the item's key and confirms.
    Revoke {
        /// The grant (id or unique prefix).
        grant: String,
    },
}

pub async fn run(dir: &Path, cmd: &ConsentCmd, officer: &str) -> anyhow::Result<()> {
    // A refusal is said in the CLI's words (with its flags), not the node's neutral ones.
    commands(dir, cmd, officer).await.map_err(super::refusal_words_vault::reword_any)
}

async fn commands(dir: &Path, cmd: &ConsentCmd, officer: &str) -> anyhow::Result<()> {
    let c = Client::for_data_dir(dir, officer)?;
    match cmd {
        ConsentCmd::Request { item, third_party, purpose } => {
            let body = serde_json::json!({ "item": item, "third_party": third_party, "purpose": purpose });
            let r: RecordMade = c.send(Method::POST, "/api/consent", &body).await?;
            println!("{}", r.id);
        }
        ConsentCmd::List { json } => {
            let v: Vec<ConsentView> = c.get("/api/consent").await?;
            output::list(&v, *json, &["REQUEST", "ITEM", "FROM", "TO", "STATE", "GRANT", "PURPOSE"], |r| {
                let mut state = r.state.clone();
                if r.state == "pending" && r.ours_to_answer {
                    state.push_str(" (ours to answer)");
                }
                if r.transmitted {
                    state.push_str(", transmitted");
                }
                if r.key_destroyed {
                    state.push_str(", key destroyed");
                }
                vec![
                    output::short(&r.request),
                    output::short(&r.item),
                    r.requester.clone(),
                    r.third_party.clone(),
                    state,
                    r.grant.as_deref().map(output::short).unwrap_or_else(|| "-".into()),
                    r.purpose.clone(),
                ]
            })?;
        }
        ConsentCmd::Grant { request, expires } => {
            let r: RecordMade = c
                .send(
                    Method::POST,
                    &format!("/api/consent/{request}/grant"),
                    &serde_json::json!({ "expires": expires }),
                )
                .await?;
            println!("{}", r.id);
        }
        ConsentCmd::Deny { request } => {
            let r: RecordMade =
                c.send(Method::POST, &format!("/api/consent/{request}/deny"), &serde_json::json!({})).await?;
            println!("{}", r.id);
        }
        ConsentCmd::Revoke { grant } => {
            let r: RecordMade =
                c.send(Method::POST, &format!("/api/consent/{grant}/revoke"), &serde_json::json!({})).await?;
            println!("{}", r.id);
        }
    }
    Ok(())
}
