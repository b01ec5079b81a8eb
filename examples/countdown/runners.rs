//! One function per runner: run the Countdown its way, sending 10 down to 1.

use consumer::{Consumer, Inline};
use examples::{Countdown, countdown_items};

type Run = fn() -> Result<(), Box<dyn std::error::Error>>;

/// Every runner, in the order `--runner all` runs them.
pub(crate) const RUNNERS: &[(&str, Run)] = &[
    ("inline", inline),
    ("thread", thread),
    ("coroutine", coroutine),
    ("process", process),
    ("fifo", fifo),
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

/// In a child process: this very program re-run as `countdown --coprocess`, fed
/// framed items over its stdin. The child prints; `close` returns its outcome.
fn process() -> Result<(), Box<dyn std::error::Error>> {
    drive(consumer_process::Coprocess::<u32>::spawn_self([
        "--coprocess",
    ])?)
}

/// In a child process fed through a named FIFO, in a directory only we can enter.
fn fifo() -> Result<(), Box<dyn std::error::Error>> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!("countdown-{}-{nanos}", std::process::id()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let path = dir.join("items");
    let run = || -> Result<(), Box<dyn std::error::Error>> {
        consumer_process::make_fifo(&path)?;
        let mut cmd = std::process::Command::new(std::env::current_exe()?);
        cmd.arg("--coprocess").arg(&path);
        drive(consumer_process::Coprocess::<u32>::spawn_fifo(cmd, &path)?)
    };
    let outcome = run();
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}
