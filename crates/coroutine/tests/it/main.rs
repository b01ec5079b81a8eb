//! The coroutine runner's integration tests, one binary.

mod bound;
mod conformance;
mod coroutine;
mod delivery;
mod failure;
mod handle;
mod runtime_context;
mod shutdown;
mod sink;
mod support;
mod tracing_span;
