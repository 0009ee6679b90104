//! The lists of meetings, groups, drafts and threads, served from the engine's summaries
//! (`engine::summaries`) rather than by reading every document on the engine's thread. A list
//! reads the shared summaries, asks the engine only to compute those that are stale (a document
//! changed since), then sorts and serialises. `?ids=ID,ID` (at most [`MAX_IDS`] full ids) gives
//! only those entries, for refreshing one row after a change event.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::json;

use super::{AppError, AppState};
use crate::engine::EngineError;
use crate::engine::summaries::{Entry, Listed, MAX_IDS, Summary, Untagged};
use crate::ids::DocId;
use crate::workspace::DocKind;
use crate::workspace::meeting::{Meeting, MeetingStatus};

/// Which entries of a list.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    /// Only these documents: full ids, comma-separated, at most [`MAX_IDS`]. Ids of documents
    /// that are not (or not of this kind) are left out of the answer.
    #[serde(default)]
    pub ids: Option<String>,
}

/// Which meetings (`GET /api/meetings`): those of `?ids=` as for any list, and
/// - `?from=T`: only meetings not ended before `T` (a meeting without an end, not started before);
/// - `?to=T`: only meetings starting before `T` (`T` an RFC 3339 time);
/// - `?status=proposed,confirmed`: only meetings with one of these statuses;
/// - `?order=desc`: the latest first (`asc`, the earliest first, unless given);
/// - `?offset=N`, `?limit=N`: of the meetings that match, in order (by start, then title), skip
///   `N`, then at most `N`. The answer's `x-total-count` header says how many matched.
///
/// The dashboard asks for the next few meetings and the meetings page for a month and a hundred
/// at a time, not for every meeting ever held.
#[derive(Debug, Default, Deserialize)]
pub struct MeetingQuery {
    #[serde(default)]
    pub ids: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub order: Option<String>,
    #[serde(default)]
    pub offset: Option<String>,
    #[serde(default)]
    pub limit: Option<String>,
}

/// [`MeetingQuery`] parsed.
#[derive(Debug, Default)]
pub struct MeetingFilter {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    status: Option<Vec<MeetingStatus>>,
    /// The latest first.
    pub descending: bool,
    pub offset: usize,
    pub limit: Option<usize>,
}

impl MeetingQuery {
    /// The `?ids=` part, as every list takes it.
    pub fn ids(&self) -> ListQuery {
        ListQuery { ids: self.ids.clone() }
    }

    pub fn filter(&self) -> Result<MeetingFilter, ListRefusal> {
        let bad = |param: &'static str, value: &str| ListRefusal::BadParameter {
            param: param.into(),
            value: value.chars().take(64).collect(),
        };
        let time = |param: &'static str, v: &Option<String>| {
            v.as_deref()
                .map(|t| {
                    DateTime::parse_from_rfc3339(t.trim()).map(|t| t.with_timezone(&Utc)).map_err(|_| bad(param, t))
                })
                .transpose()
        };
        let count = |param: &'static str, v: &Option<String>| {
            v.as_deref().map(|n| n.trim().parse::<usize>().map_err(|_| bad(param, n))).transpose()
        };
        let status = self
            .status
            .as_deref()
            .map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| serde_json::from_value::<MeetingStatus>(json!(s)).map_err(|_| bad("status", s)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        Ok(MeetingFilter {
            from: time("from", &self.from)?,
            to: time("to", &self.to)?,
            status,
            descending: match self.order.as_deref().map(str::trim) {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => return Err(bad("order", other)),
            },
            offset: count("offset", &self.offset)?.unwrap_or(0),
            limit: count("limit", &self.limit)?,
        })
    }
}

impl MeetingFilter {
    /// Whether a meeting of `status` that starts and ends at these instants (ms; `None` for a
    /// time that does not read, which does not hide its meeting) is one of those asked for,
    /// before the offset and limit.
    fn admits(&self, status: MeetingStatus, start: Option<i64>, end: Option<i64>) -> bool {
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        if self.from.is_some_and(|from| end.is_some_and(|end| end < ms(from))) {
            return false;
        }
        if self.to.is_some_and(|to| start.is_some_and(|start| start >= ms(to))) {
            return false;
        }
        self.status.as_ref().is_none_or(|s| s.contains(&status))
    }
}

/// The meetings of `rows` that `f` admits, how many, and the page of them it asks for: in order
/// of their start as an instant, then title, then id (the latest first with `descending`); a
/// start that does not read goes last either way. Each time is read once, and only the page is
/// sorted (`paging::window`): the meetings page asks for a hundred of 10,000.
pub fn meeting_page(rows: Vec<Row>, f: &MeetingFilter) -> (usize, Vec<Row>) {
    let mut kept: Vec<(Option<i64>, Option<Row>)> = rows
        .into_iter()
        .filter_map(|r| {
            let (start, end) = r.instants()?;
            f.admits(r.meeting()?.status, start, end).then_some((start, Some(r)))
        })
        .collect();
    let total = kept.len();
    // The instants are in `kept` itself; the strings behind each row's pointers are read only
    // when two instants tie. Reading them for every comparison was most of the list's time at
    // 10,000 meetings: a cache miss or more per pointer, 140,000 comparisons to sort them all.
    let strings = |i: usize| {
        kept[i].1.as_ref().and_then(Row::meeting).map(|m| (m.starts.as_str(), m.title.as_str(), m.id.as_str()))
    };
    let cmp = |a: usize, b: usize| {
        let (at_a, at_b) = (kept[a].0, kept[b].0);
        let in_order = at_a.cmp(&at_b).then_with(|| strings(a).cmp(&strings(b)));
        at_a.is_none().cmp(&at_b.is_none()).then(if f.descending { in_order.reverse() } else { in_order })
    };
    let page = crate::paging::window(total, f.offset, f.limit.unwrap_or(usize::MAX), cmp);
    (total, page.into_iter().filter_map(|i| kept[i].1.take()).collect())
}

/// Why a list request was refused; the API sends it under `refusal` with its code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum ListRefusal {
    /// `?ids=` named more documents than one request may.
    #[error("?ids= names {given} documents; at most {max} may be asked for at once")]
    TooManyIds {
        /// How many were named.
        given: usize,
        /// The most allowed.
        max: usize,
    },
    /// A parameter's value does not read: a time that is not RFC 3339, a count that is not a
    /// whole number, a status that is not one.
    #[error("?{param}={value:?} does not read")]
    BadParameter {
        /// Which parameter.
        param: String,
        /// What was given (at most 64 characters of it).
        value: String,
    },
    /// `?ids=` holds something that is not a document id (32 hex digits).
    #[error("?ids=: {id:?} is not a document id (32 hex digits)")]
    BadId {
        /// What was given.
        id: String,
    },
}

/// A list request that failed.
#[derive(Debug)]
pub enum ListError {
    /// Refused by a bound, with its code.
    Refused(ListRefusal),
    /// As any other request.
    App(AppError),
}

impl From<AppError> for ListError {
    fn from(e: AppError) -> Self {
        ListError::App(e)
    }
}

impl From<EngineError> for ListError {
    fn from(e: EngineError) -> Self {
        ListError::App(e.into())
    }
}

impl IntoResponse for ListError {
    fn into_response(self) -> Response {
        match self {
            ListError::Refused(r) => {
                (StatusCode::BAD_REQUEST, Json(json!({ "error": r.to_string(), "refusal": r }))).into_response()
            }
            ListError::App(e) => e.into_response(),
        }
    }
}

/// Parses `?ids=`: none means every entry.
pub fn parse_ids(q: &ListQuery) -> Result<Option<BTreeSet<DocId>>, ListRefusal> {
    let Some(raw) = q.ids.as_deref() else { return Ok(None) };
    let parts: Vec<&str> = raw.split(',').map(str::trim).filter(|p| !p.is_empty()).collect();
    if parts.len() > MAX_IDS {
        return Err(ListRefusal::TooManyIds { given: parts.len(), max: MAX_IDS });
    }
    parts
        .into_iter()
        .map(|p| {
            let lower = p.to_ascii_lowercase();
            if lower.len() != 32 {
                return Err(ListRefusal::BadId { id: p.chars().take(64).collect() });
            }
            lower.parse::<DocId>().map_err(|_| ListRefusal::BadId { id: p.chars().take(64).collect() })
        })
        .collect::<Result<BTreeSet<_>, _>>()
        .map(Some)
}

/// One row of a list: a summary as the engine keeps it, or a meeting filled in for the caller.
pub enum Row {
    /// As kept.
    Kept(Arc<Entry>),
    /// A meeting whose attachments were filled in for the asking officer.
    Meeting(Box<Meeting>, String),
}

impl Row {
    /// The meeting it shows, if it is one.
    pub fn meeting(&self) -> Option<&Meeting> {
        match self {
            Row::Kept(e) => match &e.summary {
                Summary::Meeting(m) => Some(m),
                _ => None,
            },
            Row::Meeting(m, _) => Some(m),
        }
    }

    /// A meeting's start and end as instants ([`Meeting::instants`]), if it is one.
    pub fn instants(&self) -> Option<(Option<i64>, Option<i64>)> {
        match self {
            Row::Kept(e) => matches!(e.summary, Summary::Meeting(_)).then(|| e.meeting_instants()),
            Row::Meeting(m, _) => Some(m.instants()),
        }
    }

    /// The summary kept, if not replaced.
    pub fn summary(&self) -> Option<&Summary> {
        match self {
            Row::Kept(e) => Some(&e.summary),
            Row::Meeting(..) => None,
        }
    }
}

/// Each row is its document's summary (the shape each list has always had), plus `version`: the
/// document's heads it was computed at.
impl Serialize for Row {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Row::Kept(e) => Listed { entry: &Untagged(&e.summary), version: &e.version }.serialize(s),
            Row::Meeting(m, version) => Listed { entry: m.as_ref(), version }.serialize(s),
        }
    }
}

/// A list's answer: a JSON array of its rows, each kept row's JSON copied as made once
/// ([`Entry::listed_json`]), the same as serialising the rows gives.
pub struct Rows(pub Vec<Row>);

impl Rows {
    /// The JSON array.
    pub fn to_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        // The kept rows' exact size, so that a list of 10,000 meetings (6 MiB) is not grown by
        // doubling, which held both copies at once.
        let kept: usize = self
            .0
            .iter()
            .map(|r| match r {
                Row::Kept(e) => e.listed_json().len(),
                Row::Meeting(..) => 0,
            })
            .sum();
        let mut out = Vec::with_capacity(2 + self.0.len() + kept);
        out.push(b'[');
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match r {
                Row::Kept(e) => out.extend_from_slice(e.listed_json().as_bytes()),
                Row::Meeting(..) => serde_json::to_writer(&mut out, r)?,
            }
        }
        out.push(b']');
        Ok(out)
    }
}

impl IntoResponse for Rows {
    fn into_response(self) -> Response {
        match self.to_json() {
            Ok(body) => ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response(),
            Err(e) => AppError::Internal(e.to_string()).into_response(),
        }
    }
}

/// The rows of `kind` (those of `?ids=`, if given), every one up to date with the committed
/// documents: stale ones are computed by the engine first.
pub async fn rows(s: &AppState, kind: DocKind, q: &ListQuery) -> Result<Vec<Row>, ListError> {
    rows_of(s, kind, parse_ids(q).map_err(ListError::Refused)?).await
}

async fn rows_of(s: &AppState, kind: DocKind, ids: Option<BTreeSet<DocId>>) -> Result<Vec<Row>, ListError> {
    let index = s.engine.summaries();
    if !index.is_stale(kind, ids.as_ref()) {
        return Ok(index.entries(kind, ids.as_ref()).into_iter().map(Row::Kept).collect());
    }
    // Computed on the reader's threads from the last commit; what it computed is what this list
    // shows, even when a change committed meanwhile keeps the index's mark.
    let (ix, want) = (index.clone(), ids.clone());
    let (mut fresh, _) = s
        .engine
        .view_many(move |v| crate::engine::summaries::refresh_in_view(&ix, v, Some(kind), want.as_ref(), None))
        .await?;
    let mut rows: Vec<Row> = index
        .entries(kind, ids.as_ref())
        .into_iter()
        .map(|e| Row::Kept(e.id().and_then(|id| fresh.remove(&id)).unwrap_or(e)))
        .collect();
    rows.extend(fresh.into_values().filter(|e| e.kind() == kind).map(Row::Kept));
    Ok(rows)
}

/// The kept summaries of every document of `kind`, each up to date with the committed documents
/// (as [`rows`]).
pub async fn entries(s: &AppState, kind: DocKind, ids: Option<BTreeSet<DocId>>) -> Result<Vec<Arc<Entry>>, AppError> {
    let rows = match rows_of(s, kind, ids).await {
        Ok(rows) => rows,
        Err(ListError::App(e)) => return Err(e),
        Err(ListError::Refused(r)) => return Err(AppError::BadRequest(r.to_string())),
    };
    Ok(rows
        .into_iter()
        .filter_map(|r| match r {
            Row::Kept(e) => Some(e),
            Row::Meeting(..) => None,
        })
        .collect())
}

/// Fills in the attachments of the meetings that have any, for the caller's role (as
/// `meeting show` does): whether each item is held, its marking, and its title only for a role
/// that reads items. Titles are never in the summaries, so never on disk with them.
pub async fn fill_meetings(s: &AppState, rows: &mut [Row], may_read: bool) -> Result<(), ListError> {
    let todo: Vec<(usize, Meeting, String)> = rows
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Row::Kept(e) => match &e.summary {
                Summary::Meeting(m) if !m.attachments.is_empty() => Some((i, m.as_ref().clone(), e.version.clone())),
                _ => None,
            },
            Row::Meeting(..) => None,
        })
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let filled = s
        .engine
        .read(move |c| {
            let mut todo = todo;
            for (_, m, _) in &mut todo {
                c.fill_attachments(&mut m.attachments, may_read)?;
            }
            Ok(todo)
        })
        .await?;
    for (i, m, version) in filled {
        rows[i] = Row::Meeting(Box::new(m), version);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(ids: &str) -> ListQuery {
        ListQuery { ids: Some(ids.into()) }
    }

    #[test]
    fn ids_are_bounded_and_checked() {
        assert_eq!(parse_ids(&ListQuery::default()), Ok(None));
        let one = DocId::random().to_string();
        assert_eq!(parse_ids(&q(&one)).unwrap().unwrap().len(), 1);
        assert_eq!(parse_ids(&q(&format!("{one}, {one},"))).unwrap().unwrap().len(), 1);
        let many: Vec<String> = (0..=MAX_IDS).map(|_| DocId::random().to_string()).collect();
        assert_eq!(parse_ids(&q(&many.join(","))), Err(ListRefusal::TooManyIds { given: MAX_IDS + 1, max: MAX_IDS }));
        assert_eq!(parse_ids(&q(&many[..MAX_IDS].join(","))).unwrap().unwrap().len(), MAX_IDS);
        assert_eq!(parse_ids(&q("abcd")), Err(ListRefusal::BadId { id: "abcd".into() }));
        assert!(matches!(parse_ids(&q(&"z".repeat(32))), Err(ListRefusal::BadId { .. })));
    }

    fn meeting(id: &str, title: &str, starts: &str, ends: Option<&str>, status: &str) -> Row {
        let m = json!({ "id": id, "title": title, "kind": "working-meeting", "starts": starts, "ends": ends, "venue": null,
            "sidelines_of": null, "status": status, "agenda": [], "participants": [], "minutes": "",
            "created_by": null, "created_at": null, "updated_by": null, "updated_at": null });
        Row::Meeting(Box::new(serde_json::from_value(m).unwrap()), String::new())
    }

    fn ids(rows: &[Row]) -> Vec<&str> {
        rows.iter().filter_map(|r| r.meeting()).map(|m| m.id.as_str()).collect()
    }

    fn query(q: &[(&str, &str)]) -> MeetingFilter {
        let get = |k: &str| q.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        let q = MeetingQuery {
            ids: None,
            from: get("from"),
            to: get("to"),
            status: get("status"),
            order: get("order"),
            offset: get("offset"),
            limit: get("limit"),
        };
        q.filter().unwrap()
    }

    #[test]
    fn meetings_come_by_instant_in_pages_either_way_with_unreadable_starts_last() {
        let all = || {
            vec![
                // 09:00 in Moscow is 06:00 UTC: before "b" though its text sorts after.
                meeting("c", "C", "2026-03-02T09:00:00+03:00", None, "confirmed"),
                meeting("b", "B", "2026-03-02T07:00:00Z", Some("2026-03-02T08:00:00Z"), "proposed"),
                meeting("x", "X", "not a time", None, "confirmed"),
                meeting("a2", "A", "2026-01-01T00:00:00Z", None, "held"),
                meeting("a1", "A", "2026-01-01T00:00:00Z", None, "held"),
                meeting("d", "D", "2026-05-01T00:00:00Z", Some("2026-05-03T00:00:00Z"), "cancelled"),
            ]
        };
        let page = |q: &[(&str, &str)]| {
            let (total, rows) = meeting_page(all(), &query(q));
            (total, ids(&rows).into_iter().map(String::from).collect::<Vec<_>>())
        };
        let v = |ids: &[&str]| ids.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(page(&[]), (6, v(&["a1", "a2", "c", "b", "d", "x"])));
        assert_eq!(page(&[("order", "desc")]), (6, v(&["d", "b", "c", "a2", "a1", "x"])));
        // Pages follow each other, and the count is of all that match.
        assert_eq!(page(&[("offset", "2"), ("limit", "2")]), (6, v(&["c", "b"])));
        assert_eq!(page(&[("order", "desc"), ("offset", "1"), ("limit", "2")]), (6, v(&["b", "c"])));
        assert_eq!(page(&[("offset", "9")]), (6, v(&[])));
        // A meeting not ended by `from` is in; one started at `to` is out; an unreadable time
        // hides nothing.
        assert_eq!(page(&[("from", "2026-05-02T00:00:00Z")]), (2, v(&["d", "x"])));
        assert_eq!(page(&[("to", "2026-03-02T07:00:00Z")]), (4, v(&["a1", "a2", "c", "x"])));
        assert_eq!(page(&[("status", "held,cancelled"), ("order", "desc")]), (3, v(&["d", "a2", "a1"])));
        let bad = MeetingQuery { order: Some("sideways".into()), ..MeetingQuery::default() };
        assert_eq!(
            bad.filter().unwrap_err(),
            ListRefusal::BadParameter { param: "order".into(), value: "sideways".into() }
        );
    }

    #[test]
    fn a_list_answer_is_the_rows_serialised() {
        let rows = vec![
            meeting("a", "A", "2026-01-01T00:00:00Z", None, "held"),
            meeting("b", "B", "x", Some("y"), "proposed"),
        ];
        let got: serde_json::Value = serde_json::from_slice(&Rows(rows).to_json().unwrap()).unwrap();
        let rows = vec![
            meeting("a", "A", "2026-01-01T00:00:00Z", None, "held"),
            meeting("b", "B", "x", Some("y"), "proposed"),
        ];
        assert_eq!(got, serde_json::to_value(&rows).unwrap());
        assert_eq!(got[1]["ends"], "y");
        assert_eq!(Rows(vec![]).to_json().unwrap(), b"[]");
    }

    #[test]
    fn refusals_carry_their_code() {
        let v = serde_json::to_value(ListRefusal::TooManyIds { given: 101, max: 100 }).unwrap();
        assert_eq!(v, json!({ "code": "too-many-ids", "given": 101, "max": 100 }));
        let v = serde_json::to_value(ListRefusal::BadId { id: "x".into() }).unwrap();
        assert_eq!(v, json!({ "code": "bad-id", "id": "x" }));
    }
}
