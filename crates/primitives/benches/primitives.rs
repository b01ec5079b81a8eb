//! The primitives against their nearest equivalents, in the same run:
//!
//! - `RLock` against `parking_lot::ReentrantMutex`, one thread and two.
//! - `Semaphore` against the semaphore one writes by hand (std has none): a counter
//!   in a `parking_lot::Mutex` with a `parking_lot::Condvar`, one thread and four
//!   sharing two permits.
//! - `Queue` against a bounded crossbeam channel of the same capacity: one producer
//!   thread, one consumer thread, item by item. (`send_all` is one `put` per item:
//!   no user code runs under the queue's lock, so there is no batched path to time.)
//!
//! Run with `cargo xtask bench consumer-primitives`; one row with
//! `cargo bench -p consumer-primitives --bench primitives -- semaphore/uncontended`.

use std::thread;
use std::time::{Duration, Instant};

use benchkit::{Compare, Unit, wanted};
use consumer_primitives::{Queue, RLock, Semaphore};
use parking_lot::{Condvar, Mutex, ReentrantMutex};

/// Runs `f` `n / threads` times on each of `threads` threads at once; returns the
/// time for all of them.
fn on_threads(threads: u64, n: u64, f: impl Fn() + Sync) -> Duration {
    let t = Instant::now();
    thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..n / threads {
                    f();
                }
            });
        }
    });
    t.elapsed()
}

/// Target 0.4: an acquire/release pair is two round trips through our internal
/// lock, where `ReentrantMutex` has an atomic fast path that needs `unsafe`.
fn rlock() {
    let ours = RLock::new();
    let base = ReentrantMutex::new(());
    Compare::new("primitives/rlock/uncontended")
        .work(2_000_000)
        .target(0.4)
        .run(
            |n| on_threads(1, n, || drop(std::hint::black_box(ours.acquire()))),
            |n| on_threads(1, n, || drop(std::hint::black_box(base.lock()))),
        );
    Compare::new("primitives/rlock/contended-2-threads")
        .work(400_000)
        .target(0.4)
        .run(
            |n| on_threads(2, n, || drop(std::hint::black_box(ours.acquire()))),
            |n| on_threads(2, n, || drop(std::hint::black_box(base.lock()))),
        );
}

/// The baseline semaphore: a counter in a `Mutex`, waiters on a `Condvar` (whose
/// `notify_one` costs nothing when nobody waits).
struct CondvarSemaphore {
    permits: Mutex<usize>,
    freed: Condvar,
}

impl CondvarSemaphore {
    fn acquire(&self) {
        let mut p = self.permits.lock();
        while *p == 0 {
            self.freed.wait(&mut p);
        }
        *p -= 1;
    }
    fn release(&self) {
        *self.permits.lock() += 1;
        self.freed.notify_one();
    }
}

fn semaphore() {
    for (name, threads, permits, work) in [
        ("primitives/semaphore/uncontended", 1, 1, 2_000_000),
        (
            "primitives/semaphore/contended-4-threads-2-permits",
            4,
            2,
            400_000,
        ),
    ] {
        if !wanted(name) {
            continue;
        }
        let ours = Semaphore::new(permits);
        let base = CondvarSemaphore {
            permits: Mutex::new(permits),
            freed: Condvar::new(),
        };
        Compare::new(name).work(work).target(0.9).run(
            |n| on_threads(threads, n, || drop(std::hint::black_box(ours.acquire()))),
            |n| {
                on_threads(threads, n, || {
                    base.acquire();
                    base.release();
                })
            },
        );
    }
}

const CAPACITY: usize = 1024;

/// One producer, one consumer: time to move `n` items.
fn through_queue(n: u64) -> Duration {
    let q = Queue::with_maxsize(CAPACITY);
    let t = Instant::now();
    thread::scope(|s| {
        let getter = q.clone();
        s.spawn(move || {
            for _ in 0..n {
                std::hint::black_box(getter.get().expect("items are coming"));
            }
        });
        for i in 0..n {
            q.put(i).expect("the queue is open");
        }
    });
    t.elapsed()
}

fn through_crossbeam(n: u64) -> Duration {
    let (tx, rx) = crossbeam_channel::bounded(CAPACITY);
    let t = Instant::now();
    thread::scope(|s| {
        s.spawn(move || {
            for _ in 0..n {
                std::hint::black_box(rx.recv().expect("items are coming"));
            }
        });
        for i in 0..n {
            tx.send(i).expect("the receiver is alive");
        }
    });
    t.elapsed()
}

fn queue() {
    // A mutex-and-condvar queue cannot match a lock-free channel item for item; the
    // target records how far behind we accept to be for Python's queue semantics.
    Compare::new("primitives/queue/put-get-1024")
        .unit(Unit::Items)
        .work(1_000_000)
        .target(0.3)
        .run(through_queue, through_crossbeam);
}

fn main() {
    if wanted("primitives/rlock") {
        rlock();
    }
    semaphore();
    if wanted("primitives/queue") {
        queue();
    }
}
