//! Giving freed memory back to the system while the node serves.
//!
//! glibc keeps what a thread frees in its arena for the next allocation, and returns it to the
//! system only from the top of the heap. A node's work frees large blocks in the middle: a list
//! of 10,000 meetings answered (6 MiB of JSON), a calendar written, a peer's batch taken in, the
//! search index's writer let go. Each stays in the process's RSS after the request, so the RSS
//! climbed with the hours served, not with the workspace (node A of the years workload: 113 MiB
//! at start-up, 187 MiB after the bench's reads, with a heap of 70 MiB).
//!
//! Once a second, when the process holds more than [`TRIM_ABOVE`] of anonymous memory beyond
//! what its allocations use (and beyond what it held after the last trim: thread stacks and the
//! like are not the allocator's to give back), `malloc_trim(0)` hands the free pages back
//! (`madvise`), wherever they are in the heap; then it waits at least [`AT_MOST_EVERY`] before the
//! next. Elsewhere than glibc (musl, macOS) this does nothing: their allocators return memory
//! themselves. `LIAISON_MEMTRIM_MIB` sets the bound ([`ENV`]; `0` turns it off).

use std::time::Duration;

/// Anonymous memory held beyond what allocations use, above which the arenas are trimmed.
pub const TRIM_ABOVE: usize = 16 << 20;
/// How often it is looked at.
const EVERY: Duration = Duration::from_secs(1);
/// The least time between two trims. A trim holds each arena's lock while it gives pages back,
/// and the pages given back are faulted in again by the next allocations. In the years bench,
/// under the keystrokes while lists were served, trims as often as every second or two seemed to
/// cost the keystroke's tail; 10 s apart they saved nothing on node A's peak; 3 s apart they
/// kept A at 178 MiB (185 without) with the keystroke no slower (README, "A workspace of years").
const AT_MOST_EVERY: Duration = Duration::from_secs(3);

/// The environment variable that sets the bound in MiB instead of [`TRIM_ABOVE`]; `0` turns
/// trimming off (to measure the node without it).
pub const ENV: &str = "LIAISON_MEMTRIM_MIB";

/// Starts trimming, once per process (a test may start several nodes in one), for the life of
/// the process. Does nothing where the allocator is not glibc's.
pub fn start() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static STARTED: std::sync::Once = std::sync::Once::new();
        STARTED.call_once(|| {
            let above = match std::env::var(ENV).map(|v| v.trim().parse::<usize>()) {
                Err(_) => TRIM_ABOVE,
                Ok(Ok(0)) => return,
                Ok(Ok(mib)) => mib.saturating_mul(1 << 20),
                Ok(Err(_)) => {
                    tracing::warn!(var = ENV, "not a whole number of MiB; trimming above the default 16 MiB");
                    TRIM_ABOVE
                }
            };
            let spawned = std::thread::Builder::new().name("liaison-memtrim".into()).spawn(move || {
                let mut t = Trimmer::default();
                loop {
                    std::thread::sleep(EVERY);
                    let t0 = std::time::Instant::now();
                    if let Some(given) = t.tick(above) {
                        tracing::debug!(mib = given >> 20, ms = t0.elapsed().as_secs_f64() * 1e3, "freed memory given back");
                        std::thread::sleep(AT_MOST_EVERY.saturating_sub(EVERY));
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start the thread that returns freed memory; the node runs without it");
            }
        });
    }
}

/// Anonymous memory resident beyond what the allocator has handed out: freed blocks it keeps,
/// and whatever else is anonymous (stacks, other mappings). `None` if `/proc` does not read.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn held_beyond_use() -> Option<usize> {
    // statm: size, resident, shared (file-backed), ... in pages.
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut f = statm.split_whitespace().skip(1).map(|n| n.parse::<usize>().ok());
    let (resident, shared) = (f.next()??, f.next()??);
    // SAFETY: sysconf only reads a constant of the system.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).ok()?;
    // SAFETY: mallinfo2 only reads the allocator's statistics, under its own locks.
    let m = unsafe { libc::mallinfo2() };
    Some(resident.saturating_sub(shared).saturating_mul(page).saturating_sub(m.uordblks + m.hblkhd))
}

/// Trims when what is held beyond use has grown by more than a bound since the last trim.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[derive(Debug, Default)]
pub struct Trimmer {
    /// What was held beyond use right after the last trim (or less, since).
    floor: usize,
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
impl Trimmer {
    /// Trims if more than `above` bytes are held beyond use over the floor; returns how many
    /// bytes the trim gave back, if it trimmed.
    pub fn tick(&mut self, above: usize) -> Option<usize> {
        let held = held_beyond_use()?;
        self.floor = self.floor.min(held);
        if held <= self.floor.saturating_add(above) {
            return None;
        }
        // SAFETY: malloc_trim takes the arenas' locks itself; 0 keeps no padding at the top.
        unsafe { libc::malloc_trim(0) };
        self.floor = held_beyond_use().unwrap_or(held).min(held);
        Some(held.saturating_sub(self.floor))
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    fn rss_anon_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssAnon:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn freed_blocks_in_the_middle_of_the_heap_go_back_to_the_system_once() {
        let mut t = Trimmer::default();
        t.tick(0);
        // Below glibc's mmap threshold, so they come from the heap; a block kept after them
        // holds the heap's top, so that only a trim, not the heap shrinking, can give them back.
        let blocks: Vec<Vec<u8>> = (0..2048).map(|i| vec![i as u8; 64 << 10]).collect();
        let top = vec![1u8; 64 << 10];
        assert_eq!(t.tick(100 << 20), None, "in use, not held beyond use");
        let in_use = rss_anon_kib();
        drop(blocks);
        assert!(held_beyond_use().unwrap() > 100 << 20, "the freed blocks stay resident");
        let given = t.tick(100 << 20).expect("trimmed");
        assert!(given > 100 << 20, "gave back {given} bytes");
        let trimmed = rss_anon_kib();
        assert!(trimmed + 100 * 1024 < in_use, "RSS {in_use} KiB before the trim, {trimmed} KiB after");
        assert_eq!(t.tick(16 << 20), None, "nothing left to give back: no trim again");
        assert_eq!(top[0], 1);
    }
}
