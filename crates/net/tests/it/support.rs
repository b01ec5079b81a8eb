//! What several of the test modules share: keys and addresses, a tokio runtime, a
//! guarded TCP server that reports what it refused, and a consumer that forwards to
//! a shared sender while holding what must outlive it.

use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use consumer::testing::{Holding, Item};
use consumer::{Consumer, Error, ErrorKind};
use consumer_auth::AuthKey;
use consumer_net::{Address, Connector, Server, Serving};
use consumer_process::SharedSender;

/// How long any wait on a signal in these tests may take before it counts as a hang.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

pub(crate) fn key(n: u8) -> AuthKey {
    AuthKey::new(vec![n; 32]).unwrap()
}

pub(crate) fn loopback() -> Address {
    "127.0.0.1:0".parse().unwrap()
}

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A TCP server on loopback with key 1.
pub(crate) fn keyed() -> Server {
    Server::bind(&loopback()).unwrap().key(key(1))
}

/// A consumer of `u64`s that fails on 3 with "three is too many".
pub(crate) fn fails_at_three() -> impl Consumer<u64> + Send + 'static {
    consumer::try_from_fn(|n: u64| {
        if n == 3 {
            Err(Error::new(ErrorKind::Other, "three is too many"))
        } else {
            Ok(())
        }
    })
}

/// A running server, blocking or async: where it listens.
pub(crate) trait Listening {
    fn addr(&self) -> Address;
}

impl Listening for Serving {
    fn addr(&self) -> Address {
        self.local_addr().clone()
    }
}

impl Listening for consumer_net::AsyncServing {
    fn addr(&self) -> Address {
        self.local_addr().clone()
    }
}

/// The consumer factory a [`Guarded`] server serves: counts each consumer it makes.
pub(crate) type Decoders = Box<dyn Fn() -> Vec<u64> + Send + Sync>;

/// A TCP server with key 1 whose consumers count how often the factory ran (that is,
/// how often a peer got past authentication to a decoder), and whose failures are
/// reported on a channel.
pub(crate) struct Guarded<S> {
    pub(crate) serving: S,
    pub(crate) decoders: Arc<AtomicU64>,
    errors: mpsc::Receiver<(String, Error)>,
}

impl<S: Listening> Guarded<S> {
    /// Binds the server and has `serve` start it (blocking or async) with the
    /// counting factory.
    pub(crate) fn start(
        handshake_timeout: Duration,
        serve: impl FnOnce(Server, Decoders) -> S,
    ) -> Self {
        let decoders = Arc::new(AtomicU64::new(0));
        let (tx, errors) = mpsc::channel();
        let tx = Mutex::new(tx);
        let counter = Arc::clone(&decoders);
        let server = keyed()
            .handshake_timeout(handshake_timeout)
            .on_error(move |peer, e| {
                let _ = tx.lock().unwrap().send((peer.to_owned(), e.clone()));
            });
        let serving = serve(
            server,
            Box::new(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                Vec::<u64>::new()
            }),
        );
        Guarded {
            serving,
            decoders,
            errors,
        }
    }

    pub(crate) fn addr(&self) -> Address {
        self.serving.addr()
    }

    pub(crate) fn tcp(&self) -> TcpStream {
        match self.addr() {
            Address::Tcp(a) => TcpStream::connect(a.as_str()).unwrap(),
            other => panic!("{other}"),
        }
    }

    /// The next connection failure the server reported.
    pub(crate) fn next_error(&self) -> Error {
        let (peer, e) = self
            .errors
            .recv_timeout(PATIENCE)
            .expect("a reported failure");
        assert!(peer.starts_with("127.0.0.1:"), "{peer}");
        e
    }

    /// A peer that connects and says nothing is reported as timed out and hung up on
    /// (for a server with a short `handshake_timeout`), and reaches no decoder.
    pub(crate) fn drops_a_silent_peer(&self) {
        let mut silent = self.tcp();
        let e = self.next_error();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        // The server hung up on us.
        let mut rest = Vec::new();
        let _ = silent.read_to_end(&mut rest);
        assert_eq!(self.decoders.load(Ordering::SeqCst), 0);
    }

    /// An honest client (`send`, given a connector with the right key, sends its
    /// items and closes) still gets through, and its items reach a decoder.
    pub(crate) fn still_serves_with(&self, send: impl FnOnce(Connector)) {
        let before = self.decoders.load(Ordering::SeqCst);
        send(Connector::new(self.addr()).key(key(1)));
        assert_eq!(self.decoders.load(Ordering::SeqCst), before + 1);
    }
}

/// A consumer of the suite's items that forwards them to a shared sender, holding `H`
/// while any clone lives.
pub(crate) type Forward<W, H> = Holding<SharedSender<Item, W>, H>;

/// A child process that is killed and reaped however the test ends.
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

impl KillOnDrop {
    /// Kills the child now (`SIGKILL`) and reaps it.
    pub(crate) fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        self.kill();
    }
}
