//! The task side: the loop that feeds a consumer, and the watch over a coroutine body.

use std::any::Any;
use std::future::{Future, poll_fn, ready};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;

use consumer::{Consumer, Error, ErrorKind, SendError};
use tokio::sync::oneshot;

use crate::AsyncConsumer;
use crate::inbox::{Event, Failure, Inbox, Mailbox, Requests};

type Panic = Box<dyn Any + Send>;

/// Runs `f`, turning a panic in any of its polls into `Err(payload)`. The future is
/// dropped before this returns.
pub(crate) async fn catching<F: Future>(f: F) -> Result<F::Output, Panic> {
    let mut f = pin!(f);
    poll_fn(
        |cx| match catch_unwind(AssertUnwindSafe(|| f.as_mut().poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        },
    )
    .await
}

/// Why the loop stopped before the end of the inbox.
enum Stop {
    /// The consumer's `send` failed or the runtime went away: its `close` still runs.
    Failed(Error),
    /// The consumer panicked: it is not called again.
    Panicked(Error),
}

/// Calls `make` and runs the future it returns, catching a panic in either: a
/// consumer may panic while making its future or while it runs.
async fn guarded<Fut: Future>(make: impl FnOnce() -> Fut) -> Result<Fut::Output, Panic> {
    let fut = catch_unwind(AssertUnwindSafe(make))?;
    catching(fut).await
}

/// What the loop feeds: a consumer's three calls, each with its panic caught.
pub(crate) trait Target<T> {
    fn send(&mut self, item: T) -> impl Future<Output = Caught<(), SendError<T>>> + Send;
    fn flush(&mut self) -> impl Future<Output = Caught<(), Error>> + Send;
    fn close(&mut self) -> impl Future<Output = Caught<(), Error>> + Send;
}

/// A call's result, or the payload of its panic.
pub(crate) type Caught<R, E> = Result<Result<R, E>, Panic>;

/// A synchronous [`Consumer`]: each call runs at once, in the poll, so the loop pays
/// for no future around it.
pub(crate) struct SyncTarget<C>(pub(crate) C);

impl<T: Send, C: Consumer<T> + Send> Target<T> for SyncTarget<C> {
    fn send(&mut self, item: T) -> impl Future<Output = Caught<(), SendError<T>>> + Send {
        ready(catch_unwind(AssertUnwindSafe(|| self.0.send(item))))
    }
    fn flush(&mut self) -> impl Future<Output = Caught<(), Error>> + Send {
        ready(catch_unwind(AssertUnwindSafe(|| self.0.flush())))
    }
    fn close(&mut self) -> impl Future<Output = Caught<(), Error>> + Send {
        ready(catch_unwind(AssertUnwindSafe(|| self.0.close())))
    }
}

/// An [`AsyncConsumer`]: each call's future is polled under `catch_unwind`.
pub(crate) struct AsyncTarget<C>(pub(crate) C);

impl<T: Send, C: AsyncConsumer<T> + Send> Target<T> for AsyncTarget<C> {
    fn send(&mut self, item: T) -> impl Future<Output = Caught<(), SendError<T>>> + Send {
        guarded(|| self.0.send(item))
    }
    fn flush(&mut self) -> impl Future<Output = Caught<(), Error>> + Send {
        guarded(|| self.0.flush())
    }
    fn close(&mut self) -> impl Future<Output = Caught<(), Error>> + Send {
        guarded(|| self.0.close())
    }
}

/// Feeds `target` every item of `inbox`, in order, then closes it: the whole
/// [lifecycle contract](consumer::Consumer#the-lifecycle-contract) on the task side.
/// Hands the target back after a clean close; after a failure it is dropped here.
pub(crate) async fn drive<T, G: Target<T>>(mut inbox: Inbox<T>, mut target: G) -> Result<G, Error> {
    let stop = loop {
        match inbox.next().await {
            Event::Item(item) => match target.send(item).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => break Stop::Failed(e.into_error()),
                Err(p) => break Stop::Panicked(Error::from_panic(p.as_ref(), 0)),
            },
            Event::Flush(reply) => match target.flush().await {
                Ok(outcome) => {
                    let _ = reply.send(outcome);
                }
                Err(p) => break Stop::Panicked(Error::from_panic(p.as_ref(), 0)),
            },
            Event::End => return close(&mut target).await.map(|()| target),
            Event::Abandoned => {
                break Stop::Failed(Error::new(
                    ErrorKind::Disconnected,
                    "the tokio runtime shut down before the consumer finished",
                ));
            }
        }
    };
    match stop {
        Stop::Failed(e) => {
            let undelivered = inbox.fail(e.clone()).await;
            // Its state is intact, so it still gets to finish up; the failure is
            // what the run reports.
            let _ = close(&mut target).await;
            Err(e.with_undelivered(undelivered))
        }
        Stop::Panicked(e) => {
            let undelivered = inbox.fail(e.clone()).await;
            Err(e.with_undelivered(undelivered))
        }
    }
}

async fn close<T, G: Target<T>>(target: &mut G) -> Result<(), Error> {
    target
        .close()
        .await
        .unwrap_or_else(|p| Err(Error::from_panic(p.as_ref(), 0)))
}

/// What a coroutine body may return: nothing, or a `Result` whose error becomes the
/// run's outcome (what `close` returns).
///
/// ```
/// use consumer::{Consumer, Error, ErrorKind};
///
/// let task = consumer_coroutine::coroutine(|mut inbox| async move {
///     while let Some(n) = inbox.recv().await {
///         if n == 0 {
///             return Err(Error::new(ErrorKind::Other, "zero"));
///         }
///     }
///     Ok(())
/// });
/// task.send(0u32)?;
/// assert_eq!(task.close().unwrap_err().message(), Some("zero"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait BodyResult: sealed::Sealed {
    /// The outcome this stands for.
    ///
    /// ```
    /// use consumer_coroutine::BodyResult;
    ///
    /// assert!(().into_result().is_ok());
    /// ```
    fn into_result(self) -> Result<(), Error>;
}

impl BodyResult for () {
    fn into_result(self) -> Result<(), Error> {
        Ok(())
    }
}

impl BodyResult for Result<(), Error> {
    fn into_result(self) -> Result<(), Error> {
        self
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for () {}
    impl Sealed for Result<(), consumer::Error> {}
}

/// Runs a coroutine body and settles its run: a panic or an error ends it with that
/// failure, and items the body left unread are counted as undelivered.
pub(crate) async fn watch_body<T, F>(
    body: F,
    parked: oneshot::Receiver<Mailbox<T>>,
    failure: Failure,
    requests: Requests,
) -> Result<(), Error>
where
    F: Future,
    F::Output: BodyResult,
{
    let result = match catching(body).await {
        Ok(r) => r.into_result(),
        Err(p) => Err(Error::from_panic(p.as_ref(), 0)),
    };
    // The body is gone; if it left its inbox open, the inbox handed the receiver back.
    requests.shut();
    let mut parked = parked;
    let Ok(mut mailbox) = parked.try_recv() else {
        return result;
    };
    if let Err(e) = &result {
        // Recorded before the mailbox shuts, so racing senders get this error.
        failure.record(e.clone());
    }
    let unread = mailbox.drain().await;
    let outcome = match result {
        Err(e) => Err(e.with_undelivered(unread)),
        Ok(()) if unread > 0 => Err(Error::new(
            ErrorKind::Other,
            "the coroutine body returned before reading its whole inbox",
        )
        .with_undelivered(unread)),
        Ok(()) => Ok(()),
    };
    if let Err(e) = &outcome {
        failure.settle(e.clone());
    }
    outcome
}
