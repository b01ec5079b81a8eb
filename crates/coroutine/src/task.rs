//! The handle: a [`Consumer`] that feeds a tokio task, blocking or async.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use consumer::{Consumer, Error, ErrorKind, SendError, Stats};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot, watch};

use crate::block::Place;
use crate::inbox::{Counts, Failure, Requests};

/// How a run ended; `None` while it runs.
pub(crate) type Outcome = Option<Result<(), Error>>;

/// A handle to a consumer (or coroutine body) running as a tokio task.
///
/// [`spawn`](crate::spawn()) returns a [`Runner`](crate::Runner), the first handle,
/// which derefs to a `Task` and can also [`join`](crate::Runner::join);
/// [`Runner::handle`](crate::Runner::handle) makes more, and
/// [`coroutine`](crate::coroutine()) returns a `Task` directly.
///
/// It is itself a [`Consumer`]: its blocking [`send`](Consumer::send) and
/// [`close`](Consumer::close) work from any plain thread, no runtime needed. Async
/// code uses [`send_async`](Task::send_async), [`flush_async`](Task::flush_async) and
/// [`close_async`](Task::close_async) instead. Clones share one mailbox; the task
/// keeps each sender's order.
///
/// The handle keeps the [lifecycle contract](Consumer#the-lifecycle-contract): every
/// accepted item is delivered before the consumer's `close`; `close` through any clone
/// closes for all, runs the consumer's `close` once and waits for it; a send after
/// close or after a failure returns the error with the item back; a panic in the
/// consumer becomes an [`ErrorKind::Panicked`] error that counts the undelivered
/// items. Dropping the last clone closes, like `close` (waiting for it only outside a
/// runtime: see below).
///
/// # Runtime compatibility
///
/// Blocking calls (`send`, `send_all`, `flush`, `close`, dropping the last clone):
///
/// - outside any tokio runtime: block the thread;
/// - inside a multi-thread runtime: work, via [`tokio::task::block_in_place`], so the
///   worker's other tasks move to another thread while this one waits;
/// - inside a current-thread runtime: return [`ErrorKind::Usage`] (with the item back)
///   without waiting, because waiting could stall the runtime that runs the
///   consumer. Use the `_async` methods in async code.
///
/// Dropping the last clone waits for the close outside any runtime and inside a
/// multi-thread runtime, as the blocking calls do: the end of a `#[tokio::main]`
/// loses nothing. It does not wait on a current-thread runtime's thread, nor during
/// a runtime's shutdown (which drops tasks one by one, so waiting for another could
/// hang): there it starts the close and returns, and the run finishes if the
/// runtime runs on. If the runtime is dropped first, the accepted items still in the
/// mailbox are lost, and said so: an error-level `tracing` event names the consumer
/// and the count, and a live handle's next `send` or `close` returns
/// [`ErrorKind::Disconnected`] with that [`undelivered`](Error::undelivered) count.
/// Call [`close_async`](Task::close_async) before the end to lose nothing there.
///
/// Inside a `tokio::task::LocalSet` on a multi-thread runtime, tokio forbids
/// `block_in_place`, which we cannot tell beforehand: a call there that has to wait
/// returns [`ErrorKind::Usage`] too (the default panic hook still prints tokio's
/// refusal, which is caught). Use the `_async` methods there.
///
/// # Fairness
///
/// One mailbox, first in first out: each sender's items arrive in the order it sent
/// them; items of different senders interleave in the order they entered the
/// mailbox. Senders waiting for room are served in the order they started waiting
/// (tokio's semaphore is fair), and so is a `flush`, which waits for the whole
/// mailbox.
///
/// # Panics
///
/// Never: a panic in the consumer becomes an error, and so does a blocking call
/// where it could deadlock (see below).
///
/// # Thread safety
///
/// `Task<T>` is `Send + Sync + Clone + 'static` whenever `T: Send`, so it can be
/// handed to threads and tasks, or registered with a [`consumer::Broadcast`]. Items
/// cross threads, so they must be `Send`:
///
/// ```compile_fail
/// use std::rc::Rc;
///
/// let task = consumer_coroutine::spawn(Vec::<Rc<u8>>::new()); // Rc is not Send
/// ```
///
/// # Examples
///
/// ```
/// let task = consumer_coroutine::spawn(Vec::new());
/// task.send(1)?; // from a plain thread: no runtime needed
/// task.close()?;
/// assert!(task.send(2).unwrap_err().error().is_closed());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Task<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    tx: mpsc::Sender<T>,
    requests: Requests,
    failure: Failure,
    counts: Arc<Counts>,
    /// Places a `flush` holds (all of them, for a moment): not items.
    flushing: AtomicUsize,
    done: watch::Receiver<Outcome>,
    name: Arc<str>,
}

impl<T> Task<T> {
    pub(crate) fn new(
        tx: mpsc::Sender<T>,
        requests: Requests,
        failure: Failure,
        counts: Arc<Counts>,
        done: watch::Receiver<Outcome>,
        name: Arc<str>,
    ) -> Task<T> {
        Task {
            inner: Arc::new(Inner {
                tx,
                requests,
                failure,
                counts,
                flushing: AtomicUsize::new(0),
                done,
                name,
            }),
        }
    }

    /// A snapshot of the run's live counts: items accepted (by every clone),
    /// delivered to the consumer (or received by the body), still queued, and lost
    /// to a failure (`restarts` is always 0: a runner does not restart its consumer).
    ///
    /// Nothing is counted on the sending path: `accepted` is what the task has taken
    /// out of the mailbox plus what is in it now.
    ///
    /// ```
    /// let task = consumer_coroutine::spawn(Vec::new());
    /// task.send_all(0..10)?;
    /// task.close()?;
    /// let s = task.stats();
    /// assert_eq!((s.accepted, s.delivered, s.queued, s.undelivered), (10, 10, 0, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        let inner = &*self.inner;
        let c = &inner.counts;
        let delivered = c.delivered.load(Ordering::Relaxed);
        let undelivered = c.undelivered.load(Ordering::Relaxed);
        let taken = c.taken.load(Ordering::Relaxed);
        let held = inner.tx.max_capacity() - inner.tx.capacity();
        let in_mailbox = held.saturating_sub(inner.flushing.load(Ordering::Relaxed));
        Stats::from_counts(taken + in_mailbox as u64, delivered, undelivered)
    }

    /// Sends one item, waiting (asynchronously) while the mailbox is full.
    ///
    /// Returns `Ok` once the item is in the mailbox; it will be delivered before the
    /// consumer's `close`. After close or a failure, the error hands the item back.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let rt = tokio::runtime::Runtime::new()?;
    /// rt.block_on(async {
    ///     let task = consumer_coroutine::spawn(Vec::new());
    ///     task.send_async(1).await?;
    ///     task.close_async().await
    /// })?;
    /// # Ok(()) }
    /// ```
    pub async fn send_async(&self, item: T) -> Result<(), SendError<T>> {
        match self.inner.tx.send(item).await {
            Ok(()) => Ok(()),
            Err(e) => Err(SendError::new(e.0, self.inner.why_stopped_async().await)),
        }
    }

    /// Waits until the consumer has handled every item sent before this call, then
    /// calls its `flush` (a coroutine body answers as soon as it has received them).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let rt = tokio::runtime::Runtime::new()?;
    /// # rt.block_on(async {
    /// let task = consumer_coroutine::spawn(Vec::new());
    /// task.send_async(1).await?;
    /// task.flush_async().await?; // the Vec has the 1 now
    /// # task.close_async().await })?; Ok(()) }
    /// ```
    pub async fn flush_async(&self) -> Result<(), Error> {
        let inner = &self.inner;
        // Holding every place of the mailbox means every earlier item has been taken
        // out by the task; it sees the request after handling the last of them.
        let all = inner.tx.max_capacity();
        let places = match inner.tx.reserve_many(all).await {
            Ok(places) => places,
            Err(_) => return Err(inner.why_stopped_async().await),
        };
        inner.flushing.fetch_add(all, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        let posted = inner.requests.flush(reply);
        drop(places);
        inner.flushing.fetch_sub(all, Ordering::Relaxed);
        if posted.is_err() {
            return Err(inner.why_stopped_async().await);
        }
        match answer.await {
            Ok(outcome) => outcome,
            Err(_) => Err(inner.why_stopped_async().await),
        }
    }

    /// Closes the consumer for every clone and waits until its `close` (or a
    /// coroutine body's cleanup) has finished; returns how the run ended.
    ///
    /// Items accepted before the close are delivered first; sends from now on fail
    /// with [`ErrorKind::Closed`]. Calling it again returns the same outcome.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let rt = tokio::runtime::Runtime::new()?;
    /// # rt.block_on(async {
    /// let task = consumer_coroutine::spawn(Vec::<u8>::new());
    /// task.close_async().await?;
    /// task.close_async().await?; // harmless
    /// # Ok::<(), consumer::Error>(()) })?; Ok(()) }
    /// ```
    pub async fn close_async(&self) -> Result<(), Error> {
        // Ignored when the run has already ended: then there is nothing to close.
        self.inner.requests.close();
        self.inner.outcome().await
    }

    /// Has the run ended (closed, failed, or its runtime gone)?
    ///
    /// ```
    /// let task = consumer_coroutine::spawn(Vec::<u8>::new());
    /// assert!(!task.is_finished());
    /// task.close()?;
    /// assert!(task.is_finished());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.done.borrow().is_some() || self.inner.done.has_changed().is_err()
    }
}

impl<T> Task<T> {
    /// A sender of its own, for the [`Sink`](futures_sink::Sink) view.
    pub(crate) fn sender(&self) -> mpsc::Sender<T> {
        self.inner.tx.clone()
    }

    pub(crate) fn why_stopped(&self) -> Error {
        self.inner.why_stopped()
    }

    /// [`why_stopped`](Task::why_stopped) once a failure has its final count.
    pub(crate) fn why_stopped_later(&self) -> Pin<Box<dyn Future<Output = Error> + Send>>
    where
        T: Send + 'static,
    {
        let task = self.clone();
        Box::pin(async move { task.inner.why_stopped_async().await })
    }
}

impl<T> Inner<T> {
    /// Why the run refuses items, as it stands now (see
    /// [`why_stopped_async`](Inner::why_stopped_async)).
    fn why_stopped(&self) -> Error {
        if let Some(e) = self.failure.get() {
            return e;
        }
        match &*self.done.borrow() {
            Some(Err(e)) => e.clone(),
            _ => Error::from(ErrorKind::Closed),
        }
    }

    /// Why the run refuses items; after a failure, once its count of undelivered
    /// items is final (a moment: the drain of the mailbox), so that every error
    /// agrees with `close`.
    async fn why_stopped_async(&self) -> Error {
        match self.failure.settled().await {
            Some(e) => e,
            None => self.why_stopped(),
        }
    }

    /// [`why_stopped_async`](Inner::why_stopped_async), waiting from `place`.
    fn why_stopped_from(&self, place: Place, what: &str) -> Error {
        place
            .wait(what, || self.why_stopped_async())
            .unwrap_or_else(|_| self.why_stopped())
    }

    /// Waits for the run to end.
    async fn outcome(&self) -> Result<(), Error> {
        let mut done = self.done.clone();
        let outcome = match done.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Ok(())),
            Err(_) => Err(Error::new(
                ErrorKind::Disconnected,
                "the tokio runtime shut down before the consumer finished",
            )),
        };
        match outcome {
            // The runtime dropped the run: its mailbox recorded how many items it lost.
            Err(e) if e.kind() == ErrorKind::Disconnected && e.undelivered().is_none() => {
                let lost = self.failure.get().filter(|f| f.undelivered().is_some());
                Err(lost.unwrap_or(e))
            }
            outcome => outcome,
        }
    }

    /// A blocking send from `place`: no waiting while the mailbox has room.
    fn send_from(&self, place: Place, item: T) -> Result<(), SendError<T>> {
        let item = match self.tx.try_send(item) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Full(item)) => item,
            Err(TrySendError::Closed(item)) => return Err(self.refused(place, item)),
        };
        let mut slot = Some(item);
        let sent = place.wait("send", || self.tx.send(slot.take().expect("taken once")));
        match sent {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.refused(place, e.0)),
            Err(refused) => Err(SendError::new(
                slot.take().expect("not taken when refused"),
                refused,
            )),
        }
    }

    /// The error for an item the mailbox refused (the run's failure, its failed
    /// outcome, or plain closed), with the item back.
    #[cold]
    fn refused(&self, place: Place, item: T) -> SendError<T> {
        SendError::new(item, self.why_stopped_from(place, "send"))
    }
}

/// Where this thread may block for `what`, or `item` back with the reason it may not.
fn place_for<T>(what: &str, item: T) -> Result<(Place, T), SendError<T>> {
    match Place::here(what) {
        Ok(place) => Ok((place, item)),
        Err(e) => Err(SendError::new(item, e)),
    }
}

/// The blocking methods, inherent and taking `&self` (as on the thread runner's
/// handle), so a shared `Task` sends without `mut` and without the trait in scope.
impl<T> Task<T> {
    /// Sends one item, waiting while the mailbox is full (see
    /// [runtime compatibility](Task#runtime-compatibility)).
    ///
    /// # Errors
    ///
    /// After close or a failure, that error with the item back;
    /// [`ErrorKind::Usage`] (item back) where this thread may not wait.
    ///
    /// ```
    /// let task = consumer_coroutine::spawn(Vec::new());
    /// task.send(1)?; // no `mut`, no trait import
    /// task.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(&self, item: T) -> Result<(), SendError<T>> {
        let (place, item) = place_for("send", item)?;
        self.inner.send_from(place, item)
    }

    /// Sends every item in order, checking the runtime context once.
    ///
    /// # Errors
    ///
    /// As [`send`](Task::send), for the first item refused.
    ///
    /// ```
    /// let task = consumer_coroutine::spawn(Vec::new());
    /// task.send_all(1..=3)?;
    /// task.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_all<I: IntoIterator<Item = T>>(&self, items: I) -> Result<(), SendError<T>> {
        let mut items = items.into_iter();
        let Some(first) = items.next() else {
            return Ok(());
        };
        let (place, first) = place_for("send_all", first)?;
        self.inner.send_from(place, first)?;
        items.try_for_each(|item| self.inner.send_from(place, item))
    }

    /// Waits until every item sent before has been handled, then calls the
    /// consumer's `flush` (the blocking [`flush_async`](Task::flush_async)).
    ///
    /// # Errors
    ///
    /// The run's failure, the consumer's `flush` error, or [`ErrorKind::Usage`] where
    /// this thread may not wait.
    ///
    /// ```
    /// let task = consumer_coroutine::spawn(Vec::<u8>::new());
    /// task.flush()?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn flush(&self) -> Result<(), Error> {
        Place::here("flush")?.wait("flush", || self.flush_async())?
    }

    /// Closes for every clone and waits for the consumer's `close` (the blocking
    /// [`close_async`](Task::close_async)).
    ///
    /// # Errors
    ///
    /// How the run ended, or [`ErrorKind::Usage`] where this thread may not wait.
    ///
    /// ```
    /// let task = consumer_coroutine::spawn(Vec::<u8>::new());
    /// task.close()?;
    /// assert!(task.is_finished());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn close(&self) -> Result<(), Error> {
        Place::here("close")?.wait("close", || self.close_async())?
    }

    /// The name the run's span carries: [`Builder::name`](crate::Builder::name), or
    /// the consumer's own.
    ///
    /// ```
    /// let task = consumer_coroutine::Builder::new().name("audit").spawn(Vec::<u8>::new())?;
    /// assert_eq!(task.name(), "audit");
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.name
    }
}

impl<T> Consumer<T> for Task<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        Task::send(self, item)
    }

    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        Task::send_all(self, items)
    }

    /// As `send_all`, so a boxed or wrapped `Task` checks the context once per batch too.
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        Task::send_all(self, items)
    }

    fn flush(&mut self) -> Result<(), Error> {
        Task::flush(self)
    }

    fn close(&mut self) -> Result<(), Error> {
        Task::close(self)
    }

    fn name(&self) -> &str {
        Task::name(self)
    }
}

impl<T> Clone for Task<T> {
    fn clone(&self) -> Self {
        Task {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T> Drop for Inner<T> {
    /// The last clone is gone: close as `close` would, and wait where that is safe
    /// (see [`Place::for_drop`]). Elsewhere the mailbox ends when `tx` drops and the
    /// task finishes the drain and the close on its own, unwaited; should the runtime
    /// drop the run first, the mailbox reports the items it loses (an error-level
    /// event naming the consumer and the count).
    fn drop(&mut self) {
        if let Some(place) = Place::for_drop() {
            let _ = place.wait("drop", || async {
                self.requests.close();
                self.outcome().await
            });
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.inner.name)
            .field("finished", &self.is_finished())
            .finish()
    }
}
