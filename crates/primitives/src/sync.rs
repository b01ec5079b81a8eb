//! The one place that names the synchronisation types: parking_lot's `Mutex` and
//! `Condvar` normally, loom's (std's API) when model checking
//! (`RUSTFLAGS="--cfg loom"`), so every primitive is checked as written.
//!
//! The primitives touch them only through the helpers here: [`lock`], [`wait`]
//! (a condition-variable wait with an optional deadline that keeps a count of
//! waiters), [`wait_on`] (the same wait, for a caller that counts its waiters
//! itself) and [`current_thread_id`]. The semaphore's count is an atomic, loom's
//! in a model.

use std::time::{Duration, Instant};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread::ThreadId;
#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::thread::ThreadId;

/// Locks `m`. (parking_lot does not poison; under loom, poisoning is ignored: no
/// code of ours panics while holding an internal lock, so the state is consistent.)
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    #[cfg(loom)]
    return m.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    #[cfg(not(loom))]
    m.lock()
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
/// `waiters` picks the counter of threads waiting on `cv`, kept up to date here, so
/// notifiers can skip notifying when nobody waits. A notification is never wasted on
/// a waiter that times out: every waiter checks its condition again after waking,
/// before it may give up.
pub(crate) fn wait<'a, T>(
    cv: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
    waiters: fn(&mut T) -> &mut usize,
) -> (MutexGuard<'a, T>, bool) {
    if deadline.is_some_and(|at| at <= Instant::now()) {
        return (guard, true);
    }
    *waiters(&mut guard) += 1;
    let mut guard = wait_on(cv, guard, deadline);
    *waiters(&mut guard) -= 1;
    (guard, false)
}

/// Waits on `cv` until notified or `deadline` passes (spurious wake-ups possible).
#[cfg(not(loom))]
pub(crate) fn wait_on<'a, T>(
    cv: &Condvar,
    mut guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
) -> MutexGuard<'a, T> {
    match deadline {
        None => cv.wait(&mut guard),
        Some(at) => drop(cv.wait_until(&mut guard, at)),
    }
    guard
}

/// Waits on `cv` (loom does not model time: a deadline is ignored).
#[cfg(loom)]
pub(crate) fn wait_on<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
) -> MutexGuard<'a, T> {
    let waited = match deadline {
        None => cv.wait(guard),
        Some(at) => cv
            .wait_timeout(guard, at.saturating_duration_since(Instant::now()))
            .map(|(guard, _)| guard)
            .map_err(|p| std::sync::PoisonError::new(p.into_inner().0)),
    };
    waited.unwrap_or_else(|poisoned| poisoned.into_inner())
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
