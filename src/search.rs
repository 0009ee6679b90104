//! Full-text search over the shared workspace and the titles of provided items (tantivy).
//!
//! # Layout
//!
//! - [`extract`]: what of each document is searchable, read on the engine's thread: a meeting,
//!   a working group, each provision of a draft in each language and its title, a thread's
//!   subject and each message, and each readable item's title. One [`Part`] per hit target.
//! - [`index`]: the tantivy side: the schema, the English and Russian analysers (simple
//!   tokenizer, lower case, Snowball stemmer), writing a batch and querying with snippets.
//! - [`indexer`]: the task that follows the engine's events and indexes what changed, off the
//!   engine's thread; a query first asks it to catch up, so that a change an officer made or
//!   a peer's change this node holds is found by the next search.
//!
//! # Where the indexes live
//!
//! The workspace's index is on disk under `DATA_DIR/search/`: the shared documents are already
//! in the store in plaintext, so their words on disk add nothing a reader of the disk lacks.
//! Its commit carries the heads of every document it indexed; at start, the documents whose
//! heads differ (or all, for a missing or older index) are indexed again.
//!
//! Item titles are encrypted in the store (only the envelope's ciphertext is kept), so their
//! index is in memory only and built again at each start and whenever the vault changes.
//!
//! # Who sees what
//!
//! Every logged-in role may read the workspace, so its hits go to every caller. An item hit
//! goes only to a caller that may read that item: the API passes the check it applies to the
//! item's content, and hits that fail it are dropped before they are counted.

pub mod extract;
pub mod index;
pub mod indexer;

use serde::{Deserialize, Serialize};

pub use extract::{Part, PartKind};
pub use index::SearchIndex;
pub use indexer::Search;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Most hits one query answers.
pub const MAX_LIMIT: usize = 100;
/// Hits answered when the caller names no limit.
pub const DEFAULT_LIMIT: usize = 20;

/// A query, bounded ([`SearchQuery::new`] refuses what is out of bounds before any work).
#[derive(Clone, Debug)]
pub struct SearchQuery {
    /// The words, trimmed.
    pub text: String,
    /// Most hits to answer.
    pub limit: usize,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum QueryError {
    /// Nothing to search for.
    #[error("the query is empty")]
    Empty,
    /// The query is longer than [`MAX_QUERY_CHARS`].
    #[error("the query has {chars} characters; at most {max} are searched")]
    TooLong {
        /// Its length.
        chars: usize,
        /// The bound.
        max: usize,
    },
    /// The limit is 0 or above [`MAX_LIMIT`].
    #[error("the limit must be 1 to {max}, not {limit}")]
    BadLimit {
        /// The limit asked for.
        limit: usize,
        /// The bound.
        max: usize,
    },
}

impl SearchQuery {
    /// Validates a query as a client sent it.
    pub fn new(text: &str, limit: Option<usize>) -> Result<SearchQuery, QueryError> {
        let text = text.trim();
        let chars = text.chars().count();
        if chars == 0 {
            return Err(QueryError::Empty);
        }
        if chars > MAX_QUERY_CHARS {
            return Err(QueryError::TooLong { chars, max: MAX_QUERY_CHARS });
        }
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(QueryError::BadLimit { limit, max: MAX_LIMIT });
        }
        Ok(SearchQuery { text: text.to_string(), limit })
    }
}

/// One hit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// What was found.
    pub kind: PartKind,
    /// The document's id (an item's id for an item).
    pub doc: String,
    /// The document's title (meeting or draft title, group name, thread subject, item title).
    pub title: String,
    /// Where in the document: a provision's label, a message's author, `None` for the whole.
    pub label: Option<String>,
    /// The language of a draft's provision.
    pub lang: Option<String>,
    /// The provision's or message's id, to link to it.
    pub anchor: Option<String>,
    /// A piece of the text around the words found.
    pub snippet: String,
    /// The words found in `snippet`: `[start, end)` in characters (not bytes), for highlighting.
    pub highlights: Vec<[usize; 2]>,
    /// How well it matches (higher is better; comparable within one answer only).
    pub score: f32,
}

/// The answer to a query.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Hits {
    /// Best first.
    pub hits: Vec<Hit>,
    /// The query as searched.
    pub query: String,
}

/// Why the search failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SearchError {
    /// tantivy failed (a broken index directory, a full disk).
    #[error("the search index failed: {0}")]
    Index(String),
    /// The engine or the indexer stopped.
    #[error("the node is shutting down")]
    Stopped,
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(e: tantivy::TantivyError) -> Self {
        SearchError::Index(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_bounded_before_work() {
        assert_eq!(SearchQuery::new("  ", None).unwrap_err(), QueryError::Empty);
        let long = "я".repeat(MAX_QUERY_CHARS + 1);
        assert!(matches!(SearchQuery::new(&long, None), Err(QueryError::TooLong { .. })));
        assert!(SearchQuery::new(&"я".repeat(MAX_QUERY_CHARS), None).is_ok());
        assert!(matches!(SearchQuery::new("x", Some(0)), Err(QueryError::BadLimit { .. })));
        assert!(matches!(SearchQuery::new("x", Some(MAX_LIMIT + 1)), Err(QueryError::BadLimit { .. })));
        assert_eq!(SearchQuery::new(" x ", None).unwrap().limit, DEFAULT_LIMIT);
    }
}
