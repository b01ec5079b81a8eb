//! The programs outside Rust that the tests need, and their installation.
//!
//! A fresh machine has only the Rust toolchain. `cargo xtask test-all` (and so
//! `.ci/run`) first makes sure each program in [`NEEDED`] is on the `PATH`: when one is
//! missing it installs the Debian package if it runs as root, and otherwise fails
//! with the exact command to run. Tests that need these programs never skip inside
//! test-all. `cargo xtask needs` does this step alone.

use crate::cmd::{Result, step};
use std::process::Command;

/// A program a test needs, and the Debian package that ships it.
#[derive(Debug)]
pub(crate) struct Needed {
    /// The executable's name, looked up on the `PATH`.
    pub(crate) program: &'static str,
    /// The Debian package to install when it is missing.
    pub(crate) package: &'static str,
    /// Why the project needs it (printed when it is installed or missing).
    pub(crate) why: &'static str,
}

/// Every program outside the Rust toolchain that test-all needs.
pub(crate) const NEEDED: &[Needed] = &[
    Needed {
        program: "nats-server",
        package: "nats-server",
        why: "the broker tests start their own NATS JetStream server on loopback",
    },
    Needed {
        program: "rsvg-convert",
        package: "librsvg2-bin",
        why: "the timeline tests render the SVG picture with a real renderer",
    },
    Needed {
        program: "openssl",
        package: "openssl",
        why: "the countdown's TLS listen/connect check makes its certificates at run time",
    },
];

/// Whether `program` is an executable file in one of the `PATH`'s folders.
pub(crate) fn on_path(program: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path)
        .any(|dir| std::fs::metadata(dir.join(program)).is_ok_and(|m| m.is_file() && m.len() > 0))
}

/// Whether this process runs as root (and so may install packages).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// Makes sure every program in [`NEEDED`] is present, installing what is missing.
pub(crate) fn run() -> Result {
    let missing: Vec<&Needed> = NEEDED.iter().filter(|n| !on_path(n.program)).collect();
    if missing.is_empty() {
        eprintln!("\n== needs: every program is present");
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|n| n.package).collect();
    for n in &missing {
        eprintln!("== needs: `{}` is missing: {}", n.program, n.why);
    }
    if !is_root() {
        return Err(format!(
            "missing programs; install them with: sudo apt-get install -y {}",
            packages.join(" ")
        )
        .into());
    }
    let install = |cmd: &mut Command| {
        cmd.args(["install", "-y", "--no-install-recommends"])
            .args(&packages)
            .env("DEBIAN_FRONTEND", "noninteractive");
        step("needs: apt-get install", cmd)
    };
    if install(&mut Command::new("apt-get")).is_err() {
        // A fresh machine may have no package lists yet.
        step(
            "needs: apt-get update",
            Command::new("apt-get").arg("update"),
        )?;
        install(&mut Command::new("apt-get"))?;
    }
    match NEEDED.iter().find(|n| !on_path(n.program)) {
        Some(n) => Err(format!(
            "`{}` is still not on the PATH after installing {}",
            n.program, n.package
        )
        .into()),
        None => Ok(()),
    }
}
