//! The one place that names the synchronisation types: std's normally, loom's when
//! model checking (`RUSTFLAGS="--cfg loom"`), so every primitive is checked as written.
//!
//! Also the two helpers every primitive uses: a lock that ignores poisoning (no code
//! of ours panics while holding an internal lock, so the state is always consistent)
//! and a condition-variable wait with an optional deadline.

use std::time::{Duration, Instant};

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread::ThreadId;
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread::ThreadId;

/// Locks `m`, ignoring poisoning: our critical sections never panic midway.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// When a wait of `timeout` from now ends; `None` (wait for ever) when that instant
/// is too far to represent.
pub(crate) fn deadline(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// Waits on `cv` until notified or `deadline` passes. Returns the guard and whether
/// the deadline had passed (then the caller gives up, after checking its condition
/// once more). Spurious wake-ups are possible: callers wait in a loop.
///
/// `waiters` picks the counter of threads waiting on `cv`, kept up to date here:
/// notifiers skip `notify_*` (a system call with std's futex condvar) when it is 0.
/// A notification is never wasted on a waiter that times out: every waiter checks
/// its condition again after waking, before it may give up.
pub(crate) fn wait<'a, T>(
    cv: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
    waiters: fn(&mut T) -> &mut usize,
) -> (MutexGuard<'a, T>, bool) {
    let left = match deadline {
        None => None,
        Some(at) => {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (guard, true);
            }
            Some(left)
        }
    };
    *waiters(&mut guard) += 1;
    let mut guard = match left {
        None => cv
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner()),
        Some(left) => {
            cv.wait_timeout(guard, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0
        }
    };
    *waiters(&mut guard) -= 1;
    (guard, false)
}

/// The calling thread's id, cached: `std::thread::current()` clones an `Arc`.
#[cfg(not(loom))]
pub(crate) fn current_thread_id() -> ThreadId {
    thread_local! {
        static ID: ThreadId = std::thread::current().id();
    }
    // During thread-local destruction the cache may be gone: ask std.
    ID.try_with(|id| *id)
        .unwrap_or_else(|_| std::thread::current().id())
}

/// The calling thread's id (loom's threads have their own).
#[cfg(loom)]
pub(crate) fn current_thread_id() -> ThreadId {
    loom::thread::current().id()
}
