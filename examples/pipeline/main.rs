//! A pipeline of threads, each stage a consumer of the one before and a producer for
//! the one after (the notes' consumers that are also producers).
//!
//! ```text
//! cargo run --example pipeline
//! ```
//!
//! ```text
//! main ─send─▶ [double] ─▶ [square] ─▶ [sum]      one thread per stage
//! main ─close─▶ double drains, closes square ─▶ square drains, closes sum ─▶ sum reports
//! ```
//!
//! Closing the front closes the whole chain, in order: each stage's `close` runs only
//! after everything sent to it has been delivered, then closes the next stage and
//! waits for it. So when `close` returns at the front, every stage is done.

use consumer::{Consumer, Error, SendError};
use consumer_thread::{Builder, Handle};

/// A stage: applies `f` to each item and passes the result on to `next`.
struct Stage<F, U> {
    name: &'static str,
    f: F,
    next: Handle<U>,
    count: u64,
}

impl<T, U, F: FnMut(T) -> U> Consumer<T> for Stage<F, U> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.count += 1;
        // The next stage's failure is this stage's failure; the item has become
        // another, so it cannot be handed back.
        self.next
            .send((self.f)(item))
            .map_err(SendError::without_item)
    }

    fn close(&mut self) -> Result<(), Error> {
        println!("{}: closing after {} items", self.name, self.count);
        self.next.close()
    }
}

/// The end of the line: adds up what arrives.
#[derive(Default)]
struct Sum {
    count: u64,
    total: u64,
}

impl Consumer<u64> for Sum {
    fn send(&mut self, n: u64) -> Result<(), SendError<u64>> {
        self.count += 1;
        self.total += n;
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        println!(
            "sum: closing after {} items: total {}",
            self.count, self.total
        );
        Ok(())
    }
}

/// Starts a stage in its own thread, feeding `next`.
fn stage<T: Send + 'static, U: Send + 'static>(
    name: &'static str,
    f: impl FnMut(T) -> U + Send + 'static,
    next: Handle<U>,
) -> Result<Handle<T>, consumer::Error> {
    let stage = Stage {
        name,
        f,
        next,
        count: 0,
    };
    Ok(Builder::new().name(name).spawn(stage)?.into_handle())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _logging = examples::init_logging();
    // Built from the back, so that each stage has its next one to send to.
    let sum = Builder::new().name("sum").spawn(Sum::default())?;
    let square = stage("square", |n: u64| n * n, sum.handle())?;
    let double = stage("double", |n: u64| n * 2, square)?;

    double.send_all(1..=10)?;
    double.close()?; // returns when every stage has drained and closed
    println!("main: pipeline closed");
    let sum = sum.join()?;
    println!("main: sum of (2n)² for n in 1..=10 is {}", sum.total);
    Ok(())
}
