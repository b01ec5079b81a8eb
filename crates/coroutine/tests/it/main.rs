//! The coroutine runner's integration tests, one binary.

mod conformance;
