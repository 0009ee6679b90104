//! The vault: items of information one Party provides, encrypted so that only the Parties it
//! is sealed to can read them.
//!
//! - Each item has its own random 256-bit key. The body is split into chunks of 1 MiB and
//!   encrypted with ChaCha20-Poly1305 in the STREAM construction (`aead-stream`, big-endian
//!   32-bit counter plus last-block flag), so an item of any size is encrypted and decrypted in
//!   bounded memory, and truncation, reordering and tampering are all detected. The title is
//!   encrypted with the same key under its own random nonce.
//! - The item key is sealed to each entitled Party's X25519 sealing key with HPKE (RFC 9180:
//!   DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305), bound to the item's content
//!   hash.
//! - The provider signs the envelope (ids, provider, marking, encrypted title, chunk count,
//!   BLAKE3 of the ciphertext, SHA-256 for items sealed before: [`CiphertextHash`]) with its
//!   Party signing key. The SHA-256 of the signed envelope
//!   is the item's **content hash**, which consent grants name.
//!
//! Nothing here touches the disk: the engine stores only what these functions return.

mod hash;
mod ring_aead;

use bytes::Bytes;
use chacha20poly1305::Nonce;
use chacha20poly1305::aead::{Aead, Payload};
use ed25519_dalek::SigningKey;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{ItemId, PartyId, fill_random};
use crate::signing::{self, SignatureError};
pub use hash::{CiphertextHash, HashBeside, Hasher, check_parallel};
pub use ring_aead::RingChaCha;

/// Plaintext bytes per chunk.
pub const CHUNK_BYTES: usize = 1 << 20;
/// Signature domain of envelopes.
const ENVELOPE_DOMAIN: &str = "liaison/item-envelope/v1";
/// HPKE `info` of key wraps.
const WRAP_INFO: &[u8] = b"liaison/item-key/v1";

type Kem = hpke::kem::X25519HkdfSha256;
type HpkeAead = hpke::aead::ChaCha20Poly1305;
type HpkeKdf = hpke::kdf::HkdfSha256;
type Stream = aead_stream::StreamBE32<RingChaCha>;

/// What the provider signs about an item. Holds no plaintext but the marking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The item.
    pub item: ItemId,
    /// The providing Party.
    pub provider: PartyId,
    /// When it was provided, RFC 3339.
    pub created_at: String,
    /// Handling marking, such as "RESTRICTED" (plaintext, so that nodes can show it).
    pub marking: String,
    /// The mandate (Member-State consent) the provision cites, if any.
    pub mandate: Option<String>,
    /// Nonce of the encrypted title.
    #[serde(with = "serde_bytes")]
    pub title_nonce: [u8; 12],
    /// The encrypted title.
    #[serde(with = "serde_bytes")]
    pub title_ct: Vec<u8>,
    /// STREAM nonce prefix of the body.
    #[serde(with = "serde_bytes")]
    pub stream_nonce: [u8; 7],
    /// Number of body chunks (at least 1).
    pub chunks: u32,
    /// Size of the plaintext body.
    pub plaintext_bytes: u64,
    /// The hash of every chunk's ciphertext, in order: BLAKE3, or SHA-256 for items sealed
    /// before it ([`CiphertextHash`]).
    pub ciphertext_hash: CiphertextHash,
}

/// An envelope with the provider's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEnvelope {
    /// What is signed.
    pub envelope: Envelope,
    /// Ed25519 signature by the provider's Party key.
    #[serde(with = "serde_bytes")]
    pub signature: [u8; 64],
}

/// An item key sealed to one Party.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyWrap {
    /// The item.
    pub item: ItemId,
    /// The Party that can open it.
    pub recipient: PartyId,
    /// The recipient's sealing key it was sealed to (to refuse wraps to unpinned keys).
    #[serde(with = "serde_bytes")]
    pub recipient_key: [u8; 32],
    /// HPKE encapsulated key.
    #[serde(with = "serde_bytes")]
    pub encapped: Vec<u8>,
    /// The sealed item key.
    #[serde(with = "serde_bytes")]
    pub sealed: Vec<u8>,
}

/// An item's key, wiped from memory when dropped.
pub struct ItemKey([u8; 32]);

impl Drop for ItemKey {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.0.zeroize();
    }
}

impl ItemKey {
    fn random() -> Self {
        let mut k = [0u8; 32];
        fill_random(&mut k);
        ItemKey(k)
    }
    fn cipher(&self) -> RingChaCha {
        RingChaCha::new(&self.0)
    }
}

/// What can go wrong with an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The provider's signature is wrong: the envelope was forged or changed.
    #[error("item {item}: {source}")]
    Signature {
        /// The item.
        item: ItemId,
        /// Why.
        source: SignatureError,
    },
    /// A chunk or the title does not decrypt: changed ciphertext, wrong order, or cut short.
    #[error("item {item}: {what} was tampered with or is damaged (authentication failed)")]
    Tampered {
        /// The item.
        item: ItemId,
        /// Which part.
        what: String,
    },
    /// The ciphertext does not hash to what the provider signed.
    #[error("item {item}: the ciphertext does not match the signed envelope")]
    HashMismatch {
        /// The item.
        item: ItemId,
    },
    /// No key sealed to us opens the item.
    #[error("item {item}: the item key cannot be opened with this Party's sealing key")]
    KeyUnwrap {
        /// The item.
        item: ItemId,
    },
    /// A cryptographic operation failed otherwise.
    #[error("item {item}: {reason}")]
    Crypto {
        /// The item.
        item: ItemId,
        /// What failed.
        reason: String,
    },
}

impl SignedEnvelope {
    /// The item's content hash: SHA-256 of the signed envelope. Grants name items by it.
    pub fn content_hash(&self) -> [u8; 32] {
        let bytes = postcard::to_allocvec(self).unwrap_or_default();
        Sha256::digest(&bytes).into()
    }

    /// Checks the provider's signature against its pinned signing key.
    pub fn verify(&self, provider_key: &[u8; 32]) -> Result<(), VaultError> {
        signing::verify(provider_key, self.envelope.provider.as_str(), ENVELOPE_DOMAIN, &self.envelope, &self.signature)
            .map_err(|source| VaultError::Signature { item: self.envelope.item, source })
    }
}

/// Encrypts an item chunk by chunk, as its body streams in.
pub struct Sealer {
    item: ItemId,
    key: ItemKey,
    stream_nonce: [u8; 7],
    next: u32,
    hasher: HashBeside,
    plaintext_bytes: u64,
}

impl Sealer {
    /// Starts a new item with a fresh key.
    pub fn new(item: ItemId) -> Self {
        let mut stream_nonce = [0u8; 7];
        fill_random(&mut stream_nonce);
        Sealer {
            item,
            key: ItemKey::random(),
            stream_nonce,
            next: 0,
            hasher: HashBeside::new(Hasher::new()),
            plaintext_bytes: 0,
        }
    }

    /// Encrypts the next chunk in place (its tag is appended); `last` marks the final one (which
    /// may be short or empty). The ciphertext is hashed on a second core while the caller stores
    /// it and the next chunk is encrypted.
    pub fn chunk(&mut self, mut plaintext: Vec<u8>, last: bool) -> Result<Bytes, VaultError> {
        use aead_stream::{NewStream, StreamPrimitive};
        let stream = Stream::from_aead(self.key.cipher(), &self.stream_nonce.into());
        self.plaintext_bytes += plaintext.len() as u64;
        stream
            .encrypt_in_place(self.next, last, &self.item.0, &mut plaintext)
            .map_err(|_| VaultError::Crypto { item: self.item, reason: "chunk encryption failed".into() })?;
        let ct = Bytes::from(plaintext);
        self.hasher.push(ct.clone(), !last);
        self.next += 1;
        Ok(ct)
    }

    /// Seals the title, signs the envelope, and hands back the key for wrapping.
    pub fn finish(
        self,
        provider: PartyId,
        created_at: String,
        marking: String,
        mandate: Option<String>,
        title: &str,
        signing_key: &SigningKey,
    ) -> Result<(SignedEnvelope, ItemKey), VaultError> {
        let ciphertext_hash = self
            .hasher
            .finish()
            .ok_or_else(|| VaultError::Crypto { item: self.item, reason: "the hashing thread failed".into() })?;
        let mut title_nonce = [0u8; 12];
        fill_random(&mut title_nonce);
        let title_ct = self
            .key
            .cipher()
            .encrypt(&Nonce::from(title_nonce), Payload { msg: title.as_bytes(), aad: &self.item.0 })
            .map_err(|_| VaultError::Crypto { item: self.item, reason: "title encryption failed".into() })?;
        let envelope = Envelope {
            item: self.item,
            provider,
            created_at,
            marking,
            mandate,
            title_nonce,
            title_ct,
            stream_nonce: self.stream_nonce,
            chunks: self.next,
            plaintext_bytes: self.plaintext_bytes,
            ciphertext_hash,
        };
        let signature = signing::sign(signing_key, ENVELOPE_DOMAIN, &envelope)
            .map_err(|source| VaultError::Signature { item: self.item, source })?;
        Ok((SignedEnvelope { envelope, signature }, self.key))
    }
}

/// Seals `key` to a Party's X25519 sealing key, bound to the item's content hash.
pub fn seal_key(
    key: &ItemKey,
    env: &SignedEnvelope,
    recipient: &PartyId,
    recipient_key: &[u8; 32],
) -> Result<KeyWrap, VaultError> {
    let item = env.envelope.item;
    let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(recipient_key)
        .map_err(|e| VaultError::Crypto { item, reason: format!("bad sealing key of {recipient}: {e}") })?;
    let (encapped, sealed) = hpke::single_shot_seal::<HpkeAead, HpkeKdf, Kem>(
        &OpModeS::Base,
        &pk,
        &wrap_info(item),
        &key.0,
        &env.content_hash(),
    )
    .map_err(|e| VaultError::Crypto { item, reason: format!("sealing the key: {e}") })?;
    Ok(KeyWrap {
        item,
        recipient: recipient.clone(),
        recipient_key: *recipient_key,
        encapped: encapped.to_bytes().to_vec(),
        sealed,
    })
}

/// Opens a key wrap with our sealing secret.
pub fn open_key(wrap: &KeyWrap, env: &SignedEnvelope, secret: &[u8; 32]) -> Result<ItemKey, VaultError> {
    let item = env.envelope.item;
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(secret).map_err(|_| VaultError::KeyUnwrap { item })?;
    let enc =
        <Kem as hpke::Kem>::EncappedKey::from_bytes(&wrap.encapped).map_err(|_| VaultError::KeyUnwrap { item })?;
    let key = hpke::single_shot_open::<HpkeAead, HpkeKdf, Kem>(
        &OpModeR::Base,
        &sk,
        &enc,
        &wrap_info(item),
        &wrap.sealed,
        &env.content_hash(),
    )
    .map_err(|_| VaultError::KeyUnwrap { item })?;
    let key: [u8; 32] = key.as_slice().try_into().map_err(|_| VaultError::KeyUnwrap { item })?;
    Ok(ItemKey(key))
}

/// The X25519 public key of a sealing secret.
pub fn sealing_public(secret: &[u8; 32]) -> Option<[u8; 32]> {
    let sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(secret).ok()?;
    let pk = Kem::sk_to_pk(&sk);
    pk.to_bytes().as_slice().try_into().ok()
}

fn wrap_info(item: ItemId) -> Vec<u8> {
    let mut v = WRAP_INFO.to_vec();
    v.extend_from_slice(&item.0);
    v
}

/// Decrypts chunk `index` of an item, in place. This checks the chunk alone: a reader checks the
/// whole ciphertext against the signed hash first ([`check_parallel`]).
pub fn open_chunk(key: &ItemKey, env: &Envelope, index: u32, ciphertext: Vec<u8>) -> Result<Vec<u8>, VaultError> {
    use aead_stream::NewStream;
    decrypt_chunk(&Stream::from_aead(key.cipher(), &env.stream_nonce.into()), env, index, ciphertext)
}

fn decrypt_chunk(stream: &Stream, env: &Envelope, index: u32, mut buf: Vec<u8>) -> Result<Vec<u8>, VaultError> {
    use aead_stream::StreamPrimitive;
    if index >= env.chunks {
        return Err(VaultError::Tampered {
            item: env.item,
            what: format!("chunk {index} (beyond the {} signed)", env.chunks),
        });
    }
    stream
        .decrypt_in_place(index, index + 1 == env.chunks, &env.item.0, &mut buf)
        .map_err(|_| VaultError::Tampered { item: env.item, what: format!("chunk {index}") })?;
    Ok(buf)
}

/// Separates the title from the file name in an item's sealed label: a control character, which
/// neither may hold ([`label`] refuses it). A label without it is a title alone (items provided
/// before file names were kept).
const LABEL_SEP: char = '\u{1f}';

/// The plaintext sealed as an item's title: the title, and the name of the file it came from if
/// known, so that both stay encrypted and signed with the item (no plaintext of them on disk).
/// `None` when either holds a control character.
pub fn label(title: &str, file_name: Option<&str>) -> Option<String> {
    let clean = |s: &str| !s.chars().any(char::is_control);
    match file_name.map(str::trim).filter(|f| !f.is_empty()) {
        _ if !clean(title) => None,
        Some(f) if !clean(f) => None,
        Some(f) => Some(format!("{title}{LABEL_SEP}{f}")),
        None => Some(title.to_string()),
    }
}

/// Decrypts the title.
pub fn open_title(key: &ItemKey, env: &Envelope) -> Result<String, VaultError> {
    open_label(key, env).map(|(title, _)| title)
}

/// Decrypts the title and the file name the item was provided from, if it was kept.
pub fn open_label(key: &ItemKey, env: &Envelope) -> Result<(String, Option<String>), VaultError> {
    let label = open_raw_title(key, env)?;
    Ok(match label.split_once(LABEL_SEP) {
        Some((t, f)) => (t.to_string(), Some(f.to_string())),
        None => (label, None),
    })
}

fn open_raw_title(key: &ItemKey, env: &Envelope) -> Result<String, VaultError> {
    let pt = key
        .cipher()
        .decrypt(&Nonce::from(env.title_nonce), Payload { msg: &env.title_ct, aad: &env.item.0 })
        .map_err(|_| VaultError::Tampered { item: env.item, what: "the title".into() })?;
    String::from_utf8(pt).map_err(|_| VaultError::Tampered { item: env.item, what: "the title".into() })
}

/// Checks that `chunks` (every ciphertext, in order) are what the provider signed.
pub fn check_ciphertext<'a>(env: &Envelope, chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<(), VaultError> {
    let mut h = Hasher::like(&env.ciphertext_hash);
    let mut n = 0u32;
    for c in chunks {
        h.update(c);
        n += 1;
    }
    if n != env.chunks || h.finish() != env.ciphertext_hash {
        return Err(VaultError::HashMismatch { item: env.item });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provide(body: &[u8], chunk: usize) -> (SignedEnvelope, ItemKey, Vec<Vec<u8>>, SigningKey) {
        let sk = SigningKey::from_bytes(&[3; 32]);
        let mut s = Sealer::new(ItemId::random());
        let parts: Vec<&[u8]> = if body.is_empty() { vec![&[][..]] } else { body.chunks(chunk).collect() };
        let mut cts = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            cts.push(s.chunk(p.to_vec(), i + 1 == parts.len()).unwrap().to_vec());
        }
        let (env, key) = s
            .finish(
                "cica".parse().unwrap(),
                "2026-11-28T10:00:00Z".into(),
                "RESTRICTED".into(),
                None,
                "List of entities",
                &sk,
            )
            .unwrap();
        (env, key, cts, sk)
    }

    #[test]
    fn an_item_round_trips_through_seal_and_open() {
        let body: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
        let (env, key, cts, sk) = provide(&body, 1000);
        env.verify(&sk.verifying_key().to_bytes()).unwrap();
        check_ciphertext(&env.envelope, cts.iter().map(Vec::as_slice)).unwrap();
        let secret = [9u8; 32];
        let public = sealing_public(&secret).unwrap();
        let wrap = seal_key(&key, &env, &"sco-rats".parse().unwrap(), &public).unwrap();
        let opened = open_key(&wrap, &env, &secret).unwrap();
        let mut got = Vec::new();
        for (i, c) in cts.iter().enumerate() {
            got.extend(open_chunk(&opened, &env.envelope, i as u32, c.clone()).unwrap());
        }
        assert_eq!(got, body);
        assert_eq!(open_title(&opened, &env.envelope).unwrap(), "List of entities");
        assert!(!cts.concat().windows(16).any(|w| w == &body[..16]), "plaintext visible in ciphertext");
    }

    #[test]
    fn tampering_in_any_form_is_detected() {
        let body = vec![7u8; 2500];
        let (env, key, mut cts, sk) = provide(&body, 1000);
        let pk = sk.verifying_key().to_bytes();
        // A changed envelope field breaks the signature.
        let mut forged = env.clone();
        forged.envelope.marking = "UNCLASSIFIED".into();
        assert!(matches!(forged.verify(&pk), Err(VaultError::Signature { .. })));
        // Signed by another key.
        assert!(env.verify(&SigningKey::from_bytes(&[4; 32]).verifying_key().to_bytes()).is_err());
        // A flipped byte, swapped chunks, a cut-short item.
        cts[1][10] ^= 1;
        assert!(open_chunk(&key, &env.envelope, 1, cts[1].clone()).is_err());
        assert!(check_ciphertext(&env.envelope, cts.iter().map(Vec::as_slice)).is_err());
        cts[1][10] ^= 1;
        assert!(open_chunk(&key, &env.envelope, 0, cts[1].clone()).is_err(), "reordered");
        let mut short = env.envelope.clone();
        short.chunks = 2;
        assert!(open_chunk(&key, &short, 1, cts[1].clone()).is_err(), "a middle chunk cannot pass as the last");
        // A key wrap opened by the wrong Party, or for another item's content hash.
        let wrap = seal_key(&key, &env, &"sco-rats".parse().unwrap(), &sealing_public(&[9; 32]).unwrap()).unwrap();
        assert!(open_key(&wrap, &env, &[10; 32]).is_err());
        assert!(open_key(&wrap, &forged, &[9; 32]).is_err());
    }

    #[test]
    fn a_file_name_is_sealed_with_the_title_and_read_apart() {
        let sk = SigningKey::from_bytes(&[3; 32]);
        let mut s = Sealer::new(ItemId::random());
        s.chunk(b"x".to_vec(), true).unwrap();
        let l = label("Список", Some("список организаций.xlsx")).unwrap();
        let (env, key) = s.finish("cica".parse().unwrap(), "t".into(), "TLP:AMBER".into(), None, &l, &sk).unwrap();
        let (title, file) = open_label(&key, &env.envelope).unwrap();
        assert_eq!((title.as_str(), file.as_deref()), ("Список", Some("список организаций.xlsx")));
        assert_eq!(open_title(&key, &env.envelope).unwrap(), "Список");
        assert!(!env.envelope.title_ct.windows(4).any(|w| w == b"xlsx"), "the file name is encrypted");
        assert_eq!(label("a\u{1f}b", None), None, "a control character in a title is refused");
        assert_eq!(label("a", Some("x\ny")), None);
        assert_eq!(label("a", Some(" ")).as_deref(), Some("a"));
    }

    #[test]
    fn an_item_sealed_with_rustcrypto_opens_as_before() {
        // Items sealed before the cipher came from `ring` (chacha20poly1305's own type, same
        // STREAM framing) must open unchanged.
        use aead_stream::{NewStream, StreamPrimitive};
        use chacha20poly1305::aead::KeyInit;
        use chacha20poly1305::{ChaCha20Poly1305, Key};
        let (env, key, _, _) = provide(b"x", 10);
        let body: Vec<u8> = (0..2500u32).map(|i| (i % 253) as u8).collect();
        let mut e = env.envelope.clone();
        e.chunks = 3;
        let old = aead_stream::StreamBE32::<ChaCha20Poly1305>::from_aead(
            ChaCha20Poly1305::new(&Key::from(key.0)),
            &e.stream_nonce.into(),
        );
        let mut got = Vec::new();
        for (i, part) in body.chunks(1000).enumerate() {
            let ct = old.encrypt(i as u32, i == 2, Payload { msg: part, aad: &e.item.0 }).unwrap();
            got.extend(open_chunk(&key, &e, i as u32, ct).unwrap());
        }
        assert_eq!(got, body);
        let title = ChaCha20Poly1305::new(&Key::from(key.0))
            .encrypt(&Nonce::from(e.title_nonce), Payload { msg: b"Old title", aad: &e.item.0 })
            .unwrap();
        e.title_ct = title;
        assert_eq!(open_title(&key, &e).unwrap(), "Old title");
    }

    #[test]
    fn an_empty_item_has_one_empty_chunk() {
        let (env, key, cts, _) = provide(b"", 10);
        assert_eq!(env.envelope.chunks, 1);
        assert!(open_chunk(&key, &env.envelope, 0, cts[0].clone()).unwrap().is_empty());
        assert!(read(&key, &env.envelope, cts).unwrap().is_empty());
    }

    /// Reads a whole item as the node serves it: the whole ciphertext checked, then each chunk.
    fn read(key: &ItemKey, env: &Envelope, cts: Vec<Vec<u8>>) -> Result<Vec<u8>, VaultError> {
        let n = cts.len() as u32;
        let whole = check_parallel(&env.ciphertext_hash, n, |i| Ok::<_, ()>(cts[i as usize].clone())) == Ok(true);
        if n != env.chunks || !whole {
            return Err(VaultError::HashMismatch { item: env.item });
        }
        let mut got = Vec::new();
        for (i, c) in cts.into_iter().enumerate() {
            got.extend(open_chunk(key, env, i as u32, c)?);
        }
        Ok(got)
    }

    #[test]
    fn a_new_item_is_hashed_with_blake3_and_checked_on_every_core() {
        let body: Vec<u8> = (0..5000u32).map(|i| (i % 249) as u8).collect();
        let (env, key, cts, _) = provide(&body, 1000);
        assert!(matches!(env.envelope.ciphertext_hash, CiphertextHash::Blake3(_)));
        let mut h = blake3::Hasher::new();
        cts.iter().for_each(|c| {
            h.update(blake3::hash(c).as_bytes());
        });
        assert_eq!(env.envelope.ciphertext_hash, CiphertextHash::Blake3(*h.finalize().as_bytes()));
        check_ciphertext(&env.envelope, cts.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(read(&key, &env.envelope, cts.clone()).unwrap(), body);
        // One chunk only: hashed in place.
        let (env1, key1, cts1, _) = provide(&body, 10_000);
        assert_eq!(read(&key1, &env1.envelope, cts1).unwrap(), body);
    }

    #[test]
    fn a_key_holder_swapping_a_chunk_is_caught_by_the_signed_hash() {
        // Whoever holds the item key (a Party it was sealed to) can encrypt other bytes that pass
        // the chunk's AEAD check. Only the provider's signed hash tells them apart.
        use aead_stream::{NewStream, StreamPrimitive};
        let body = vec![1u8; 3000];
        let (env, key, mut cts, _) = provide(&body, 1000);
        let stream = Stream::from_aead(key.cipher(), &env.envelope.stream_nonce.into());
        cts[0] = stream.encrypt(0, false, Payload { msg: &[2u8; 1000], aad: &env.envelope.item.0 }).unwrap();
        assert_eq!(open_chunk(&key, &env.envelope, 0, cts[0].clone()).unwrap(), vec![2u8; 1000], "the AEAD passes");
        assert!(check_ciphertext(&env.envelope, cts.iter().map(Vec::as_slice)).is_err());
        assert!(matches!(read(&key, &env.envelope, cts), Err(VaultError::HashMismatch { .. })));
    }

    #[test]
    fn an_item_hashed_with_sha256_before_still_verifies_and_reads() {
        // An envelope as items were sealed before BLAKE3: its ciphertext hash is SHA-256, and its
        // signed bytes are what they were (a 32-byte field).
        let sk = SigningKey::from_bytes(&[3; 32]);
        let body = vec![4u8; 2500];
        let (env, key, cts, _) = provide(&body, 1000);
        let mut e = env.envelope.clone();
        let mut h = Sha256::new();
        cts.iter().for_each(|c| h.update(c));
        e.ciphertext_hash = CiphertextHash::Sha256(h.finalize().into());
        let signature = signing::sign(&sk, ENVELOPE_DOMAIN, &e).unwrap();
        let old = SignedEnvelope { envelope: e.clone(), signature };
        old.verify(&sk.verifying_key().to_bytes()).unwrap();
        check_ciphertext(&old.envelope, cts.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(read(&key, &old.envelope, cts).unwrap(), body);
        // The algorithm is signed: calling a SHA-256 digest a BLAKE3 one breaks the signature.
        let CiphertextHash::Sha256(d) = e.ciphertext_hash else { unreachable!() };
        let mut swapped = old.clone();
        swapped.envelope.ciphertext_hash = CiphertextHash::Blake3(d);
        assert!(swapped.verify(&sk.verifying_key().to_bytes()).is_err());
    }
}
