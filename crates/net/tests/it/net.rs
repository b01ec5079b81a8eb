//! Sockets: the suite over TCP and Unix sockets, fail-closed authentication, hostile
//! peers refused before any decoder runs, many clients at once.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::Duration;

use consumer::testing::{Item, Probe, Suite};
use consumer::{Consumer, ConsumerExt, Error, ErrorKind, Inline, SendError};
use consumer_net::{Address, Conn, Connector, PrivateDir, Server, Serving};
use consumer_process::Sender;

use consumer::testing::{Held, Holding};

use crate::support::{Forward, Guarded, PATIENCE, fails_at_three, key, keyed, loopback};

/// A sender to a server that feeds one probe, holding the server while any clone
/// lives.
type Remote = Forward<Conn, Holds>;

/// The server a [`Remote`] holds; dropped (shut down) with the last clone.
struct Holds(#[allow(dead_code, reason = "held for its drop")] Serving);

impl Held for Holds {}

/// Serves `probe` (to the first connection only) at `addr`, and connects to it.
fn remote(probe: Probe, server: Server, connector: impl Fn(&Address) -> Connector) -> Remote {
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
fn passes_the_suite_over_tcp_with_a_key() {
    Suite::new("process-tcp").run(|probe| {
        let server = keyed();
        remote(probe, server, |a| Connector::new(a.clone()).key(key(1)))
    });
}

#[test]
fn passes_the_suite_over_a_unix_socket() {
    let dir = PrivateDir::new("suite").unwrap();
    let n = AtomicU64::new(0);
    Suite::new("process-unix").run(|probe| {
        let path = dir.join(format!("s{}", n.fetch_add(1, Ordering::Relaxed)));
        let server = Server::bind(&Address::Unix(path)).unwrap();
        remote(probe, server, |a| Connector::new(a.clone()))
    });
}

#[test]
fn tcp_without_a_key_fails_closed_on_both_sides() {
    let e = Server::bind(&loopback())
        .unwrap()
        .serve(Vec::<u8>::new)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("without a key"), "{e}");

    let serving = keyed().serve(Vec::<u8>::new).unwrap();
    let e = Connector::new(serving.local_addr().clone())
        .sender::<u8>()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    serving.shutdown().unwrap();
}

#[test]
fn a_unix_socket_in_a_shared_directory_is_refused() {
    let e = Server::bind(&Address::Unix(
        std::env::temp_dir().join("consumer-shared.sock"),
    ))
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(e.to_string().contains("other users"), "{e}");
}

fn guarded(handshake_timeout: Duration) -> Guarded<Serving> {
    Guarded::start(handshake_timeout, |server, decoders| {
        server.serve(decoders).unwrap()
    })
}

impl Guarded<Serving> {
    /// An honest client still gets through, and its items reach a decoder.
    fn still_serves(&self) {
        self.still_serves_with(|connector| {
            let mut tx = connector.sender::<u64>().unwrap();
            tx.send_all([1, 2, 3]).unwrap();
            tx.close().unwrap();
        });
    }
}

#[test]
fn a_wrong_key_is_refused_and_logged_and_reaches_no_decoder() {
    let g = guarded(PATIENCE);
    let e = Connector::new(g.serving.local_addr().clone())
        .key(key(2))
        .sender::<u64>()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e:?}");
    // The client checks the server's proof first and hangs up on it, so the server
    // sees a peer that left during authentication.
    let logged = g.next_error();
    assert!(logged.to_string().contains("authentication"), "{logged}");
    assert!(!logged.to_string().contains('\n'), "one line: {logged}");
    assert_eq!(g.decoders.load(Ordering::SeqCst), 0);
    g.still_serves();
}

#[test]
fn garbage_and_a_huge_length_prefix_are_refused_before_any_decoder() {
    let g = guarded(PATIENCE);
    for junk in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n0123456789".to_vec(),
        [0xff; 4].iter().chain(&[0u8; 60]).copied().collect(),
    ] {
        let mut s = g.tcp();
        s.write_all(&junk).unwrap();
        let e = g.next_error();
        assert!(
            matches!(e.kind(), ErrorKind::Auth | ErrorKind::Protocol),
            "{e}"
        );
        // The server hung up on us.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    }
    assert_eq!(g.decoders.load(Ordering::SeqCst), 0);
    g.still_serves();
}

#[test]
fn a_silent_peer_is_dropped_at_the_auth_deadline() {
    let g = guarded(Duration::from_millis(200));
    g.drops_a_silent_peer();
}

const HELLO: usize = 37;
const CHALLENGE: usize = 69;

#[test]
fn a_replayed_handshake_and_a_reflected_challenge_reach_no_decoder() {
    let g = guarded(PATIENCE);
    // Record an honest client's handshake through a relay.
    let (mut client_end, mut relay) = std::os::unix::net::UnixStream::pair().unwrap();
    let honest = thread::spawn(move || consumer_auth::Auth::new(key(1)).connect(&mut client_end));
    let mut to_server = g.tcp();
    let mut hello = vec![0; HELLO];
    relay.read_exact(&mut hello).unwrap();
    to_server.write_all(&hello).unwrap();
    let mut challenge = vec![0; CHALLENGE];
    to_server.read_exact(&mut challenge).unwrap();
    relay.write_all(&challenge).unwrap();
    let mut proof = vec![0; 32];
    relay.read_exact(&mut proof).unwrap();
    to_server.write_all(&proof).unwrap();
    let mut verdict = [0; 1];
    to_server.read_exact(&mut verdict).unwrap();
    relay.write_all(&verdict).unwrap();
    honest.join().unwrap().unwrap();
    // The honest connection ends without a stream: that is the server's one decoder.
    drop(to_server);
    assert_eq!(g.next_error().kind(), ErrorKind::Disconnected);
    assert_eq!(g.decoders.load(Ordering::SeqCst), 1);

    // Replay: the same bytes on a new connection meet a new server nonce.
    let mut replay = g.tcp();
    replay.write_all(&hello).unwrap();
    replay.read_exact(&mut challenge).unwrap();
    replay.write_all(&proof).unwrap();
    assert_eq!(g.next_error().kind(), ErrorKind::Auth);

    // Reflection: send the server's own proof back as ours.
    let mut reflect = g.tcp();
    reflect.write_all(&hello).unwrap();
    reflect.read_exact(&mut challenge).unwrap();
    reflect.write_all(&challenge[CHALLENGE - 32..]).unwrap();
    assert_eq!(g.next_error().kind(), ErrorKind::Auth);

    assert_eq!(g.decoders.load(Ordering::SeqCst), 1);
    g.still_serves();
}

#[test]
fn bad_frames_after_authentication_are_logged_and_the_server_goes_on() {
    let g = guarded(PATIENCE);
    let mut conn = Connector::new(g.serving.local_addr().clone())
        .key(key(1))
        .connect()
        .unwrap();
    // A valid handshake for u64 items, then a frame that claims 4 GiB.
    let (mut r, w) = std::io::pipe().unwrap();
    Sender::new(w).send(1u64).unwrap();
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut bytes).unwrap();
    // Dropping the sender ended the stream: take its end frame off again.
    assert_eq!(bytes.split_off(bytes.len() - 5), [1, 0, 0, 0, 3]);
    bytes.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 1]);
    conn.write_all(&bytes).unwrap();
    let e = g.next_error();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("exceeds the frame limit"), "{e}");
    g.still_serves();
}

#[test]
fn many_clients_at_once_feed_one_shared_consumer_in_order() {
    const CLIENTS: u32 = 8;
    const ITEMS: u64 = 20_000;
    let dir = PrivateDir::new("many").unwrap();
    let addr = Address::Unix(dir.join("sock"));
    let mut next = vec![0u64; CLIENTS as usize];
    let check = consumer::try_from_fn(move |(c, seq): Item| {
        let want = &mut next[c as usize];
        if seq != *want {
            return Err(Error::new(
                ErrorKind::Other,
                format!("client {c}: got {seq}, expected {want}"),
            ));
        }
        *want += 1;
        Ok(())
    });
    let total = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&total);
    let serving = Server::bind(&addr)
        .unwrap()
        .serve_shared(check.inspect(move |_: &Item| {
            counted.fetch_add(1, Ordering::Relaxed);
        }))
        .unwrap();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let connector = Connector::new(addr.clone());
            thread::spawn(move || -> Result<(), Error> {
                let mut tx = connector.sender::<Item>()?;
                for seq in 0..ITEMS {
                    tx.send((c, seq)).map_err(SendError::into_error)?;
                }
                tx.close()
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap().unwrap();
    }
    assert_eq!(total.load(Ordering::Relaxed), u64::from(CLIENTS) * ITEMS);
    serving.shutdown().unwrap();
}

#[test]
fn shutdown_ends_open_connections_and_closes_the_shared_consumer() {
    let dir = PrivateDir::new("shutdown").unwrap();
    let addr = Address::Unix(dir.join("sock"));
    let shared = Inline::new(Vec::<u64>::new()).shared();
    let (arrived, signal) = mpsc::channel();
    let arrived = Mutex::new(arrived);
    let serving = Server::bind(&addr)
        .unwrap()
        .serve_shared(shared.clone().inspect(move |_: &u64| {
            let _ = arrived.lock().unwrap().send(());
        }))
        .unwrap();
    let mut tx = Connector::new(addr.clone()).sender::<u64>().unwrap();
    tx.send(7).unwrap();
    signal.recv_timeout(PATIENCE).expect("the item arrives");
    // Shut down with the connection still open: it must not hang.
    serving.shutdown().unwrap();
    assert!(shared.is_finished());
    assert_eq!(shared.with(Vec::clone), [7]);
    assert!(!addr_exists(&addr), "the socket file is removed");
    assert!(tx.close().is_err(), "the server ended the stream");
}

fn addr_exists(addr: &Address) -> bool {
    match addr {
        Address::Unix(p) => p.exists(),
        _ => false,
    }
}

#[test]
fn a_far_consumer_failure_comes_back_to_the_tcp_sender() {
    let serving = keyed().on_error(|_, _| {}).serve(fails_at_three).unwrap();
    let mut tx = Connector::new(serving.local_addr().clone())
        .key(key(1))
        .sender::<u64>()
        .unwrap();
    tx.send_all(1..=5).unwrap();
    let e = tx.close().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Other);
    assert_eq!(e.message(), Some("three is too many"));
    assert_eq!(e.undelivered(), Some(2));
    serving.shutdown().unwrap();
}
