//! `cargo xtask tidy`: checks that keep the docs true to the tree (in the spirit of
//! rust-analyzer's tidy tests).
//!
//! - Every source file under `crates/*/src` is named in `docs/architecture.md`'s code
//!   map, by its file name (`link.rs`). Exempt: `lib.rs`, `main.rs`, `mod.rs`,
//!   `tests.rs` (a module's unit tests) and anything under `bin/` (test children).
//! - test-all's loom list names exactly the `crates/*/tests/loom*.rs` files.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::cmd::{Result, root};

const EXEMPT: &[&str] = &["lib.rs", "main.rs", "mod.rs", "tests.rs"];

pub(crate) fn run() -> Result {
    eprintln!("\n== tidy");
    let root = root();
    let mut problems = unmapped_files(&root)?;
    problems.extend(loom_drift(&root)?);
    if problems.is_empty() {
        eprintln!("== tidy: ok");
        return Ok(());
    }
    for p in &problems {
        eprintln!("tidy: {p}");
    }
    Err(format!("tidy found {} problem(s)", problems.len()).into())
}

/// The crate folders under `crates/`, sorted.
fn crate_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root.join("crates"))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    dirs.retain(|d| d.join("Cargo.toml").is_file());
    dirs.sort();
    Ok(dirs)
}

/// Source files the code map does not name.
fn unmapped_files(root: &Path) -> Result<Vec<String>> {
    let map = fs::read_to_string(root.join("docs/architecture.md"))?;
    let mut problems = Vec::new();
    for dir in crate_dirs(root)? {
        let mut files = Vec::new();
        rust_files(&dir.join("src"), &mut files)?;
        for file in files {
            let name = file_name(&file);
            let under_bin = file.components().any(|c| c.as_os_str() == "bin");
            if EXEMPT.contains(&name.as_str()) || under_bin || names_file(&map, &name) {
                continue;
            }
            let shown = file.strip_prefix(root).unwrap_or(&file).display();
            problems.push(format!(
                "{shown} is not named in docs/architecture.md's code map; add `{name}` with one line on what it holds"
            ));
        }
    }
    Ok(problems)
}

/// Does `text` mention `name` as a whole file name (not the tail of a longer one)?
fn names_file(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Differences between test-all's loom list and the `tests/loom*.rs` files.
fn loom_drift(root: &Path) -> Result<Vec<String>> {
    let mut on_disk = BTreeSet::new();
    for dir in crate_dirs(root)? {
        let package = package_name(&dir)?;
        let Ok(entries) = fs::read_dir(dir.join("tests")) else {
            continue;
        };
        for entry in entries {
            let name = file_name(&entry?.path());
            if let Some(stem) = name.strip_suffix(".rs")
                && stem.starts_with("loom")
            {
                on_disk.insert((package.clone(), stem.to_owned()));
            }
        }
    }
    let listed: BTreeSet<(String, String)> = crate::test_all::LOOM
        .iter()
        .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
        .collect();
    let mut problems = Vec::new();
    for (package, test) in on_disk.difference(&listed) {
        problems.push(format!(
            "{package}'s tests/{test}.rs is missing from LOOM in xtask/src/test_all.rs"
        ));
    }
    for (package, test) in listed.difference(&on_disk) {
        problems.push(format!(
            "LOOM in xtask/src/test_all.rs names {package}/{test}, which has no tests/{test}.rs"
        ));
    }
    Ok(problems)
}

/// The `name` in a crate's `[package]` section.
fn package_name(dir: &Path) -> Result<String> {
    let manifest = fs::read_to_string(dir.join("Cargo.toml"))?;
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value.trim_start().trim_start_matches('=').trim();
            return Ok(value.trim_matches('"').to_owned());
        }
    }
    Err(format!("{}: no [package] name", dir.join("Cargo.toml").display()).into())
}

#[cfg(test)]
mod tests {
    use super::names_file;

    #[test]
    fn a_file_name_is_matched_whole() {
        assert!(names_file("`link.rs`: the writer", "link.rs"));
        assert!(names_file("see testing/probe.rs", "probe.rs"));
        assert!(!names_file("`tokio_run.rs`", "run.rs"));
        assert!(!names_file("nothing here", "run.rs"));
    }
}
