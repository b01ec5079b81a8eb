//! "Can I make Python run 4 times faster on my quad-core desktop?" — with message
//! passing to independent workers, yes: one CPU-bound consumer (chains of SHA-256)
//! run by 1 worker, then by N workers (N = the cores), first in threads, then in
//! child processes, through a `consumer_pool::Pool`. It prints the measured speed-up,
//! and the same work on plain threads without a pool: the ceiling the machine allows
//! at the moment (a machine busy with other work allows less than its cores).
//!
//! ```text
//!                            ┌─▶ worker 0 (a thread, or this program re-run as a child)
//!   blocks ─send─▶ Pool ─────┤            …
//!           least-loaded     └─▶ worker N-1
//! ```
//!
//! `speedup [BLOCKS]` (default 48); `speedup --worker` is the child's side.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use consumer::{Consumer, Error, SendError};
use consumer_pool::{Dispatch, Pool, Restart};
use examples::{Progress, say};
use sha2::{Digest, Sha256};

/// SHA-256 rounds per block: a block costs some milliseconds, so sending it is noise.
const ROUNDS: u32 = 20_000;

/// The CPU-bound consumer: hashes each block `ROUNDS` times over, keeps the last
/// digest's first byte (so the work cannot be optimised away).
#[derive(Debug, Default)]
struct Hasher {
    acc: u8,
}

impl Consumer<u64> for Hasher {
    fn send(&mut self, block: u64) -> Result<(), SendError<u64>> {
        let mut digest = Sha256::digest(block.to_le_bytes());
        for _ in 1..ROUNDS {
            digest = Sha256::digest(digest);
        }
        self.acc ^= digest[0];
        Ok(())
    }
}

/// Runs of each configuration; the fastest counts.
const TRIES: usize = 3;

/// Where a pool's workers run.
#[derive(Debug, Clone, Copy)]
enum Runner {
    Threads,
    Processes,
}

/// Hashes `blocks` blocks with `workers` workers; how long from the first send to
/// the pool's close (the workers are started before the clock runs).
fn run(runner: Runner, workers: usize, blocks: u64) -> Result<Duration, Error> {
    let builder = Pool::builder(workers)
        .dispatch(Dispatch::least_loaded())
        .restart(Restart::never());
    let mut pool: Pool<u64> = match runner {
        Runner::Threads => builder.build(|_| Ok(consumer_thread::spawn(Hasher::default())))?,
        Runner::Processes => {
            builder.build(|_| consumer_process::Coprocess::<u64>::spawn_self(["--worker"]))?
        }
    };
    let started = Instant::now();
    pool.send_all(0..blocks)?;
    pool.close()?;
    let took = started.elapsed();
    let delivered = pool.counts().delivered();
    if delivered != Some(blocks) {
        return Err(Error::new(
            consumer::ErrorKind::Other,
            format!("{delivered:?} of {blocks} blocks delivered"),
        ));
    }
    Ok(took)
}

/// Hashes `blocks` blocks on `threads` plain threads, each taking every
/// `threads`-th block: the baseline without a pool.
fn plain(threads: usize, blocks: u64) -> Duration {
    let started = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads as u64 {
            s.spawn(move || {
                let mut h = Hasher::default();
                for block in (t..blocks).step_by(threads) {
                    let _ = h.send(block);
                }
            });
        }
    });
    started.elapsed()
}

fn main() -> ExitCode {
    let _logging = examples::init_logging();
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("speedup: {e}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> Result<(), Box<dyn std::error::Error>> {
    let arg = std::env::args().nth(1);
    if arg.as_deref() == Some("--worker") {
        consumer_process::serve_stdin::<u64, _>(Hasher::default())?;
        return Ok(());
    }
    let blocks: u64 = match arg {
        None => 48,
        Some(n) => n
            .parse()
            .map_err(|_| format!("the argument is the number of blocks, not {n:?}"))?,
    };
    let cores = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .max(2);
    say!("speedup: {blocks} blocks of {ROUNDS} SHA-256 rounds, 1 worker and {cores} workers");
    // Threads, processes and plain threads, 1 and `cores` workers, TRIES times each.
    let total = blocks * 2 * 3 * TRIES as u64;
    let mut progress = Progress::new("speedup", "blocks", Some(total));
    for (name, runner) in [
        ("threads", Runner::Threads),
        ("processes", Runner::Processes),
    ] {
        // The best of a few runs each, alternating: a busy machine slows single runs.
        let (mut one, mut many) = (Duration::MAX, Duration::MAX);
        for _ in 0..TRIES {
            one = one.min(run(runner, 1, blocks)?);
            progress.add(blocks);
            many = many.min(run(runner, cores, blocks)?);
            progress.add(blocks);
        }
        progress.clear();
        say!(
            "{name}: 1 worker {:.2} s, {cores} workers {:.2} s: {:.2}x",
            one.as_secs_f64(),
            many.as_secs_f64(),
            one.as_secs_f64() / many.as_secs_f64()
        );
    }
    // The same work on plain threads splitting the blocks between them, no pool: what
    // the machine allows right now (a busy machine allows less than its cores).
    let (mut one, mut many) = (Duration::MAX, Duration::MAX);
    for _ in 0..TRIES {
        one = one.min(plain(1, blocks));
        progress.add(blocks);
        many = many.min(plain(cores, blocks));
        progress.add(blocks);
    }
    drop(progress);
    say!(
        "plain threads, no pool: 1 thread {:.2} s, {cores} threads {:.2} s: {:.2}x",
        one.as_secs_f64(),
        many.as_secs_f64(),
        one.as_secs_f64() / many.as_secs_f64()
    );
    say!("every run delivered all {blocks} blocks");
    Ok(())
}
