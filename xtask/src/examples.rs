//! Runs every example and checks what it prints.
//!
//! Add a row to `CHECKS` for each new example (or mode of one); add a runner's name to
//! `COUNTDOWN_RUNNERS` when the countdown learns it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cmd::{Result, cargo, root, step};

/// Every `--runner` the countdown accepts, in the order `--runner all` runs them.
const COUNTDOWN_RUNNERS: &[&str] = &["inline", "thread"];

/// What an example must print on stdout.
enum Expect {
    /// Exactly this.
    Exact(&'static str),
    /// Each of these lines, in this order (other lines may come between).
    Lines(&'static [&'static str]),
    /// Exit unsuccessfully, saying this on stderr.
    Fails(&'static str),
}

struct Check {
    example: &'static str,
    args: &'static [&'static str],
    expect: Expect,
}

const CHECKS: &[Check] = &[
    Check {
        example: "countdown",
        args: &["--runner", "bogus"],
        expect: Expect::Fails("unknown runner `bogus`; valid runners: all, inline, thread"),
    },
    Check {
        example: "countdown",
        args: &["--help"],
        expect: Expect::Lines(&["usage: countdown [--runner all|inline|thread"]),
    },
    Check {
        example: "producer_consumer",
        args: &[],
        expect: Expect::Exact(
            "T-minus 10\nT-minus 9\nT-minus 8\nT-minus 7\nT-minus 6\nT-minus 5\n\
             T-minus 4\nT-minus 3\nT-minus 2\nT-minus 1\nKaboom!\n\
             tally: 10 items, sum 55\n\
             producer: sent 10 items to 2 consumer threads\n\
             main: the tally thread handed back Tally { count: 10, sum: 55 }\n",
        ),
    },
    Check {
        example: "pipeline",
        args: &[],
        expect: Expect::Exact(
            "double: closing after 10 items\n\
             square: closing after 10 items\n\
             sum: closing after 10 items: total 1540\n\
             main: pipeline closed\n\
             main: sum of (2n)² for n in 1..=10 is 1540\n",
        ),
    },
];

/// How long one example may run.
const TIMEOUT: Duration = Duration::from_secs(120);

fn countdown_transcript() -> String {
    let mut s: String = (1..=10).rev().map(|n| format!("T-minus {n}\n")).collect();
    s.push_str("Kaboom!\n");
    s
}

pub(crate) fn run() -> Result {
    step(
        "build examples",
        &mut cargo(&["build", "--package", "examples", "--examples"]),
    )?;
    let transcript = countdown_transcript();
    let mut all = String::new();
    for runner in COUNTDOWN_RUNNERS {
        check_one(
            "countdown",
            &["--runner", runner],
            &Expect::Exact(leak(transcript.clone())),
        )?;
        all.push_str(&format!("== {runner} ==\n{transcript}"));
    }
    check_one("countdown", &[], &Expect::Exact(leak(all)))?;
    for c in CHECKS {
        check_one(c.example, c.args, &c.expect)?;
    }
    eprintln!("== examples: ok");
    Ok(())
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn check_one(example: &str, args: &[&str], expect: &Expect) -> Result {
    let bin = root()
        .join("target")
        .join("debug")
        .join("examples")
        .join(example);
    let shown = format!("{example} {}", args.join(" "));
    eprintln!("-- example {shown}");
    let t = Instant::now();
    let mut child = Command::new(&bin)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let (mut out, mut err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if t.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("example `{shown}` did not finish within {TIMEOUT:?}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    let fail = |why: String| -> Result {
        Err(format!("example `{shown}`: {why}\n--- stdout\n{stdout}--- stderr\n{stderr}").into())
    };
    match expect {
        Expect::Fails(msg) => {
            if status.success() {
                return fail("should have failed but succeeded".into());
            }
            if !stderr.contains(msg) {
                return fail(format!("stderr should contain {msg:?}"));
            }
        }
        _ if !status.success() => return fail(format!("exited with {status}")),
        Expect::Exact(want) => {
            if stdout != *want {
                return fail(format!("stdout differs; expected:\n{want}"));
            }
        }
        Expect::Lines(lines) => {
            let mut rest = stdout.lines();
            for want in *lines {
                if !rest.any(|l| l.contains(want)) {
                    return fail(format!("missing line containing {want:?} (in order)"));
                }
            }
        }
    }
    eprintln!("   ok in {:.1?}", t.elapsed());
    Ok(())
}
