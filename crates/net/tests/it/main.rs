//! The socket layer's integration tests, one binary (see the house style).

mod net;
mod remote;
mod support;
mod tls;
#[cfg(feature = "tokio")]
mod tokio_net;
