//! Any consumer in its own OS thread, behind a mailbox: the notes' `ConsumerThread`.
//!
//! [`spawn`] moves a [`Consumer`] into a new thread and gives
//! back a [`Runner`]; its [`Handle`]s are consumers themselves, so producers send to
//! them exactly as they would to the consumer in-line.
//!
//! ```text
//!  producer ─┐                 mailbox (bounded)            runner thread
//!  producer ─┼─ Handle::send ─▶ [ item | batch | close ] ─▶ consumer.send(item) …
//!  producer ─┘                                              consumer.close()
//!                Runner::join ◀──────────── the consumer back, or the failure
//! ```
//!
//! # Example
//!
//! ```
//! use consumer::{Consumer, SendError};
//!
//! #[derive(Default)]
//! struct Sum(u64);
//!
//! impl Consumer<u64> for Sum {
//!     fn send(&mut self, n: u64) -> Result<(), SendError<u64>> {
//!         self.0 += n;
//!         Ok(())
//!     }
//! }
//!
//! let runner = consumer_thread::spawn(Sum::default());
//! let producers: Vec<_> = (0..4)
//!     .map(|p| {
//!         let mut h = runner.handle();
//!         std::thread::spawn(move || h.send_all((1..=100).map(|n| p * 100 + n)))
//!     })
//!     .collect();
//! for p in producers {
//!     p.join().unwrap()?;
//! }
//! let sum = runner.join()?; // closes, waits, hands the consumer back
//! assert_eq!(sum.0, 80_200);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The contract, and how the thread keeps it
//!
//! The runner keeps the [lifecycle contract](consumer::Consumer#the-lifecycle-contract):
//!
//! - **Delivery and order.** One FIFO mailbox (a crossbeam channel) per runner; each
//!   handle's items arrive in the order it sent them.
//! - **Close.** `close` through any handle shuts the runner for all: sends from then on
//!   are refused as [`Closed`](consumer::ErrorKind::Closed) with the item back. Every
//!   send that returned `Ok` — including one racing the close — is delivered, then the
//!   consumer's `close` runs once, then the thread ends; `close` returns after that.
//!   (How no racing send is lost: see `docs/decisions/0003-thread-runner.md`.)
//! - **Failure.** An error or panic in the consumer ends the run at once: later sends
//!   from every handle fail promptly with that error and the item back, even those
//!   waiting on a full mailbox; `close` and `join` report it with the exact count of
//!   accepted items that were never delivered, and every send refused after the
//!   failure carries that same count. The consumer's `close` still runs after
//!   an error, not after a panic.
//! - **Drop.** Dropping the last handle (the [`Runner`] counts as one) closes the
//!   runner and **waits, in that `drop`,** for the drain, the consumer's `close` and the
//!   thread's end. A [daemon](Builder::daemon) runner's last drop does not wait.
//!
//! # Backpressure, batches and the bound in items
//!
//! The mailbox is bounded in **items** ([`DEFAULT_CAPACITY`], or
//! [`Builder::capacity`]) unless you ask for [`unbounded`](Builder::unbounded): a
//! producer faster than the consumer waits instead of filling memory.
//! [`send_all`](Handle::send_all) moves up to [`BATCH`] items as one message, at
//! several times the per-item rate, and every item of a batch counts against the
//! bound: at most `capacity` items wait, plus the one (or the rest of the batch) the
//! runner is delivering and the one each blocked producer holds. With 64 KiB items
//! and a mailbox of 1024, that is 64 MiB however the items are sent.
//!
//! # Live counts
//!
//! [`Handle::stats`] (and so `Runner::stats`) takes a [`Stats`](consumer::Stats)
//! snapshot: accepted, delivered, queued, undelivered. Counting costs a store per
//! item on lines the sender or the runner thread owns alone.
//!
//! # Producers
//!
//! [`ProducerThread`] runs an iterator in its own thread and sends each item to the
//! consumers registered with it, which may be added and removed while it runs.
//!
//! # Tracing
//!
//! Each runner thread runs in an `info` span `consumer_thread` with fields
//! `runner = "thread"`, `consumer` ([`Consumer::name`]), `thread` (the runner's name,
//! which is its thread's) and `pid`; lifecycle events are at `debug` (`warn` for a
//! failure), and one event per item at `trace` with `msg_id`, the item's sequence
//! number in this runner (1, 2, …, in delivery order). Without a subscriber that
//! enables `trace`, the per-item event costs one check of a cached flag.
//! A [`ProducerThread`] has a span `producer_thread` with field `producer`.
//!
//! # What this crate does not do
//!
//! No thread pool (one thread per runner, as in the notes), no priorities, no async:
//! blocking sends belong in plain threads (see `consumer-coroutine` for tasks). A
//! daemon thread is not killed early: like any Rust thread it ends when its work is
//! done or when the process exits.
#![forbid(unsafe_code)]

mod builder;
mod gate;
mod handle;
mod oneshot;
mod producer;
mod run;
mod runner;
mod shared;
mod sync;

pub use builder::{Builder, DEFAULT_CAPACITY, spawn};
/// The core trait, re-exported so that rustc's "trait not in scope" hint for a handle
/// of this crate names a path that compiles (without it, rustc names the core
/// crate's private module). `use consumer::Consumer` is the same trait.
#[doc(no_inline)]
pub use consumer::Consumer;
pub use handle::{BATCH, Handle};
pub use producer::ProducerThread;
pub use runner::Runner;

/// The model-checked protocols, exported only to the loom models in
/// `tests/loom_gate.rs` and `tests/loom_oneshot.rs`.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::gate::{Gate, Pass, Slot, State};
    pub use crate::oneshot::Oneshot;
}
