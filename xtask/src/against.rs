//! `cargo xtask bench --against REV [--rounds N] [--pin CPUS] [PACKAGE ...]`: today's
//! benchmarks against those of an earlier commit, as a ratio of ratios.
//!
//! Every benchmark line is ours against a raw baseline measured in the same run
//! (`benchkit`), so each carries its own yardstick. Built at REV (in a temporary git
//! worktree, with its own target directory under the workspace's, both removed at the
//! end) and at HEAD, the bench binaries run alternately, round after round; for every
//! row both print, a round gives HEAD's ours/raw ÷ REV's ours/raw, and the median over
//! the rounds is printed. The machine's load moves ours and raw together, so it mostly
//! cancels; a row whose median falls below 0.97 (3 % slower than REV, relative to
//! the same raw baseline) is flagged and the command fails.
//!
//! REV gets a target directory of its own: sharing the workspace's would save
//! building the dependencies again, but the binaries cargo copies to
//! `target/release/` (a bench's child program, `process-test-child`) would be
//! overwritten by REV's, and HEAD's benchmark would spawn REV's child (tried: a
//! protocol-version mismatch killed the process benchmark).
//!
//! `--pin CPUS` runs every bench binary under `taskset -c CPUS` (util-linux). On
//! one CPU a round trip always costs the same two context switches, where on two it
//! switches between regimes (both sides spinning, or one asleep) from run to run, and
//! a single build's latency then spans a factor of three: pinned, a 3 % difference
//! in the code's own cost is measurable. It compares code, not parallel speed: a
//! pinned row is not the figure `cargo xtask bench` prints.
//!
//! The ratio is computed from the printed rates (three significant figures), not the
//! printed two-decimal ratio, which is too coarse for a 3 % bound.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cmd::{Result, cargo, output, root, show};

/// A row more than this much slower than at REV (ratio of ratios) is flagged.
const BOUND: f64 = 0.97;

pub(crate) fn run(args: &[String]) -> Result {
    let mut rev = None;
    let mut rounds = 3usize;
    let mut pin = None;
    let mut packages = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--against" => rev = it.next().cloned(),
            "--rounds" => {
                rounds = it
                    .next()
                    .and_then(|r| r.parse().ok())
                    .filter(|&r| r > 0)
                    .ok_or("--rounds wants a number above 0")?;
            }
            "--pin" => {
                pin = Some(
                    it.next()
                        .map(String::as_str)
                        .ok_or("--pin wants CPUs, as taskset -c takes them")?,
                )
            }
            p => packages.push(p.to_owned()),
        }
    }
    let rev = rev.ok_or("--against wants a git revision (a commit, a tag, a branch)")?;
    let commit = git_out(
        &root(),
        &["rev-parse", "--verify", &format!("{rev}^{{commit}}")],
    )?;

    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    let scratch = Scratch::new(target.join("bench-against"))?;
    eprintln!(
        "== bench --against {rev} ({}): worktree {}",
        &commit[..12],
        scratch.src().display()
    );
    git(
        &root(),
        &[
            "worktree",
            "add",
            "--detach",
            &path_str(&scratch.src())?,
            &commit,
        ],
    )?;

    let head = build(&root(), None, &packages)?;
    let old = build(&scratch.src(), Some(&scratch.target()), &packages)?;
    let pairs: Vec<(String, PathBuf, PathBuf)> = head
        .iter()
        .filter_map(|(name, h)| old.get(name).map(|o| (name.clone(), h.clone(), o.clone())))
        .collect();
    if pairs.is_empty() {
        return Err("no bench target exists both at HEAD and at REV".into());
    }
    for name in head.keys().filter(|n| !old.contains_key(*n)) {
        eprintln!("== bench target {name}: new since {rev}, not compared");
    }

    // rows[name] = (HEAD's ratio, REV's ratio) per round.
    let mut rows: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for round in 0..rounds {
        for (name, h, o) in &pairs {
            eprintln!("== round {}/{rounds}: {name}", round + 1);
            // Alternate which build goes first, so a drift in load favours neither.
            let (first, second) = if round % 2 == 0 { (h, o) } else { (o, h) };
            let a = run_bench(first, pin)?;
            let b = run_bench(second, pin)?;
            let (hr, or) = if round % 2 == 0 { (a, b) } else { (b, a) };
            for (row, head_ratio) in &hr {
                if let Some(old_ratio) = or.get(row) {
                    rows.entry(row.clone())
                        .or_default()
                        .push((*head_ratio, *old_ratio));
                }
            }
        }
    }
    drop(scratch);

    println!(
        "\n== HEAD against {rev} ({}), {rounds} rounds{}: each build's ours/raw, and HEAD's ÷ REV's (median, min–max)",
        &commit[..12],
        pin.map(|c| format!(", pinned to CPU {c}"))
            .unwrap_or_default(),
    );
    let mut worse = Vec::new();
    for (row, pairs) in &rows {
        let mut h: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let mut o: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let mut rr: Vec<f64> = pairs.iter().map(|p| p.0 / p.1).collect();
        let m = benchkit::median(&mut rr);
        let flag = if m < BOUND {
            worse.push(row.clone());
            "  WORSE than 3 %"
        } else {
            ""
        };
        println!(
            "against {row:<44} HEAD {:.3}  REV {:.3}  HEAD÷REV {m:.3} ({:.3}–{:.3}){flag}",
            benchkit::median(&mut h),
            benchkit::median(&mut o),
            rr[0],
            rr[rr.len() - 1],
        );
    }
    if rows.is_empty() {
        return Err("no benchmark row was printed by both builds".into());
    }
    if worse.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} row(s) more than 3 % worse than at {rev}: {}",
            worse.len(),
            worse.join(", ")
        )
        .into())
    }
}

/// The bench binaries of `packages` built in `dir`, by bench target name.
fn build(
    dir: &Path,
    target: Option<&Path>,
    packages: &[String],
) -> Result<BTreeMap<String, PathBuf>> {
    let mut args = vec!["bench", "--no-run", "--message-format=json"];
    if packages.is_empty() {
        args.push("--workspace");
    }
    for p in packages {
        args.extend(["-p", p.as_str()]);
    }
    let mut cmd = cargo(&args);
    cmd.current_dir(dir);
    if let Some(t) = target {
        cmd.env("CARGO_TARGET_DIR", t);
    }
    eprintln!("== build in {}: {}", dir.display(), show(&cmd));
    let out = output(&mut cmd)?;
    if !out.status.success() {
        return Err(format!(
            "building the benchmarks in {} failed ({})",
            dir.display(),
            out.status
        )
        .into());
    }
    Ok(executables(&String::from_utf8_lossy(&out.stdout)))
}

/// Bench executables from cargo's JSON messages: `name` of a `bench` target → path.
fn executables(json: &str) -> BTreeMap<String, PathBuf> {
    let mut found = BTreeMap::new();
    for line in json.lines() {
        if !line.contains(r#""kind":["bench"]"#) {
            continue;
        }
        let (Some(exe), Some(name)) =
            (string_field(line, "executable"), string_field(line, "name"))
        else {
            continue;
        };
        found.insert(name, PathBuf::from(exe));
    }
    found
}

/// The first `"key":"value"` in a JSON line (values here hold no escaped quotes).
fn string_field(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!(r#""{key}":""#))? + key.len() + 4;
    let len = line[start..].find('"')?;
    Some(line[start..start + len].to_owned())
}

/// Runs one bench binary (its environment passes through: `ONLY`, `BENCH_ROUNDS`),
/// under `taskset -c CPUS` when pinned; its rows' ours ÷ raw speed ratios.
fn run_bench(exe: &Path, pin: Option<&str>) -> Result<BTreeMap<String, f64>> {
    let mut cmd = match pin {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.arg("--bench");
    let out = output(&mut cmd)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    if !out.status.success() {
        return Err(format!("{} failed ({})", exe.display(), out.status).into());
    }
    Ok(stdout.lines().filter_map(parse_line).collect())
}

/// `bench NAME ours X UNIT baseline Y UNIT ratio R ...` → (NAME, ours speed ÷ baseline
/// speed), from the two printed figures.
fn parse_line(line: &str) -> Option<(String, f64)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    if words.first() != Some(&"bench") {
        return None;
    }
    let at = |w: &str| words.iter().position(|x| *x == w);
    let (o, b, r) = (at("ours")?, at("baseline")?, at("ratio")?);
    let ours = speed(&words[o + 1..b])?;
    let base = speed(&words[b + 1..r])?;
    Some((words.get(1)?.to_string(), ours / base))
}

/// A printed figure as a speed (higher is faster): a rate as is, a latency inverted.
fn speed(words: &[&str]) -> Option<f64> {
    let v: f64 = words.first()?.parse().ok()?;
    let unit: String = words[1..].concat();
    let scale = |u: &str| match u.chars().next() {
        Some('G') => 1e9,
        Some('M') => 1e6,
        Some('k') => 1e3,
        _ => 1.0,
    };
    let s = match unit.as_str() {
        "ns" => 1.0 / (v * 1e-9),
        "µs" => 1.0 / (v * 1e-6),
        "ms" => 1.0 / (v * 1e-3),
        u if u.ends_with("/s") => v * scale(u),
        _ => return None,
    };
    (s > 0.0).then_some(s)
}

/// The worktree and target directory for REV; removed when dropped, also on error.
struct Scratch(PathBuf);

impl Scratch {
    fn new(dir: PathBuf) -> Result<Scratch> {
        let s = Scratch(dir);
        s.remove();
        std::fs::create_dir_all(&s.0)?;
        Ok(s)
    }
    fn src(&self) -> PathBuf {
        self.0.join("src")
    }
    fn target(&self) -> PathBuf {
        self.0.join("target")
    }
    fn remove(&self) {
        if self.src().exists()
            && let Ok(p) = path_str(&self.src())
        {
            let _ = git(&root(), &["worktree", "remove", "--force", &p]);
        }
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = git(&root(), &["worktree", "prune"]);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        eprintln!("== removing {}", self.0.display());
        self.remove();
    }
}

fn path_str(p: &Path) -> Result<String> {
    Ok(p.to_str()
        .ok_or("the target directory's path is not UTF-8")?
        .to_owned())
}

fn git(dir: &Path, args: &[&str]) -> Result {
    git_out(dir, args).map(drop)
}

fn git_out(dir: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("git").args(args).current_dir(dir).output()?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_from_their_figures() {
        let l = "bench thread/u64/1-producer                     ours  41.20 M items/s  baseline  44.00 M items/s  ratio 0.94 (target 0.90: met)";
        let (name, r) = parse_line(l).unwrap();
        assert_eq!(name, "thread/u64/1-producer");
        assert!((r - 41.2 / 44.0).abs() < 1e-9);
        let l = "bench process/64k ours 4.10 GB/s baseline 820.00 MB/s ratio 5.00";
        assert!((parse_line(l).unwrap().1 - 5.0).abs() < 1e-9);
        let l = "bench thread/u64/round-trip ours 12.00 µs baseline 6.00 µs ratio 0.50";
        assert!((parse_line(l).unwrap().1 - 0.5).abs() < 1e-9);
        let l = "bench x ours 1.00 k items/s baseline 500.00 items/s ratio 2.00";
        assert!((parse_line(l).unwrap().1 - 2.0).abs() < 1e-9);
        assert!(parse_line("== summary").is_none());
    }

    #[test]
    fn executables_from_cargo_json() {
        let json = concat!(
            r#"{"reason":"compiler-artifact","target":{"kind":["bench"],"name":"thread"},"executable":"/t/release/deps/thread-ab12"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"consumer"},"executable":null}"#,
        );
        let e = executables(json);
        assert_eq!(e.len(), 1);
        assert_eq!(e["thread"], PathBuf::from("/t/release/deps/thread-ab12"));
    }
}
