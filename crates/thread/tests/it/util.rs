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
