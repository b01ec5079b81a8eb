//! Test helper: a worker that takes a batch, says `holding N`, and then hangs
//! until it is killed (tests/it/kill.rs). Arguments: URL STREAM SUBJECT.

use std::time::Duration;

use consumer::{Consumer, Error, SendError};
use consumer_broker::{Broker, Worker, WorkerOptions};

/// Says it holds an item, then never returns from `send`.
struct Hang;

impl Consumer<u64> for Hang {
    fn send(&mut self, item: u64) -> Result<(), SendError<u64>> {
        println!("holding {item}");
        loop {
            std::thread::park();
        }
    }

    fn close(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, stream, subject] = args.as_slice() else {
        eprintln!("usage: broker-test-worker URL STREAM SUBJECT");
        std::process::exit(2);
    };
    let broker = Broker::new(url.as_str()).stream(stream, subject);
    // Must match tests/it/kill.rs.
    let options = WorkerOptions::new()
        .group("killable")
        .ack_wait(Duration::from_secs(2))
        .batch(50);
    Worker::<u64>::connect(&broker, options)?
        .run(Hang)
        .map(drop)
}
