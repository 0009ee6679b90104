//! How the node's threads ask the kernel's scheduler for CPU.
//!
//! The engine and the network threads do short bursts (a keystroke's change, a sync message)
//! that other nodes and officers wait on; the API's threads can keep both cores busy serving
//! lists. Running at a lower priority (nice 5, see `cli::serve_runtime`) gives the API's threads
//! less CPU over time, but not a shorter wait: under Linux's EEVDF scheduler a thread that wakes
//! still waits for the running thread's time slice (about 3 ms on 2 cores) to end, at each of a
//! keystroke's hand-offs (engine, network, the other node's network and engine). Since Linux
//! 6.12 a thread may ask for a shorter slice (`sched_setattr`'s `sched_runtime`); a waking
//! thread with a shorter slice than the running one preempts it. It needs no privilege, and it
//! does not give the thread more CPU, only earlier turns.

/// The slice the engine's and the network's threads ask for: the kernel's least (0.1 ms).
const SHORT_SLICE_NS: u64 = 100_000;

/// Asks the scheduler to let the calling thread run soon after it wakes (a short slice), at
/// the nice value it has, if it runs under the default policy. On a kernel before 6.12 the request is accepted and has no effect;
/// where it is refused (a sandbox's syscall filter), the thread runs as before, the refusal is
/// logged at debug level, and this answers false.
pub fn prefer_short_waits(thread: &str) -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sched_getscheduler, getpriority and gettid read the calling thread's own
        // values, and errno is the calling thread's; sched_setattr is
        // given a fully initialised `sched_attr` of the size it is told, for the calling thread
        // (pid 0), and changes nothing else.
        let result = unsafe {
            // Only a thread under the default policy: one a sysadmin put under SCHED_BATCH or
            // SCHED_IDLE (systemd's CPUSchedulingPolicy=) stays there.
            if libc::sched_getscheduler(0) != libc::SCHED_OTHER {
                return false;
            }
            let tid = libc::gettid() as libc::id_t;
            // getpriority answers -1 both for nice -1 and for an error: errno tells them apart.
            *libc::__errno_location() = 0;
            let nice = libc::getpriority(libc::PRIO_PROCESS, tid);
            if nice == -1 && *libc::__errno_location() != 0 {
                return false;
            }
            let attr = libc::sched_attr {
                size: std::mem::size_of::<libc::sched_attr>() as u32,
                sched_policy: libc::SCHED_OTHER as u32,
                sched_flags: 0,
                sched_nice: nice,
                sched_priority: 0,
                sched_runtime: SHORT_SLICE_NS,
                sched_deadline: 0,
                sched_period: 0,
            };
            libc::syscall(libc::SYS_sched_setattr, 0, &attr as *const libc::sched_attr, 0u32)
        };
        if result != 0 {
            tracing::debug!(thread, error = %std::io::Error::last_os_error(), "a short scheduler slice was refused");
        }
        result == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = thread;
        false
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The calling thread's EEVDF slice as `/proc` shows it (`se.slice`), where the kernel has
    /// one; `None` on kernels before EEVDF.
    fn slice_ns() -> Option<u64> {
        // SAFETY: gettid reads the calling thread's id.
        let tid = unsafe { libc::gettid() };
        let sched = std::fs::read_to_string(format!("/proc/self/task/{tid}/sched")).ok()?;
        // Shown in nanoseconds.
        sched.lines().find_map(|l| l.strip_prefix("se.slice")?.split(':').nth(1)?.trim().parse::<u64>().ok())
    }

    /// Whether this kernel takes a thread's own slice (Linux 6.12 and later).
    fn custom_slices() -> bool {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut v = release.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
        (v.next().unwrap_or(0), v.next().unwrap_or(0)) >= (6, 12)
    }

    #[test]
    fn the_thread_asks_for_the_short_slice_and_keeps_its_nice_value() {
        std::thread::spawn(|| {
            // SAFETY: sets and reads the calling thread's own nice value.
            let tid = unsafe { libc::gettid() } as libc::id_t;
            unsafe { libc::setpriority(libc::PRIO_PROCESS, tid, 3) };
            let before = slice_ns();
            let accepted = super::prefer_short_waits("test");
            // SAFETY: as above.
            assert_eq!(unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) }, 3, "the nice value is kept");
            let after = slice_ns();
            if accepted && custom_slices() {
                assert_eq!(after, Some(super::SHORT_SLICE_NS), "the slice (was {before:?} ns)");
            } else {
                // An older kernel, or a sandbox that refused the call: the thread's own slice.
                assert_eq!(after, before, "a slice not granted changed");
            }
        })
        .join()
        .unwrap();
    }
}
