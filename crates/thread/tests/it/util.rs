//! What the tests share: a deadline on work that must not hang.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// How long any one step that must finish promptly may take before the test fails as
/// hung. Generous: the machine is small and busy; this is a hang detector, not a timer.
pub(crate) const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `f` in a thread and returns its result, failing the test if it does not
/// finish within [`DEADLINE`] (the thread is left behind, the test reports the hang).
pub(crate) fn within<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    let worker = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(r) => {
            let _ = worker.join();
            r
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} hung for {DEADLINE:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(payload) => std::panic::resume_unwind(payload),
            Ok(()) => unreachable!("the worker sends before it ends"),
        },
    }
}

/// Waits until the thread of this process named `name` is asleep in the kernel (state
/// `S` in `/proc/self/task/*/stat`) twice in a row, that is blocked, not merely slow
/// to start; fails the test after [`DEADLINE`]. A real signal from the kernel, polled
/// with `yield_now`, not a sleep. Linux only, like the tests that use it.
pub(crate) fn wait_until_blocked(name: &str) {
    let deadline = std::time::Instant::now() + DEADLINE;
    let mut asleep = 0;
    while asleep < 2 {
        asleep = if thread_state(name) == Some('S') {
            asleep + 1
        } else {
            0
        };
        assert!(
            std::time::Instant::now() < deadline,
            "thread `{name}` did not block within {DEADLINE:?}"
        );
        thread::yield_now();
    }
}

/// The scheduler state of this process's thread named `name`, if there is one.
fn thread_state(name: &str) -> Option<char> {
    std::fs::read_dir("/proc/self/task").ok()?.find_map(|task| {
        let dir = task.ok()?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
        if comm.trim_end() != name {
            return None;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        // `pid (comm) S ...`: the state follows the last `)`.
        stat[stat.rfind(')')? + 1..].trim_start().chars().next()
    })
}
