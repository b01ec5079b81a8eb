//! Request/reply over a connection: a service in another process, called like one
//! in a thread.
//!
//! A connection carries two item streams, one each way, each with its own handshake:
//! requests `(id, body)` from the caller, replies `(id, answer or error)` from the
//! service. So the wire is the same as for plain items — limits, codecs, type
//! fingerprints for both the request and the reply type — and nothing new can reach
//! a decoder.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use consumer::{Consumer, Error, ErrorKind, Reply, Request, SendError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use std::io::{Read, Write};

use consumer_wire::{Feed, Identity, WireAnswer};

use crate::deadline::Watchdog;
use crate::watch::Watch;
use crate::{Receiver, Sender, SharedSender};

/// How long a broken connection waits for its child to finish dying, so the calls
/// fail with how it ended.
const DYING: std::time::Duration = std::time::Duration::from_millis(200);

/// The request stream's writer: any byte stream.
pub(crate) type BoxWrite = Box<dyn Write + Send>;

/// The calls waiting for their replies, and why no more will come once the
/// connection has ended.
struct Calls<R> {
    waiting: HashMap<u64, Reply<R>>,
    ended: Option<Error>,
}

pub(crate) struct Shared<R> {
    calls: Mutex<Calls<R>>,
    next_id: AtomicU64,
    reader: Mutex<Option<JoinHandle<()>>>,
    /// The supervised child serving the calls, if this side started it.
    pub(crate) child: Option<Arc<Watch>>,
    /// Ends the connection when a request is still being written at its call's
    /// deadline ([`Remote::shut_with`]).
    watchdog: std::sync::OnceLock<Watchdog>,
}

impl<R> Shared<R> {
    fn calls(&self) -> MutexGuard<'_, Calls<R>> {
        // No user code runs under this lock: it cannot be poisoned by it.
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A service at the other end of a pair of byte streams: a consumer of
/// [`Request`]s, so [`consumer::Client`] calls it exactly as it calls a service in a
/// thread or a task.
///
/// Every request gets an id; the replies come back on the same connection, in any
/// order, and a reader thread hands each to its caller. Many calls may be in flight
/// at once, from clones of one `Remote` in many threads. A call whose request was
/// dropped or panicked over there fails with that error; when the connection ends
/// — the service closed, its process died — every call still waiting fails with
/// [`Disconnected`](ErrorKind::Disconnected), and so does every later send (the
/// request handed back). Nothing waits forever: use
/// [`Client::call_timeout`](consumer::Client::call_timeout) to bound a call — its
/// request's write too, on a `Remote` that can be shut ([`Remote::shut_with`]).
///
/// Made over any two byte streams with [`Remote::over`] (a socket and its clone, a
/// pair of pipes), by `consumer-net`'s `Connector::client` across machines; the
/// other end runs [`serve_requests`]. Or made with a supervised child process
/// behind it by [`Remote::spawn`] / [`Remote::spawn_self`]; the child runs
/// [`serve_stdin_requests`](crate::serve_stdin_requests).
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use consumer::{Client, serve};
/// use consumer_process::{Remote, serve_requests};
///
/// let (here, there) = UnixStream::pair()?;
/// let far = std::thread::spawn(move || {
///     serve_requests(there.try_clone()?, there, serve(|n: u64| n * n))
/// });
/// let mut client = Client::new(Remote::<u64, u64>::over(here.try_clone()?, here)?);
/// assert_eq!(client.call(12)?, 144);
/// client.close()?;
/// assert_eq!(far.join().unwrap()?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Remote<Q, R> {
    requests: SharedSender<(u64, Q), BoxWrite>,
    pub(crate) shared: Arc<Shared<R>>,
    _body: PhantomData<fn(Q)>,
}

impl<Q, R> Remote<Q, R>
where
    Q: Serialize + Deserialize<'static> + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    /// Calls the service that reads requests from `writer`'s far end and answers on
    /// `reader` (already authenticated, if it needs to be). Starts the thread that
    /// reads the replies.
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the reader thread cannot start.
    pub fn over<Rd, Wr>(reader: Rd, writer: Wr) -> Result<Remote<Q, R>, Error>
    where
        Rd: Read + Send + 'static,
        Wr: Write + Send + 'static,
    {
        Remote::over_pinned(reader, writer, None)
    }

    /// As [`over`](Remote::over), with the service's identity pinned (see
    /// [`stream_identities`]); `None` traces both item types.
    ///
    /// # Errors
    ///
    /// As [`over`](Remote::over).
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use consumer::{Client, serve};
    /// use consumer_process::{Identity, Remote, serve_requests_pinned};
    ///
    /// let pin = Identity::named("squares", 1);
    /// let (here, there) = UnixStream::pair()?;
    /// let theirs = Some(pin.clone());
    /// let far = std::thread::spawn(move || {
    ///     serve_requests_pinned(there.try_clone()?, there, serve(|n: u64| n * n), theirs)
    /// });
    /// let mut client = Client::new(Remote::<u64, u64>::over_pinned(here.try_clone()?, here, Some(pin))?);
    /// assert_eq!(client.call(12)?, 144);
    /// client.close()?;
    /// assert_eq!(far.join().unwrap()?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn over_pinned<Rd, Wr>(
        reader: Rd,
        writer: Wr,
        pin: Option<Identity>,
    ) -> Result<Remote<Q, R>, Error>
    where
        Rd: Read + Send + 'static,
        Wr: Write + Send + 'static,
    {
        let (ask, answer) = stream_identities(pin.as_ref());
        let requests = pin_sender(Sender::new(Box::new(writer) as BoxWrite), ask).shared();
        Remote::start(reader, requests, None, answer)
    }

    /// Starts the reply reader on `reader` for calls sent through `requests`;
    /// `child`: the process serving them, whose end explains a broken connection;
    /// `answer`: the reply stream's pinned identity, if any.
    pub(crate) fn start<Rd>(
        reader: Rd,
        requests: SharedSender<(u64, Q), BoxWrite>,
        child: Option<Arc<Watch>>,
        answer: Option<Identity>,
    ) -> Result<Remote<Q, R>, Error>
    where
        Rd: Read + Send + 'static,
    {
        let shared = Arc::new(Shared {
            calls: Mutex::new(Calls {
                waiting: HashMap::new(),
                ended: None,
            }),
            next_id: AtomicU64::new(0),
            reader: Mutex::new(None),
            child,
            watchdog: std::sync::OnceLock::new(),
        });
        let span = tracing::info_span!("process.remote", runner = "process");
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("consumer-remote".into())
                .spawn(move || {
                    let _entered = span.enter();
                    read_replies(reader, answer, &shared);
                })
                .map_err(|e| crate::io::io_error("starting the reply reader", e))?
        };
        *shared.reader.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread);
        Ok(Remote {
            requests,
            shared,
            _body: PhantomData,
        })
    }
}

impl<Q, R> Remote<Q, R> {
    /// How to end this connection from outside (shut its socket down, say). With
    /// it, a call's [`deadline`](Request::deadline) — which
    /// [`Client::call_timeout`](consumer::Client::call_timeout) sets — bounds the
    /// write of its request too: if the request is still being written at the
    /// deadline (the service stopped reading and the socket is full), the connection
    /// is ended there, that call fails with [`Timeout`](ErrorKind::Timeout) and
    /// every other call as the connection does. A request whose deadline has passed
    /// before it is written comes back, unsent, in the error.
    /// [`Remote::spawn`] and `consumer-net`'s `Connector::client` set it; on a
    /// `Remote` made [`over`](Remote::over) streams without it, a blocked write
    /// waits for the service.
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    /// use consumer::{Client, ErrorKind};
    /// use consumer_process::Remote;
    ///
    /// // A service that never reads: the requests fill the socket.
    /// let (here, _there) = UnixStream::pair()?;
    /// let shut = here.try_clone()?;
    /// let remote = Remote::<Vec<u8>, u8>::over(here.try_clone()?, here)?
    ///     .shut_with(move || drop(shut.shutdown(std::net::Shutdown::Both)));
    /// let mut client = Client::new(remote);
    /// let e = client.call_timeout(vec![0; 3 << 20], Duration::from_millis(50)).unwrap_err();
    /// assert!(e.to_string().contains("still being written"), "{e}");
    /// assert_eq!(e.kind(), ErrorKind::Timeout);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shut_with(self, shut: impl Fn() + Send + Sync + 'static) -> Remote<Q, R> {
        let _ = self.shared.watchdog.set(Watchdog::new(Box::new(shut)));
        self
    }
}

/// Why a call failed when the watchdog ended its connection: the same words whether
/// the writer or the reader thread sees the cut first.
const CUT_AT_DEADLINE: &str =
    "the request was still being written at the call's deadline, so the connection was ended";

/// The reader thread: replies to their callers until the connection ends, then
/// fails every call still waiting.
fn read_replies<R>(reader: impl Read, identity: Option<Identity>, shared: &Shared<R>)
where
    R: DeserializeOwned + Send + 'static,
{
    let deliver = consumer::try_from_fn(|(id, answer): (u64, WireAnswer<R>)| {
        let Some(reply) = shared.calls().waiting.remove(&id) else {
            return Err(consumer_wire::protocol_error(format!(
                "a reply to unknown call {id}"
            )));
        };
        match answer {
            Ok(r) => reply.send(r),
            Err((code, message)) => reply.fail(
                consumer_wire::error_from_wire(code, &message)
                    .unwrap_or_else(|| Error::new(ErrorKind::Other, message)),
            ),
        }
        Ok(())
    });
    let outcome =
        pin_receiver(Receiver::new(reader), identity).run::<(u64, WireAnswer<R>), _>(deliver);
    // A child that died says how: its exit status or signal.
    let died = outcome
        .as_ref()
        .err()
        .and_then(|_| shared.child.as_ref()?.ended_error_within(DYING))
        .filter(|e| e.kind() == ErrorKind::Exit);
    let shut = shared.watchdog.get().is_some_and(Watchdog::fired);
    let why = match (outcome, died) {
        (_, Some(died)) => died,
        (_, None) if shut => Error::new(ErrorKind::Timeout, CUT_AT_DEADLINE),
        (Ok(_), None) => Error::new(ErrorKind::Disconnected, "the service closed the connection"),
        (Err(e), None) => Error::new(
            ErrorKind::Disconnected,
            format!("the connection failed: {e}"),
        ),
    };
    tracing::debug!(error = %why, "replies ended");
    let waiting = {
        let mut calls = shared.calls();
        calls.ended = Some(why.clone());
        std::mem::take(&mut calls.waiting)
    };
    for reply in waiting.into_values() {
        reply.fail(why.clone());
    }
}

impl<Q, R> Consumer<Request<Q, R>> for Remote<Q, R>
where
    Q: Serialize + 'static,
    R: Send + 'static,
{
    fn send(&mut self, request: Request<Q, R>) -> Result<(), SendError<Request<Q, R>>> {
        let deadline = request.deadline();
        if deadline.is_some_and(|d| d <= std::time::Instant::now()) {
            let e = Error::new(
                ErrorKind::Timeout,
                "the call's deadline passed before its request was sent",
            );
            return Err(SendError::new(request, e));
        }
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let (body, reply) = request.into_parts();
        {
            let mut calls = self.shared.calls();
            if let Some(why) = &calls.ended {
                let why = why.clone();
                return Err(SendError::new(Request::from_parts(body, reply), why));
            }
            calls.waiting.insert(id, reply);
        }
        let watched = deadline.and_then(|d| self.shared.watchdog.get()?.arm(d));
        let sent = self.requests.send((id, body));
        let shut = watched.as_ref().is_some_and(|w| w.fired());
        drop(watched);
        sent.map_err(|e| {
            let (item, error) = e.into_parts();
            let error = if shut {
                Error::new(ErrorKind::Timeout, format!("{CUT_AT_DEADLINE} ({error})"))
            } else {
                error
            };
            let reply = self.shared.calls().waiting.remove(&id);
            match (item, reply) {
                (Some((_, body)), Some(reply)) => {
                    SendError::new(Request::from_parts(body, reply), error)
                }
                // The reader already failed the call's reply; the body still comes
                // back, in a request of its own.
                (Some((_, body)), None) => SendError::new(Request::new(body).0, error),
                (None, _) => SendError::lost(error),
            }
        })
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.requests.flush()
    }

    /// Ends the request stream and waits until the service has closed and every
    /// reply has come (or failed). Closes the connection for every clone.
    fn close(&mut self) -> Result<(), Error> {
        let outcome = self.requests.close();
        let reader = self
            .shared
            .reader
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(reader) = reader {
            // The reader catches nothing: a panic there is a bug, reported as such.
            if reader.join().is_err() {
                return Err(Error::new(ErrorKind::Panicked, "the reply reader panicked"));
            }
        }
        outcome
    }

    fn name(&self) -> &str {
        "process::Remote"
    }
}

impl<Q, R> Clone for Remote<Q, R> {
    fn clone(&self) -> Self {
        Remote {
            requests: self.requests.clone(),
            shared: Arc::clone(&self.shared),
            _body: PhantomData,
        }
    }
}

impl<Q, R> fmt::Debug for Remote<Q, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let calls = self.shared.calls();
        f.debug_struct("Remote")
            .field("waiting", &calls.waiting.len())
            .field("ended", &calls.ended)
            .finish_non_exhaustive()
    }
}

/// Serves the requests that arrive on `reader` to `service` — any consumer of
/// [`Request`]s: [`consumer::serve`] in-line, or a thread or task runner's handle so
/// that many requests are worked on at once. Each answer goes back as soon as it is
/// given, in whatever order; a request the service drops, or panics on, fails its
/// call with that reason. At the end of the request stream the service is closed,
/// then the reply stream on `writer`. Returns how many requests arrived.
///
/// # Errors
///
/// As [`Receiver::run`]: bad input, an I/O error, or the service's failure.
///
/// # Examples
///
/// See [`Remote`].
pub fn serve_requests<Q, R, S>(
    reader: impl Read,
    writer: impl Write + Send + 'static,
    service: S,
) -> Result<u64, Error>
where
    Q: DeserializeOwned + 'static,
    R: Serialize + Deserialize<'static> + Send + 'static,
    S: Consumer<Request<Q, R>>,
{
    serve_requests_pinned(reader, writer, service, None)
}

/// As [`serve_requests`], with the service's identity pinned (see
/// [`stream_identities`]); `None` traces both item types.
///
/// # Errors
///
/// As [`serve_requests`].
///
/// # Examples
///
/// See [`Remote::over_pinned`].
pub fn serve_requests_pinned<Q, R, S>(
    reader: impl Read,
    writer: impl Write + Send + 'static,
    service: S,
    pin: Option<Identity>,
) -> Result<u64, Error>
where
    Q: DeserializeOwned + 'static,
    R: Serialize + Deserialize<'static> + Send + 'static,
    S: Consumer<Request<Q, R>>,
{
    let (ask, answer) = stream_identities(pin.as_ref());
    let replies = Sender::<(u64, WireAnswer<R>), BoxWrite>::new(Box::new(writer));
    let mut replies = pin_sender(replies, answer).shared();
    let writer = replies.clone();
    let feed = Feed::new(service, move |id, answer| {
        let mut writer = writer.clone();
        let Err(e) = writer.send((id, answer)) else {
            return;
        };
        // Not encodable (too large for a frame, say): that call fails, the others go
        // on. If the connection is gone, the caller has failed the call already.
        let (_, why) = e.into_parts();
        if let Err(e) = writer.send((id, consumer_wire::unsendable(&why))) {
            tracing::debug!(id, error = %e.error(), "a reply could not be sent");
        }
    });
    let outcome = pin_receiver(Receiver::new(reader), ask).run::<(u64, Q), _>(feed);
    // Answers given after this point have no one to go to: the caller's side fails
    // them when the reply stream ends.
    let closed = replies.close();
    let received = outcome?;
    closed.map(|()| received)
}

/// The identities of a request/reply connection's two streams under a pin: the
/// request stream takes the pin itself, the reply stream its
/// [`part("reply")`](Identity::part) (for a pin that is no
/// [`named`](Identity::named) one, the reply type is traced). Without a pin both
/// item types are traced: `None, None`.
///
/// ```
/// use consumer_process::{Identity, stream_identities};
///
/// let pin = Identity::named("pricing", 2);
/// let (ask, answer) = stream_identities(Some(&pin));
/// assert_eq!(ask, Some(pin));
/// assert_eq!(answer, Some(Identity::named("pricing.reply", 2)));
/// assert_eq!(stream_identities(None), (None, None));
/// ```
pub fn stream_identities(pin: Option<&Identity>) -> (Option<Identity>, Option<Identity>) {
    (pin.cloned(), pin.and_then(|p| p.part("reply")))
}

fn pin_sender<T, W: Write>(tx: Sender<T, W>, identity: Option<Identity>) -> Sender<T, W> {
    match identity {
        Some(id) => tx.identity(id),
        None => tx,
    }
}

fn pin_receiver<Rd: Read>(rx: Receiver<Rd>, identity: Option<Identity>) -> Receiver<Rd> {
    match identity {
        Some(id) => rx.identity(id),
        None => rx,
    }
}
