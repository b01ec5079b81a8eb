//! Use every core: one stream spread over N workers on any runner, by load or by
//! key, with failed workers restarted under a restart policy.
//!
//! A [`Pool`] is a [`Consumer`](consumer::Consumer) in front of N workers. Each
//! worker is any consumer, made by a factory you give: usually a runner's handle — a
//! consumer in an OS thread, a tokio task, a child process, behind a socket — since
//! every handle is a consumer. The pool does not know which; it depends on no runner.
//!
//! ```text
//!                           ┌─▶ worker 0 (factory(0): a thread, a child, …) ─▶ consumer
//!  producers ─send─▶ Pool ──┼─▶ worker 1                                    ─▶ consumer
//!      (clones)   dispatch  └─▶ worker 2                                    ─▶ consumer
//!                     │
//!                     └─ supervisor: a failed worker is closed, counted, and replaced
//!                        by factory(i) under the Restart policy, or the pool fails
//! ```
//!
//! # An example
//!
//! Hashing on every core, each worker a consumer in its own thread (any runner
//! would do):
//!
//! ```
//! use consumer::Consumer;
//! use consumer_pool::{Dispatch, Pool, Restart};
//!
//! # fn hash(_: &[u8]) {}
//! let mut pool = Pool::builder(2)
//!     .dispatch(Dispatch::least_loaded())
//!     .restart(Restart::default())
//!     .build(|_worker| Ok(consumer_thread::spawn(consumer::from_fn(|block: Vec<u8>| hash(&block)))))?;
//! for _ in 0..100 {
//!     pool.send(vec![7u8; 4096])?;
//! }
//! pool.close()?; // every worker drained and closed, once
//! assert_eq!(pool.counts().delivered(), Some(100));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Dispatch
//!
//! [`Dispatch::least_loaded`] sends each item to the worker with the fewest sends
//! in progress (a worker whose bounded mailbox is full blocks, so it is passed
//! over), then the fewest items given: no order between items. [`Dispatch::by_key`]
//! sends equal keys to the same worker, so each producer's items of one key arrive in
//! order — Kafka's partitions. Batches (`send_all`) pass through as batches: each
//! chunk of up to 256 items is dealt out in N parts to the least loaded workers, or
//! sorted by key into one batch per worker. If the pool fails in the middle of a
//! chunk, the error hands back the failing item and counts the rest of the chunk it
//! had taken as [`undelivered`](consumer::Error::undelivered) on that send error.
//!
//! # The contract, for the whole
//!
//! - Every item whose send returned `Ok` was taken by a worker, in per-sender order
//!   (per key, with keyed dispatch).
//! - `close` closes every worker exactly once, after the items it took (each
//!   worker's own close drains it), and returns the combined outcome: `Ok` only when
//!   nothing failed and every accepted item was delivered. Again: the same outcome.
//!   Send after close: [`Closed`](consumer::ErrorKind::Closed), item back. Dropping
//!   the last handle closes as `close` would.
//! - [`Pool::counts`] gives the exact accounting ([`Counts`]): accepted = delivered +
//!   undelivered + in doubt.
//!
//! # Supervision
//!
//! A worker fails when its send returns an error or panics, or its child process
//! dies (its handle says so on the next send). The supervisor then closes it — for
//! its outcome and its count of items it accepted and never handled — and starts
//! `factory(i)` in its place, after a backoff, as long as the [`Restart`] policy
//! allows (at most `max` restarts within a window, counted for the whole pool, as an
//! Erlang/OTP supervisor counts its children). Past the limit, or if the factory
//! fails, the pool fails: every later send returns that error (the worker's error
//! kind, a message naming the policy) with the item back, and `close` still drains
//! and closes the other workers and reports it. Nothing waits on a failed worker, so
//! nothing hangs.
//!
//! **What a failed worker had accepted and not handled is counted, never re-sent.**
//! Only the worker knows how far it got; re-sending would need a copy of every item
//! until the worker acknowledges it — a broker's job (acks, redelivery) — and would
//! hand a key's items to the new worker out of order or twice. So: the item the
//! failed worker handed back goes to its replacement first; the items it swallowed
//! are [`Counts::undelivered`] (exact, from the worker's own report) or, when the
//! way to it broke without a report (a child killed by a signal: an
//! [`Exit`](consumer::ErrorKind::Exit), `Disconnected`, `Io`, `Protocol` or
//! `Timeout` error without a count), [`Counts::in_doubt`]. A consumer's own failure
//! without a count (its close failed, after the drain) loses nothing. With
//! keyed dispatch a key keeps its order: a failure leaves a gap, never a reordering
//! or a duplicate. `close` reports the loss as an error with the count.
//!
//! [`Supervised`] is the same supervision for a single worker.
//!
//! # Bounds
//!
//! The pool holds no queue of its own: an item is in the producer's hands or in a
//! worker's, so memory is bounded by the workers' mailboxes (their runners' bounds)
//! and one chunk of 256 items per keyed batch. The restart window holds at most
//! `max` instants.
//!
//! # What this crate does not do
//!
//! - No runner: workers come from your factory (`consumer-thread`,
//!   `consumer-coroutine`, `consumer-process`, `consumer-net`).
//! - No redelivery of a failed worker's items (see above), no work stealing, no
//!   resizing of a running pool.

mod counts;
mod dispatch;
mod pool;
mod restart;
mod slot;
mod supervised;
mod supervisor;

pub use counts::Counts;
pub use dispatch::Dispatch;
pub use pool::{Builder, Pool};
pub use restart::Restart;
pub use supervised::Supervised;
