//! The async API of the one server: `Server::serve_async` and its kin start
//! `engine.rs`'s server on the caller's tokio runtime; [`AsyncServing`] is the
//! handle both APIs hold (the blocking [`Serving`](crate::Serving) wraps one).

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, Request};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::engine::{Engine, Handler, accept_loop, items, requests};
use crate::limits::Stats;
use crate::server::{Finish, Listener, Parts, shared_feed};
use crate::tokio_conn::Socket;
use crate::{Address, Server};

impl Server {
    /// [`serve`](Server::serve) on the current tokio runtime: the same server, with
    /// the same limits, deadlines and [`on_error`](Server::on_error) (called on the
    /// connection's task), on the caller's runtime instead of one of its own. Each
    /// connection's items go to a consumer of its own, made by `factory`, whose
    /// outcome is reported back to the connection's sender. Stop it with
    /// [`AsyncServing::shutdown`].
    ///
    /// The consumer runs on its connection's task: one whose `send` blocks for long
    /// (a thread runner's full mailbox, say) holds up that task's worker thread, so
    /// prefer quick consumers, or give a slow one a runner of its own.
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
    /// use consumer_net::{Connector, Server};
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
        let pin = self.identity.clone();
        self.start_async(items(factory, pin), None)
    }

    /// [`serve_shared`](Server::serve_shared) on the current tokio runtime: every
    /// connection's task feeds one consumer (each connection's items in order), which
    /// [`AsyncServing::shutdown`] closes once the connections have ended.
    ///
    /// # Errors
    ///
    /// As [`serve_async`](Server::serve_async).
    ///
    /// # Examples
    ///
    /// ```
    /// use consumer_net::{Address, Connector, PrivateDir, Server};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let dir = PrivateDir::new("shared-async")?;
    /// let addr = Address::Unix(dir.join("sock"));
    /// let all = consumer::Inline::new(Vec::<u8>::new()).shared();
    /// let serving = Server::bind(&addr)?.serve_shared_async(all.clone())?;
    /// for n in [1, 2] {
    ///     let mut tx = Connector::new(addr.clone()).sender_async::<u8>().await?;
    ///     tx.send(n).await?;
    ///     tx.close().await?;
    /// }
    /// serving.shutdown().await?;
    /// assert_eq!(all.with(|v| v.len()), 2);
    /// assert!(all.is_finished());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn serve_shared_async<T, K>(self, consumer: K) -> Result<AsyncServing, Error>
    where
        T: DeserializeOwned + Send + 'static,
        K: Consumer<T> + Send + 'static,
    {
        let (feed, finish) = shared_feed(consumer);
        let pin = self.identity.clone();
        self.start_async(items(feed, pin), Some(finish))
    }

    /// [`serve_requests`](Server::serve_requests) on the current tokio runtime: each
    /// connection's requests go to a service of its own, made by `factory`, on the
    /// connection's task; the answers go back through a writer task, in the order
    /// they are given. For [`Remote`](consumer_process::Remote) callers.
    ///
    /// # Errors
    ///
    /// As [`serve_async`](Server::serve_async).
    ///
    /// # Examples
    ///
    /// ```
    /// use consumer::{Client, serve};
    /// use consumer_net::{Address, Connector, PrivateDir, Server};
    ///
    /// let rt = tokio::runtime::Runtime::new()?;
    /// let dir = PrivateDir::new("requests-async")?;
    /// let addr = Address::Unix(dir.join("sock"));
    /// let serving = {
    ///     let _in = rt.enter();
    ///     Server::bind(&addr)?.serve_requests_async(|| serve(|n: u64| n * n))?
    /// };
    /// let mut client = Client::new(Connector::new(addr).client::<u64, u64>()?);
    /// assert_eq!(client.call(12)?, 144);
    /// client.close()?;
    /// rt.block_on(serving.shutdown())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn serve_requests_async<Q, R, S, F>(self, factory: F) -> Result<AsyncServing, Error>
    where
        Q: DeserializeOwned + Send + 'static,
        R: Serialize + Deserialize<'static> + Send + 'static,
        S: Consumer<Request<Q, R>> + Send + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        let pin = self.identity.clone();
        self.start_async(requests(factory, pin), None)
    }

    /// Starts the one server on the current runtime (the blocking driver enters
    /// its own runtime first).
    pub(crate) fn start_async(
        self,
        handler: Handler,
        finish: Option<Finish>,
    ) -> Result<AsyncServing, Error> {
        let Parts {
            listener,
            addr,
            auth,
            accept,
            limits,
            on_error,
        } = self.into_parts()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::Usage,
                "serve_async must be called on a tokio runtime (in a task, or under \
                 `Runtime::enter`)",
            )
        })?;
        let listener = async_listener(listener, limits.unauthenticated)
            .map_err(|e| Error::from(e).with_message(format!("listening on {addr}")))?;
        let engine = Arc::new(Engine::new(auth, accept, limits, handler, on_error));
        let span = tracing::info_span!("process.server", runner = "process", addr = %addr);
        let accept = runtime.spawn(accept_loop(listener, Arc::clone(&engine)).instrument(span));
        Ok(AsyncServing {
            addr,
            engine,
            accept: Some(accept),
            finish,
        })
    }
}

/// The bound std listener, handed over to tokio (no second bind), its queue of
/// connections not yet accepted as long as a burst of peers the server would admit
/// (std listens with 128: a burst beyond it waits a second for the SYN to be sent
/// again). The kernel caps it at `net.core.somaxconn`.
fn async_listener(
    listener: Listener,
    burst: usize,
) -> io::Result<Socket<TcpListener, UnixListener>> {
    let backlog = i32::try_from(burst.max(128)).unwrap_or(i32::MAX);
    Ok(match listener {
        Listener::Tcp(l) => {
            rustix::net::listen(&l, backlog)?;
            l.set_nonblocking(true)?;
            Socket::Tcp(TcpListener::from_std(l)?)
        }
        Listener::Unix(l) => {
            rustix::net::listen(&l, backlog)?;
            l.set_nonblocking(true)?;
            Socket::Unix(UnixListener::from_std(l)?)
        }
    })
}

/// A running async server ([`Server::serve_async`]): its address, its counts, and
/// the way to stop it.
///
/// Rust has no async drop: call [`shutdown`](AsyncServing::shutdown) and await it.
/// Dropping it unawaited stops accepting and ends the open connections (their
/// consumers are still closed, on their tasks) without waiting for them.
///
/// ```
/// use consumer_net::{Address, PrivateDir, Server};
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
    engine: Arc<Engine>,
    accept: Option<JoinHandle<()>>,
    /// Closes a shared consumer ([`Server::serve_shared_async`]).
    finish: Option<Finish>,
}

impl AsyncServing {
    /// The address it listens on (with the port picked for a TCP port of 0).
    ///
    /// ```
    /// use consumer_net::{Address, Server};
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
    /// use consumer_net::{Address, Connector, PrivateDir, Server};
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
        let stats = self.stats();
        (stats.served, stats.failed)
    }

    /// What the server has counted so far (see [`Stats`]).
    ///
    /// ```
    /// use consumer_net::{Address, PrivateDir, Server};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let dir = PrivateDir::new("async-stats")?;
    /// let serving = Server::bind(&Address::Unix(dir.join("sock")))?.serve_async(Vec::<u8>::new)?;
    /// assert_eq!(serving.stats().open, 0);
    /// serving.shutdown().await?;
    /// # Ok::<(), consumer::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn stats(&self) -> Stats {
        self.engine.counters.snapshot()
    }

    /// Stops accepting, ends the open connections (their consumers are closed with
    /// what they received; a peer still authenticating is dropped), and waits for
    /// their tasks. A Unix socket's file is removed. A
    /// [shared](Server::serve_shared_async) consumer is closed last: its outcome is
    /// returned.
    ///
    /// # Errors
    ///
    /// [`Panicked`](ErrorKind::Panicked) if the accept loop or a connection's task
    /// panicked.
    ///
    /// ```
    /// use consumer_net::{Address, Connector, PrivateDir, Server};
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
    pub async fn shutdown(self) -> Result<(), Error> {
        self.shutdown_within(Duration::ZERO).await.map(drop)
    }

    /// As [`shutdown`](AsyncServing::shutdown), after letting the open connections
    /// end by themselves for up to `grace`: a graceful stop that drains what is in
    /// flight. Returns the server's last counts.
    ///
    /// # Errors
    ///
    /// As [`shutdown`](AsyncServing::shutdown).
    ///
    /// ```
    /// use std::time::Duration;
    /// use consumer_net::{Address, PrivateDir, Server};
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let dir = PrivateDir::new("async-grace")?;
    /// let serving = Server::bind(&Address::Unix(dir.join("sock")))?.serve_async(Vec::<u8>::new)?;
    /// let stats = serving.shutdown_within(Duration::from_secs(1)).await?; // nothing open: at once
    /// assert_eq!(stats.open, 0);
    /// # Ok::<(), consumer::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn shutdown_within(mut self, grace: Duration) -> Result<Stats, Error> {
        let Some(accept) = self.stop_accepting() else {
            return Ok(self.stats());
        };
        let accept_panicked = matches!(accept.await, Err(e) if e.is_panic());
        let panics = self.engine.live.drain(grace).await;
        if accept_panicked || panics > 0 {
            return Err(Error::new(
                ErrorKind::Panicked,
                "the server's accept loop or a connection's task panicked",
            ));
        }
        self.finish.take().map_or(Ok(()), |finish| finish())?;
        Ok(self.stats())
    }

    /// Stops accepting (a Unix socket's file is removed); the accept loop to await.
    fn stop_accepting(&mut self) -> Option<JoinHandle<()>> {
        let accept = self.accept.take()?;
        accept.abort();
        if let Address::Unix(p) = &self.addr {
            let _ = std::fs::remove_file(p);
        }
        Some(accept)
    }
}

impl Drop for AsyncServing {
    fn drop(&mut self) {
        self.stop_accepting();
        self.engine.live.stop();
        // Not awaited: a connection still ending may find the shared consumer closed
        // (its sender is told so). `shutdown` waits for them first.
        if let Some(finish) = self.finish.take() {
            if let Err(e) = finish() {
                tracing::warn!(error = %e, "the shared consumer failed at shutdown");
            }
        }
    }
}

impl fmt::Debug for AsyncServing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncServing")
            .field("addr", &self.addr)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}
