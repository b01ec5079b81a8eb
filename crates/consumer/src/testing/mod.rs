//! The conformance suite every runner is held to, and the [`Probe`] it drives.
//!
//! Enabled by the `testing` feature; runner crates use it from their tests:
//!
//! ```toml
//! [dev-dependencies]
//! consumer = { workspace = true, features = ["testing"] }
//! ```
//!
//! [`Suite::run`] takes a function that runs a [`Probe`] the runner's way and
//! returns a handle, then checks the [lifecycle contract](crate::Consumer#the-lifecycle-contract)
//! through that handle: order per sender, delivery before close, close once and
//! last, close waiting for the consumer, errors after close with the item back,
//! several producers, a close racing live senders, close on drop, and panics and
//! errors in the consumer's `send` and `close`, with every accepted item accounted for.
//!
//! A transport that cannot keep a rule — a FIFO has no way back, so a far failure
//! cannot come back as what it was — declares it in a [`Profile`] given to
//! [`Suite::profile`]: each waived [`Rule`] carries its reason, is printed when the
//! suite runs, and has its checks replaced by a weaker form rather than skipped.

mod holding;
mod probe;
mod suite;

pub use holding::{Held, Holding};
pub use probe::{Event, Fault, Item, Probe, ProbeLog};
pub use suite::{Profile, Rule, Suite, check};
