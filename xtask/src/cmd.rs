//! Running cargo and other commands, with the command line echoed first.

use std::error::Error;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

pub(crate) type Result<T = ()> = std::result::Result<T, Box<dyn Error>>;

/// `cargo` as the one that runs us (the `CARGO` variable), in the workspace root.
///
/// Without incremental compilation: xtask runs whole checks, not edit loops, and the
/// incremental caches were more than half of what test-all left on disk.
pub(crate) fn cargo(args: &[&str]) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.args(args)
        .current_dir(root())
        .env("CARGO_INCREMENTAL", "0");
    c
}

/// The workspace root: the parent of this crate's folder.
pub(crate) fn root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// Runs `cmd` with inherited output; an error names the step if it fails.
pub(crate) fn step(step: &str, cmd: &mut Command) -> Result {
    eprintln!("\n== {step}: {}", show(cmd));
    let t = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("{step}: cannot start: {e}"))?;
    eprintln!(
        "== {step}: {} in {:.1?}",
        if status.success() { "ok" } else { "FAILED" },
        t.elapsed()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})").into())
    }
}

/// Runs `cmd` capturing stdout (stderr passes through).
pub(crate) fn output(cmd: &mut Command) -> Result<Output> {
    Ok(cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).output()?)
}

pub(crate) fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
