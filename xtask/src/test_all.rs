//! `cargo xtask test-all`: every check CI runs, failing on the first failure.

use crate::cmd::{Result, cargo, step};

/// Loom models: (package, test target). Each runs in its own target directory with
/// `--cfg loom`, so the ordinary build is not invalidated. `cargo xtask tidy` checks
/// that this list names exactly the `crates/*/tests/loom*.rs` files.
pub(crate) const LOOM: &[(&str, &str)] = &[
    ("consumer", "loom_call"),
    ("consumer-primitives", "loom"),
    ("consumer-coroutine", "loom_control"),
    ("consumer-thread", "loom_gate"),
    ("consumer-thread", "loom_oneshot"),
    ("consumer-process", "loom_doorbell"),
];

/// The library crates users depend on one by one.
const ALONE: &[&str] = &[
    "consumer",
    "consumer-auth",
    "consumer-primitives",
    "consumer-thread",
    "consumer-coroutine",
    "consumer-wire",
    "consumer-process",
    "consumer-net",
];

pub(crate) fn run_all(skip: &[String]) -> Result {
    let want = |step: &str| !skip.iter().any(|s| s == step);
    if want("tidy") {
        crate::tidy::run()?;
    }
    if want("fmt") {
        step("fmt", &mut cargo(&["fmt", "--all", "--", "--check"]))?;
    }
    if want("clippy") {
        step(
            "clippy",
            &mut cargo(&[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]),
        )?;
    }
    if want("test") {
        step(
            "test",
            &mut cargo(&["test", "--workspace", "--all-features"]),
        )?;
    }
    if want("doc") {
        step(
            "doc",
            cargo(&["doc", "--workspace", "--no-deps", "--all-features"])
                .env("RUSTDOCFLAGS", "-D warnings"),
        )?;
    }
    if want("alone") {
        // Each library crate on its own, with its default features: what a user who
        // depends on one crate builds. Its own target directory, so the workspace's
        // all-features build above is not invalidated.
        for package in ALONE {
            let target = crate::cmd::root().join("target").join("alone");
            step(
                &format!("alone {package}"),
                cargo(&["test", "--quiet", "-p", package]).env("CARGO_TARGET_DIR", target),
            )?;
        }
    }
    if want("loom") {
        for (package, test) in LOOM {
            let target = crate::cmd::root().join("target").join("loom");
            step(
                &format!("loom {package}/{test}"),
                cargo(&["test", "--release", "-p", package, "--test", test])
                    .env("RUSTFLAGS", "--cfg loom")
                    .env("CARGO_TARGET_DIR", target)
                    .env("LOOM_MAX_PREEMPTIONS", "2"),
            )?;
        }
    }
    if want("examples") {
        crate::examples::run()?;
    }
    eprintln!("\ntest-all: every step passed");
    Ok(())
}

pub(crate) fn run(args: &[String]) -> Result {
    let mut skip = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match (a.as_str(), it.next()) {
            ("--skip", Some(step)) => skip.push(step.clone()),
            _ => {
                return Err(format!(
                    "unknown argument {a:?}; use --skip tidy|fmt|clippy|test|doc|alone|loom|examples"
                )
                .into());
            }
        }
    }
    run_all(&skip)
}
