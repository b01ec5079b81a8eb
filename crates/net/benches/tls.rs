//! TLS on TCP loopback: ours against a raw rustls loop, in the same run (see
//! `benchkit`).
//!
//! Ours: `Connector::tls` (+ key) `sender` → `Server::tls` (+ key) `serve`, connected,
//! TLS-handshaken and authenticated before the clock starts; the clock stops when
//! `close` returns, that is once the server's consumer has every item and has
//! reported so. The raw loop: the very same bytes (the wire's handshake, frames and
//! end frame, written by hand) through a `BufWriter` over rustls's `StreamOwned`
//! on a client connection, parsed by a thread reading a `StreamOwned` of a server
//! connection, which acknowledges the end frame with one byte; handshakes before
//! the clock. Both use the same rustls configuration (ring, default suites: TLS 1.3,
//! AES-256-GCM), certificates made by rcgen.
//!
//! - small items (`u64`): one `send` each with a manual flush, `send_all`, and one
//!   `send` each under the default flush policy;
//! - 64 KiB `Vec<u8>` items, taken from a pool that the far consumer refills (the
//!   process benchmark's recycling), so the producer never allocates; against the
//!   raw loop that reads every item into one buffer and delivers nothing (the
//!   target row: what our delivery costs counts against us). Diagnostics: ours
//!   against a raw loop that delivers as we do (each item read into a vector of its
//!   own, handed to the same consumer), that raw loop against the plain one (what
//!   owning each item costs), our TLS `Conn` under the raw loop, and the same items
//!   over plain TCP (`net/tcp/bytes-64KiB`, for comparison).
//!
//! Figures and reading: `docs/decisions/0014-tls.md`.

use std::cell::RefCell;
use std::hint::black_box;
use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use benchkit::{Compare, Unit};
use consumer::{Consumer, Error, SendError};
use consumer_auth::AuthKey;
use consumer_net::{ClientTls, Conn, Connector, Server, ServerTls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConnection, ServerConnection, StreamOwned};

#[path = "../../process/benches/common/mod.rs"]
mod common;

use common::Mode;

/// A CA-signed `localhost` certificate, as PEM: (CA, chain, key).
fn pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    (ca.as_ref().pem(), cert.pem(), key.serialize_pem())
}

/// The raw loop's side: rustls configurations as ours builds them.
struct Raw {
    listener: TcpListener,
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

impl Raw {
    fn new(ca: &str, chain: &str, key: &str) -> Raw {
        let provider = || Arc::new(rustls::crypto::ring::default_provider());
        let chain: Vec<_> = CertificateDer::pem_slice_iter(chain.as_bytes())
            .map(Result::unwrap)
            .collect();
        let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
        let server = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(ca.as_bytes()).unwrap())
            .unwrap();
        let client = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Raw {
            listener: TcpListener::bind("127.0.0.1:0").unwrap(),
            server: Arc::new(server),
            client: Arc::new(client),
        }
    }

    /// A handshaken pair: (client, accepted).
    fn pair(&self) -> (ClientStream, ServerStream) {
        let c = TcpStream::connect(self.listener.local_addr().unwrap()).unwrap();
        let s = self.listener.accept().unwrap().0;
        c.set_nodelay(true).unwrap();
        s.set_nodelay(true).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut client = StreamOwned::new(
            ClientConnection::new(Arc::clone(&self.client), name).unwrap(),
            c,
        );
        let config = Arc::clone(&self.server);
        let server = thread::spawn(move || {
            let mut s = StreamOwned::new(ServerConnection::new(config).unwrap(), s);
            while s.conn.is_handshaking() {
                s.conn.complete_io(&mut s.sock).unwrap();
            }
            s
        });
        while client.conn.is_handshaking() {
            client.conn.complete_io(&mut client.sock).unwrap();
        }
        (client, server.join().unwrap())
    }
}

impl Raw {
    /// As [`pair`](Raw::pair), the client side being our `Conn` over TLS.
    fn pair_ours(&self, ca: &str) -> (Conn, ServerStream) {
        let config = Arc::clone(&self.server);
        let addr = self.listener.local_addr().unwrap().to_string();
        let tls = ClientTls::from_ca(ca.as_bytes())
            .unwrap()
            .server_name("localhost")
            .unwrap();
        let client =
            thread::spawn(move || Connector::new(addr.parse().unwrap()).tls(tls).connect());
        let s = self.listener.accept().unwrap().0;
        s.set_nodelay(true).unwrap();
        let mut s = StreamOwned::new(ServerConnection::new(config).unwrap(), s);
        while s.conn.is_handshaking() || s.conn.wants_write() {
            s.conn.complete_io(&mut s.sock).unwrap();
        }
        (client.join().unwrap().unwrap(), s)
    }
}

type ClientStream = StreamOwned<ClientConnection, TcpStream>;
type ServerStream = StreamOwned<ServerConnection, TcpStream>;

/// The raw loop: the far thread reads with `read` (all the frames), then
/// acknowledges with one byte; the clock covers writing, flushing and the ack.
fn raw_run<C: Read + Write, S: Read + Write + Send + 'static>(
    (client, server): (C, S),
    write: impl FnOnce(&mut BufWriter<C>),
    read: impl FnOnce(&mut BufReader<S>) + Send + 'static,
) -> Duration {
    let rx = thread::spawn(move || {
        let mut r = BufReader::with_capacity(64 << 10, server);
        read(&mut r);
        r.get_mut().write_all(&[1]).unwrap();
        r.get_mut().flush().unwrap();
    });
    let t = Instant::now();
    let mut w = BufWriter::with_capacity(64 << 10, client);
    write(&mut w);
    w.flush().unwrap();
    let mut client = w.into_inner().map_err(|e| e.into_error()).unwrap();
    client.read_exact(&mut [0u8; 1]).unwrap();
    let elapsed = t.elapsed();
    rx.join().unwrap();
    elapsed
}

/// Sums what it is sent; the sum is kept alive at close.
struct Count(u64);

impl Consumer<u64> for Count {
    fn send(&mut self, x: u64) -> Result<(), SendError<u64>> {
        self.0 = self.0.wrapping_add(x);
        Ok(())
    }
    fn close(&mut self) -> Result<(), Error> {
        black_box(self.0);
        Ok(())
    }
}

fn small(ca: &str, chain: &str, key_pem: &str, raw: &Raw) {
    let key = AuthKey::generate().unwrap();
    let serving = Server::bind(&"127.0.0.1:0".parse().unwrap())
        .unwrap()
        .tls(ServerTls::from_pem(chain.as_bytes(), key_pem.as_bytes()).unwrap())
        .key(key.clone())
        .serve(|| Count(0))
        .unwrap();
    let connector = Connector::new(serving.local_addr().clone())
        .tls(
            ClientTls::from_ca(ca.as_bytes())
                .unwrap()
                .server_name("localhost")
                .unwrap(),
        )
        .key(key);
    for (what, mode, target) in [
        ("send-manual-flush", Mode::Manual, Some(0.8)),
        ("send_all", Mode::Batch, Some(0.8)),
        // The default policy, one `send` per item and no flush call.
        ("send-default-vs-bufwriter", Mode::Default, None),
    ] {
        let compare = Compare::new(&format!("net/tls/u64/{what}")).work(2_000_000);
        let compare = match target {
            Some(t) => compare.target(t),
            None => compare,
        };
        compare.run(
            |n| {
                let tx = connector.sender::<u64>().unwrap();
                let t = Instant::now();
                let mut tx = common::send_small(tx, n, mode);
                tx.close().unwrap();
                t.elapsed()
            },
            |n| {
                raw_run(
                    raw.pair(),
                    |w| common::write_frames(w, n),
                    |r| {
                        common::read_frames(r);
                    },
                )
            },
        );
    }
    serving.shutdown().unwrap();
}

const BULK: usize = 64 << 10;

/// One 64 KiB item's frame header as our sender writes it: length, kind 1, then
/// bincode's length prefix for the `Vec<u8>` (252 and a `u32`).
fn bulk_header() -> [u8; 10] {
    let mut h = [0u8; 10];
    h[..4].copy_from_slice(&(1 + 5 + BULK as u32).to_le_bytes());
    h[4] = 1;
    h[5] = 252;
    h[6..].copy_from_slice(&(BULK as u32).to_le_bytes());
    h
}

fn raw_bulk_write(w: &mut impl Write, n: u64, item: &[u8]) {
    w.write_all(&[0u8; 16]).unwrap();
    let h = bulk_header();
    for _ in 0..n {
        w.write_all(&h).unwrap();
        w.write_all(item).unwrap();
    }
    w.write_all(&common::END).unwrap();
}

fn raw_bulk_read(r: &mut impl Read) {
    r.read_exact(&mut [0u8; 16]).unwrap();
    let mut body = vec![0u8; BULK + 6];
    let mut total = 0usize;
    loop {
        let mut len = [0u8; 4];
        r.read_exact(&mut len).unwrap();
        let len = u32::from_le_bytes(len) as usize;
        r.read_exact(&mut body[..len]).unwrap();
        if body[0] != 1 {
            break;
        }
        total += len;
    }
    black_box(total);
}

/// The items our producer sends and the far consumer hands back (the process
/// benchmark's recycling), so that no producer allocates in the steady state.
struct Recycle {
    pool: RefCell<Vec<Vec<u8>>>,
    back_tx: Mutex<mpsc::Sender<Vec<u8>>>,
    back_rx: mpsc::Receiver<Vec<u8>>,
}

impl Recycle {
    fn new() -> Recycle {
        const POOL: usize = 32;
        let (back_tx, back_rx) = mpsc::channel();
        Recycle {
            pool: RefCell::new((0..POOL).map(|_| vec![7u8; BULK]).collect()),
            back_tx: Mutex::new(back_tx),
            back_rx,
        }
    }

    /// An item to send: from the pool, or the next one handed back.
    fn next(&self) -> Vec<u8> {
        let v = self.pool.borrow_mut().pop();
        v.unwrap_or_else(|| self.back_rx.recv().unwrap())
    }

    /// Every item handed back so far, into the pool.
    fn collect(&self) {
        self.pool.borrow_mut().extend(self.back_rx.try_iter());
    }

    /// The far consumer: hands each item back.
    fn consumer(&self) -> HandBack {
        hand_back(&self.back_tx)
    }

    /// A factory of far consumers, for a server.
    fn factory(&self) -> impl Fn() -> HandBack + Send + Sync + 'static {
        let back = Mutex::new(self.back_tx.lock().unwrap().clone());
        move || hand_back(&back)
    }
}

/// A far consumer that hands each item back to the producer.
struct HandBack(mpsc::Sender<Vec<u8>>);

impl Consumer<Vec<u8>> for HandBack {
    fn send(&mut self, v: Vec<u8>) -> Result<(), SendError<Vec<u8>>> {
        let _ = self.0.send(v);
        Ok(())
    }
    fn close(&mut self) -> Result<(), Error> {
        Ok(())
    }
}

fn hand_back(back: &Mutex<mpsc::Sender<Vec<u8>>>) -> HandBack {
    HandBack(back.lock().unwrap().clone())
}

/// The raw loop's writer with the producer's work of ours: each item taken from
/// the pool, written (header, then the bytes), and dropped, as our `send` does.
fn raw_bulk_write_items(w: &mut impl Write, n: u64, recycle: &Recycle) {
    w.write_all(&[0u8; 16]).unwrap();
    let h = bulk_header();
    for _ in 0..n {
        let v = recycle.next();
        w.write_all(&h).unwrap();
        w.write_all(&v).unwrap();
    }
    w.write_all(&common::END).unwrap();
}

/// The raw loop's reader with the delivery of ours: each item's bytes read into a
/// vector of its own, which goes to a consumer (as our server's does: the consumer
/// owns what it is sent).
fn raw_bulk_read_items(r: &mut impl Read, mut to: HandBack) {
    r.read_exact(&mut [0u8; 16]).unwrap();
    loop {
        let mut head = [0u8; 5];
        r.read_exact(&mut head).unwrap();
        let len = u32::from_le_bytes(head[..4].try_into().unwrap()) as usize;
        if head[4] != 1 {
            r.read_exact(&mut vec![0u8; len - 1]).unwrap();
            break;
        }
        let mut count = [0u8; 5];
        r.read_exact(&mut count).unwrap();
        let mut v = vec![0u8; len - 6];
        r.read_exact(&mut v).unwrap();
        to.send(v).unwrap();
    }
    to.close().unwrap();
}

/// Our sender's loop: `n` items from the pool, then `close` (the far consumer has
/// every item when it returns).
fn ours_bulk(connector: &Connector, n: u64, recycle: &Recycle) -> Duration {
    let mut tx = connector.sender::<Vec<u8>>().unwrap();
    let t = Instant::now();
    for _ in 0..n {
        tx.send(recycle.next()).unwrap();
    }
    tx.close().unwrap();
    let elapsed = t.elapsed();
    recycle.collect();
    elapsed
}

fn bulk(ca: &str, chain: &str, key_pem: &str, raw: &Raw) {
    let key = AuthKey::generate().unwrap();
    let recycle = Recycle::new();
    let serving = Server::bind(&"127.0.0.1:0".parse().unwrap())
        .unwrap()
        .tls(ServerTls::from_pem(chain.as_bytes(), key_pem.as_bytes()).unwrap())
        .key(key.clone())
        .serve(recycle.factory())
        .unwrap();
    let connector = Connector::new(serving.local_addr().clone())
        .tls(
            ClientTls::from_ca(ca.as_bytes())
                .unwrap()
                .server_name("localhost")
                .unwrap(),
        )
        .key(key);
    // Both sides take the same items from the same pool, and the far side of
    // both hands them back to it.
    let raw_items = |n: u64| {
        let to = recycle.consumer();
        raw_run(
            raw.pair(),
            |w| raw_bulk_write_items(w, n, &recycle),
            move |r| raw_bulk_read_items(r, to),
        )
    };
    let item = vec![7u8; BULK];
    // The target row: ours against the raw loop that reads every item into one
    // buffer and delivers nothing (the process benchmark's raw pipe loop does the
    // same), so what our server's delivery costs counts against us.
    Compare::new("net/tls/bytes-64KiB")
        .unit(Unit::Bytes(BULK as u64))
        .work(4_000)
        .target(0.8)
        .run(
            |n| ours_bulk(&connector, n, &recycle),
            |n| {
                let item = item.clone();
                raw_run(
                    raw.pair(),
                    move |w| raw_bulk_write(w, n, &item),
                    raw_bulk_read,
                )
            },
        );
    if std::env::var("ONLY").as_deref() == Ok("target") {
        // The target row alone, for A/B runs of the server's receive path.
        serving.shutdown().unwrap();
        return;
    }
    // Diagnostic: ours against the raw loop that does our delivery too (a vector
    // per item to a consumer, items from the pool).
    Compare::new("net/tls/bytes-64KiB/vs-raw-with-delivery")
        .unit(Unit::Bytes(BULK as u64))
        .work(4_000)
        .run(
            |n| ours_bulk(&connector, n, &recycle),
            |n| {
                let t = raw_items(n);
                recycle.collect();
                t
            },
        );
    // Diagnostic: the raw loop with our delivery (a vector per item to a consumer,
    // items from the pool) against the raw loop that reads every item into one
    // buffer and delivers nothing: what owning each item costs by itself.
    Compare::new("net/tls/bytes-64KiB/raw-delivery-vs-raw")
        .unit(Unit::Bytes(BULK as u64))
        .work(4_000)
        .run(
            |n| {
                let t = raw_items(n);
                recycle.collect();
                t
            },
            |n| {
                let item = item.clone();
                raw_run(
                    raw.pair(),
                    move |w| raw_bulk_write(w, n, &item),
                    raw_bulk_read,
                )
            },
        );
    // Diagnostic: our TLS connection (`Connector::connect`, a `Conn`) under the raw
    // loop's `BufWriter`, against the raw loop itself: what our blocking TLS stream
    // costs by itself, without the sender, the server and the codec.
    Compare::new("net/tls/bytes-64KiB/our-conn-vs-raw")
        .unit(Unit::Bytes(BULK as u64))
        .work(4_000)
        .run(
            |n| {
                let item = item.clone();
                raw_run(
                    raw.pair_ours(ca),
                    move |w| raw_bulk_write(w, n, &item),
                    raw_bulk_read,
                )
            },
            |n| {
                let item = item.clone();
                raw_run(
                    raw.pair(),
                    move |w| raw_bulk_write(w, n, &item),
                    raw_bulk_read,
                )
            },
        );
    serving.shutdown().unwrap();
}

/// For comparison: the same 64 KiB items over plain TCP (ours with a key), against
/// the same raw loop (delivery included) on a plain TCP pair.
fn bulk_tcp() {
    let key = AuthKey::generate().unwrap();
    let recycle = Recycle::new();
    let serving = Server::bind(&"127.0.0.1:0".parse().unwrap())
        .unwrap()
        .key(key.clone())
        .serve(recycle.factory())
        .unwrap();
    let connector = Connector::new(serving.local_addr().clone()).key(key);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let pair = || {
        let c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let s = listener.accept().unwrap().0;
        c.set_nodelay(true).unwrap();
        s.set_nodelay(true).unwrap();
        (c, s)
    };
    Compare::new("net/tcp/bytes-64KiB")
        .unit(Unit::Bytes(BULK as u64))
        .work(4_000)
        .run(
            |n| ours_bulk(&connector, n, &recycle),
            |n| {
                let to = recycle.consumer();
                let t = raw_run(
                    pair(),
                    |w| raw_bulk_write_items(w, n, &recycle),
                    move |r| raw_bulk_read_items(r, to),
                );
                recycle.collect();
                t
            },
        );
    serving.shutdown().unwrap();
}

fn main() {
    // `ONLY=small|bulk|tcp` runs one group, when tuning; `ONLY=target` the 64 KiB
    // target row alone.
    let only = std::env::var("ONLY").ok();
    let (ca, chain, key) = pki();
    let raw = Raw::new(&ca, &chain, &key);
    if only.is_none() || only.as_deref() == Some("small") {
        small(&ca, &chain, &key, &raw);
    }
    if only.as_deref() != Some("small") && only.as_deref() != Some("tcp") {
        bulk(&ca, &chain, &key, &raw);
    }
    if only.is_none() || only.as_deref() == Some("tcp") {
        bulk_tcp();
    }
}
