//! What the [`Runner`](crate::Runner), its [`Handle`](crate::Handle)s and its thread
//! share: the messages of the mailbox ([`Msg`]) and the state beside it ([`Shared`]).
//!
//! The mailbox is a crossbeam channel: the handles hold its senders, the thread its
//! receiver. Beside it, one `Shared` behind an `Arc`:
//!
//! - the [gate](crate::gate), which shuts the mailbox on `close` or a failure without
//!   losing a send in flight;
//! - the count of live handles, for the last one to go to close the runner;
//! - the failure, for every later send to report with its item back;
//! - the outcome, a [one-shot](crate::oneshot) that the thread sets once and every
//!   `close`, `join` and last drop waits for;
//! - the thread's id (so that a consumer closing its own runner gets an error, not a
//!   deadlock) and its `JoinHandle`, joined by whoever waits for the end first.
//!
//! The thread's side is in [`run`](crate::run), the handles' in
//! [`handle`](crate::handle).

use std::sync::{Mutex, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};

use consumer::{Error, ErrorKind, SendError};

use crate::gate::{Gate, State};
use crate::oneshot::Oneshot;
use crate::sync::lock;

/// What travels through the mailbox.
///
/// The batch is boxed to keep the message small: for a `u64` this is 16 bytes, and a
/// mailbox slot's size shows in the throughput of small items across cores.
pub(crate) enum Msg<T> {
    One(T),
    #[allow(
        clippy::box_collection,
        reason = "a thin pointer keeps every message small"
    )]
    Batch(Box<Vec<T>>),
    Flush,
    Close,
}

/// What the runner, its handles and its thread share.
pub(crate) struct Shared {
    /// Open, closed or failed, and which handles have a send in flight.
    pub(crate) gate: Gate,
    /// The runner's name: its thread's name and its `tracing` span's `runner` field.
    pub(crate) name: String,
    /// Does the last handle's drop leave without waiting?
    pub(crate) daemon: bool,
    /// Live handles (the [`Runner`](crate::Runner)'s own included); the last one to
    /// go closes.
    pub(crate) handles: Mutex<usize>,
    /// The failure that shut the gate as `Failed`; set before the gate is shut.
    pub(crate) failure: OnceLock<Error>,
    /// The run's outcome, set once the consumer's `close` has run (or could not).
    pub(crate) outcome: Oneshot<Result<(), Error>>,
    /// The runner thread, to refuse waiting for itself.
    pub(crate) thread: OnceLock<ThreadId>,
    /// The thread itself, joined by [`Runner::join`](crate::Runner::join) or by the
    /// last handle of a non-daemon runner; a daemon's is detached when this is dropped.
    pub(crate) joiner: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    /// The state of a new runner named `name`, counting one handle (the `Runner`'s).
    pub(crate) fn new(name: String, daemon: bool) -> Shared {
        Shared {
            gate: Gate::new(),
            name,
            daemon,
            handles: Mutex::new(1),
            failure: OnceLock::new(),
            outcome: Oneshot::new(),
            thread: OnceLock::new(),
            joiner: Mutex::new(None),
        }
    }

    /// The error a send gets when the gate is shut in `state`, with the item back.
    pub(crate) fn refuse<T>(&self, item: T, state: State) -> SendError<T> {
        match state {
            State::Failed => SendError::new(item, self.failure()),
            State::Open | State::Closed => SendError::closed(item),
        }
    }

    /// The failure that ended the run, or, if the thread is gone without one,
    /// `Disconnected`.
    pub(crate) fn failure(&self) -> Error {
        self.failure
            .get()
            .cloned()
            .unwrap_or_else(|| Error::new(ErrorKind::Disconnected, "the runner thread is gone"))
    }

    /// Records the outcome and wakes everyone waiting in `close`.
    pub(crate) fn finish(&self, outcome: Result<(), Error>) {
        self.outcome.set(outcome);
    }

    /// Joins the runner thread, if no one has yet.
    pub(crate) fn join_thread(&self) -> thread::Result<()> {
        let thread = lock(&self.joiner).take();
        match thread {
            Some(t) if t.thread().id() != thread::current().id() => t.join(),
            _ => Ok(()),
        }
    }

    /// Is the caller the runner thread itself (a consumer using its own handle)?
    pub(crate) fn is_runner_thread(&self) -> bool {
        self.thread.get() == Some(&thread::current().id())
    }

    /// Waits for the outcome.
    pub(crate) fn wait(&self) -> Result<(), Error> {
        if self.is_runner_thread() {
            return Err(Error::new(
                ErrorKind::Usage,
                "a consumer cannot close its own runner: it would wait for itself",
            ));
        }
        self.outcome.wait()
    }
}
