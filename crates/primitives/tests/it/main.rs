//! The crate's integration tests, one binary (see STYLE.md). Under `--cfg loom` only
//! the loom models (`tests/loom.rs`) are built, and these are left out.
#![cfg(not(loom))]

mod conformance;
mod event;
mod queue;
mod rlock;
mod semaphore;
mod send_sync;

use std::time::Duration;

/// How long a test waits for something that should happen at once before it calls
/// the code under test broken. Generous: the machine is small and shared.
const PATIENCE: Duration = Duration::from_secs(60);

/// A short timeout for waits that are meant to run out.
const SHORT: Duration = Duration::from_millis(50);
