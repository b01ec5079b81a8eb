//! Integration tests of the thread runner: one binary, one module per topic.

mod bound;
mod conformance;
mod delivery;
mod failure;
mod lifecycle;
mod producer;
mod spans;
mod util;
