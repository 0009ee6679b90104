//! Workload V: the vault's throughput, in process. A 100 MiB item is encrypted and decrypted
//! with the vault's own code ([`crate::vault`]: STREAM framing, a key per item, BLAKE3 of the
//! ciphertext on a second core, the signed envelope), and the same bytes with the raw AEAD (the vault's
//! ChaCha20-Poly1305, `ring`'s, the same 1 MiB chunks, in place, no framing, no hashing), in the
//! same run, so that the ratio says what the vault's own work costs on top of the cipher.

use std::time::Instant;

use ed25519_dalek::SigningKey;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, Nonce, UnboundKey};
use serde::Serialize;

use super::cell;
use crate::ids::ItemId;
use crate::vault::{self, CHUNK_BYTES, Sealer};

/// One run's figures, MiB/s.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VaultRun {
    /// Always "V".
    pub workload: String,
    /// Run number.
    pub run: usize,
    /// Item size, MiB.
    pub mib: usize,
    /// The vault: [`Sealer`] chunk by chunk, then the envelope signed.
    pub vault_encrypt_mib_s: f64,
    /// The vault: the ciphertext checked on every core ([`vault::check_parallel`]), then
    /// [`vault::open_chunk`] chunk by chunk, in place.
    pub vault_decrypt_mib_s: f64,
    /// Raw ChaCha20-Poly1305, in place, same chunks.
    pub raw_encrypt_mib_s: f64,
    /// Raw ChaCha20-Poly1305, in place, same chunks.
    pub raw_decrypt_mib_s: f64,
}

/// Runs workload V `runs` times over an item of `mib` MiB.
pub fn run(runs: usize, mib: usize) -> anyhow::Result<Vec<VaultRun>> {
    // Incompressible but cheap to make: the same xorshift as the 100 MiB end-to-end test.
    let mut body = vec![0u8; mib << 20];
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for c in body.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
    }
    let signer = SigningKey::from_bytes(&[7; 32]);
    let secret = [9u8; 32];
    let public = vault::sealing_public(&secret).ok_or_else(|| anyhow::anyhow!("sealing key"))?;
    let mut out = Vec::new();
    for run in 1..=runs {
        // The vault, encrypting, each chunk already in a buffer of its own, as the node's upload
        // holds it (the raw AEAD below gets its buffer before its clock starts too).
        // Room for the tag, as the upload's buffer has: no chunk grows into a new allocation.
        let parts: Vec<Vec<u8>> = body
            .chunks(CHUNK_BYTES)
            .map(|c| {
                let mut v = Vec::with_capacity(c.len() + 16);
                v.extend_from_slice(c);
                v
            })
            .collect();
        let count = parts.len();
        let t = Instant::now();
        let mut sealer = Sealer::new(ItemId::random());
        let mut cts = Vec::with_capacity(count);
        for (i, p) in parts.into_iter().enumerate() {
            cts.push(sealer.chunk(p, i + 1 == count)?);
        }
        let (env, key) =
            sealer.finish("cica".parse()?, "2026-11-30T00:00:00Z".into(), "RESTRICTED".into(), None, "V", &signer)?;
        let enc = t.elapsed().as_secs_f64();
        // The key goes to the reader as the node sends it: sealed, then opened.
        let wrap = vault::seal_key(&key, &env, &"sco-rats".parse()?, &public)?;
        let key = vault::open_key(&wrap, &env, &secret)?;
        // The vault, decrypting, as the node serves an item: the whole ciphertext checked against
        // the signed hash (on every core), then each chunk decrypted in place as it is read.
        let cts: Vec<Vec<u8>> = cts.into_iter().map(Vec::from).collect();
        let t = Instant::now();
        let whole = vault::check_parallel(&env.envelope.ciphertext_hash, env.envelope.chunks, |i| {
            Ok::<_, ()>(cts[i as usize].as_slice())
        });
        anyhow::ensure!(whole == Ok(true), "the vault's ciphertext does not match its signed hash");
        // The plaintext buffers are freed after the clock stops, as the raw AEAD's buffer is: the
        // allocator's unmapping of 1 MiB buffers (about 60 µs each here) is not the vault's work.
        let mut n = 0usize;
        let mut plain = Vec::with_capacity(env.envelope.chunks as usize);
        for (i, c) in cts.into_iter().enumerate() {
            let p = vault::open_chunk(&key, &env.envelope, i as u32, c)?;
            n += p.len();
            plain.push(p);
        }
        let dec = t.elapsed().as_secs_f64();
        anyhow::ensure!(n == body.len(), "the vault decrypted {n} bytes of {}", body.len());
        anyhow::ensure!(plain.concat() == body, "the vault did not round-trip");
        drop(plain);

        // The raw AEAD (the vault's cipher, `ring`'s) over the same chunks, in place in one
        // buffer.
        let cipher =
            LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, &[5u8; 32]).map_err(|_| anyhow::anyhow!("raw key"))?);
        let mut buf = body.clone();
        let t = Instant::now();
        let mut tags = Vec::with_capacity(body.len().div_ceil(CHUNK_BYTES));
        for (i, c) in buf.chunks_mut(CHUNK_BYTES).enumerate() {
            let tag = cipher
                .seal_in_place_separate_tag(nonce(i), Aad::empty(), c)
                .map_err(|_| anyhow::anyhow!("raw encryption failed"))?;
            tags.push(tag);
        }
        let raw_enc = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for (i, c) in buf.chunks_mut(CHUNK_BYTES).enumerate() {
            cipher
                .open_in_place_separate_tag(nonce(i), Aad::empty(), tags[i], c, 0..)
                .map_err(|_| anyhow::anyhow!("raw decryption failed"))?;
        }
        let raw_dec = t.elapsed().as_secs_f64();
        anyhow::ensure!(buf == body, "the raw AEAD did not round-trip");
        let r = VaultRun {
            workload: "V".into(),
            run,
            mib,
            vault_encrypt_mib_s: mib as f64 / enc,
            vault_decrypt_mib_s: mib as f64 / dec,
            raw_encrypt_mib_s: mib as f64 / raw_enc,
            raw_decrypt_mib_s: mib as f64 / raw_dec,
        };
        eprintln!(
            "[V] run {run}: vault encrypt {:.0} MiB/s, decrypt {:.0} MiB/s; raw AEAD {:.0} / {:.0} MiB/s",
            r.vault_encrypt_mib_s, r.vault_decrypt_mib_s, r.raw_encrypt_mib_s, r.raw_decrypt_mib_s
        );
        out.push(r);
    }
    Ok(out)
}

fn nonce(i: usize) -> Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&(i as u64).to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

/// The markdown table of workload V.
pub fn summary(rs: &[VaultRun]) -> String {
    let col = |f: fn(&VaultRun) -> f64| cell(&rs.iter().map(f).collect::<Vec<_>>());
    let mib = rs.first().map(|r| r.mib).unwrap_or(0);
    let mut s = format!("| workload | measure ({mib} MiB item) | median [min – max] |\n|---|---|---|\n");
    s.push_str(&format!("| V | vault encrypt (MiB/s) | {} |\n", col(|r| r.vault_encrypt_mib_s)));
    s.push_str(&format!("| V | raw AEAD encrypt (MiB/s) | {} |\n", col(|r| r.raw_encrypt_mib_s)));
    s.push_str(&format!("| V | vault ÷ raw, encrypt | {} |\n", col(|r| r.vault_encrypt_mib_s / r.raw_encrypt_mib_s)));
    s.push_str(&format!("| V | vault decrypt (MiB/s) | {} |\n", col(|r| r.vault_decrypt_mib_s)));
    s.push_str(&format!("| V | raw AEAD decrypt (MiB/s) | {} |\n", col(|r| r.raw_decrypt_mib_s)));
    s.push_str(&format!("| V | vault ÷ raw, decrypt | {} |\n", col(|r| r.vault_decrypt_mib_s / r.raw_decrypt_mib_s)));
    s
}
