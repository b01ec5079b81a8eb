//! `cargo xtask soak`: the server soak of issue 11 — 10,000 idle connections on
//! each API, 2,000 connect cycles, hostile peers — built in release mode and run,
//! its figures printed (`crates/net/src/bin/soak.rs`). `cargo xtask soak crowd`
//! (or `cycles`, `hostile`) runs only those parts.

use crate::cmd::{Result, cargo, step};

pub(crate) fn run(parts: &[String]) -> Result {
    let mut args = vec![
        "run",
        "--release",
        "-p",
        "consumer-net",
        "--bin",
        "net-soak",
    ];
    if !parts.is_empty() {
        args.extend(["--", "only"]);
        args.extend(parts.iter().map(String::as_str));
    }
    step("soak", &mut cargo(&args))
}
