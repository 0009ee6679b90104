//! One provision of a draft: what the editor fetches when an event names that provision, so a
//! remote keystroke costs one provision's texts, not the whole draft.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;

use super::{AppError, AppState};
use crate::workspace::DocKind;
use crate::workspace::draft::provision::ProvisionAt;

/// `?lang=`: only that language's text.
#[derive(Deserialize)]
pub struct ProvisionQuery {
    /// A language of the draft.
    lang: Option<String>,
}

/// `GET /api/drafts/{id}/provisions/{pid}`: the provision's texts, label and place, and the
/// draft's version they were read at. `pid` is the provision's whole id.
pub async fn show(
    State(s): State<AppState>,
    Path((id, pid)): Path<(String, String)>,
    Query(q): Query<ProvisionQuery>,
) -> Result<Json<ProvisionAt>, AppError> {
    Ok(Json(
        // From the reader, like the whole draft: not queued behind the engine's writes (the
        // keystrokes that made the event this fetch answers).
        s.engine
            .view(move |v| {
                let id = v.resolve(DocKind::Draft, &id)?;
                v.provision(id, &pid, q.lang.as_deref())
            })
            .await?,
    ))
}
