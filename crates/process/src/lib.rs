//! Run a consumer in another process: framed items over pipes, FIFOs and sockets,
//! and supervised child processes.
//!
//! The far end of a [`Sender`] is a [`Receiver`] that hands every item to a consumer
//! and closes it at the end of the stream. Both are plain [`Consumer`](consumer::Consumer)-shaped values
//! over any `Write` / `Read`, so a pipe, a FIFO, a file or a socket will do. A
//! [`Coprocess`] is a sender whose far end is a child process — possibly this very
//! program, re-run ([`Coprocess::spawn_self`]) — that serves its stdin with
//! [`serve_stdin`]:
//!
//! ```text
//!   parent                                   child (e.g. `prog --coprocess`)
//!   producer ─send─▶ Coprocess<T> ═══ socket pair (its stdin) ═══▶ serve_stdin ─▶ consumer
//!                      │  ▲  handshake, item frames, end frame      │
//!                      │  └─────────── report (outcome, count) ─────┘
//!                      └─ watches the child: exit status, signals, reaping
//! ```
//!
//! # An example
//!
//! The same consumer, first through a pipe to a thread, then in a child process:
//!
//! ```
//! use consumer::Consumer;
//! use consumer_process::{Receiver, Sender};
//!
//! let (r, w) = std::io::pipe()?;
//! let far = std::thread::spawn(move || {
//!     let mut got = Vec::new();
//!     Receiver::new(r).run::<String, _>(&mut got).map(|_| got)
//! });
//! let mut tx = Sender::new(w);
//! tx.send_all(["ten".to_owned(), "nine".to_owned()])?;
//! tx.close()?;
//! assert_eq!(far.join().unwrap()?, ["ten", "nine"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ```no_run
//! use consumer::Consumer;
//! use consumer_process::{Coprocess, serve_stdin};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! if std::env::args().any(|a| a == "--coprocess") {
//!     // The child: serve stdin to the consumer; its prints are its own.
//!     serve_stdin::<u32, _>(consumer::from_fn(|n: u32| println!("T-minus {n}")))?;
//!     return Ok(());
//! }
//! // The parent: the child is a consumer like any other.
//! let mut child = Coprocess::<u32>::spawn_self(["--coprocess"])?;
//! child.send_all((1..=10).rev())?;
//! child.close()?; // the child's real outcome: its consumer's error, or its exit status
//! # Ok(())
//! # }
//! ```
//!
//! # The wire
//!
//! The bytes are `consumer-wire`'s: a 16-byte handshake naming the codec and the
//! item type's [`Identity`], then length-prefixed frames — items, the sender's
//! tracing context, the end of the stream, and (on the way back) the receiver's
//! report. Every length is checked against a limit ([`DEFAULT_MAX_FRAME`], up to
//! [`MAX_FRAME_CEILING`]) before anything is allocated. Bad input stops the
//! receiver with a [`Protocol`](consumer::ErrorKind::Protocol) error naming the
//! problem and the frame number; never a panic, an abort or an unbounded
//! allocation. A stream that stops without its end frame (the sender died between
//! two writes) ends the receiver with
//! [`Disconnected`](consumer::ErrorKind::Disconnected), never as a success. This
//! crate is the blocking and tokio drivers of the wire's state machines; sockets are
//! `consumer-net`'s.
//!
//! Items are encoded by a [`Codec`]: [`Bincode`] (bincode 2.0.1, pinned, always
//! decoding with a limit) by default, or [`Postcard`]. Why, and what they cost:
//! `docs/decisions/0005-wire-format.md`.
//!
//! # Delivery, flushing, failure
//!
//! - [`Flush::Auto`] (the default) writes a lone item at once in the caller's
//!   thread, and coalesces a stream of `send`s in a writer thread of the sender's
//!   own (what piles up during one write leaves in the next; bounded queue).
//!   [`Flush::WhenIdle`] writes at the end of every `send`, with no thread.
//!   [`Flush::Manual`] writes only when 64 KiB are buffered, on `flush` and on
//!   `close`.
//! - With a report channel ([`Sender::with_report`], and always for a
//!   [`Coprocess`]), `close` returns the far consumer's outcome and how many items
//!   it never got; a failure of the far consumer makes later sends fail with its
//!   error, item handed back.
//! - A child that dies fails the next send at once, even when a grandchild still
//!   holds the socket; no child is left a zombie (see [`Coprocess`]).
//!
//! # Tracing
//!
//! A [`Coprocess`] opens a `process` span carrying the child's `pid`. Every stream
//! opens with a context frame — the sender's pid, the stream's number in that
//! process, a W3C trace id and the caller's span id — repeated in front of a batch
//! whenever the caller's span changed. The receiver's `process.receive` span records
//! them as `sender_pid`, `stream`, `sender_span` and `traceparent`, so a subscriber
//! on the far side can hang its spans under the parent's, and a consumer that sends
//! on carries the same trace id. At trace level the sender emits a `send` event and
//! the receiver a `receive` event per item, both naming it by `stream` and `msg`
//! (its place in the stream): `consumer-timeline` draws an arrow between them.
//! With trace level off (the default) each costs one relaxed load per item.
//!
//! # Record and replay
//!
//! The wire is a file format: a [`Sender`] over a `File` records a stream (with
//! its handshake, so the file says which item type and codec it holds), and a
//! [`Receiver`] over the file replays it into any consumer — in-line, or the handle
//! of a thread, task or process runner. A file cut short replays what it holds and
//! then fails with [`Disconnected`](consumer::ErrorKind::Disconnected); a file of
//! another item type is refused at the handshake.
//!
//! ```
//! use consumer::Consumer;
//! use consumer_process::{Receiver, Sender};
//!
//! let path = std::env::temp_dir().join(format!("doc-record-{}.wire", std::process::id()));
//! let mut rec = Sender::new(std::fs::File::create(&path)?);
//! rec.send_all([3u32, 2, 1])?;
//! rec.close()?; // the end frame: a complete recording
//! let mut got = Vec::new();
//! let n = Receiver::new(std::fs::File::open(&path)?).run::<u32, _>(&mut got)?;
//! assert_eq!((n, got), (3, vec![3, 2, 1]));
//! # std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! `examples/record_replay` replays one recording into the thread and the tokio
//! runners.
//!
//! # Request and reply
//!
//! A coprocess can answer. [`Remote`] is a consumer of [`Request`](consumer::Request)s
//! whose service is across any two byte streams ([`Remote::over`]); the far side
//! runs [`serve_requests`]; a service in a supervised child process is one call away
//! ([`Remote::spawn`], the child running [`serve_stdin_requests`]). Wrap it in
//! [`consumer::Client`] and it is called like a service in a thread or a task: correlation ids, many calls in flight, replies in
//! any order, a timeout per call, and an error — never a hang — when the service
//! fails, panics, closes or dies. Replies travel on their own stream, never on the
//! far process's stdout. Across machines, `consumer-net`'s `Connector::client` gives
//! a `Remote` over an authenticated socket.
//!
//! # Async
//!
//! With the `tokio` feature, `AsyncSender` and `AsyncReceiver` speak the same wire
//! over tokio's `AsyncWrite` / `AsyncRead`: the same state machines as the blocking
//! ends, driven by `.await`.
//!
//! # What this crate does not do
//!
//! - No sockets, servers or authentication: see `consumer-net`.
//! - Unix only (pipes, FIFOs, `waitid`).
//! - Items cross as values: no shared memory, no file descriptors.
#![forbid(unsafe_code)]

mod child;
mod child_service;
mod deadline;
mod doorbell;
mod io;
mod link;
mod private;
mod receiver;
mod remote;
mod ring;
mod sender;
mod sync;
#[cfg(feature = "tokio")]
mod tokio_io;
mod watch;

pub use child::{
    ChildPipe, Coprocess, DEFAULT_GRACE, make_fifo, serve_fifo, serve_stdin, serve_stdin_with_codec,
};
pub use child_service::serve_stdin_requests;
pub use consumer_wire::{Bincode, Codec, DEFAULT_MAX_FRAME, Identity, MAX_FRAME_CEILING, Postcard};
pub use private::PrivateDir;
pub use receiver::Receiver;
pub use remote::{Remote, serve_requests, serve_requests_pinned, stream_identities};
pub use sender::{Flush, Sender, SharedSender};
#[cfg(feature = "tokio")]
pub use tokio_io::{AsyncReceiver, AsyncSender};

/// The model-checked wake-up protocol and byte ring, exported only to the loom
/// models in `tests/loom_doorbell.rs` and `tests/loom_ring.rs`.
#[cfg(loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::doorbell::Doorbell;
    pub use crate::ring::{Reader, Writer, ring};
}
