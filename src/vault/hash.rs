//! The signed hash of an item's ciphertext, and hashing it on a second core beside the cipher.
//!
//! New items are hashed with BLAKE3 (about 6,900 MiB/s on one core of the 2-core test machine,
//! against about 1,900 MiB/s for SHA-256 with SHA-NI and 2,600 MiB/s for the ChaCha20-Poly1305
//! that encrypts them), as a two-level tree: the BLAKE3 of the chunks' BLAKE3 digests, in order.
//! The tree lets a reader check the chunks on every core at once before it decrypts any
//! ([`check_parallel`]); the sealer hashes on a thread of its own, a chunk behind the cipher
//! ([`HashBeside`]). Either way the cipher, not the hash, sets the pace.
//!
//! The field says its algorithm by its length. 32 bytes is SHA-256, which every item sealed
//! before BLAKE3 holds, so their envelopes, signatures and content hashes stay byte for byte what
//! they were (no store migration, grants still name them). 33 bytes is a tag byte (1: BLAKE3) and
//! the digest. The provider's signature covers the tag, so nobody can swap the algorithm.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use bytes::Bytes;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// The tag byte of a BLAKE3 hash.
const BLAKE3_TAG: u8 = 1;

/// The hash of every chunk's ciphertext, in order, with its algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CiphertextHash {
    /// SHA-256: items sealed before BLAKE3.
    Sha256([u8; 32]),
    /// BLAKE3 of the chunks' BLAKE3 digests, in order: items sealed since.
    Blake3([u8; 32]),
}

impl Serialize for CiphertextHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            CiphertextHash::Sha256(d) => s.serialize_bytes(d),
            CiphertextHash::Blake3(d) => {
                let mut b = [0u8; 33];
                b[0] = BLAKE3_TAG;
                b[1..].copy_from_slice(d);
                s.serialize_bytes(&b)
            }
        }
    }
}

impl<'de> Deserialize<'de> for CiphertextHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b = serde_bytes::ByteBuf::deserialize(d)?;
        let digest = |s: &[u8]| <[u8; 32]>::try_from(s).map_err(serde::de::Error::custom);
        match (b.len(), b.first()) {
            (32, _) => Ok(CiphertextHash::Sha256(digest(&b)?)),
            (33, Some(&BLAKE3_TAG)) => Ok(CiphertextHash::Blake3(digest(&b[1..])?)),
            (n, _) => Err(serde::de::Error::custom(format!(
                "a ciphertext hash is 32 bytes (SHA-256) or a tag byte 1 and 32 bytes (BLAKE3), not {n} bytes"
            ))),
        }
    }
}

/// A running hash of an item's ciphertext, fed chunk by chunk.
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256 over the chunks as one stream, to check items sealed before BLAKE3.
    Sha256(Sha256),
    /// BLAKE3 over the chunks' BLAKE3 digests.
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    /// The hasher of new items.
    pub fn new() -> Self {
        Hasher::Blake3(Box::default())
    }

    /// A hasher of the algorithm `signed` was made with, to check it.
    pub fn like(signed: &CiphertextHash) -> Self {
        match signed {
            CiphertextHash::Sha256(_) => Hasher::Sha256(Sha256::new()),
            CiphertextHash::Blake3(_) => Hasher::new(),
        }
    }

    /// Adds the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(chunk),
            Hasher::Blake3(h) => {
                h.update(blake3::hash(chunk).as_bytes());
            }
        }
    }

    /// The hash of everything added.
    pub fn finish(self) -> CiphertextHash {
        match self {
            Hasher::Sha256(h) => CiphertextHash::Sha256(h.finalize().into()),
            Hasher::Blake3(h) => CiphertextHash::Blake3(*h.finalize().as_bytes()),
        }
    }
}

/// Whether `count` chunks, read by `read(index)`, hash to `signed`. BLAKE3 items are hashed on
/// every core (each thread takes every n-th chunk), SHA-256 ones in order on this thread. An error
/// of `read` stops the check and comes back as it is.
pub fn check_parallel<T: AsRef<[u8]>, E: Send>(
    signed: &CiphertextHash,
    count: u32,
    read: impl Fn(u32) -> Result<T, E> + Sync,
) -> Result<bool, E> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4) as u32;
    if matches!(signed, CiphertextHash::Sha256(_)) || threads == 1 || count < 2 {
        let mut h = Hasher::like(signed);
        for i in 0..count {
            h.update(read(i)?.as_ref());
        }
        return Ok(h.finish() == *signed);
    }
    let read = &read;
    let parts: Vec<Result<Vec<(u32, blake3::Hash)>, E>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t..count)
                        .step_by(threads as usize)
                        .map(|i| read(i).map(|c| (i, blake3::hash(c.as_ref()))))
                        .collect()
                })
            })
            .collect();
        // A worker that panicked is a failed check, never a passed one.
        workers.into_iter().map(|w| w.join().unwrap_or_else(|_| Ok(Vec::new()))).collect()
    });
    let mut digests = vec![None; count as usize];
    for p in parts {
        for (i, d) in p? {
            digests[i as usize] = Some(d);
        }
    }
    let mut outer = blake3::Hasher::new();
    for d in &digests {
        let Some(d) = d else { return Ok(false) };
        outer.update(d.as_bytes());
    }
    Ok(CiphertextHash::Blake3(*outer.finalize().as_bytes()) == *signed)
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher::new()
    }
}

/// How many chunks may wait for the hashing thread: bounds the memory an item in flight holds
/// (1 MiB each) and lets the cipher run a chunk ahead.
const QUEUE: usize = 2;

/// A hasher that works on a thread of its own once an item has more than one chunk, so that
/// sealing an item takes the cipher's time, not the cipher's and the hash's. An item of one
/// chunk is hashed in place: a thread would cost more than it saves. If the thread cannot be
/// started, everything is hashed in place.
pub struct HashBeside {
    state: State,
}

enum State {
    Here(Hasher),
    Thread {
        to: SyncSender<Bytes>,
        done: JoinHandle<CiphertextHash>,
    },
    /// The thread died; [`HashBeside::finish`] says so.
    Broken,
}

impl HashBeside {
    /// Starts with `hasher`.
    pub fn new(hasher: Hasher) -> Self {
        HashBeside { state: State::Here(hasher) }
    }

    /// Adds the next chunk; `more` says whether more chunks will follow.
    pub fn push(&mut self, chunk: Bytes, more: bool) {
        self.state = match std::mem::replace(&mut self.state, State::Broken) {
            State::Here(mut h) if !more => {
                h.update(&chunk);
                State::Here(h)
            }
            State::Here(h) => match spawn(h.clone()) {
                Some((to, done)) => send(to, done, chunk),
                None => {
                    let mut h = h;
                    h.update(&chunk);
                    State::Here(h)
                }
            },
            State::Thread { to, done } => send(to, done, chunk),
            State::Broken => State::Broken,
        };
    }

    /// The hash of every chunk pushed, or `None` if the hashing thread died.
    pub fn finish(self) -> Option<CiphertextHash> {
        match self.state {
            State::Here(h) => Some(h.finish()),
            State::Thread { to, done } => {
                drop(to);
                done.join().ok()
            }
            State::Broken => None,
        }
    }
}

fn spawn(mut h: Hasher) -> Option<(SyncSender<Bytes>, JoinHandle<CiphertextHash>)> {
    let (to, from): (SyncSender<Bytes>, Receiver<Bytes>) = sync_channel(QUEUE);
    let done = std::thread::Builder::new()
        .name("vault-hash".into())
        .spawn(move || {
            for c in from {
                h.update(&c);
            }
            h.finish()
        })
        .ok()?;
    Some((to, done))
}

fn send(to: SyncSender<Bytes>, done: JoinHandle<CiphertextHash>, chunk: Bytes) -> State {
    match to.send(chunk) {
        Ok(()) => State::Thread { to, done },
        Err(_) => State::Broken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_field_keeps_old_items_bytes_and_tags_blake3() {
        let old = CiphertextHash::Sha256([5; 32]);
        let enc = postcard::to_allocvec(&old).unwrap();
        // What `#[serde(with = "serde_bytes")] [u8; 32]` wrote before: a length and the bytes.
        assert_eq!(enc, postcard::to_allocvec(&serde_bytes::Bytes::new(&[5; 32])).unwrap());
        assert_eq!(postcard::from_bytes::<CiphertextHash>(&enc).unwrap(), old);
        let new = CiphertextHash::Blake3([6; 32]);
        let enc = postcard::to_allocvec(&new).unwrap();
        assert_eq!(enc.len(), 34);
        assert_eq!(postcard::from_bytes::<CiphertextHash>(&enc).unwrap(), new);
        let mut bad = enc.clone();
        bad[1] = 2;
        assert!(postcard::from_bytes::<CiphertextHash>(&bad).is_err(), "an unknown tag is refused");
        let short = postcard::to_allocvec(&serde_bytes::Bytes::new(&[5; 31])).unwrap();
        assert!(postcard::from_bytes::<CiphertextHash>(&short).is_err());
    }

    #[test]
    fn hashing_beside_and_in_parallel_equal_hashing_in_place() {
        let chunks: Vec<Bytes> = (0..5u8).map(|i| Bytes::from(vec![i; 70_000])).collect();
        for alg in [Hasher::new(), Hasher::Sha256(Sha256::new())] {
            let mut here = alg.clone();
            let mut beside = HashBeside::new(alg.clone());
            for (i, c) in chunks.iter().enumerate() {
                here.update(c);
                beside.push(c.clone(), i + 1 < chunks.len());
            }
            let want = here.finish();
            assert_eq!(beside.finish(), Some(want));
            let read = |i: u32| Ok::<_, ()>(chunks[i as usize].to_vec());
            assert_eq!(check_parallel(&want, 5, read), Ok(true));
            assert_eq!(check_parallel(&want, 4, read), Ok(false), "a chunk short");
            let swapped = |i: u32| Ok::<_, ()>(chunks[[1, 0, 2, 3, 4][i as usize]].to_vec());
            assert_eq!(check_parallel(&want, 5, swapped), Ok(false), "chunks out of order");
            let failing = |i: u32| if i == 3 { Err("gone") } else { Ok(chunks[i as usize].to_vec()) };
            assert_eq!(check_parallel(&want, 5, failing), Err("gone"));
        }
        // The tree: BLAKE3 of the chunks' digests.
        let mut outer = blake3::Hasher::new();
        chunks.iter().for_each(|c| {
            outer.update(blake3::hash(c).as_bytes());
        });
        let mut h = Hasher::new();
        chunks.iter().for_each(|c| h.update(c));
        assert_eq!(h.finish(), CiphertextHash::Blake3(*outer.finalize().as_bytes()));
        assert_ne!(Hasher::new().finish(), Hasher::Sha256(Sha256::new()).finish(), "the algorithms are told apart");
    }
}
