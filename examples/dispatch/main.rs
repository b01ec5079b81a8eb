//! The notes' "Dispatching": one stream of items sent to several consumers at once —
//! one in an OS thread, one as a tokio task, one in-line behind a filter — through
//! `consumer::Broadcast`. The producer neither knows nor cares how each one runs.
//!
//! ```text
//!                        ┌─▶ thread runner ──▶ Tally("thread")
//!   1..=100 ─▶ Broadcast ├─▶ task runner   ──▶ Tally("task")
//!                        └─▶ filter(even)  ──▶ Vec (in-line)
//! ```

use consumer::{Broadcast, Consumer, ConsumerExt, Error, Inline, SendError};

/// Counts and sums what it is sent; says so when closed.
#[derive(Debug)]
struct Tally {
    who: &'static str,
    count: u32,
    sum: u64,
}

impl Consumer<u32> for Tally {
    fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
        self.count += 1;
        self.sum += u64::from(n);
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        println!("{}: {} items, sum {}", self.who, self.count, self.sum);
        Ok(())
    }
}

fn tally(who: &'static str) -> Tally {
    Tally {
        who,
        count: 0,
        sum: 0,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _logging = examples::init_logging();
    let in_thread = consumer_thread::Builder::new()
        .name("tally")
        .spawn(tally("thread"))?;
    let as_task = consumer_coroutine::spawn(tally("task"));
    let evens = Inline::new(Vec::new()).shared();

    let mut dispatch = Broadcast::new();
    dispatch.register(in_thread.handle());
    dispatch.register(as_task);
    dispatch.register(evens.clone().filter(|n: &u32| n.is_multiple_of(2)));
    println!("dispatching 1..=100 to {} consumers", dispatch.len());

    dispatch.send_all(1..=100)?;
    // Closes every target in registration order; each close returns only after that
    // consumer's own close has run, so the lines below come out in this order.
    dispatch.close()?;

    let back = in_thread.join()?;
    println!("main: the thread runner handed back {back:?}");
    println!(
        "main: the in-line filter kept {} even items",
        evens.with(Vec::len)
    );
    Ok(())
}
