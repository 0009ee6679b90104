//! Signatures by a Party (or a node) over canonical encodings, with domain separation: a
//! signature made for one kind of record can never be passed off as another kind.
//!
//! The signed bytes are `domain || 0x00 || postcard(value)`. postcard is deterministic for a
//! given value, so signer and verifier agree on the bytes without a separate canonical form.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::Serialize;

/// A signature could not be checked, or is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The signature does not verify under the expected key.
    #[error("the signature does not verify with the pinned key of {signer}")]
    Invalid {
        /// Whose key was used.
        signer: String,
    },
    /// The key is not a valid Ed25519 public key.
    #[error("the pinned signing key of {signer} is not a valid Ed25519 key")]
    BadKey {
        /// Whose key.
        signer: String,
    },
    /// The value could not be encoded (a bug).
    #[error("cannot encode the signed value: {0}")]
    Encode(String),
}

fn message<T: Serialize>(domain: &str, value: &T) -> Result<Vec<u8>, SignatureError> {
    let mut m = domain.as_bytes().to_vec();
    m.push(0);
    let body = postcard::to_allocvec(value).map_err(|e| SignatureError::Encode(e.to_string()))?;
    m.extend_from_slice(&body);
    Ok(m)
}

/// Signs `value` under `domain`.
pub fn sign<T: Serialize>(key: &SigningKey, domain: &str, value: &T) -> Result<[u8; 64], SignatureError> {
    Ok(key.sign(&message(domain, value)?).to_bytes())
}

/// Checks a signature made by [`sign`], with `signer` named in errors.
pub fn verify<T: Serialize>(
    key: &[u8; 32],
    signer: &str,
    domain: &str,
    value: &T,
    sig: &[u8; 64],
) -> Result<(), SignatureError> {
    let vk = VerifyingKey::from_bytes(key).map_err(|_| SignatureError::BadKey { signer: signer.into() })?;
    vk.verify(&message(domain, value)?, &Signature::from_bytes(sig))
        .map_err(|_| SignatureError::Invalid { signer: signer.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_key_domain_and_value() {
        let k = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[8; 32]);
        let pk = k.verifying_key().to_bytes();
        let sig = sign(&k, "grant", &("item", 1u32)).unwrap();
        assert!(verify(&pk, "cica", "grant", &("item", 1u32), &sig).is_ok());
        assert!(verify(&pk, "cica", "revocation", &("item", 1u32), &sig).is_err(), "domain");
        assert!(verify(&pk, "cica", "grant", &("item", 2u32), &sig).is_err(), "value");
        assert!(verify(&other.verifying_key().to_bytes(), "x", "grant", &("item", 1u32), &sig).is_err(), "key");
    }
}
