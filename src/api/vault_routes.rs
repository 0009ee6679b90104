//! Routes over provided information: items (streamed in and out in chunks, so any size moves in
//! bounded memory), consent, mandates, and the audit log.

use std::sync::Arc;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::workspace_routes::{OfficerName, reads_items};
use super::{AppError, AppState, Caller};
use crate::app::vault::{ShareItem, Who, base_name};
use crate::app::{self, vault::GrantConsent, vault::MandateChange, vault::RequestConsent, vault::RequestItem};
use crate::audit::SignedEntry;
use crate::engine::summaries::Summary;
use crate::engine::{Citations, ConsentView, EngineError, Explanation, Granted, ItemView};
use crate::ids::PartyId;
use crate::vault;
use crate::workspace::DocKind;
use crate::workspace::mandates::{Mandate, NewMandate};
use axum::Extension;

pub use crate::app::vault::Requested;

/// Longest first line of an item's upload (its metadata, JSON).
const MAX_META_BYTES: usize = 8 * 1024;

/// Metadata of an item being provided: the first line of the request body, as JSON; the item's
/// bytes follow. Not in the query string, where proxies' and servers' access logs would keep
/// the title.
#[derive(Deserialize, Serialize)]
pub struct ShareMeta {
    /// Title (encrypted before it is stored).
    pub title: String,
    /// Handling marking.
    #[serde(default)]
    pub marking: Option<String>,
    /// Cited mandate.
    #[serde(default)]
    pub mandate: Option<String>,
    /// The name of the file the item comes from, kept (encrypted, with the title) so that the
    /// item is saved under it again.
    #[serde(default)]
    pub file_name: Option<String>,
}

/// Reads the metadata line at the head of an upload; answers it and the bytes read past it.
async fn read_meta(
    stream: &mut (impl futures::Stream<Item = Result<Bytes, axum::Error>> + Unpin),
) -> Result<(ShareMeta, Vec<u8>), AppError> {
    let mut head: Vec<u8> = Vec::new();
    loop {
        if let Some(end) = head.iter().position(|&b| b == b'\n') {
            let rest = head.split_off(end + 1);
            let meta = serde_json::from_slice(&head[..end]).map_err(|e| {
                AppError::BadRequest(format!("the upload's first line is not its metadata ({{\"title\": ...}}): {e}"))
            })?;
            return Ok((meta, rest));
        }
        if head.len() > MAX_META_BYTES {
            return Err(AppError::BadRequest(format!(
                "the upload must start with one line of metadata of at most {MAX_META_BYTES} bytes"
            )));
        }
        match stream.next().await {
            Some(piece) => {
                head.extend_from_slice(&piece.map_err(|e| AppError::BadRequest(format!("the upload broke off: {e}")))?)
            }
            None => return Err(AppError::BadRequest("the upload ended before its metadata line".into())),
        }
    }
}

/// `POST /api/items`: provide an item. The body is a line of [`ShareMeta`], then the item; it
/// streams in, and each 1 MiB is encrypted and stored as it arrives (see
/// [`app::vault::share_item`]).
pub async fn share(State(s): State<AppState>, o: OfficerName, body: Body) -> Result<Json<ItemView>, AppError> {
    let mut stream = body.into_data_stream();
    let (q, rest) = read_meta(&mut stream).await?;
    let input = ShareItem { title: q.title, marking: q.marking, mandate: q.mandate, file_name: q.file_name };
    let body = futures::stream::iter([Ok(Bytes::from(rest))]).chain(stream);
    Ok(Json(app::vault::share_item(&s.engine, &who(o), input, body).await?))
}

fn who(o: OfficerName) -> Who {
    Who { officer: o.0 }
}

/// `GET /api/items`. A role that does not read items sees no title (nor file name): only that
/// an item is there, its provider and marking.
pub async fn list(State(s): State<AppState>, caller: Extension<Caller>) -> Result<Json<Vec<ItemView>>, AppError> {
    let mut v = s.engine.read(|c| c.item_list()).await?;
    if !reads_items(&caller) {
        for i in &mut v {
            i.title = None;
            i.file_name = None;
            i.readable = false;
        }
    }
    Ok(Json(v))
}

/// `GET /api/items/{id}/citations`: the meetings and messages that attach an item.
/// From the meetings' and threads' summaries: no document is read for it.
pub async fn citations(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Citations>, AppError> {
    // A full id needs no lookup: one not held (or no longer) has citations too.
    let item = match crate::ids::parse_id16(id.trim()) {
        Some(i) => crate::ids::ItemId(i).to_string(),
        None => s.engine.read(move |c| c.item_cited(&id)).await?,
    };
    let meetings = super::lists::entries(&s, DocKind::Meeting, None).await?;
    let threads = super::lists::entries(&s, DocKind::Thread, None).await?;
    let meetings = meetings.iter().filter_map(|e| match &e.summary {
        Summary::Meeting(m) => Some(&**m),
        _ => None,
    });
    Ok(Json(crate::engine::citations(item, meetings, threads.iter().filter_map(|e| e.thread_facts()))))
}

/// `GET /api/granted`: the items granted to this node's organisation as a third party, with
/// their state, and whether this is a third party's node.
pub async fn granted(State(s): State<AppState>, caller: Extension<Caller>) -> Result<Json<Granted>, AppError> {
    let may_read = reads_items(&caller);
    Ok(Json(s.engine.read(move |c| c.granted(may_read)).await?))
}

/// `GET /api/items/{id}/content`: the decrypted body, streamed. The provider's signature and
/// the whole ciphertext are checked first, and the decryption is in the audit log before the
/// first byte leaves.
pub async fn content(State(s): State<AppState>, o: OfficerName, Path(id): Path<String>) -> Result<Response, AppError> {
    let officer = o.0;
    let (env, key) = s
        .engine
        .write(move |c| {
            let id = c.item_resolve(&id)?;
            c.item_open(id, &officer)
        })
        .await?;
    // The signature and ciphertext were checked; a title that still does not open is a broken
    // item, and the officer is told so rather than shown an empty title.
    let (title, file_name) = vault::open_label(&key, &env.envelope).map_err(|e| EngineError::Vault(Arc::new(e)))?;
    let e = env.envelope.clone();
    let key = Arc::new(key);
    let engine = s.engine.clone();
    let chunks = futures::stream::unfold(0u32, move |i| {
        let (engine, key, e) = (engine.clone(), key.clone(), e.clone());
        async move {
            if i >= e.chunks {
                return None;
            }
            let item = e.item;
            let r = match engine.read(move |c| c.item_chunk(item, i)).await {
                Ok(ct) => vault::open_chunk(&key, &e, i, ct)
                    .map(Bytes::from)
                    .map_err(|e| std::io::Error::other(e.to_string())),
                Err(err) => Err(std::io::Error::other(err.to_string())),
            };
            Some((r, i + 1))
        }
    });
    let mut resp = Body::from_stream(chunks).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_LENGTH, env.envelope.plaintext_bytes.into());
    // The title goes back percent-encoded, so that any text fits in a header.
    if let Ok(v) = header::HeaderValue::from_str(&percent_encode(&title)) {
        h.insert("x-liaison-title", v);
    }
    if let Ok(v) = header::HeaderValue::from_str(&env.envelope.provider.to_string()) {
        h.insert("x-liaison-provider", v);
    }
    // Saved under the name it was provided from (else its title), whatever the script.
    if let Ok(v) = header::HeaderValue::from_str(&content_disposition(file_name.as_deref().unwrap_or(&title))) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// `attachment` with the file name twice (RFC 6266): `filename` in ASCII for old clients, with
/// what is not ASCII (or would end the quoted string) as `_`, and `filename*` in UTF-8,
/// percent-encoded as RFC 8187 (formerly 5987) says.
pub fn content_disposition(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).collect();
    let name = base_name(&name);
    let name = if name.is_empty() { "item".to_string() } else { name };
    let ascii: String =
        name.chars().map(|c| if c.is_ascii() && c != '"' && c != '\\' && c != '%' { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b" -_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Query of `explain`.
#[derive(Deserialize)]
pub struct ExplainQuery {
    /// Peer id, or a party id pinned once.
    to: String,
}

/// `GET /api/items/{id}/explain?to=PEER`.
pub async fn explain(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<ExplainQuery>,
) -> Result<Json<Explanation>, AppError> {
    Ok(Json(
        s.engine
            .read(move |c| {
                let id = c.item_resolve(&id)?;
                c.item_explain(id, &q.to)
            })
            .await?,
    ))
}

/// `POST /api/items/{id}/request`: on a third party's node, ask the providers for a granted item.
pub async fn request_item(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Requested>, AppError> {
    Ok(Json(app::vault::request_item(&s.engine, RequestItem { id }).await?))
}

/// `DELETE /api/items/{id}`: the provider deletes its item everywhere.
pub async fn delete_item(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
) -> Result<Json<RecordMade>, AppError> {
    Ok(Json(app::vault::delete_item(&s.engine, &who(o), id).await?))
}

/// A new consent request.
#[derive(Deserialize)]
pub struct NewRequest {
    item: String,
    third_party: PartyId,
    purpose: String,
}

/// A record made.
pub type RecordMade = app::vault::Made;

/// `POST /api/consent`: ask the provider to let an item go to a third party.
pub async fn consent_request(
    State(s): State<AppState>,
    o: OfficerName,
    Json(b): Json<NewRequest>,
) -> Result<Json<RecordMade>, AppError> {
    let input = RequestConsent { item: b.item, third_party: b.third_party, purpose: b.purpose };
    Ok(Json(app::vault::request_consent(&s.engine, &who(o), input).await?))
}

/// `GET /api/consent`.
pub async fn consent_list(State(s): State<AppState>) -> Result<Json<Vec<ConsentView>>, AppError> {
    Ok(Json(s.engine.consent_list().await?))
}

/// Options of a grant.
#[derive(Deserialize, Default)]
pub struct GrantBody {
    #[serde(default)]
    expires: Option<String>,
}

/// `POST /api/consent/{id}/grant`.
pub async fn consent_grant(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
    Json(b): Json<GrantBody>,
) -> Result<Json<RecordMade>, AppError> {
    let input = GrantConsent { request: id, expires: b.expires };
    Ok(Json(app::vault::grant_consent(&s.engine, &who(o), input).await?))
}

/// `POST /api/consent/{id}/deny`.
pub async fn consent_deny(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
) -> Result<Json<RecordMade>, AppError> {
    Ok(Json(app::vault::deny_consent(&s.engine, &who(o), id).await?))
}

/// `POST /api/consent/{id}/revoke`.
pub async fn consent_revoke(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
) -> Result<Json<RecordMade>, AppError> {
    Ok(Json(app::vault::revoke_consent(&s.engine, &who(o), id).await?))
}

/// `GET /api/mandates`.
pub async fn mandates_list(State(s): State<AppState>) -> Result<Json<Vec<Mandate>>, AppError> {
    Ok(Json(s.engine.mandates().await?))
}

/// `POST /api/mandates/{ref}`: withdraw or amend a mandate of our Party.
pub async fn mandates_change(
    State(s): State<AppState>,
    o: OfficerName,
    Path(reference): Path<String>,
    Json(m): Json<MandateChange>,
) -> Result<Json<Vec<Mandate>>, AppError> {
    Ok(Json(app::vault::change_mandate(&s.engine, &who(o), s.party.id.clone(), reference, m).await?))
}

/// `POST /api/mandates`: record a Member-State consent of our Party.
pub async fn mandates_add(
    State(s): State<AppState>,
    o: OfficerName,
    Json(m): Json<NewMandate>,
) -> Result<Json<Vec<Mandate>>, AppError> {
    Ok(Json(app::vault::add_mandate(&s.engine, &who(o), s.party.id.clone(), m).await?))
}

/// Filter of the audit log.
#[derive(Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    item: Option<String>,
}

/// `GET /api/audit`.
pub async fn audit_show(
    State(s): State<AppState>,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<SignedEntry>>, AppError> {
    // An id or a unique prefix of one, as the item commands take; checked here so that a
    // malformed one is the client's error, not a missing item.
    if let Some(i) = &q.item
        && (!(4..=32).contains(&i.len()) || !i.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(AppError::BadRequest(format!("{i:?} is not an item id or a prefix of one (4 to 32 hex digits)")));
    }
    Ok(Json(s.engine.audit_show(q.item).await?))
}

/// The result of `audit verify`.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditReport {
    /// Whether the log is intact.
    pub ok: bool,
    /// Entries checked.
    pub entries: u64,
    /// The first problem, naming the entry.
    pub error: Option<String>,
    /// The sequence number of the first bad entry, if known.
    pub first_bad: Option<u64>,
}

impl AuditReport {
    /// Builds the report from a verification result.
    pub fn from_result(r: Result<u64, crate::audit::AuditError>, total: u64) -> Self {
        use crate::audit::AuditError as E;
        match r {
            Ok(n) => AuditReport { ok: true, entries: n, error: None, first_bad: None },
            Err(e) => {
                let first_bad = match &e {
                    E::Edited { seq } | E::Forged { seq } | E::BrokenChain { seq } => Some(*seq),
                    E::OutOfSequence { expected, .. } => Some(*expected),
                    E::Truncated { len, .. } => Some(*len),
                    E::BadHead => None,
                    E::Empty => Some(0),
                };
                AuditReport { ok: false, entries: total, error: Some(e.to_string()), first_bad }
            }
        }
    }
}

/// `GET /api/audit/verify`.
pub async fn audit_verify(State(s): State<AppState>) -> Result<Json<AuditReport>, AppError> {
    let (r, total) = s.engine.audit_verify().await?;
    Ok(Json(AuditReport::from_result(r, total)))
}

/// `GET /api/audit/witnessed`: the audit heads this node holds witnessed (of the other Party's
/// nodes, countersigned here; and of its own, countersigned there).
pub async fn audit_witnessed(State(s): State<AppState>) -> Result<Json<Vec<crate::witness::Witnessed>>, AppError> {
    Ok(Json(s.engine.read(|c| Ok(c.audit_witnessed())).await?))
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn a_file_name_goes_out_in_ascii_and_in_utf8() {
        assert_eq!(
            content_disposition("Список организаций.xlsx"),
            "attachment; filename=\"______ ___________.xlsx\"; filename*=UTF-8''%D0%A1%D0%BF%D0%B8%D1%81%D0%BE%D0%BA%20%D0%BE%D1%80%D0%B3%D0%B0%D0%BD%D0%B8%D0%B7%D0%B0%D1%86%D0%B8%D0%B9.xlsx"
        );
        assert_eq!(content_disposition("a\"b\r\n.txt"), "attachment; filename=\"a_b.txt\"; filename*=UTF-8''a%22b.txt");
        assert_eq!(content_disposition("../../etc/passwd"), "attachment; filename=\"passwd\"; filename*=UTF-8''passwd");
        assert_eq!(content_disposition(""), "attachment; filename=\"item\"; filename*=UTF-8''item");
    }
}
