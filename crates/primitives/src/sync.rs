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
pub(crate) use loom::thread::{ThreadId, current as current_thread};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread::{ThreadId, current as current_thread};

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
pub(crate) fn wait<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
) -> (MutexGuard<'a, T>, bool) {
    match deadline {
        None => (
            cv.wait(guard)
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
            false,
        ),
        Some(at) => {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (guard, true);
            }
            let (guard, _) = cv
                .wait_timeout(guard, left)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (guard, false)
        }
    }
}
