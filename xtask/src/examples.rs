//! Runs every example and checks what it prints.
//!
//! Add a row to `CHECKS` for each new example (or mode of one); add a runner's name to
//! `COUNTDOWN_RUNNERS` when the countdown learns it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::cmd::{Result, cargo, root, step};

/// Every `--runner` the countdown accepts, in the order `--runner all` runs them, with
/// the header its Countdown prints (`*` stands for a pid, a task, a path or a port).
const COUNTDOWN_RUNNERS: &[(&str, &str)] = &[
    ("inline", r#"== inline: pid *, thread "main" =="#),
    ("thread", r#"== thread: pid *, thread "Countdown" =="#),
    (
        "coroutine",
        r#"== coroutine: pid *, thread "*", tokio task * =="#,
    ),
    (
        "process",
        r#"== process: pid *, thread "main", a child of pid * =="#,
    ),
    (
        "fifo",
        r#"== fifo: pid *, thread "main", a child of pid * =="#,
    ),
    (
        "unix",
        r#"== unix: pid *, thread "consumer-server", tokio task *, served at unix:*/countdown.sock =="#,
    ),
    (
        "tcp",
        r#"== tcp: pid *, thread "consumer-server", tokio task *, served at 127.0.0.1:* =="#,
    ),
    (
        "broker",
        r#"== broker: pid *, thread "main", via JetStream at 127.0.0.1:* =="#,
    ),
];

/// What an example must print on stdout.
enum Expect {
    /// Exactly this.
    Exact(&'static str),
    /// Exactly this, line by line, where a `*` in an expected line stands for any text
    /// (a pid, a port).
    Matching(&'static str),
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
        // Spawns its sibling `orders_consumer` (built by the same `--examples` build).
        example: "orders_producer",
        args: &[],
        expect: Expect::Exact(
            "consumer: order 1: 2 × apple\n\
             consumer: order 2: 5 × pear\n\
             consumer: order 3: 1 × fig\n\
             producer: 3 orders delivered\n\
             producer: OrderV2 refused: handshake: the peer sends `Order { id: u64, item: String, qty: u32, note: String }`, \
             this end expects `Order { id: u64, item: String, qty: u32 }` \
             (item type fingerprints c816b0ec45b807ab and 2d6340a930b9b62a)\n",
        ),
    },
    Check {
        example: "countdown",
        args: &["--help"],
        expect: Expect::Lines(&[
            "countdown --coprocess [FIFO]",
            "countdown --listen ADDR",
            "countdown --connect ADDR",
        ]),
    },
    Check {
        example: "service",
        args: &[],
        expect: Expect::Exact(
            "inline: 6 calls from 2 threads, 34 letters in all\n\
             inline: the call that panicked the service: consumer panicked: the service cannot count `!` (0 items undelivered)\n\
             inline: the next call fails too\n\
             thread: 6 calls from 2 threads, 34 letters in all\n\
             thread: the call that panicked the service: consumer panicked: the service panicked while handling this request\n\
             thread: the next call fails too\n\
             coroutine: 6 calls from 2 threads, 34 letters in all\n\
             coroutine: the call that panicked the service: consumer panicked: the service panicked while handling this request\n\
             coroutine: the next call fails too\n\
             socket: 6 calls from 2 threads, 34 letters in all\n\
             socket: the call that panicked the service: consumer panicked: the service panicked while handling this request\n\
             socket: the next call fails too\n",
        ),
    },
    Check {
        // The shape only: the speed-up is measured, never asserted (a busy machine).
        example: "speedup",
        args: &["8"],
        expect: Expect::Matching(
            "speedup: 8 blocks of 20000 SHA-256 rounds, 1 worker and * workers\n\
             threads: 1 worker * s, * workers * s: *x\n\
             processes: 1 worker * s, * workers * s: *x\n\
             plain threads, no pool: 1 thread * s, * threads * s: *x\n\
             every run delivered all 8 blocks\n",
        ),
    },
    Check {
        example: "speedup",
        args: &["many"],
        expect: Expect::Fails("the argument is the number of blocks"),
    },
    Check {
        example: "dispatch",
        args: &[],
        expect: Expect::Exact(
            "dispatching 1..=100 to 3 consumers\n\
             thread: 100 items, sum 5050\n\
             task: 100 items, sum 5050\n\
             main: the thread runner handed back Tally { who: \"thread\", count: 100, sum: 5050 }\n\
             main: the in-line filter kept 50 even items\n",
        ),
    },
    Check {
        example: "coroutine",
        args: &[],
        expect: Expect::Exact(
            "Receiving countdown\nT-minus 10\nT-minus 9\nT-minus 8\nT-minus 7\nT-minus 6\n\
             T-minus 5\nT-minus 4\nT-minus 3\nT-minus 2\nT-minus 1\nKaboom!\n\
             close returned after the cleanup\n\
             send after close: consumer is closed (got Some(0) back)\n",
        ),
    },
    Check {
        example: "race_condition",
        args: &[],
        expect: Expect::Lines(&[
            "x += 1, the other x -= 1, 2000000 times each",
            "(updates lost",
            "with a lock (std Mutex): total 0 in",
            "with an atomic fetch_add: total 0 in",
        ]),
    },
    Check {
        example: "race_condition",
        args: &["none"],
        expect: Expect::Fails("the argument is the number of updates per thread"),
    },
    Check {
        example: "events",
        args: &[],
        expect: Expect::Exact(
            "thread 1: waiting for the event\n\
             thread 2: setting the event\n\
             thread 1: the event is set; responding\n\
             is_set() = true\n\
             after clear(): is_set() = false\n\
             wait_timeout(10 ms) on a cleared event returns false\n",
        ),
    },
    Check {
        example: "threads",
        args: &[],
        expect: Expect::Lines(&[
            "T-minus 3",
            "Kaboom!",
            "joined; run() returned 3",
            "countdown-fn: counting down 1",
            "name: countdown-fn",
            "worker alive before release: true",
            "worker joined",
            "both joined",
            "daemon started; main returns without joining it",
        ]),
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
    Check {
        example: "record_replay",
        args: &[],
        expect: Expect::Exact(
            "recorded 10 items in 127 bytes\n\
             == replay on a thread ==\n\
             T-minus 10\n\
             T-minus 9\n\
             T-minus 8\n\
             T-minus 7\n\
             T-minus 6\n\
             T-minus 5\n\
             T-minus 4\n\
             T-minus 3\n\
             T-minus 2\n\
             T-minus 1\n\
             Kaboom!\n\
             replayed 10 items\n\
             == replay on a tokio task ==\n\
             T-minus 10\n\
             T-minus 9\n\
             T-minus 8\n\
             T-minus 7\n\
             T-minus 6\n\
             T-minus 5\n\
             T-minus 4\n\
             T-minus 3\n\
             T-minus 2\n\
             T-minus 1\n\
             Kaboom!\n\
             replayed 10 items\n\
             == replay of a recording without its end ==\n\
             got [10, 9, 8, 7, 6, 5, 4, 3, 2, 1], then: consumer is disconnected: the stream ended without its end frame, after 10 items: the sender stopped before closing\n",
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
    for (runner, header) in COUNTDOWN_RUNNERS {
        let one = format!("{header}\n{transcript}");
        check_one(
            "countdown",
            &["--runner", runner],
            &Expect::Matching(leak(one.clone())),
        )?;
        all.push_str(&one);
        quiet_on_a_closed_pipe("countdown", &["--runner", runner])?;
    }
    check_one("countdown", &[], &Expect::Matching(leak(all)))?;
    quiet_on_a_closed_pipe("countdown", &[])?;
    let names: Vec<&str> = COUNTDOWN_RUNNERS.iter().map(|(name, _)| *name).collect();
    let names = names.join(", ");
    let bogus = format!("unknown runner `bogus`; valid runners: all, {names}");
    check_one(
        "countdown",
        &["--runner", "bogus"],
        &Expect::Fails(leak(bogus)),
    )?;
    let usage = format!(
        "usage: countdown [--runner all|{}",
        names.replace(", ", "|")
    );
    let usage: &'static [&str] = Box::leak(vec![leak(usage)].into_boxed_slice());
    check_one("countdown", &["--help"], &Expect::Lines(usage))?;
    for c in CHECKS {
        check_one(c.example, c.args, &c.expect)?;
    }
    crate::listen::check(&transcript)?;
    logs_and_timeline()?;
    eprintln!("== examples: ok");
    Ok(())
}

/// `RUST_LOG=debug` prints the process runner's events on stderr; `--timeline F`
/// writes the trace JSON of both processes and its SVG.
fn logs_and_timeline() -> Result {
    let args = ["--runner", "process"];
    eprintln!("-- example RUST_LOG=debug countdown --runner process");
    let (status, _, stderr) = run_example("countdown", &args, &[("RUST_LOG", "debug")])?;
    if !status.success() || !stderr.contains("DEBUG") || !stderr.contains("child started") {
        return Err(format!(
            "RUST_LOG=debug countdown: no debug log ({status})
{stderr}"
        )
        .into());
    }
    let dir = std::env::temp_dir().join(format!("xtask-timeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let json = dir.join("countdown.json");
    let file = json.to_string_lossy().into_owned();
    eprintln!("-- example countdown --runner process --timeline {file}");
    let (status, _, stderr) = run_example(
        "countdown",
        &["--runner", "process", "--timeline", &file],
        &[],
    )?;
    let text = std::fs::read_to_string(&json).unwrap_or_default();
    let svg = std::fs::read_to_string(json.with_extension("svg")).unwrap_or_default();
    std::fs::remove_dir_all(&dir)?;
    if !status.success()
        || !stderr.contains("(2 processes, 10 arrows)")
        || !text.contains("\"traceEvents\":[{")
        || !svg.contains("</svg>")
    {
        return Err(format!("countdown --timeline: no trace or SVG ({status})\n{stderr}").into());
    }
    Ok(())
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The path of a built example, in `CARGO_TARGET_DIR` when that is set (as cargo
/// builds it), else in the workspace's `target`.
pub(crate) fn example_bin(example: &str) -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root().join(dir))
        .unwrap_or_else(|| root().join("target"));
    target.join("debug").join("examples").join(example)
}

/// Runs an example whose stdout is a pipe nobody reads (the reader closed before it
/// starts, as `example | head -0`): it must end with status 0 and say nothing.
fn quiet_on_a_closed_pipe(example: &str, args: &[&str]) -> Result {
    let shown = format!("{example} {} | (closed)", args.join(" "));
    eprintln!("-- example {shown}");
    let (reader, writer) = std::io::pipe()?;
    drop(reader);
    let mut child = Command::new(example_bin(example))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()?;
    let mut err = child.stderr.take().expect("piped");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let t = Instant::now();
    let status = wait_bounded(&mut child, &shown)?;
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() || !stderr.is_empty() {
        return Err(format!(
            "example `{shown}`: should end quietly with status 0, got {status}\n--- stderr\n{stderr}"
        )
        .into());
    }
    eprintln!("   ok in {:.1?}", t.elapsed());
    Ok(())
}

/// Waits for `child` to end, killing and reaping it after [`TIMEOUT`].
fn wait_bounded(child: &mut std::process::Child, shown: &str) -> Result<std::process::ExitStatus> {
    let t = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if t.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("example `{shown}` did not finish within {TIMEOUT:?}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Does `line` match `pattern`, where each `*` in `pattern` stands for any text?
fn matches(pattern: &str, line: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Runs an example to its end (killed after [`TIMEOUT`]): its status, stdout, stderr.
pub(crate) fn run_example(
    example: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(std::process::ExitStatus, String, String)> {
    let bin = example_bin(example);
    let shown = format!("{example} {}", args.join(" "));
    let mut cmd = Command::new(&bin);
    cmd.args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
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
    let status = wait_bounded(&mut child, &shown)?;
    Ok((
        status,
        reader.join().unwrap_or_default(),
        err_reader.join().unwrap_or_default(),
    ))
}

fn check_one(example: &str, args: &[&str], expect: &Expect) -> Result {
    let shown = format!("{example} {}", args.join(" "));
    eprintln!("-- example {shown}");
    let t = Instant::now();
    let (status, stdout, stderr) = run_example(example, args, &[])?;
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
        Expect::Matching(want) => {
            let (got, wanted) = (stdout.lines().count(), want.lines().count());
            if got != wanted {
                return fail(format!("{got} lines, expected {wanted}:\n{want}"));
            }
            for (line, pattern) in stdout.lines().zip(want.lines()) {
                if !matches(pattern, line) {
                    return fail(format!("line {line:?} does not match {pattern:?}"));
                }
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

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn a_star_stands_for_any_text() {
        assert!(matches("T-minus 1", "T-minus 1"));
        assert!(!matches("T-minus 1", "T-minus 10"));
        assert!(matches("== a: pid *, b ==", "== a: pid 42, b =="));
        assert!(!matches("== a: pid *, b ==", "== a: pid 42, c =="));
        assert!(matches("at 127.0.0.1:*", "at 127.0.0.1:7000"));
        assert!(matches("*", ""));
        assert!(!matches("x*x", "x"));
    }
}
