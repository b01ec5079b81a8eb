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
    ("consumer-process", "loom_ring"),
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
    "consumer-timeline",
    "consumer-pool",
    "consumer-broker",
];

/// The crates of [`ALONE`] whose manifest declares `default` features, read from
/// `crates/*/Cargo.toml` so the list stays true as manifests change.
fn with_default_features() -> Result<Vec<String>> {
    let mut found = Vec::new();
    for dir in std::fs::read_dir(crate::cmd::root().join("crates"))? {
        let manifest = dir?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        match defaults(&text) {
            (Some(name), true) if ALONE.contains(&name.as_str()) => found.push(name),
            (None, _) => return Err(format!("{}: no package name", manifest.display()).into()),
            _ => {}
        }
    }
    found.sort();
    Ok(found)
}

/// A manifest's package name, and whether its `[features]` name a non-empty
/// `default` (enough TOML for our own manifests).
fn defaults(manifest: &str) -> (Option<String>, bool) {
    let (mut section, mut name, mut default) = ("", None, false);
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if let Some((key, value)) = line.split_once('=') {
            match (section, key.trim()) {
                ("[package]", "name") => name = Some(value.trim().trim_matches('"').to_string()),
                ("[features]", "default") => default = value.trim() != "[]",
                _ => {}
            }
        }
    }
    (name, default)
}

pub(crate) fn run_all(skip: &[String]) -> Result {
    let want = |step: &str| !skip.iter().any(|s| s == step);
    if want("tidy") {
        crate::tidy::run()?;
    }
    if want("needs") {
        crate::needs::run()?;
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
        // depends on one crate builds. The same target directory: cargo keys each
        // build by its features, so the two builds sit side by side and share every
        // dependency whose features agree.
        for package in ALONE {
            step(
                &format!("alone {package}"),
                &mut cargo(&["test", "--quiet", "-p", package]),
            )?;
        }
        // And with no default features, for those that have any: that its tests
        // compile is the check (their behaviour ran above and in `test`).
        let with_defaults = with_default_features()?;
        if with_defaults.is_empty() {
            eprintln!("\n== alone --no-default-features: no library crate has default features");
        }
        for package in with_defaults {
            step(
                &format!("alone {package} --no-default-features"),
                &mut cargo(&[
                    "check",
                    "--quiet",
                    "--tests",
                    "--no-default-features",
                    "-p",
                    &package,
                ]),
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
                    "unknown argument {a:?}; use --skip tidy|needs|fmt|clippy|test|doc|alone|loom|examples"
                )
                .into());
            }
        }
    }
    run_all(&skip)
}

#[cfg(test)]
mod tests {
    use super::defaults;

    #[test]
    fn default_features_are_read_from_the_manifest() {
        let with =
            "[package]\nname = \"a\"\n[lib]\nname = \"b\"\n[features]\ndefault = [\"x\"]\nx = []\n";
        assert_eq!(defaults(with), (Some("a".into()), true));
        let empty = "[package]\nname = \"a\"\n[features]\ndefault = []\n";
        assert_eq!(defaults(empty), (Some("a".into()), false));
        let none = "[package]\nname = \"a\"\n[dependencies]\ndefault = 1\n";
        assert_eq!(defaults(none), (Some("a".into()), false));
    }

    #[test]
    fn every_crate_manifest_is_read() {
        let found = super::with_default_features().expect("every manifest names its package");
        assert!(found.iter().all(|p| super::ALONE.contains(&p.as_str())));
    }
}
