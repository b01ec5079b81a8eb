//! Model-checks the gate (`src/gate.rs`) with loom: run through `cargo xtask test-all`.
#![cfg(loom)]
