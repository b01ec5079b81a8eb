//! Run any consumer as a tokio task, and write coroutines that receive.
//!
//! The notes' countdown runs here unchanged as a task: [`spawn`] takes any
//! [`Consumer`] and returns a [`Runner`], the first handle, which is itself a
//! `Consumer`, makes [`Task`] handles for producers, and hands the consumer back at
//! [`join`](Runner::join). Plain threads feed it with the blocking `send`; async
//! code uses [`send_async`](Task::send_async). A bounded mailbox sits in between.
//!
//! The vocabulary is the thread runner's (`consumer-thread`): `spawn` (panics if
//! the runner cannot start, as `std::thread::spawn` does), [`Builder::spawn`]
//! (returns the error instead), a `Runner` with `handle`, `into_handle` and `join`,
//! handles whose `send`, `send_all`, `flush` and `close` take `&self`. Where this
//! runner differs, it is because a task is not a thread: the blocking calls refuse
//! to wait on a current-thread runtime's thread (each has an `_async` twin), and the
//! last handle's drop cannot wait everywhere (see [`Task`]).
//!
//! ```text
//!   plain thread ──send──────┐                        ┌─ Placement::BlockingPool (default)
//!                            ├─▶ Task ══ mailbox ══▶ task ┤   consumer.send on a pool thread
//!   async task ──send_async──┘   (Clone)  (bounded)     └─ Placement::InLine
//!                                                           consumer.send in the task
//!
//!   coroutine(|inbox| async { while let Some(n) = inbox.recv().await { .. } cleanup })
//! ```
//!
//! # Running a consumer as a task
//!
//! ```
//! use consumer::{Consumer, ConsumerExt, from_fn};
//!
//! // Any consumer: here a closure version of the notes' countdown (the examples
//! // crate's `Countdown` runs the same way, see `cargo run --example countdown`).
//! let countdown = from_fn(|n: u32| println!("T-minus {n}")).on_close(|| {
//!     println!("Kaboom!");
//!     Ok(())
//! });
//! let task = consumer_coroutine::spawn(countdown);
//! task.send_all((1..=3).rev())?; // T-minus 3, 2, 1 — printed by the task
//! task.close()?;                  // Kaboom! — printed before close returns
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Outside any runtime (as here) the task runs on a multi-thread runtime this crate
//! starts once and shares; inside one, on that runtime; or on the one given to
//! [`Builder::runtime`].
//!
//! A consumer's `send` is a plain function that may block — the notes' countdown
//! sleeps — so by default it runs on the runtime's blocking pool, where blocking
//! stalls no other task. [`Placement::InLine`] runs it in the task itself, for
//! consumers that never block. [`AsyncConsumer`]s (whose `send` awaits I/O) run in
//! the task with [`Builder::spawn_async`]; [`AsAsync`] makes any `Consumer` one.
//! A handle is also an `AsyncConsumer`, and [`Task::sink`] makes it a
//! `futures::Sink`.
//!
//! # Coroutines that receive
//!
//! The notes' `n = (yield)` is an async body that reads its [`Inbox`]:
//!
//! ```
//! let c = consumer_coroutine::coroutine(|mut inbox| async move {
//!     println!("Receiving countdown");
//!     while let Some(n) = inbox.recv().await {
//!         println!("T-minus {n}");
//!     }
//!     println!("Kaboom!"); // the GeneratorExit handler
//! });
//! c.send(10)?; // no c.next() first
//! c.send(9)?;
//! c.close()?; // returns after "Kaboom!"
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **No priming step.** A Python coroutine must be advanced to its first `yield`
//! with `c.next()` before it can take a `send`; the inbox buffers from the start, so
//! the first `send` just works. **`close()`** ends the inbox: `recv` returns `None`
//! once every accepted item has been received, the code after the loop runs (the
//! `GeneratorExit` analogue), and only then does `close()` return, with the body's
//! result ([`BodyResult`]).
//!
//! # The contract
//!
//! Every handle keeps the core crate's
//! [lifecycle contract](consumer::Consumer#the-lifecycle-contract) and passes its
//! conformance suite: each sender's items delivered in order before the consumer's
//! `close`; `close` once, through any clone, waiting for the end; send after close is
//! [`ErrorKind::Closed`](consumer::ErrorKind::Closed) with the item back; an error or
//! a panic in the consumer (or the body) stops the run, later sends return it with
//! the item back, and `close` returns it with the number of accepted items never
//! delivered (every error after the failure carries that same count). A panic
//! never reaches a producer. If the runtime shuts down under a
//! live handle, sends and `close` return
//! [`Disconnected`](consumer::ErrorKind::Disconnected) instead of hanging.
//!
//! # Blocking calls inside a runtime
//!
//! The blocking methods work from plain threads and inside a multi-thread runtime;
//! inside a current-thread runtime they return
//! [`ErrorKind::Usage`](consumer::ErrorKind::Usage) (item back) instead of
//! deadlocking it. See [`Task`'s runtime compatibility](Task#runtime-compatibility)
//! and `docs/decisions/0004-coroutine-runner.md`.
//!
//! # Tracing
//!
//! Each run is a `coroutine` span with `runner = "coroutine"`, `consumer` (the
//! consumer's [`name`](consumer::Consumer::name) or [`Builder::name`]),
//! `placement`, `pid`, `task` (the tokio task id) and `thread` (where the run
//! started; on the blocking pool, the thread that runs the consumer); it logs its
//! start and end at debug level, a failure at warn, and one event per item at
//! `trace` with `msg_id`, the item's sequence number in this run (1, 2, …, in
//! delivery order).
//!
//! # Bound and live counts
//!
//! The mailbox is bounded in items ([`Builder::capacity`]): at most that many
//! accepted items wait, in the channel or taken out by the task for delivery, plus
//! the one the consumer is handling; `send_all` sends item by item, so it waits for
//! room like `send`. [`Task::stats`] takes a [`Stats`](consumer::Stats) snapshot
//! (accepted, delivered, queued, undelivered) without counting anything on the
//! sending path.
//!
//! # What this crate does not do
//!
//! No I/O or timers of its own, no cancellation of a running `send`, no
//! restarting of a failed consumer, no unbounded mailbox. It does not re-export
//! tokio: bring your own `tokio` to build runtimes.
#![forbid(unsafe_code)]

mod async_consumer;
mod block;
mod builder;
mod control;
mod inbox;
mod run;
mod runner;
mod sink;
mod sync;
mod task;

pub use async_consumer::{AsAsync, AsyncConsumer};
pub use builder::{Builder, DEFAULT_CAPACITY, Placement};
/// The core trait, re-exported so that rustc's "trait not in scope" hint for a handle
/// of this crate names a path that compiles (without it, rustc names the core
/// crate's private module). `use consumer::Consumer` is the same trait.
#[doc(no_inline)]
pub use consumer::Consumer;
pub use inbox::Inbox;
pub use run::BodyResult;
pub use runner::Runner;
pub use sink::TaskSink;
pub use task::Task;

use std::future::Future;

/// Runs `consumer` as a tokio task with the default [`Builder`]: on the blocking
/// pool, with a mailbox of [`DEFAULT_CAPACITY`] items, on the current runtime (or
/// the shared one).
///
/// ```
/// let runner = consumer_coroutine::spawn(Vec::new());
/// runner.send_all([1, 2, 3])?;
/// assert_eq!(runner.join()?, [1, 2, 3]); // closes, waits, hands the consumer back
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Panics
///
/// If the shared runtime is needed and cannot start, as [`std::thread::spawn`] and
/// `consumer_thread::spawn` panic when the OS cannot start a thread; use
/// [`Builder::spawn`] to get the error instead.
pub fn spawn<T, C>(consumer: C) -> Runner<C, T>
where
    T: Send + 'static,
    C: Consumer<T> + Send + 'static,
{
    Builder::new()
        .spawn(consumer)
        .expect("failed to start the tokio runtime for a coroutine runner")
}

/// A coroutine that receives: runs `body` with an [`Inbox`] as a task, with the
/// default [`Builder`], and returns the handle that sends into the inbox.
///
/// The body's loop `while let Some(x) = inbox.recv().await` ends when the handle is
/// closed (or every clone dropped) and every accepted item has been received; what
/// follows the loop is the cleanup, and `close` returns after it, with the body's
/// [`BodyResult`]. A body that returns early ends the run: items it left unread are
/// reported as undelivered. A body that panics ends it with
/// [`Panicked`](consumer::ErrorKind::Panicked).
///
/// ```
/// use std::sync::mpsc;
///
/// let (cleaned, cleaned_up) = mpsc::channel();
/// let task = consumer_coroutine::coroutine(|mut inbox| async move {
///     while let Some(line) = inbox.recv().await {
///         println!("{line}");
///     }
///     cleaned.send("flushed and closed").unwrap();
/// });
/// task.send("hello")?;
/// task.close()?;
/// assert_eq!(cleaned_up.try_recv(), Ok("flushed and closed")); // already done
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Panics
///
/// As [`spawn`]; use [`Builder::coroutine`] to get the error instead.
pub fn coroutine<T, F, Fut>(body: F) -> Task<T>
where
    T: Send + 'static,
    F: FnOnce(Inbox<T>) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: BodyResult,
{
    Builder::new()
        .coroutine(body)
        .expect("failed to start the tokio runtime for a coroutine runner")
}
