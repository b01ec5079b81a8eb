//! Integration tests of the thread runner: the conformance suite, delivery under
//! load, failures, daemon and drop semantics, and the producer thread.

mod conformance;
