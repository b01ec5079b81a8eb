//! The project's tasks, in plain Rust: `cargo xtask <task>` (an alias in
//! `.cargo/config.toml`).
//!
//! - `test-all`: everything CI checks — formatting, clippy, tests and doc tests, docs
//!   without warnings, the loom models, and every example with its output checked.
//! - `bench [PACKAGE ...]`: the benchmarks, each printing ours, the raw baseline and
//!   their ratio; a summary of those lines at the end.

mod bench;
mod cmd;
mod examples;
mod listen;
mod test_all;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("test-all") => test_all::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("examples") => examples::run(),
        _ => {
            eprintln!(
                "usage: cargo xtask <test-all [--skip STEP]... | bench [PACKAGE]... | examples>"
            );
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
