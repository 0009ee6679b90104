//! Items: provided (streamed in, encrypted chunk by chunk as it arrives, so that any size goes
//! in bounded memory), deleted by their provider everywhere, and asked for by a third party's
//! node from the providers' nodes.

use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};

use super::{Made, Who, commit};
use crate::config::MandatedAction;
use crate::engine::{DeleteRefusal, EngineError, EngineHandle, ItemRefusal, ItemView, Refusal};
use crate::ids::ItemId;
use crate::vault::{self, CHUNK_BYTES, Sealer};

/// Largest item accepted: 2 GiB.
pub const MAX_ITEM_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Longest title, in bytes.
const MAX_TITLE_BYTES: usize = 1000;
/// Longest file name kept, in bytes.
const MAX_FILE_NAME_BYTES: usize = 255;

/// An item to provide; its bytes come as a stream beside it.
#[derive(Clone, Debug, Default)]
pub struct ShareItem {
    /// Title (encrypted before it is stored).
    pub title: String,
    /// Handling marking: free text or a TLP 2.0 label; none: the default marking.
    pub marking: Option<String>,
    /// The Member-State mandate it is provided under, if any.
    pub mandate: Option<String>,
    /// The name of the file it comes from (kept encrypted with the title, without directories).
    pub file_name: Option<String>,
}

/// Why providing an item is refused.
#[derive(Clone, Debug, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum ShareRefusal {
    /// The item is larger than a node takes.
    #[error("items are limited to {max_bytes} bytes")]
    ItemTooLarge {
        /// The bound.
        max_bytes: u64,
    },
    /// The upload broke off before its end.
    #[error("the upload broke off: {reason}")]
    UploadBrokeOff {
        /// What the transport said.
        reason: String,
    },
    /// The node failed (not a refusal).
    #[serde(skip)]
    #[error(transparent)]
    Failed(EngineError),
    /// A rule about items: a third party's node provides none, the marking, the title.
    #[serde(untagged)]
    #[error(transparent)]
    Item(ItemRefusal),
    /// The Party's rule about mandates: one required, or the one cited not in force.
    #[serde(untagged)]
    #[error(transparent)]
    Mandate(Refusal),
}

impl From<EngineError> for ShareRefusal {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::ItemRefused(r) => ShareRefusal::Item(r),
            EngineError::Refused(r) if r.is_mandate() => ShareRefusal::Mandate(r),
            e => ShareRefusal::Failed(e),
        }
    }
}

/// The last component of a file name as a browser or a shell gives it (no directory).
pub fn base_name(f: &str) -> String {
    f.rsplit(['/', '\\']).next().unwrap_or("").trim().to_string()
}

/// Provides an item: checks what can be checked before a byte is stored (this node may provide,
/// the title, the marking, the mandate), then encrypts and stores `body` chunk by chunk as it
/// arrives, and last seals, signs and sends the item to the Parties' nodes. Whatever stops it
/// half-way, the chunks stored so far are dropped.
pub async fn share_item<S, B, E>(
    engine: &EngineHandle,
    who: &Who,
    input: ShareItem,
    mut body: S,
) -> Result<ItemView, ShareRefusal>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    // A third party's node provides nothing: refused before a byte is stored.
    engine.read(|c| c.check_may_provide()).await?;
    let file_name = input.file_name.as_deref().map(base_name).filter(|f| !f.is_empty());
    let title = input.title.trim();
    let label = vault::label(title, file_name.as_deref())
        .filter(|_| {
            !title.is_empty()
                && input.title.len() <= MAX_TITLE_BYTES
                && file_name.as_ref().is_none_or(|f| f.len() <= MAX_FILE_NAME_BYTES)
        })
        .ok_or(ShareRefusal::Item(ItemRefusal::Label))?;
    let marking =
        crate::marking::normalize(input.marking.as_deref()).map_err(|e| ShareRefusal::Item(ItemRefusal::from(e)))?;
    let mandate = input.mandate.filter(|m| !m.trim().is_empty());
    let cited = mandate.clone();
    engine.read(move |c| c.check_mandate(MandatedAction::ItemShare, cited.as_deref())).await?;

    let item = ItemId::random();
    let mut sealer = Sealer::new(item);
    let stored = store_chunks(engine, item, &mut sealer, &mut body).await;
    if let Err(e) = stored {
        // Best effort: a chunk left behind is ciphertext with no key, and the next start drops
        // it anyway (`items::cleanup`).
        let _ = engine
            .write(move |c| {
                c.item_abort(item);
                Ok(())
            })
            .await;
        return Err(e);
    }
    let officer = who.officer.clone();
    Ok(engine.write(move |c| c.item_finish(sealer, &label, marking, mandate, &officer)).await?)
}

/// Encrypts and stores the body's chunks as they come (each durable before the next is read).
async fn store_chunks<S, B, E>(
    engine: &EngineHandle,
    item: ItemId,
    sealer: &mut Sealer,
    body: &mut S,
) -> Result<(), ShareRefusal>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 64 * 1024);
    let mut index = 0u32;
    let mut total = 0u64;
    let seal = |sealer: &mut Sealer, buf: Vec<u8>, last: bool| {
        sealer.chunk(buf, last).map_err(|e| ShareRefusal::Failed(EngineError::Vault(std::sync::Arc::new(e))))
    };
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| ShareRefusal::UploadBrokeOff { reason: e.to_string() })?;
        let piece = piece.as_ref();
        total += piece.len() as u64;
        if total > MAX_ITEM_BYTES {
            return Err(ShareRefusal::ItemTooLarge { max_bytes: MAX_ITEM_BYTES });
        }
        buf.extend_from_slice(piece);
        // A full chunk with more data after it is certainly not the last one.
        while buf.len() > CHUNK_BYTES {
            // The chunk is encrypted in its own buffer; the rest starts the next one.
            let mut rest = Vec::with_capacity(CHUNK_BYTES + 64 * 1024);
            rest.extend_from_slice(&buf[CHUNK_BYTES..]);
            buf.truncate(CHUNK_BYTES);
            let ct = seal(sealer, std::mem::replace(&mut buf, rest), false)?;
            stage(engine, item, index, ct).await?;
            index += 1;
        }
    }
    let ct = seal(sealer, buf, true)?;
    stage(engine, item, index, ct).await
}

async fn stage(engine: &EngineHandle, item: ItemId, index: u32, ct: bytes::Bytes) -> Result<(), ShareRefusal> {
    engine
        .write(move |c| {
            c.item_stage_chunk(item, index, ct);
            Ok(())
        })
        .await
        .map_err(ShareRefusal::Failed)
}

/// Deletes an item our Party provided (id or unique prefix), everywhere: its grants are revoked
/// (third parties destroy their copies), then a signed deletion makes every Party node that
/// holds it destroy it. Answers the deletion record's id.
pub async fn delete_item(engine: &EngineHandle, who: &Who, item: String) -> Result<Made, DeleteRefusal> {
    let officer = who.officer.clone();
    let id = commit(engine, move |c| c.item_delete(&item, &officer)).await?;
    Ok(Made { id: id.to_string() })
}

/// On a third party's node: asking the providers' nodes for an item granted to us.
#[derive(Clone, Debug)]
pub struct RequestItem {
    /// The item's full id (32 hex digits: a prefix names nothing held here yet).
    pub id: String,
}

/// The answer of an item request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Requested {
    /// How many provider peers were asked.
    pub asked: usize,
}

/// Why an item request is refused.
#[derive(Clone, Debug, Serialize, thiserror::Error)]
#[serde(rename_all = "kebab-case", tag = "code")]
pub enum RequestItemRefusal {
    /// Not an item id.
    #[error("{id:?} is not an item id (32 hex digits)")]
    NotAnItemId {
        /// What was given.
        id: String,
    },
    /// The node failed (not a refusal).
    #[serde(skip)]
    #[error(transparent)]
    Failed(EngineError),
}

impl From<EngineError> for RequestItemRefusal {
    fn from(e: EngineError) -> Self {
        RequestItemRefusal::Failed(e)
    }
}

/// Asks the connected provider peers for an item granted to us; it arrives by itself if a
/// grant holds. Answers how many were asked.
pub async fn request_item(engine: &EngineHandle, input: RequestItem) -> Result<Requested, RequestItemRefusal> {
    let item = crate::ids::parse_id16(&input.id).map(ItemId).ok_or(RequestItemRefusal::NotAnItemId { id: input.id })?;
    let asked = commit(engine, move |c| Ok::<_, RequestItemRefusal>(c.item_request(item))).await?;
    Ok(Requested { asked })
}
