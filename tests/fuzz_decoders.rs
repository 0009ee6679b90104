//! Fuzzed decoders (issue 10): everything the node decodes from a peer or an operator, fed
//! structured random values, raw random bytes, and valid encodings with bytes flipped, set,
//! inserted, deleted, cut off, or replaced by hostile length headers. Every property checks
//! that nothing panics and that no decoder allocates without bound, and what must be refused
//! is refused.
//!
//! "No unbounded allocation": this test binary's global allocator counts, on the thread that
//! decodes, the largest single allocation and the peak of live bytes while one input is
//! decoded. Decoding N bytes may ask for at most `max(1 MiB + 64 KiB, 64 * N)` at once and hold
//! at most `max(4 MiB, 64 * N)`. The 1 MiB is serde's own cap on preallocating a sequence
//! from the length the input claims (`serde::__private::size_hint::cautious`): a 10-byte CBOR
//! array header claiming 2^32 frames makes `Vec<Frame>` reserve 1 MiB, never more, and the
//! array then fails to decode. A decoder that trusted a length prefix (the 4 GiB byte string)
//! fails the check: `the_allocation_check_catches_a_trusting_decoder` proves it.
//!
//! | property | cases |
//! | --- | --- |
//! | `codec_batches_round_trip` (every `Frame` variant, structured, read off a chunked stream) | 2,000 |
//! | `codec_mutated_batches` (valid `Batch` encodings, mutated, through `SyncCodec`) | 6,000 |
//! | `codec_raw_bytes_and_caps` (random bytes, random caps, endless and failing streams) | 3,000 |
//! | `frames_and_replies_mutated` (each `Frame` and `Reply` alone, mutated CBOR) | 6,000 |
//! | `automerge_snapshots_mutated` (`Automerge::load` on mutated workspace snapshots) | 3,000 |
//! | `automerge_sync_messages_mutated` (`sync::Message::decode`, then receive) | 4,000 |
//! | `automerge_changes_structured` (changes edited field by field: seq, start op, deps, ops...) | 2,000 |
//! | `consent_records_round_trip_and_verify` (every record kind, signed, postcard and CBOR) | 2,000 |
//! | `consent_records_mutated` (mutated postcard and CBOR records: decode, verify) | 6,000 |
//! | `envelopes_and_wraps_mutated` (`SignedEnvelope`, `KeyWrap`: decode, verify, `open_key`) | 4,000 |
//! | `envelopes_and_wraps_structured` (random envelopes, wraps, chunks, titles) | 2,000 |
//! | `config_mutated` (`NodeConfig::parse` on mutated `config/cica.toml`) | 6,000 |
//! | `config_structured` (random TOML over the config's own sections and keys) | 4,000 |
//! | `raw_bytes_everywhere` (the same random bytes through every decoder above) | 4,000 |
//!
//! The API's JSON bodies are fuzzed through the real router in `tests/fuzz_api.rs`, and
//! hostile batches through a real node's network in `tests/fuzz_peer.rs`. Each property prints
//! its case count and time (`--no-capture`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

use automerge::Automerge;
use automerge::sync::{Message, State, SyncDoc};
use chrono::Utc;
use ed25519_dalek::SigningKey;
use liaison::audit;
use liaison::authorship::{ActorCert, HeadSigner, NodeActor, SignedHead};
use liaison::config::NodeConfig;
use liaison::consent::{
    Denial, ExpiryAck, Grant, Record, Request, Revocation, RevocationAck, SignedRecord, Transmission, check_grant,
};
use liaison::ids::{DocId, ItemId, PartyId, RecordId};
use liaison::net::protocol::{Batch, CatalogEntry, Frame, Hash, PresenceNote, Reply, SYNC_PROTOCOL};
use liaison::net::{SyncCodec, Wire};
use liaison::vault::{self, Envelope, KeyWrap, Sealer, SignedEnvelope};
use liaison::witness::Witnessed;
use liaison::workspace::{Author, ChangeCtx, DocKind, draft, meeting};
use libp2p::StreamProtocol;
use libp2p::request_response::Codec;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

// ---------------------------------------------------------------------------------------------
// The counting allocator.

struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Above this, an allocation on a tracked thread is refused outright (the process aborts with
/// "memory allocation failed"), so that a decoder that trusts a 4 GiB length prefix fails the
/// run instead of taking the machine's memory.
const REFUSE_ABOVE: usize = 1 << 30;

fn note_alloc(size: usize) -> bool {
    TRACKING
        .try_with(|t| {
            if !t.get() {
                return true;
            }
            LARGEST.with(|l| l.set(l.get().max(size)));
            LIVE.with(|l| {
                let v = l.get() + size as isize;
                l.set(v);
                PEAK.with(|p| p.set(p.get().max(v)));
            });
            size <= REFUSE_ABOVE
        })
        .unwrap_or(true)
}

fn note_free(size: usize) {
    let _ = TRACKING.try_with(|t| {
        if t.get() {
            LIVE.with(|l| l.set(l.get() - size as isize));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !note_alloc(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !note_alloc(layout.size()) {
            return std::ptr::null_mut();
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note_free(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !note_alloc(new_size) {
            return std::ptr::null_mut();
        }
        note_free(layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// What one decode allocated on this thread.
#[derive(Clone, Copy, Debug)]
struct Usage {
    /// The largest single allocation (or reallocation's new size).
    largest: usize,
    /// The most bytes live at once, counted from the start.
    peak: usize,
}

/// Runs `f` with this thread's allocations counted.
fn measured<T>(f: impl FnOnce() -> T) -> (T, Usage) {
    LARGEST.with(|l| l.set(0));
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    let usage = Usage { largest: LARGEST.with(Cell::get), peak: PEAK.with(Cell::get).max(0) as usize };
    (out, usage)
}

/// The most one allocation may ask for while decoding `n` bytes.
fn largest_allowed(n: usize) -> usize {
    (SERDE_PREALLOC + (64 << 10)).max(64 * n)
}

/// The most bytes that may be live at once while decoding `n` bytes.
fn peak_allowed(n: usize) -> usize {
    (4 << 20).max(64 * n)
}

/// serde's cap on what a claimed sequence length may preallocate.
const SERDE_PREALLOC: usize = 1 << 20;

fn check_usage(what: &str, n: usize, u: Usage) -> Result<(), TestCaseError> {
    prop_assert!(
        u.largest <= largest_allowed(n),
        "{what}: decoding {n} bytes asked for {} bytes at once (allowed {})",
        u.largest,
        largest_allowed(n)
    );
    prop_assert!(
        u.peak <= peak_allowed(n),
        "{what}: decoding {n} bytes held {} bytes at once (allowed {})",
        u.peak,
        peak_allowed(n)
    );
    Ok(())
}

/// Decodes with allocations counted and checked against the input's size.
fn decode_checked<T>(what: &str, input: &[u8], f: impl FnOnce(&[u8]) -> T) -> Result<T, TestCaseError> {
    let (out, usage) = measured(|| f(input));
    check_usage(what, input.len(), usage)?;
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The runner: a fixed number of cases per property, printed.

fn run<S: Strategy>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) {
    quiet_panics();
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 2048, ..Config::default() };
    let mut runner = TestRunner::new(config);
    let started = Instant::now();
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{name}: {e}");
    }
    eprintln!("{name}: {cases} cases passed in {:.1?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Mutations of valid encodings.

#[derive(Clone, Debug)]
enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, u8),
    Truncate(Index),
    /// Overwrite with a hostile header (a huge length, an indefinite length, a break).
    Hostile(Index, usize, bool),
    /// Copy a slice of the input elsewhere (repeats structure).
    Duplicate(Index, Index, u8),
}

/// Headers that claim more than there is: CBOR byte strings, text, arrays and maps of 4 GiB and
/// 2^64 - 1, indefinite lengths, breaks, tags; postcard varints of u32::MAX and u64::MAX.
const HOSTILE: &[&[u8]] = &[
    &[0x5a, 0xff, 0xff, 0xff, 0xff],
    &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0x5b, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00],
    &[0x7a, 0xff, 0xff, 0xff, 0xff],
    &[0x7b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0x9a, 0xff, 0xff, 0xff, 0xff],
    &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0xba, 0xff, 0xff, 0xff, 0xff],
    &[0xbb, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0x9f],
    &[0xbf],
    &[0x5f, 0x41, 0x00, 0xff],
    &[0x7f],
    &[0xff],
    &[0xc0],
    &[0xd9, 0xd9, 0xf7],
    &[0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0xfb, 0x7f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
    &[0xff, 0xff, 0xff, 0xff, 0x0f],
    &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), 0..8u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => (any::<Index>(), prop::collection::vec(any::<u8>(), 1..12)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), 1..16u8).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        2 => (any::<Index>(), 0..HOSTILE.len(), any::<bool>()).prop_map(|(i, h, ins)| Mutation::Hostile(i, h, ins)),
        1 => (any::<Index>(), any::<Index>(), 1..64u8).prop_map(|(a, b, n)| Mutation::Duplicate(a, b, n)),
    ]
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    prop::collection::vec(mutation(), 1..6)
}

fn mutate(input: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut v = input.to_vec();
    for m in ms {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len) };
        match m {
            Mutation::Flip(i, bit) if !v.is_empty() => {
                let p = at(i, v.len());
                v[p] ^= 1 << bit;
            }
            Mutation::Set(i, b) if !v.is_empty() => {
                let p = at(i, v.len());
                v[p] = *b;
            }
            Mutation::Insert(i, bytes) => {
                let p = at(i, v.len() + 1);
                v.splice(p..p, bytes.iter().copied());
            }
            Mutation::Delete(i, n) if !v.is_empty() => {
                let p = at(i, v.len());
                let end = (p + *n as usize).min(v.len());
                v.drain(p..end);
            }
            Mutation::Truncate(i) => {
                let p = at(i, v.len() + 1);
                v.truncate(p);
            }
            Mutation::Hostile(i, h, insert) => {
                let h = HOSTILE[*h];
                let p = at(i, v.len() + 1);
                if *insert || p + h.len() > v.len() {
                    v.splice(p..p, h.iter().copied());
                } else {
                    v[p..p + h.len()].copy_from_slice(h);
                }
            }
            Mutation::Duplicate(from, to, n) if !v.is_empty() => {
                let f = at(from, v.len());
                let end = (f + *n as usize).min(v.len());
                let slice = v[f..end].to_vec();
                let t = at(to, v.len() + 1);
                v.splice(t..t, slice);
            }
            _ => {}
        }
    }
    v
}

/// Random bytes, or random bytes after a valid prefix of a CBOR map/array.
fn raw_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        prop::collection::vec(any::<u8>(), 0..4096),
        (prop::sample::select(vec![0xa1u8, 0x81, 0x82, 0xa2, 0x9f, 0xbf]), prop::collection::vec(any::<u8>(), 0..512))
            .prop_map(|(h, mut v)| {
                v.insert(0, h);
                v
            }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Structured values.

fn arr16() -> impl Strategy<Value = [u8; 16]> {
    any::<[u8; 16]>()
}

fn arr32() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn arr64() -> impl Strategy<Value = [u8; 64]> {
    (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(a, b)| {
        let mut s = [0u8; 64];
        s[..32].copy_from_slice(&a);
        s[32..].copy_from_slice(&b);
        s
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![".{0,24}", "[a-z0-9 -]{0,12}", Just(String::new()), Just("2026-11-28T10:00:00Z".to_string())]
}

fn party() -> impl Strategy<Value = PartyId> {
    prop_oneof![
        Just("cica".to_string()),
        Just("sco-rats".to_string()),
        Just("un-oct".to_string()),
        "[a-z0-9][a-z0-9-]{0,30}[a-z0-9]"
    ]
    .prop_map(|s| s.parse().expect("a valid party id"))
}

fn doc_kind() -> impl Strategy<Value = DocKind> {
    prop::sample::select(DocKind::ALL.to_vec())
}

fn signed_head() -> impl Strategy<Value = SignedHead> {
    (arr16(), bytes(40), any::<u64>(), arr32(), prop::option::of(party()), arr64()).prop_map(
        |(doc, actor, seq, hash, legacy, sig)| SignedHead {
            doc: DocId(doc),
            actor,
            seq,
            hash,
            signer: legacy.map_or(HeadSigner::Node, HeadSigner::Legacy),
            sig,
        },
    )
}

fn actor_cert() -> impl Strategy<Value = ActorCert> {
    (party(), text(), arr32(), arr16(), arr64()).prop_map(|(party, node, node_key, actor, sig)| ActorCert {
        party,
        node,
        node_key,
        actor: NodeActor(actor),
        sig,
    })
}

/// Fields that records of every kind are made of.
#[derive(Clone, Debug)]
struct RecordFields {
    ids: [RecordId; 3],
    item: ItemId,
    hash: [u8; 32],
    parties: [PartyId; 3],
    texts: [String; 3],
    expires: Option<String>,
}

fn record_fields() -> impl Strategy<Value = RecordFields> {
    (
        (arr16(), arr16(), arr16(), arr16()),
        arr32(),
        (party(), party(), party()),
        (text(), text(), text()),
        prop::option::of(prop_oneof![text(), Just("2030-01-01T00:00:00Z".to_string())]),
    )
        .prop_map(|((a, b, c, i), hash, (p, q, r), (s, t, u), expires)| RecordFields {
            ids: [RecordId(a), RecordId(b), RecordId(c)],
            item: ItemId(i),
            hash,
            parties: [p, q, r],
            texts: [s, t, u],
            expires,
        })
}

const RECORD_KINDS: usize = 7;

fn make_record(kind: usize, f: RecordFields) -> Record {
    let [id, other, third] = f.ids;
    let [p, q, r] = f.parties;
    let [s, t, u] = f.texts;
    match kind {
        0 => Record::Request(Request {
            id,
            item: f.item,
            content_hash: f.hash,
            provider: p,
            requester: q,
            third_party: r,
            purpose: s,
            at: t,
            officer: u,
        }),
        1 => Record::Grant(Grant {
            id,
            request: other,
            item: f.item,
            content_hash: f.hash,
            provider: p,
            holder: q,
            third_party: r,
            purpose: s,
            expires: f.expires,
            at: t,
            officer: u,
        }),
        2 => Record::Denial(Denial { id, request: other, item: f.item, provider: p, holder: q, at: t, officer: u }),
        3 => Record::Revocation(Revocation {
            id,
            grant: other,
            item: f.item,
            provider: p,
            holder: q,
            third_party: r,
            at: t,
            officer: u,
        }),
        4 => Record::RevocationAck(RevocationAck {
            id,
            revocation: other,
            grant: third,
            item: f.item,
            provider: p,
            third_party: r,
            at: t,
        }),
        5 => Record::Transmission(Transmission {
            id,
            grant: other,
            item: f.item,
            provider: p,
            holder: q,
            third_party: r,
            to_peer: s,
            at: t,
        }),
        _ => Record::ExpiryAck(ExpiryAck { id, grant: other, item: f.item, provider: p, third_party: r, at: t }),
    }
}

fn record() -> impl Strategy<Value = Record> {
    (0..RECORD_KINDS, record_fields()).prop_map(|(k, f)| make_record(k, f))
}

fn signed_record_unsigned() -> impl Strategy<Value = SignedRecord> {
    (record(), arr64()).prop_map(|(record, signature)| SignedRecord { record, signature })
}

fn envelope() -> impl Strategy<Value = SignedEnvelope> {
    (
        (arr16(), party(), text(), text(), prop::option::of(text())),
        (any::<[u8; 12]>(), bytes(64), any::<[u8; 7]>(), any::<u32>(), any::<u64>(), (arr32(), any::<bool>())),
        arr64(),
    )
        .prop_map(
            |(
                (item, provider, created_at, marking, mandate),
                (title_nonce, title_ct, stream_nonce, chunks, plaintext_bytes, (digest, blake3)),
                signature,
            )| SignedEnvelope {
                envelope: Envelope {
                    item: ItemId(item),
                    provider,
                    created_at,
                    marking,
                    mandate,
                    title_nonce,
                    title_ct,
                    stream_nonce,
                    chunks,
                    plaintext_bytes,
                    ciphertext_hash: if blake3 {
                        liaison::vault::CiphertextHash::Blake3(digest)
                    } else {
                        liaison::vault::CiphertextHash::Sha256(digest)
                    },
                },
                signature,
            },
        )
}

fn key_wrap() -> impl Strategy<Value = KeyWrap> {
    (arr16(), party(), arr32(), bytes(48), bytes(64)).prop_map(|(item, recipient, recipient_key, encapped, sealed)| {
        KeyWrap { item: ItemId(item), recipient, recipient_key, encapped, sealed }
    })
}

fn audit_head() -> impl Strategy<Value = audit::Head> {
    (any::<u64>(), arr32(), bytes(80)).prop_map(|(len, hash, signature)| audit::Head { len, hash, signature })
}

fn witnessed() -> impl Strategy<Value = Witnessed> {
    (text(), audit_head(), text(), text(), bytes(80)).prop_map(|(node, head, at, witness, signature)| Witnessed {
        node,
        head,
        at,
        witness,
        signature,
    })
}

const FRAME_KINDS: usize = 13;

fn frame_kind(f: &Frame) -> usize {
    match f {
        Frame::Catalog(_) => 0,
        Frame::Snapshot { .. } => 1,
        Frame::Sync { .. } => 2,
        Frame::Certs(_) => 3,
        Frame::Records(_) => 4,
        Frame::ItemList(_) => 5,
        Frame::ItemOffer { .. } => 6,
        Frame::ItemChunk { .. } => 7,
        Frame::ItemRequest(_) => 8,
        Frame::Presence(_) => 9,
        Frame::AuditHead(_) => 10,
        Frame::Witnessed(_) => 11,
        Frame::Vouched(_) => 12,
    }
}

fn frame() -> impl Strategy<Value = Frame> {
    use prop::collection::vec;
    let v = |n| 0..n;
    prop_oneof![
        vec((arr16(), doc_kind(), vec(arr32(), v(4))), v(4)).prop_map(|es| Frame::Catalog(
            es.into_iter()
                .map(|(d, kind, hs)| CatalogEntry { doc: DocId(d), kind, heads: hs.into_iter().map(Hash).collect() })
                .collect()
        )),
        (arr16(), doc_kind(), bytes(256), vec(signed_head(), v(3)))
            .prop_map(|(d, kind, bytes, heads)| { Frame::Snapshot { doc: DocId(d), kind, bytes, heads } }),
        (arr16(), bytes(256), vec(signed_head(), v(3))).prop_map(|(d, msg, heads)| Frame::Sync {
            doc: DocId(d),
            msg,
            heads
        }),
        vec(actor_cert(), v(3)).prop_map(Frame::Certs),
        vec(signed_record_unsigned(), v(3)).prop_map(Frame::Records),
        vec(arr16(), v(5)).prop_map(|ids| Frame::ItemList(ids.into_iter().map(ItemId).collect())),
        (envelope(), vec(key_wrap(), v(3)), prop::option::of(signed_record_unsigned())).prop_map(
            |(envelope, wraps, grant)| Frame::ItemOffer {
                envelope: Box::new(envelope),
                wraps,
                grant: grant.map(Box::new)
            }
        ),
        (arr16(), any::<u32>(), bytes(256)).prop_map(|(i, index, data)| Frame::ItemChunk {
            item: ItemId(i),
            index,
            data
        }),
        arr16().prop_map(|i| Frame::ItemRequest(ItemId(i))),
        vec((arr16(), text(), prop::option::of(text()), prop::option::of(text())), v(3)).prop_map(|ns| {
            Frame::Presence(
                ns.into_iter()
                    .map(|(d, officer, provision, lang)| PresenceNote { doc: DocId(d), officer, provision, lang })
                    .collect(),
            )
        }),
        audit_head().prop_map(Frame::AuditHead),
        vec(witnessed(), v(3)).prop_map(Frame::Witnessed),
        (text(), text(), any::<i64>(), bytes(80)).prop_map(|(party, issuer, issued_ms, sig)| {
            Frame::Vouched(Box::new(liaison::vouch::VouchedList {
                party: party.parse().unwrap_or_else(|_| "cica".parse().expect("party id")),
                issuer,
                issued_ms,
                cards: Vec::new(),
                sig,
            }))
        }),
    ]
}

fn batch() -> impl Strategy<Value = Batch> {
    prop::collection::vec(frame(), 0..6).prop_map(|frames| Batch { frames })
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![Just(Reply::Ack), text().prop_map(Reply::Refused)]
}

fn cbor<T: serde::Serialize>(v: &T) -> Vec<u8> {
    cbor4ii::serde::to_vec(Vec::new(), v).expect("encodes")
}

// ---------------------------------------------------------------------------------------------
// The sync codec.

/// A stream that hands out its bytes in the given chunk sizes, optionally failing at a point,
/// optionally endless (repeating its bytes, or zeros, forever).
struct Stream {
    data: Vec<u8>,
    pos: usize,
    sizes: Vec<usize>,
    turn: usize,
    fail_at: Option<usize>,
    endless: bool,
    served: usize,
}

impl Stream {
    fn new(data: Vec<u8>, sizes: Vec<usize>) -> Stream {
        Stream { data, pos: 0, sizes, turn: 0, fail_at: None, endless: false, served: 0 }
    }
}

impl futures::AsyncRead for Stream {
    fn poll_read(mut self: Pin<&mut Self>, _: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let s = &mut *self;
        if s.fail_at.is_some_and(|f| s.served >= f) {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, "the peer went away")));
        }
        let want = s.sizes.get(s.turn % s.sizes.len().max(1)).copied().unwrap_or(usize::MAX).max(1);
        s.turn += 1;
        let mut n = 0;
        while n < buf.len().min(want) {
            if s.pos >= s.data.len() {
                if !s.endless {
                    break;
                }
                s.pos = 0;
                if s.data.is_empty() {
                    s.data.push(0);
                }
            }
            let take = (s.data.len() - s.pos).min(buf.len().min(want) - n);
            buf[n..n + take].copy_from_slice(&s.data[s.pos..s.pos + take]);
            s.pos += take;
            n += take;
        }
        s.served += n;
        Poll::Ready(Ok(n))
    }
}

fn protocol() -> StreamProtocol {
    StreamProtocol::new(SYNC_PROTOCOL)
}

fn read_request(codec: &mut SyncCodec, stream: &mut Stream) -> Wire {
    futures::executor::block_on(codec.read_request(&protocol(), stream)).expect("read_request never fails")
}

fn read_response(codec: &mut SyncCodec, stream: &mut Stream) -> io::Result<Reply> {
    futures::executor::block_on(codec.read_response(&protocol(), stream))
}

fn write_request(codec: &mut SyncCodec, b: Batch) -> Vec<u8> {
    let mut out = futures::io::Cursor::new(Vec::new());
    futures::executor::block_on(codec.write_request(&protocol(), &mut out, Wire::Batch(b))).expect("writes");
    out.into_inner()
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1..4usize, 1..64usize, 1..100_000usize], 1..6)
}

static FRAMES_SEEN: [AtomicUsize; FRAME_KINDS] = [const { AtomicUsize::new(0) }; FRAME_KINDS];

#[test]
fn codec_batches_round_trip() {
    run("codec_batches_round_trip", 2_000, (batch(), chunk_sizes()), |(b, sizes)| {
        for f in &b.frames {
            FRAMES_SEEN[frame_kind(f)].fetch_add(1, Ordering::Relaxed);
        }
        let mut codec = SyncCodec::new(1 << 20, 1 << 20);
        let bytes = write_request(&mut codec, b.clone());
        prop_assert_eq!(&bytes, &cbor(&b), "the codec writes plain CBOR");
        let mut stream = Stream::new(bytes.clone(), sizes);
        let (wire, usage) = measured(|| read_request(&mut codec, &mut stream));
        check_usage("SyncCodec::read_request", bytes.len(), usage)?;
        match wire {
            Wire::Batch(got) => prop_assert_eq!(cbor(&got), bytes, "a batch comes back as it was sent"),
            Wire::Malformed(why) => prop_assert!(false, "a valid batch was read as malformed: {why}"),
        }
        // Replies too, under a cap that fits them.
        let r = Reply::Refused(format!("{} frames", b.frames.len()));
        let rb = cbor(&r);
        let got = read_response(&mut codec, &mut Stream::new(rb.clone(), vec![3]))
            .map_err(|e| TestCaseError::fail(format!("a valid reply does not read: {e}")))?;
        prop_assert_eq!(cbor(&got), rb);
        Ok(())
    });
    let seen: Vec<usize> = FRAMES_SEEN.iter().map(|a| a.load(Ordering::Relaxed)).collect();
    eprintln!("frames generated per variant: {seen:?}");
    assert!(seen.iter().all(|n| *n > 50), "every frame variant is generated: {seen:?}");
}

/// Valid encodings of batches of every frame kind, to mutate.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut runner = TestRunner::deterministic();
        let mut out = Vec::new();
        let strategy = frame();
        let mut per_kind = [0usize; FRAME_KINDS];
        while per_kind.iter().any(|n| *n < 4) {
            let f = strategy.new_tree(&mut runner).expect("a frame").current();
            let k = frame_kind(&f);
            if per_kind[k] < 4 {
                per_kind[k] += 1;
                out.push(cbor(&Batch { frames: vec![f] }));
            }
        }
        // Multi-frame batches too.
        let strategy = batch();
        for _ in 0..16 {
            out.push(cbor(&strategy.new_tree(&mut runner).expect("a batch").current()));
        }
        out
    })
}

#[test]
fn codec_mutated_batches() {
    let decoded = AtomicUsize::new(0);
    run("codec_mutated_batches", 6_000, (any::<Index>(), mutations(), chunk_sizes()), |(seed, ms, sizes)| {
        let seed = seed.get(seeds());
        let input = mutate(seed, &ms);
        let mut codec = SyncCodec::new(1 << 20, 1 << 20);
        let mut stream = Stream::new(input.clone(), sizes);
        let (wire, usage) = measured(|| read_request(&mut codec, &mut stream));
        check_usage("SyncCodec::read_request", input.len(), usage)?;
        if let Wire::Batch(b) = wire {
            decoded.fetch_add(1, Ordering::Relaxed);
            // What decodes re-encodes, and decodes to the same again.
            let again = cbor(&b);
            match cbor4ii::serde::from_slice::<Batch>(&again) {
                Ok(b2) => prop_assert_eq!(cbor(&b2), again),
                Err(e) => prop_assert!(false, "a decoded batch does not decode after re-encoding: {e}"),
            }
        }
        Ok(())
    });
    let n = decoded.load(Ordering::Relaxed);
    eprintln!("codec_mutated_batches: {n} of 6000 mutated batches still decoded");
    assert!(n > 100 && n < 5_900, "the mutations neither all break nor all keep the encoding: {n}");
}

#[test]
fn codec_raw_bytes_and_caps() {
    run(
        "codec_raw_bytes_and_caps",
        3_000,
        (raw_bytes(), 1..8192u64, chunk_sizes(), 0..4u8, any::<Index>()),
        |(input, cap, sizes, mode, fail)| {
            let mut codec = SyncCodec::new(cap, cap);
            let mut stream = Stream::new(input.clone(), sizes);
            match mode {
                // As is.
                0 => {}
                // Endless: a peer that never stops sending.
                1 => stream.endless = true,
                // The connection breaks part-way.
                _ => stream.fail_at = Some(fail.index(input.len() + 1)),
            }
            let (wire, usage) = measured(|| read_request(&mut codec, &mut stream));
            let read = stream.served;
            prop_assert!(read as u64 <= cap + 1, "the codec read {read} bytes past its cap of {cap}");
            check_usage("SyncCodec::read_request", read, usage)?;
            let broke = stream.fail_at.is_some_and(|f| f <= input.len());
            match (&wire, mode) {
                (Wire::Malformed(why), 1) => prop_assert!(why.contains("cap"), "endless: {why}"),
                (Wire::Batch(_), 1) => prop_assert!(false, "an endless stream was read as a batch"),
                (Wire::Malformed(why), _) if input.len() as u64 > cap && !broke => {
                    prop_assert!(why.contains(&format!("{cap}-byte cap")), "over the cap: {why}")
                }
                (Wire::Batch(_), _) if input.len() as u64 > cap => {
                    prop_assert!(false, "a message over the cap was read")
                }
                (Wire::Batch(_), _) if broke => prop_assert!(false, "a broken-off message was read"),
                _ => {}
            }
            // The same bytes as a reply: an error or a reply, never a panic or a read past the cap.
            let mut stream = Stream::new(input.clone(), vec![7]);
            stream.endless = mode == 1;
            let (r, usage) = measured(|| read_response(&mut codec, &mut stream));
            prop_assert!(stream.served as u64 <= cap + 1);
            check_usage("SyncCodec::read_response", stream.served, usage)?;
            if input.len() as u64 > cap || mode == 1 {
                prop_assert!(r.is_err(), "a reply over the cap was read");
            }
            Ok(())
        },
    );
}

#[test]
fn frames_and_replies_mutated() {
    // Each frame on its own and each reply, encoded, mutated and decoded as a Frame / Reply.
    let frame_seeds: Vec<Vec<u8>> = seeds()
        .iter()
        .filter_map(|s| cbor4ii::serde::from_slice::<Batch>(s).ok())
        .flat_map(|b| b.frames.into_iter().map(|f| cbor(&f)))
        .collect();
    let reply_seeds = [cbor(&Reply::Ack), cbor(&Reply::Refused("refused: you are not pinned".into()))];
    run(
        "frames_and_replies_mutated",
        6_000,
        (any::<Index>(), any::<bool>(), mutations(), reply()),
        |(seed, as_reply, ms, r)| {
            if as_reply {
                let seed = if ms.len() % 3 == 0 { cbor(&r) } else { seed.get(&reply_seeds).clone() };
                let input = mutate(&seed, &ms);
                decode_checked("Reply", &input, |b| cbor4ii::serde::from_slice::<Reply>(b).is_ok())?;
            } else {
                let input = mutate(seed.get::<Vec<u8>>(&frame_seeds), &ms);
                let got = decode_checked("Frame", &input, |b| cbor4ii::serde::from_slice::<Frame>(b).ok())?;
                if let Some(f) = got {
                    let _ = f.payload_len();
                }
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Automerge input from peers.

fn ctx() -> ChangeCtx {
    ChangeCtx { author: Author { officer: "fuzz".into(), party: "cica".parse().expect("party") }, now: Utc::now() }
}

/// Workspace documents as a peer would send them: a meeting and a draft with history, saved
/// whole (snapshots) and as changes since a point (incremental), and sync messages between two
/// replicas that diverged.
struct AutomergeSeeds {
    snapshots: Vec<Vec<u8>>,
    messages: Vec<Vec<u8>>,
    /// The replica the messages are received by.
    receiver: Vec<u8>,
    /// The changes the messages carry, expanded, to change field by field.
    changes: Vec<automerge::ExpandedChange>,
}

fn automerge_seeds() -> &'static AutomergeSeeds {
    static SEEDS: OnceLock<AutomergeSeeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let c = ctx();
        let mut m = Automerge::new();
        meeting::create(
            &mut m,
            &c,
            &meeting::NewMeeting {
                titles: Default::default(),
                tz: Default::default(),
                title: "Consultations".into(),
                starts: "2026-12-01T09:00:00Z".into(),
                ends: None,
                kind: meeting::MeetingKind::WorkingMeeting,
                venue: Some("Almaty".into()),
                sidelines_of: None,
            },
        )
        .expect("meeting");
        let mut d = Automerge::new();
        draft::create(
            &mut d,
            &c,
            &draft::NewDraft {
                titles: Default::default(),
                group: "g".into(),
                title: "Joint proposals".into(),
                lang: "en".into(),
                text: "Article 1. The Parties cooperate.\n\nArticle 2. Information is exchanged.".into(),
                languages: vec![],
                parties: vec![],
            },
        )
        .expect("draft");
        let receiver = d.save();
        let mut other = d.fork();
        for (i, w) in ["Ф", "shall ", "closely ", "😀 "].iter().enumerate() {
            let sp = draft::Splice { provision: None, lang: None, pos: 11 + i, delete: 0, insert: (*w).into() };
            draft::splice(&mut other, &c, &sp).expect("splice");
        }
        let mut snapshots = vec![m.save(), d.save(), other.save(), other.save_after(&d.get_heads())];
        snapshots.push(m.save_nocompress());
        // Sync messages both ways, every round until they are in sync.
        let mut messages = Vec::new();
        let (mut a, mut b) = (Automerge::load(&receiver).expect("loads"), other.fork());
        let (mut sa, mut sb) = (State::new(), State::new());
        for _ in 0..6 {
            if let Some(msg) = b.generate_sync_message(&mut sb) {
                messages.push(msg.clone().encode());
                a.receive_sync_message(&mut sa, msg).expect("receives");
            }
            if let Some(msg) = a.generate_sync_message(&mut sa) {
                messages.push(msg.clone().encode());
                b.receive_sync_message(&mut sb, msg).expect("receives");
            }
        }
        snapshots.retain(|s| !s.is_empty());
        let changes = other.get_changes(&d.get_heads()).into_iter().map(|c| c.decode()).collect();
        AutomergeSeeds { snapshots, messages, receiver, changes }
    })
}

thread_local! {
    /// Set while a call that may panic (automerge) runs under `catch_unwind`.
    static EXPECTING_PANIC: Cell<bool> = const { Cell::new(false) };
}

/// A panic hook without backtraces, silent for the panics `outcome` expects: a backtrace is
/// symbolised on the first panic, which allocates ~90 MB on the decoding thread and is the
/// hook's, not the decoder's; and automerge's caught panics would otherwise print by thousands.
fn quiet_panics() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        std::panic::set_hook(Box::new(|info| {
            if !EXPECTING_PANIC.with(Cell::get) {
                eprintln!("panic: {info}");
            }
        }))
    });
}

/// How a call into automerge ended.
#[derive(Debug, PartialEq)]
enum Outcome {
    Ok,
    Err,
    Panicked,
}

fn outcome<T, E>(f: impl FnOnce() -> Result<T, E>) -> Outcome {
    match caught(f) {
        Some(Ok(_)) => Outcome::Ok,
        Some(Err(_)) => Outcome::Err,
        None => Outcome::Panicked,
    }
}

/// Runs `f`, which may panic (automerge), quietly; `None` if it did.
fn caught<T>(f: impl FnOnce() -> T) -> Option<T> {
    EXPECTING_PANIC.with(|e| e.set(true));
    let r = catch_unwind(AssertUnwindSafe(f));
    EXPECTING_PANIC.with(|e| e.set(false));
    r.ok()
}

#[test]
fn automerge_snapshots_mutated() {
    let counts = [const { AtomicUsize::new(0) }; 3];
    run("automerge_snapshots_mutated", 3_000, (any::<Index>(), mutations(), any::<bool>()), |(seed, ms, incr)| {
        let seeds = automerge_seeds();
        let input = mutate(seed.get::<Vec<u8>>(&seeds.snapshots), &ms);
        // A snapshot of a document we lack (`Automerge::load`), or one of a document we have
        // (`load_incremental`): the node runs both in `guarded` (src/engine/sync.rs), which
        // turns a panic into a refusal. What is checked here: the panics unwind (an abort, a
        // stack overflow, would take the node down whatever it guards), and allocation stays
        // within bounds.
        let (o, usage) = measured(|| {
            if incr {
                let mut d = Automerge::load(&seeds.receiver).expect("the receiver loads");
                outcome(|| d.load_incremental(&input))
            } else {
                outcome(|| Automerge::load(&input))
            }
        });
        if !incr {
            check_usage("Automerge::load", input.len(), usage)?;
        }
        counts[o as usize].fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    let [ok, err, panicked] = counts.map(|c| c.into_inner());
    eprintln!("automerge_snapshots_mutated: loaded {ok}, refused {err}, panicked (caught) {panicked}");
    assert!(err > 0 && ok > 0, "the mutations reach the loader: ok {ok}, err {err}");
}

#[test]
fn automerge_sync_messages_mutated() {
    let counts = [const { AtomicUsize::new(0) }; 3];
    let decode_ok = AtomicUsize::new(0);
    run("automerge_sync_messages_mutated", 4_000, (any::<Index>(), mutations()), |(seed, ms)| {
        let seeds = automerge_seeds();
        let input = mutate(seed.get::<Vec<u8>>(&seeds.messages), &ms);
        // The node decodes a peer's message outside `guarded` (on_sync in src/engine/sync.rs):
        // decoding must never panic.
        let decoded = decode_checked("sync::Message::decode", &input, |b| {
            catch_unwind(AssertUnwindSafe(|| Message::decode(b).ok()))
        })?;
        let Ok(decoded) = decoded else {
            return Err(TestCaseError::fail(format!("sync::Message::decode panicked on {input:02x?}")));
        };
        let Some(msg) = decoded else { return Ok(()) };
        decode_ok.fetch_add(1, Ordering::Relaxed);
        // Receiving it runs in `guarded`; count what happens.
        let o = outcome(|| {
            let mut d = Automerge::load(&seeds.receiver).expect("the receiver loads");
            d.receive_sync_message(&mut State::new(), msg)
        });
        counts[o as usize].fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    let [ok, err, panicked] = counts.map(|c| c.into_inner());
    let decoded = decode_ok.into_inner();
    eprintln!(
        "automerge_sync_messages_mutated: {decoded} decoded; received {ok}, refused {err}, panicked (caught) {panicked}"
    );
    assert!(decoded > 0, "some mutated messages still decode, so receiving is exercised");
}

/// One field-level change to an automerge change: what a dishonest peer builds by hand.
#[derive(Clone, Debug)]
enum ChangeEdit {
    Seq(i64),
    StartOp(u64),
    DropDep(Index),
    AddDep([u8; 32]),
    DupDep,
    Time(i64),
    Actor(Vec<u8>),
    Message(Option<String>),
    DropOp(Index),
    DupOp(Index),
    Extra(Vec<u8>),
}

fn change_edit() -> impl Strategy<Value = ChangeEdit> {
    prop_oneof![
        3 => prop_oneof![-3..8i64, Just(i64::MAX), Just(i64::MIN)].prop_map(ChangeEdit::Seq),
        2 => prop_oneof![1..64u64, Just(u64::MAX), Just(1u64 << 53)].prop_map(ChangeEdit::StartOp),
        1 => any::<Index>().prop_map(ChangeEdit::DropDep),
        1 => arr32().prop_map(ChangeEdit::AddDep),
        1 => Just(ChangeEdit::DupDep),
        1 => any::<i64>().prop_map(ChangeEdit::Time),
        1 => bytes(40).prop_map(ChangeEdit::Actor),
        1 => prop::option::of(".{0,40}").prop_map(ChangeEdit::Message),
        2 => any::<Index>().prop_map(ChangeEdit::DropOp),
        1 => any::<Index>().prop_map(ChangeEdit::DupOp),
        1 => bytes(16).prop_map(ChangeEdit::Extra),
    ]
}

fn edit_change(mut e: automerge::ExpandedChange, edits: &[ChangeEdit]) -> automerge::ExpandedChange {
    for edit in edits {
        match edit {
            ChangeEdit::Seq(d) => e.seq = e.seq.wrapping_add_signed(*d),
            ChangeEdit::StartOp(s) => e.start_op = std::num::NonZeroU64::new(*s).unwrap_or(e.start_op),
            ChangeEdit::DropDep(i) if !e.deps.is_empty() => {
                e.deps.remove(i.index(e.deps.len()));
            }
            ChangeEdit::AddDep(h) => e.deps.push(automerge::ChangeHash(*h)),
            ChangeEdit::DupDep if !e.deps.is_empty() => e.deps.push(e.deps[0]),
            ChangeEdit::Time(t) => e.time = *t,
            ChangeEdit::Actor(a) => e.actor_id = automerge::ActorId::from(a.as_slice()),
            ChangeEdit::Message(m) => e.message = m.clone(),
            ChangeEdit::DropOp(i) if !e.operations.is_empty() => {
                e.operations.remove(i.index(e.operations.len()));
            }
            ChangeEdit::DupOp(i) if !e.operations.is_empty() => {
                let op = e.operations[i.index(e.operations.len())].clone();
                e.operations.push(op);
            }
            ChangeEdit::Extra(x) => e.extra_bytes = x.clone(),
            _ => {}
        }
    }
    e.hash = None;
    e
}

#[test]
fn automerge_changes_structured() {
    let counts = [const { AtomicUsize::new(0) }; 3];
    let built = AtomicUsize::new(0);
    run(
        "automerge_changes_structured",
        2_000,
        (prop::collection::vec((any::<Index>(), prop::collection::vec(change_edit(), 0..4)), 1..4), any::<bool>()),
        |(picks, as_message)| {
            let seeds = automerge_seeds();
            // The edited changes, encoded as a peer would send them (building one may fail in
            // automerge for edits it cannot represent: those are skipped, they never reach a peer).
            let mut raw = Vec::new();
            for (i, edits) in &picks {
                let e = edit_change(i.get(&seeds.changes).clone(), edits);
                if let Some(c) = caught(|| automerge::Change::from(e)) {
                    raw.push(c.raw_bytes().to_vec());
                }
            }
            if raw.is_empty() {
                return Ok(());
            }
            built.fetch_add(1, Ordering::Relaxed);
            let mut d = Automerge::load(&seeds.receiver).expect("the receiver loads");
            let (o, usage) = if as_message {
                // Sorted, as the encoder requires (a peer's own encoder, not our decoder).
                let mut heads: Vec<automerge::ChangeHash> = raw
                    .iter()
                    .filter_map(|r| automerge::Change::from_bytes(r.clone()).ok())
                    .map(|c| c.hash())
                    .collect();
                heads.sort();
                let msg = Message {
                    heads,
                    need: vec![],
                    have: vec![],
                    changes: automerge::sync::ChunkList::from(raw.clone()),
                    flags: None,
                    version: automerge::sync::MessageVersion::V1,
                }
                .encode();
                let m = decode_checked("sync::Message::decode", &msg, |b| {
                    catch_unwind(AssertUnwindSafe(|| Message::decode(b).ok()))
                })?;
                let Ok(Some(m)) = m else {
                    return Err(TestCaseError::fail("a hand-built message does not decode, or decoding panicked"));
                };
                measured(|| outcome(|| d.receive_sync_message(&mut State::new(), m)))
            } else {
                let bytes = raw.concat();
                measured(|| outcome(|| d.load_incremental(&bytes)))
            };
            check_usage("receiving hand-built changes", raw.iter().map(Vec::len).sum(), usage)?;
            counts[o as usize].fetch_add(1, Ordering::Relaxed);
            Ok(())
        },
    );
    let [ok, err, panicked] = counts.map(|c| c.into_inner());
    let b = built.into_inner();
    eprintln!("automerge_changes_structured: {b} built; applied {ok}, refused {err}, panicked (caught) {panicked}");
    assert!(b > 1_000, "most edited changes can be built: {b}");
}

// ---------------------------------------------------------------------------------------------
// Consent records.

fn key_for(p: &PartyId) -> SigningKey {
    let mut seed = [7u8; 32];
    for (i, b) in p.as_str().bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    SigningKey::from_bytes(&seed)
}

fn key_of(p: &PartyId) -> Option<[u8; 32]> {
    Some(key_for(p).verifying_key().to_bytes())
}

fn signed(r: Record) -> SignedRecord {
    let k = key_for(r.signer());
    SignedRecord::sign(r, &k).expect("signs")
}

#[test]
fn consent_records_round_trip_and_verify() {
    let kinds = [const { AtomicUsize::new(0) }; RECORD_KINDS];
    run("consent_records_round_trip_and_verify", 2_000, (record(), arr64()), |(r, junk)| {
        let s = signed(r);
        kinds[s.record.rank() as usize].fetch_add(1, Ordering::Relaxed);
        prop_assert!(s.verify(key_of).is_ok(), "a record signed by its signer verifies");
        prop_assert!(s.verify(|_| None).is_err(), "an unknown signer fails");
        let other = SigningKey::from_bytes(&[0xee; 32]).verifying_key().to_bytes();
        prop_assert!(s.verify(|_| Some(other)).is_err(), "another Party's key fails");
        let forged = SignedRecord { record: s.record.clone(), signature: junk };
        prop_assert!(forged.verify(key_of).is_err(), "a random signature fails");
        let pc = postcard::to_allocvec(&s).expect("postcard");
        prop_assert_eq!(&postcard::from_bytes::<SignedRecord>(&pc).expect("postcard decodes"), &s);
        let cb = cbor(&s);
        prop_assert_eq!(&cbor4ii::serde::from_slice::<SignedRecord>(&cb).expect("CBOR decodes"), &s);
        if let Record::Grant(g) = &s.record {
            // The expiry is a peer's text: parsing it never panics.
            let _ = check_grant(g, &g.provider, &g.content_hash, &g.third_party, Utc::now(), false);
        }
        Ok(())
    });
    let kinds = kinds.map(|k| k.into_inner());
    eprintln!("consent records per rank: {kinds:?}");
    assert!(kinds[..5].iter().all(|n| *n > 0), "every kind of record is generated: {kinds:?}");
}

/// Signed records of every kind, postcard and CBOR, to mutate.
fn record_seeds() -> &'static [(bool, Vec<u8>, SignedRecord)] {
    static SEEDS: OnceLock<Vec<(bool, Vec<u8>, SignedRecord)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut runner = TestRunner::deterministic();
        let fields = record_fields();
        let mut out = Vec::new();
        for kind in 0..RECORD_KINDS {
            for _ in 0..3 {
                let s = signed(make_record(kind, fields.new_tree(&mut runner).expect("fields").current()));
                out.push((false, postcard::to_allocvec(&s).expect("postcard"), s.clone()));
                out.push((true, cbor(&s), s));
            }
        }
        out
    })
}

#[test]
fn consent_records_mutated() {
    let decoded = AtomicUsize::new(0);
    run("consent_records_mutated", 6_000, (any::<Index>(), mutations()), |(seed, ms)| {
        let (is_cbor, bytes, original) = seed.get(record_seeds());
        let input = mutate(bytes, &ms);
        let got = if *is_cbor {
            decode_checked("SignedRecord (CBOR)", &input, |b| cbor4ii::serde::from_slice::<SignedRecord>(b).ok())?
        } else {
            decode_checked("SignedRecord (postcard)", &input, |b| postcard::from_bytes::<SignedRecord>(b).ok())?
        };
        let Some(got) = got else { return Ok(()) };
        decoded.fetch_add(1, Ordering::Relaxed);
        // A record that decodes verifies only if it is the record that was signed.
        let verified = got.verify(key_of).is_ok();
        if &got == original {
            prop_assert!(verified, "the original record no longer verifies");
        } else {
            prop_assert!(!verified, "a changed record verifies: {got:?}");
        }
        Ok(())
    });
    let n = decoded.into_inner();
    eprintln!("consent_records_mutated: {n} of 6000 mutated records still decoded (and none of the changed verified)");
    assert!(n > 100, "enough mutated records decode for verify to be exercised: {n}");
}

// ---------------------------------------------------------------------------------------------
// Envelopes and key wraps.

struct Item {
    env: SignedEnvelope,
    wrap: KeyWrap,
    chunks: Vec<Vec<u8>>,
    provider_key: [u8; 32],
    secret: [u8; 32],
    body: Vec<u8>,
}

fn items() -> &'static [Item] {
    static ITEMS: OnceLock<Vec<Item>> = OnceLock::new();
    ITEMS.get_or_init(|| {
        (0..4u8)
            .map(|n| {
                let sk = SigningKey::from_bytes(&[n + 1; 32]);
                let body: Vec<u8> = (0..(n as usize * 700)).map(|i| (i % 251) as u8).collect();
                let mut s = Sealer::new(ItemId([n; 16]));
                let parts: Vec<&[u8]> = if body.is_empty() { vec![&[][..]] } else { body.chunks(500).collect() };
                let mut chunks = Vec::new();
                for (i, p) in parts.iter().enumerate() {
                    chunks.push(s.chunk(p.to_vec(), i + 1 == parts.len()).expect("chunk").to_vec());
                }
                let mandate = (n % 2 == 0).then(|| "MS-1".to_string());
                let (env, key) = s
                    .finish(
                        "cica".parse().expect("party"),
                        "2026-11-28T10:00:00Z".into(),
                        "RESTRICTED".into(),
                        mandate,
                        "List of entities",
                        &sk,
                    )
                    .expect("finish");
                let secret = [0x40 + n; 32];
                let public = vault::sealing_public(&secret).expect("public");
                let wrap = vault::seal_key(&key, &env, &"sco-rats".parse().expect("party"), &public).expect("seal");
                Item { env, wrap, chunks, provider_key: sk.verifying_key().to_bytes(), secret, body }
            })
            .collect()
    })
}

#[test]
fn envelopes_and_wraps_mutated() {
    let opened = AtomicUsize::new(0);
    let decoded = AtomicUsize::new(0);
    run(
        "envelopes_and_wraps_mutated",
        4_000,
        (any::<Index>(), 0..4u8, mutations(), mutations()),
        |(which, form, ms_env, ms_wrap)| {
            let it = which.get(items());
            // The envelope and the wrap both mutated, in postcard (the store) or CBOR (the wire).
            let (env, wrap) = if form % 2 == 0 {
                let e = mutate(&postcard::to_allocvec(&it.env).expect("enc"), &ms_env);
                let w = mutate(&postcard::to_allocvec(&it.wrap).expect("enc"), &ms_wrap);
                (
                    decode_checked("SignedEnvelope (postcard)", &e, |b| {
                        postcard::from_bytes::<SignedEnvelope>(b).ok()
                    })?,
                    decode_checked("KeyWrap (postcard)", &w, |b| postcard::from_bytes::<KeyWrap>(b).ok())?,
                )
            } else {
                let e = mutate(&cbor(&it.env), &ms_env);
                let w = mutate(&cbor(&it.wrap), &ms_wrap);
                (
                    decode_checked("SignedEnvelope (CBOR)", &e, |b| {
                        cbor4ii::serde::from_slice::<SignedEnvelope>(b).ok()
                    })?,
                    decode_checked("KeyWrap (CBOR)", &w, |b| cbor4ii::serde::from_slice::<KeyWrap>(b).ok())?,
                )
            };
            // Half the time one of them is left as it was, so each is checked against a good other.
            let env = if form == 1 { Some(it.env.clone()) } else { env };
            let wrap = if form == 2 { Some(it.wrap.clone()) } else { wrap };
            let (Some(env), Some(wrap)) = (env, wrap) else { return Ok(()) };
            decoded.fetch_add(1, Ordering::Relaxed);
            let verified = env.verify(&it.provider_key).is_ok();
            prop_assert_eq!(verified, env == it.env, "verify accepts exactly the signed envelope");
            let key = vault::open_key(&wrap, &env, &it.secret);
            let same_key_material = wrap.encapped == it.wrap.encapped
                && wrap.sealed == it.wrap.sealed
                && env.content_hash() == it.env.content_hash();
            prop_assert_eq!(key.is_ok(), same_key_material, "open_key opens exactly the wrap that was sealed");
            // Someone else's secret never opens it.
            prop_assert!(vault::open_key(&wrap, &env, &[0x11; 32]).is_err());
            if let Ok(key) = key {
                opened.fetch_add(1, Ordering::Relaxed);
                prop_assert_eq!(vault::open_title(&key, &env.envelope).expect("title"), "List of entities");
                let mut body = Vec::new();
                for (i, c) in it.chunks.iter().enumerate() {
                    body.extend(vault::open_chunk(&key, &env.envelope, i as u32, c.clone()).expect("chunk"));
                }
                prop_assert_eq!(&body, &it.body);
                // Mutated ciphertext, in any chunk: refused, never a panic.
                let i = ms_env.len() % it.chunks.len();
                let bad = mutate(&it.chunks[i], &ms_wrap);
                if bad != it.chunks[i] {
                    prop_assert!(vault::open_chunk(&key, &env.envelope, i as u32, bad.clone()).is_err());
                    let mut all = it.chunks.clone();
                    all[i] = bad;
                    prop_assert!(vault::check_ciphertext(&env.envelope, all.iter().map(Vec::as_slice)).is_err());
                }
                prop_assert!(vault::open_chunk(&key, &env.envelope, u32::MAX, it.chunks[0].clone()).is_err());
            }
            Ok(())
        },
    );
    let (d, o) = (decoded.into_inner(), opened.into_inner());
    eprintln!("envelopes_and_wraps_mutated: {d} pairs decoded, {o} opened (only unchanged key material)");
    assert!(d > 100 && o > 10, "the mutations reach verify and open_key: {d} decoded, {o} opened");
}

#[test]
fn envelopes_and_wraps_structured() {
    run(
        "envelopes_and_wraps_structured",
        2_000,
        (envelope(), key_wrap(), any::<Index>(), any::<u32>(), bytes(96), arr32()),
        |(env, wrap, which, index, data, secret)| {
            let it = which.get(items());
            // Random envelopes never verify; random wraps never open, with our secret or any.
            prop_assert!(env.verify(&it.provider_key).is_err());
            prop_assert!(vault::open_key(&wrap, &env, &it.secret).is_err());
            prop_assert!(vault::open_key(&wrap, &it.env, &it.secret).is_err());
            prop_assert!(vault::open_key(&wrap, &env, &secret).is_err());
            // A good wrap under a forged envelope (another content hash) does not open either.
            prop_assert!(vault::open_key(&it.wrap, &env, &it.secret).is_err());
            // The right key against random chunk indexes, chunk counts and ciphertext.
            let key = vault::open_key(&it.wrap, &it.env, &it.secret).expect("the real wrap opens");
            prop_assert!(vault::open_chunk(&key, &env.envelope, index, data.clone()).is_err());
            prop_assert!(vault::open_chunk(&key, &it.env.envelope, index, data.clone()).is_err());
            prop_assert!(vault::open_title(&key, &env.envelope).is_err());
            prop_assert!(vault::check_ciphertext(&env.envelope, [data.as_slice()]).is_err());
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------------------------
// The configuration.

const CICA_TOML: &str = include_str!("../config/cica.toml");
const DATA_DIR: &str = "/fuzz/data dir";
const CONFIG_PATH: &str = "/fuzz/data dir/node.toml";

fn check_config(text: &str) -> Result<bool, TestCaseError> {
    let (r, usage) = measured(|| NodeConfig::parse(Path::new(DATA_DIR), Path::new(CONFIG_PATH), text));
    check_usage("NodeConfig::parse", text.len(), usage)?;
    match r {
        Ok(c) => {
            prop_assert!(!c.network.listen.is_empty() && c.store.cache_docs > 0);
            Ok(true)
        }
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.starts_with(CONFIG_PATH), "the error does not name the file: {msg}");
            Ok(false)
        }
    }
}

/// TOML fragments to splice into the file: syntax, the config's own keys, odd values.
const TOML_BITS: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "=",
    "\"",
    "'''",
    "\"\"\"",
    "\n",
    "#",
    ",",
    "{",
    "}",
    ".",
    "\\u00e9",
    "\\",
    "[peers]",
    "[[peers]]",
    "[limits.peer]",
    "[limits.api]",
    "[party]",
    "[network]",
    "[api]",
    "[store]",
    "[drafts]",
    "[policy]",
    "[limits]",
    "id",
    "name",
    "listen",
    "max_message_bytes",
    "cache_docs",
    "languages",
    "require_mandate",
    "peer_id",
    "party_id",
    "addrs",
    "role",
    "signing_key",
    "sealing_key",
    "doc_bytes",
    "docs",
    "bytes",
    "pending_offers",
    "item_chunks",
    "name_chars",
    "password_bytes",
    "max_connections",
    "0",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "1e999",
    "nan",
    "inf",
    "-0",
    "0x10",
    "1979-05-27T07:32:00Z",
    "true",
    "[]",
    "[[]]",
    "{}",
    "\"\"",
    "é",
    "Ж",
    "😀",
    "\u{0}",
    "\r\n",
    "\t",
    "\"/ip4/0.0.0.0/tcp/4710\"",
    "\"/dns4/x/tcp/1\"",
    "\"12D3KooWF1GJ1yRhDJcCVkNrc5L6DeSK1K5V2z19rwKjvRhosmcv\"",
    "\"third-party\"",
    "\"provider\"",
    "\"item-share\"",
    "\"127.0.0.1:0\"",
    "\"[::1]:4711\"",
];

#[derive(Clone, Debug)]
enum TomlEdit {
    Bytes(Vec<Mutation>),
    Splice(Index, usize),
    DeleteLine(Index),
    SwapLines(Index, Index),
}

fn toml_edit() -> impl Strategy<Value = TomlEdit> {
    prop_oneof![
        mutations().prop_map(TomlEdit::Bytes),
        (any::<Index>(), 0..TOML_BITS.len()).prop_map(|(i, b)| TomlEdit::Splice(i, b)),
        any::<Index>().prop_map(TomlEdit::DeleteLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| TomlEdit::SwapLines(a, b)),
    ]
}

fn edit_toml(text: &str, edits: &[TomlEdit]) -> String {
    let mut t = text.to_string();
    for e in edits {
        match e {
            TomlEdit::Bytes(ms) => t = String::from_utf8_lossy(&mutate(t.as_bytes(), ms)).into_owned(),
            TomlEdit::Splice(i, b) => {
                let mut p = i.index(t.len() + 1);
                while !t.is_char_boundary(p) {
                    p -= 1;
                }
                t.insert_str(p, TOML_BITS[*b]);
            }
            TomlEdit::DeleteLine(i) => {
                let mut lines: Vec<&str> = t.lines().collect();
                if !lines.is_empty() {
                    lines.remove(i.index(lines.len()));
                }
                t = lines.join("\n");
            }
            TomlEdit::SwapLines(a, b) => {
                let mut lines: Vec<&str> = t.lines().collect();
                if !lines.is_empty() {
                    let (x, y) = (a.index(lines.len()), b.index(lines.len()));
                    lines.swap(x, y);
                }
                t = lines.join("\n");
            }
        }
    }
    t
}

#[test]
fn config_mutated() {
    check_config(CICA_TOML).expect("the example config parses");
    assert!(matches!(check_config(CICA_TOML), Ok(true)), "config/cica.toml is valid");
    let valid = AtomicUsize::new(0);
    run("config_mutated", 6_000, prop::collection::vec(toml_edit(), 1..5), |edits| {
        let text = edit_toml(CICA_TOML, &edits);
        if check_config(&text)? {
            valid.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    let v = valid.into_inner();
    eprintln!("config_mutated: {v} of 6000 mutated files were still valid, the rest refused naming the file");
    assert!(v > 100 && v < 5_900, "mutations both keep and break the file: {v}");
}

fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        any::<bool>().prop_map(|b| b.to_string()),
        ".{0,16}".prop_map(|s| format!("{s:?}")),
        prop::sample::select(TOML_BITS.to_vec()).prop_map(String::from),
        "[a-z0-9/.:-]{0,30}".prop_map(|s| format!("\"{s}\"")),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..3).prop_map(|kv| {
                format!("{{ {} }}", kv.into_iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", "))
            }),
        ]
    })
}

const SECTIONS: &[(&str, &[&str])] = &[
    ("[party]", &["id", "name"]),
    ("[network]", &["listen", "max_message_bytes"]),
    ("[api]", &["listen"]),
    ("[store]", &["cache_docs"]),
    ("[drafts]", &["languages"]),
    ("[policy]", &["require_mandate"]),
    (
        "[limits.peer]",
        &["doc_bytes", "doc_changes", "docs", "bytes", "pending_offers", "item_chunks", "refusal_audit_secs"],
    ),
    ("[limits.api]", &["header_timeout_secs", "max_connections", "name_chars", "password_bytes"]),
    ("[[peers]]", &["party_id", "peer_id", "addrs", "role", "signing_key", "sealing_key"]),
];

fn toml_file() -> impl Strategy<Value = String> {
    let entry = (any::<Index>(), any::<Index>(), toml_value(), any::<bool>());
    let section = (0..SECTIONS.len(), prop::collection::vec(entry, 0..6));
    prop::collection::vec(section, 0..8).prop_map(|sections| {
        let mut t = String::from("[party]\nid = \"cica\"\nname = \"CICA\"\n");
        for (s, entries) in sections {
            let (name, keys) = SECTIONS[s];
            t.push_str(name);
            t.push('\n');
            for (k, other, v, known) in entries {
                let key = if known { keys[k.index(keys.len())] } else { TOML_BITS[other.index(TOML_BITS.len())] };
                t.push_str(&format!("{key} = {v}\n"));
            }
        }
        t
    })
}

#[test]
fn config_structured() {
    let valid = AtomicUsize::new(0);
    run("config_structured", 4_000, toml_file(), |text| {
        if check_config(&text)? {
            valid.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    let v = valid.into_inner();
    eprintln!("config_structured: {v} of 4000 random files were valid, the rest refused naming the file");
}

// ---------------------------------------------------------------------------------------------
// The same random bytes through every decoder.

#[test]
fn raw_bytes_everywhere() {
    run("raw_bytes_everywhere", 4_000, raw_bytes(), |input| {
        let b = &input[..];
        decode_checked("Batch", b, |b| cbor4ii::serde::from_slice::<Batch>(b).is_ok())?;
        decode_checked("Frame", b, |b| cbor4ii::serde::from_slice::<Frame>(b).is_ok())?;
        decode_checked("Reply", b, |b| cbor4ii::serde::from_slice::<Reply>(b).is_ok())?;
        decode_checked("SignedRecord (CBOR)", b, |b| cbor4ii::serde::from_slice::<SignedRecord>(b).is_ok())?;
        decode_checked("SignedRecord (postcard)", b, |b| postcard::from_bytes::<SignedRecord>(b).is_ok())?;
        decode_checked("SignedEnvelope (CBOR)", b, |b| cbor4ii::serde::from_slice::<SignedEnvelope>(b).is_ok())?;
        decode_checked("SignedEnvelope (postcard)", b, |b| postcard::from_bytes::<SignedEnvelope>(b).is_ok())?;
        decode_checked("KeyWrap (CBOR)", b, |b| cbor4ii::serde::from_slice::<KeyWrap>(b).is_ok())?;
        decode_checked("KeyWrap (postcard)", b, |b| postcard::from_bytes::<KeyWrap>(b).is_ok())?;
        let msg = decode_checked("sync::Message::decode", b, |b| catch_unwind(|| Message::decode(b).is_ok()))?;
        prop_assert!(msg.is_ok(), "sync::Message::decode panicked on {input:02x?}");
        let loaded = decode_checked("Automerge::load", b, |b| outcome(|| Automerge::load(b)))?;
        let _ = loaded;
        if let Ok(text) = std::str::from_utf8(b) {
            check_config(text)?;
        }
        check_config(&String::from_utf8_lossy(b))?;
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// The checks can fail.

/// A decoder that trusts a length prefix: the allocation check catches it.
#[test]
fn the_allocation_check_catches_a_trusting_decoder() {
    fn trusting(input: &[u8]) -> Vec<u8> {
        let claimed = u32::from_be_bytes(input[..4].try_into().expect("4 bytes")) as usize;
        let mut v = Vec::with_capacity(claimed);
        v.extend_from_slice(&input[4..]);
        v
    }
    let input = [0x10, 0x00, 0x00, 0x00, 1, 2, 3];
    let r = decode_checked("trusting", &input, trusting);
    assert!(r.is_err(), "a 256 MiB allocation for 7 bytes went unnoticed");
    // A decoder that keeps many small allocations alive (4 KiB per input byte) is caught too.
    let r = decode_checked("hoarding", &[0u8; 2048], |b| b.iter().map(|_| vec![0u8; 4096]).collect::<Vec<_>>());
    assert!(r.is_err(), "holding 8 MiB for 2 KiB went unnoticed");
    // And an honest copy passes.
    decode_checked("copy", &[1u8; 1000], <[u8]>::to_vec).expect("a copy is within bounds");
    // The serde allowance is what serde's cap needs: an array header claiming 2^32 frames.
    let (r, u) = measured(|| {
        cbor4ii::serde::from_slice::<Batch>(&[
            0xa1, 0x66, b'f', b'r', b'a', b'm', b'e', b's', 0x9a, 0xff, 0xff, 0xff, 0xff,
        ])
        .is_ok()
    });
    eprintln!("a 13-byte batch claiming 2^32 frames: decoded {r}, largest allocation {} bytes", u.largest);
    assert!(!r && u.largest <= largest_allowed(13));
}

/// The mutations change their input (nearly always), and proptest reports a panicking decoder.
#[test]
fn the_mutations_mutate_and_a_panic_fails_the_run() {
    let mut runner = TestRunner::deterministic();
    let seed = &seeds()[0];
    let mut changed = 0;
    for _ in 0..1000 {
        let ms = mutations().new_tree(&mut runner).expect("mutations").current();
        if mutate(seed, &ms) != *seed {
            changed += 1;
        }
    }
    assert!(changed > 950, "only {changed} of 1000 mutations changed the input");
    let r = catch_unwind(|| {
        run("a decoder that panics on a zero byte", 200, raw_bytes(), |b| {
            assert!(!b.contains(&0), "found a zero");
            Ok(())
        })
    });
    assert!(r.is_err(), "a panicking property passed");
}
