//! The synchronisation primitives of the [gate](crate::gate), switched to loom's
//! model-checked twins under `cfg(loom)` (the pattern of tokio's `src/loom`). The rest
//! of the crate (condition variables, thread joins) always uses std's, through [`lock`].

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU8, Ordering, fence};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Mutex};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU8, Ordering, fence};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Mutex};

/// Locks a std mutex, ignoring poison: nothing that holds one of this crate's locks
/// can leave the data inside half-updated (consumer code runs outside them, under
/// `catch_unwind`).
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Locks one of the gate's mutexes.
#[cfg(not(loom))]
pub(crate) use lock as gate_lock;

/// Locks one of the gate's mutexes (loom's, in a model).
#[cfg(loom)]
pub(crate) fn gate_lock<T>(m: &Mutex<T>) -> loom::sync::MutexGuard<'_, T> {
    m.lock().unwrap()
}
