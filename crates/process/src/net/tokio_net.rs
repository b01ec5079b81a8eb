//! The async side of sockets (feature `tokio`): connect and serve on a tokio runtime,
//! with the same addresses, fail-closed rule, authentication, wire and reports as the
//! blocking side.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind};
use consumer_auth::Auth;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream, tcp, unix};
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::conn::{tcp_peer, unix_peer};
use super::connect::connect_error;
use super::server::{Listener, OnError, Parts};
use super::{Address, Conn, Connector, Server};
use crate::{AsyncReceiver, AsyncSender};

/// One of two socket types, TCP or Unix: the shape of every async socket here.
#[derive(Debug)]
enum Socket<T, U> {
    Tcp(T),
    Unix(U),
}

impl<T: AsyncRead + Unpin, U: AsyncRead + Unpin> AsyncRead for Socket<T, U> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl<T: AsyncWrite + Unpin, U: AsyncWrite + Unpin> AsyncWrite for Socket<T, U> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Socket::Unix(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Socket::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Socket::Tcp(s) => s.is_write_vectored(),
            Socket::Unix(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_flush(cx),
            Socket::Unix(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Socket::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Socket::Unix(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// One async connection, over TCP or a Unix socket: the async twin of
/// [`Conn`], what [`Connector::connect_async`] gives and what an
/// [`AsyncServing`] server reads from.
///
/// It is a tokio [`AsyncRead`] + [`AsyncWrite`]; [`into_split`](AsyncConn::into_split)
/// parts it into an [`AsyncConnReader`] and an [`AsyncConnWriter`] that tasks can
/// own separately (no lock between them). TCP connections have `TCP_NODELAY` set.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use consumer_process::AsyncConn;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (a, b) = tokio::net::UnixStream::pair()?;
/// let (mut a, mut b) = (AsyncConn::from(a), AsyncConn::from(b));
/// a.write_all(b"hi").await?;
/// let mut got = [0; 2];
/// b.read_exact(&mut got).await?;
/// assert_eq!(&got, b"hi");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct AsyncConn {
    stream: Socket<TcpStream, UnixStream>,
    peer: String,
}

impl AsyncConn {
    /// Who is at the other end, for logs: `IP:PORT` for TCP, `unix` or the peer's
    /// path for a Unix socket.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let (a, _b) = tokio::net::UnixStream::pair()?;
    /// assert_eq!(consumer_process::AsyncConn::from(a).peer(), "unix");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Parts the connection into a reading and a writing half (tokio's owned
    /// halves; dropping the writer shuts the writing direction down).
    ///
    /// ```
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use consumer_process::AsyncConn;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let (a, b) = tokio::net::UnixStream::pair()?;
    /// let (mut reader, mut writer) = AsyncConn::from(a).into_split();
    /// let (mut b_reader, mut b_writer) = AsyncConn::from(b).into_split();
    /// writer.write_all(b"ping").await?;
    /// b_writer.write_all(b"pong").await?;
    /// let (mut got, mut back) = ([0; 4], [0; 4]);
    /// b_reader.read_exact(&mut got).await?;
    /// reader.read_exact(&mut back).await?;
    /// assert_eq!((&got, &back), (b"ping", b"pong"));
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_split(self) -> (AsyncConnReader, AsyncConnWriter) {
        match self.stream {
            Socket::Tcp(s) => {
                let (r, w) = s.into_split();
                (
                    AsyncConnReader(Socket::Tcp(r)),
                    AsyncConnWriter(Socket::Tcp(w)),
                )
            }
            Socket::Unix(s) => {
                let (r, w) = s.into_split();
                (
                    AsyncConnReader(Socket::Unix(r)),
                    AsyncConnWriter(Socket::Unix(w)),
                )
            }
        }
    }

    /// A blocking handle on the same socket, kept by the server to end the
    /// connection from outside ([`Conn::shutdown`]) when it stops.
    fn shutdown_handle(&self) -> io::Result<Conn> {
        Ok(match &self.stream {
            Socket::Tcp(s) => {
                Conn::from(std::net::TcpStream::from(s.as_fd().try_clone_to_owned()?))
            }
            Socket::Unix(s) => Conn::from(std::os::unix::net::UnixStream::from(
                s.as_fd().try_clone_to_owned()?,
            )),
        })
    }
}

impl From<TcpStream> for AsyncConn {
    fn from(s: TcpStream) -> AsyncConn {
        // As for `Conn`: senders buffer on purpose, Nagle would only add latency.
        let _ = s.set_nodelay(true);
        AsyncConn {
            peer: tcp_peer(s.peer_addr()),
            stream: Socket::Tcp(s),
        }
    }
}

impl From<UnixStream> for AsyncConn {
    fn from(s: UnixStream) -> AsyncConn {
        AsyncConn {
            peer: unix_peer(s.peer_addr().ok().as_ref().and_then(|a| a.as_pathname())),
            stream: Socket::Unix(s),
        }
    }
}

impl AsyncRead for AsyncConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for AsyncConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The reading half of an [`AsyncConn`] (see [`AsyncConn::into_split`]): where an
/// [`AsyncSender`] made by [`Connector::sender_async`] reads the server's report.
///
/// ```
/// use tokio::io::AsyncReadExt;
/// use consumer_process::AsyncConn;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (a, b) = tokio::net::UnixStream::pair()?;
/// let (mut reader, _writer) = AsyncConn::from(a).into_split();
/// drop(b);
/// assert_eq!(reader.read(&mut [0; 4]).await?, 0); // the peer is gone
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct AsyncConnReader(Socket<tcp::OwnedReadHalf, unix::OwnedReadHalf>);

impl AsyncRead for AsyncConnReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

/// The writing half of an [`AsyncConn`] (see [`AsyncConn::into_split`]): what an
/// [`AsyncSender`] made by [`Connector::sender_async`] writes its frames to.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use consumer_process::AsyncConn;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (a, mut b) = tokio::net::UnixStream::pair()?;
/// let (_reader, mut writer) = AsyncConn::from(a).into_split();
/// writer.write_all(b"bye").await?;
/// writer.shutdown().await?;
/// let mut got = Vec::new();
/// b.read_to_end(&mut got).await?;
/// assert_eq!(got, b"bye");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct AsyncConnWriter(Socket<tcp::OwnedWriteHalf, unix::OwnedWriteHalf>);

impl AsyncWrite for AsyncConnWriter {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

impl Connector {
    /// [`connect`](Connector::connect) on a tokio runtime: connects and
    /// authenticates ([`Auth::connect_async`], under the same
    /// [`auth_timeout`](Connector::auth_timeout)), and gives the raw connection.
    ///
    /// # Errors
    ///
    /// As [`connect`](Connector::connect): [`Usage`](ErrorKind::Usage) for TCP
    /// without a key (fail closed), an I/O error connecting,
    /// [`Auth`](ErrorKind::Auth) or [`Timeout`](ErrorKind::Timeout) authenticating.
    ///
    /// ```
    /// use consumer::ErrorKind;
    /// use consumer_process::Connector;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// // TCP without a key fails closed, before any connection is made.
    /// let e = Connector::new("127.0.0.1:9".parse()?).connect_async().await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Usage);
    /// # Ok::<(), consumer::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect_async(&self) -> Result<AsyncConn, Error> {
        let (addr, auth) = self.checked()?;
        let mut conn = match addr {
            Address::Tcp(a) => AsyncConn::from(
                TcpStream::connect(a.as_str())
                    .await
                    .map_err(|e| connect_error(addr, e))?,
            ),
            Address::Unix(p) => AsyncConn::from(
                UnixStream::connect(p)
                    .await
                    .map_err(|e| connect_error(addr, e))?,
            ),
        };
        if let Some(auth) = auth {
            auth.connect_async(&mut conn).await?;
        }
        Ok(conn)
    }

    /// [`sender`](Connector::sender) on a tokio runtime: an [`AsyncSender`] over the
    /// connection's writing half, reading the server's report on its reading half, so
    /// `close().await` returns the far consumer's real outcome.
    ///
    /// # Errors
    ///
    /// As [`connect_async`](Connector::connect_async).
    ///
    /// ```
    /// use consumer_process::{Connector, PrivateDir, Server};
    ///
    /// let dir = PrivateDir::new("sender-async")?;
    /// let addr = consumer_process::Address::Unix(dir.join("sock"));
    /// // A blocking server: the two sides mix freely.
    /// let total = consumer::Inline::new(Vec::<u64>::new()).shared();
    /// let serving = Server::bind(&addr)?.serve_shared(total.clone())?;
    /// tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    ///     let mut tx = Connector::new(addr.clone()).sender_async::<u64>().await?;
    ///     tx.send_all([3, 2, 1]).await?;
    ///     tx.close().await // the items are delivered
    /// })?;
    /// serving.shutdown()?;
    /// assert_eq!(total.with(Vec::clone), [3, 2, 1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn sender_async<T: Serialize + 'static>(
        &self,
    ) -> Result<AsyncSender<T, AsyncConnWriter>, Error> {
        let (reader, writer) = self.connect_async().await?.into_split();
        Ok(AsyncSender::new(writer).with_report(reader))
    }
}

impl Server {
    /// [`serve`](Server::serve) on the current tokio runtime: the accept loop is a
    /// task, and so is each connection — authenticated with
    /// [`Auth::accept_async`] under the same [`auth_timeout`](Server::auth_timeout),
    /// then read by an [`AsyncReceiver`] into a consumer of its own, made by
    /// `factory`, whose outcome is reported back to the connection's sender.
    /// Failures go to the same [`on_error`](Server::on_error) callback (called on
    /// the connection's task). Stop it with [`AsyncServing::shutdown`].
    ///
    /// The consumer runs on its connection's task: one whose `send` blocks for long
    /// (a thread runner's full mailbox, say) holds up that task's worker thread, so
    /// prefer quick consumers here, or the blocking [`serve`](Server::serve).
    ///
    /// # Errors
    ///
    /// As [`serve`](Server::serve) ([`Usage`](ErrorKind::Usage) for a TCP server
    /// with no key that was not made [`unauthenticated`](Server::unauthenticated)),
    /// and [`Usage`](ErrorKind::Usage) outside a tokio runtime.
    ///
    /// # Examples
    ///
    /// ```
    /// use consumer_auth::AuthKey;
    /// use consumer_process::{Connector, Server};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let key = AuthKey::generate()?;
    /// let serving = Server::bind(&"127.0.0.1:0".parse()?)?
    ///     .key(key.clone())
    ///     .serve_async(Vec::<u32>::new)?;
    /// let mut tx = Connector::new(serving.local_addr().clone())
    ///     .key(key)
    ///     .sender_async::<u32>()
    ///     .await?;
    /// tx.send_all([3, 2, 1]).await?;
    /// tx.close().await?; // the server's consumer has them all and has closed
    /// serving.shutdown().await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn serve_async<T, K, F>(self, factory: F) -> Result<AsyncServing, Error>
    where
        T: DeserializeOwned + Send + 'static,
        K: Consumer<T> + Send + 'static,
        F: Fn() -> K + Send + Sync + 'static,
    {
        let Parts {
            listener,
            addr,
            auth,
            on_error,
        } = self.into_parts()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::Usage,
                "serve_async must be called on a tokio runtime (in a task, or under \
                 `Runtime::enter`)",
            )
        })?;
        let _entered = runtime.enter();
        let listener = async_listener(listener)
            .map_err(|e| Error::from(e).with_message(format!("listening on {addr}")))?;
        let running = Arc::new(Running::default());
        let acceptor = Arc::new(Acceptor {
            auth,
            factory,
            on_error,
            running: Arc::clone(&running),
        });
        let span = tracing::info_span!("process.server", runner = "process", addr = %addr);
        let accept = runtime.spawn(accept_loop::<T, K, F>(listener, acceptor).instrument(span));
        Ok(AsyncServing {
            addr,
            running,
            accept: Some(accept),
        })
    }
}

/// The bound std listener, handed over to tokio (no second bind).
fn async_listener(listener: Listener) -> io::Result<Socket<TcpListener, UnixListener>> {
    Ok(match listener {
        Listener::Tcp(l) => {
            l.set_nonblocking(true)?;
            Socket::Tcp(TcpListener::from_std(l)?)
        }
        Listener::Unix(l) => {
            l.set_nonblocking(true)?;
            Socket::Unix(UnixListener::from_std(l)?)
        }
    })
}

/// What the accept loop and the connection tasks share with the [`AsyncServing`]
/// handle.
#[derive(Default)]
struct Running {
    live: Mutex<Live>,
    served: AtomicU64,
    failed: AtomicU64,
}

#[derive(Default)]
struct Live {
    /// Set at shutdown: a connection accepted afterwards is ended at once.
    stopped: bool,
    next: u64,
    /// A second handle on every open connection, to end it at shutdown.
    conns: HashMap<u64, Conn>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    fn live(&self) -> MutexGuard<'_, Live> {
        // No user code runs, and nothing awaits, under this lock.
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Removes a connection's shutdown handle when its task ends, however it ends.
struct Registered {
    running: Arc<Running>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.running.live().conns.remove(&self.id);
    }
}

struct Acceptor<F> {
    auth: Option<Auth>,
    factory: F,
    on_error: OnError,
    running: Arc<Running>,
}

async fn accept_loop<T, K, F>(listener: Socket<TcpListener, UnixListener>, this: Arc<Acceptor<F>>)
where
    T: DeserializeOwned + Send + 'static,
    K: Consumer<T> + Send + 'static,
    F: Fn() -> K + Send + Sync + 'static,
{
    loop {
        let accepted = match &listener {
            Socket::Tcp(l) => l.accept().await.map(|(s, _)| AsyncConn::from(s)),
            Socket::Unix(l) => l.accept().await.map(|(s, _)| AsyncConn::from(s)),
        };
        match accepted {
            Ok(conn) => this.spawn::<T, K>(conn),
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                // Out of descriptors, say: give the connections a moment to end.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

impl<F> Acceptor<F> {
    fn spawn<T, K>(self: &Arc<Self>, conn: AsyncConn)
    where
        T: DeserializeOwned + Send + 'static,
        K: Consumer<T> + Send + 'static,
        F: Fn() -> K + Send + Sync + 'static,
    {
        let mut live = self.running.live();
        if live.stopped {
            return; // dropping it closes it
        }
        live.tasks.retain(|t| !t.is_finished());
        let id = live.next;
        live.next += 1;
        match conn.shutdown_handle() {
            Ok(handle) => {
                live.conns.insert(id, handle);
            }
            Err(e) => {
                drop(live);
                self.running.failed.fetch_add(1, Ordering::Relaxed);
                (self.on_error)(conn.peer(), &Error::from(e));
                return;
            }
        }
        let registered = Registered {
            running: Arc::clone(&self.running),
            id,
        };
        let this = Arc::clone(self);
        let span =
            tracing::info_span!("process.connection", runner = "process", peer = conn.peer());
        live.tasks.push(tokio::spawn(
            async move {
                this.serve::<T, K>(conn).await;
                drop(registered);
            }
            .instrument(span),
        ));
    }

    async fn serve<T, K>(&self, mut conn: AsyncConn)
    where
        T: DeserializeOwned + Send + 'static,
        K: Consumer<T> + Send + 'static,
        F: Fn() -> K,
    {
        let peer = conn.peer().to_owned();
        let outcome = async {
            if let Some(auth) = &self.auth {
                auth.accept_async(&mut conn).await?;
            }
            let (reader, writer) = conn.into_split();
            AsyncReceiver::new(reader)
                .report_to(writer)
                .run::<T, _>((self.factory)())
                .await
        }
        .await;
        match outcome {
            Ok(items) => {
                self.running.served.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(items, "connection served");
            }
            Err(e) => {
                self.running.failed.fetch_add(1, Ordering::Relaxed);
                (self.on_error)(&peer, &e);
            }
        }
    }
}

/// A running async server ([`Server::serve_async`]): its address, its counts, and
/// the way to stop it.
///
/// Rust has no async drop: call [`shutdown`](AsyncServing::shutdown) and await it.
/// Dropping it unawaited stops accepting and ends the open connections (their
/// consumers are still closed, on their tasks) without waiting for them.
///
/// ```
/// use consumer_process::{Address, PrivateDir, Server};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let dir = PrivateDir::new("async-serving")?;
/// let serving = Server::bind(&Address::Unix(dir.join("sock")))?.serve_async(Vec::<u8>::new)?;
/// assert_eq!(serving.counts(), (0, 0));
/// serving.shutdown().await?;
/// # Ok::<(), consumer::Error>(())
/// # }).unwrap();
/// ```
pub struct AsyncServing {
    addr: Address,
    running: Arc<Running>,
    accept: Option<JoinHandle<()>>,
}

impl AsyncServing {
    /// The address it listens on (with the port picked for a TCP port of 0).
    ///
    /// ```
    /// use consumer_process::{Address, Server};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let serving = Server::bind(&"127.0.0.1:0".parse()?)?
    ///     .key(consumer_auth::AuthKey::generate()?)
    ///     .serve_async(Vec::<u8>::new)?;
    /// assert!(matches!(serving.local_addr(), Address::Tcp(a) if !a.ends_with(":0")));
    /// serving.shutdown().await?;
    /// # Ok::<(), consumer::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn local_addr(&self) -> &Address {
        &self.addr
    }

    /// How many connections ended well, and how many in an error (refused, bad
    /// input, a failed consumer), so far.
    ///
    /// ```
    /// use consumer_process::{Address, Connector, PrivateDir, Server};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let dir = PrivateDir::new("counts")?;
    /// let addr = Address::Unix(dir.join("sock"));
    /// let serving = Server::bind(&addr)?.serve_async(Vec::<u8>::new)?;
    /// let mut tx = Connector::new(addr).sender_async::<u8>().await?;
    /// tx.send(1).await?;
    /// tx.close().await?;
    /// let (served, failed) = serving.counts(); // the task may still be finishing
    /// assert!(served <= 1 && failed == 0);
    /// serving.shutdown().await?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn counts(&self) -> (u64, u64) {
        (
            self.running.served.load(Ordering::Relaxed),
            self.running.failed.load(Ordering::Relaxed),
        )
    }

    /// Stops accepting, ends the open connections (their consumers are closed with
    /// what they received; a peer still authenticating is dropped), and waits for
    /// their tasks. A Unix socket's file is removed.
    ///
    /// # Errors
    ///
    /// [`Panicked`](ErrorKind::Panicked) if the accept loop or a connection's task
    /// panicked.
    ///
    /// ```
    /// use consumer_process::{Address, Connector, PrivateDir, Server};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let dir = PrivateDir::new("stop")?;
    /// let addr = Address::Unix(dir.join("sock"));
    /// let serving = Server::bind(&addr)?.serve_async(Vec::<u8>::new)?;
    /// let mut open = Connector::new(addr.clone()).sender_async::<u8>().await?;
    /// open.send(1).await?;
    /// serving.shutdown().await?; // does not wait for `open` to close
    /// assert!(open.close().await.is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let Some((accept, tasks)) = self.stop() else {
            return Ok(());
        };
        let mut panicked = matches!(accept.await, Err(e) if e.is_panic());
        for task in tasks {
            panicked |= matches!(task.await, Err(e) if e.is_panic());
        }
        if panicked {
            return Err(Error::new(
                ErrorKind::Panicked,
                "the async server's accept loop or a connection's task panicked",
            ));
        }
        Ok(())
    }

    /// Stops accepting and ends the open connections; gives the tasks to await.
    fn stop(&mut self) -> Option<(JoinHandle<()>, Vec<JoinHandle<()>>)> {
        let accept = self.accept.take()?;
        accept.abort();
        let tasks = {
            let mut live = self.running.live();
            live.stopped = true;
            for conn in live.conns.values() {
                conn.shutdown();
            }
            std::mem::take(&mut live.tasks)
        };
        if let Address::Unix(p) = &self.addr {
            let _ = std::fs::remove_file(p);
        }
        Some((accept, tasks))
    }
}

impl Drop for AsyncServing {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for AsyncServing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (served, failed) = self.counts();
        f.debug_struct("AsyncServing")
            .field("addr", &self.addr)
            .field("served", &served)
            .field("failed", &failed)
            .finish_non_exhaustive()
    }
}
