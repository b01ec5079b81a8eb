//! One consumer, any execution model.
//!
//! A *consumer* is a value you [`send`](Consumer::send) items to and then
//! [`close`](Consumer::close) — the interface of the `Countdown` in David Beazley's
//! "Introduction to Threads". This crate defines that trait, the contract that goes
//! with it, and the pieces that compose consumers. Other crates of this workspace run
//! the very same consumer elsewhere:
//!
//! ```text
//!             producer ──send──▶ handle ══▶ consumer
//!                                  │
//!   Inline (this crate)            └─ same thread, direct call
//!   consumer-thread                └─ its own OS thread, behind a mailbox
//!   consumer-coroutine             └─ a tokio task
//!   consumer-process               └─ another process, over a pipe, FIFO or socket
//! ```
//!
//! Every handle is itself a `Consumer`, so producers cannot tell the runners apart,
//! and adapters, [`Broadcast`] and pipelines work with all of them.
//!
//! # A consumer
//!
//! ```
//! use consumer::{Consumer, Error, Inline, SendError};
//!
//! struct Countdown;
//!
//! impl Consumer<u32> for Countdown {
//!     fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
//!         println!("T-minus {n}");
//!         Ok(())
//!     }
//!     fn close(&mut self) -> Result<(), Error> {
//!         println!("Kaboom!");
//!         Ok(())
//!     }
//! }
//!
//! // In-line: the caller's thread runs it, with the contract enforced.
//! let mut c = Inline::new(Countdown);
//! c.send_all((1..=3).rev())?;
//! c.close()?;
//! assert!(c.send(0).unwrap_err().error().is_closed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The contract
//!
//! Written once, on [`Consumer`](Consumer#the-lifecycle-contract): delivery of every
//! accepted item in order per sender before the consumer's `close`; `close` once,
//! returning only when it is done; send after close is an error with the item back;
//! panics and errors reported, never unwound into producers, never silently dropped.
//!
//! # Errors
//!
//! [`SendError<T>`] hands the item back when it still exists; [`Error`] has a
//! [`kind`](Error::kind) you can match on, a message, a source, and for a runner that
//! stopped early, how many items it had accepted but not delivered.
//!
//! # Composing
//!
//! - [`ConsumerExt`]: `map`, `filter`, `filter_map`, `inspect` — push-side adapters
//!   that wrap a consumer and pass `close` through (the notes' "chaining").
//! - [`Broadcast`]: one stream to many consumers, with `register`/`unregister` (the
//!   notes' "dispatching" and the producer's set of consumers).
//! - [`from_fn`], [`try_from_fn`]: a consumer from a closure.
//! - [`Inline`], [`Shared`]: the in-line runner, alone or shared between threads.
//! - [`Request`], [`serve`], [`Client`]: request/reply — a service is a consumer of
//!   requests, so it moves between runners like any consumer (see [`Client`]).
//! - Ready-made impls for `Vec<T>` (collects), `&mut C`, `Box<C>` (also
//!   `Box<dyn Consumer<T> + Send>`), and std and crossbeam channel senders.
//!
//! # The conformance suite
//!
//! With the `testing` feature, `testing::Suite` checks any runner against the whole
//! contract; every runner in this workspace passes it.
//!
//! # Tracing
//!
//! This crate emits no logs or spans of its own. Runners open a span per run, named
//! after the runner, carrying [`Consumer::name`] — the one place a consumer says who
//! it is.
//!
//! # What this crate does not do
//!
//! No threads, no async runtime, no serialisation: those belong to the runner crates,
//! so a consumer written against this crate alone runs under all of them.
#![forbid(unsafe_code)]

mod adapters;
mod broadcast;
mod call;
mod consumer;
mod error;
mod from_fn;
mod inline;
mod stats;
mod sync;
#[cfg(feature = "testing")]
pub mod testing;

pub use adapters::{ConsumerExt, Filter, FilterMap, Inspect, Map};
pub use broadcast::{Broadcast, Key};
pub use call::{Client, Pending, Reply, Request, Serve, serve};
pub use consumer::{Consumer, short_type_name};
pub use error::{Error, ErrorKind, ResultExt, SendError};
pub use from_fn::{FromFn, from_fn, try_from_fn};
pub use inline::{Inline, Shared};
pub use stats::Stats;
