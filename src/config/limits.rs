//! Every bound the node enforces on what peers and clients send, in one place: `[limits.peer]`
//! and `[limits.api]` in node.toml, each key with its default here.
//!
//! A bound is checked before the work it bounds (before decompressing past it, before writing a
//! byte to the store, before reading more of a request). A peer past a bound loses its session and
//! the refusal is audited; a client gets a 4xx. The README's security section lists these with
//! their defaults; keep the two in step.

use serde::Deserialize;

const MIB: u64 = 1024 * 1024;

/// Bounds on what one pinned peer may make this node hold or do.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PeerLimits {
    /// Largest document a peer may send or grow, in bytes once decompressed (a snapshot, or a
    /// document with the changes applied to it). A 100,000-change draft is about 10 MiB
    /// loaded; automerge takes about four times this in memory while it loads one.
    pub doc_bytes: u64,
    /// Most changes one document from a peer may hold.
    pub doc_changes: u64,
    /// Most workspace documents one peer may create here.
    pub docs: u64,
    /// Most bytes of workspace documents one peer may add here, counted decompressed (what
    /// they take loaded; the store holds them compressed): the documents it creates and the
    /// changes it applies.
    pub bytes: u64,
    /// Most item offers from one peer in flight at once (offered, not yet complete).
    pub pending_offers: u32,
    /// Largest item, in 1 MiB chunks, accepted from a peer (checked against the signed
    /// envelope before any chunk is written).
    pub item_chunks: u32,
    /// Refused requests from one peer are audited as one entry per this many seconds, with a
    /// count, instead of one entry each.
    pub refusal_audit_secs: u64,
    /// Most operations in one document from a peer, and rows in any one of its columns
    /// (counted from the run-length encoding before automerge expands it).
    pub doc_ops: u64,
    /// Most decompressed bytes of documents and changes in one batch from a peer, all its
    /// snapshots and sync messages together (they are held in memory together until the batch
    /// commits). At least `doc_bytes` plus what liaison itself puts in a batch besides one
    /// document ([`SENT_BATCH_DOC_BYTES`]).
    pub batch_doc_bytes: u64,
    /// Most frames in one batch from a peer; a batch with more is refused before any of it is
    /// looked at. At least what liaison itself sends in a batch ([`SENT_BATCH_FRAMES`]).
    pub batch_frames: u32,
}

/// Most frames liaison puts in one batch it sends (the rest go in the next), so that any node's
/// `batch_frames` takes any honest batch.
pub const SENT_BATCH_FRAMES: u32 = 8192;
/// Decompressed bytes of documents past which liaison starts a new batch (one document may take
/// it past this), so that `doc_bytes` plus this fits any honest batch.
pub const SENT_BATCH_DOC_BYTES: u64 = 16 * MIB;

impl Default for PeerLimits {
    fn default() -> Self {
        PeerLimits {
            doc_bytes: 64 * MIB,
            doc_changes: 2_000_000,
            docs: 200_000,
            bytes: 8 * 1024 * MIB,
            pending_offers: 8,
            item_chunks: 16 * 1024,
            refusal_audit_secs: 60,
            doc_ops: 16_000_000,
            batch_doc_bytes: 128 * MIB,
            batch_frames: 32 * 1024,
        }
    }
}

/// Bounds on what an API client may send, and on how failed logins are slowed.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiLimits {
    /// Seconds a client has to send a request's head (line and headers) after connecting or
    /// after its previous response; a connection idle that long is closed.
    pub header_timeout_secs: u64,
    /// Seconds a response may wait for the client to read any of it before the connection is
    /// closed.
    pub send_timeout_secs: u64,
    /// Most connections open at once; past it new connections wait to be accepted.
    pub max_connections: u32,
    /// Longest login (account) name, in characters.
    pub name_chars: u32,
    /// Longest password, in bytes.
    pub password_bytes: u32,
    /// Failed logins for one name from one address before each further try must wait (1 s,
    /// doubling with each failure, up to `login_max_delay_secs`).
    pub login_free_failures: u32,
    /// Failed logins from one address, whatever the names, before each further try from it must
    /// wait likewise.
    pub login_free_failures_per_addr: u32,
    /// Longest wait between two login tries.
    pub login_max_delay_secs: u64,
    /// Most failed-login counters kept (one per name and address, one per address); past it
    /// the oldest are forgotten.
    pub login_tracked: u32,
    /// Failed logins are audited (and logged) once per this many seconds for each name and
    /// address, with a count, instead of one entry each.
    pub login_audit_secs: u64,
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            header_timeout_secs: 10,
            send_timeout_secs: 30,
            max_connections: 512,
            name_chars: 64,
            password_bytes: 1024,
            login_free_failures: 5,
            login_free_failures_per_addr: 20,
            login_max_delay_secs: 60,
            login_tracked: 10_000,
            login_audit_secs: 60,
        }
    }
}

/// `[limits]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// `[limits.peer]`.
    pub peer: PeerLimits,
    /// `[limits.api]`.
    pub api: ApiLimits,
}

impl Limits {
    /// The first key whose value makes no sense, with what would be right.
    pub fn check(&self) -> Result<(), (String, String)> {
        let positive = [
            ("limits.peer.doc_bytes", self.peer.doc_bytes),
            ("limits.peer.doc_changes", self.peer.doc_changes),
            ("limits.peer.docs", self.peer.docs),
            ("limits.peer.bytes", self.peer.bytes),
            ("limits.peer.pending_offers", u64::from(self.peer.pending_offers)),
            ("limits.peer.item_chunks", u64::from(self.peer.item_chunks)),
            ("limits.peer.refusal_audit_secs", self.peer.refusal_audit_secs),
            ("limits.peer.doc_ops", self.peer.doc_ops),
            ("limits.api.header_timeout_secs", self.api.header_timeout_secs),
            ("limits.api.send_timeout_secs", self.api.send_timeout_secs),
            ("limits.api.max_connections", u64::from(self.api.max_connections)),
            ("limits.api.name_chars", u64::from(self.api.name_chars)),
            ("limits.api.password_bytes", u64::from(self.api.password_bytes)),
            ("limits.api.login_free_failures", u64::from(self.api.login_free_failures)),
            ("limits.api.login_free_failures_per_addr", u64::from(self.api.login_free_failures_per_addr)),
            ("limits.api.login_max_delay_secs", self.api.login_max_delay_secs),
            ("limits.api.login_tracked", u64::from(self.api.login_tracked)),
            ("limits.api.login_audit_secs", self.api.login_audit_secs),
        ];
        for (key, v) in positive {
            if v == 0 {
                return Err((key.into(), "must be at least 1 (leave the key out for the default)".into()));
            }
        }
        if self.peer.doc_bytes < MIB {
            return Err(("limits.peer.doc_bytes".into(), "must be at least 1048576 (1 MiB)".into()));
        }
        if self.peer.batch_doc_bytes < self.peer.doc_bytes.saturating_add(SENT_BATCH_DOC_BYTES) {
            return Err((
                "limits.peer.batch_doc_bytes".into(),
                format!(
                    "must be at least limits.peer.doc_bytes + {SENT_BATCH_DOC_BYTES} (what liaison sends in a batch besides one document)"
                ),
            ));
        }
        if self.peer.batch_frames < SENT_BATCH_FRAMES {
            return Err((
                "limits.peer.batch_frames".into(),
                format!("must be at least {SENT_BATCH_FRAMES} (what liaison sends in one batch)"),
            ));
        }
        if self.api.password_bytes < 12 {
            return Err(("limits.api.password_bytes".into(), "must allow at least 12 bytes".into()));
        }
        // A wait longer than this would be a lockout by another name.
        if self.api.login_max_delay_secs > 3600 {
            return Err(("limits.api.login_max_delay_secs".into(), "must be at most 3600 (an hour)".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::NodeConfig;
    use std::path::Path;

    fn parse(extra: &str) -> Result<NodeConfig, String> {
        let text = format!("[party]\nid = \"cica\"\nname = \"CICA\"\n{extra}");
        NodeConfig::parse(Path::new("/d"), Path::new("/d/node.toml"), &text).map_err(|e| e.to_string())
    }

    #[test]
    fn a_bound_left_out_takes_its_default_and_a_zero_names_its_key() {
        let c = parse("[limits.peer]\ndocs = 10\n").unwrap();
        assert_eq!(c.limits.peer.docs, 10);
        assert_eq!(c.limits.peer.doc_changes, super::PeerLimits::default().doc_changes);
        let e = parse("[limits.api]\nmax_connections = 0\n").unwrap_err();
        assert!(e.contains("limits.api.max_connections") && e.contains("at least 1"), "{e}");
        let e = parse("[limits.api]\nlogin_max_delay_secs = 86400\n").unwrap_err();
        assert!(e.contains("limits.api.login_max_delay_secs") && e.contains("at most 3600"), "{e}");
        let e = parse("[limits.peer]\nnonsense = 1\n").unwrap_err();
        assert!(e.contains("nonsense"), "{e}");
        // A batch bound that an honest batch with one large document would not fit.
        let e = parse("[limits.peer]\ndoc_bytes = 120000000\n").unwrap_err();
        assert!(e.contains("limits.peer.batch_doc_bytes"), "{e}");
        let e = parse("[limits.peer]\nbatch_frames = 100\n").unwrap_err();
        assert!(e.contains("limits.peer.batch_frames") && e.contains("8192"), "{e}");
    }
}
