//! The runner thread's loop: deliver until the close marker, drain what senders still
//! push, close the consumer, set the outcome.
//!
//! ```text
//! deliver_until_closed ──▶ drain_until_quiet ──▶ consumer.close() ──▶ finish(its result)
//!  until the close marker,   until the gate is
//!  or every sender is gone   quiet and the mailbox empty
//!         │
//!         │ the consumer fails or panics in either
//!         ▼
//! fail: shut the gate as Failed, count what is left (discard_until_quiet),
//!       close the consumer unless it panicked ──────────────▶ finish(the failure)
//! ```
//!
//! Draining ends when the [gate](crate::gate) is quiet (no send in flight) and the
//! mailbox is empty; until then the loop keeps receiving, so that a sender blocked on
//! a full mailbox gets through. A guard sets a failure as the outcome should the thread
//! end without one, so no `close` waits for ever.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind};
use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::shared::{Msg, Shared};

/// How long the runner waits between looks at the gate while a send is still in flight
/// during shutdown. Only a sender caught between its two steps makes it wait at all.
const QUIET_POLL: Duration = Duration::from_micros(200);

/// How many times the runner looks at an empty mailbox after a lone message, four
/// spins apart, before it waits in the channel (64 spins: half of the channel's own
/// spinning phase).
const POLLS: u32 = 16;

/// The most lone messages that go without a poll after polls that found nothing.
const MAX_SKIP: u32 = 16;

/// Why the consumer stopped before `close`.
struct Failure {
    error: Error,
    panicked: bool,
    /// Items of the failing batch after the failing one.
    left_in_batch: u64,
}

/// The consumer's `send` or `flush` returned `error`, with `left_in_batch` items of
/// its batch behind the failing one.
#[cold]
fn failed(error: Error, left_in_batch: u64) -> Failure {
    Failure {
        error,
        panicked: false,
        left_in_batch,
    }
}

/// The per-item event, at `trace` with the item's sequence number. Out of line:
/// with nobody listening, an item pays one relaxed load (`level_enabled!`).
#[cold]
#[inline(never)]
fn item_event(msg_id: u64) {
    tracing::trace!(msg_id, "item");
}

/// The runner thread's state.
pub(crate) struct Run<C, T> {
    consumer: C,
    rx: Receiver<Msg<T>>,
    shared: Arc<Shared>,
    /// Items handed to the consumer so far (for logs).
    delivered: u64,
    /// While a batch is delivered: how many of its items follow the current one.
    left_in_batch: u64,
    /// Lone messages left before [`poll`](Run::poll) looks again, after a poll that
    /// found nothing.
    skip_polls: u32,
    /// How many to skip after the next poll that finds nothing: doubled by each
    /// miss, up to [`MAX_SKIP`]; 1 again after a hit.
    skip_next: u32,
}

/// Reports a runner thread that ends without an outcome (a bug, or a panic in the
/// consumer's `Drop`), so that no one waits for it forever.
struct Guard<'a>(&'a Shared);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if !self.0.outcome.is_set() {
            let e = Error::new(ErrorKind::Disconnected, "the runner thread ended abruptly");
            let _ = self.0.failure.set(e.clone());
            self.0.fail_gate();
            self.0.settled.set(e.clone());
            self.0.finish(Err(e));
        }
    }
}

impl<C: Consumer<T>, T> Run<C, T> {
    /// The loop over `consumer`, fed by `rx`.
    pub(crate) fn new(consumer: C, rx: Receiver<Msg<T>>, shared: Arc<Shared>) -> Run<C, T> {
        Run {
            consumer,
            rx,
            shared,
            delivered: 0,
            left_in_batch: 0,
            skip_polls: 0,
            skip_next: 1,
        }
    }

    /// Runs the thread to its end: delivers, closes the consumer, sets the outcome.
    /// Returns the consumer, unless it panicked.
    pub(crate) fn run(mut self, consumer_name: &str) -> Option<C> {
        let shared = Arc::clone(&self.shared);
        let _guard = Guard(&shared);
        let _ = shared.thread.set(thread::current().id());
        let span = tracing::info_span!(
            "consumer_thread",
            runner = "thread",
            consumer = %consumer_name,
            thread = %shared.name,
            pid = std::process::id(),
        );
        let _span = span.enter();
        tracing::debug!("runner started");
        match self.deliver_all() {
            Ok(()) => {
                tracing::debug!(delivered = self.delivered, "closing the consumer");
                let consumer = &mut self.consumer;
                match catch_unwind(AssertUnwindSafe(|| consumer.close())) {
                    Ok(outcome) => {
                        self.shared.finish(outcome);
                        Some(self.consumer)
                    }
                    Err(payload) => {
                        let e = Error::from_panic(payload.as_ref(), 0);
                        tracing::warn!(error = %e, "the consumer panicked in close");
                        self.shared.finish(Err(e));
                        None
                    }
                }
            }
            Err(f) => self.fail(f),
        }
    }

    /// Delivers everything, through the close marker (or the last handle's going)
    /// and the drain after it, or up to the consumer's failure.
    ///
    /// One `catch_unwind` around the whole loop rather than one per item keeps the
    /// per-item path short; `left_in_batch` says where a panic struck.
    fn deliver_all(&mut self) -> Result<(), Failure> {
        let delivered = catch_unwind(AssertUnwindSafe(|| {
            self.deliver_until_closed()?;
            self.drain_until_quiet()
        }));
        delivered.unwrap_or_else(|payload| {
            Err(Failure {
                error: Error::from_panic(payload.as_ref(), 0),
                panicked: true,
                left_in_batch: self.left_in_batch,
            })
        })
    }

    /// Delivers until the close marker, or until every handle is gone.
    fn deliver_until_closed(&mut self) -> Result<(), Failure> {
        // Messages taken since the mailbox was last found empty.
        let mut burst = 0u32;
        loop {
            let next = match self.rx.try_recv() {
                Ok(msg) => {
                    burst = burst.saturating_add(1);
                    Ok(msg)
                }
                Err(_) => {
                    // An empty mailbox after a stream: give the core away once before
                    // waiting. crossbeam's `recv` spins on the mailbox's shared cache
                    // lines first, and a runner spinning on every item starves the
                    // producer it waits for (measured: 4 M items/s with the spin, 10 M
                    // with the yield). After a lone message (request and reply, one
                    // at a time) the producer is not streaming: look again at short
                    // intervals for its next message (`poll`) before the channel's
                    // wait, whose looks grow further apart the longer it waits. See
                    // docs/decisions/0003-thread-runner.md and 0015.
                    let lone = burst <= 1;
                    if !lone {
                        thread::yield_now();
                    }
                    burst = 0;
                    match lone.then(|| self.poll()).flatten() {
                        Some(msg) => Ok(msg),
                        None => self.rx.recv(),
                    }
                }
            };
            match next {
                // The hot path, written out here so that nothing stands between the
                // mailbox and the consumer but a branch.
                Ok(Msg::One(item)) => self.deliver_one(item)?,
                Ok(Msg::Close) => return Ok(()),
                Ok(msg) => self.deliver(msg)?,
                Err(_) => {
                    // Every sender dropped: a daemon's last handle went.
                    self.shared.close_gate();
                    return Ok(());
                }
            }
        }
    }

    /// Looks at the mailbox every four spins, [`POLLS`] times: after a lone message
    /// the producer is likely waiting for its effect (a request and its reply).
    /// crossbeam's `recv` doubles its spins between looks (1, 2, 4, … 64, then
    /// yields, then sleeps), so it sees a message late by up to the time it has
    /// already waited, and once asleep it costs the sender a futex wake (a system
    /// call, and an inter-processor interrupt on a VM). Looking at a steady short
    /// interval first keeps a request-and-reply rhythm in the spinning phase on
    /// both sides.
    ///
    /// A poll that finds nothing was spent spinning where the producer is not
    /// answering at once (it is busy, or the machine is loaded and it is not even
    /// running): the next lone messages wait in the channel at once, 1 after a
    /// lone miss, twice as many after each further miss, up to [`MAX_SKIP`]. One
    /// miss in a steady rhythm (a preemption) costs one message without polling; a
    /// producer that seldom answers at once costs a poll per 17 messages.
    #[inline]
    fn poll(&mut self) -> Option<Msg<T>> {
        if self.skip_polls > 0 {
            self.skip_polls -= 1;
            return None;
        }
        for _ in 0..POLLS {
            for _ in 0..4 {
                std::hint::spin_loop();
            }
            if let Ok(msg) = self.rx.try_recv() {
                self.skip_next = 1;
                return Some(msg);
            }
        }
        self.skip_polls = self.skip_next;
        self.skip_next = (self.skip_next * 2).min(MAX_SKIP);
        None
    }

    /// With the gate shut as closed, delivers what is in the mailbox and what senders
    /// caught in flight still push, until no send is in flight and the mailbox is empty.
    fn drain_until_quiet(&mut self) -> Result<(), Failure> {
        self.until_quiet(|run, msg| run.deliver(msg))
    }

    /// Hands `each` every message until the gate is quiet and the mailbox empty,
    /// receiving meanwhile so that senders blocked on a full mailbox get through.
    fn until_quiet<E>(
        &mut self,
        mut each: impl FnMut(&mut Self, Msg<T>) -> Result<(), E>,
    ) -> Result<(), E> {
        loop {
            while let Ok(msg) = self.rx.try_recv() {
                each(self, msg)?;
            }
            if self.shared.gate.is_quiet() {
                // Every in-flight push has landed: one last sweep finds them all.
                while let Ok(msg) = self.rx.try_recv() {
                    each(self, msg)?;
                }
                return Ok(());
            }
            match self.rx.recv_timeout(QUIET_POLL) {
                Ok(msg) => each(self, msg)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    }

    /// Hands one message to the consumer (called under [`deliver_all`]'s
    /// `catch_unwind`).
    ///
    /// [`deliver_all`]: Run::deliver_all
    fn deliver(&mut self, msg: Msg<T>) -> Result<(), Failure> {
        match msg {
            Msg::One(item) => self.deliver_one(item),
            Msg::Batch(items) => self.deliver_batch(*items),
            Msg::Flush => self.consumer.flush().map_err(|e| failed(e, 0)),
            Msg::Close => Ok(()),
        }
    }

    #[inline(always)]
    fn deliver_one(&mut self, item: T) -> Result<(), Failure> {
        self.delivered += 1;
        if tracing::level_enabled!(tracing::Level::TRACE) {
            item_event(self.delivered);
        }
        self.shared
            .counts
            .delivered
            .store(self.delivered, Ordering::Relaxed);
        match self.consumer.send(item) {
            Ok(()) => Ok(()),
            Err(e) => Err(failed(e.into_error(), 0)),
        }
    }

    fn deliver_batch(&mut self, items: Vec<T>) -> Result<(), Failure> {
        let len = items.len();
        let traced = tracing::level_enabled!(tracing::Level::TRACE);
        let mut items = items.into_iter();
        while let Some(item) = items.next() {
            self.left_in_batch = items.len() as u64;
            self.delivered += 1;
            if traced {
                item_event(self.delivered);
            }
            if let Err(e) = self.consumer.send(item) {
                self.publish_delivered();
                return Err(failed(e.into_error(), self.left_in_batch));
            }
        }
        self.left_in_batch = 0;
        self.publish_delivered();
        // The batch's items have left the mailbox: their room goes back to senders.
        self.shared.credit.give(len.saturating_sub(1));
        Ok(())
    }

    /// Makes the delivered count visible to `stats()`.
    fn publish_delivered(&self) {
        self.shared
            .counts
            .delivered
            .store(self.delivered, Ordering::Relaxed);
    }

    /// Shuts the gate on the failure, counts what was accepted but will never be
    /// delivered, closes the consumer unless it panicked, and reports.
    fn fail(mut self, f: Failure) -> Option<C> {
        tracing::warn!(error = %f.error, delivered = self.delivered, "the consumer failed; stopping");
        let _ = self.shared.failure.set(f.error.clone());
        self.shared.fail_gate();
        self.publish_delivered();
        let undelivered = f.left_in_batch + self.discard_until_quiet();
        let error = f.error.with_undelivered(undelivered);
        let counts = &self.shared.counts;
        counts.undelivered.store(undelivered, Ordering::Relaxed);
        // From here every refused send reports the count `close` will.
        self.shared.settled.set(error.clone());
        if f.panicked {
            self.shared.finish(Err(error));
            let consumer = self.consumer;
            // A consumer that panicked may panic again in `Drop`; that is not news.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(consumer)));
            return None;
        }
        let consumer = &mut self.consumer;
        // The run's outcome is the send's failure; the consumer's `close` is owed all
        // the same, and its own result adds nothing to that.
        let _ = catch_unwind(AssertUnwindSafe(|| consumer.close()));
        self.shared.finish(Err(error));
        Some(self.consumer)
    }

    /// Like [`drain_until_quiet`](Run::drain_until_quiet), but counts the items
    /// instead of delivering them. Senders waiting on a full mailbox get through and
    /// their items are counted; later sends are refused.
    fn discard_until_quiet(&mut self) -> u64 {
        let mut count = 0;
        let counted = self.until_quiet(|run, msg| {
            count += match msg {
                Msg::One(_) => 1,
                Msg::Batch(items) => {
                    run.shared.credit.give(items.len() - 1);
                    items.len() as u64
                }
                Msg::Flush | Msg::Close => 0,
            };
            Ok::<(), std::convert::Infallible>(())
        });
        match counted {
            Ok(()) => count,
        }
    }
}
