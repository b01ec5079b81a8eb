//! The process runner's integration tests, one binary (see the house style).

mod bad_input;
mod child;
mod fifo;
mod identity;
mod pipe;
mod remote;
mod round_trip;
mod support;
#[cfg(feature = "tokio")]
mod tokio_io;
mod tracing_context;
