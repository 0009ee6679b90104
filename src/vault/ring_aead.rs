//! ChaCha20-Poly1305 (RFC 8439) from `ring`, behind the RustCrypto `aead` traits, so that the
//! STREAM construction of `aead-stream` runs on it unchanged.
//!
//! Why not `chacha20poly1305`'s own type: its cipher is generic code, compiled into this crate at
//! this crate's optimisation level, so a debug build encrypted a 100 MiB item at a few MiB/s (the
//! end-to-end test of it took minutes) and `[profile.dev.package]` cannot reach it. `ring`'s
//! cipher is assembly, as fast in a debug build as in a release one. Both implement the same
//! RFC 8439 AEAD: the bytes are the same (`tests::ring_and_rustcrypto_agree`), so items sealed
//! before open as they did.

use chacha20poly1305::aead::consts::{U12, U16};
use chacha20poly1305::aead::inout::InOutBuf;
use chacha20poly1305::aead::{AeadCore, AeadInOut, Error, Nonce, Tag, TagPosition};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, UnboundKey};

/// A ChaCha20-Poly1305 key.
pub struct RingChaCha(LessSafeKey);

impl RingChaCha {
    /// The cipher under a 256-bit key.
    pub fn new(key: &[u8; 32]) -> Self {
        // A 32-byte key is always a valid ChaCha20-Poly1305 key.
        let k = UnboundKey::new(&CHACHA20_POLY1305, key).unwrap_or_else(|_| unreachable!("32-byte key"));
        RingChaCha(LessSafeKey::new(k))
    }
}

fn nonce(n: &Nonce<RingChaCha>) -> ring::aead::Nonce {
    let mut b = [0u8; 12];
    b.copy_from_slice(n);
    ring::aead::Nonce::assume_unique_for_key(b)
}

impl AeadCore for RingChaCha {
    type NonceSize = U12;
    type TagSize = U16;
    const TAG_POSITION: TagPosition = TagPosition::Postfix;
}

impl AeadInOut for RingChaCha {
    fn encrypt_inout_detached(
        &self,
        n: &Nonce<Self>,
        aad: &[u8],
        buffer: InOutBuf<'_, '_, u8>,
    ) -> Result<Tag<Self>, Error> {
        let data = buffer.into_out_with_copied_in();
        let tag = self.0.seal_in_place_separate_tag(nonce(n), Aad::from(aad), data).map_err(|_| Error)?;
        let mut t = Tag::<Self>::default();
        t.copy_from_slice(tag.as_ref());
        Ok(t)
    }

    fn decrypt_inout_detached(
        &self,
        n: &Nonce<Self>,
        aad: &[u8],
        buffer: InOutBuf<'_, '_, u8>,
        tag: &Tag<Self>,
    ) -> Result<(), Error> {
        let data = buffer.into_out_with_copied_in();
        let tag = ring::aead::Tag::try_from(tag.as_slice()).map_err(|_| Error)?;
        self.0.open_in_place_separate_tag(nonce(n), Aad::from(aad), tag, data, 0..).map(|_| ()).map_err(|_| Error)
    }
}

#[cfg(test)]
mod tests {
    use chacha20poly1305::aead::{Aead, KeyInit, Payload};
    use chacha20poly1305::{ChaCha20Poly1305, Key};

    use super::*;

    #[test]
    fn ring_and_rustcrypto_agree() {
        let key = [0x42u8; 32];
        let rc = ChaCha20Poly1305::new(&Key::from(key));
        let ri = RingChaCha::new(&key);
        for len in [0usize, 1, 63, 64, 65, 1000, 70_000] {
            let msg: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let n = Nonce::<RingChaCha>::from([len as u8; 12]);
            let p = || Payload { msg: &msg, aad: b"item id" };
            let a = rc.encrypt(&n, p()).unwrap();
            let b = ri.encrypt(&n, p()).unwrap();
            assert_eq!(a, b, "length {len}");
            assert_eq!(ri.decrypt(&n, Payload { msg: &a, aad: b"item id" }).unwrap(), msg);
            assert_eq!(rc.decrypt(&n, Payload { msg: &b, aad: b"item id" }).unwrap(), msg);
            let mut bad = b.clone();
            bad[0] ^= 1;
            assert!(ri.decrypt(&n, Payload { msg: &bad, aad: b"item id" }).is_err(), "tampering is detected");
            assert!(ri.decrypt(&n, Payload { msg: &b, aad: b"other id" }).is_err(), "the aad is bound");
        }
    }
}
