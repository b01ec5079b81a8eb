//! `cargo xtask bench [PACKAGE ...]`: runs the benchmarks and summarises their lines;
//! `cargo xtask bench --against REV [--rounds N] [--pin CPUS] [PACKAGE ...]` compares them with an
//! earlier commit's (`against.rs`).

use crate::cmd::{Result, cargo, output};

pub(crate) fn run(packages: &[String]) -> Result {
    if packages.iter().any(|a| a == "--against") {
        return crate::against::run(packages);
    }
    let mut args = vec!["bench"];
    if packages.is_empty() {
        args.push("--workspace");
    }
    for p in packages {
        args.extend(["-p", p.as_str()]);
    }
    args.push("--benches");
    let mut cmd = cargo(&args);
    eprintln!("== bench: {}", crate::cmd::show(&cmd));
    let out = output(&mut cmd)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("bench ")).collect();
    println!(
        "\n== summary: ours against the raw baseline, same run (ratio = baseline time / ours)"
    );
    for l in &lines {
        println!("{l}");
    }
    if !out.status.success() {
        return Err(format!("benchmarks failed ({})", out.status).into());
    }
    if lines.is_empty() {
        return Err("no benchmark printed a result line".into());
    }
    Ok(())
}
