//! The project's tasks, in plain Rust: `cargo xtask <task>` (an alias in
//! `.cargo/config.toml`).
//!
//! - `test-all`: everything CI checks — tidy, formatting, clippy, tests and doc tests, docs
//!   without warnings, the loom models, and every example with its output checked.
//! - `tidy`: the docs agree with the tree (the code map names every source file; the
//!   loom list names every loom model). The first step of `test-all`.
//! - `needs`: the programs outside Rust that tests need (`nats-server`, `rsvg-convert`),
//!   installed from Debian's packages when missing. The second step of `test-all`.
//! - `bench [PACKAGE ...]`: the benchmarks, each printing ours, the raw baseline and
//!   their ratio; a summary of those lines at the end. With `--against REV [--rounds N]`:
//!   the same benchmarks built at REV too (a temporary worktree), run alternately, each
//!   row's ours/raw at HEAD ÷ at REV (`against.rs`); rows more than 3 % worse fail.
//!   `--pin CPUS` runs them under `taskset -c CPUS`, for the code's own cost alone.
//! - `soak [crowd|cycles|hostile]...`: the server soak (`soak.rs`), its figures printed.

mod against;
mod bench;
mod cmd;
mod examples;
mod listen;
mod needs;
mod soak;
mod test_all;
mod tidy;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("test-all") => test_all::run(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("examples") => examples::run(),
        Some("tidy") => tidy::run(),
        Some("needs") => needs::run(),
        Some("soak") => soak::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask <test-all [--skip STEP]... | tidy | needs | bench [--against REV [--rounds N] [--pin CPUS]] [PACKAGE]... | examples | soak [PART]...>"
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
