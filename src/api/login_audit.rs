//! Accounts and logins in the node's signed audit log.
//!
//! Account changes and successful logins are written as they happen, through the engine, like
//! its own events. Failed logins are counted per (name, address) and written once per
//! `limits.api.login_audit_secs` with their counts (and logged likewise): a flood of wrong
//! passwords, or of tries turned away, then writes a bounded number of entries, not one each.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use super::{AppError, AppState};
use crate::audit::Event;

/// Writes `event` to the audit log; returns once it is durable.
pub async fn record(s: &AppState, event: Event) -> Result<(), AppError> {
    s.engine
        .write(move |c| {
            c.audit(event);
            Ok(())
        })
        .await
        .map_err(AppError::from)
}

#[derive(Default, Clone, Copy)]
struct Counts {
    failed: u64,
    refused: u64,
}

/// A name tried (`None`: past the cap, counted together) and the address it came from.
type TallyKey = (Option<String>, Option<IpAddr>);

/// Failed logins not yet audited.
pub struct Tally {
    capacity: usize,
    counts: Mutex<HashMap<TallyKey, Counts>>,
}

impl Tally {
    /// A tally keeping at most `capacity` names apart; the rest are counted together per address.
    pub fn new(capacity: u32) -> Tally {
        Tally { capacity: capacity.max(1) as usize, counts: Mutex::new(HashMap::new()) }
    }

    fn add(&self, name: &str, addr: Option<IpAddr>, f: impl FnOnce(&mut Counts)) {
        let mut m = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = (Some(name.to_string()), addr);
        if !m.contains_key(&key) && m.len() >= self.capacity {
            key.0 = None;
        }
        f(m.entry(key).or_default());
    }

    /// A password tried and wrong.
    pub fn failed(&self, name: &str, addr: Option<IpAddr>) {
        self.add(name, addr, |c| c.failed += 1);
    }

    /// A try turned away before its wait was over.
    pub fn refused(&self, name: &str, addr: Option<IpAddr>) {
        self.add(name, addr, |c| c.refused += 1);
    }

    /// Everything counted so far, as audit events; the tally starts again from nothing.
    pub fn take(&self) -> Vec<Event> {
        let m = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|e| e.into_inner()));
        let mut out: Vec<Event> = m
            .into_iter()
            .map(|((name, addr), c)| Event::LoginsFailed {
                name,
                addr: addr.map(|a| a.to_string()),
                failed: c.failed,
                refused: c.refused,
            })
            .collect();
        out.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        out
    }
}

/// Writes the tally to the audit log (and the node's log) every `every`, until the node stops;
/// then once more.
pub async fn run(s: AppState, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = tick.tick() => flush(&s).await,
            _ = s.stopping.cancelled() => break,
        }
    }
}

/// Writes what the tally holds.
pub async fn flush(s: &AppState) {
    let events = s.logins.tally.take();
    if events.is_empty() {
        return;
    }
    for e in &events {
        if let Event::LoginsFailed { name, addr, failed, refused } = e {
            // Debug formatting: a name is the client's text, and must not forge a log line.
            tracing::warn!(name = ?name, addr = ?addr, failed, refused, "failed logins");
        }
    }
    let n = events.len();
    let written = s
        .engine
        .write(move |c| {
            events.into_iter().for_each(|ev| c.audit(ev));
            Ok(())
        })
        .await;
    if let Err(e) = written {
        tracing::error!(entries = n, error = %e, "failed logins could not be written to the audit log");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_per_name_and_address_and_past_the_cap_together() {
        let t = Tally::new(2);
        let x: Option<IpAddr> = Some("10.0.0.1".parse().unwrap());
        for _ in 0..1000 {
            t.failed("lena", x);
            t.refused("lena", x);
        }
        t.failed("omar", x);
        t.failed("third", x);
        t.refused("fourth", None);
        let events = t.take();
        assert_eq!(events.len(), 4, "{events:?}");
        let lena = Event::LoginsFailed {
            name: Some("lena".into()),
            addr: Some("10.0.0.1".into()),
            failed: 1000,
            refused: 1000,
        };
        assert!(events.contains(&lena), "{events:?}");
        assert!(events.contains(&Event::LoginsFailed {
            name: None,
            addr: Some("10.0.0.1".into()),
            failed: 1,
            refused: 0
        }));
        assert!(events.contains(&Event::LoginsFailed { name: None, addr: None, failed: 0, refused: 1 }));
        assert!(t.take().is_empty());
    }
}
