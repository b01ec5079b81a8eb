//! Sockets: the same wire over Unix domain sockets and TCP, behind authentication.
//!
//! A [`Server`] listens, authenticates each peer (a shared key, required for TCP),
//! and feeds its frames to a consumer; a [`Connector`] connects, authenticates, and
//! gives a [`Sender`](crate::Sender) or a [`Remote`](crate::Remote) service. Both
//! speak exactly what pipes speak — handshake, frames, limits, reports — with
//! [`consumer_auth`]'s challenge-response in front of it.

mod conn;
mod connect;
mod private;
mod server;

pub use conn::{Address, Conn};
pub use connect::Connector;
pub use private::PrivateDir;
pub use server::{Server, Serving};
