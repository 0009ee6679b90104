//! `POST /api/presence`: an officer says which draft (and provision and language) they are at.
//! The node tells its own event subscribers and the other Party's node, whose editors show it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::workspace_routes::OfficerName;
use super::{AppError, AppState};
use crate::net::protocol::PresenceNote;
use crate::workspace::DocKind;

/// Where the officer is.
#[derive(Deserialize)]
pub struct Here {
    /// The draft (id or prefix).
    doc: String,
    /// The provision.
    #[serde(default)]
    provision: Option<String>,
    /// The language.
    #[serde(default)]
    lang: Option<String>,
}

pub async fn post(State(s): State<AppState>, o: OfficerName, Json(h): Json<Here>) -> Result<StatusCode, AppError> {
    // A write job, so that the note goes out with the round's batch to the other node; it
    // changes nothing durable.
    s.engine
        .write(move |c| {
            let doc = c.resolve(DocKind::Draft, &h.doc)?;
            crate::engine::announce_presence(
                c,
                PresenceNote { doc, officer: o.0, provision: h.provision, lang: h.lang },
            )
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
