//! Request/reply: a consumer that answers.
//!
//! The notes list "no two-way communication" among the limits of their design. Here a
//! [`Request`] carries an item *and* a way to answer it. A *service* is any consumer of
//! requests — [`serve`] makes one from a function — so it runs on any runner, exactly
//! like a consumer: in-line, in a thread, as a task. A [`Client`] wraps the runner's
//! handle and turns `send` into `call`: send the request, wait for its reply.
//!
//! ```text
//!  client.call(q) ──send(Request{q, reply})──▶ runner ──▶ service: reply.send(f(q))
//!        ▲                                                        │
//!        └──────────────── Pending<R> ◀── one-shot slot ◀─────────┘
//! ```
//!
//! Each call has its own reply slot, so many calls can be in flight at once from
//! clones of one client. A request dropped without an answer (the service closed,
//! failed or panicked) wakes its caller with [`ErrorKind::Disconnected`]; a caller
//! that stops waiting gets [`ErrorKind::Timeout`].
//!
//! # Examples
//!
//! ```
//! use consumer::{Client, Inline, serve};
//!
//! let mut squares = Client::new(Inline::new(serve(|n: u64| n * n)));
//! assert_eq!(squares.call(12)?, 144);
//! # Ok::<(), consumer::SendError<u64>>(())
//! ```
//!
//! Async callers build the request themselves and await the [`Pending`] reply:
//!
//! ```
//! use consumer::{Consumer, Inline, Request, serve};
//!
//! let mut service = Inline::new(serve(|s: String| s.len()));
//! let (request, pending) = Request::new("four".to_owned());
//! service.send(request).map_err(|e| e.into_error())?;
//! // In async code: `let n = pending.await?;`
//! assert_eq!(pending.wait()?, 4);
//! # Ok::<(), consumer::Error>(())
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::sync::{Arc, Condvar, Mutex, lock};
use crate::{Consumer, Error, ErrorKind, SendError};

/// An item that expects an answer: the body, and the [`Reply`] to answer with.
///
/// A service on its own thread, reading requests from a channel:
///
/// ```
/// use consumer::{Client, Request};
///
/// let (tx, rx) = std::sync::mpsc::channel::<Request<u32, u32>>();
/// let server = std::thread::spawn(move || rx.into_iter().for_each(|r| r.answer(|n| n + 1)));
/// let mut client = Client::new(tx);
/// assert_eq!(client.call(41)?, 42);
/// drop(client); // the channel closes and the server's loop ends
/// server.join().unwrap();
/// # Ok::<(), consumer::SendError<u32>>(())
/// ```
pub struct Request<Q, R> {
    body: Q,
    reply: Reply<R>,
    deadline: Option<Instant>,
}

impl<Q, R> Request<Q, R> {
    /// A request for `body`, and the [`Pending`] reply its caller waits on.
    ///
    /// ```
    /// use consumer::Request;
    ///
    /// let (request, pending) = Request::<u8, u8>::new(2);
    /// request.answer(|n| n * 2);
    /// assert_eq!(pending.wait()?, 4);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn new(body: Q) -> (Request<Q, R>, Pending<R>)
    where
        R: Send + 'static,
    {
        let slot = Arc::new(Slot::new());
        let pending = Pending {
            slot: Arc::clone(&slot),
        };
        (
            Request {
                body,
                reply: Reply::to_slot(slot),
                deadline: None,
            },
            pending,
        )
    }

    /// A request whose answer is handed to `deliver` — `Ok(reply)`, or the error saying
    /// why there is none (the request was dropped unanswered, or the service panicked
    /// with it). For transports that route replies themselves (a
    /// process runner writing `(id, reply)` back over its connection, say).
    ///
    /// ```
    /// use consumer::Request;
    ///
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let request = Request::with_callback(2, move |r: Result<i32, _>| tx.send(r).unwrap());
    /// let (n, reply) = request.into_parts();
    /// reply.send(n + 1);
    /// assert_eq!(rx.recv().unwrap().unwrap(), 3);
    /// ```
    pub fn with_callback(
        body: Q,
        deliver: impl FnOnce(Result<R, Error>) + Send + 'static,
    ) -> Request<Q, R> {
        Request {
            body,
            reply: Reply {
                deliver: Some(Box::new(deliver)),
            },
            deadline: None,
        }
    }

    /// The request's body.
    ///
    /// ```
    /// use consumer::Request;
    ///
    /// let (request, _pending) = Request::<_, ()>::new("ping");
    /// assert_eq!(*request.body(), "ping");
    /// ```
    pub fn body(&self) -> &Q {
        &self.body
    }

    /// The body and the reply, to answer later or elsewhere.
    ///
    /// ```
    /// use consumer::Request;
    ///
    /// let (request, pending) = Request::<String, usize>::new("abc".to_owned());
    /// let (body, reply) = request.into_parts();
    /// std::thread::spawn(move || reply.send(body.len()));
    /// assert_eq!(pending.wait()?, 3);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn into_parts(self) -> (Q, Reply<R>) {
        (self.body, self.reply)
    }

    /// Puts a request back together from the parts [`into_parts`](Request::into_parts)
    /// gave: for a transport that took a request apart to send it and must hand it
    /// back when the send fails.
    ///
    /// ```
    /// use consumer::Request;
    ///
    /// let (request, pending) = Request::<u8, u8>::new(1);
    /// let (body, reply) = request.into_parts();
    /// Request::from_parts(body + 1, reply).answer(|n| n * 10);
    /// assert_eq!(pending.wait().unwrap(), 20);
    /// ```
    pub fn from_parts(body: Q, reply: Reply<R>) -> Request<Q, R> {
        Request {
            body,
            reply,
            deadline: None,
        }
    }

    /// The instant its caller stops waiting, if it set one
    /// ([`Client::call_timeout`] does): a transport whose send can block (on a
    /// full socket, say) gives up there rather than hold the caller past it.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use consumer::Request;
    ///
    /// let (request, _pending) = Request::<u8, u8>::new(1);
    /// assert_eq!(request.deadline(), None);
    /// let by = Instant::now() + Duration::from_secs(1);
    /// assert_eq!(request.with_deadline(by).deadline(), Some(by));
    /// ```
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The request with a [`deadline`](Request::deadline).
    ///
    /// ```
    /// use std::time::Instant;
    /// use consumer::Request;
    ///
    /// let (request, _pending) = Request::<u8, u8>::new(1);
    /// let request = request.with_deadline(Instant::now());
    /// assert!(request.deadline().is_some());
    /// ```
    pub fn with_deadline(mut self, deadline: Instant) -> Request<Q, R> {
        self.deadline = Some(deadline);
        self
    }

    /// Answers with `f(body)`.
    ///
    /// ```
    /// use consumer::Request;
    ///
    /// let (request, pending) = Request::<i32, i32>::new(-5);
    /// request.answer(i32::abs);
    /// assert_eq!(pending.wait()?, 5);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn answer(self, f: impl FnOnce(Q) -> R) {
        let (body, reply) = self.into_parts();
        reply.send(f(body));
    }
}

impl<Q, R> fmt::Debug for Request<Q, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request").finish_non_exhaustive()
    }
}

type Deliver<R> = Box<dyn FnOnce(Result<R, Error>) + Send>;

/// The answering half of a request. Send the answer with [`send`](Reply::send);
/// dropping it unanswered tells the caller so.
///
/// ```
/// use consumer::{ErrorKind, Request};
///
/// let (request, pending) = Request::<u8, u8>::new(1);
/// let (_body, reply) = request.into_parts();
/// drop(reply); // unanswered
/// assert_eq!(pending.wait().unwrap_err().kind(), ErrorKind::Disconnected);
/// ```
pub struct Reply<R> {
    deliver: Option<Deliver<R>>,
}

impl<R> Reply<R> {
    fn to_slot(slot: Arc<Slot<R>>) -> Reply<R>
    where
        R: Send + 'static,
    {
        Reply {
            deliver: Some(Box::new(move |r| slot.fill(r))),
        }
    }

    /// Answers the request.
    ///
    /// ```
    /// use consumer::Request;
    ///
    /// let (req, pending) = Request::<(), &str>::new(());
    /// req.into_parts().1.send("done");
    /// assert_eq!(pending.wait().unwrap(), "done");
    /// ```
    pub fn send(mut self, answer: R) {
        if let Some(deliver) = self.deliver.take() {
            deliver(Ok(answer));
        }
    }

    /// Answers with an error instead of a reply: the caller's wait returns `why`.
    /// For transports that learn from the far side why a request failed.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind, Request};
    ///
    /// let (req, pending) = Request::<(), u8>::new(());
    /// req.into_parts().1.fail(Error::new(ErrorKind::Other, "no such order"));
    /// assert_eq!(pending.wait().unwrap_err().message(), Some("no such order"));
    /// ```
    pub fn fail(mut self, why: Error) {
        if let Some(deliver) = self.deliver.take() {
            deliver(Err(why));
        }
    }
}

impl<R> Drop for Reply<R> {
    fn drop(&mut self) {
        if let Some(deliver) = self.deliver.take() {
            deliver(Err(unanswered()));
        }
    }
}

impl<R> fmt::Debug for Reply<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("answered", &self.deliver.is_none())
            .finish()
    }
}

/// The one-shot slot a [`Reply`] fills and a [`Pending`] waits on.
struct Slot<R> {
    state: Mutex<SlotState<R>>,
    filled: Condvar,
}

struct SlotState<R> {
    /// `Some(Ok(r))` answered, `Some(Err(why))` never will be, `None` not yet.
    outcome: Option<Result<R, Error>>,
    waker: Option<Waker>,
}

impl<R> Slot<R> {
    fn new() -> Slot<R> {
        Slot {
            state: Mutex::new(SlotState {
                outcome: None,
                waker: None,
            }),
            filled: Condvar::new(),
        }
    }

    fn fill(&self, answer: Result<R, Error>) {
        let waker = {
            let mut s = lock(&self.state);
            s.outcome = Some(answer);
            s.waker.take()
        };
        self.filled.notify_all();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Why a reply will never come. A reply dropped while its thread unwinds went down
/// with a panicking service.
fn unanswered() -> Error {
    if std::thread::panicking() {
        Error::new(
            ErrorKind::Panicked,
            "the service panicked while handling this request",
        )
    } else {
        Error::new(
            ErrorKind::Disconnected,
            "the request was dropped without a reply",
        )
    }
}

/// A reply on its way: wait for it ([`wait`](Pending::wait),
/// [`wait_timeout`](Pending::wait_timeout)) or `.await` it — it is a `Future` that
/// needs no particular runtime.
///
/// Polled by hand here, to show it is a plain `Future`:
///
/// ```
/// use std::future::Future;
/// use std::task::{Context, Poll, Waker};
/// use consumer::Request;
///
/// let (request, mut pending) = Request::<u8, u8>::new(1);
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(std::pin::Pin::new(&mut pending).poll(&mut cx).is_pending());
/// request.answer(|n| n + 1);
/// assert!(matches!(std::pin::Pin::new(&mut pending).poll(&mut cx), Poll::Ready(Ok(2))));
/// ```
pub struct Pending<R> {
    slot: Arc<Slot<R>>,
}

impl<R> Pending<R> {
    /// Blocks until the reply comes; [`Disconnected`](ErrorKind::Disconnected) if the
    /// request was dropped unanswered, [`Panicked`](ErrorKind::Panicked) if the service
    /// panicked while handling it.
    ///
    /// ```
    /// use consumer::{ErrorKind, Request};
    ///
    /// let (request, pending) = Request::<u8, u8>::new(1);
    /// std::thread::spawn(move || request.answer(|n| n + 1));
    /// assert_eq!(pending.wait()?, 2);
    ///
    /// let (request, pending) = Request::<u8, u8>::new(1);
    /// drop(request);
    /// assert_eq!(pending.wait().unwrap_err().kind(), ErrorKind::Disconnected);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn wait(self) -> Result<R, Error> {
        let mut s = lock(&self.slot.state);
        loop {
            if let Some(outcome) = s.outcome.take() {
                return outcome;
            }
            s = self.slot.filled.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Like [`wait`](Pending::wait), giving up after `timeout` with
    /// [`Timeout`](ErrorKind::Timeout); the reply can still be waited for again.
    ///
    /// ```
    /// use std::time::Duration;
    /// use consumer::{ErrorKind, Request};
    ///
    /// let (_request, mut pending) = Request::<u8, u8>::new(1);
    /// let e = pending.wait_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Timeout);
    /// ```
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<R, Error> {
        let deadline = Instant::now() + timeout;
        let mut s = lock(&self.slot.state);
        loop {
            if let Some(outcome) = s.outcome.take() {
                return outcome;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("no reply within {timeout:?}"),
                ));
            }
            s = self
                .slot
                .filled
                .wait_timeout(s, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// The reply if it has come, without waiting: `None` while it is on its way.
    ///
    /// ```
    /// use consumer::Request;
    ///
    /// let (request, mut pending) = Request::<u8, u8>::new(1);
    /// assert!(pending.try_wait().is_none());
    /// request.answer(|n| n + 1);
    /// assert_eq!(pending.try_wait().unwrap()?, 2);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn try_wait(&mut self) -> Option<Result<R, Error>> {
        lock(&self.slot.state).outcome.take()
    }
}

impl<R> Future for Pending<R> {
    type Output = Result<R, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = lock(&self.slot.state);
        match s.outcome.take() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                if !s.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    s.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

impl<R> fmt::Debug for Pending<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending").finish_non_exhaustive()
    }
}

/// A service made from a function: answers each [`Request`] with `f(body)`.
///
/// ```
/// use consumer::{Client, Inline, serve};
///
/// let mut upper = Client::new(Inline::new(serve(|s: String| s.to_uppercase())));
/// assert_eq!(upper.call("hi".into())?, "HI");
/// # Ok::<(), consumer::SendError<String>>(())
/// ```
pub fn serve<Q, R, F: FnMut(Q) -> R>(f: F) -> Serve<F> {
    Serve { f }
}

/// Made by [`serve`].
///
/// A service is a consumer of requests; it answers each one as it is sent:
///
/// ```
/// use consumer::{Consumer, Request, serve};
///
/// let mut double = serve(|n: i32| n * 2);
/// let (request, pending) = Request::new(21);
/// double.send(request).map_err(|e| e.into_error())?;
/// assert_eq!(pending.wait()?, 42);
/// # Ok::<(), consumer::Error>(())
/// ```
pub struct Serve<F> {
    f: F,
}

impl<Q, R, F: FnMut(Q) -> R> Consumer<Request<Q, R>> for Serve<F> {
    fn send(&mut self, request: Request<Q, R>) -> Result<(), SendError<Request<Q, R>>> {
        request.answer(&mut self.f);
        Ok(())
    }
    fn name(&self) -> &str {
        "serve"
    }
}

impl<F> fmt::Debug for Serve<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serve").finish_non_exhaustive()
    }
}

/// Turns a handle to a service — any consumer of [`Request`]s, on any runner — into
/// something you call. Clone it to make calls from many threads at once.
///
/// ```
/// use std::time::Duration;
/// use consumer::{Client, Inline, serve};
///
/// let service = Inline::new(serve(|(a, b): (i32, i32)| a + b)).shared();
/// let mut client = Client::new(service);
/// assert_eq!(client.call_timeout((2, 3), Duration::from_secs(5))?, 5);
/// # Ok::<(), consumer::SendError<(i32, i32)>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Client<C> {
    service: C,
}

impl<C> Client<C> {
    /// A client of `service`.
    ///
    /// ```
    /// use consumer::{Client, Inline, serve};
    ///
    /// let mut client = Client::new(Inline::new(serve(|n: u8| n + 1)));
    /// assert_eq!(client.call(1)?, 2);
    /// # Ok::<(), consumer::SendError<u8>>(())
    /// ```
    pub fn new(service: C) -> Client<C> {
        Client { service }
    }

    /// Sends a request and returns its pending reply without waiting. If the send
    /// fails, the error hands the body back.
    ///
    /// Several calls in flight at once, each with its own reply:
    ///
    /// ```
    /// use consumer::{Client, Request};
    ///
    /// let (tx, rx) = std::sync::mpsc::channel::<Request<u32, u32>>();
    /// let mut client = Client::new(tx);
    /// let (first, second) = (client.start(1)?, client.start(2)?);
    /// rx.try_iter().for_each(|request| request.answer(|n| n * 10));
    /// assert_eq!((first.wait()?, second.wait()?), (10, 20));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn start<Q, R>(&mut self, body: Q) -> Result<Pending<R>, SendError<Q>>
    where
        C: Consumer<Request<Q, R>>,
        R: Send + 'static,
    {
        let (request, pending) = Request::new(body);
        self.service
            .send(request)
            .map_err(|e| e.map_item(|r| r.body))?;
        Ok(pending)
    }

    /// Sends `body` and waits for the answer. The error hands the body back when the
    /// request could not be sent; once sent, the body belongs to the service, and a
    /// request dropped unanswered is [`Disconnected`](ErrorKind::Disconnected).
    ///
    /// ```
    /// use consumer::{Client, Inline, serve};
    ///
    /// let mut client = Client::new(Inline::new(serve(|n: u32| n * 2)));
    /// assert_eq!(client.call(4)?, 8);
    /// client.close()?;
    /// assert_eq!(client.call(5).unwrap_err().into_item(), Some(5)); // not sent: here it is
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn call<Q, R>(&mut self, body: Q) -> Result<R, SendError<Q>>
    where
        C: Consumer<Request<Q, R>>,
        R: Send + 'static,
    {
        self.start(body)?.wait().map_err(SendError::lost)
    }

    /// Like [`call`](Client::call), giving up after `timeout`
    /// ([`Timeout`](ErrorKind::Timeout)); the late answer, if any, is discarded.
    /// The timeout bounds the whole call: the request carries it as its
    /// [`deadline`](Request::deadline), so a transport whose send blocks (a
    /// service that stopped reading) gives up there too — with the body back if it
    /// was not sent.
    ///
    /// ```
    /// use std::time::Duration;
    /// use consumer::{Client, ErrorKind, Request};
    ///
    /// let (tx, _rx) = std::sync::mpsc::channel::<Request<u8, u8>>();
    /// let mut client = Client::new(tx); // nobody answers
    /// let e = client.call_timeout(1, Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Timeout);
    /// ```
    pub fn call_timeout<Q, R>(&mut self, body: Q, timeout: Duration) -> Result<R, SendError<Q>>
    where
        C: Consumer<Request<Q, R>>,
        R: Send + 'static,
    {
        let deadline = Instant::now() + timeout;
        let (request, mut pending) = Request::new(body);
        self.service
            .send(request.with_deadline(deadline))
            .map_err(|e| e.map_item(|r| r.body))?;
        match pending.wait_timeout(deadline.saturating_duration_since(Instant::now())) {
            Err(e) if e.kind() == ErrorKind::Timeout => Err(SendError::lost(Error::new(
                ErrorKind::Timeout,
                format!("no reply within {timeout:?}"),
            ))),
            other => other.map_err(SendError::lost),
        }
    }

    /// Closes the service.
    ///
    /// ```
    /// use consumer::{Client, Inline, serve};
    ///
    /// let mut client = Client::new(Inline::new(serve(|n: u8| n)));
    /// client.close()?;
    /// assert!(client.call(1).unwrap_err().error().is_closed());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn close<Q, R>(&mut self) -> Result<(), Error>
    where
        C: Consumer<Request<Q, R>>,
    {
        self.service.close()
    }

    /// The service handle.
    ///
    /// ```
    /// use consumer::{Client, Consumer, Inline, Request, serve};
    ///
    /// let client = Client::new(Inline::new(serve(|n: u8| n + 1)));
    /// let mut service = client.into_inner();
    /// let (request, pending) = Request::new(1);
    /// service.send(request).map_err(|e| e.into_error())?;
    /// assert_eq!(pending.wait()?, 2);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn into_inner(self) -> C {
        self.service
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::Inline;

    #[test]
    fn a_dropped_request_wakes_the_caller_with_disconnected() {
        let (request, pending) = Request::<u8, u8>::new(1);
        drop(request);
        assert_eq!(pending.wait().unwrap_err().kind(), ErrorKind::Disconnected);
    }

    #[test]
    fn a_closed_service_hands_the_body_back() {
        let mut client = Client::new(Inline::new(serve(|n: u8| n)));
        client.close().unwrap();
        let e = client.call(7).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed);
        assert_eq!(e.into_item(), Some(7));
    }

    #[test]
    fn a_reply_dropped_by_a_panic_says_so() {
        let (request, pending) = Request::<u8, u8>::new(1);
        let _ = std::thread::spawn(move || {
            let _request = request;
            panic!("service down");
        })
        .join();
        assert_eq!(pending.wait().unwrap_err().kind(), ErrorKind::Panicked);
    }

    #[test]
    fn a_panicking_service_fails_the_call_instead_of_hanging() {
        let mut client = Client::new(Inline::new(serve(
            |n: u8| if n == 0 { panic!("zero") } else { n },
        )));
        assert_eq!(client.call(1).unwrap(), 1);
        let e = client.call(0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panicked);
        assert!(e.item().is_none());
    }

    #[test]
    fn many_calls_in_flight_get_their_own_answers() {
        let (tx, rx) = std::sync::mpsc::channel::<Request<u32, u32>>();
        let mut client = Client::new(tx);
        let pending: Vec<_> = (0..10).map(|i| client.start(i).unwrap()).collect();
        // Answer in reverse order: each reply still finds its own caller.
        let requests: Vec<_> = rx.try_iter().collect();
        for r in requests.into_iter().rev() {
            r.answer(|n| n * 2);
        }
        let answers: Vec<u32> = pending.into_iter().map(|p| p.wait().unwrap()).collect();
        assert_eq!(answers, (0..10).map(|n| n * 2).collect::<Vec<_>>());
    }

    #[test]
    fn pending_is_a_future() {
        use std::task::Wake;
        struct Flag(std::sync::atomic::AtomicBool);
        impl Wake for Flag {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let flag = std::sync::Arc::new(Flag(false.into()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let (request, mut pending) = Request::<u8, u8>::new(1);
        assert!(Pin::new(&mut pending).poll(&mut cx).is_pending());
        request.answer(|n| n + 1);
        assert!(
            flag.0.load(std::sync::atomic::Ordering::SeqCst),
            "answering wakes the task"
        );
        assert!(matches!(
            Pin::new(&mut pending).poll(&mut cx),
            Poll::Ready(Ok(2))
        ));
    }
}
