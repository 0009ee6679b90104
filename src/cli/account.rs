//! `liaison account add|list|disable`: officers' accounts for the web app. Through the running
//! node's API (admins only); with no node running, straight in the node's accounts database.

use std::path::Path;

use clap::Subcommand;
use reqwest::Method;

use super::output;
use crate::accounts::{AccountInfo, Accounts, Role};
use crate::api::NewAccount;
use crate::client::{Client, ClientError};

/// Account commands.
#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    /// Make an account; prints its one-time initial password and where to log in.
    Add {
        /// Login name, also the officer name changes are attributed to.
        #[arg(long)]
        name: String,
        /// What it may do: viewer reads; member also edits meetings and drafts; liaison also
        /// provides items, handles consent and signs; admin also manages peers and accounts.
        #[arg(long, value_enum)]
        role: Role,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the accounts.
    List {
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Disable an account: it can no longer log in, and its sessions end.
    Disable {
        /// The account name.
        name: String,
    },
}

/// Runs `f` through the node if it runs, else on the accounts database directly.
async fn either<T>(
    dir: &Path,
    officer: &str,
    via_api: impl AsyncFnOnce(&Client) -> Result<T, ClientError>,
    offline: impl FnOnce(&Accounts) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let c = Client::for_data_dir(dir, officer)?;
    match via_api(&c).await {
        Err(ClientError::NoNode { .. }) => offline(&Accounts::open(dir)?),
        r => Ok(r?),
    }
}

pub async fn run(dir: &Path, cmd: &AccountCmd, officer: &str) -> anyhow::Result<()> {
    match cmd {
        AccountCmd::Add { name, role, json } => {
            let body = NewAccount { name: name.clone(), role: *role, password: None };
            let made: NewAccount = either(
                dir,
                officer,
                async |c| c.send(Method::POST, "/api/accounts", &body).await,
                |a| Ok(NewAccount { name: name.clone(), role: *role, password: Some(a.add(name, *role)?) }),
            )
            .await?;
            // With the node stopped and port 0 configured, the address is known only once it runs.
            let base = Client::for_data_dir(dir, "")?.base().to_string();
            let url = (!base.ends_with(":0")).then(|| base + "/");
            if *json {
                return output::json(&serde_json::json!({
                    "name": made.name, "role": made.role, "password": made.password, "login_url": url,
                }));
            }
            println!("account {:?} ({}) made", made.name, made.role);
            println!("initial password (shown once): {}", made.password.unwrap_or_default());
            match url {
                Some(u) => println!("log in at {u}"),
                None => println!("log in at the node's API address once it runs (in DATA_DIR/run.json)"),
            }
        }
        AccountCmd::List { json } => {
            let v: Vec<AccountInfo> =
                either(dir, officer, async |c| c.get("/api/accounts").await, |a| Ok(a.list()?)).await?;
            output::list(&v, *json, &["NAME", "ROLE", "STATE", "LAST LOGIN"], |a| {
                vec![
                    a.name.clone(),
                    a.role.to_string(),
                    if a.disabled { "disabled".into() } else { "active".into() },
                    a.last_login.clone().unwrap_or_else(|| "never".into()),
                ]
            })?;
        }
        AccountCmd::Disable { name } => {
            let path = format!("/api/accounts/{}/disable", crate::client::encode(name));
            let _: AccountInfo = either(
                dir,
                officer,
                async |c| c.send(Method::POST, &path, &serde_json::json!({})).await,
                |a| Ok(a.disable(name)?),
            )
            .await?;
            println!("account {name:?} disabled");
        }
    }
    Ok(())
}
