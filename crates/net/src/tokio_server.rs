//! The async side of sockets, serving (feature `tokio`): `Server::serve_async`, a
//! task per connection, with the blocking server's checks, limits and `on_error`.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, Request};
use consumer_auth::Auth;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::live::Live;
use crate::server::{Finish, Listener, OnError, Parts, Tally, shared_feed};
use crate::tokio_conn::{AsyncConn, Socket};
use crate::{Address, Server};
use consumer_process::{AsyncReceiver, AsyncSender, Identity, stream_identities};
use consumer_wire::{Feed, WireAnswer};

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
        self.start_async(
            Arc::new(move |conn: AsyncConn| {
                let service = factory();
                Box::pin(serve_requests_async(conn, service, pin.clone())) as Served
            }),
            None,
        )
    }

    fn start_async(self, handler: Handler, finish: Option<Finish>) -> Result<AsyncServing, Error> {
        let Parts {
            listener,
            addr,
            auth,
            on_error,
            tls,
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
        let running = Arc::new(Running {
            live: Live::new(),
            tally: Tally::default(),
        });
        let acceptor = Arc::new(Acceptor {
            tls,
            auth,
            handler,
            on_error,
            running: Arc::clone(&running),
        });
        let span = tracing::info_span!("process.server", runner = "process", addr = %addr);
        let accept = runtime.spawn(accept_loop(listener, acceptor).instrument(span));
        Ok(AsyncServing {
            addr,
            running,
            accept: Some(accept),
            finish,
        })
    }
}

/// The handler of an item server: each connection's items to a consumer from `make`,
/// its outcome reported back on the connection.
fn items<T, K>(make: impl Fn() -> K + Send + Sync + 'static, pin: Option<Identity>) -> Handler
where
    T: DeserializeOwned + Send + 'static,
    K: Consumer<T> + Send + 'static,
{
    Arc::new(move |conn: AsyncConn| {
        let consumer = make();
        let pin = pin.clone();
        Box::pin(async move {
            let (reader, writer) = conn.into_split();
            let rx = AsyncReceiver::new(reader);
            let rx = match pin {
                Some(id) => rx.identity(id),
                None => rx,
            };
            rx.report_to(writer).run::<T, _>(consumer).await
        }) as Served
    })
}

/// One connection's requests to `service`; answers, given from any thread, go back
/// through a channel to the writer, which ends the reply stream once the request
/// stream has ended and every request has been answered or dropped.
async fn serve_requests_async<Q, R, S>(
    conn: AsyncConn,
    service: S,
    pin: Option<Identity>,
) -> Result<u64, Error>
where
    Q: DeserializeOwned + Send + 'static,
    R: Serialize + Deserialize<'static> + Send + 'static,
    S: Consumer<Request<Q, R>> + Send + 'static,
{
    let (ask, answer) = stream_identities(pin.as_ref());
    let (reader, writer) = conn.into_split();
    let (answers, mut to_write) = mpsc::unbounded_channel::<(u64, WireAnswer<R>)>();
    let write = async move {
        let mut replies = AsyncSender::<(u64, WireAnswer<R>), _>::new(writer);
        if let Some(id) = answer {
            replies = replies.identity(id);
        }
        while let Some(answer) = to_write.recv().await {
            // The caller may be gone; the rest of its answers have no one to go to.
            if replies.send(answer).await.is_err() {
                break;
            }
        }
        replies.close().await
    };
    let feed = Feed::new(service, move |id, answer| {
        // The writer is gone only if the connection broke: the caller has failed
        // the call already.
        let _ = answers.send((id, answer));
    });
    // Reading and writing go on side by side on this connection's task.
    let rx = AsyncReceiver::new(reader);
    let rx = match ask {
        Some(id) => rx.identity(id),
        None => rx,
    };
    let read = rx.run::<(u64, Q), _>(feed);
    let (received, written) = tokio::join!(read, write);
    let received = received?;
    written.map(|()| received)
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
struct Running {
    live: Live<JoinHandle<()>>,
    tally: Tally,
}

/// Forgets a connection when its task ends, however it ends.
struct Registered {
    running: Arc<Running>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.running.live.remove(self.id);
    }
}

/// What a connection's task runs once its peer is authenticated: how many items it
/// delivered, or why it failed.
type Served = Pin<Box<dyn Future<Output = Result<u64, Error>> + Send>>;
type Handler = Arc<dyn Fn(AsyncConn) -> Served + Send + Sync>;

struct Acceptor {
    tls: Option<(crate::ServerTls, Duration)>,
    auth: Option<Auth>,
    handler: Handler,
    on_error: OnError,
    running: Arc<Running>,
}

async fn accept_loop(listener: Socket<TcpListener, UnixListener>, this: Arc<Acceptor>) {
    loop {
        let accepted = match &listener {
            Socket::Tcp(l) => l.accept().await.map(|(s, _)| AsyncConn::from(s)),
            Socket::Unix(l) => l.accept().await.map(|(s, _)| AsyncConn::from(s)),
        };
        match accepted {
            Ok(conn) => this.spawn(conn),
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                // Out of descriptors, say: give the connections a moment to end.
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

impl Acceptor {
    fn spawn(self: &Arc<Self>, conn: AsyncConn) {
        let handle = match conn.shutdown_handle() {
            Ok(handle) => handle,
            Err(e) => {
                let peer = conn.peer().to_owned();
                self.running
                    .tally
                    .record(&peer, Err(Error::from(e)), &self.on_error);
                return;
            }
        };
        let mut live = self.running.live.lock();
        let Some(id) = live.add(handle) else {
            return; // stopping: dropping the connection closes it
        };
        let registered = Registered {
            running: Arc::clone(&self.running),
            id,
        };
        let this = Arc::clone(self);
        let span =
            tracing::info_span!("process.connection", runner = "process", peer = conn.peer());
        live.push(tokio::spawn(
            async move {
                this.serve(conn).await;
                drop(registered);
            }
            .instrument(span),
        ));
    }

    async fn serve(&self, conn: AsyncConn) {
        let peer = conn.peer().to_owned();
        let outcome = async {
            // TLS hook: the accepted connection wrapped before authentication.
            let mut conn = match &self.tls {
                Some((tls, timeout)) => crate::tls_tokio::accept_conn(conn, tls, *timeout).await?,
                None => conn,
            };
            if let Some(auth) = &self.auth {
                auth.accept_async(&mut conn).await?;
            }
            (self.handler)(conn).await
        }
        .await;
        self.running.tally.record(&peer, outcome, &self.on_error);
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
    running: Arc<Running>,
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
        self.running.tally.counts()
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
        self.finish.take().map_or(Ok(()), |finish| finish())
    }

    /// Stops accepting and ends the open connections; gives the tasks to await.
    fn stop(&mut self) -> Option<(JoinHandle<()>, Vec<JoinHandle<()>>)> {
        let accept = self.accept.take()?;
        accept.abort();
        let tasks = self.running.live.stop();
        if let Address::Unix(p) = &self.addr {
            let _ = std::fs::remove_file(p);
        }
        Some((accept, tasks))
    }
}

impl Drop for AsyncServing {
    fn drop(&mut self) {
        self.stop();
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
            .field("connections", &self.running.tally)
            .finish_non_exhaustive()
    }
}
