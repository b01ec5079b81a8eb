//! Waiting from synchronous code: where a blocking call may wait, and how it waits.

use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use consumer::{Error, ErrorKind};
use tokio::runtime::{Handle, RuntimeFlavor};

/// Where the calling thread stands, for a blocking call that may have to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// No tokio runtime here: park the thread.
    Outside,
    /// Inside a multi-thread runtime: hand this worker's tasks to another thread
    /// (`block_in_place`), then park.
    MultiThread,
}

impl Place {
    /// Where this thread stands; inside a current-thread runtime (or any other flavour
    /// that cannot give up its thread) a blocking call is refused, because waiting
    /// there could stall the very runtime that runs the consumer.
    ///
    /// `what` names the blocking method, for the error message.
    pub(crate) fn here(what: &str) -> Result<Place, Error> {
        if BLOCKING_THREAD.get() {
            return Ok(Place::Outside);
        }
        match Handle::try_current() {
            Err(_) => Ok(Place::Outside),
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => Ok(Place::MultiThread),
            Ok(_) => Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "blocking `{what}` called inside a current-thread tokio runtime, where \
                     waiting could deadlock it; use `{what}_async(..).await` there"
                ),
            )),
        }
    }

    /// Where a `Drop` may wait: outside any runtime (or on our own blocking-pool
    /// threads), and inside a multi-thread runtime that is not shutting down (the
    /// end of a `#[tokio::main]`, a task that lets its handle go). Not on a
    /// current-thread runtime's thread, where waiting would stall the runtime that
    /// runs the consumer, and not during a runtime's shutdown, which drops tasks one
    /// by one: waiting there could wait for a task only dropped after this one.
    pub(crate) fn for_drop() -> Option<Place> {
        if BLOCKING_THREAD.get() {
            return Some(Place::Outside);
        }
        match Handle::try_current() {
            Err(_) => Some(Place::Outside),
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread && !shutting_down(&h) => {
                Some(Place::MultiThread)
            }
            Ok(_) => None,
        }
    }

    /// Runs the future that `make` returns to completion on this thread, blocking it
    /// while the future is pending.
    ///
    /// On a multi-thread runtime this goes through `block_in_place`, which tokio
    /// refuses, with a panic, in one place we cannot detect beforehand: a `LocalSet`.
    /// That panic comes before `make` runs and before tokio changes any state, so it
    /// is caught and becomes [`ErrorKind::Usage`]; whatever `make` would have taken
    /// (an item) is still the caller's.
    pub(crate) fn wait<F: Future>(
        self,
        what: &str,
        make: impl FnOnce() -> F,
    ) -> Result<F::Output, Error> {
        match self {
            Place::Outside => Ok(park_on(make())),
            Place::MultiThread => {
                let mut make = Some(make);
                let run = || {
                    let make = make.take().expect("block_in_place runs its closure once");
                    park_on(make())
                };
                match catch_unwind(AssertUnwindSafe(|| tokio::task::block_in_place(run))) {
                    Ok(output) => Ok(output),
                    // Our closure never ran: tokio refused to block here.
                    Err(_) if make.is_some() => Err(Error::new(
                        ErrorKind::Usage,
                        format!(
                            "blocking `{what}` called where tokio forbids blocking (a LocalSet); \
                             use `{what}_async(..).await` there"
                        ),
                    )),
                    Err(payload) => resume_unwind(payload),
                }
            }
        }
    }
}

/// Has `runtime` begun to shut down? Tokio has no query for it, but a task spawned
/// on a runtime that is shutting down is cancelled before `spawn` returns: spawn a
/// task that would never finish and see whether it already has.
fn shutting_down(runtime: &Handle) -> bool {
    let probe = runtime.spawn(std::future::pending::<()>());
    let cancelled = probe.is_finished();
    probe.abort();
    cancelled
}

thread_local! {
    /// Set on the blocking-pool threads that run consumers: they may always block,
    /// even though they carry their runtime's handle.
    static BLOCKING_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` on a blocking-pool thread, marked as one where blocking calls may wait.
pub(crate) fn as_blocking_thread<R>(f: impl FnOnce() -> R) -> R {
    struct Unmark(bool);
    impl Drop for Unmark {
        fn drop(&mut self) {
            BLOCKING_THREAD.set(self.0);
        }
    }
    let _unmark = Unmark(BLOCKING_THREAD.replace(true));
    f()
}

/// Wakes a parked thread.
struct Unparker(Thread);

impl Wake for Unparker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
}

/// Polls `f` on this thread, parking between polls: a minimal executor for tokio's
/// runtime-independent sync primitives. It never enters a runtime, so it cannot
/// trip tokio's "cannot block inside a runtime" panic; callers check [`Place`] first.
pub(crate) fn park_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let waker = WAKER.with(Waker::clone);
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        // A spurious unpark only costs one more poll.
        thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn park_on_waits_for_another_thread() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let t = thread::spawn(move || tx.send(7));
        assert_eq!(park_on(rx), Ok(7));
        t.join().unwrap().unwrap();
    }

    #[test]
    fn outside_a_runtime_blocking_is_allowed() {
        assert_eq!(Place::here("send").unwrap(), Place::Outside);
    }

    #[test]
    fn a_current_thread_runtime_refuses_blocking() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let e = rt.block_on(async { Place::here("close") }).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("close_async"), "{e}");
    }
}
