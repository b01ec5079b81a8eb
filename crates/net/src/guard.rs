//! What every authenticated connection's stream passes through on a server: the
//! idle deadline, the bound on requests in flight, and the server's shutdown.
//!
//! The wire's drivers only read and write; [`Guard`] is the stream they read and
//! write, so no driver needs to know about the server's limits. A read waits while
//! the connection has `in_flight` requests unanswered (reading stops: backpressure
//! to that client alone) and fails once the peer has sent nothing for the idle
//! deadline while nothing is owed to it; reads and writes fail once the server
//! shuts down, so a peer that never reads cannot hold the shutdown.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

/// The server's stop signal, as one direction of a stream sees it: set once the
/// server stops (or is gone), and from then on for good.
struct Stop(Option<Pin<Box<dyn Future<Output = ()> + Send + Sync>>>);

impl Stop {
    fn new(mut stop: watch::Receiver<bool>) -> Stop {
        Stop(Some(Box::pin(async move {
            let _ = stop.wait_for(|s| *s).await;
        })))
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(signal) = self.0.as_mut() else {
            return true;
        };
        if signal.as_mut().poll(cx).is_pending() {
            return false;
        }
        self.0 = None;
        true
    }
}

/// What a connection's guard shares with the code serving it.
#[derive(Debug)]
pub(crate) struct ConnState {
    /// Requests read and not yet answered on the wire.
    in_flight: AtomicUsize,
    bound: usize,
    /// The reply writer failed: reading more would only queue answers for no one.
    broken: AtomicBool,
    reader: Mutex<Option<Waker>>,
    /// The connection was dropped at the idle deadline.
    idled: AtomicBool,
}

impl ConnState {
    pub(crate) fn new(bound: usize) -> Arc<ConnState> {
        Arc::new(ConnState {
            in_flight: AtomicUsize::new(0),
            bound: bound.max(1),
            broken: AtomicBool::new(false),
            reader: Mutex::new(None),
            idled: AtomicBool::new(false),
        })
    }

    /// The bound on requests in flight.
    pub(crate) fn bound(&self) -> usize {
        self.bound
    }

    /// A request was read.
    pub(crate) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// A request's answer was written (or cannot be): room for one more.
    pub(crate) fn finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.wake();
    }

    /// The answers can no longer be written: reading ends.
    pub(crate) fn broke(&self) {
        self.broken.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Whether the connection was dropped at the idle deadline.
    pub(crate) fn idled(&self) -> bool {
        self.idled.load(Ordering::SeqCst)
    }

    fn wake(&self) {
        let waker = self.reader.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = waker {
            w.wake();
        }
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::SeqCst) > 0
    }

    /// Ready when another request may be read.
    fn poll_room(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let full = || {
            if self.broken.load(Ordering::SeqCst) {
                return Some(Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the replies can no longer be written",
                )));
            }
            (self.in_flight.load(Ordering::SeqCst) < self.bound).then_some(Ok(()))
        };
        if let Some(ready) = full() {
            return Poll::Ready(ready);
        }
        *self.reader.lock().unwrap_or_else(|p| p.into_inner()) = Some(cx.waker().clone());
        // Checked again after registering: a `finished` in between has woken no one.
        full().map_or(Poll::Pending, Poll::Ready)
    }
}

/// An authenticated connection's stream under the server's limits (see the module
/// docs).
pub(crate) struct Guard<S> {
    inner: S,
    state: Arc<ConnState>,
    idle: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
    /// Bytes arrived since the timer was last set: it must be pushed back.
    heard: bool,
    /// The byte [`ready`](Guard::ready) read ahead.
    peeked: Option<u8>,
    stop_read: Stop,
    stop_write: Stop,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Guard<S> {
    pub(crate) fn new(
        inner: S,
        state: Arc<ConnState>,
        idle: Option<Duration>,
        stop: &watch::Receiver<bool>,
    ) -> Guard<S> {
        Guard {
            inner,
            state,
            idle,
            timer: None,
            heard: true,
            peeked: None,
            stop_read: Stop::new(stop.clone()),
            stop_write: Stop::new(stop.clone()),
        }
    }

    /// Waits for the peer's first byte (under the same deadlines), so that an idle
    /// connection holds no decoder: `false` if it hung up instead.
    pub(crate) async fn ready(&mut self) -> io::Result<bool> {
        std::future::poll_fn(|cx| {
            let mut byte = [0u8; 1];
            let mut buf = ReadBuf::new(&mut byte);
            match Pin::new(&mut *self).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => Poll::Ready(Ok(false)),
                Poll::Ready(Ok(())) => {
                    self.peeked = Some(byte[0]);
                    Poll::Ready(Ok(true))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Pending until the idle deadline passes (never, while something is owed to
    /// the peer); then the error that ends the connection.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let Some(idle) = self.idle else {
            return Poll::Pending;
        };
        if self.state.busy() {
            self.heard = true; // the wait starts again once everything is answered
            return Poll::Pending;
        }
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
        if std::mem::take(&mut self.heard) {
            timer.as_mut().reset(Instant::now() + idle);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.state.idled.store(true, Ordering::SeqCst);
                Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the peer sent nothing for {idle:?} (the idle deadline)"),
                ))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

fn shutting_down() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "the server is shutting down",
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Guard<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.stop_read.poll(cx) {
            return Poll::Ready(Err(shutting_down()));
        }
        if let Some(byte) = this.peeked.take() {
            buf.put_slice(&[byte]);
            return Poll::Ready(Ok(()));
        }
        match this.state.poll_room(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            // Owed answers: not idle, and woken when one is written.
            Poll::Pending => return Poll::Pending,
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(done) => {
                this.heard |= buf.filled().len() > before;
                Poll::Ready(done)
            }
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Guard<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.stop_write.poll(cx) {
            return Poll::Ready(Err(shutting_down()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.stop_write.poll(cx) {
            return Poll::Ready(Err(shutting_down()));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.stop_write.poll(cx) {
            return Poll::Ready(Err(shutting_down()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.stop_write.poll(cx) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
