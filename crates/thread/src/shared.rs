//! What the [`Runner`](crate::Runner), its [`Handle`](crate::Handle)s and its thread
//! share: the messages of the mailbox ([`Msg`]) and the state beside it ([`Shared`]).
//!
//! The mailbox is a crossbeam channel: the handles hold its senders, the thread its
//! receiver. Beside it, one `Shared` behind an `Arc`:
//!
//! - the [gate](crate::gate), which shuts the mailbox on `close` or a failure without
//!   losing a send in flight;
//! - the count of live handles, for the last one to go to close the runner;
//! - the failure, for every later send to report with its item back, and the same
//!   failure [settled](Shared::settled) with the count of items it left undelivered;
//! - the batch [credit](Credit), which keeps the mailbox's bound in items;
//! - the live counts behind `stats()`;
//! - the outcome, a [one-shot](crate::oneshot) that the thread sets once and every
//!   `close`, `join` and last drop waits for;
//! - the thread's id (so that a consumer closing its own runner gets an error, not a
//!   deadlock) and its `JoinHandle`, joined by whoever waits for the end first.
//!
//! The thread's side is in [`run`](crate::run), the handles' in
//! [`handle`](crate::handle).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};

use consumer::{Error, ErrorKind, SendError, Stats};

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
    /// The same failure with the count of accepted items it left undelivered, set
    /// once that count is final (the mailbox drained): what every refused send
    /// reports, so that it agrees with `close`.
    pub(crate) settled: Oneshot<Error>,
    /// Room for batches beyond their one place each in the channel.
    pub(crate) credit: Credit,
    /// Items delivered and items lost, written by the runner thread.
    pub(crate) counts: Counts,
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
    pub(crate) fn new(name: String, daemon: bool, credit: Credit) -> Shared {
        Shared {
            gate: Gate::new(),
            name,
            daemon,
            handles: Mutex::new(1),
            failure: OnceLock::new(),
            settled: Oneshot::new(),
            credit,
            counts: Counts::default(),
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

    /// The failure that ended the run, with the count of accepted items it left
    /// undelivered (the count `close` reports: this waits the moment it takes to
    /// drain the mailbox); or, if the thread is gone without one, `Disconnected`.
    pub(crate) fn failure(&self) -> Error {
        match self.failure.get() {
            // The runner thread (a consumer's `close` using its own handle) cannot
            // wait for itself; by then the count is settled anyway.
            Some(e) if self.is_runner_thread() => self.settled.get().unwrap_or_else(|| e.clone()),
            Some(_) => self.settled.wait(),
            None => Error::new(ErrorKind::Disconnected, "the runner thread is gone"),
        }
    }

    /// The live counts: what the handles put in, what the thread delivered or lost.
    pub(crate) fn stats(&self) -> Stats {
        // Delivered first: an item counted there was accepted before, so `queued`
        // never comes out negative for long.
        let delivered = self.counts.delivered.load(Ordering::Relaxed);
        let undelivered = self.counts.undelivered.load(Ordering::Relaxed);
        Stats::from_counts(self.gate.accepted(), delivered, undelivered)
    }

    /// Shuts the gate as closed (`false` if it was shut already), waking the senders
    /// waiting for credit so that they see it.
    pub(crate) fn close_gate(&self) -> bool {
        let closed = self.gate.close();
        self.credit.wake_all();
        closed
    }

    /// Shuts the gate as failed, waking the senders waiting for credit.
    pub(crate) fn fail_gate(&self) {
        self.gate.fail();
        self.credit.wake_all();
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

/// The counts the runner thread publishes for `stats()`, on a line of their own so
/// that its stores do not disturb the senders.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Counts {
    pub(crate) delivered: AtomicU64,
    pub(crate) undelivered: AtomicU64,
}

/// The mailbox's bound in items. The channel bounds *messages*; a batch is one
/// message of many items, so each item of a batch after its first needs one unit of
/// credit, taken by the sender and given back by the runner thread once the batch is
/// delivered (or counted lost). A mailbox of `n` items is a channel of `n - extra`
/// messages and `extra` credit: at most `n - extra` messages, plus `extra` more items
/// inside batches. A sender that finds no credit sends its next item alone while
/// the channel has room; once the channel is full too, it waits for credit (a
/// consumer slower than its producer: the backpressure `send` gets from the full
/// channel), and batches again once credit comes back.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Credit {
    /// Units free; `None` for an unbounded mailbox.
    free: Option<AtomicUsize>,
    /// Units in all: none for a mailbox too small for batches (then every item goes
    /// alone, and no one waits for credit).
    total: usize,
    /// A sender waits (or is about to) for credit.
    waiting: AtomicBool,
    sleep: Mutex<()>,
    woken: Condvar,
}

impl Credit {
    /// Splits a bound of `items` (`None`: unbounded) into the channel's capacity in
    /// messages and the batches' credit.
    pub(crate) fn split(items: Option<usize>, batch: usize) -> (Option<usize>, Credit) {
        let (messages, free, total) = match items {
            None => (None, None, usize::MAX),
            Some(n) => {
                // Half the room for batches, up to two full ones (enough to keep the
                // runner busy while the sender gathers the next).
                let extra = (n / 2).min(2 * (batch - 1));
                (Some(n - extra), Some(AtomicUsize::new(extra)), extra)
            }
        };
        let credit = Credit {
            free,
            total,
            waiting: AtomicBool::new(false),
            sleep: Mutex::new(()),
            woken: Condvar::new(),
        };
        (messages, credit)
    }

    /// Takes up to `want` units; returns how many it got (possibly 0).
    #[inline]
    pub(crate) fn take(&self, want: usize) -> usize {
        let Some(free) = &self.free else {
            return want;
        };
        let mut now = free.load(Ordering::SeqCst);
        loop {
            let got = now.min(want);
            if got == 0 {
                return 0;
            }
            match free.compare_exchange_weak(now, now - got, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return got,
                Err(seen) => now = seen,
            }
        }
    }

    /// Takes up to `want` units, giving the core away a few times while there are
    /// none (a runner that keeps up gives a batch's credit back within a time slice
    /// or two: this saves a sleep and a wake-up per batch); 0 if none came.
    pub(crate) fn take_soon(&self, want: usize) -> usize {
        const TRIES: u32 = 32;
        if self.total == 0 {
            return 0;
        }
        for _ in 0..TRIES {
            std::thread::yield_now();
            let got = self.take(want);
            if got > 0 {
                return got;
            }
        }
        0
    }

    /// Takes up to `want` units, waiting while there are none and `open()` holds;
    /// returns how many it got (0 once `open()` fails).
    ///
    /// No wake-up is lost: a waiter says so, then looks at the credit (`SeqCst`
    /// both); [`give`](Credit::give) adds credit, then looks for a waiter (`SeqCst`
    /// both): one of the two sees the other. Whoever makes `open()` fail calls
    /// [`wake_all`](Credit::wake_all) afterwards, and a waiter looks at `open()`
    /// under the lock it waits with.
    pub(crate) fn take_or_wait(&self, want: usize, open: impl Fn() -> bool) -> usize {
        loop {
            let got = self.take(want);
            if got > 0 || self.total == 0 || !open() {
                return got;
            }
            let asleep = lock(&self.sleep);
            self.waiting.store(true, Ordering::SeqCst);
            if self.any() || !open() {
                continue;
            }
            drop(self.woken.wait(asleep));
        }
    }

    /// Is any credit free?
    fn any(&self) -> bool {
        self.free
            .as_ref()
            .is_none_or(|free| free.load(Ordering::SeqCst) > 0)
    }

    /// Gives `n` units back, and wakes the senders waiting for them.
    #[inline]
    pub(crate) fn give(&self, n: usize) {
        if let (Some(free), true) = (&self.free, n > 0) {
            free.fetch_add(n, Ordering::SeqCst);
            if self.waiting.load(Ordering::SeqCst) {
                self.wake_all();
            }
        }
    }

    /// Wakes every sender waiting for credit (also when the gate shuts).
    pub(crate) fn wake_all(&self) {
        let _asleep = lock(&self.sleep);
        self.waiting.store(false, Ordering::SeqCst);
        self.woken.notify_all();
    }
}
