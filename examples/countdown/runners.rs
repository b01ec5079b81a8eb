//! One function per runner: run the Countdown its way, sending 10 down to 1. Each
//! Countdown is [`Announced`]: its header names the runner and, said from where it
//! runs, the process, thread and task (and the socket it was served on).

use std::sync::OnceLock;

use consumer::{Consumer, Inline};
use consumer_net::{Address, Connector, Server};
use examples::{Announced, Countdown, Progress, countdown_items};

/// `--from N`: count down from N instead of 10 (a long run shows a progress line).
pub(crate) static FROM: OnceLock<u32> = OnceLock::new();

type Run = fn() -> Result<(), Box<dyn std::error::Error>>;

/// Every runner, in the order `--runner all` runs them.
pub(crate) const RUNNERS: &[(&str, Run)] = &[
    ("inline", inline),
    ("thread", thread),
    ("coroutine", coroutine),
    ("process", process),
    ("fifo", fifo),
    ("unix", unix),
    ("tcp", tcp),
    ("broker", crate::broker::run),
];

pub(crate) fn names() -> Vec<&'static str> {
    RUNNERS.iter().map(|(name, _)| *name).collect()
}

/// Sends the countdown's items (10 down to 1, or `--from N` down to 1) to any
/// consumer handle, then closes it; a long run shows its progress on stderr.
pub(crate) fn drive(mut handle: impl Consumer<u32>) -> Result<(), Box<dyn std::error::Error>> {
    match FROM.get() {
        None => handle.send_all(countdown_items())?,
        Some(&from) => {
            let mut progress =
                Progress::new("countdown", "items", Some(u64::from(from))).beside_output();
            handle.send_all((1..=from).rev().inspect(|_| progress.add(1)))?;
        }
    }
    handle.close()?;
    Ok(())
}

/// In the caller's thread, with the contract enforced.
fn inline() -> Result<(), Box<dyn std::error::Error>> {
    drive(Inline::new(Announced::new("inline", Countdown)))
}

/// As a tokio task, fed from this plain thread: on the runtime's blocking pool (the
/// default for a consumer whose `send` may block), on the crate's shared runtime.
fn coroutine() -> Result<(), Box<dyn std::error::Error>> {
    drive(consumer_coroutine::spawn(Announced::new(
        "coroutine",
        Countdown,
    )))
}

/// In its own OS thread, behind a bounded mailbox (the notes' `ConsumerThread`).
fn thread() -> Result<(), Box<dyn std::error::Error>> {
    drive(consumer_thread::spawn(Announced::new("thread", Countdown)).into_handle())
}

/// In a child process: this very program re-run as `countdown --coprocess`, fed
/// framed items over its stdin. The child prints (its header names its pid and ours);
/// `close` returns its outcome.
fn process() -> Result<(), Box<dyn std::error::Error>> {
    drive(consumer_process::Coprocess::<u32>::spawn_self([
        "--coprocess",
    ])?)
}

/// In a child process fed through a named FIFO, in a directory only we can enter.
fn fifo() -> Result<(), Box<dyn std::error::Error>> {
    let dir = consumer_process::PrivateDir::new("countdown")?;
    let path = dir.join("items");
    consumer_process::make_fifo(&path)?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("--coprocess").arg(&path);
    drive(consumer_process::Coprocess::<u32>::spawn_fifo(cmd, &path)?)
}

/// Behind a Unix socket in a private directory: a server here, in a thread of its
/// own, serving each connection to a Countdown; the client is just another handle.
fn unix() -> Result<(), Box<dyn std::error::Error>> {
    let dir = consumer_process::PrivateDir::new("countdown")?;
    let addr = Address::Unix(dir.join("countdown.sock"));
    over_socket("unix", Server::bind(&addr)?, Connector::new(addr))
}

/// Over TCP on loopback, both ends authenticated with a fresh key: what
/// `--listen` and `--connect` do on two machines.
fn tcp() -> Result<(), Box<dyn std::error::Error>> {
    let key = consumer_auth::AuthKey::generate()?;
    let server = Server::bind(&"127.0.0.1:0".parse()?)?.key(key.clone());
    let connector = Connector::new(server.local_addr().clone()).key(key);
    over_socket("tcp", server, connector)
}

fn over_socket(
    runner: &str,
    server: Server,
    connector: Connector,
) -> Result<(), Box<dyn std::error::Error>> {
    let (runner, note) = (
        runner.to_owned(),
        format!("served at {}", server.local_addr()),
    );
    let serving =
        server.serve(move || Announced::new(runner.clone(), Countdown).note(note.clone()))?;
    // `close` returns once the far Countdown has closed: the transcript is complete.
    drive(connector.sender::<u32>()?)?;
    serving.shutdown()?;
    Ok(())
}
