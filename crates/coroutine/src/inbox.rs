//! The mailbox's receiving end: what a coroutine body reads with `recv().await`.

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;

use consumer::{Error, ErrorKind};
use tokio::sync::{mpsc, oneshot};

/// What travels through the mailbox.
pub(crate) enum Msg<T> {
    Item(T),
    /// Reply once every earlier item has been handled.
    Flush(oneshot::Sender<Result<(), Error>>),
    /// Stop taking items; deliver what was accepted, then end.
    Close,
}

/// What the runner's loop sees next.
pub(crate) enum Event<T> {
    Item(T),
    Flush(oneshot::Sender<Result<(), Error>>),
    /// Closed (or every handle dropped) and every accepted item delivered.
    End,
    /// The runtime is shutting down under a run on the blocking pool.
    Abandoned,
}

/// The first failure of a run, shared with every handle. It is recorded *before* the
/// mailbox shuts, so a send that finds the mailbox shut always finds the reason.
pub(crate) type Failure = Arc<OnceLock<Error>>;

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
/// let mut task = consumer_coroutine::coroutine(|mut inbox| async move {
///     let mut sum = 0;
///     while let Some(n) = inbox.recv().await {
///         sum += n;
///     }
///     // The cleanup: runs before `close` returns, and may fail it.
///     if sum == 6 { Ok(()) } else { Err(Error::new(ErrorKind::Other, "bad sum")) }
/// })?;
/// task.send_all([1, 2, 3])?;
/// task.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Inbox<T> {
    mailbox: Option<Mailbox<T>>,
    failure: Failure,
    /// Did the loop reach the end (or shut the mailbox after a failure)?
    ended: bool,
    /// Where a body's inbox hands its receiver back when dropped early, so the runner
    /// can count what was left unread.
    park: Option<oneshot::Sender<Mailbox<T>>>,
    /// Fires when the runtime drops the task that watches a blocking-pool run.
    stop: Option<oneshot::Receiver<()>>,
}

impl<T> Inbox<T> {
    pub(crate) fn new(rx: mpsc::Receiver<Msg<T>>, failure: Failure) -> Inbox<T> {
        Inbox {
            mailbox: Some(Mailbox {
                rx,
                batch: Vec::new(),
            }),
            failure,
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
    /// use consumer::Consumer;
    ///
    /// let mut task = consumer_coroutine::coroutine(|mut inbox| async move {
    ///     assert_eq!(inbox.recv().await, Some('a'));
    ///     assert_eq!(inbox.recv().await, None); // closed and empty
    /// })?;
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

    pub(crate) fn set_stop(&mut self, stop: oneshot::Receiver<()>) {
        self.stop = Some(stop);
    }

    pub(crate) async fn next(&mut self) -> Event<T> {
        let Inbox { mailbox, stop, .. } = self;
        let Some(mailbox) = mailbox.as_mut() else {
            return Event::End;
        };
        let event = poll_fn(|cx| {
            loop {
                match mailbox.poll_msg(cx) {
                    Poll::Ready(Some(Msg::Item(item))) => return Poll::Ready(Event::Item(item)),
                    Poll::Ready(Some(Msg::Flush(reply))) => {
                        return Poll::Ready(Event::Flush(reply));
                    }
                    // Shut the mailbox and keep going: what was accepted still comes.
                    Poll::Ready(Some(Msg::Close)) => mailbox.rx.close(),
                    Poll::Ready(None) => return Poll::Ready(Event::End),
                    Poll::Pending => {
                        let abandoned = stop
                            .as_mut()
                            .is_some_and(|stop| Pin::new(stop).poll(cx).is_ready());
                        return if abandoned {
                            Poll::Ready(Event::Abandoned)
                        } else {
                            Poll::Pending
                        };
                    }
                }
            }
        })
        .await;
        if matches!(event, Event::End) {
            self.ended = true;
        }
        event
    }

    /// Ends the run after `error`: records it for every sender, shuts the mailbox and
    /// counts the accepted items that will now never be delivered.
    pub(crate) async fn fail(&mut self, error: Error) -> u64 {
        let _ = self.failure.set(error);
        self.ended = true;
        match self.mailbox.as_mut() {
            Some(mailbox) => mailbox.drain().await,
            None => 0,
        }
    }
}

/// How many messages the task takes from the channel at once. Taking a batch
/// returns its slots to the senders in one step instead of one by one.
const BATCH: usize = 128;

/// The channel's receiver and the batch taken from it but not yet handed out.
pub(crate) struct Mailbox<T> {
    rx: mpsc::Receiver<Msg<T>>,
    /// In reverse order, so that `pop` hands out the oldest.
    batch: Vec<Msg<T>>,
}

impl<T> Mailbox<T> {
    fn poll_msg(&mut self, cx: &mut std::task::Context<'_>) -> Poll<Option<Msg<T>>> {
        if let Some(msg) = self.batch.pop() {
            return Poll::Ready(Some(msg));
        }
        match self.rx.poll_recv_many(cx, &mut self.batch, BATCH) {
            Poll::Ready(0) => Poll::Ready(None),
            Poll::Ready(_) => {
                self.batch.reverse();
                Poll::Ready(self.batch.pop())
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Shuts the mailbox and counts the items left in it. Sends in flight finish
    /// first (the receiver waits for their permits), so none is accepted and then
    /// lost. A pending flush's reply is dropped: the flusher then reports why the run
    /// stopped.
    pub(crate) async fn drain(&mut self) -> u64 {
        fn count<T>(msg: Msg<T>) -> u64 {
            u64::from(matches!(msg, Msg::Item(_)))
        }
        self.rx.close();
        let mut unread: u64 = self.batch.drain(..).map(count).sum();
        while let Some(msg) = self.rx.recv().await {
            unread += count(msg);
        }
        unread
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
        // No runner to hand it to: the runtime is dropping this run.
        let _ = self.failure.set(Error::new(
            ErrorKind::Disconnected,
            "the tokio runtime shut down before the consumer finished",
        ));
        drop(mailbox);
    }
}

impl<T> fmt::Debug for Inbox<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}
