//! Async sockets: async clients against blocking servers and back, over TCP with a
//! key and over Unix sockets; refusals reported, silent peers dropped, shutdown with
//! connections open.

use std::io::Read;
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use consumer::testing::{Item, Suite};
use consumer::{Consumer, Error, ErrorKind, Inline};
use consumer_net::{Address, AsyncServing, Conn, Connector, PrivateDir, Server};

use consumer::testing::{Held, Holding};

use crate::support::{self, Forward, PATIENCE, fails_at_three, key, keyed, loopback, rt};

/// Runs `f` on `rt`, failing the test if it takes longer than [`PATIENCE`].
fn within<F: std::future::Future>(rt: &tokio::runtime::Runtime, f: F) -> F::Output {
    rt.block_on(async { tokio::time::timeout(PATIENCE, f).await })
        .expect("finished in time, not hung")
}

/// The two kinds of address, each with what a server and a client need.
fn each_transport(mut test: impl FnMut(Server, Connector)) {
    let server = keyed();
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
        let serving = keyed()
            .on_error(|_, _| {})
            .serve_async(fails_at_three)
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

    let e = keyed().serve_async(Vec::<u8>::new).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("tokio runtime"), "{e}");

    let e = within(&rt(), Connector::new(loopback()).sender_async::<u8>()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("without a key"), "{e}");
}

/// The guarded server (see [`support::Guarded`]), served async on a runtime of its
/// own.
struct Guarded {
    rt: tokio::runtime::Runtime,
    inner: support::Guarded<AsyncServing>,
}

impl Deref for Guarded {
    type Target = support::Guarded<AsyncServing>;
    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

fn guarded(handshake_timeout: Duration) -> Guarded {
    let rt = rt();
    let inner = {
        let _entered = rt.enter();
        support::Guarded::start(handshake_timeout, |server, decoders| {
            server.serve_async(decoders).unwrap()
        })
    };
    Guarded { rt, inner }
}

impl Guarded {
    /// An honest async client still gets through, and its items reach a decoder.
    fn still_serves(&self) {
        self.still_serves_with(|connector| {
            within(&self.rt, async {
                let mut tx = connector.sender_async::<u64>().await.unwrap();
                tx.send_all([1, 2, 3]).await.unwrap();
                tx.close().await.unwrap();
            });
        });
    }

    fn shutdown(self) {
        within(&self.rt, self.inner.serving.shutdown()).unwrap();
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
    g.drops_a_silent_peer();
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
            .handshake_timeout(PATIENCE)
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

#[test]
fn many_async_clients_feed_one_shared_consumer_in_order_and_shutdown_closes_it() {
    const CLIENTS: u32 = 6;
    const ITEMS: u64 = 5_000;
    let rt = rt();
    each_transport(|server, connector| {
        let seen = Inline::new(Vec::<(u32, u64)>::new()).shared();
        let serving = {
            let _in_runtime = rt.enter();
            server.serve_shared_async(seen.clone()).unwrap()
        };
        within(&rt, async {
            let clients: Vec<_> = (0..CLIENTS)
                .map(|c| {
                    let connector = connector.clone();
                    tokio::spawn(async move {
                        let mut tx = connector.sender_async::<(u32, u64)>().await?;
                        tx.send_all((0..ITEMS).map(|seq| (c, seq))).await?;
                        tx.close().await
                    })
                })
                .collect();
            for c in clients {
                c.await.expect("client task").expect("client");
            }
            serving
                .shutdown()
                .await
                .expect("shutdown closes the consumer");
        });
        assert!(seen.is_finished(), "closed by the shutdown");
        seen.with(|items| {
            assert_eq!(items.len() as u64, u64::from(CLIENTS) * ITEMS);
            for c in 0..CLIENTS {
                let mine: Vec<u64> = items.iter().filter(|i| i.0 == c).map(|i| i.1).collect();
                assert_eq!(mine, (0..ITEMS).collect::<Vec<_>>(), "client {c} in order");
            }
        });
    });
}

#[test]
fn an_async_server_answers_calls_from_many_threads_and_a_panic_fails_its_call() {
    let rt = rt();
    each_transport(|server, connector| {
        let serving = {
            let _in_runtime = rt.enter();
            server
                .on_error(|_, _| {})
                .serve_requests_async(|| {
                    consumer::serve(|n: u64| {
                        assert_ne!(n, u64::MAX, "the service refuses MAX");
                        n * 2
                    })
                })
                .unwrap()
        };
        let client = consumer::Client::new(connector.client::<u64, u64>().unwrap());
        let callers: Vec<_> = (0..3u64)
            .map(|t| {
                let mut client = client.clone();
                std::thread::spawn(move || {
                    for n in t * 1000..t * 1000 + 200 {
                        assert_eq!(client.call_timeout(n, PATIENCE).unwrap(), n * 2);
                    }
                })
            })
            .collect();
        for c in callers {
            c.join().expect("caller");
        }
        let mut client = client;
        let e = client.call_timeout(u64::MAX, PATIENCE).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panicked, "{e}");
        within(&rt, serving.shutdown()).unwrap();
    });
}

/// An async server and the runtime it runs on, shut down once the suite's sender
/// has closed (or the last clone is dropped); the shutdown's outcome is kept, so
/// closing again says the same.
pub(crate) struct OnRuntime {
    serving: Mutex<Option<AsyncServing>>,
    shut: Mutex<Option<Result<(), Error>>>,
    rt: tokio::runtime::Runtime,
    _dir: Option<PrivateDir>,
}

impl OnRuntime {
    fn start(serve: impl FnOnce(Server) -> Result<AsyncServing, Error>) -> Arc<OnRuntime> {
        let dir = PrivateDir::new("tokio-suite").unwrap();
        let server = Server::bind(&Address::Unix(dir.join("sock"))).unwrap();
        OnRuntime::start_on(server, Some(dir), serve)
    }

    /// As [`start`](OnRuntime::start), with `server` (and the directory its socket
    /// is in, kept while the server runs).
    pub(crate) fn start_on(
        server: Server,
        dir: Option<PrivateDir>,
        serve: impl FnOnce(Server) -> Result<AsyncServing, Error>,
    ) -> Arc<OnRuntime> {
        let rt = rt();
        let serving = {
            let _in = rt.enter();
            serve(server).expect("serve")
        };
        Arc::new(OnRuntime {
            serving: Mutex::new(Some(serving)),
            shut: Mutex::new(None),
            rt,
            _dir: dir,
        })
    }

    fn connect(self: Arc<Self>) -> Forward<Conn, OnRuntime> {
        self.connect_with(Connector::new)
    }

    /// A sender through the connector `connector` makes for the server's address,
    /// holding the server until it closes.
    pub(crate) fn connect_with(
        self: Arc<Self>,
        connector: impl FnOnce(Address) -> Connector,
    ) -> Forward<Conn, OnRuntime> {
        let addr = self
            .serving
            .lock()
            .unwrap()
            .as_ref()
            .unwrap()
            .local_addr()
            .clone();
        let tx = connector(addr).sender::<Item>().expect("connect").shared();
        Holding {
            inner: tx,
            held: self,
        }
    }
}

impl Held for OnRuntime {
    fn after_close(&self) -> Result<(), Error> {
        let mut shut = self.shut.lock().unwrap();
        if let Some(serving) = self.serving.lock().unwrap().take() {
            *shut = Some(self.rt.block_on(serving.shutdown()));
        }
        shut.clone().unwrap_or(Ok(()))
    }
}

impl Drop for OnRuntime {
    fn drop(&mut self) {
        let _ = self.after_close();
    }
}

#[test]
fn an_async_server_passes_the_suite() {
    Suite::new("net-serve-async")
        .items(2_000)
        .run(|probe: consumer::testing::Probe| {
            let probe = Mutex::new(Some(probe));
            OnRuntime::start(move |server| {
                server.serve_async(move || probe.lock().unwrap().take().expect("one connection"))
            })
            .connect()
        });
}

#[test]
fn an_async_server_feeding_a_shared_consumer_passes_the_suite() {
    // The shared consumer is closed by the shutdown, after the connection's end.
    Suite::new("net-serve-shared-async")
        .items(2_000)
        .run(|probe: consumer::testing::Probe| {
            OnRuntime::start(|server| server.serve_shared_async(probe)).connect()
        });
}
