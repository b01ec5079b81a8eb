//! Sockets: the same wire over Unix domain sockets and TCP, behind authentication.
//!
//! A [`Server`] listens, authenticates each peer (a shared key, required for TCP),
//! and feeds its frames to a consumer; a [`Connector`] connects, authenticates, and
//! gives a [`Sender`](crate::Sender) or a [`Remote`](crate::Remote) service. Both
//! speak exactly what pipes speak — handshake, frames, limits, reports — with
//! [`consumer_auth`]'s challenge-response in front of it. With the `tokio` feature,
//! `tokio_conn` and `tokio_server` add the async connect and server, sharing the blocking side's checks.

mod conn;
mod connect;
mod live;
mod private;
mod server;
#[cfg(feature = "tokio")]
mod tokio_conn;
#[cfg(feature = "tokio")]
mod tokio_server;

pub use conn::{Address, Conn};
pub use connect::Connector;
pub use private::PrivateDir;
pub use server::{Server, Serving};
#[cfg(feature = "tokio")]
pub use tokio_conn::{AsyncConn, AsyncConnReader, AsyncConnWriter};
#[cfg(feature = "tokio")]
pub use tokio_server::AsyncServing;
