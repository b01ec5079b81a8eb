//! The same consumer across machines: the wire over Unix domain sockets and TCP,
//! behind authentication.
//!
//! A [`Server`] listens, authenticates each peer (a shared key, required for TCP),
//! and feeds its frames to a consumer — one per connection ([`Server::serve`]) or
//! one for all ([`Server::serve_shared`]), or a service of requests
//! ([`Server::serve_requests`]); a [`Connector`] connects, authenticates, and gives
//! a [`Sender`](consumer_process::Sender) whose `close` returns the far consumer's
//! outcome, or a [`Remote`](consumer_process::Remote) service. Both speak exactly
//! what pipes speak — `consumer-wire`'s handshake, frames, limits, reports — with
//! [`consumer_auth`]'s mutual HMAC-SHA-256 challenge-response in front of it.
//!
//! ```text
//!   machine B                                         machine A
//!   producer ─send─▶ Connector::sender ══ TCP/Unix ══▶ Server ─▶ consumer (per connection, or shared)
//!                         ▲          auth, handshake, frames      │
//!                         └──────────── report (outcome, count) ──┘
//! ```
//!
//! # An example
//!
//! ```
//! use consumer::Consumer;
//! use consumer_net::{Connector, PrivateDir, Server};
//!
//! let dir = PrivateDir::new("doc-net")?;
//! let addr = consumer_net::Address::Unix(dir.join("sock"));
//! let serving = Server::bind(&addr)?.serve(|| consumer::from_fn(|n: u32| println!("T-minus {n}")))?;
//! let mut tx = Connector::new(addr).sender::<u32>()?;
//! tx.send_all((1..=3).rev())?;
//! tx.close()?; // the far consumer's outcome
//! serving.shutdown()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it promises
//!
//! - **TCP fails closed**: without a key (or, for a server, client certificates;
//!   for a connector, TLS), server and connector refuse to start unless told
//!   `unauthenticated()`. No byte from an unauthenticated peer reaches a
//!   decoder (the consumer factory runs only after authentication), the pre-auth
//!   reads are fixed and small, a silent peer is dropped at the deadline; a failed
//!   connection is reported once ([`Server::on_error`]) and the server goes on
//!   serving the others.
//! - **Bounded**: no thread per connection; limits on connections, on peers still
//!   authenticating, on the whole handshake's time, on idleness, and on each
//!   connection's requests in flight, all with defaults ([`Server`] lists them),
//!   counted in [`Stats`].
//! - **TLS** on TCP ([`ServerTls`], [`ClientTls`]; rustls with ring): server
//!   certificates, optionally client certificates (mutual TLS, which may stand
//!   instead of the key; a key given as well is checked inside TLS). TLS on one side
//!   only is an error that names TLS on both sides, never clear text; the handshake
//!   has one deadline for the whole of it (see `docs/decisions/0014-tls.md`).
//! - **Unix sockets** live in a directory only their owner can enter
//!   ([`PrivateDir`]; `bind` refuses any other), never the abstract namespace.
//!
//! # Async
//!
//! `Connector::connect_async` / `sender_async`, and `Server::serve_async`,
//! `serve_shared_async`, `serve_requests_async`: the same server on the caller's
//! tokio runtime (the blocking methods run it on a runtime of their own).
//!
//! # What this crate does not do
//!
//! - No encryption unless asked: without [`Server::tls`] / [`Connector::tls`] the
//!   bytes travel in clear after authentication.
#![forbid(unsafe_code)]

mod accept;
mod conn;
mod connect;
mod engine;
mod guard;
mod limits;
mod live;
mod server;
mod tls;
mod tls_stream;
mod tls_tokio;
mod tokio_conn;
mod tokio_server;

pub use conn::{Address, Conn};
pub use connect::Connector;
pub use consumer_process::{Identity, PrivateDir};
pub use limits::Stats;
pub use server::{Server, Serving};
pub use tls::{ClientTls, ServerTls};
pub use tokio_conn::{AsyncConn, AsyncConnReader, AsyncConnWriter};
pub use tokio_server::AsyncServing;
