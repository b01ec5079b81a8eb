//! The process runner's integration tests, one binary (see the house style).

mod auto_flush;
mod bad_input;
mod child;
mod fifo;
mod identity;
mod pipe;
mod remote;
mod round_trip;
mod service;
mod spawn_self;
mod support;
#[cfg(feature = "tokio")]
mod tokio_io;
#[cfg(feature = "tokio")]
mod tokio_suite;
mod truncated;
