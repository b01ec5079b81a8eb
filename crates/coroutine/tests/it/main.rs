//! The coroutine runner's integration tests, one binary.

mod conformance;
mod coroutine;
mod delivery;
mod failure;
mod runtime_context;
mod support;
