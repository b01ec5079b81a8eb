//! The same consumer behind NATS JetStream: many producers and many workers sharing
//! one stream of work, surviving a crashed worker and a restarted broker.
//!
//! ```text
//!  Producer (a Consumer<T>) ─publish─▶ ┌──────── JetStream stream ────────┐ ─pull─▶ Worker ─send─▶ any consumer
//!  Producer ──────────────── publish─▶ │ stored, de-duplicated by msg id  │ ─pull─▶ Worker ─send─▶ any consumer
//!        ▲                             └──────────────────────────────────┘   ack ◀── after send returned Ok
//!        └── publish ack: stored
//! ```
//!
//! A [`Producer`] is a handle like any runner's: `send` publishes the item, encoded
//! by the wire's [`Codec`](consumer_wire::Codec) and stamped in the message headers
//! with the producer's id, its sequence number and the item type's
//! [`Identity`](consumer_wire::Identity). `Nats-Msg-Id` is producer id and
//! sequence, so a publish retried after a lost acknowledgement is stored once. A
//! [`Worker`] runs any consumer — a plain one, or any runner's handle — on the
//! stream: it pulls batches and acknowledges each item only after the consumer's
//! `send` returned `Ok`. Workers of one group share the work; an item a dead worker
//! held goes to another after the ack wait.
//!
//! The trace context crosses the broker too: when a `tracing` subscriber is
//! installed, a producer adds a W3C `traceparent` header (its trace id and current
//! span), and the worker handles that item inside a `broker.receive` span that names
//! it, in the producer's trace, so the consumer's own sends carry it on.
//!
//! ```
//! use consumer::Consumer;
//! use consumer_broker::{Broker, LocalServer, Producer, Worker, WorkerOptions};
//!
//! let server = LocalServer::start()?; // a nats-server of our own, on loopback
//! let broker = Broker::new(server.url());
//!
//! let mut producer = Producer::<String>::connect(&broker)?;
//! producer.send("ten".to_owned())?;
//! producer.send("nine".to_owned())?;
//! producer.close()?; // both stored by the broker
//!
//! let mut handled = Vec::new();
//! Worker::<String>::connect(&broker, WorkerOptions::new())?.run(&mut handled)?;
//! assert_eq!(handled, ["ten", "nine"]);
//! # Ok::<(), consumer::Error>(())
//! ```
//!
//! # The contract, restated behind a broker
//!
//! What holds unchanged, for the producer as a handle:
//!
//! - every item whose `send` returned `Ok` is stored (once) before `close` returns,
//!   and stored in per-producer order;
//! - `close` may be called again and returns the same outcome; `send` after `close`
//!   is [`Closed`](consumer::ErrorKind::Closed) with the item back; dropping the
//!   last handle closes as `close` would.
//! - A worker keeps the whole contract towards its consumer: items in stream order,
//!   nothing after a failure, `close` once (not after a panic).
//!
//! What changes:
//!
//! - **`close` waits for storage, not for handling.** The producer returns when the
//!   broker has the items; a worker may handle them much later, or on another
//!   machine. [`Worker::run`] is the far end's `close`: it returns once the group
//!   has nothing left and the consumer's `close` has run.
//! - **Producers do not see a worker's failure.** A consumer's error or panic
//!   comes back from the worker's `run`, not through the producer; the item is
//!   given back to the stream or dead-lettered by the
//!   [failure policy](Worker#failure-policy).
//! - **At least once, or handled once.** JetStream redelivers what was not
//!   acknowledged. Workers sharing a [`Dedup`] hand each (producer, sequence) to
//!   their consumers once; across processes an item being handled when its
//!   worker died may be handled again.
//! - **Order across workers.** Each worker sees each producer's items in order;
//!   several workers split them. [`WorkerOptions::ordered`] keeps the order across
//!   the group, one item at a time. After a broker crash, a publish that was lost
//!   is sent again and may land after later ones of the same producer.
//! - **A failed send names what is not confirmed.** With the broker gone, `send`
//!   waits up to the [send timeout](ProducerOptions::send_timeout), then fails with
//!   [`Timeout`](consumer::ErrorKind::Timeout), the item back and the number of
//!   items not confirmed.
//!
//! The conformance suite runs against a producer and a worker joined into one
//! handle (`tests/it/suite.rs`), waiving only the rule `FailureReportedAsIs` of
//! `consumer::testing`: a worker's failure reaches the joined `close`, not the
//! producer's sends.
//!
//! # What this crate does not do
//!
//! - No cluster of its own: NATS is the broker ([`LocalServer`] starts one on
//!   loopback for examples and tests).
//! - No encoding of its own: payloads are the wire's codec, identity the wire's.
//! - No async API yet: the blocking calls run on a small internal runtime, so call
//!   them from threads, not from inside async tasks.
#![forbid(unsafe_code)]

mod dedup;
mod local_server;
mod options;
mod producer;
mod publisher;
mod runtime;
mod stamp;
mod worker;

pub use dedup::Dedup;
pub use local_server::{INSTALL_HINT, LocalServer, nats_server};
pub use options::Broker;
pub use producer::{Producer, ProducerOptions};
pub use worker::{Report, Stop, Worker, WorkerOptions};
