//! `countdown --runner broker`: the Countdown behind NATS JetStream. A producer (a
//! handle like any other) stores 10 down to 1 in a stream; a worker pulls them and
//! runs the Countdown, acknowledging each item after its `send`.
//!
//! With no `--nats URL`, the runner starts its own `nats-server` on a free loopback
//! port with a temporary store, and stops it afterwards. Across machines:
//!
//! ```text
//! countdown --nats nats://host:4222 --produce   # stores 10..1 in the stream
//! countdown --nats nats://host:4222 --work      # on others: handles until nothing is left
//! ```
//!
//! The producer's `close` returns once the broker has stored the items, so workers
//! may start later, elsewhere; credentials go in the URL (`nats://user:pass@host`).

use consumer_broker::{Broker, LocalServer, Producer, Worker, WorkerOptions};
use examples::{Announced, Countdown};

/// The stream and subject the countdown uses.
fn broker(url: &str) -> Broker {
    Broker::new(url).stream("COUNTDOWN", "countdown.items")
}

/// The embedded default: our own server, one producer, one worker.
pub(crate) fn run() -> Result<(), Box<dyn std::error::Error>> {
    let server = LocalServer::start()?;
    let note = format!("via JetStream at 127.0.0.1:{}", server.port());
    produce(&server.url())?;
    work_with(
        &server.url(),
        Announced::new("broker", Countdown).note(note),
    )
}

/// Is the broker runner available? `--runner all` skips it, in one line, if not.
pub(crate) fn available() -> bool {
    if consumer_broker::nats_server().is_some() {
        return true;
    }
    examples::say!(
        "== broker: skipped, nats-server is not installed (install it with: {}) ==",
        consumer_broker::INSTALL_HINT
    );
    false
}

/// `--nats URL --produce`: stores 10 down to 1.
pub(crate) fn produce(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    crate::runners::drive(Producer::<u32>::connect(&broker(url))?)
}

/// `--nats URL --work`: runs a Countdown on what the stream holds, until nothing is
/// left.
pub(crate) fn work(url: &str) -> Result<(), Box<dyn std::error::Error>> {
    work_with(url, Countdown)
}

fn work_with<C: consumer::Consumer<u32>>(
    url: &str,
    countdown: C,
) -> Result<(), Box<dyn std::error::Error>> {
    Worker::<u32>::connect(&broker(url), WorkerOptions::new().group("countdown"))?
        .run(countdown)?;
    Ok(())
}
