//! The notes' "Threads and Queues": a `ProducerThread` feeding two consumer threads.
//!
//! ```text
//! cargo run --example producer_consumer
//! ```
//!
//! The producer runs the countdown's items in its own thread and sends each one to
//! every registered consumer: the notes' `Countdown`, unchanged, in one thread, and a
//! tally in another. When the items run out the producer closes its consumers, in the
//! order they registered, each close waiting for that consumer's drain.

use consumer::{Consumer, Error, SendError};
use consumer_thread::{Builder, ProducerThread};
use examples::{Countdown, countdown_items};

/// Counts and adds up what it is sent; reports when closed.
#[derive(Debug, Default)]
struct Tally {
    count: u32,
    sum: u32,
}

impl Consumer<u32> for Tally {
    fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
        self.count += 1;
        self.sum += n;
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        println!("tally: {} items, sum {}", self.count, self.sum);
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _logging = examples::init_logging();
    let countdown = Builder::new().name("countdown").spawn(Countdown)?;
    let tally = Builder::new().name("tally").spawn(Tally::default())?;

    let mut producer = ProducerThread::new(countdown_items()).name("producer");
    producer.register(countdown.handle());
    producer.register(tally.handle());
    producer.start()?;

    // The producer ends when its items do, closing both consumers.
    let sent = producer.join()?;
    let tally = tally.join()?;
    countdown.join()?;
    println!("producer: sent {sent} items to 2 consumer threads");
    println!("main: the tally thread handed back {tally:?}");
    Ok(())
}
