//! Who handled what, as a picture: a `tracing` layer that records every span entry
//! and event of a run — across threads, tokio tasks and processes — as a
//! Chrome/Perfetto trace, and an SVG of the same timeline for people without a
//! browser.
//!
//! ```text
//!  process A (pid 41) ── Timeline layer ──┐ append on exit
//!  process B (pid 42) ── Timeline layer ──┤──────────────▶ FILE.json.parts ──merge──▶ FILE.json + FILE.svg
//!  process C (pid 43) ── Timeline layer ──┘   (one JSON event per line)
//! ```
//!
//! - **Tracks:** one per thread, and one per tokio task for spans that carry a
//!   `task` field (and everything inside them), grouped under their real pid.
//! - **One clock:** timestamps are wall-clock microseconds since the Unix epoch, so
//!   the parts of several processes line up.
//! - **Flows:** a `send` event with `stream` and `msg` fields starts an arrow; a
//!   `receive` event with `sender_pid`, `stream` and `msg` ends it. The process
//!   sender and receiver (`consumer-wire`) emit exactly these at trace level, naming
//!   an item by sender pid, stream and place. For runners that move the item itself
//!   (a thread, a task, in-line), [`Traced`] around the handle and [`Handled`]
//!   around the consumer carry the id with the item and say the same two events.
//! - **Several processes:** each process installs its own layer on the same path
//!   (children learn it from [`ENV`]) and appends its part when its [`Flush`]
//!   drops — one write, so parts do not interleave. The process that started the
//!   run calls [`merge`] once the others have ended.
//!
//! # Example
//!
//! ```
//! use tracing_subscriber::prelude::*;
//!
//! let path = std::env::temp_dir().join(format!("timeline-lib-{}.json", std::process::id()));
//! consumer_timeline::reset(&path)?;
//! let (layer, flush) = consumer_timeline::Timeline::new(&path);
//! tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
//!     tracing::trace!(stream = 1u64, msg = 1u64, "send");
//!     tracing::trace!(sender_pid = u64::from(std::process::id()), stream = 1u64, msg = 1u64, "receive");
//! });
//! flush.finish()?;
//! let summary = consumer_timeline::merge(&path)?;
//! assert_eq!(summary.flows, 1);
//! # std::fs::remove_file(&path).ok(); std::fs::remove_file(&summary.svg).ok();
//! # Ok::<(), consumer::Error>(())
//! ```
//!
//! # Cost
//!
//! The layer takes a lock and builds a JSON value for every span entry and event
//! it sees; per-item events are at trace level, so filter the layer to `trace`
//! only when the per-item arrows are wanted. Measured in
//! `docs/decisions/0017-observability.md`. Without a subscriber nothing here runs.
//!
//! This crate does not sample, stream or rotate: the whole run stays in memory
//! until its part is written.

mod chrome;
mod flow;
mod layer;
mod svg;

pub use chrome::{Summary, merge, render, reset};
pub use flow::{Handled, Tagged, Traced};
pub use layer::{Flush, Timeline};

/// The environment variable through which a run's processes learn its trace
/// file: a parent sets it on the children it starts.
///
/// ```
/// assert_eq!(consumer_timeline::ENV, "CONSUMER_TIMELINE");
/// ```
pub const ENV: &str = "CONSUMER_TIMELINE";
