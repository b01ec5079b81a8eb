//! Requests from the handles to the task that travel beside the item channel: close
//! and flush.
//!
//! Items travel alone in the channel, as bare `T`, so each costs what it costs in a
//! raw tokio channel (an enum with control variants made every `u64` item 16 bytes
//! and cost a fifth of the throughput). A request is posted here; the task sees it
//! between two items (one atomic load per item) or, when idle, is woken by it.
//!
//! Lost wake-ups are ruled out by the lock: the task registers its waker and reads
//! the requests under it, a handle posts a request and takes the waker under it, so
//! either the task sees the request or the handle sees the waker. Model-checked by
//! `tests/loom_control.rs`.

use std::task::Waker;

use crate::sync::{AtomicBool, Mutex, Ordering};

/// The requests of one run. `F` is a flush request's reply handle.
pub(crate) struct Control<F> {
    /// Is anything waiting in `state`? Read between items without locking.
    pending: AtomicBool,
    state: Mutex<State<F>>,
}

struct State<F> {
    closing: bool,
    flushes: Vec<F>,
    /// The run has ended: requests are refused.
    shut: bool,
    /// The idle task, to wake on the next request.
    waker: Option<Waker>,
}

/// What the task takes from a [`Control`].
pub(crate) struct Requests<F> {
    pub(crate) close: bool,
    pub(crate) flushes: Vec<F>,
}

impl<F> Requests<F> {
    pub(crate) fn is_empty(&self) -> bool {
        !self.close && self.flushes.is_empty()
    }
}

impl<F> Control<F> {
    pub(crate) fn new() -> Control<F> {
        Control {
            pending: AtomicBool::new(false),
            state: Mutex::new(State {
                closing: false,
                flushes: Vec::new(),
                shut: false,
                waker: None,
            }),
        }
    }

    /// Handle side: asks the task to close (no effect once the run has ended).
    pub(crate) fn close(&self) {
        let _ = self.post(|s| s.closing = true);
    }

    /// Handle side: asks the task to flush and answer through `reply`; hands `reply`
    /// back if the run has ended.
    pub(crate) fn flush(&self, reply: F) -> Result<(), F> {
        let mut reply = Some(reply);
        match self.post(|s| s.flushes.extend(reply.take())) {
            true => Ok(()),
            false => Err(reply.take().expect("not taken when refused")),
        }
    }

    /// Applies `request` unless the run has ended, and wakes the idle task.
    fn post(&self, request: impl FnOnce(&mut State<F>)) -> bool {
        let waker = {
            let mut s = self.lock();
            if s.shut {
                return false;
            }
            request(&mut s);
            self.pending.store(true, Ordering::Release);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Task side, between items: is a request waiting? One atomic load.
    pub(crate) fn is_pending(&self) -> bool {
        self.pending.load(Ordering::Acquire)
    }

    /// Task side: takes the waiting requests and registers `waker` for the next one.
    pub(crate) fn take(&self, waker: &Waker) -> Requests<F> {
        let mut s = self.lock();
        if !s.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
            s.waker = Some(waker.clone());
        }
        self.pending.store(false, Ordering::Relaxed);
        Requests {
            close: std::mem::take(&mut s.closing),
            flushes: std::mem::take(&mut s.flushes),
        }
    }

    /// Task side: the run has ended. Later requests are refused, and the flushes
    /// still waiting are dropped, so their callers learn the run is over.
    pub(crate) fn shut(&self) {
        let flushes = {
            let mut s = self.lock();
            s.shut = true;
            s.waker = None;
            std::mem::take(&mut s.flushes)
        };
        drop(flushes);
    }

    fn lock(&self) -> crate::sync::MutexGuard<'_, State<F>> {
        // Nothing panics while holding the lock; should it, the state is still whole.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
