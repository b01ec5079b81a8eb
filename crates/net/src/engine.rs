//! The one server, for the blocking and the async API alike: a tokio task accepts,
//! admits each connection under the limits or refuses it at once, and runs it as a
//! task of its own — wrap ([`Accept`]), authenticate under one deadline for the
//! whole handshake, then serve it through a [`Guard`] (idle deadline, requests in
//! flight, shutdown). The blocking [`Server`](crate::Server) API drives this on a
//! runtime it owns; the async API on the caller's.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, Request, SendError};
use consumer_auth::Auth;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncRead;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tracing::Instrument;

use crate::accept::{Accept, Stream};
use crate::guard::{ConnState, Guard};
use crate::limits::{Counters, Limits};
use crate::live::Live;
use crate::server::OnError;
use crate::tokio_conn::{AsyncConn, Socket};
use consumer_process::{AsyncReceiver, AsyncSender, Identity, stream_identities};
use consumer_wire::{Feed, WireAnswer};

/// An authenticated connection's stream, as the handlers get it.
pub(crate) type Guarded = Guard<Stream>;

/// What a connection's task runs once its peer is authenticated: how many items it
/// delivered, or why it failed.
pub(crate) type Served = Pin<Box<dyn Future<Output = Result<u64, Error>> + Send>>;
pub(crate) type Handler = Arc<dyn Fn(Guarded, Arc<ConnState>) -> Served + Send + Sync>;

/// Everything the accept loop and the connections' tasks share.
pub(crate) struct Engine {
    pub(crate) auth: Option<Auth>,
    pub(crate) accept: Accept,
    pub(crate) limits: Limits,
    pub(crate) handler: Handler,
    pub(crate) on_error: OnError,
    pub(crate) counters: Counters,
    pub(crate) live: Live,
    connections: Arc<Semaphore>,
    unauthenticated: Arc<Semaphore>,
}

impl Engine {
    pub(crate) fn new(
        auth: Option<Auth>,
        accept: Accept,
        limits: Limits,
        handler: Handler,
        on_error: OnError,
    ) -> Engine {
        Engine {
            auth,
            accept,
            connections: Arc::new(Semaphore::new(limits.connections)),
            unauthenticated: Arc::new(Semaphore::new(limits.unauthenticated)),
            limits,
            handler,
            on_error,
            counters: Counters::default(),
            live: Live::new(),
        }
    }

    /// Serves `conn` in a task of its own, or refuses it at once when a limit is
    /// reached (the connections already admitted go on).
    fn admit(self: &Arc<Self>, conn: AsyncConn) {
        let open = Arc::clone(&self.connections).try_acquire_owned();
        let fresh = Arc::clone(&self.unauthenticated).try_acquire_owned();
        let (Ok(open), Ok(fresh)) = (open, fresh) else {
            Counters::bump(&self.counters.refused);
            let why = if self.connections.available_permits() == 0 {
                format!("{} connections open, the limit", self.limits.connections)
            } else {
                format!(
                    "{} connections authenticating, the limit",
                    self.limits.unauthenticated
                )
            };
            let e = Error::new(ErrorKind::Full, format!("refused at once: {why}"));
            return (self.on_error)(conn.peer(), &e);
        };
        let span =
            tracing::info_span!("process.connection", runner = "process", peer = conn.peer());
        let task = Arc::clone(self).connection(conn, open, fresh);
        // A span nobody records is not entered and left on every poll.
        if span.is_disabled() {
            self.live.spawn(task);
        } else {
            self.live.spawn(task.instrument(span));
        }
    }

    async fn connection(
        self: Arc<Self>,
        conn: AsyncConn,
        _open: OwnedSemaphorePermit,
        fresh: OwnedSemaphorePermit,
    ) {
        let _counted = Open::new(&self.counters);
        let peer = conn.peer().to_owned();
        let mut stop = self.live.subscribe();
        let deadline = self.limits.handshake;
        // Whether the deadline found the wrapping (the TLS handshake) done.
        let wrapped = AtomicBool::new(false);
        let handshake = async {
            // The one step where a transport wraps the socket: see `accept.rs`.
            let mut stream = self.accept.wrap(conn).await?;
            wrapped.store(true, Ordering::Relaxed);
            if let Some(auth) = &self.auth {
                auth.accept_async(&mut stream).await?;
            }
            Ok::<_, Error>(stream)
        };
        let shaken = tokio::select! {
            shaken = tokio::time::timeout(deadline, handshake) => shaken.unwrap_or_else(|_| {
                Err(if wrapped.load(Ordering::Relaxed) {
                    Error::new(
                        ErrorKind::Timeout,
                        format!("the handshake was not done within {deadline:?}"),
                    )
                } else {
                    self.accept.timed_out(deadline, &peer)
                })
            }),
            _ = stop.wait_for(|s| *s) => return, // shutting down: dropped unserved
        };
        drop(fresh);
        let stream = match shaken {
            Ok(stream) => stream,
            Err(e) => {
                Counters::bump(&self.counters.handshake_failures);
                return (self.on_error)(&peer, &e);
            }
        };
        Counters::bump(&self.counters.authenticated);
        let state = ConnState::new(self.limits.in_flight);
        let mut guarded = Guard::new(stream, Arc::clone(&state), self.limits.idle, &stop);
        // No decoder, no consumer, until the peer says something.
        let outcome = match guarded.ready().await {
            Ok(_) => (self.handler)(guarded, Arc::clone(&state)).await,
            Err(e) => Err(Error::from(e)),
        };
        if state.idled() {
            Counters::bump(&self.counters.idle_drops);
        }
        match outcome {
            Ok(items) => {
                Counters::bump(&self.counters.served);
                tracing::debug!(items, "connection served");
            }
            Err(e) => {
                Counters::bump(&self.counters.failed);
                (self.on_error)(&peer, &e);
            }
        }
    }
}

/// Counts a connection as open while it lives.
struct Open<'a>(&'a Counters);

impl<'a> Open<'a> {
    fn new(counters: &'a Counters) -> Open<'a> {
        Counters::bump(&counters.open);
        Open(counters)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0
            .open
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Accepts until aborted.
pub(crate) async fn accept_loop(listener: Socket<TcpListener, UnixListener>, engine: Arc<Engine>) {
    loop {
        let accepted = match &listener {
            Socket::Tcp(l) => l.accept().await.map(|(s, _)| AsyncConn::from(s)),
            Socket::Unix(l) => l.accept().await.map(|(s, _)| AsyncConn::from(s)),
        };
        match accepted {
            Ok(conn) => engine.admit(conn),
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                // Out of descriptors, say: a pause before trying again, not a wait
                // for anything in particular.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

/// A receiver over `input`, its item type pinned if `pin` says so.
fn receiver<R: AsyncRead + Unpin>(input: R, pin: Option<Identity>) -> AsyncReceiver<R> {
    match pin {
        Some(id) => AsyncReceiver::new(input).identity(id),
        None => AsyncReceiver::new(input),
    }
}

/// The handler of an item server: each connection's items to a consumer from `make`,
/// its outcome reported back on the connection.
pub(crate) fn items<T, K>(
    make: impl Fn() -> K + Send + Sync + 'static,
    pin: Option<Identity>,
) -> Handler
where
    T: DeserializeOwned + Send + 'static,
    K: Consumer<T> + Send + 'static,
{
    Arc::new(move |stream: Guarded, _state| {
        let consumer = make();
        let pin = pin.clone();
        Box::pin(async move {
            let (reader, writer) = tokio::io::split(stream);
            receiver(reader, pin)
                .report_to(writer)
                .run::<T, _>(consumer)
                .await
        }) as Served
    })
}

/// The handler of a request server: each connection's requests to a service from
/// `make`.
pub(crate) fn requests<Q, R, S>(
    make: impl Fn() -> S + Send + Sync + 'static,
    pin: Option<Identity>,
) -> Handler
where
    Q: DeserializeOwned + Send + 'static,
    R: Serialize + Deserialize<'static> + Send + 'static,
    S: Consumer<Request<Q, R>> + Send + 'static,
{
    Arc::new(move |stream: Guarded, state| {
        let service = make();
        Box::pin(serve_requests(stream, service, pin.clone(), state)) as Served
    })
}

/// One connection's requests to `service`, at most the connection's bound of them
/// handed on and unanswered at once ([`Dispatch`]); the others wait in read order,
/// and the [`Guard`] stops reading while the bound is reached. Answers, given from
/// any thread, go to a writer task through a channel that therefore holds at most
/// the bound: a client that does not read its replies is held there, alone, and
/// the server keeps at most the bound of its replies plus one read of its requests.
/// A reply too large for a frame fails its own call, and the connection lives on.
async fn serve_requests<Q, R, S>(
    stream: Guarded,
    service: S,
    pin: Option<Identity>,
    state: Arc<ConnState>,
) -> Result<u64, Error>
where
    Q: DeserializeOwned + Send + 'static,
    R: Serialize + Deserialize<'static> + Send + 'static,
    S: Consumer<Request<Q, R>> + Send + 'static,
{
    let (ask, answer) = stream_identities(pin.as_ref());
    let (reader, writer) = tokio::io::split(stream);
    let (answers, mut to_write) = mpsc::unbounded_channel::<(u64, WireAnswer<R>)>();
    let feed = Feed::new(service, move |id, answer| {
        // The writer is gone only if the connection broke: the caller has failed
        // the call already.
        let _ = answers.send((id, answer));
    });
    let dispatch = Dispatch::new(feed, state.bound());
    let pumped = Arc::clone(&dispatch);
    let written = Arc::clone(&state);
    let write = tokio::spawn(async move {
        let mut replies = AsyncSender::<(u64, WireAnswer<R>), _>::new(writer);
        if let Some(id) = answer {
            replies = replies.identity(id);
        }
        while let Some(answer) = to_write.recv().await {
            let sent = match replies.send(answer).await {
                Ok(()) => Ok(()),
                // Not encodable (too large, say): that call fails, not the others.
                Err(e) => match e.into_parts() {
                    (Some((id, _)), why) => replies
                        .send((id, consumer_wire::unsendable(&why)))
                        .await
                        .map_err(SendError::into_error),
                    (None, why) => Err(why),
                },
            };
            written.finished();
            Dispatch::answered(&pumped);
            if sent.is_err() {
                // The caller has gone: the rest of its answers have no one to go to.
                written.broke();
                break;
            }
        }
        replies.close().await
    });
    let bounded = Bounded {
        dispatch: Arc::clone(&dispatch),
        state,
    };
    let received = receiver(reader, ask).run::<(u64, Q), _>(bounded).await;
    let written = write
        .await
        .map_err(|_| Error::new(ErrorKind::Panicked, "a connection's reply writer panicked"))?;
    let received = received?;
    // A close put off until the held requests were handed on.
    if let Some(Err(e)) = Dispatch::lock(&dispatch).closed.take() {
        return Err(e);
    }
    written.map(|()| received)
}

/// A connection's requests on their way to its service: handed on while fewer than
/// the bound are unanswered on the wire, held in read order otherwise and handed on
/// as answers go out.
struct Dispatch<F, T> {
    /// The service (behind its [`Feed`]); `None` once closed, so that the answer
    /// channel ends when the last answer is given.
    feed: Option<F>,
    held: std::collections::VecDeque<T>,
    /// Handed on and not yet answered on the wire.
    out: usize,
    bound: usize,
    /// The request stream has ended: close the service once nothing is held.
    closing: bool,
    closed: Option<Result<(), Error>>,
    failed: Option<Error>,
}

impl<F: Consumer<T>, T> Dispatch<F, T> {
    fn new(feed: F, bound: usize) -> Arc<std::sync::Mutex<Dispatch<F, T>>> {
        Arc::new(std::sync::Mutex::new(Dispatch {
            feed: Some(feed),
            held: std::collections::VecDeque::new(),
            out: 0,
            bound,
            closing: false,
            closed: None,
            failed: None,
        }))
    }

    fn lock(this: &std::sync::Mutex<Self>) -> std::sync::MutexGuard<'_, Self> {
        // The service runs under this lock; a panic there is caught by the
        // receiver's machine, and the state stays consistent.
        this.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One answer went out: room for one more request.
    fn answered(this: &std::sync::Mutex<Self>) {
        let mut d = Dispatch::lock(this);
        d.out = d.out.saturating_sub(1);
        d.pump();
    }

    /// Hands held requests on while there is room; closes the service once the
    /// stream has ended and nothing is held.
    fn pump(&mut self) {
        while self.out < self.bound && self.failed.is_none() {
            let (Some(feed), Some(item)) = (self.feed.as_mut(), self.held.pop_front()) else {
                break;
            };
            self.out += 1;
            if let Err(e) = feed.send(item) {
                self.failed = Some(e.into_error());
            }
        }
        if self.failed.is_some() {
            self.held.clear(); // the connection fails: no one will be served
        }
        if self.closing && self.held.is_empty() {
            if let Some(mut feed) = self.feed.take() {
                self.closed = Some(feed.close());
            }
        }
    }
}

/// The receiver's side of a [`Dispatch`]: every request read counts as in flight
/// (for the [`Guard`]'s bound) until its answer is written.
struct Bounded<F, T> {
    dispatch: Arc<std::sync::Mutex<Dispatch<F, T>>>,
    state: Arc<ConnState>,
}

impl<T, F: Consumer<T>> Consumer<T> for Bounded<F, T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        let mut d = Dispatch::lock(&self.dispatch);
        if let Some(e) = &d.failed {
            return Err(SendError::new(item, e.clone()));
        }
        // Every request handed on is answered exactly once (a dropped one with an
        // error), and every answer ends its count in the writer.
        self.state.started();
        d.held.push_back(item);
        d.pump();
        match &d.failed {
            Some(e) => Err(SendError::lost(e.clone())),
            None => Ok(()),
        }
    }
    fn flush(&mut self) -> Result<(), Error> {
        let mut d = Dispatch::lock(&self.dispatch);
        d.feed.as_mut().map_or(Ok(()), Consumer::flush)
    }
    fn close(&mut self) -> Result<(), Error> {
        let mut d = Dispatch::lock(&self.dispatch);
        d.closing = true;
        d.pump();
        // Put off while requests are held: its outcome is checked at the end.
        d.closed.take().unwrap_or(Ok(()))
    }
    fn name(&self) -> &str {
        "net::requests"
    }
}

impl<F, T> Drop for Bounded<F, T> {
    fn drop(&mut self) {
        // Ended without a close (the connection failed): nothing more is handed on,
        // and the service goes, so the answer channel can end.
        let mut d = self.dispatch.lock().unwrap_or_else(|p| p.into_inner());
        if !d.closing {
            d.closing = true;
            d.held.clear();
            d.feed = None;
        }
    }
}
