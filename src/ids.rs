//! Identifiers shared by every part of the node: documents and Parties.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Identifies one workspace document (a meeting, a working group, a draft, a thread or the
/// registry). Random, so two nodes can create documents at the same time without a coordinator.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId(pub [u8; 16]);

impl DocId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        fill_random(&mut b);
        DocId(b)
    }
}

/// A prefix of a document id in hex, as officers type one (`draft show 3fa9`), compared with ids
/// digit by digit without formatting them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HexPrefix(Vec<u8>);

impl HexPrefix {
    /// The prefix `text` (case-insensitive), if it is at most 32 hex digits.
    pub fn parse(text: &str) -> Option<HexPrefix> {
        let nibbles: Option<Vec<u8>> = text.chars().map(|c| c.to_digit(16).map(|d| d as u8)).collect();
        nibbles.filter(|n| n.len() <= 32).map(HexPrefix)
    }

    /// Whether `id`'s hex form starts with this prefix.
    pub fn matches(&self, id: &DocId) -> bool {
        self.0.iter().enumerate().all(|(i, n)| {
            let b = id.0[i / 2];
            (if i % 2 == 0 { b >> 4 } else { b & 0x0f }) == *n
        })
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({self})")
    }
}

/// The text is not 32 hex digits.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a document id (32 hex digits)")]
pub struct BadDocId(pub String);

impl FromStr for DocId {
    type Err = BadDocId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut b = [0u8; 16];
        hex::decode_to_slice(s, &mut b).map_err(|_| BadDocId(s.to_string()))?;
        Ok(DocId(b))
    }
}

/// Identifies one item of provided information. Random, chosen by the provider's node.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemId(pub [u8; 16]);

impl ItemId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        fill_random(&mut b);
        ItemId(b)
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ItemId({self})")
    }
}

/// Identifies a consent record (request, grant, denial, revocation, report).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub [u8; 16]);

impl RecordId {
    /// A fresh random id.
    pub fn random() -> Self {
        let mut b = [0u8; 16];
        fill_random(&mut b);
        RecordId(b)
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

/// The 16-byte ids are 32 hex digits in human-readable formats (JSON, for the API and the
/// CLI) and 16 raw bytes in binary ones (the store, the wire).
macro_rules! id16_serde {
    ($t:ident) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                if s.is_human_readable() {
                    s.serialize_str(&hex::encode(self.0))
                } else {
                    serde_bytes::Bytes::new(&self.0).serialize(s)
                }
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                use serde::de::Error;
                if d.is_human_readable() {
                    let s = String::deserialize(d)?;
                    parse_id16(&s).map($t).ok_or_else(|| D::Error::custom(format!("{s:?} is not 32 hex digits")))
                } else {
                    let b: serde_bytes::ByteArray<16> = serde_bytes::ByteArray::deserialize(d)?;
                    Ok($t(b.into_array()))
                }
            }
        }
    };
}
id16_serde!(DocId);
id16_serde!(ItemId);
id16_serde!(RecordId);

/// Parses 32 hex digits into 16 bytes, for the id types.
pub fn parse_id16(s: &str) -> Option<[u8; 16]> {
    let mut b = [0u8; 16];
    hex::decode_to_slice(s.trim(), &mut b).ok()?;
    Some(b)
}

/// A Party's short id, such as `cica` or `sco-rats`: lowercase letters, digits and dashes, so
/// that it reads the same in a config file, a CLI argument and a log line.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PartyId(String);

impl PartyId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text is not a valid party id.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a party id: use 2 to 32 lowercase letters, digits or dashes, such as \"cica\" or \"sco-rats\"")]
pub struct BadPartyId(pub String);

impl TryFrom<String> for PartyId {
    type Error = BadPartyId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let ok = (2..=32).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok { Ok(PartyId(s)) } else { Err(BadPartyId(s)) }
    }
}

impl FromStr for PartyId {
    type Err = BadPartyId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PartyId::try_from(s.to_string())
    }
}

impl From<PartyId> for String {
    fn from(p: PartyId) -> String {
        p.0
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PartyId({})", self.0)
    }
}

/// Fills `buf` from the operating system's random source.
///
/// The OS generator failing is unrecoverable for a node that must create keys and ids, and
/// `getrandom` documents it as not happening on Linux after boot, hence the panic.
pub fn fill_random(buf: &mut [u8]) {
    #[allow(clippy::expect_used)]
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

/// A random id of `n` bytes as hex, for list entries inside documents (agenda items, members).
pub fn random_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    fill_random(&mut b);
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_id_round_trips_through_text() {
        let id = DocId::random();
        assert_eq!(id.to_string().parse::<DocId>().unwrap(), id);
        assert!("xyz".parse::<DocId>().is_err());
    }

    #[test]
    fn ids_are_hex_in_json_and_bytes_in_binary() {
        let id = ItemId([0xab; 16]);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{}\"", "ab".repeat(16)));
        assert_eq!(serde_json::from_str::<ItemId>(&serde_json::to_string(&id).unwrap()).unwrap(), id);
        let bin = postcard::to_allocvec(&id).unwrap();
        assert_eq!(bin.len(), 17);
        assert_eq!(postcard::from_bytes::<ItemId>(&bin).unwrap(), id);
    }

    #[test]
    fn a_hex_prefix_matches_as_the_id_in_hex_starts() {
        for _ in 0..50 {
            let id = DocId::random();
            let hex = id.to_string();
            for len in [0, 1, 4, 7, 31, 32] {
                let p = HexPrefix::parse(&hex[..len].to_ascii_uppercase()).unwrap();
                assert!(p.matches(&id), "{hex} does not start with {}", &hex[..len]);
                let other = DocId::random();
                assert_eq!(p.matches(&other), other.to_string().starts_with(&hex[..len]));
            }
        }
        assert!(HexPrefix::parse("3fa9g").is_none());
        assert!(HexPrefix::parse(&"a".repeat(33)).is_none());
        let id: DocId = "3fa90000000000000000000000000000".parse().unwrap();
        assert!(!HexPrefix::parse("3fb").unwrap().matches(&id));
    }

    #[test]
    fn party_ids_are_checked() {
        assert!("cica".parse::<PartyId>().is_ok());
        assert!("sco-rats".parse::<PartyId>().is_ok());
        for bad in ["", "a", "CICA", "-x", "x-", "a b", "ü"] {
            assert!(bad.parse::<PartyId>().is_err(), "{bad:?} accepted");
        }
    }
}
