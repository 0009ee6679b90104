//! The node's Prometheus metrics: one registry and its typed handles, made once at start and
//! handed to the engine and the API; `GET /metrics` encodes them (`prometheus-client`, in the
//! OpenMetrics text format Prometheus reads).
//!
//! Two kinds:
//! - events, counted where they happen with a one-line call on a handle: the engine's round
//!   time, refused peer batches, failed logins, the audit log's length;
//! - state the engine already keeps for `liaison status` (peers connected, documents behind,
//!   last sync, traffic, store size): taken from one status snapshot per scrape, so that the
//!   metrics and `status` never disagree. Per-peer series exist only for pinned peers, so their
//!   number is bounded by the pins.
//!
//! Every name starts `liaison_`; the README lists them.

use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::engine::NodeStatus;

/// The registry and the handles the engine and the API count with.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// The latest status, read by the collector as it encodes.
    snapshot: Arc<Mutex<Option<NodeStatus>>>,
    /// Held through a scrape, so that two at once never mix their snapshots.
    scrape: Mutex<()>,
    /// How long the engine's rounds take to commit (one fsync each).
    pub round_seconds: Histogram,
    /// Failed logins (wrong name or password) on the API.
    pub login_failures: Counter,
    /// Peer batches refused whole (the peer's session is dropped).
    pub batches_refused: Counter,
    /// Of those, the ones past a `[limits.peer]` bound.
    pub batches_over_bound: Counter,
    /// Entries in the audit log.
    pub audit_entries: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("liaison");
        // 0.5 ms to about 8 s: a round is a commit, which is an fsync.
        let round_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 15));
        registry.register_with_unit(
            "engine_round",
            "Time the engine's rounds take to commit",
            Unit::Seconds,
            round_seconds.clone(),
        );
        let login_failures = Counter::default();
        registry.register("login_failures", "Failed logins on the API", login_failures.clone());
        let batches_refused = Counter::default();
        registry.register(
            "peer_batches_refused",
            "Peer batches refused whole (nothing of them kept, the session dropped)",
            batches_refused.clone(),
        );
        let batches_over_bound = Counter::default();
        registry.register(
            "peer_batches_over_bound",
            "Peer batches refused for being past a [limits.peer] bound",
            batches_over_bound.clone(),
        );
        let audit_entries = Gauge::default();
        registry.register("audit_entries", "Entries in the audit log", audit_entries.clone());
        let build = Family::<[(&'static str, &'static str); 1], Gauge>::default();
        build.get_or_create(&[("version", env!("CARGO_PKG_VERSION"))]).set(1);
        registry.register("build_info", "The liaison version running (value 1)", build);
        let snapshot = Arc::new(Mutex::new(None));
        registry.register_collector(Box::new(StatusCollector { snapshot: snapshot.clone() }));
        Metrics {
            registry,
            snapshot,
            scrape: Mutex::new(()),
            round_seconds,
            login_failures,
            batches_refused,
            batches_over_bound,
            audit_entries,
        }
    }

    /// The metrics as Prometheus text, with the state as of `status`.
    pub fn encode(&self, status: NodeStatus) -> Result<String, std::fmt::Error> {
        let _one = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        *self.snapshot.lock().unwrap_or_else(|e| e.into_inner()) = Some(status);
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// The state-derived metrics, from the last status snapshot.
#[derive(Debug)]
struct StatusCollector {
    snapshot: Arc<Mutex<Option<NodeStatus>>>,
}

impl Collector for StatusCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snap = self.snapshot.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = snap.as_ref() else { return Ok(()) };
        let gauge = |n: u64| ConstGauge::new(i64::try_from(n).unwrap_or(i64::MAX));
        let connected = s.peers.iter().filter(|p| p.connected).count() as u64;
        let g = gauge(connected);
        g.encode(enc.encode_descriptor("peers_connected", "Pinned peers connected now", None, g.metric_type())?)?;
        let g = gauge(s.store_bytes);
        g.encode(enc.encode_descriptor("store", "Size of the store file", Some(&Unit::Bytes), g.metric_type())?)?;
        let g = gauge(s.documents_total as u64);
        g.encode(enc.encode_descriptor("documents", "Workspace documents held", None, g.metric_type())?)?;

        {
            let mut m = enc.encode_descriptor(
                "peer_documents_behind",
                "Documents not yet equal on both sides with a pinned peer, as of the last exchange",
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for p in &s.peers {
                let labels = [("peer", p.peer_id.as_str()), ("party", p.party_id.as_str())];
                gauge(p.behind as u64).encode(m.encode_family(&labels)?)?;
            }
        }

        let now = chrono::Utc::now();
        {
            let mut m = enc.encode_descriptor(
                "peer_last_sync_age",
                "Time since the last completed exchange with a pinned peer (absent if never)",
                Some(&Unit::Seconds),
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for p in &s.peers {
                let Some(at) = p.last_sync.as_deref().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()) else {
                    continue;
                };
                let age = (now - at.with_timezone(&chrono::Utc)).num_milliseconds().max(0) as f64 / 1000.0;
                let labels = [("peer", p.peer_id.as_str()), ("party", p.party_id.as_str())];
                ConstGauge::new(age).encode(m.encode_family(&labels)?)?;
            }
        }

        let mut m = enc.encode_descriptor(
            "peer_traffic",
            "Sync payload bytes exchanged with a pinned peer since the node started",
            Some(&Unit::Bytes),
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for p in &s.peers {
            for (direction, n) in [("in", p.traffic.bytes_received), ("out", p.traffic.bytes_sent)] {
                let labels = [("peer", p.peer_id.as_str()), ("party", p.party_id.as_str()), ("direction", direction)];
                ConstCounter::new(n).encode(m.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_metric() {
        let m = Metrics::new();
        m.round_seconds.observe(0.002);
        m.login_failures.inc();
        let status = NodeStatus {
            party_id: "cica".into(),
            party_name: "CICA".into(),
            peer_id: "me".into(),
            documents: Default::default(),
            documents_total: 3,
            store_bytes: 4096,
            peers: vec![],
        };
        let text = m.encode(status).unwrap();
        for name in [
            "liaison_engine_round_seconds_count 1",
            "liaison_login_failures_total 1",
            "liaison_store_bytes 4096",
            "liaison_documents 3",
            "liaison_peers_connected 0",
            "liaison_build_info{version=",
            "liaison_audit_entries 0",
            "liaison_peer_batches_refused_total 0",
        ] {
            assert!(text.contains(name), "{name} missing in\n{text}");
        }
    }
}
