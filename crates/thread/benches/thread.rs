//! Benchmarks of the thread runner against a raw crossbeam channel between two
//! threads, in the same run (paired, interleaved rounds: see `benchkit`).
//!
//! - `u64/1-producer`, `u64/4-producers`: per-item `send` of small items; both sides use
//!   a bounded mailbox of the runner's default capacity. Target: ratio ≥ 0.9.
//! - `u64/send_all`: one producer's `send_all` (batches) against the raw channel's
//!   per-item send: the ratio is the speed-up batching buys.
//! - `u64/round-trip`: one item there and its reply back, one at a time.
//!
//! One row: `cargo bench -p consumer-thread --bench thread -- round-trip`.

use std::hint::black_box;
use std::thread;
use std::time::{Duration, Instant};

use benchkit::{Compare, Unit, wanted};
use consumer::{Consumer, SendError};
use consumer_thread::DEFAULT_CAPACITY;
use crossbeam_channel::{Receiver, Sender, bounded};

/// The consumer of the throughput benchmarks: adds up what it gets.
#[derive(Default)]
struct Sum(u64);

impl Consumer<u64> for Sum {
    #[inline]
    fn send(&mut self, n: u64) -> Result<(), SendError<u64>> {
        self.0 = self.0.wrapping_add(black_box(n));
        Ok(())
    }
}

/// `producers` threads each send their share of `0..n` through the runner; timed to
/// the end of `join` (every item delivered).
fn ours(n: u64, producers: u64, batched: bool) -> Duration {
    let runner = consumer_thread::spawn(Sum::default());
    let t = Instant::now();
    let share = n / producers;
    let workers: Vec<_> = (0..producers)
        .map(|p| {
            let h = runner.handle();
            thread::spawn(move || {
                let items = p * share..(p + 1) * share;
                if batched {
                    h.send_all(items).expect("send_all");
                } else {
                    for i in items {
                        h.send(i).expect("send");
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("producer");
    }
    let sum = runner.join().expect("join");
    let elapsed = t.elapsed();
    black_box(sum.0);
    elapsed
}

/// The same work through a raw bounded crossbeam channel and a thread that sums.
fn baseline(n: u64, producers: u64) -> Duration {
    let (tx, rx) = bounded::<u64>(DEFAULT_CAPACITY);
    let consumer = thread::spawn(move || rx.iter().fold(0u64, |s, x| s.wrapping_add(x)));
    let t = Instant::now();
    let share = n / producers;
    let workers: Vec<_> = (0..producers)
        .map(|p| {
            let tx = tx.clone();
            thread::spawn(move || {
                for i in p * share..(p + 1) * share {
                    tx.send(i).expect("send");
                }
            })
        })
        .collect();
    drop(tx);
    for w in workers {
        w.join().expect("producer");
    }
    let sum = consumer.join().expect("consumer");
    let elapsed = t.elapsed();
    black_box(sum);
    elapsed
}

/// One item out and its reply back, `n` times; the runner's consumer is the reply
/// channel's sender itself.
fn round_trip_ours(n: u64) -> Duration {
    let (reply, replies) = bounded::<u64>(1);
    let runner = consumer_thread::spawn(reply);
    let t = Instant::now();
    for i in 0..n {
        runner.send(i).expect("send");
        black_box(replies.recv().expect("reply"));
    }
    let elapsed = t.elapsed();
    runner.join().expect("join");
    elapsed
}

fn round_trip_baseline(n: u64) -> Duration {
    let (tx, rx) = bounded::<u64>(DEFAULT_CAPACITY);
    let (reply, replies): (Sender<u64>, Receiver<u64>) = bounded(1);
    let echo = thread::spawn(move || {
        for x in rx {
            reply.send(x).expect("reply");
        }
    });
    let t = Instant::now();
    for i in 0..n {
        tx.send(i).expect("send");
        black_box(replies.recv().expect("reply"));
    }
    let elapsed = t.elapsed();
    drop(tx);
    echo.join().expect("echo");
    elapsed
}

fn main() {
    let throughput = [
        ("thread/u64/1-producer", 1, false, 0.9),
        ("thread/u64/4-producers", 4, false, 0.9),
        ("thread/u64/send_all-vs-raw-per-item", 1, true, 3.0),
    ];
    for (name, producers, batched, target) in throughput {
        if wanted(name) {
            Compare::new(name)
                .work(4_000_000)
                .target(target)
                .run(|n| ours(n, producers, batched), |n| baseline(n, producers));
        }
    }
    if wanted("thread/u64/round-trip") {
        Compare::new("thread/u64/round-trip")
            .unit(Unit::Latency)
            .work(100_000)
            .target(0.9)
            .run(round_trip_ours, round_trip_baseline);
    }
}
