//! `GET /api/search`: full-text search over the workspace and the titles of the items the
//! caller may read.

use axum::extract::{Query, State};
use axum::{Extension, Json};
use serde::Deserialize;

use super::auth::Caller;
use super::{AppError, AppState};
use crate::search::{Hits, SearchError, SearchQuery};

/// The query string.
#[derive(Deserialize)]
pub struct SearchParams {
    /// The words.
    #[serde(default)]
    pub q: String,
    /// Most hits.
    pub limit: Option<usize>,
}

/// `GET /api/search?q=...&limit=N`: hits, best first. The query is bounded before any work;
/// an item's title is answered only to a caller whose role may read that item's content (the
/// same rule the API applies to `GET /api/items/{id}/content`).
pub async fn search(
    State(s): State<AppState>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<SearchParams>,
) -> Result<Json<Hits>, AppError> {
    let q = SearchQuery::new(&p.q, p.limit).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let role = caller.role;
    let may_read = move |_item: &str| role >= super::ITEM_CONTENT_ROLE;
    let hits = s.search.query(q, may_read).await.map_err(|e| match e {
        SearchError::Stopped => AppError::Internal(e.to_string()),
        SearchError::Index(_) => AppError::Internal(e.to_string()),
    })?;
    Ok(Json(hits))
}
