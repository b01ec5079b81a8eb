//! The notes' race condition: one thread adds 1 to `x`, another subtracts 1, each
//! many times. Without synchronisation updates are lost and the total is not 0;
//! with a lock, or with an atomic read-modify-write, it is.
//!
//! ```text
//! cargo run --example race_condition            # 2,000,000 updates per thread
//! cargo run --example race_condition -- 100000  # fewer
//! ```
//!
//! Python's `x += 1` is a load, an add and a store; so is the unsynchronised
//! version here (an atomic load, then an atomic store: each is indivisible, the pair
//! is not). Rust will not compile a plain `static mut` or an unlocked shared `i64`
//! updated from two threads, so this is as close as safe Rust gets to the notes.

use std::process::ExitCode;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How often the unsynchronised run is repeated while it happens to lose nothing
/// (a race is a matter of timing; on a busy machine one run may get lucky).
const ATTEMPTS: usize = 5;

fn main() -> ExitCode {
    let _logging = examples::init_logging();
    let n = match std::env::args().nth(1).map(|a| a.parse::<u64>()) {
        None => 2_000_000,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("race_condition: the argument is the number of updates per thread (> 0)");
            return ExitCode::from(2);
        }
    };
    println!("two threads: one does x += 1, the other x -= 1, {n} times each");

    let mut lost = None;
    for attempt in 1..=ATTEMPTS {
        let x = AtomicI64::new(0);
        let took = race(n, |delta| {
            // Read, modify, write: another thread may write in between.
            let v = x.load(Ordering::Relaxed);
            x.store(v + delta, Ordering::Relaxed);
        });
        let total = x.into_inner();
        if total != 0 {
            lost = Some((total, took, attempt));
            break;
        }
    }
    match lost {
        Some((total, took, attempt)) => println!(
            "unsynchronised (load, then store): total {total} in {} (updates lost{})",
            ms(took),
            if attempt > 1 {
                format!(", run {attempt}")
            } else {
                String::new()
            }
        ),
        None => {
            println!("unsynchronised (load, then store): total 0 in {ATTEMPTS} runs (lucky timing)")
        }
    }

    let x = Mutex::new(0i64);
    let took = race(n, |delta| {
        *x.lock().unwrap_or_else(|p| p.into_inner()) += delta
    });
    let total = x.into_inner().unwrap_or_else(|p| p.into_inner());
    println!("with a lock (std Mutex): total {total} in {}", ms(took));

    let x = AtomicI64::new(0);
    let took = race(n, |delta| {
        x.fetch_add(delta, Ordering::Relaxed);
    });
    println!(
        "with an atomic fetch_add: total {} in {}",
        x.into_inner(),
        ms(took)
    );
    ExitCode::SUCCESS
}

/// Runs `update(+1)` in one thread and `update(-1)` in another, `n` times each,
/// started together; returns how long both took.
fn race(n: u64, update: impl Fn(i64) + Sync) -> Duration {
    let start = Barrier::new(2);
    let t = Instant::now();
    thread::scope(|s| {
        for delta in [1, -1] {
            let (start, update) = (&start, &update);
            s.spawn(move || {
                start.wait();
                for _ in 0..n {
                    update(delta);
                }
            });
        }
    });
    t.elapsed()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
