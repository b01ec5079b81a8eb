//! TLS on TCP: the suite over TLS, mutual TLS, a wrong CA, TLS on one side only
//! (refused both ways, with errors that name TLS, nothing delivered), and the
//! handshake's deadline. Certificates are made at run time with rcgen.

use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use consumer::testing::{Held, Holding, Item, Probe, Suite};
use consumer::{Consumer, Error, ErrorKind};
use consumer_net::{ClientTls, Conn, Connector, Server, ServerTls, Serving};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use crate::support::{PATIENCE, key, loopback};

/// A CA, and a server and a client certificate it signed.
pub(crate) struct Pki {
    pub(crate) ca: String,
    pub(crate) server: (String, String),
    pub(crate) client: (String, String),
}

impl Pki {
    pub(crate) fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let leaf = |san: &str| {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(vec![san.to_owned()])
                .unwrap()
                .signed_by(&key, &ca)
                .unwrap();
            (cert.pem(), key.serialize_pem())
        };
        Pki {
            server: leaf("localhost"),
            client: leaf("client.consumer"),
            ca: ca.as_ref().pem(),
        }
    }

    pub(crate) fn server(&self) -> ServerTls {
        let (cert, key) = &self.server;
        ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap()
    }

    /// The server, requiring client certificates from `ca`'s CA.
    pub(crate) fn mutual(&self, clients: &Pki) -> ServerTls {
        self.server().client_ca(clients.ca.as_bytes()).unwrap()
    }

    /// A client trusting this CA, checking the name `localhost`.
    pub(crate) fn client(&self) -> ClientTls {
        ClientTls::from_ca(self.ca.as_bytes())
            .unwrap()
            .server_name("localhost")
            .unwrap()
    }

    /// A client with this CA's client certificate, trusting `servers`' CA.
    pub(crate) fn client_with_cert(&self, servers: &Pki) -> ClientTls {
        let (cert, key) = &self.client;
        servers
            .client()
            .client_cert(cert.as_bytes(), key.as_bytes())
            .unwrap()
    }
}

/// A TCP server on loopback whose failures come out on a channel and whose
/// consumers' items are counted.
struct Watched {
    serving: Serving,
    delivered: Arc<AtomicU64>,
    errors: mpsc::Receiver<Error>,
}

impl Watched {
    fn start(server: Server) -> Watched {
        let (tx, errors) = mpsc::channel();
        let tx = Mutex::new(tx);
        let delivered = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&delivered);
        let serving = server
            .on_error(move |_, e| {
                let _ = tx.lock().unwrap().send(e.clone());
            })
            .serve(move || {
                let counter = Arc::clone(&counter);
                consumer::from_fn(move |_: u64| {
                    counter.fetch_add(1, Ordering::SeqCst);
                })
            })
            .unwrap();
        Watched {
            serving,
            delivered,
            errors,
        }
    }

    fn connector(&self) -> Connector {
        Connector::new(self.serving.local_addr().clone())
    }

    fn next_error(&self) -> Error {
        self.errors
            .recv_timeout(PATIENCE)
            .expect("a reported failure")
    }

    /// Sends three items and closes: the error the client ends with, if any.
    fn send_three(&self, connector: Connector) -> Result<(), Error> {
        let mut tx = connector.sender::<u64>()?;
        tx.send_all([1, 2, 3]).map_err(|e| e.into_error())?;
        tx.close()
    }
}

fn tls_server() -> Server {
    Server::bind(&loopback()).unwrap()
}

fn says_tls(e: &Error) {
    assert!(
        e.to_string().contains("TLS"),
        "the error should name TLS: {e}"
    );
}

/// A sender to a server that feeds one probe, holding the server while any clone
/// lives.
type Remote = Holding<consumer_process::SharedSender<Item, Conn>, Holds>;

struct Holds(#[allow(dead_code, reason = "held for its drop")] Serving);

impl Held for Holds {}

fn remote(
    probe: Probe,
    server: Server,
    connector: impl Fn(&consumer_net::Address) -> Connector,
) -> Remote {
    let probe = Mutex::new(Some(probe));
    let serving = server
        .serve(move || probe.lock().unwrap().take().expect("one connection"))
        .expect("serve");
    let tx = connector(serving.local_addr())
        .sender::<Item>()
        .expect("connect")
        .shared();
    Holding {
        inner: tx,
        held: Arc::new(Holds(serving)),
    }
}

#[test]
fn passes_the_suite_over_tls_with_a_key_inside() {
    let pki = Pki::new("suite");
    Suite::new("net-tls-key").run(|probe| {
        let server = tls_server().tls(pki.server()).key(key(1));
        remote(probe, server, |a| {
            Connector::new(a.clone()).tls(pki.client()).key(key(1))
        })
    });
}

#[test]
fn passes_the_suite_over_mutual_tls_without_a_key() {
    let pki = Pki::new("suite-mutual");
    Suite::new("net-tls-mutual").run(|probe| {
        let server = tls_server().tls(pki.mutual(&pki));
        remote(probe, server, |a| {
            Connector::new(a.clone()).tls(pki.client_with_cert(&pki))
        })
    });
}

#[test]
fn a_tls_server_without_client_certificates_still_needs_a_key() {
    let pki = Pki::new("fail-closed");
    let e = tls_server()
        .tls(pki.server())
        .serve(Vec::<u8>::new)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    // Mutual TLS stands instead of the key; a TLS client needs no key either (TLS
    // proves the server).
    let serving = tls_server()
        .tls(pki.mutual(&pki))
        .serve(Vec::<u8>::new)
        .unwrap();
    let conn = Connector::new(serving.local_addr().clone())
        .tls(pki.client_with_cert(&pki))
        .connect();
    assert!(conn.is_ok(), "{conn:?}");
    serving.shutdown().unwrap();
}

#[test]
fn tls_on_a_unix_socket_is_a_usage_error() {
    let pki = Pki::new("unix");
    let dir = consumer_net::PrivateDir::new("tls-unix").unwrap();
    let addr = consumer_net::Address::Unix(dir.join("sock"));
    let e = Server::bind(&addr)
        .unwrap()
        .tls(pki.server())
        .serve(Vec::<u8>::new)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    says_tls(&e);
    let e = Connector::new(addr)
        .tls(pki.client())
        .connect()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    says_tls(&e);
}

#[test]
fn mutual_tls_refuses_a_client_without_a_certificate_or_with_another_cas() {
    let pki = Pki::new("mutual");
    let stranger = Pki::new("stranger");
    let server = Watched::start(tls_server().tls(pki.mutual(&pki)));

    server
        .send_three(server.connector().tls(pki.client_with_cert(&pki)))
        .unwrap();
    assert_eq!(server.delivered.load(Ordering::SeqCst), 3);

    // No certificate: in TLS 1.3 the client learns of it on its first read, at
    // the latest when `close` waits for the report.
    let e = server
        .send_three(server.connector().tls(pki.client()))
        .unwrap_err();
    says_tls(&e);
    let refused = server.next_error();
    assert_eq!(refused.kind(), ErrorKind::Auth, "{refused}");
    says_tls(&refused);

    // A certificate from a CA the server does not trust.
    let e = server
        .send_three(server.connector().tls(stranger.client_with_cert(&pki)))
        .unwrap_err();
    says_tls(&e);
    let refused = server.next_error();
    assert_eq!(refused.kind(), ErrorKind::Auth, "{refused}");
    says_tls(&refused);
    assert_eq!(
        server.delivered.load(Ordering::SeqCst),
        3,
        "nothing more delivered"
    );
    // The server counts a client certificate as authentication, a refused one as
    // a failed handshake.
    let stats = server.serving.stats();
    assert_eq!(
        (stats.authenticated, stats.handshake_failures),
        (1, 2),
        "{stats:?}"
    );
}

#[test]
fn a_server_certificate_from_another_ca_is_refused() {
    let pki = Pki::new("right");
    let other = Pki::new("other");
    let server = Watched::start(tls_server().tls(pki.server()).key(key(1)));
    let e = server
        .send_three(server.connector().tls(other.client()).key(key(1)))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    says_tls(&e);
    assert!(e.to_string().contains("not trusted"), "{e}");
    let refused = server.next_error();
    says_tls(&refused);
    // A name the certificate does not carry.
    let e = server
        .send_three(
            server
                .connector()
                .tls(pki.client().server_name("elsewhere").unwrap())
                .key(key(1)),
        )
        .unwrap_err();
    says_tls(&e);
    assert_eq!(server.delivered.load(Ordering::SeqCst), 0);
}

#[test]
fn a_plain_client_is_refused_by_a_tls_server_with_errors_that_name_tls() {
    let pki = Pki::new("one-side");
    let server = Watched::start(tls_server().tls(pki.server()).key(key(1)));
    // With a key: the key exchange's first reply is a TLS alert.
    let e = server
        .send_three(server.connector().key(key(1)))
        .unwrap_err();
    says_tls(&e);
    let refused = server.next_error();
    assert_eq!(refused.kind(), ErrorKind::Protocol, "{refused}");
    says_tls(&refused);
    // Without one: the wire's handshake meets the same alert.
    let e = server
        .send_three(server.connector().unauthenticated())
        .unwrap_err();
    says_tls(&e);
    says_tls(&server.next_error());
    assert_eq!(server.delivered.load(Ordering::SeqCst), 0);
}

#[test]
fn a_tls_client_is_refused_by_a_plain_server_with_errors_that_name_tls() {
    let pki = Pki::new("other-side");
    for (server, client) in [
        (Server::bind(&loopback()).unwrap().key(key(1)), Some(key(1))),
        (Server::bind(&loopback()).unwrap().unauthenticated(), None),
    ] {
        let server = Watched::start(server);
        let mut connector = server.connector().tls(pki.client());
        if let Some(k) = client {
            connector = connector.key(k);
        }
        let e = server.send_three(connector).unwrap_err();
        says_tls(&e);
        let refused = server.next_error();
        says_tls(&refused);
        assert_eq!(server.delivered.load(Ordering::SeqCst), 0);
    }
}

#[test]
fn the_tls_handshake_has_a_deadline_on_both_sides() {
    let pki = Pki::new("deadline");
    // A client that connects and says nothing.
    let server = Watched::start(
        tls_server()
            .tls(pki.server())
            .key(key(1))
            .handshake_timeout(Duration::from_millis(300)),
    );
    let mut silent = match server.serving.local_addr() {
        consumer_net::Address::Tcp(a) => std::net::TcpStream::connect(a.as_str()).unwrap(),
        other => panic!("{other}"),
    };
    let e = server.next_error();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    says_tls(&e);
    let mut rest = Vec::new();
    let _ = silent.read_to_end(&mut rest); // hung up on
    assert_eq!(server.delivered.load(Ordering::SeqCst), 0);

    // A server that accepts and says nothing.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let t = Instant::now();
    let e = Connector::new(addr.parse().unwrap())
        .tls(pki.client())
        .auth_timeout(Duration::from_millis(300))
        .connect()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    says_tls(&e);
    assert!(t.elapsed() < PATIENCE, "bounded");
    drop(silent);
}

#[test]
fn a_trickling_tls_client_is_dropped_at_the_deadline_of_the_whole_handshake() {
    let pki = Pki::new("trickle");
    let server = Watched::start(
        tls_server()
            .tls(pki.server())
            .key(key(1))
            .handshake_timeout(Duration::from_millis(500)),
    );
    let consumer_net::Address::Tcp(a) = server.serving.local_addr().clone() else {
        unreachable!()
    };
    let mut peer = std::net::TcpStream::connect(a.as_str()).unwrap();
    // A TLS record header, then one byte at a time: each read comes well within the
    // deadline, the whole does not.
    let (stop_tx, stop) = mpsc::channel::<()>();
    let trickle = std::thread::spawn(move || {
        use std::io::Write;
        let _ = peer.write_all(&[22, 3, 1, 0x40, 0]);
        for _ in 0..100 {
            if stop.recv_timeout(Duration::from_millis(100)).is_ok()
                || peer.write_all(&[1]).is_err()
            {
                return;
            }
        }
    });
    let t = Instant::now();
    let e = server.next_error();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "the whole handshake is bounded"
    );
    let _ = stop_tx.send(());
    trickle.join().unwrap();
}

#[test]
fn calls_go_over_tls() {
    let pki = Pki::new("calls");
    let serving = tls_server()
        .tls(pki.mutual(&pki))
        .serve_requests(|| consumer::serve(|n: u64| n + 1))
        .unwrap();
    let mut client = consumer::Client::new(
        Connector::new(serving.local_addr().clone())
            .tls(pki.client_with_cert(&pki))
            .client::<u64, u64>()
            .unwrap(),
    );
    for n in 0..500 {
        assert_eq!(client.call_timeout(n, PATIENCE).unwrap(), n + 1);
    }
    client.close().unwrap();
    serving.shutdown().unwrap();
}

#[test]
fn large_items_go_over_tls_both_ways() {
    let pki = Pki::new("large");
    let serving = tls_server()
        .tls(pki.mutual(&pki))
        .serve_requests(|| {
            consumer::serve(|v: Vec<u8>| v.iter().map(|&b| u64::from(b)).sum::<u64>())
        })
        .unwrap();
    let mut client = consumer::Client::new(
        Connector::new(serving.local_addr().clone())
            .tls(pki.client_with_cert(&pki))
            .client::<Vec<u8>, u64>()
            .unwrap(),
    );
    for n in 0..20u8 {
        let v = vec![n; 200_000];
        assert_eq!(
            client.call_timeout(v, PATIENCE).unwrap(),
            u64::from(n) * 200_000
        );
    }
    client.close().unwrap();
    serving.shutdown().unwrap();
}

#[test]
fn bad_pem_is_a_usage_error() {
    let e = ServerTls::from_pem(b"not pem", b"nor this").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    let e = ClientTls::from_ca(b"").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    let pki = Pki::new("pem");
    // A key that does not go with the certificate.
    let other = Pki::new("other-pem");
    let e = ServerTls::from_pem(pki.server.0.as_bytes(), other.server.1.as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    let e = ServerTls::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
}

mod on_tokio {
    use super::*;
    use crate::support::rt;
    use crate::tokio_net::OnRuntime;

    #[test]
    fn an_async_server_over_mutual_tls_delivers_from_both_connectors() {
        let pki = Pki::new("async");
        let rt = rt();
        let count = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&count);
        let serving = {
            let _in = rt.enter();
            tls_server()
                .tls(pki.mutual(&pki))
                .serve_async(move || {
                    let counter = Arc::clone(&counter);
                    consumer::from_fn(move |n: u64| {
                        counter.fetch_add(n, Ordering::SeqCst);
                    })
                })
                .unwrap()
        };
        let connector =
            Connector::new(serving.local_addr().clone()).tls(pki.client_with_cert(&pki));
        // Blocking connector.
        let mut tx = connector.sender::<u64>().unwrap();
        tx.send_all(1..=1000).unwrap();
        tx.close().unwrap();
        // Async connector.
        rt.block_on(async {
            let mut tx = connector.sender_async::<u64>().await?;
            tx.send_all(1..=1000).await?;
            tx.close().await
        })
        .unwrap();
        assert_eq!(count.load(Ordering::SeqCst), 2 * 500_500);
        rt.block_on(serving.shutdown()).unwrap();
    }

    #[test]
    fn an_async_server_over_mutual_tls_passes_the_suite() {
        let pki = Pki::new("async-suite");
        Suite::new("net-tls-serve-async")
            .items(2_000)
            .run(|probe: Probe| {
                let probe = Mutex::new(Some(probe));
                OnRuntime::start_on(tls_server().tls(pki.mutual(&pki)), None, move |server| {
                    server
                        .serve_async(move || probe.lock().unwrap().take().expect("one connection"))
                })
                .connect_with(|addr| Connector::new(addr).tls(pki.client_with_cert(&pki)))
            });
    }

    #[test]
    fn an_async_server_refuses_plain_and_silent_clients_and_the_async_connector_a_plain_server() {
        let pki = Pki::new("async-refuse");
        let rt = rt();
        let (tx, errors) = mpsc::channel();
        let tx = Mutex::new(tx);
        let serving = {
            let _in = rt.enter();
            tls_server()
                .tls(pki.server())
                .key(key(1))
                .handshake_timeout(Duration::from_millis(300))
                .on_error(move |_, e| {
                    let _ = tx.lock().unwrap().send(e.clone());
                })
                .serve_async(Vec::<u64>::new)
                .unwrap()
        };
        let addr = serving.local_addr().clone();
        // A plain client.
        let e = rt
            .block_on(async {
                let mut tx = Connector::new(addr.clone())
                    .key(key(1))
                    .sender_async::<u64>()
                    .await?;
                tx.send(1).await.map_err(|e| e.into_error())?;
                tx.close().await
            })
            .unwrap_err();
        says_tls(&e);
        says_tls(&errors.recv_timeout(PATIENCE).unwrap());
        // A silent one.
        let consumer_net::Address::Tcp(a) = &addr else {
            unreachable!()
        };
        let _silent = std::net::TcpStream::connect(a.as_str()).unwrap();
        let e = errors.recv_timeout(PATIENCE).unwrap();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        says_tls(&e);
        rt.block_on(serving.shutdown()).unwrap();

        // The async TLS connector against a plain async server.
        let plain = {
            let _in = rt.enter();
            Server::bind(&loopback())
                .unwrap()
                .key(key(1))
                .serve_async(Vec::<u64>::new)
                .unwrap()
        };
        let e = rt
            .block_on(async {
                let mut tx = Connector::new(plain.local_addr().clone())
                    .tls(pki.client())
                    .key(key(1))
                    .sender_async::<u64>()
                    .await?;
                tx.send(1).await.map_err(|e| e.into_error())?;
                tx.close().await
            })
            .unwrap_err();
        says_tls(&e);
        rt.block_on(plain.shutdown()).unwrap();
    }
}
