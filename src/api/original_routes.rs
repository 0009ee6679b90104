//! `GET /api/parties` (every Party this node knows, by its full names) and
//! `GET /api/drafts/{id}/original` (an executed draft's original in one language, as a PDF).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{AppError, AppState};
use crate::engine::PartyInfo;
use crate::workspace::DocKind;
use crate::workspace::draft::pdf::{self, OriginalRefusal};

/// The answer of `GET /api/parties`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Parties {
    /// Our Party first, then every other, by id.
    pub parties: Vec<PartyInfo>,
}

pub async fn parties(State(s): State<AppState>) -> Result<Json<Parties>, AppError> {
    let parties = s.engine.read(|c| c.parties()).await?;
    Ok(Json(Parties { parties }))
}

/// Which original.
#[derive(Deserialize)]
pub struct OriginalQuery {
    /// Its language (`en`, `ru`).
    lang: String,
    /// Only `pdf`.
    #[serde(default)]
    format: Option<String>,
}

/// A refusal to make an original, with its code for the web app and the CLI.
struct Refused(OriginalRefusal);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let status = match self.0 {
            OriginalRefusal::NotExecuted { .. } | OriginalRefusal::DiffersFromKept { .. } => StatusCode::CONFLICT,
            OriginalRefusal::NoSuchLanguage { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            OriginalRefusal::Render { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            tracing::error!(error = %self.0, "original not made");
        }
        (status, Json(serde_json::json!({ "error": self.0.to_string(), "code": self.0.code(), "refusal": self.0 })))
            .into_response()
    }
}

pub async fn original(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<OriginalQuery>,
) -> Result<Response, AppError> {
    if let Some(f) = q.format.as_deref().filter(|f| *f != "pdf") {
        return Err(AppError::BadRequest(format!("format {f:?}: originals are made as pdf")));
    }
    let src = s
        .engine
        .read(move |c| {
            let id = c.resolve(DocKind::Draft, &id)?;
            c.original_source(id)
        })
        .await?;
    let lang = q.lang;
    let names: BTreeMap<String, String> =
        src.parties.iter().map(|p| (p.id.clone(), p.name(&lang).to_string())).collect();
    let file = format!("{}-original-{lang}.pdf", src.draft.id.get(..8).unwrap_or(&src.draft.id));
    // Setting a few pages of text takes milliseconds, but not on the async threads.
    let made = tokio::task::spawn_blocking(move || pdf::original(&src.draft, &lang, &names, src.kept.as_ref()))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(match made {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
            ],
            bytes,
        )
            .into_response(),
        Err(r) => Refused(r).into_response(),
    })
}
