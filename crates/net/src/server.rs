//! The serving side: accept, authenticate, and feed each connection's items to a
//! consumer (its own, or one shared by all).

use std::fmt;
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, Inline, Request, SendError, Shared};
use consumer_auth::{Auth, AuthKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::connect::AUTH_TIMEOUT;
use crate::live::Live;
use crate::{Address, Conn};
use consumer_process::PrivateDir;
use consumer_process::{Identity, Receiver};

pub(super) type OnError = Arc<dyn Fn(&str, &Error) + Send + Sync>;
type Handler = Arc<dyn Fn(Conn) -> Result<u64, Error> + Send + Sync>;
pub(super) type Finish = Box<dyn FnOnce() -> Result<(), Error> + Send + Sync>;

/// A listening socket, TCP or Unix, that feeds every authenticated connection to a
/// consumer: the far end of a [`Connector`](crate::Connector).
///
/// Configure it, then start it with one of:
/// - [`serve`](Server::serve): each connection gets its own consumer, made by a
///   factory, and closed at the end of that connection's stream; the connection's
///   sender gets the consumer's outcome.
/// - [`serve_shared`](Server::serve_shared): every connection feeds one consumer
///   (items from one connection stay in order; connections interleave), closed when
///   the server shuts down.
/// - [`serve_requests`](Server::serve_requests): each connection gets a service — a
///   consumer of [`Request`]s — for [`Remote`](consumer_process::Remote) callers.
/// - `serve_async` (feature `tokio`): as `serve`, on a tokio runtime, with a task
///   per connection instead of a thread.
///
/// Each connection runs in a thread of its own. **TCP fails closed:** a TCP server
/// without a [`key`](Server::key) refuses to start, unless you call
/// [`unauthenticated`](Server::unauthenticated). A **Unix socket** must be in a
/// directory only its owner can enter ([`PrivateDir`](crate::PrivateDir)), so other
/// users cannot connect at all; a key is optional there. Never the abstract namespace.
///
/// Before authentication, only [`consumer_auth`]'s fixed-size reads happen: no byte
/// from an unauthenticated peer reaches a decoder, and a silent peer is dropped after
/// the [`auth_timeout`](Server::auth_timeout). A connection that fails — wrong key,
/// garbage, a huge length prefix, a consumer error — is reported once through
/// [`on_error`](Server::on_error) (by default a `tracing` warning) and closed; the
/// server keeps serving the others.
///
/// # Examples
///
/// ```
/// use consumer::Consumer;
/// use consumer_net::{Connector, PrivateDir, Server};
///
/// let dir = PrivateDir::new("example")?;
/// let addr = consumer_net::Address::Unix(dir.join("sock"));
/// let total = consumer::Inline::new(Vec::<u64>::new()).shared();
/// let serving = Server::bind(&addr)?.serve_shared(total.clone())?;
/// for _ in 0..2 {
///     let mut tx = Connector::new(addr.clone()).sender::<u64>()?;
///     tx.send_all(1..=3)?;
///     tx.close()?;
/// }
/// serving.shutdown()?;
/// assert_eq!(total.with(|v| v.len()), 6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Server {
    listener: Listener,
    addr: Address,
    key: Option<AuthKey>,
    unauthenticated: bool,
    auth_timeout: Duration,
    on_error: OnError,
    /// The pinned item type identity, for every stream this server reads or writes.
    pub(super) identity: Option<Identity>,
    /// TLS hook: set by `Server::tls` (in `tls.rs`).
    pub(crate) tls: Option<crate::ServerTls>,
}

pub(super) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Server {
    /// Listens on `addr`. A TCP port of 0 picks a free one (see
    /// [`local_addr`](Server::local_addr)). A Unix socket's directory must be
    /// private; a stale socket file that no one listens on is replaced.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for a Unix socket in a directory others can
    /// enter; an I/O error binding.
    pub fn bind(addr: &Address) -> Result<Server, Error> {
        let bind_error = |e: std::io::Error| {
            Error::new(ErrorKind::Io, format!("listening on {addr}: {e}")).with_source(e)
        };
        let (listener, addr) = match addr {
            Address::Tcp(a) => {
                let l = TcpListener::bind(a.as_str()).map_err(bind_error)?;
                let local = l.local_addr().map_err(bind_error)?;
                (Listener::Tcp(l), Address::Tcp(local.to_string()))
            }
            Address::Unix(path) => {
                PrivateDir::check_parent(path)?;
                let l = match UnixListener::bind(path) {
                    Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                        if UnixStream::connect(path).is_ok() {
                            return Err(bind_error(e));
                        }
                        // A socket file left by a server that is gone.
                        std::fs::remove_file(path).map_err(bind_error)?;
                        UnixListener::bind(path).map_err(bind_error)?
                    }
                    other => other.map_err(bind_error)?,
                };
                (Listener::Unix(l), Address::Unix(path.clone()))
            }
        };
        Ok(Server {
            listener,
            addr,
            key: None,
            unauthenticated: false,
            auth_timeout: AUTH_TIMEOUT,
            on_error: Arc::new(|peer, e| {
                tracing::warn!(peer, error = %e, "connection failed");
            }),
            identity: None,
            tls: None,
        })
    }

    /// Pins the item type's identity on every connection (see
    /// [`Identity::named`]): the clients' [`Connector::identity`](crate::Connector::identity)
    /// must pin the same. For [`serve_requests`](Server::serve_requests) it pins the
    /// request stream, and the reply stream as its `name.reply` (see
    /// [`stream_identities`](consumer_process::stream_identities)).
    ///
    /// ```
    /// use consumer::Consumer;
    /// use consumer_net::{Address, Connector, Identity, PrivateDir, Server};
    ///
    /// let dir = PrivateDir::new("pinned")?;
    /// let addr = Address::Unix(dir.join("sock"));
    /// let pin = Identity::named("counts", 1);
    /// let serving = Server::bind(&addr)?.identity(pin.clone()).serve(Vec::<u32>::new)?;
    /// let mut tx = Connector::new(addr.clone()).identity(pin).sender::<u32>()?;
    /// tx.send(7)?;
    /// tx.close()?;
    /// // A client that does not pin is refused at the handshake.
    /// let mut other = Connector::new(addr).sender::<u32>()?;
    /// let _ = other.send(7);
    /// assert!(other.close().unwrap_err().to_string().contains("counts v1"));
    /// serving.shutdown()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn identity(mut self, identity: Identity) -> Server {
        self.identity = Some(identity);
        self
    }

    /// Requires every client to prove it holds `key` before anything else.
    ///
    /// ```
    /// use consumer_net::Server;
    ///
    /// let key = consumer_auth::AuthKey::generate()?;
    /// let server = Server::bind(&"127.0.0.1:0".parse()?)?.key(key);
    /// # drop(server);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn key(mut self, key: AuthKey) -> Server {
        self.key = Some(key);
        self
    }

    /// Lets a TCP server run without a key: anyone who reaches the port can feed it.
    /// For tests and closed networks only.
    pub fn unauthenticated(mut self) -> Server {
        self.unauthenticated = true;
        self
    }

    /// How long a client may take to authenticate (default 10 s).
    pub fn auth_timeout(mut self, timeout: Duration) -> Server {
        self.auth_timeout = timeout;
        self
    }

    /// Called once for every connection that ends in an error, with the peer's
    /// address and the error, from that connection's thread. The default logs a
    /// `tracing` warning.
    ///
    /// ```
    /// use consumer_net::Server;
    ///
    /// let server = Server::bind(&"127.0.0.1:0".parse()?)?
    ///     .on_error(|peer, e| eprintln!("{peer}: {e}"));
    /// # drop(server);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn on_error(mut self, f: impl Fn(&str, &Error) + Send + Sync + 'static) -> Server {
        self.on_error = Arc::new(f);
        self
    }

    /// The address it listens on (with the port picked for a TCP port of 0).
    pub fn local_addr(&self) -> &Address {
        &self.addr
    }

    /// Serves each connection to a consumer of its own, made by `factory` once the
    /// peer has authenticated. The consumer is closed at the end of its connection's
    /// stream, and the sender's `close` returns its outcome.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for a TCP server with no key that was not made
    /// [`unauthenticated`](Server::unauthenticated).
    pub fn serve<T, K, F>(self, factory: F) -> Result<Serving, Error>
    where
        T: DeserializeOwned + 'static,
        K: Consumer<T>,
        F: Fn() -> K + Send + Sync + 'static,
    {
        let pin = self.identity.clone();
        self.start(
            Arc::new(move |conn: Conn| {
                let back = conn.try_clone()?;
                receiver(conn, &pin).report_to(back).run::<T, _>(factory())
            }),
            None,
        )
    }

    /// Serves every connection to one consumer. Each connection's items arrive in
    /// order; connections interleave. The consumer is closed when the server shuts
    /// down ([`Serving::shutdown`] returns its outcome); a connection's `close`
    /// returns once its items are delivered.
    pub fn serve_shared<T, K>(self, consumer: K) -> Result<Serving, Error>
    where
        T: DeserializeOwned + 'static,
        K: Consumer<T> + Send + 'static,
    {
        let (feed, finish) = shared_feed(consumer);
        let pin = self.identity.clone();
        self.start(
            Arc::new(move |conn: Conn| {
                let back = conn.try_clone()?;
                receiver(conn, &pin).report_to(back).run::<T, _>(feed())
            }),
            Some(finish),
        )
    }

    /// Serves each connection's requests to a service of its own, made by `factory`
    /// (return a clone of one runner's handle to share a service): see
    /// [`serve_requests`](consumer_process::serve_requests).
    pub fn serve_requests<Q, R, S, F>(self, factory: F) -> Result<Serving, Error>
    where
        Q: DeserializeOwned + 'static,
        R: Serialize + Deserialize<'static> + Send + 'static,
        S: Consumer<Request<Q, R>>,
        F: Fn() -> S + Send + Sync + 'static,
    {
        let pin = self.identity.clone();
        self.start(
            Arc::new(move |conn: Conn| {
                let service = factory();
                consumer_process::serve_requests_pinned(
                    conn.try_clone()?,
                    conn,
                    service,
                    pin.clone(),
                )
            }),
            None,
        )
    }

    /// Fails closed (TCP without a key and not [`unauthenticated`](Server::unauthenticated)
    /// is a [`Usage`](ErrorKind::Usage) error); otherwise what a serving loop needs.
    pub(super) fn into_parts(self) -> Result<Parts, Error> {
        // TLS hook: mutual TLS authenticates clients as a key does.
        crate::tls::check_server(&self.addr, self.tls.as_ref())?;
        let mutual = self.tls.as_ref().is_some_and(crate::ServerTls::is_mutual);
        if matches!(self.addr, Address::Tcp(_))
            && self.key.is_none()
            && !mutual
            && !self.unauthenticated
        {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "refusing to serve {} over TCP without a key or client certificates \
                     (mutual TLS): give one, or call `unauthenticated()` to accept anyone \
                     who reaches the port",
                    self.addr
                ),
            ));
        }
        let auth = self
            .key
            .map(|key| Auth::new(key).timeout(self.auth_timeout));
        Ok(Parts {
            listener: self.listener,
            addr: self.addr,
            auth,
            on_error: self.on_error,
            tls: self.tls.map(|tls| (tls, self.auth_timeout)),
        })
    }

    fn start(self, handler: Handler, finish: Option<Finish>) -> Result<Serving, Error> {
        let Parts {
            listener,
            addr,
            auth,
            on_error,
            tls,
        } = self.into_parts()?;
        let shared = Arc::new(Running {
            stop: AtomicBool::new(false),
            live: Live::new(),
            tally: Tally::default(),
        });
        let acceptor = Acceptor {
            listener,
            tls,
            auth,
            handler,
            on_error,
            running: Arc::clone(&shared),
        };
        let span = tracing::info_span!("process.server", runner = "process", addr = %addr);
        let accept = std::thread::Builder::new()
            .name("consumer-server".into())
            .spawn(move || {
                let _entered = span.enter();
                acceptor.run();
            })?;
        Ok(Serving {
            addr,
            running: shared,
            accept: Some(accept),
            finish,
        })
    }
}

/// A receiver over `conn`, its item type pinned if the server pins it.
fn receiver(conn: Conn, pin: &Option<Identity>) -> Receiver<Conn> {
    match pin {
        Some(id) => Receiver::new(conn).identity(id.clone()),
        None => Receiver::new(conn),
    }
}

/// A checked [`Server`], taken apart for a serving loop (threads or tokio tasks).
pub(super) struct Parts {
    pub(super) listener: Listener,
    pub(super) addr: Address,
    pub(super) auth: Option<Auth>,
    pub(super) on_error: OnError,
    /// TLS hook: the settings and the handshake's deadline.
    pub(super) tls: Option<(crate::ServerTls, Duration)>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("authenticated", &self.key.is_some())
            .finish_non_exhaustive()
    }
}

/// One consumer for every connection of a server: a feed per connection (that does
/// not close it), and the close for the server's shutdown.
pub(super) fn shared_feed<T, K>(consumer: K) -> (impl Fn() -> KeepOpen<Shared<K>>, Finish)
where
    K: Consumer<T> + Send + 'static,
{
    let shared = Inline::new(consumer).shared();
    let mut last = shared.clone();
    (
        move || KeepOpen(shared.clone()),
        Box::new(move || last.close()),
    )
}

/// Passes items on and leaves the closing to the owner: one connection's end must
/// not close a consumer that others still feed.
pub(super) struct KeepOpen<C>(pub(super) C);

impl<T, C: Consumer<T>> Consumer<T> for KeepOpen<C> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.0.send(item)
    }
    fn send_all<I: IntoIterator<Item = T>>(&mut self, items: I) -> Result<(), SendError<T>> {
        self.0.send_all(items)
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.0.send_all(items)
    }
    fn flush(&mut self) -> Result<(), Error> {
        self.0.flush()
    }
    fn close(&mut self) -> Result<(), Error> {
        self.0.flush()
    }
    fn name(&self) -> &str {
        self.0.name()
    }
}

/// What the accept loop and the connection threads share with the [`Serving`] handle.
struct Running {
    stop: AtomicBool,
    live: Live<JoinHandle<()>>,
    tally: Tally,
}

/// How a server's connections ended, for both servers: counted, and each failure
/// reported once through `on_error`.
#[derive(Debug, Default)]
pub(super) struct Tally {
    served: AtomicU64,
    failed: AtomicU64,
}

impl Tally {
    /// Counts one connection's outcome (items delivered, or why it failed).
    pub(super) fn record(&self, peer: &str, outcome: Result<u64, Error>, on_error: &OnError) {
        match outcome {
            Ok(items) => {
                self.served.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(items, "connection served");
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                on_error(peer, &e);
            }
        }
    }

    /// Connections that ended well, and in an error, so far.
    pub(super) fn counts(&self) -> (u64, u64) {
        (
            self.served.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

struct Acceptor {
    listener: Listener,
    tls: Option<(crate::ServerTls, Duration)>,
    auth: Option<Auth>,
    handler: Handler,
    on_error: OnError,
    running: Arc<Running>,
}

impl Acceptor {
    fn run(self) {
        let this = Arc::new(self);
        loop {
            let accepted = match &this.listener {
                Listener::Tcp(l) => l.accept().map(|(s, _)| Conn::from(s)),
                Listener::Unix(l) => l.accept().map(|(s, _)| Conn::from(s)),
            };
            if this.running.stop.load(Ordering::SeqCst) {
                return;
            }
            match accepted {
                Ok(conn) => this.spawn(conn),
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    // Out of descriptors, say: give the connections a moment to end.
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    fn spawn(self: &Arc<Self>, conn: Conn) {
        let handle = match conn.try_clone() {
            Ok(handle) => handle,
            Err(e) => {
                return self
                    .running
                    .tally
                    .record(conn.peer(), Err(e), &self.on_error);
            }
        };
        let mut live = self.running.live.lock();
        let Some(id) = live.add(handle) else {
            return; // stopping: dropping the connection closes it
        };
        let this = Arc::clone(self);
        let span =
            tracing::info_span!("process.connection", runner = "process", peer = conn.peer());
        let spawned = std::thread::Builder::new()
            .name("consumer-conn".into())
            .spawn(move || {
                let _entered = span.enter();
                this.serve(conn);
                this.running.live.remove(id);
            });
        match spawned {
            Ok(t) => live.push(t),
            Err(e) => {
                if let Some(conn) = live.take(id) {
                    let e = Error::from(e);
                    self.running
                        .tally
                        .record(conn.peer(), Err(e), &self.on_error);
                }
            }
        }
    }

    fn serve(&self, conn: Conn) {
        let peer = conn.peer().to_owned();
        // TLS hook: the accepted connection wrapped before authentication.
        let outcome = match &self.tls {
            Some((tls, timeout)) => crate::tls::accept_blocking(conn, tls, *timeout),
            None => Ok(conn),
        }
        .and_then(|mut conn| {
            match &self.auth {
                Some(auth) => auth.accept(&mut conn),
                None => Ok(()),
            }
            .and_then(|()| (self.handler)(conn))
        });
        self.running.tally.record(&peer, outcome, &self.on_error);
    }
}

/// A running [`Server`]: its address, its counts, and the way to stop it.
/// Dropping it shuts the server down, as [`shutdown`](Serving::shutdown) does.
pub struct Serving {
    addr: Address,
    running: Arc<Running>,
    accept: Option<JoinHandle<()>>,
    finish: Option<Finish>,
}

impl Serving {
    /// The address it listens on.
    pub fn local_addr(&self) -> &Address {
        &self.addr
    }

    /// How many connections ended well, and how many in an error (refused, bad
    /// input, a failed consumer), so far.
    pub fn counts(&self) -> (u64, u64) {
        self.running.tally.counts()
    }

    /// Serves until the process ends (for a command-line server).
    pub fn wait(mut self) -> Result<(), Error> {
        if let Some(t) = self.accept.take() {
            t.join()
                .map_err(|_| Error::new(ErrorKind::Panicked, "the accept loop panicked"))?;
        }
        Ok(())
    }

    /// Stops accepting, ends the open connections (their consumers are closed with
    /// what they received), waits for their threads, and closes a
    /// [shared](Server::serve_shared) consumer: returns its outcome.
    pub fn shutdown(mut self) -> Result<(), Error> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), Error> {
        let Some(accept) = self.accept.take() else {
            return Ok(());
        };
        self.running.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop with a connection of our own; it sees the flag.
        let _ = match &self.addr {
            Address::Tcp(a) => TcpStream::connect(wake_addr(a)).map(drop),
            Address::Unix(p) => UnixStream::connect(p).map(drop),
        };
        let _ = accept.join();
        if let Address::Unix(p) = &self.addr {
            let _ = std::fs::remove_file(p);
        }
        for t in self.running.live.stop() {
            let _ = t.join();
        }
        match self.finish.take() {
            Some(finish) => finish(),
            None => Ok(()),
        }
    }
}

/// Where to connect to reach a listener bound to `addr` (an unspecified address is
/// reached through loopback).
fn wake_addr(addr: &str) -> String {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(mut a) if a.ip().is_unspecified() => {
            a.set_ip(if a.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            });
            a.to_string()
        }
        _ => addr.to_owned(),
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::warn!(error = %e, "the shared consumer failed at shutdown");
        }
    }
}

impl fmt::Debug for Serving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serving")
            .field("addr", &self.addr)
            .field("connections", &self.running.tally)
            .finish_non_exhaustive()
    }
}
