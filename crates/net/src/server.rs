//! The serving side's builder and its blocking driver: [`Server`] (bind, key,
//! limits) and [`Serving`], a thin handle on the one event-driven server
//! (`engine.rs`) running on a tokio runtime the `Serving` owns — no thread per
//! connection.

use std::fmt;
use std::net::TcpListener;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, Inline, Request, SendError, Shared};
use consumer_auth::{Auth, AuthKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::accept::Accept;
use crate::engine::{Handler, items, requests};
use crate::limits::{Limits, Stats};
use crate::{Address, AsyncServing};
use consumer_process::Identity;
use consumer_process::PrivateDir;

pub(super) type OnError = Arc<dyn Fn(&str, &Error) + Send + Sync>;
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
/// - `serve_async`, `serve_shared_async`, `serve_requests_async`: the same on the
///   caller's tokio runtime.
///
/// # One server, event-driven
///
/// Whichever method starts it, the server is one tokio task accepting and one task
/// per connection — no thread per connection. The blocking methods start a tokio
/// runtime of their own ([`workers`](Server::workers) threads) that the [`Serving`]
/// handle owns. Consumers run on those tasks: a consumer whose `send` blocks holds
/// one worker thread while it does, so give a slow consumer a runner of its own
/// (a thread runner's handle blocks only while its mailbox is full).
///
/// # Limits
///
/// Every bound has a default that fits the common descriptor limit of 1024:
///
/// | limit | default | beyond it |
/// |---|---|---|
/// | [`max_connections`](Server::max_connections) | 512 | a new connection is refused at once |
/// | [`max_unauthenticated`](Server::max_unauthenticated) | 64 | a new connection is refused at once; the established ones go on |
/// | [`handshake_timeout`](Server::handshake_timeout) | 10 s | the peer is dropped, however it paces its bytes |
/// | [`idle_timeout`](Server::idle_timeout) | 5 min | an authenticated peer that sent nothing while nothing was owed to it is dropped |
/// | [`max_in_flight`](Server::max_in_flight) | 64 | that connection's requests are not read until an answer is written |
///
/// [`Serving::stats`] and [`AsyncServing::stats`] count what the limits did.
///
/// # Security
///
/// **TCP fails closed:** a TCP server needs a [`key`](Server::key), client
/// certificates (mutual TLS: [`tls`](Server::tls) with
/// [`ServerTls::client_ca`](crate::ServerTls::client_ca)), or a call to
/// [`unauthenticated`](Server::unauthenticated); without one it refuses to start.
/// With [`tls`](Server::tls), a client that does not speak TLS is refused, never
/// read in clear. A **Unix
/// socket** must be in a directory only its owner can enter
/// ([`PrivateDir`](crate::PrivateDir)), so other users cannot connect at all; a key
/// is optional there. Never the abstract namespace.
///
/// Before authentication, only [`consumer_auth`]'s fixed-size reads happen: no byte
/// from an unauthenticated peer reaches a decoder. A connection that fails or is
/// refused — wrong key, garbage, a huge length prefix, a deadline, a limit, a
/// consumer error — is reported once through [`on_error`](Server::on_error) (by
/// default a `tracing` warning naming the peer) and closed; the server keeps
/// serving the others.
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
    limits: Limits,
    on_error: OnError,
    /// How each accepted socket is wrapped before authentication (`accept.rs`).
    pub(crate) accept: Accept,
    /// The pinned item type identity, for every stream this server reads or writes.
    pub(super) identity: Option<Identity>,
}

pub(super) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Server {
    /// Listens on `addr`. A TCP port of 0 picks a free one (see
    /// [`local_addr`](Server::local_addr)). A Unix socket's directory must be
    /// private; a stale socket file there (one that no one listens on) is replaced,
    /// and anything else at the path is left alone and refused.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for a Unix socket in a directory others can
    /// enter, or a path that holds something other than a stale socket (a file, a
    /// directory, a socket someone listens on); an I/O error binding.
    ///
    /// ```
    /// use consumer::ErrorKind;
    /// use consumer_net::{Address, PrivateDir, Server};
    ///
    /// let dir = PrivateDir::new("bind")?;
    /// std::fs::write(dir.join("notes"), "keep me")?;
    /// let e = Server::bind(&Address::Unix(dir.join("notes"))).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Usage);
    /// assert_eq!(std::fs::read_to_string(dir.join("notes"))?, "keep me");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
                        replace_stale(addr, path)?;
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
            limits: Limits::default(),
            on_error: Arc::new(|peer, e| {
                tracing::warn!(peer, error = %e, "connection failed or refused");
            }),
            accept: Accept::default(),
            identity: None,
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

    /// The deadline of each connection's whole handshake — the transport's, then
    /// authentication — however the peer paces its bytes (default 10 s).
    ///
    /// ```
    /// use std::time::Duration;
    /// use consumer_net::Server;
    ///
    /// let server = Server::bind(&"127.0.0.1:0".parse()?)?.handshake_timeout(Duration::from_secs(2));
    /// # drop(server);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn handshake_timeout(mut self, timeout: Duration) -> Server {
        self.limits.handshake = timeout;
        self
    }

    /// How long an authenticated peer may send nothing while nothing is owed to it
    /// (no reply pending) before it is dropped; `None` waits forever. Default 5
    /// minutes. A peer that announces a large frame and stops is dropped at it too.
    ///
    /// ```
    /// use std::time::Duration;
    /// use consumer_net::Server;
    ///
    /// let server = Server::bind(&"127.0.0.1:0".parse()?)?.idle_timeout(Some(Duration::from_secs(30)));
    /// # drop(server);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Server {
        self.limits.idle = timeout;
        self
    }

    /// How many connections may be open at once, authenticated or not (default
    /// 512); beyond it a new connection is refused at once.
    ///
    /// ```
    /// use consumer_net::Server;
    ///
    /// let server = Server::bind(&"127.0.0.1:0".parse()?)?.max_connections(10_000);
    /// # drop(server);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn max_connections(mut self, n: usize) -> Server {
        self.limits.connections = n;
        self
    }

    /// How many connections may be in their handshake at once (default 64); beyond
    /// it a new connection is refused at once, and the established ones keep being
    /// served.
    ///
    /// ```
    /// use consumer_net::Server;
    ///
    /// let server = Server::bind(&"127.0.0.1:0".parse()?)?.max_unauthenticated(16);
    /// # drop(server);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn max_unauthenticated(mut self, n: usize) -> Server {
        self.limits.unauthenticated = n;
        self
    }

    /// How many of one connection's requests may be read and not yet answered on
    /// the wire (default 64, at least 1): at the bound that connection is not read
    /// until an answer is written, so a client that never reads its replies holds
    /// at most that many (and what one 16 KiB read brought), and slows no one else.
    ///
    /// ```
    /// use consumer_net::Server;
    ///
    /// let server = Server::bind(&"127.0.0.1:0".parse()?)?.max_in_flight(8);
    /// # drop(server);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn max_in_flight(mut self, n: usize) -> Server {
        self.limits.in_flight = n;
        self
    }

    /// Worker threads of the runtime the blocking [`serve`](Server::serve) methods
    /// start (default: the machine's cores, between 2 and 8). The async methods run
    /// on the caller's runtime.
    ///
    /// ```
    /// use consumer_net::Server;
    ///
    /// let server = Server::bind(&"127.0.0.1:0".parse()?)?.workers(2);
    /// # drop(server);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn workers(mut self, n: usize) -> Server {
        self.limits.workers = n.max(1);
        self
    }

    /// Called once for every connection that ends in an error or is refused, with
    /// the peer's address and the error, from that connection's task. The default
    /// logs a `tracing` warning naming the peer.
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
    /// peer has authenticated and sent its first byte. The consumer is closed at the
    /// end of its connection's stream, and the sender's `close` returns its outcome.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for a TCP server with no key that was not made
    /// [`unauthenticated`](Server::unauthenticated); an I/O error starting the
    /// runtime.
    pub fn serve<T, K, F>(self, factory: F) -> Result<Serving, Error>
    where
        T: DeserializeOwned + Send + 'static,
        K: Consumer<T> + Send + 'static,
        F: Fn() -> K + Send + Sync + 'static,
    {
        let pin = self.identity.clone();
        self.start_blocking(items(factory, pin), None)
    }

    /// Serves every connection to one consumer. Each connection's items arrive in
    /// order; connections interleave. The consumer is closed when the server shuts
    /// down ([`Serving::shutdown`] returns its outcome); a connection's `close`
    /// returns once its items are delivered.
    ///
    /// # Errors
    ///
    /// As [`serve`](Server::serve).
    pub fn serve_shared<T, K>(self, consumer: K) -> Result<Serving, Error>
    where
        T: DeserializeOwned + Send + 'static,
        K: Consumer<T> + Send + 'static,
    {
        let (feed, finish) = shared_feed(consumer);
        let pin = self.identity.clone();
        self.start_blocking(items(feed, pin), Some(finish))
    }

    /// Serves each connection's requests to a service of its own, made by `factory`
    /// (return a clone of one runner's handle to share a service): see
    /// [`serve_requests`](consumer_process::serve_requests). Answers go back as they
    /// are given; a reply too large for a frame fails its own call and the
    /// connection lives on; [`max_in_flight`](Server::max_in_flight) bounds what a
    /// client that does not read its replies can hold.
    ///
    /// # Errors
    ///
    /// As [`serve`](Server::serve).
    pub fn serve_requests<Q, R, S, F>(self, factory: F) -> Result<Serving, Error>
    where
        Q: DeserializeOwned + Send + 'static,
        R: Serialize + Deserialize<'static> + Send + 'static,
        S: Consumer<Request<Q, R>> + Send + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        let pin = self.identity.clone();
        self.start_blocking(requests(factory, pin), None)
    }

    /// The blocking driver: a runtime of its own, the one server on it.
    fn start_blocking(self, handler: Handler, finish: Option<Finish>) -> Result<Serving, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(self.limits.workers)
            .thread_name("consumer-server")
            .enable_all()
            .build()
            .map_err(|e| Error::from(e).with_message("starting the server's runtime"))?;
        let serving = {
            let _entered = runtime.enter();
            self.start_async(handler, finish)?
        };
        Ok(Serving {
            serving: Some(serving),
            runtime: Some(runtime),
        })
    }

    /// Fails closed (TCP without a key or mutual TLS and not
    /// [`unauthenticated`](Server::unauthenticated), or TLS on a Unix socket, is a
    /// [`Usage`](ErrorKind::Usage) error); otherwise what a serving loop needs.
    pub(super) fn into_parts(self) -> Result<Parts, Error> {
        crate::tls::check_server(&self.addr, &self.accept)?;
        // Mutual TLS authenticates clients as a key does.
        if matches!(self.addr, Address::Tcp(_))
            && self.key.is_none()
            && !self.accept.authenticates()
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
        let handshake = self.limits.handshake;
        let auth = self.key.map(|key| Auth::new(key).timeout(handshake));
        Ok(Parts {
            listener: self.listener,
            addr: self.addr,
            auth,
            accept: self.accept,
            limits: self.limits,
            on_error: self.on_error,
        })
    }
}

/// Clears the way for a Unix socket at `path`: removes a stale socket (one no one
/// listens on) and refuses anything else.
fn replace_stale(addr: &Address, path: &std::path::Path) -> Result<(), Error> {
    use std::os::unix::fs::FileTypeExt;
    let refuse = |what: &str| {
        Err(Error::new(
            ErrorKind::Usage,
            format!("not listening on {addr}: {what} is there; remove it, or choose another path"),
        ))
    };
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| Error::from(e).with_message(format!("listening on {addr}")))?;
    if !meta.file_type().is_socket() {
        return refuse("a file that is not a socket");
    }
    if UnixStream::connect(path).is_ok() {
        return refuse("a socket someone listens on");
    }
    // A socket file left by a server that is gone.
    std::fs::remove_file(path)
        .map_err(|e| Error::from(e).with_message(format!("replacing the stale socket {addr}")))
}

/// A checked [`Server`], taken apart for the serving loop.
pub(super) struct Parts {
    pub(super) listener: Listener,
    pub(super) addr: Address,
    pub(super) auth: Option<Auth>,
    pub(super) accept: Accept,
    pub(super) limits: Limits,
    pub(super) on_error: OnError,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("authenticated", &self.key.is_some())
            .field("limits", &self.limits)
            .field("accept", &self.accept)
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

/// A running [`Server`] started by a blocking method: its address, its counts, and
/// the way to stop it. It owns the server's runtime. Dropping it shuts the server
/// down, as [`shutdown`](Serving::shutdown) does.
pub struct Serving {
    serving: Option<AsyncServing>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Serving {
    fn inner(&self) -> &AsyncServing {
        self.serving.as_ref().expect("present until shutdown")
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> &Address {
        self.inner().local_addr()
    }

    /// How many connections ended well, and how many in an error (bad input, a
    /// failed handshake or consumer, a deadline), so far.
    pub fn counts(&self) -> (u64, u64) {
        self.inner().counts()
    }

    /// What the server has counted so far (see [`Stats`]).
    ///
    /// ```
    /// use consumer::Consumer;
    /// use consumer_net::{Address, Connector, PrivateDir, Server};
    ///
    /// let dir = PrivateDir::new("serving-stats")?;
    /// let addr = Address::Unix(dir.join("sock"));
    /// let serving = Server::bind(&addr)?.serve(Vec::<u8>::new)?;
    /// let mut tx = Connector::new(addr).sender::<u8>()?;
    /// tx.send(1)?;
    /// tx.close()?;
    /// assert_eq!(serving.stats().authenticated, 1);
    /// serving.shutdown()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.inner().stats()
    }

    /// Serves until the process ends (for a command-line server; see
    /// [`shutdown_within`](Serving::shutdown_within) to stop on a signal).
    pub fn wait(self) -> Result<(), Error> {
        loop {
            std::thread::park();
        }
    }

    /// Stops accepting, ends the open connections (their consumers are closed with
    /// what they received), waits for their tasks, and closes a
    /// [shared](Server::serve_shared) consumer: returns its outcome.
    ///
    /// # Errors
    ///
    /// The shared consumer's failure; [`Panicked`](ErrorKind::Panicked) if a
    /// connection's task panicked.
    pub fn shutdown(self) -> Result<(), Error> {
        self.shutdown_within(Duration::ZERO).map(drop)
    }

    /// As [`shutdown`](Serving::shutdown), after letting the open connections end
    /// by themselves for up to `grace`: a graceful stop that drains what is in
    /// flight. Returns the server's last counts.
    ///
    /// # Errors
    ///
    /// As [`shutdown`](Serving::shutdown).
    ///
    /// ```
    /// use std::time::Duration;
    /// use consumer_net::{Address, PrivateDir, Server};
    ///
    /// let dir = PrivateDir::new("grace")?;
    /// let serving = Server::bind(&Address::Unix(dir.join("sock")))?.serve(Vec::<u8>::new)?;
    /// let stats = serving.shutdown_within(Duration::from_secs(1))?; // nothing open: at once
    /// assert_eq!(stats.served, 0);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn shutdown_within(mut self, grace: Duration) -> Result<Stats, Error> {
        self.stop(grace)
    }

    fn stop(&mut self, grace: Duration) -> Result<Stats, Error> {
        let (Some(serving), Some(runtime)) = (self.serving.take(), self.runtime.take()) else {
            return Ok(Stats::default());
        };
        let stop = || runtime.block_on(serving.shutdown_within(grace));
        // A runtime cannot be blocked on from within another one's thread.
        let outcome = if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| s.spawn(stop).join()).unwrap_or_else(|_| {
                Err(Error::new(
                    ErrorKind::Panicked,
                    "the server's shutdown panicked",
                ))
            })
        } else {
            stop()
        };
        runtime.shutdown_background();
        outcome
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        if let Err(e) = self.stop(Duration::ZERO) {
            tracing::warn!(error = %e, "the server's shutdown failed");
        }
    }
}

impl fmt::Debug for Serving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Serving")
            .field("serving", &self.serving)
            .finish_non_exhaustive()
    }
}
