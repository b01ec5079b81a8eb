//! The one-shot: how `close`, `join` and the last handle's drop learn how the run
//! ended.
//!
//! The runner thread sets the outcome once, when the consumer's `close` has run (or
//! could not); any number of threads wait for it, before or after that. A mutex around
//! an `Option` and a condition variable are all it takes:
//!
//! ```text
//! runner thread                      waiter (close, join, the last drop)
//! lock                               lock
//! if empty: store the outcome        while empty: wait (unlocks, sleeps, relocks)
//! notify_all                         clone the outcome
//! ```
//!
//! No wake-up is lost: the waiter checks and starts waiting under the lock the value
//! is stored under, so either it sees the value or it is already waiting when the
//! notification comes. The first value stays (later ones are ignored), so every waiter
//! sees the same one. A look without waiting ([`is_set`](Oneshot::is_set), behind
//! `is_finished`) that finds it empty loses nothing either: a later `wait` finds the
//! value. `tests/loom_oneshot.rs` model-checks all three, with loom's mutex and
//! condition variable in place of std's (through [`sync`](crate::sync)).

// `pub` so that loom builds can export the one-shot to `tests/loom_oneshot.rs`.
#![cfg_attr(not(loom), allow(unreachable_pub))]

use crate::sync::{Condvar, Mutex, model_lock as lock, model_wait as wait};

/// A value set once, seen by every waiter.
#[derive(Debug)]
pub struct Oneshot<T> {
    value: Mutex<Option<T>>,
    set: Condvar,
}

impl<T> Default for Oneshot<T> {
    fn default() -> Self {
        Oneshot::new()
    }
}

impl<T> Oneshot<T> {
    /// An empty one-shot.
    pub fn new() -> Oneshot<T> {
        Oneshot {
            value: Mutex::new(None),
            set: Condvar::new(),
        }
    }

    /// Stores `value` unless one is there already (then `value` is dropped), and wakes
    /// every waiter. Returns whether this call stored it.
    pub fn set(&self, value: T) -> bool {
        let mut slot = lock(&self.value);
        let first = slot.is_none();
        if first {
            *slot = Some(value);
        }
        self.set.notify_all();
        first
    }

    /// Is the value there? Never waits (beyond the lock).
    pub fn is_set(&self) -> bool {
        lock(&self.value).is_some()
    }

    /// A copy of the value if it is there. Never waits (beyond the lock).
    pub fn get(&self) -> Option<T>
    where
        T: Clone,
    {
        lock(&self.value).clone()
    }

    /// Waits until the value is there, and returns a copy of it.
    pub fn wait(&self) -> T
    where
        T: Clone,
    {
        let mut slot = lock(&self.value);
        loop {
            if let Some(value) = &*slot {
                return value.clone();
            }
            slot = wait(&self.set, slot);
        }
    }
}
