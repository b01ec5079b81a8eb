//! The coroutine runner against raw tokio mpsc, same capacity, same runtime, same run.
//!
//! - `u64/async-producer`: one task sends u64s with `send_async` to an in-line
//!   consumer; the baseline sends with `Sender::send` to a task that receives.
//! - `u64/thread-producer`: one plain thread sends with the blocking `send` to an
//!   in-line consumer; the baseline uses `Sender::blocking_send`.
//! - `u64/blocking-pool`: as above, to a consumer on the blocking pool (the default
//!   placement); the baseline receives with `blocking_recv` inside `spawn_blocking`.
//! - `round-trip`: send one item, wait for the consumer's reply, repeat; the
//!   baseline does the same through a raw channel and an echoing task.
//!
//! Each measurement spans the whole stream: first send to the consumer's close (ours)
//! or to the receiving task's end (baseline).

use std::hint::black_box;
use std::time::{Duration, Instant};

use benchkit::{Compare, Unit};
use consumer::{Consumer, Error, SendError};
use consumer_coroutine::{Builder, Placement};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

const CAPACITY: usize = 1024;

/// Sums what it receives; the sum is kept from being optimised away at close.
struct Sum(u64);

impl Consumer<u64> for Sum {
    fn send(&mut self, n: u64) -> Result<(), SendError<u64>> {
        self.0 = self.0.wrapping_add(n);
        Ok(())
    }
    fn close(&mut self) -> Result<(), Error> {
        black_box(self.0);
        Ok(())
    }
}

fn builder(rt: &Runtime, placement: Placement) -> Builder {
    Builder::new()
        .runtime(rt.handle().clone())
        .capacity(CAPACITY)
        .placement(placement)
}

/// Raw tokio: a task that sums what it receives.
fn raw_receiver(rt: &Runtime) -> (mpsc::Sender<u64>, tokio::task::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
    let join = rt.spawn(async move {
        let mut sum = 0u64;
        while let Some(n) = rx.recv().await {
            sum = sum.wrapping_add(n);
        }
        black_box(sum);
    });
    (tx, join)
}

fn async_producer(rt: &Runtime) {
    Compare::new("coroutine/u64/async-producer")
        .unit(Unit::Items)
        .work(2_000_000)
        .target(0.9)
        .run(
            |n| {
                let task = builder(rt, Placement::InLine).spawn(Sum(0)).unwrap();
                rt.block_on(async move {
                    let t = Instant::now();
                    for i in 0..n {
                        task.send_async(i).await.unwrap();
                    }
                    task.close_async().await.unwrap();
                    t.elapsed()
                })
            },
            |n| {
                let (tx, join) = raw_receiver(rt);
                rt.block_on(async move {
                    let t = Instant::now();
                    for i in 0..n {
                        tx.send(i).await.unwrap();
                    }
                    drop(tx);
                    join.await.unwrap();
                    t.elapsed()
                })
            },
        );
}

fn thread_producer(rt: &Runtime) {
    Compare::new("coroutine/u64/thread-producer")
        .unit(Unit::Items)
        .work(2_000_000)
        .target(0.9)
        .run(
            |n| {
                let task = builder(rt, Placement::InLine).spawn(Sum(0)).unwrap();
                let t = Instant::now();
                for i in 0..n {
                    task.send(i).unwrap();
                }
                task.close().unwrap();
                t.elapsed()
            },
            |n| {
                let (tx, join) = raw_receiver(rt);
                let t = Instant::now();
                for i in 0..n {
                    tx.blocking_send(i).unwrap();
                }
                drop(tx);
                rt.block_on(join).unwrap();
                t.elapsed()
            },
        );
}

fn blocking_pool(rt: &Runtime) {
    Compare::new("coroutine/u64/blocking-pool")
        .unit(Unit::Items)
        .work(2_000_000)
        .target(0.9)
        .run(
            |n| {
                let task = builder(rt, Placement::BlockingPool).spawn(Sum(0)).unwrap();
                let t = Instant::now();
                for i in 0..n {
                    task.send(i).unwrap();
                }
                task.close().unwrap();
                t.elapsed()
            },
            |n| {
                let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
                let join = rt.spawn_blocking(move || {
                    let mut sum = 0u64;
                    while let Some(n) = rx.blocking_recv() {
                        sum = sum.wrapping_add(n);
                    }
                    black_box(sum);
                });
                let t = Instant::now();
                for i in 0..n {
                    tx.blocking_send(i).unwrap();
                }
                drop(tx);
                rt.block_on(join).unwrap();
                t.elapsed()
            },
        );
}

/// Replies to every item through an unbounded channel.
struct Echo(mpsc::UnboundedSender<u64>);

impl Consumer<u64> for Echo {
    fn send(&mut self, n: u64) -> Result<(), SendError<u64>> {
        self.0.send(n).map_err(|e| SendError::closed(e.0))
    }
}

fn round_trip(rt: &Runtime) {
    Compare::new("coroutine/round-trip")
        .unit(Unit::Latency)
        .work(50_000)
        .target(0.9)
        .run(
            |n| {
                let (reply, mut replies) = mpsc::unbounded_channel();
                let task = builder(rt, Placement::InLine).spawn(Echo(reply)).unwrap();
                rt.block_on(async move {
                    let t = Instant::now();
                    for i in 0..n {
                        task.send_async(i).await.unwrap();
                        black_box(replies.recv().await.unwrap());
                    }
                    let elapsed = t.elapsed();
                    task.close_async().await.unwrap();
                    elapsed
                })
            },
            |n| {
                let (reply, mut replies) = mpsc::unbounded_channel();
                let (tx, mut rx) = mpsc::channel::<u64>(CAPACITY);
                let echo = rt.spawn(async move {
                    while let Some(i) = rx.recv().await {
                        reply.send(i).unwrap();
                    }
                });
                rt.block_on(async move {
                    let t = Instant::now();
                    for i in 0..n {
                        tx.send(i).await.unwrap();
                        black_box(replies.recv().await.unwrap());
                    }
                    let elapsed = t.elapsed();
                    drop(tx);
                    echo.await.unwrap();
                    elapsed
                })
            },
        );
}

fn main() {
    // The flavour both sides share: a multi-thread runtime with one worker per core.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .build()
        .expect("a runtime");
    // `cargo bench --bench coroutine -- NAME` runs only the benchmarks whose
    // function name contains NAME.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    type Bench = fn(&Runtime);
    let benches: [(&str, Bench); 4] = [
        ("async_producer", async_producer),
        ("thread_producer", thread_producer),
        ("blocking_pool", blocking_pool),
        ("round_trip", round_trip),
    ];
    for (name, bench) in benches {
        if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
            bench(&rt);
        }
    }
    // Leave a little time for the last tasks' threads before the runtime drops.
    rt.shutdown_timeout(Duration::from_secs(5));
}
