//! Peers that do not follow the protocol. In every case the server refuses them after
//! a fixed, small read.

use std::io::{Read, Write};
use std::time::Duration;

use consumer::ErrorKind;
use consumer_auth::Auth;

use super::{key, server};

const HELLO: usize = 37;
const CHALLENGE: usize = 69;

/// The bytes an honest client sends, recorded by a relay between it and a server.
fn record_honest_client() -> (Vec<u8>, Vec<u8>) {
    let (mut to_server, s) = server(key(1), Duration::from_secs(10));
    let (mut client_end, mut relay) = std::os::unix::net::UnixStream::pair().unwrap();
    let c = std::thread::spawn(move || Auth::new(key(1)).connect(&mut client_end));
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
    c.join().unwrap().unwrap();
    s.join().unwrap().unwrap();
    (hello, proof)
}

#[test]
fn a_replayed_handshake_is_refused() {
    let (hello, proof) = record_honest_client();
    let (mut c, s) = server(key(1), Duration::from_secs(10));
    c.write_all(&hello).unwrap();
    let mut challenge = vec![0; CHALLENGE];
    c.read_exact(&mut challenge).unwrap();
    c.write_all(&proof).unwrap();
    let mut verdict = [9; 1];
    c.read_exact(&mut verdict).unwrap();
    assert_eq!(verdict, [0], "the server must say it rejected us");
    assert_eq!(s.join().unwrap().unwrap_err().kind(), ErrorKind::Auth);
}

#[test]
fn a_reflected_server_proof_is_refused() {
    let (mut c, s) = server(key(1), Duration::from_secs(10));
    let mut hello = b"CNSA\x01".to_vec();
    hello.extend_from_slice(&[7; 32]);
    c.write_all(&hello).unwrap();
    let mut challenge = vec![0; CHALLENGE];
    c.read_exact(&mut challenge).unwrap();
    // Send the server's own MAC back as our proof.
    c.write_all(&challenge[CHALLENGE - 32..]).unwrap();
    let e = s.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
}

#[test]
fn garbage_and_huge_messages_are_refused_after_a_fixed_small_read() {
    let (mut c, s) = server(key(1), Duration::from_secs(10));
    // A megabyte that starts like a huge length prefix: the server reads 37 bytes,
    // sees no magic, and stops. The write may fail once the server hangs up.
    let garbage = vec![0xff; 1 << 20];
    let writer = std::thread::spawn(move || c.write_all(&garbage));
    let e = s.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("bad magic"), "{e}");
    assert!(
        writer.join().unwrap().is_err(),
        "the server must not read the rest"
    );
}

#[test]
fn a_wrong_protocol_version_is_named() {
    let (mut c, s) = server(key(1), Duration::from_secs(10));
    let mut hello = b"CNSA\x63".to_vec();
    hello.extend_from_slice(&[0; 32]);
    c.write_all(&hello).unwrap();
    let e = s.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    assert!(e.to_string().contains("version 99"), "{e}");
}

#[test]
fn silent_and_trickling_peers_are_dropped_at_the_deadline() {
    let (_silent, s) = server(key(1), Duration::from_millis(100));
    assert_eq!(s.join().unwrap().unwrap_err().kind(), ErrorKind::Timeout);

    let (mut trickle, s) = server(key(1), Duration::from_millis(100));
    trickle.write_all(b"CNSA\x01").unwrap();
    assert_eq!(s.join().unwrap().unwrap_err().kind(), ErrorKind::Timeout);
}

#[test]
fn a_client_facing_an_impostor_server_refuses_it() {
    // The "server" answers with a well-formed challenge under the wrong key.
    let (mut c, mut impostor) = std::os::unix::net::UnixStream::pair().unwrap();
    let t = std::thread::spawn(move || Auth::new(key(2)).accept(&mut impostor));
    let e = Auth::new(key(1)).connect(&mut c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    drop(c);
    assert!(t.join().unwrap().is_err());
}
