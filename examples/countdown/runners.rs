//! One function per runner: run the Countdown its way, sending 10 down to 1.

use consumer::{Consumer, Inline};
use examples::{Countdown, countdown_items};

type Run = fn() -> Result<(), Box<dyn std::error::Error>>;

/// Every runner, in the order `--runner all` runs them.
pub(crate) const RUNNERS: &[(&str, Run)] = &[
    ("inline", inline),
    ("thread", thread),
    ("coroutine", coroutine),
];

pub(crate) fn names() -> Vec<&'static str> {
    RUNNERS.iter().map(|(name, _)| *name).collect()
}

/// Sends the countdown's items to any consumer handle, then closes it.
fn drive(mut handle: impl Consumer<u32>) -> Result<(), Box<dyn std::error::Error>> {
    handle.send_all(countdown_items())?;
    handle.close()?;
    Ok(())
}

/// In the caller's thread, with the contract enforced.
fn inline() -> Result<(), Box<dyn std::error::Error>> {
    drive(Inline::new(Countdown))
}

/// As a tokio task, fed from this plain thread: on the runtime's blocking pool (the
/// default for a consumer whose `send` may block), on the crate's shared runtime.
fn coroutine() -> Result<(), Box<dyn std::error::Error>> {
    drive(consumer_coroutine::spawn(Countdown)?)
}

/// In its own OS thread, behind a bounded mailbox (the notes' `ConsumerThread`).
fn thread() -> Result<(), Box<dyn std::error::Error>> {
    drive(consumer_thread::spawn(Countdown).into_handle())
}
