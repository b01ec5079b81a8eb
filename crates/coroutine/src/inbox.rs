//! The mailbox's receiving end: what a coroutine body reads with `recv().await`.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;

use consumer::{Error, ErrorKind};
use tokio::sync::{mpsc, oneshot, watch};

use crate::control::Control;

/// A flush request's reply: sent once every earlier item has been handled.
pub(crate) type FlushReply = oneshot::Sender<Result<(), Error>>;

/// The requests beside a run's item channel.
pub(crate) type Requests = Arc<Control<FlushReply>>;

/// What the runner's loop sees next.
pub(crate) enum Event<T> {
    Item(T),
    Flush(FlushReply),
    /// Closed (or every handle dropped) and every accepted item delivered.
    End,
    /// The runtime is shutting down under a run on the blocking pool.
    Abandoned,
}

/// The first failure of a run, shared with every handle.
pub(crate) type Failure = Arc<Failed>;

/// A run's failure, in two steps. It is *recorded* before the mailbox shuts, so a send
/// that finds the mailbox shut always finds the reason; it is *settled* once the
/// mailbox is drained, with the count of accepted items it left undelivered. Every
/// error a handle reports after a failure is the settled one, so it carries the count
/// `close` reports.
#[derive(Debug)]
pub(crate) struct Failed {
    reason: OnceLock<Error>,
    settled: watch::Sender<Option<Error>>,
}

impl Default for Failed {
    fn default() -> Self {
        Failed {
            reason: OnceLock::new(),
            settled: watch::Sender::new(None),
        }
    }
}

impl Failed {
    /// Records `error` as the run's failure, unless one is recorded already.
    pub(crate) fn record(&self, error: Error) {
        let _ = self.reason.set(error);
    }

    /// Settles the failure as `error` (with its count), unless it is settled already.
    pub(crate) fn settle(&self, error: Error) {
        let _ = self.reason.set(error.clone());
        self.settled.send_if_modified(|s| {
            let first = s.is_none();
            if first {
                *s = Some(error);
            }
            first
        });
    }

    /// The failure as it stands now: settled, else recorded, else none.
    pub(crate) fn get(&self) -> Option<Error> {
        self.settled
            .borrow()
            .clone()
            .or_else(|| self.reason.get().cloned())
    }

    /// The settled failure, waiting for it if one is recorded but not yet settled
    /// (the moment the run takes to drain its mailbox); `None` if there is none.
    pub(crate) async fn settled(&self) -> Option<Error> {
        self.reason.get()?;
        let mut rx = self.settled.subscribe();
        let settled = rx.wait_for(Option::is_some).await;
        // The sender lives in `self`: the wait ends only with the value.
        settled.ok().and_then(|s| s.clone())
    }
}

/// What a run counts for `stats()`, written by the task alone (relaxed stores of its
/// own counters), on a line of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Counts {
    /// Items taken out of the channel (delivered, waiting in the task's batch, or
    /// counted undelivered).
    pub(crate) taken: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) undelivered: AtomicU64,
}

impl Counts {
    fn add(counter: &AtomicU64, n: u64) {
        counter.store(counter.load(Ordering::Relaxed) + n, Ordering::Relaxed);
    }
}

/// A coroutine's inbox: the items sent to its [`Task`](crate::Task) handle, in the
/// order each sender sent them.
///
/// [`recv`](Inbox::recv) returns `None` once the handle is closed (or every handle is
/// dropped) and every accepted item has been received: the loop
/// `while let Some(x) = inbox.recv().await` ends, and the code after it is the
/// coroutine's cleanup (Python's `GeneratorExit`).
///
/// Keep the inbox inside the body: when the body ends, the run ends, and items still
/// in the inbox are reported as undelivered.
///
/// # Examples
///
/// ```
/// use consumer::{Consumer, Error, ErrorKind};
///
/// let task = consumer_coroutine::coroutine(|mut inbox| async move {
///     let mut sum = 0;
///     while let Some(n) = inbox.recv().await {
///         sum += n;
///     }
///     // The cleanup: runs before `close` returns, and may fail it.
///     if sum == 6 { Ok(()) } else { Err(Error::new(ErrorKind::Other, "bad sum")) }
/// });
/// task.send_all([1, 2, 3])?;
/// task.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Inbox<T> {
    mailbox: Option<Mailbox<T>>,
    failure: Failure,
    requests: Requests,
    /// Flushes taken from `requests`, answered one by one in order.
    flushes: VecDeque<FlushReply>,
    /// Did the loop reach the end (or shut the mailbox after a failure)?
    ended: bool,
    /// Where a body's inbox hands its receiver back when dropped early, so the runner
    /// can count what was left unread.
    park: Option<oneshot::Sender<Mailbox<T>>>,
    /// Fires when the runtime drops the task that watches a blocking-pool run.
    stop: Option<oneshot::Receiver<()>>,
    /// Items handed out so far: the per-run sequence number of the next one's event.
    delivered: u64,
    counts: Arc<Counts>,
}

impl<T> Inbox<T> {
    /// The receiving end of `rx`, taking up to `take` items out of it at a time.
    pub(crate) fn new(
        rx: mpsc::Receiver<T>,
        take: usize,
        failure: Failure,
        requests: Requests,
        counts: Arc<Counts>,
        name: Arc<str>,
    ) -> Inbox<T> {
        Inbox {
            mailbox: Some(Mailbox {
                rx,
                batch: Vec::new(),
                take,
                failure: Arc::clone(&failure),
                counts: Arc::clone(&counts),
                name,
            }),
            delivered: 0,
            counts,
            failure,
            requests,
            flushes: VecDeque::new(),
            ended: false,
            park: None,
            stop: None,
        }
    }

    /// The next item, or `None` once the inbox is closed and empty.
    ///
    /// A [`flush`](consumer::Consumer::flush) on the handle returns once the body has
    /// received every item sent before it.
    ///
    /// ```
    /// let task = consumer_coroutine::coroutine(|mut inbox| async move {
    ///     assert_eq!(inbox.recv().await, Some('a'));
    ///     assert_eq!(inbox.recv().await, None); // closed and empty
    /// });
    /// task.send('a')?;
    /// task.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            match self.next().await {
                Event::Item(item) => return Some(item),
                Event::Flush(reply) => {
                    let _ = reply.send(Ok(()));
                }
                Event::End | Event::Abandoned => return None,
            }
        }
    }

    pub(crate) fn set_park(&mut self, park: oneshot::Sender<Mailbox<T>>) {
        self.park = Some(park);
    }

    pub(crate) fn failure(&self) -> Failure {
        Arc::clone(&self.failure)
    }

    pub(crate) fn requests(&self) -> Requests {
        Arc::clone(&self.requests)
    }

    pub(crate) fn set_stop(&mut self, stop: oneshot::Receiver<()>) {
        self.stop = Some(stop);
    }

    pub(crate) async fn next(&mut self) -> Event<T> {
        let Inbox {
            mailbox,
            requests,
            flushes,
            stop,
            ..
        } = self;
        let Some(mailbox) = mailbox.as_mut() else {
            return Event::End;
        };
        let event = poll_fn(|cx| {
            loop {
                // Items already taken from the channel were all sent before any flush
                // that is waiting now (a flush holds every place of the mailbox before
                // it posts): hand them out first, so that the flush is answered only
                // once the body has received them.
                if let Some(item) = mailbox.batch.pop() {
                    return Poll::Ready(Event::Item(item));
                }
                if let Some(reply) = flushes.pop_front() {
                    return Poll::Ready(Event::Flush(reply));
                }
                // Between two items: one atomic load, unless a request waits.
                if requests.is_pending() {
                    mailbox.apply(requests.take(cx.waker()), flushes);
                    continue;
                }
                match mailbox.poll_item(cx) {
                    Poll::Ready(Some(item)) => return Poll::Ready(Event::Item(item)),
                    Poll::Ready(None) => return Poll::Ready(Event::End),
                    Poll::Pending => {}
                }
                // Idle: register for requests, and take any posted meanwhile.
                let taken = requests.take(cx.waker());
                if !taken.is_empty() {
                    mailbox.apply(taken, flushes);
                    continue;
                }
                let abandoned = stop
                    .as_mut()
                    .is_some_and(|stop| Pin::new(stop).poll(cx).is_ready());
                return if abandoned {
                    Poll::Ready(Event::Abandoned)
                } else {
                    Poll::Pending
                };
            }
        })
        .await;
        match event {
            Event::Item(_) => {
                self.delivered += 1;
                if tracing::level_enabled!(tracing::Level::TRACE) {
                    item_event(self.delivered);
                }
                let delivered = &self.counts.delivered;
                delivered.store(self.delivered, Ordering::Relaxed);
            }
            Event::End => self.end(),
            Event::Flush(_) | Event::Abandoned => {}
        }
        event
    }

    /// The run is over: no more requests; waiting flushes learn it from their
    /// dropped replies.
    fn end(&mut self) {
        self.ended = true;
        self.flushes.clear();
        self.requests.shut();
    }

    /// Ends the run after `error`: records it for every sender, shuts the mailbox and
    /// counts the accepted items that will now never be delivered.
    pub(crate) async fn fail(&mut self, error: Error) -> u64 {
        self.failure.record(error.clone());
        self.end();
        let undelivered = match self.mailbox.as_mut() {
            Some(mailbox) => mailbox.drain().await,
            None => 0,
        };
        self.failure.settle(error.with_undelivered(undelivered));
        undelivered
    }
}

/// The channel's receiving end, which a body's inbox hands back when dropped early.
pub(crate) struct Mailbox<T> {
    rx: mpsc::Receiver<T>,
    /// Taken from the channel but not handed out yet, newest first.
    batch: Vec<T>,
    /// The most items taken out of the channel at once: room the mailbox's bound
    /// keeps for them (see `split`).
    take: usize,
    counts: Arc<Counts>,
    /// Where a mailbox dropped with items in it records their loss for the handles.
    failure: Failure,
    /// The run's name, for the error-level event that reports a loss.
    name: Arc<str>,
}

/// How many items the task takes from the channel at once, at most: their places go
/// back to the senders in one step instead of one by one, which saves blocked
/// producers most of their wake-ups (measured: 4 producer threads, 7x the items per
/// second).
const BATCH: usize = 128;

/// The per-item event, at `trace` with the item's sequence number. Out of line:
/// with nobody listening, an item pays one relaxed load (`level_enabled!`).
#[cold]
#[inline(never)]
fn item_event(msg_id: u64) {
    tracing::trace!(msg_id, "item");
}

/// Splits a mailbox bound of `capacity` items (at least 1) into the channel's
/// capacity and the most items the task takes out of it at once. The task hands out
/// the first of those at once, so at most `places + take - 1` items wait and
/// `places + take` are alive with the one being delivered: `capacity` (for a
/// capacity of 1, one waiting and one delivered).
pub(crate) fn split(capacity: usize) -> (usize, usize) {
    let take = (capacity / 2).clamp(1, BATCH);
    (capacity.saturating_sub(take).max(1), take)
}

impl<T> Mailbox<T> {
    fn poll_item(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<T>> {
        if let Some(item) = self.batch.pop() {
            return Poll::Ready(Some(item));
        }
        match self.rx.poll_recv_many(cx, &mut self.batch, self.take) {
            Poll::Ready(0) => Poll::Ready(None),
            Poll::Ready(n) => {
                Counts::add(&self.counts.taken, n as u64);
                self.batch.reverse();
                Poll::Ready(self.batch.pop())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// A close shuts the channel (what was accepted still comes); flushes queue up.
    fn apply(
        &mut self,
        taken: crate::control::Requests<FlushReply>,
        flushes: &mut VecDeque<FlushReply>,
    ) {
        if taken.close {
            self.rx.close();
        }
        flushes.extend(taken.flushes);
    }

    /// Shuts the mailbox and counts the items left in it. Sends in flight finish
    /// first (the receiver waits for their permits), so none is accepted and then
    /// lost.
    pub(crate) async fn drain(&mut self) -> u64 {
        self.rx.close();
        let held = self.batch.drain(..).count() as u64;
        let mut unread = 0;
        while self.rx.recv().await.is_some() {
            unread += 1;
        }
        Counts::add(&self.counts.taken, unread);
        Counts::add(&self.counts.undelivered, held + unread);
        held + unread
    }
}

impl<T> Drop for Inbox<T> {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let Some(mailbox) = self.mailbox.take() else {
            return;
        };
        // A body that ended early (returned or panicked): its runner counts what is left.
        let mailbox = match self.park.take() {
            Some(park) => match park.send(mailbox) {
                Ok(()) => return,
                Err(mailbox) => mailbox,
            },
            None => mailbox,
        };
        // No runner to hand it to: the runtime is dropping this run. The mailbox
        // reports what it loses; a run that lost nothing is still over.
        self.requests.shut();
        drop(mailbox);
        let gone = Error::new(
            ErrorKind::Disconnected,
            "the tokio runtime shut down before the consumer finished",
        );
        self.failure.settle(self.failure.get().unwrap_or(gone));
    }
}

impl<T> Drop for Mailbox<T> {
    /// Every path that ends a run empties the mailbox (delivered, or counted as
    /// undelivered); one dropped with items in it is a run the runtime dropped (it
    /// shut down first). Those items are lost: say so, loudly, and record it for the
    /// handles' next call.
    fn drop(&mut self) {
        self.rx.close();
        let held = self.batch.len() as u64;
        let mut lost = held;
        while self.rx.try_recv().is_ok() {
            lost += 1;
        }
        if lost == 0 {
            return;
        }
        Counts::add(&self.counts.taken, lost - held);
        Counts::add(&self.counts.undelivered, lost);
        tracing::error!(
            consumer = %self.name,
            undelivered = lost,
            "the tokio runtime shut down before the consumer finished: accepted items are lost"
        );
        self.failure.settle(
            Error::new(
                ErrorKind::Disconnected,
                "the tokio runtime shut down before the consumer finished",
            )
            .with_undelivered(lost),
        );
    }
}

impl<T> fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
