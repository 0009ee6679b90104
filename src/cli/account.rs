//! `liaison account add|list|disable|enable|set-role|reset-password`: officers' accounts for the
//! web app. Through the running node's API (admins only); with no node running, straight in the
//! node's accounts database, and audited straight in its store (the same signed log the node
//! keeps). `role` and `reset`, the older names, still work.

use std::path::Path;

use clap::Subcommand;
use reqwest::Method;

use super::output;
use std::sync::Arc;

use super::refusal_words_vault;
use crate::accounts::{AccountInfo, Accounts, Role};
use crate::api::{NewAccount, NewRole, Reset};
use crate::app::accounts::{self, AccountRefusal, AddAccount, Ctx, Stopped};
use crate::audit::Event;
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
        /// Print the account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Enable a disabled account again: it logs in with the password it had (use
    /// `reset-password` too if that is lost).
    Enable {
        /// The account name.
        name: String,
        /// Print the account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give an account another role; its sessions end (they hold the role they logged in with).
    #[command(alias = "role")]
    SetRole {
        /// The account name.
        name: String,
        /// The new role: admin, liaison, member or viewer.
        #[arg(value_enum, required_unless_present = "role_flag", conflicts_with = "role_flag")]
        role: Option<Role>,
        /// The new role, as a flag (the older form: `account role NAME --role ROLE`).
        #[arg(long = "role", id = "role_flag", value_enum, value_name = "ROLE")]
        role_flag: Option<Role>,
        /// Print the account as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Replace an account's password with a new one-time password (printed once); its sessions
    /// end, and the officer must choose a new password at the next login.
    #[command(alias = "reset")]
    ResetPassword {
        /// The account name.
        name: String,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a new calendar-feed URL for an account (printed once; the one it had stops): a
    /// calendar program subscribed to it shows the meetings, with no login. --revoke stops it.
    CalendarUrl {
        /// The account name.
        name: String,
        /// Stop the account's feed instead: its URL answers 404 from now on.
        #[arg(long)]
        revoke: bool,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `via_api` through the node if it runs, else `offline`: the same use case (see
/// [`crate::app::accounts`]) straight on the accounts database, audited in the stopped node's
/// log as the node would have.
async fn either<T>(
    dir: &Path,
    officer: &str,
    via_api: impl AsyncFnOnce(&Client) -> Result<T, ClientError>,
    offline: impl AsyncFnOnce(&Ctx<'_, Stopped<'_>>) -> Result<T, AccountRefusal>,
) -> anyhow::Result<T> {
    let c = Client::for_data_dir(dir, officer)?;
    match via_api(&c).await {
        Err(ClientError::NoNode { .. }) => {
            let by = if officer.is_empty() {
                "CLI, node stopped".to_string()
            } else {
                format!("CLI ({officer}), node stopped")
            };
            // The store (and with it the data dir's lock) first: a serve starting meanwhile
            // then waits for this command instead of finding the accounts database open.
            let store = crate::store::Store::open(dir)?;
            let name_chars = crate::config::NodeConfig::load(dir)?.limits.api.name_chars;
            let admin = Stopped { dir, store: &store };
            let ctx = Ctx { accounts: Arc::new(Accounts::open(dir)?), name_chars, by, admin: &admin };
            offline(&ctx).await.map_err(|r| {
                // Said as the API's refusal would be: in the CLI's words when it has its own.
                let words = serde_json::to_value(&r).ok().as_ref().and_then(refusal_words_vault::words);
                match words {
                    Some(w) => anyhow::anyhow!(w),
                    None => anyhow::Error::from(r),
                }
            })
        }
        r => Ok(r.map_err(refusal_words_vault::reword)?),
    }
}

/// Appends `event` to the stopped node's audit log (see [`accounts::append_to_stopped_log`]).
pub(super) fn audit_offline(dir: &Path, store: &crate::store::Store, event: Event) -> anyhow::Result<()> {
    accounts::append_to_stopped_log(dir, store, event).map_err(|e| anyhow::anyhow!(e))
}

pub async fn run(dir: &Path, cmd: &AccountCmd, officer: &str) -> anyhow::Result<()> {
    match cmd {
        AccountCmd::Add { name, role, json } => {
            let body = NewAccount { name: name.clone(), role: *role, password: None };
            let made: NewAccount = either(
                dir,
                officer,
                async |c| c.send(Method::POST, "/api/accounts", &body).await,
                async |ctx| {
                    let made = accounts::add(ctx, AddAccount { name: name.clone(), role: *role }).await?;
                    Ok(NewAccount { name: made.name, role: made.role, password: Some(made.password) })
                },
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
            println!("the officer chooses a new password at the first login");
            match url {
                Some(u) => println!("log in at {u}"),
                None => println!("log in at the node's API address once it runs (in DATA_DIR/run.json)"),
            }
        }
        AccountCmd::List { json } => {
            let v: Vec<AccountInfo> =
                either(dir, officer, async |c| c.get("/api/accounts").await, async |ctx| accounts::list(ctx).await)
                    .await?;
            output::list(&v, *json, &["NAME", "ROLE", "STATE", "LAST LOGIN"], |a| {
                vec![
                    a.name.clone(),
                    a.role.to_string(),
                    match (a.disabled, a.password_change_required) {
                        (true, _) => "disabled".into(),
                        (false, true) => "one-time password".into(),
                        (false, false) => "active".into(),
                    },
                    a.last_login.clone().unwrap_or_else(|| "never".into()),
                ]
            })?;
        }
        AccountCmd::Disable { name, json } => {
            let path = format!("/api/accounts/{}/disable", crate::client::encode(name));
            let info: AccountInfo = either(
                dir,
                officer,
                async |c| c.send(Method::POST, &path, &serde_json::json!({})).await,
                async |ctx| accounts::disable(ctx, name.clone()).await,
            )
            .await?;
            if *json {
                return output::json(&info);
            }
            println!("account {name:?} disabled; its sessions ended");
        }
        AccountCmd::Enable { name, json } => {
            let path = format!("/api/accounts/{}/enable", crate::client::encode(name));
            let info: AccountInfo = either(
                dir,
                officer,
                async |c| c.send(Method::POST, &path, &serde_json::json!({})).await,
                async |ctx| accounts::enable(ctx, name.clone()).await,
            )
            .await?;
            if *json {
                return output::json(&info);
            }
            println!("account {name:?} enabled");
        }
        AccountCmd::SetRole { name, role, role_flag, json } => {
            // clap makes sure exactly one of the two is given.
            let role = role.or(*role_flag).ok_or_else(|| anyhow::anyhow!("give the new role"))?;
            let path = format!("/api/accounts/{}/role", crate::client::encode(name));
            let info: AccountInfo = either(
                dir,
                officer,
                async |c| c.send(Method::POST, &path, &NewRole { role }).await,
                async |ctx| accounts::set_role(ctx, name.clone(), role).await,
            )
            .await?;
            if *json {
                return output::json(&info);
            }
            println!("account {name:?} is now {role}; its sessions ended");
        }
        AccountCmd::ResetPassword { name, json } => {
            let path = format!("/api/accounts/{}/reset", crate::client::encode(name));
            let r: Reset = either(
                dir,
                officer,
                async |c| c.send(Method::POST, &path, &serde_json::json!({})).await,
                async |ctx| {
                    let r = accounts::reset_password(ctx, name.clone()).await?;
                    Ok(Reset { name: r.name, password: r.password })
                },
            )
            .await?;
            if *json {
                return output::json(&r);
            }
            println!("account {:?}: its sessions ended", r.name);
            println!("new one-time password (shown once): {}", r.password);
            println!("the officer chooses a new password at the next login");
        }
        AccountCmd::CalendarUrl { name, revoke: true, json } => {
            let path = format!("/api/accounts/{}/calendar", crate::client::encode(name));
            let _: crate::api::FeedState = either(
                dir,
                officer,
                async |c| c.send(Method::DELETE, &path, &serde_json::json!({})).await,
                async |ctx| {
                    let stopped = ctx.accounts.calendar_feed_revoke(name)?;
                    Ok(crate::api::FeedState { active: !stopped })
                },
            )
            .await?;
            if *json {
                return output::json(&serde_json::json!({ "name": name, "active": false }));
            }
            println!("account {name:?}: its calendar feed is stopped");
        }
        AccountCmd::CalendarUrl { name, revoke: false, json } => {
            let path = format!("/api/accounts/{}/calendar", crate::client::encode(name));
            let feed: crate::api::CalendarFeed = either(
                dir,
                officer,
                async |c| c.send(Method::POST, &path, &serde_json::json!({})).await,
                async |ctx| {
                    let secret = ctx.accounts.calendar_feed_new(name)?;
                    let path = format!("/api/calendar/{secret}.ics");
                    Ok(crate::api::CalendarFeed { name: name.clone(), secret, path })
                },
            )
            .await?;
            let base = Client::for_data_dir(dir, "")?.base().to_string();
            let url = (!base.ends_with(":0")).then(|| format!("{base}{}", feed.path));
            if *json {
                return output::json(&serde_json::json!({ "name": feed.name, "path": feed.path, "url": url }));
            }
            println!("calendar feed of {:?} (shown once; the previous one stopped):", feed.name);
            match url {
                Some(u) => println!("{u}"),
                None => println!("{} on the node's API address (in DATA_DIR/run.json once it runs)", feed.path),
            }
            println!(
                "subscribe to it in a calendar program; `liaison account calendar-url {name:?} --revoke` stops it"
            );
        }
    }
    Ok(())
}
