//! The socket layer's integration tests, one binary (see the house style).

mod limits;
mod net;
mod remote;
mod support;
mod tls;
mod tokio_net;
