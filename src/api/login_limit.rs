//! Failed logins slow whoever fails, not the officer whose name they use.
//!
//! A counter per (name, client address) and one per address. Past `login_free_failures`
//! failures for a pair (or `login_free_failures_per_addr` for an address, whatever the names),
//! each further try from it must wait 1 s after the last failure (from when it was known to
//! fail, not from when it began), doubling with each failure, up
//! to `login_max_delay_secs`; a try before then is turned away (429, `Retry-After`) without its
//! password being checked. What this gives:
//! - the same name from another address is not slowed at all: nobody can lock an officer out by
//!   knowing the name (the old rule: five failures locked the name for 15 minutes);
//! - other names from a failing address are slowed only once that address has failed many times
//!   (spraying one password over many names);
//! - even on the failing pair (every officer of a node on loopback shares one address) the right
//!   password goes through once the wait is over, and the wait is capped: a try turned away does
//!   not lengthen it, only a password tried and wrong does;
//! - each try counts when it starts, so tries sent all at once are held to the same pace.
//!
//! The table holds at most `login_tracked` counters; past it the oldest are forgotten (which at
//! worst gives an attacker who floods it with names its free tries again). A counter quiet for
//! 15 minutes (or twice the longest wait) is forgotten too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::ApiLimits;

/// What a counter counts.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Key {
    Pair(String, Option<IpAddr>),
    Addr(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Counter {
    failures: u32,
    last: Instant,
}

/// A login try under way: the counters it was counted in.
#[derive(Debug)]
pub struct Attempt {
    pair: Key,
    addr: Option<Key>,
}

/// The counters.
pub struct Limiter {
    free_pair: u32,
    free_addr: u32,
    max_delay: Duration,
    capacity: usize,
    forget: Duration,
    table: Mutex<HashMap<Key, Counter>>,
}

/// The key for an address: an IPv6 client is counted by its /64, which one host usually holds
/// whole; an IPv4-mapped one as IPv4.
pub fn addr_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
        v4 => v4,
    }
}

fn delay(failures: u32, free: u32, max: Duration) -> Duration {
    if failures < free {
        return Duration::ZERO;
    }
    let doublings = (failures - free).min(30);
    Duration::from_secs(1u64 << doublings).min(max)
}

impl Limiter {
    /// A limiter with the bounds of `limits`.
    pub fn new(limits: &ApiLimits) -> Limiter {
        let max_delay = Duration::from_secs(limits.login_max_delay_secs);
        Limiter {
            free_pair: limits.login_free_failures,
            free_addr: limits.login_free_failures_per_addr,
            max_delay,
            capacity: limits.login_tracked.max(2) as usize,
            forget: Duration::from_secs(15 * 60).max(2 * max_delay),
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a try of `name` from `addr` before its password is checked. `Err(wait)` when it
    /// came too soon after the last failure of its pair or address: it is not counted then.
    pub fn begin(&self, name: &str, addr: Option<IpAddr>, now: Instant) -> Result<Attempt, Duration> {
        let addr = addr.map(addr_key);
        let attempt = Attempt { pair: Key::Pair(name.to_string(), addr), addr: addr.map(Key::Addr) };
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for (key, free) in attempt.keys().zip([self.free_pair, self.free_addr]) {
            if let Some(c) = t.get(key).filter(|c| now.saturating_duration_since(c.last) < self.forget) {
                let until = c.last + delay(c.failures, free, self.max_delay);
                wait = wait.max(until.saturating_duration_since(now));
            }
        }
        if !wait.is_zero() {
            return Err(wait);
        }
        for key in attempt.keys() {
            if !t.contains_key(key) {
                self.make_room(&mut t, now);
            }
            let c = t.entry(key.clone()).or_insert(Counter { failures: 0, last: now });
            if now.saturating_duration_since(c.last) >= self.forget {
                c.failures = 0;
            }
            c.failures += 1;
            c.last = now;
        }
        Ok(attempt)
    }

    /// The password was right: the pair's failures are forgiven, and the try does not count
    /// against the address (whose other failures stand: a login of one's own does not excuse
    /// guesses at other names).
    pub fn succeeded(&self, a: &Attempt) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        t.remove(&a.pair);
        if let Some(k) = &a.addr {
            give_back(&mut t, k);
        }
    }

    /// The password was wrong: the wait runs from now, when the failure is known, not from when
    /// the try began. A slow password check (a loaded machine) must not use the wait up.
    pub fn failed(&self, a: &Attempt, now: Instant) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        for k in a.keys() {
            if let Some(c) = t.get_mut(k) {
                c.last = c.last.max(now);
            }
        }
    }

    /// No password was checked after all (an error on our side): the try does not count.
    pub fn not_tried(&self, a: &Attempt) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        for k in a.keys() {
            give_back(&mut t, k);
        }
    }

    /// Counters held (for tests and the bound).
    pub fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Makes room for one more counter: drops the forgotten ones, then the oldest tenth.
    fn make_room(&self, t: &mut HashMap<Key, Counter>, now: Instant) {
        if t.len() < self.capacity {
            return;
        }
        t.retain(|_, c| now.saturating_duration_since(c.last) < self.forget);
        if t.len() < self.capacity {
            return;
        }
        let mut ages: Vec<Instant> = t.values().map(|c| c.last).collect();
        let n = ages.len() / 10 + 1;
        let (_, cut, _) = ages.select_nth_unstable(n - 1);
        let cut = *cut;
        let mut dropped = 0;
        t.retain(|_, c| {
            let keep = c.last > cut || dropped >= n;
            if !keep {
                dropped += 1;
            }
            keep
        });
    }
}

fn give_back(t: &mut HashMap<Key, Counter>, k: &Key) {
    if let Some(c) = t.get_mut(k) {
        c.failures = c.failures.saturating_sub(1);
        if c.failures == 0 {
            t.remove(k);
        }
    }
}

impl Attempt {
    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.pair).chain(self.addr.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(free: u32, free_addr: u32, max: u64, tracked: u32) -> Limiter {
        Limiter::new(&ApiLimits {
            login_free_failures: free,
            login_free_failures_per_addr: free_addr,
            login_max_delay_secs: max,
            login_tracked: tracked,
            ..ApiLimits::default()
        })
    }

    const X: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const Y: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));
    const S: Duration = Duration::from_secs(1);

    #[test]
    fn the_wait_doubles_past_the_free_failures_and_is_capped() {
        let l = limiter(3, 100, 8, 100);
        let mut now = Instant::now();
        for _ in 0..3 {
            l.begin("lena", X, now).unwrap();
        }
        // The fourth try must wait 1 s, then 2, 4, 8, and never more than 8.
        for want in [1, 2, 4, 8, 8, 8] {
            assert_eq!(l.begin("lena", X, now).unwrap_err(), want * S);
            // A try turned away does not lengthen the wait.
            now += want * S - Duration::from_millis(1);
            assert_eq!(l.begin("lena", X, now).unwrap_err(), Duration::from_millis(1));
            now += Duration::from_millis(1);
            l.begin("lena", X, now).unwrap();
        }
    }

    #[test]
    fn the_wait_runs_from_when_the_failure_is_known() {
        let l = limiter(1, 100, 60, 100);
        let now = Instant::now();
        let a = l.begin("lena", X, now).unwrap();
        // The check took 3 s: the wait of 1 s is not over at its end.
        l.failed(&a, now + 3 * S);
        assert_eq!(l.begin("lena", X, now + 3 * S).unwrap_err(), S);
        assert_eq!(l.begin("lena", X, now + 3 * S + S / 2).unwrap_err(), S / 2);
        assert!(l.begin("lena", X, now + 4 * S).is_ok());
    }

    #[test]
    fn another_address_and_another_name_are_not_slowed_and_success_forgives_the_pair() {
        let l = limiter(2, 100, 60, 100);
        let now = Instant::now();
        for _ in 0..2 {
            l.begin("lena", X, now).unwrap();
        }
        assert!(l.begin("lena", X, now).is_err());
        // The officer herself, from elsewhere, and another officer from X.
        let a = l.begin("lena", Y, now).unwrap();
        l.succeeded(&a);
        l.begin("omar", X, now).unwrap();
        // The failing pair gets through after its wait, and its success clears it.
        let a = l.begin("lena", X, now + S).unwrap();
        l.succeeded(&a);
        for _ in 0..2 {
            l.begin("lena", X, now + S).unwrap();
        }
    }

    #[test]
    fn an_address_spraying_names_is_slowed_for_every_name_from_it_only() {
        let l = limiter(5, 4, 60, 100);
        let now = Instant::now();
        for i in 0..4 {
            l.begin(&format!("name{i}"), X, now).unwrap();
        }
        assert_eq!(l.begin("name9", X, now).unwrap_err(), S);
        assert!(l.begin("name9", Y, now).is_ok());
        // An error on our side gives the try back.
        let a = l.begin("name8", Y, now).unwrap();
        l.not_tried(&a);
        // Left: four pairs and the address at X, name9 and the address at Y.
        assert_eq!(l.len(), 7);
    }

    #[test]
    fn the_table_is_bounded_and_counters_are_forgotten_after_a_quiet_while() {
        let l = limiter(1, 1_000_000, 60, 50);
        let now = Instant::now();
        for i in 0..1000 {
            let _ = l.begin(&format!("n{i}"), X, now + Duration::from_millis(i));
            assert!(l.len() <= 50, "{} counters after {i}", l.len());
        }
        let l = limiter(1, 100, 60, 100);
        l.begin("lena", X, now).unwrap();
        assert!(l.begin("lena", X, now).is_err());
        assert!(l.begin("lena", X, now + Duration::from_secs(15 * 60)).is_ok());
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(addr_key(a), addr_key(b));
        assert_ne!(addr_key(a), addr_key("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(addr_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
