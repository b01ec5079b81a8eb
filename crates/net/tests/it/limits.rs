//! The server's limits and deadlines, each proved with small counts and short
//! configured deadlines, waiting on real signals (the server's error reports, a
//! hang-up seen by the peer), never on a sleep.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use consumer::{Client, Consumer, Error, ErrorKind, serve};
use consumer_auth::Auth;
use consumer_net::{Address, Connector, PrivateDir, Server, Serving};
use consumer_wire::{Bincode, Encoder, Identity};

use crate::support::{PATIENCE, key, keyed, rt};

/// A keyed TCP server whose failures and refusals come out of a channel.
fn reporting(server: Server) -> (Server, mpsc::Receiver<Error>) {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = server.on_error(move |_, e| {
        let _ = tx.lock().unwrap().send(e.clone());
    });
    (server, rx)
}

fn next(errors: &mpsc::Receiver<Error>) -> Error {
    errors.recv_timeout(PATIENCE).expect("a reported failure")
}

fn tcp(serving: &Serving) -> TcpStream {
    match serving.local_addr() {
        Address::Tcp(a) => TcpStream::connect(a.as_str()).unwrap(),
        other => panic!("{other}"),
    }
}

/// A connection the server has already hung up on: the next read ends it.
fn hung_up(mut s: TcpStream) {
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut rest = Vec::new();
    // A clean end or a reset: either way not a timeout.
    if let Err(e) = s.read_to_end(&mut rest) {
        assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "still open");
    }
}

fn authenticated(serving: &Serving) -> TcpStream {
    let mut s = tcp(serving);
    Auth::new(key(1)).connect(&mut s).unwrap();
    s
}

#[test]
fn beyond_the_unauthenticated_limit_new_peers_are_refused_and_the_established_served() {
    let (server, errors) = reporting(keyed().max_unauthenticated(2).handshake_timeout(PATIENCE));
    let serving = server.serve(Vec::<u64>::new).unwrap();
    let mut established = Connector::new(serving.local_addr().clone())
        .key(key(1))
        .sender::<u64>()
        .unwrap();
    established.send(1).unwrap();
    let silent = [tcp(&serving), tcp(&serving)];
    let refused = tcp(&serving);
    let e = next(&errors);
    assert_eq!(e.kind(), ErrorKind::Full, "{e}");
    assert!(e.to_string().contains("authenticating"), "{e}");
    hung_up(refused);
    established.send(2).unwrap();
    established.close().unwrap();
    let stats = serving.stats();
    assert_eq!((stats.refused, stats.authenticated), (1, 1));
    drop(silent);
    serving.shutdown().unwrap();
}

#[test]
fn beyond_the_connection_limit_new_peers_are_refused_at_once() {
    let (server, errors) = reporting(keyed().max_connections(2).handshake_timeout(PATIENCE));
    let serving = server.serve(Vec::<u64>::new).unwrap();
    let mut established = Connector::new(serving.local_addr().clone())
        .key(key(1))
        .sender::<u64>()
        .unwrap();
    let _silent = tcp(&serving);
    let refused = tcp(&serving);
    let e = next(&errors);
    assert_eq!(e.kind(), ErrorKind::Full, "{e}");
    assert!(e.to_string().contains("2 connections open"), "{e}");
    hung_up(refused);
    established.send(7).unwrap();
    established.close().unwrap();
    assert_eq!(serving.stats().refused, 1);
    serving.shutdown().unwrap();
}

#[test]
fn a_trickling_hello_is_dropped_at_the_deadline_of_the_whole_handshake() {
    let (server, errors) = reporting(keyed().handshake_timeout(Duration::from_millis(300)));
    let serving = server.serve(Vec::<u64>::new).unwrap();
    let mut trickle = tcp(&serving);
    // One byte of the 37-byte hello at a time, paced by the wait for the verdict:
    // a per-read deadline would let this go on for the whole hello.
    let mut sent = 0;
    let e = loop {
        if trickle.write_all(b"C").is_ok() {
            sent += 1;
        }
        match errors.recv_timeout(Duration::from_millis(50)) {
            Ok(e) => break e,
            Err(mpsc::RecvTimeoutError::Timeout) => assert!(sent < 37, "never dropped"),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("within 300ms"), "{e}");
    assert!(sent < 37, "the whole hello went through: {sent} bytes");
    hung_up(trickle);
    assert_eq!(serving.stats().handshake_failures, 1);
    serving.shutdown().unwrap();
}

#[test]
fn a_silent_authenticated_peer_is_dropped_at_the_idle_deadline() {
    let (server, errors) = reporting(keyed().idle_timeout(Some(Duration::from_millis(200))));
    let made = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&made);
    let serving = server
        .serve(move || {
            count.fetch_add(1, Ordering::SeqCst);
            Vec::<u64>::new()
        })
        .unwrap();
    let silent = authenticated(&serving);
    let e = next(&errors);
    assert!(e.to_string().contains("idle deadline"), "{e}");
    hung_up(silent);
    let stats = serving.stats();
    assert_eq!((stats.idle_drops, stats.authenticated), (1, 1));
    // It said nothing: no decoder, no consumer was made for it.
    assert_eq!(made.load(Ordering::SeqCst), 0);
    serving.shutdown().unwrap();
}

#[test]
fn a_peer_that_announces_a_large_frame_and_stops_is_dropped_at_the_idle_deadline() {
    let (server, errors) = reporting(keyed().idle_timeout(Some(Duration::from_millis(200))));
    let serving = server.serve(Vec::<Vec<u8>>::new).unwrap();
    let mut s = authenticated(&serving);
    let mut enc = Encoder::new(Bincode, Identity::of::<Vec<u8>>());
    assert!(enc.bytes_header((4 << 20) - 64).unwrap());
    s.write_all(enc.buffer()).unwrap();
    let e = next(&errors);
    assert!(e.to_string().contains("idle deadline"), "{e}");
    hung_up(s);
    assert_eq!(serving.stats().idle_drops, 1);
    serving.shutdown().unwrap();
}

#[test]
fn the_async_api_has_the_same_idle_deadline() {
    let rt = rt();
    let (server, errors) = reporting(keyed().idle_timeout(Some(Duration::from_millis(200))));
    let serving = {
        let _in = rt.enter();
        server.serve_async(Vec::<u64>::new).unwrap()
    };
    let mut silent = match serving.local_addr() {
        Address::Tcp(a) => TcpStream::connect(a.as_str()).unwrap(),
        other => panic!("{other}"),
    };
    Auth::new(key(1)).connect(&mut silent).unwrap();
    let e = next(&errors);
    assert!(e.to_string().contains("idle deadline"), "{e}");
    hung_up(silent);
    assert_eq!(serving.stats().idle_drops, 1);
    rt.block_on(serving.shutdown()).unwrap();
}

/// Replies of 64 KiB the kernel's socket buffers can hold on loopback (generous:
/// 16 MiB), besides the ones the server holds.
const IN_SOCKETS: u64 = 256;

#[test]
fn a_client_that_never_reads_its_replies_is_held_at_its_bound_alone() {
    let served = Arc::new(AtomicU64::new(0));
    let (called, calls) = mpsc::channel::<()>();
    let called = Mutex::new(called);
    let count = Arc::clone(&served);
    let serving = keyed()
        .max_in_flight(4)
        .serve_requests(move || {
            let count = Arc::clone(&count);
            let called = called.lock().unwrap().clone();
            serve(move |n: u64| {
                count.fetch_add(1, Ordering::SeqCst);
                let _ = called.send(());
                vec![n as u8; 64 << 10]
            })
        })
        .unwrap();
    // A client that writes requests and never reads: its writes block once the
    // server stops reading it.
    let greedy = authenticated(&serving);
    let greedy_read = greedy.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let mut requests = consumer_process::Sender::<(u64, u64), _>::new(greedy);
        for id in 0..1_000_000u64 {
            if requests.send((id, id)).is_err() {
                break;
            }
        }
    });
    // Quiet: no call for a while means the server holds the client.
    while calls.recv_timeout(Duration::from_millis(300)).is_ok() {}
    let held = served.load(Ordering::SeqCst);
    assert!(
        held <= 4 + IN_SOCKETS,
        "{held} requests served to a client that reads nothing"
    );
    // Another client is served meanwhile.
    let mut other = Client::new(
        Connector::new(serving.local_addr().clone())
            .key(key(1))
            .client::<u64, Vec<u8>>()
            .unwrap(),
    );
    assert_eq!(other.call(9).unwrap().len(), 64 << 10);
    other.close().unwrap();
    drop(greedy_read);
    serving.shutdown().unwrap();
    writer.join().unwrap();
}

#[test]
fn a_reply_too_large_for_a_frame_fails_its_call_and_the_connection_lives_on() {
    let big = |n: u64| vec![1u8; if n == 1 { 5 << 20 } else { 8 }];
    let check = |remote: consumer_process::Remote<u64, Vec<u8>>| {
        let mut client = Client::new(remote);
        let e = client.call(1).unwrap_err();
        assert_eq!(e.error().kind(), ErrorKind::Protocol, "{e}");
        assert!(e.to_string().contains("the reply could not be sent"), "{e}");
        assert_eq!(client.call(2).unwrap(), vec![1u8; 8]);
        client.close().unwrap();
    };
    // The one server, through the blocking API and the async one.
    let serving = keyed().serve_requests(move || serve(big)).unwrap();
    check(
        Connector::new(serving.local_addr().clone())
            .key(key(1))
            .client()
            .unwrap(),
    );
    serving.shutdown().unwrap();
    let rt = rt();
    let serving = {
        let _in = rt.enter();
        keyed().serve_requests_async(move || serve(big)).unwrap()
    };
    check(
        Connector::new(serving.local_addr().clone())
            .key(key(1))
            .client()
            .unwrap(),
    );
    rt.block_on(serving.shutdown()).unwrap();
    // And the blocking `serve_requests` over any two streams.
    let (here, there) = std::os::unix::net::UnixStream::pair().unwrap();
    let far = std::thread::spawn(move || {
        consumer_process::serve_requests(there.try_clone().unwrap(), there, serve(big))
    });
    check(consumer_process::Remote::over(here.try_clone().unwrap(), here).unwrap());
    assert_eq!(far.join().unwrap().unwrap(), 2);
}

#[test]
fn bind_replaces_a_stale_socket_and_refuses_anything_else() {
    let dir = PrivateDir::new("net-bind").unwrap();
    // A socket file no one listens on any more.
    let stale = dir.join("stale");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    let serving = Server::bind(&Address::Unix(stale.clone()))
        .unwrap()
        .serve(Vec::<u8>::new)
        .unwrap();
    // A socket someone listens on.
    let e = Server::bind(&Address::Unix(stale.clone())).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains("someone listens"), "{e}");
    serving.shutdown().unwrap();
    // A regular file and a directory are left alone.
    let file = dir.join("file");
    std::fs::write(&file, "data").unwrap();
    let sub = dir.join("sub");
    std::fs::create_dir(&sub).unwrap();
    for path in [file.clone(), sub.clone()] {
        let e = Server::bind(&Address::Unix(path)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "data");
    assert!(sub.is_dir());
}

#[test]
fn a_wrong_key_counts_as_a_handshake_failure() {
    let (server, errors) = reporting(keyed());
    let serving = server.serve(Vec::<u64>::new).unwrap();
    let wrong = Connector::new(serving.local_addr().clone())
        .key(key(2))
        .sender::<u64>();
    assert!(wrong.is_err());
    // Refused by the client (the server proves the wrong key) or by the server.
    let e = next(&errors);
    assert!(
        matches!(e.kind(), ErrorKind::Auth | ErrorKind::Disconnected),
        "{e}"
    );
    let stats = serving.stats();
    assert_eq!((stats.handshake_failures, stats.authenticated), (1, 0));
    serving.shutdown().unwrap();
}

#[test]
fn call_timeout_bounds_a_request_write_blocked_by_a_service_that_stopped_reading() {
    // The service keeps every request unanswered; with one in flight the server
    // stops reading, and the client's writes fill the socket.
    let serving = keyed()
        .max_in_flight(1)
        .serve_requests(Vec::<consumer::Request<Vec<u8>, u8>>::new)
        .unwrap();
    let mut client = Client::new(
        Connector::new(serving.local_addr().clone())
            .key(key(1))
            .client::<Vec<u8>, u8>()
            .unwrap(),
    );
    let patience = Duration::from_millis(100);
    let mut blocked = None;
    for _ in 0..200 {
        let e = client
            .call_timeout(vec![0u8; 1 << 20], patience)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        // Said by the writer ("still being written") or, when the reader sees the
        // connection end first, by the reader ("was being written").
        if e.to_string().contains("being written") {
            blocked = Some(e);
            break;
        }
    }
    assert!(blocked.is_some(), "no call's write ever blocked");
    // The connection was ended: the next call fails at once, its body handed back.
    let e = client.call_timeout(vec![1u8; 4], patience).unwrap_err();
    assert_eq!(e.into_item(), Some(vec![1u8; 4]));
    let _ = client.close();
    serving.shutdown().unwrap();
}
