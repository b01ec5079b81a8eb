//! A handle as a [`futures_sink::Sink`], for code written against the futures
//! ecosystem.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use consumer::{Error, ErrorKind};
use futures_sink::Sink;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::mpsc::{self, OwnedPermit};

use crate::Task;

type Boxed<O> = Pin<Box<dyn Future<Output = O> + Send>>;

/// A [`Task`] handle as a [`Sink`]: `poll_ready` reserves a place in the mailbox,
/// `start_send` fills it, `poll_close` closes the run (for every clone, as
/// [`Task::close_async`] does) and waits for its end. Made by [`Task::sink`].
///
/// `poll_flush` returns at once: an item in the mailbox is already guaranteed to be
/// delivered before the close. Use [`Task::flush_async`] to wait for the consumer.
///
/// Do not hold a reserved place for long without sending: a closing run waits for
/// reserved places before it can finish.
///
/// # Examples
///
/// ```
/// use std::future::poll_fn;
/// use std::pin::Pin;
/// use futures_sink::Sink;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let rt = tokio::runtime::Runtime::new()?;
/// rt.block_on(async {
///     let task = consumer_coroutine::spawn(Vec::new());
///     let mut sink = task.sink();
///     for n in 0..3 {
///         poll_fn(|cx| Pin::new(&mut sink).poll_ready(cx)).await?;
///         Pin::new(&mut sink).start_send(n)?;
///     }
///     poll_fn(|cx| Pin::new(&mut sink).poll_close(cx)).await
/// })?;
/// # Ok(()) }
/// ```
pub struct TaskSink<T> {
    task: Task<T>,
    state: State<T>,
}

enum State<T> {
    Idle(mpsc::Sender<T>),
    Reserving(Boxed<Result<OwnedPermit<T>, mpsc::error::SendError<()>>>),
    Ready(OwnedPermit<T>),
    Closing(Boxed<Result<(), Error>>),
    /// The run stopped: waiting for its failure's final count.
    Failing(Boxed<Error>),
    Done,
}

impl<T: Send + 'static> Task<T> {
    /// This handle as a [`Sink`] (see [`TaskSink`]); it counts as a clone.
    ///
    /// ```
    /// let task = consumer_coroutine::spawn(Vec::<u8>::new());
    /// let sink = task.sink();
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn sink(&self) -> TaskSink<T> {
        TaskSink {
            task: self.clone(),
            state: State::Idle(self.sender()),
        }
    }
}

impl<T: Send + 'static> Sink<T> for TaskSink<T> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Idle(tx) => match tx.try_reserve_owned() {
                    Ok(permit) => this.state = State::Ready(permit),
                    Err(TrySendError::Full(tx)) => {
                        this.state = State::Reserving(Box::pin(tx.reserve_owned()));
                    }
                    Err(TrySendError::Closed(_)) => {
                        this.state = State::Failing(this.task.why_stopped_later());
                    }
                },
                State::Reserving(mut reserve) => match reserve.as_mut().poll(cx) {
                    Poll::Ready(Ok(permit)) => this.state = State::Ready(permit),
                    Poll::Ready(Err(_)) => {
                        this.state = State::Failing(this.task.why_stopped_later());
                    }
                    Poll::Pending => {
                        this.state = State::Reserving(reserve);
                        return Poll::Pending;
                    }
                },
                ready @ State::Ready(_) => {
                    this.state = ready;
                    return Poll::Ready(Ok(()));
                }
                State::Failing(mut failing) => match failing.as_mut().poll(cx) {
                    Poll::Ready(e) => return Poll::Ready(Err(e)),
                    Poll::Pending => {
                        this.state = State::Failing(failing);
                        return Poll::Pending;
                    }
                },
                State::Closing(_) | State::Done => {
                    return Poll::Ready(Err(Error::from(ErrorKind::Closed)));
                }
            }
        }
    }

    fn start_send(self: Pin<&mut Self>, item: T) -> Result<(), Error> {
        let this = self.get_mut();
        match std::mem::replace(&mut this.state, State::Done) {
            State::Ready(permit) => {
                this.state = State::Idle(permit.send(item));
                Ok(())
            }
            other => {
                this.state = other;
                Err(Error::new(
                    ErrorKind::Usage,
                    "start_send without a successful poll_ready first",
                ))
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let mut closing = match std::mem::replace(&mut this.state, State::Done) {
            State::Closing(closing) => closing,
            // A reserved place is given back by dropping it, before the close.
            _ => {
                let task = this.task.clone();
                Box::pin(async move { task.close_async().await })
            }
        };
        match closing.as_mut().poll(cx) {
            Poll::Ready(outcome) => Poll::Ready(outcome),
            Poll::Pending => {
                this.state = State::Closing(closing);
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for TaskSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            State::Idle(_) => "idle",
            State::Reserving(_) => "reserving",
            State::Ready(_) => "ready",
            State::Closing(_) => "closing",
            State::Failing(_) => "failing",
            State::Done => "done",
        };
        f.debug_struct("TaskSink")
            .field("task", &self.task)
            .field("state", &state)
            .finish()
    }
}
