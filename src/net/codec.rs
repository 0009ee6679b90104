//! The sync protocol's codec: CBOR (the same encoding as libp2p's own `cbor` codec), with the
//! message size cap, and one difference that matters: a request that is too large or does not
//! decode is not a stream error but a value, [`Wire::Malformed`]. A stream error never reaches
//! the behaviour's events with the peer's id when the request is still unknown to it, so the
//! node could not tell whom to drop; as a value, the network task sees the peer, drops its
//! session and logs why.

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response::Codec;

use super::protocol::{Batch, Reply};

/// A request on the wire, as read.
#[derive(Debug)]
pub enum Wire {
    /// A well-formed batch.
    Batch(Batch),
    /// What came was not a batch, and why (only ever read, never written).
    Malformed(String),
}

/// The codec.
#[derive(Clone)]
pub struct SyncCodec {
    max_request: u64,
    max_reply: u64,
}

impl SyncCodec {
    /// A codec that accepts requests of at most `max_request` bytes.
    pub fn new(max_request: u64, max_reply: u64) -> Self {
        SyncCodec { max_request, max_reply }
    }
}

/// Reads to the end of the stream, or to one byte past `max` (then `true`: over the cap); never
/// a byte further.
///
/// Not `AsyncReadExt::read_to_end`: futures' version zero-fills each new stretch of capacity one
/// byte at a time through an iterator, which an unoptimised build runs at a few MB/s; a 30 MiB
/// batch kept the network thread busy for 10–20 s in the debug tests. Copying each read from a
/// fixed buffer is a `memcpy` in any build.
async fn read_capped<T: AsyncRead + Unpin + Send>(io: &mut T, max: u64) -> io::Result<(Vec<u8>, bool)> {
    let limit = max.saturating_add(1);
    let mut buf = Vec::new();
    let mut block = vec![0u8; READ_BLOCK.min(usize::try_from(limit).unwrap_or(READ_BLOCK))];
    loop {
        let room = usize::try_from(limit - buf.len() as u64).unwrap_or(usize::MAX).min(block.len());
        let n = io.read(&mut block[..room]).await?;
        if n == 0 {
            return Ok((buf, false));
        }
        buf.extend_from_slice(&block[..n]);
        if buf.len() as u64 > max {
            return Ok((buf, true));
        }
    }
}

/// How much one read of a message may take from the stream.
const READ_BLOCK: usize = 64 * 1024;

impl Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = Wire;
    type Response = Reply;

    async fn read_request<T: AsyncRead + Unpin + Send>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Wire> {
        let (buf, over) = match read_capped(io, self.max_request).await {
            Ok(x) => x,
            Err(e) => return Ok(Wire::Malformed(format!("the message broke off: {e}"))),
        };
        if over {
            return Ok(Wire::Malformed(format!("a message larger than the {}-byte cap", self.max_request)));
        }
        Ok(match cbor4ii::serde::from_slice::<Batch>(&buf) {
            Ok(b) => Wire::Batch(b),
            Err(e) => Wire::Malformed(format!("a message that does not decode: {e}")),
        })
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<Reply> {
        let (buf, over) = read_capped(io, self.max_reply).await?;
        if over {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "reply over the cap"));
        }
        cbor4ii::serde::from_slice(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Wire,
    ) -> io::Result<()> {
        let Wire::Batch(b) = req else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "a malformed request is never sent"));
        };
        let bytes = cbor4ii::serde::to_vec(Vec::new(), &b).map_err(|e| io::Error::other(e.to_string()))?;
        io.write_all(&bytes).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        r: Reply,
    ) -> io::Result<()> {
        let bytes = cbor4ii::serde::to_vec(Vec::new(), &r).map_err(|e| io::Error::other(e.to_string()))?;
        io.write_all(&bytes).await
    }
}
