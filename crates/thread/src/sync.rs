//! The synchronisation primitives of the two model-checked protocols, the
//! [gate](crate::gate) and the [one-shot](crate::oneshot), switched to loom's
//! model-checked twins under `cfg(loom)` (the pattern of tokio's `src/loom`). The rest
//! of the crate (the handle count, thread joins) always uses std's, through [`lock`].

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, Ordering, fence};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Off Linux the gate's fence pair is two `SeqCst` fences (see `gate.rs`).
#[cfg(all(not(loom), not(target_os = "linux")))]
pub(crate) use std::sync::atomic::fence;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Locks a std mutex, ignoring poison: nothing that holds one of this crate's locks
/// can leave the data inside half-updated (consumer code runs outside them, under
/// `catch_unwind`).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Locks one of the model-checked mutexes (the gate's, the one-shot's).
#[cfg(not(loom))]
pub(crate) use lock as model_lock;

/// Locks one of the model-checked mutexes (loom's, in a model).
#[cfg(loom)]
pub(crate) fn model_lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap()
}

/// Waits on one of the model-checked condition variables, ignoring poison as [`lock`]
/// does. (loom's `wait` returns std's `LockResult`, so one body serves both.)
pub(crate) fn model_wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard)
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
