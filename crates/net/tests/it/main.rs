//! The socket layer's integration tests, one binary (see the house style).

mod net;
mod limits;
mod remote;
mod support;
mod tokio_net;
