//! Async sockets: async clients against blocking servers and back, over TCP with a
//! key and over Unix sockets; refusals reported, silent peers dropped, shutdown with
//! connections open.

use std::io::Read;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, Inline};
use consumer_auth::AuthKey;
use consumer_process::{Address, AsyncServing, Connector, PrivateDir, Server};

/// How long any wait on a signal in these tests may take before it counts as a hang.
const PATIENCE: Duration = Duration::from_secs(10);

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Runs `f` on `rt`, failing the test if it takes longer than [`PATIENCE`].
fn within<F: std::future::Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    rt.block_on(async { tokio::time::timeout(PATIENCE, f).await })
        .expect("finished in time, not hung")
}

fn key(n: u8) -> AuthKey {
    AuthKey::new(vec![n; 32]).unwrap()
}

fn loopback() -> Address {
    "127.0.0.1:0".parse().unwrap()
}

/// The two kinds of address, each with what a server and a client need.
fn each_transport(mut test: impl FnMut(Server, Connector)) {
    let server = Server::bind(&loopback()).unwrap().key(key(1));
    let connector = Connector::new(server.local_addr().clone()).key(key(1));
    test(server, connector);

    let dir = PrivateDir::new("tokio-net").unwrap();
    let server = Server::bind(&Address::Unix(dir.join("sock"))).unwrap();
    let connector = Connector::new(server.local_addr().clone());
    test(server, connector);
}

#[test]
fn an_async_client_feeds_a_blocking_server() {
    let rt = rt();
    each_transport(|server, connector| {
        let total = Inline::new(Vec::<u64>::new()).shared();
        let serving = server.serve_shared(total.clone()).unwrap();
        within(&rt, async {
            let mut tx = connector.sender_async::<u64>().await.unwrap();
            tx.send(0).await.unwrap();
            tx.send_all(1..1000).await.unwrap();
            tx.close().await.unwrap();
        });
        serving.shutdown().unwrap();
        assert_eq!(total.with(Vec::clone), (0..1000).collect::<Vec<_>>());
    });
}

#[test]
fn a_blocking_client_feeds_an_async_server() {
    let rt = rt();
    each_transport(|server, connector| {
        let (items, got) = mpsc::channel::<u64>();
        let items = Mutex::new(items);
        let serving = {
            let _entered = rt.enter();
            server
                .serve_async(move || items.lock().unwrap().clone())
                .unwrap()
        };
        let mut tx = connector.sender::<u64>().unwrap();
        tx.send_all(0..1000).unwrap();
        tx.close().unwrap(); // the far consumer has them all
        assert_eq!(
            got.try_iter().collect::<Vec<_>>(),
            (0..1000).collect::<Vec<_>>()
        );
        within(&rt, serving.shutdown()).unwrap();
        // Gone: the address no longer answers.
        let e = within(&rt, connector.connect_async()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    });
}

#[test]
fn an_async_client_feeds_an_async_server_and_gets_its_failure_back() {
    within(&rt(), async {
        let serving = Server::bind(&loopback())
            .unwrap()
            .key(key(1))
            .on_error(|_, _| {})
            .serve_async(|| {
                consumer::try_from_fn(|n: u64| {
                    if n == 3 {
                        Err(Error::new(ErrorKind::Other, "three is too many"))
                    } else {
                        Ok(())
                    }
                })
            })
            .unwrap();
        let mut tx = Connector::new(serving.local_addr().clone())
            .key(key(1))
            .sender_async::<u64>()
            .await
            .unwrap();
        tx.send_all(1..=5).await.unwrap();
        let e = tx.close().await.unwrap_err();
        assert_eq!(e.message(), Some("three is too many"));
        assert_eq!(e.undelivered(), Some(2));
        serving.shutdown().await.unwrap();
    });
}

#[test]
fn tcp_without_a_key_fails_closed_and_serving_needs_a_runtime() {
    let e = Server::bind(&loopback())
        .unwrap()
        .serve_async(Vec::<u8>::new)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("without a key"), "{e}");

    let e = Server::bind(&loopback())
        .unwrap()
        .key(key(1))
        .serve_async(Vec::<u8>::new)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("tokio runtime"), "{e}");

    let e = within(&rt(), Connector::new(loopback()).sender_async::<u8>()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("without a key"), "{e}");
}

/// An async TCP server with key 1 whose consumers count how often the factory ran
/// (how often a peer got past authentication to a decoder), and whose failures are
/// reported on a channel.
struct Guarded {
    rt: tokio::runtime::Runtime,
    serving: Option<AsyncServing>,
    decoders: Arc<AtomicU64>,
    errors: mpsc::Receiver<(String, Error)>,
}

fn guarded(auth_timeout: Duration) -> Guarded {
    let rt = rt();
    let decoders = Arc::new(AtomicU64::new(0));
    let (tx, errors) = mpsc::channel();
    let tx = Mutex::new(tx);
    let counter = Arc::clone(&decoders);
    let serving = {
        let _entered = rt.enter();
        Server::bind(&loopback())
            .unwrap()
            .key(key(1))
            .auth_timeout(auth_timeout)
            .on_error(move |peer, e| {
                let _ = tx.lock().unwrap().send((peer.to_owned(), e.clone()));
            })
            .serve_async(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                Vec::<u64>::new()
            })
            .unwrap()
    };
    Guarded {
        rt,
        serving: Some(serving),
        decoders,
        errors,
    }
}

impl Guarded {
    fn addr(&self) -> Address {
        self.serving.as_ref().unwrap().local_addr().clone()
    }

    fn tcp(&self) -> TcpStream {
        match self.addr() {
            Address::Tcp(a) => TcpStream::connect(a.as_str()).unwrap(),
            other => panic!("{other}"),
        }
    }

    /// The next connection failure the server reported.
    fn next_error(&self) -> Error {
        let (peer, e) = self
            .errors
            .recv_timeout(PATIENCE)
            .expect("a reported failure");
        assert!(peer.starts_with("127.0.0.1:"), "{peer}");
        e
    }

    /// An honest async client still gets through, and its items reach a decoder.
    fn still_serves(&self) {
        let before = self.decoders.load(Ordering::SeqCst);
        within(&self.rt, async {
            let mut tx = Connector::new(self.addr())
                .key(key(1))
                .sender_async::<u64>()
                .await
                .unwrap();
            tx.send_all([1, 2, 3]).await.unwrap();
            tx.close().await.unwrap();
        });
        assert_eq!(self.decoders.load(Ordering::SeqCst), before + 1);
    }

    fn shutdown(mut self) {
        let serving = self.serving.take().unwrap();
        within(&self.rt, serving.shutdown()).unwrap();
    }
}

#[test]
fn a_wrong_key_is_refused_and_reported_and_reaches_no_decoder() {
    let g = guarded(PATIENCE);
    let e = within(
        &g.rt,
        Connector::new(g.addr()).key(key(2)).sender_async::<u64>(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e:?}");
    // The client checks the server's proof first and hangs up on it, so the server
    // sees a peer that left during authentication.
    let reported = g.next_error();
    assert!(
        reported.to_string().contains("authentication"),
        "{reported}"
    );
    assert_eq!(g.decoders.load(Ordering::SeqCst), 0);
    g.still_serves();
    g.shutdown();
}

#[test]
fn a_silent_peer_is_dropped_at_the_auth_deadline() {
    let g = guarded(Duration::from_millis(200));
    let mut silent = g.tcp();
    let e = g.next_error();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    // The server hung up on us.
    let mut rest = Vec::new();
    let _ = silent.read_to_end(&mut rest);
    assert_eq!(g.decoders.load(Ordering::SeqCst), 0);
    g.still_serves();
    g.shutdown();
}

#[test]
fn shutdown_with_connections_open_does_not_hang() {
    let rt = rt();
    let dir = PrivateDir::new("tokio-stop").unwrap();
    let addr = Address::Unix(dir.join("sock"));
    let (arrived, signal) = mpsc::channel();
    let arrived = Mutex::new(arrived);
    let (closed_tx, closed) = mpsc::channel();
    let closed_tx = Mutex::new(closed_tx);
    let serving = {
        let _entered = rt.enter();
        Server::bind(&addr)
            .unwrap()
            .auth_timeout(PATIENCE)
            .key(key(1))
            .on_error(|_, _| {})
            .serve_async(move || {
                let arrived = arrived.lock().unwrap().clone();
                let closed = closed_tx.lock().unwrap().clone();
                Probe {
                    arrived,
                    closed,
                    count: 0,
                }
            })
            .unwrap()
    };
    // One connection mid-stream, one silent peer still expected to authenticate.
    let connector = Connector::new(addr.clone()).key(key(1));
    let mut tx = within(&rt, connector.sender_async::<u64>()).unwrap();
    within(&rt, tx.send(7)).unwrap();
    assert_eq!(signal.recv_timeout(PATIENCE), Ok(7), "the item arrives");
    let silent = match &addr {
        Address::Unix(p) => std::os::unix::net::UnixStream::connect(p).unwrap(),
        other => panic!("{other}"),
    };
    within(&rt, serving.shutdown()).unwrap();
    // The open connection's consumer was closed with what it had.
    assert_eq!(closed.recv_timeout(PATIENCE), Ok(1));
    assert!(
        !std::path::Path::new(match &addr {
            Address::Unix(p) => p,
            _ => unreachable!(),
        })
        .exists(),
        "the socket file is removed"
    );
    assert!(
        within(&rt, tx.close()).is_err(),
        "the server ended the stream"
    );
    let mut rest = Vec::new();
    let _ = (&silent).read_to_end(&mut rest);
}

/// Reports each item as it arrives, and how many it had when closed.
struct Probe {
    arrived: mpsc::Sender<u64>,
    closed: mpsc::Sender<usize>,
    count: usize,
}

impl Consumer<u64> for Probe {
    fn send(&mut self, n: u64) -> Result<(), consumer::SendError<u64>> {
        self.count += 1;
        let _ = self.arrived.send(n);
        Ok(())
    }
    fn close(&mut self) -> Result<(), Error> {
        let _ = self.closed.send(self.count);
        Ok(())
    }
}
