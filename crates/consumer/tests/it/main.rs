//! Integration tests of the core crate: one binary, one module per topic.

mod batch;
mod conformance;
mod contract;
