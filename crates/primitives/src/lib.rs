//! The synchronisation toolbox of David Beazley's "Introduction to Threads", in Rust:
//! what Python's `threading` and `queue` modules offer and std lacks.
//!
//! | Python                        | Here / in std                                   |
//! |-------------------------------|-------------------------------------------------|
//! | `threading.RLock`             | [`RLock`]                                       |
//! | `threading.Semaphore`         | [`Semaphore`]                                   |
//! | `threading.BoundedSemaphore`  | [`BoundedSemaphore`]                            |
//! | `threading.Event`             | [`Event`]                                       |
//! | `queue.Queue`                 | [`Queue`] (also a [`Consumer`](consumer::Consumer)) |
//! | `threading.Lock`              | [`std::sync::Mutex`] (see below)                |
//! | `threading.Condition`         | [`std::sync::Condvar`] with a `Mutex`           |
//! | `threading.Barrier`           | [`std::sync::Barrier`]                          |
//! | `threading.Thread`            | [`std::thread::spawn`], [`std::thread::Builder`] |
//!
//! ```text
//!   RLock            owner ⟲ acquire, acquire, release, release
//!   Semaphore        [● ● ○]  acquire takes a permit, the guard gives it back
//!   Event            wait() ◀── set()
//!   Queue            put ──▶ [ a b c ] ──▶ get      task_done … join
//! ```
//!
//! Every blocking call has a non-blocking `try_` form and a `_timeout` form taking a
//! [`Duration`](std::time::Duration), where Python has `blocking=False` and
//! `timeout=`. Locks and permits are guards released on drop (Python's `with`);
//! misuse, like releasing a lock you do not hold, is an error of kind
//! [`Usage`](consumer::ErrorKind::Usage), never a panic.
//!
//! # Example
//!
//! The notes' producer and consumer, hooked together with a queue, started by an
//! event:
//!
//! ```
//! use consumer_primitives::{Event, Queue};
//! use std::sync::Arc;
//!
//! let go = Arc::new(Event::new());
//! let q = Queue::with_maxsize(4);
//! let consumer = {
//!     let (go, q) = (Arc::clone(&go), q.clone());
//!     std::thread::spawn(move || {
//!         go.wait();
//!         let mut got = Vec::new();
//!         while let Ok(item) = q.get() {
//!             got.push(item);
//!         }
//!         got
//!     })
//! };
//! go.set();
//! for n in (1..=10).rev() {
//!     q.put(n)?;
//! }
//! q.shutdown(); // the consumer takes what is queued, then stops
//! assert_eq!(consumer.join().unwrap(), (1..=10).rev().collect::<Vec<_>>());
//! # Ok::<(), consumer::SendError<i32>>(())
//! ```
//!
//! # Locks, conditions, barriers: use std
//!
//! A Rust `Mutex<T>` owns the data it protects, so you cannot forget to lock it —
//! the notes' `x_lock.acquire(); x = x + 1; x_lock.release()` is
//! `*x.lock().unwrap() += 1`. This crate adds no `Lock` type:
//!
//! - A timed acquire (`lock.acquire(timeout=t)`) is `parking_lot::Mutex::try_lock_for`.
//! - A lock that one thread takes and *another* releases (Python's `Lock` allows it)
//!   is a [`BoundedSemaphore::new(1)`](BoundedSemaphore): its permit may move between
//!   threads, and it has `acquire_timeout`.
//! - `Condition` is a [`Condvar`](std::sync::Condvar) paired with the `Mutex` it
//!   waits on; `Barrier` is [`std::sync::Barrier`].
//!
//! # Poisoning
//!
//! Nothing here is poisoned. No user code runs under the primitives' internal locks,
//! and a thread that panics while holding an [`RLockGuard`] or a [`SemaphoreGuard`]
//! releases it as it unwinds, so the next thread proceeds as usual. (std's `Mutex`
//! poisons instead, because the data it protects may be half-updated; the primitives
//! here protect no data, and parking_lot's lock under them does not poison.)
//!
//! # Checked with loom
//!
//! The primitives are built on `parking_lot`'s `Mutex` and `Condvar`, reached
//! through a small shim that swaps in loom's under `--cfg loom`; `cargo xtask
//! test-all` model-checks each primitive, including the rules that skip or pass on
//! wake-ups. There are no spin loops of our own.
//!
//! # What this crate does not do
//!
//! No async: these block the calling thread, so do not call them from async tasks
//! (use tokio's `sync` module there). No cross-process synchronisation. No priority
//! or fairness guarantees (each type's `# Fairness` says what to expect).
#![forbid(unsafe_code)]

mod event;
mod queue;
mod rlock;
mod semaphore;
mod sync;

pub use event::Event;
pub use queue::Queue;
pub use rlock::{RLock, RLockGuard};
pub use semaphore::{BoundedSemaphore, Semaphore, SemaphoreGuard};
