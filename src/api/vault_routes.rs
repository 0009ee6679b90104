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
use crate::audit::SignedEntry;
use crate::config::MandatedAction;
use crate::engine::{Citations, ConsentView, EngineError, Explanation, Granted, ItemRefusal, ItemView};
use crate::ids::{ItemId, PartyId};
use crate::vault::{self, CHUNK_BYTES, Sealer};
use crate::workspace::mandates::{Mandate, NewMandate};
use crate::workspace::{Author, ChangeCtx};
use axum::Extension;

/// Largest item accepted: 2 GiB.
pub const MAX_ITEM_BYTES: u64 = 2 * 1024 * 1024 * 1024;

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
/// streams in; each 1 MiB is encrypted and stored
/// as it arrives, so memory stays bounded whatever the size.
pub async fn share(State(s): State<AppState>, o: OfficerName, body: Body) -> Result<Json<ItemView>, AppError> {
    let officer = o.0.clone();
    let mut stream = body.into_data_stream();
    // A third party's node provides nothing: refused before a byte is stored.
    s.engine.read(|c| c.check_may_provide()).await?;
    let (q, mut buf) = read_meta(&mut stream).await?;
    let refused = |r: ItemRefusal| AppError::Engine(EngineError::ItemRefused(r));
    let file_name = q.file_name.as_deref().map(base_name).filter(|f| !f.is_empty());
    let label = vault::label(q.title.trim(), file_name.as_deref())
        .filter(|_| {
            !q.title.trim().is_empty() && q.title.len() <= 1000 && file_name.as_ref().is_none_or(|f| f.len() <= 255)
        })
        .ok_or(refused(ItemRefusal::Label))?;
    let marking = crate::marking::normalize(q.marking.as_deref()).map_err(|e| refused(e.into()))?;
    let mandate = q.mandate.clone().filter(|m| !m.trim().is_empty());
    let m2 = mandate.clone();
    s.engine.read(move |c| c.check_mandate(MandatedAction::ItemShare, m2.as_deref())).await?;
    let item = ItemId::random();
    let mut sealer = Sealer::new(item);
    buf.reserve(CHUNK_BYTES + 64 * 1024);
    let mut index = 0u32;
    let mut total = buf.len() as u64;
    let outcome: Result<(), AppError> = async {
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|e| AppError::BadRequest(format!("the upload broke off: {e}")))?;
            total += piece.len() as u64;
            if total > MAX_ITEM_BYTES {
                return Err(AppError::BadRequest(format!("items are limited to {MAX_ITEM_BYTES} bytes")));
            }
            buf.extend_from_slice(&piece);
            // A full chunk with more data after it is certainly not the last one.
            while buf.len() > CHUNK_BYTES {
                let rest = buf.split_off(CHUNK_BYTES);
                let ct = sealer.chunk(&buf, false).map_err(|e| AppError::Engine(EngineError::Item(e.to_string())))?;
                buf = rest;
                let i = index;
                s.engine
                    .write(move |c| {
                        c.item_stage_chunk(item, i, ct);
                        Ok(())
                    })
                    .await?;
                index += 1;
            }
        }
        let ct = sealer.chunk(&buf, true).map_err(|e| AppError::Engine(EngineError::Item(e.to_string())))?;
        let i = index;
        s.engine
            .write(move |c| {
                c.item_stage_chunk(item, i, ct);
                Ok(())
            })
            .await?;
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        let _ = s
            .engine
            .write(move |c| {
                c.item_abort(item);
                Ok(())
            })
            .await;
        return Err(e);
    }
    let view = s.engine.write(move |c| c.item_finish(sealer, &label, marking, mandate, &officer)).await?;
    Ok(Json(view))
}

/// The last component of a file name as a browser or a shell gives it (no directory).
fn base_name(f: &str) -> String {
    f.rsplit(['/', '\\']).next().unwrap_or("").trim().to_string()
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
pub async fn citations(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Citations>, AppError> {
    Ok(Json(s.engine.read(move |c| c.item_citations(&id)).await?))
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
    let (title, file_name) = vault::open_label(&key, &env.envelope).map_err(|e| EngineError::Item(e.to_string()))?;
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
                Ok(ct) => vault::open_chunk(&key, &e, i, &ct)
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

/// The answer of `item request`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Requested {
    /// How many provider peers were asked.
    pub asked: usize,
}

/// `POST /api/items/{id}/request`: on a third party's node, ask the providers for a granted item.
pub async fn request_item(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Requested>, AppError> {
    let item = crate::ids::parse_id16(&id)
        .map(ItemId)
        .ok_or_else(|| AppError::BadRequest(format!("{id:?} is not an item id (32 hex digits)")))?;
    let asked = s.engine.write(move |c| Ok(c.item_request(item))).await?;
    Ok(Json(Requested { asked }))
}

/// `DELETE /api/items/{id}`: the provider deletes its item everywhere.
pub async fn delete_item(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
) -> Result<Json<RecordMade>, AppError> {
    consent_step(&s, o, move |c, officer| {
        let item = c.item_resolve(&id)?;
        c.item_delete(item, officer)
    })
    .await
}

/// A new consent request.
#[derive(Deserialize)]
pub struct NewRequest {
    item: String,
    third_party: PartyId,
    purpose: String,
}

/// A record made.
#[derive(Debug, Serialize, Deserialize)]
pub struct RecordMade {
    /// Its id.
    pub id: String,
}

/// `POST /api/consent`: ask the provider to let an item go to a third party.
pub async fn consent_request(
    State(s): State<AppState>,
    o: OfficerName,
    Json(b): Json<NewRequest>,
) -> Result<Json<RecordMade>, AppError> {
    let officer = o.0;
    let id = s.engine.write(move |c| c.consent_request(&b.item, b.third_party, b.purpose, &officer)).await?;
    Ok(Json(RecordMade { id: id.to_string() }))
}

/// `GET /api/consent`.
pub async fn consent_list(State(s): State<AppState>) -> Result<Json<Vec<ConsentView>>, AppError> {
    Ok(Json(s.engine.read(|c| Ok(c.consent_list())).await?))
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
    consent_step(&s, o, move |c, officer| c.consent_grant(&id, b.expires, officer)).await
}

/// `POST /api/consent/{id}/deny`.
pub async fn consent_deny(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
) -> Result<Json<RecordMade>, AppError> {
    consent_step(&s, o, move |c, officer| c.consent_deny(&id, officer)).await
}

/// `POST /api/consent/{id}/revoke`.
pub async fn consent_revoke(
    State(s): State<AppState>,
    o: OfficerName,
    Path(id): Path<String>,
) -> Result<Json<RecordMade>, AppError> {
    consent_step(&s, o, move |c, officer| c.consent_revoke(&id, officer)).await
}

/// Makes one signed consent record as `o` and answers its id.
async fn consent_step<R: std::fmt::Display + Send + 'static>(
    s: &AppState,
    o: OfficerName,
    step: impl FnOnce(&mut crate::engine::Core, &str) -> Result<R, crate::engine::EngineError> + Send + 'static,
) -> Result<Json<RecordMade>, AppError> {
    let officer = o.0;
    let id = s.engine.write(move |c| step(c, &officer)).await?;
    Ok(Json(RecordMade { id: id.to_string() }))
}

/// `GET /api/mandates`.
pub async fn mandates_list(State(s): State<AppState>) -> Result<Json<Vec<Mandate>>, AppError> {
    Ok(Json(s.engine.read(|c| c.mandates()).await?))
}

/// A change to one of our Party's mandates.
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum MandateChange {
    /// Withdraw it: from now on it is not in force.
    Withdraw,
    /// Amend its scope.
    Amend {
        /// The new scope.
        scope: String,
    },
}

/// `POST /api/mandates/{ref}`: withdraw or amend a mandate of our Party.
pub async fn mandates_change(
    State(s): State<AppState>,
    o: OfficerName,
    Path(reference): Path<String>,
    Json(m): Json<MandateChange>,
) -> Result<Json<Vec<Mandate>>, AppError> {
    let ctx = ChangeCtx { author: Author { officer: o.0, party: s.party.id.clone() }, now: chrono::Utc::now() };
    let v = s
        .engine
        .write(move |c| {
            match m {
                MandateChange::Withdraw => c.withdraw_mandate(&ctx, &reference)?,
                MandateChange::Amend { scope } => c.amend_mandate(&ctx, &reference, &scope)?,
            }
            c.mandates()
        })
        .await?;
    Ok(Json(v))
}

/// `POST /api/mandates`: record a Member-State consent of our Party.
pub async fn mandates_add(
    State(s): State<AppState>,
    o: OfficerName,
    Json(m): Json<NewMandate>,
) -> Result<Json<Vec<Mandate>>, AppError> {
    let ctx = ChangeCtx { author: Author { officer: o.0, party: s.party.id.clone() }, now: chrono::Utc::now() };
    let v = s
        .engine
        .write(move |c| {
            c.add_mandate(&ctx, &m)?;
            c.mandates()
        })
        .await?;
    Ok(Json(v))
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
    let item = q.item;
    Ok(Json(s.engine.read(move |c| c.audit_show(item.as_deref())).await?))
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
    let (r, total) = s
        .engine
        .read(|c| {
            let total = c.audit_show(None)?.len() as u64;
            Ok((c.audit_verify()?, total))
        })
        .await?;
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
