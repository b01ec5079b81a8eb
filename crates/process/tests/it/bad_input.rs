//! Every kind of bad input stops the receiver with a typed error naming the problem
//! and the frame: never a panic, an abort or an unbounded allocation.

use consumer::{Consumer, ErrorKind};
use consumer_process::{Postcard, Receiver, Sender};
use proptest::prelude::*;

/// A well-formed stream of `items`, closed.
fn stream(items: &[u64]) -> Vec<u8> {
    let bytes = crate::support::Bytes::default();
    let mut tx = Sender::new(bytes.clone());
    tx.send_all(items.iter().copied()).expect("send");
    tx.close().expect("close");
    drop(tx);
    bytes.take()
}

/// Runs a receiver of `u64`s over `bytes`; returns the error and what got through.
fn receive(bytes: &[u8]) -> (consumer::Error, Vec<u64>) {
    let mut got = Vec::new();
    let e = Receiver::new(bytes)
        .run::<u64, _>(&mut got)
        .expect_err("bad input must fail the run");
    (e, got)
}

/// The handshake's length at the front of a stream: 18 fixed bytes and the item
/// type's description.
fn hs(bytes: &[u8]) -> usize {
    consumer_wire::HANDSHAKE_LEN + usize::from(u16::from_le_bytes([bytes[16], bytes[17]]))
}

fn assert_protocol(e: &consumer::Error, words: &[&str]) {
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    let m = e.message().expect("a message");
    for w in words {
        assert!(m.contains(w), "`{m}` should mention `{w}`");
    }
}

#[test]
fn a_truncated_frame_names_the_frame() {
    let bytes = stream(&[1, 2, 3]);
    // Cut inside the last frame.
    let cut = &bytes[..bytes.len() - 7];
    let (e, got) = receive(cut);
    assert_protocol(&e, &["truncated"]);
    assert!(got.len() < 3);
    // Cut inside a length prefix.
    let (e, _) = receive(&bytes[..hs(&bytes) + 2]);
    assert_protocol(&e, &["frame 1", "length bytes"]);
}

#[test]
fn an_oversized_length_is_refused_before_allocating() {
    let mut bytes = stream(&[]);
    bytes.truncate(hs(&bytes)); // the handshake only
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.push(1);
    let (e, got) = receive(&bytes);
    assert_protocol(&e, &["frame 1", "4294967295", "limit"]);
    assert!(got.is_empty());
    // The limit is the receiver's to choose.
    let ok = stream(&[u64::MAX]);
    let e = Receiver::new(&ok[..])
        .max_frame(4)
        .run::<u64, _>(Vec::new())
        .unwrap_err();
    assert_protocol(&e, &["limit of 4"]);
}

#[test]
fn a_lying_length_costs_only_the_bytes_sent() {
    // 1 GiB announced (the ceiling), nine bytes sent: truncated, not an allocation.
    let mut bytes = stream(&[]);
    bytes.truncate(hs(&bytes));
    bytes.extend_from_slice(&(1u32 << 30).to_le_bytes());
    bytes.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0, 0]);
    let e = Receiver::new(&bytes[..])
        .max_frame(1 << 30)
        .run::<u64, _>(Vec::new())
        .unwrap_err();
    assert_protocol(&e, &["truncated", "9 of 1073741824"]);
}

#[test]
fn a_wrong_handshake_says_what_is_wrong() {
    let good = stream(&[1]);
    let mut magic = good.clone();
    magic[0] = b'X';
    assert_protocol(&receive(&magic).0, &["magic"]);
    let mut version = good.clone();
    version[4] = 9;
    assert_protocol(&receive(&version).0, &["version 9"]);
    let mut codec = good.clone();
    codec[6] = 2;
    assert_protocol(&receive(&codec).0, &["codec #2", "bincode"]);
    // Another tag, another type, another codec: refused before any item.
    let e = Receiver::new(&good[..])
        .identity(consumer_process::Identity::named("u64", 2))
        .run::<u64, _>(Vec::new())
        .unwrap_err();
    assert_protocol(&e, &["fingerprint", "u64 v2"]);
    let e = Receiver::new(&good[..])
        .run::<i64, _>(Vec::new())
        .unwrap_err();
    assert_protocol(
        &e,
        &[
            "the peer sends `u64`, this end expects `i64`",
            "fingerprint",
        ],
    );
    let e = Receiver::with_codec(&good[..], Postcard)
        .run::<u64, _>(Vec::new())
        .unwrap_err();
    assert_protocol(&e, &["codec #1", "postcard"]);
    // A short or empty stream.
    assert_protocol(&receive(&good[..10]).0, &["handshake", "10 of 18"]);
    assert_protocol(&receive(&good[..19]).0, &["handshake", "19 of 21"]);
    // An old peer (protocol 1) is told so, not left waiting.
    let mut old = good.clone();
    old[4] = 1;
    assert_protocol(&receive(&old[..8]).0, &["version 1, this end version 3"]);
    // A description longer than 1 KiB is refused from its length, before a wait.
    let mut long = good[..16].to_vec();
    long.extend_from_slice(&1025u16.to_le_bytes());
    assert_protocol(&receive(&long).0, &["description", "1025 bytes", "1024"]);
    assert_eq!(receive(&[]).0.kind(), ErrorKind::Disconnected);
}

#[test]
fn an_undecodable_payload_names_the_frame() {
    let mut bytes = stream(&[]);
    bytes.truncate(hs(&bytes));
    for payload in [&[7u8][..], &[0xff, 0xff][..]] {
        bytes.extend_from_slice(&(payload.len() as u32 + 1).to_le_bytes());
        bytes.push(1);
        bytes.extend_from_slice(payload);
    }
    let (e, got) = receive(&bytes);
    // Frame 1 (the byte 7) is a fine u64; frame 2 is not.
    assert_eq!(got, [7]);
    assert_protocol(&e, &["frame 2", "decode"]);
}

#[test]
fn unknown_frame_kinds_and_stray_reports_are_refused() {
    let mut bytes = stream(&[]);
    bytes.truncate(hs(&bytes));
    bytes.extend_from_slice(&[1, 0, 0, 0, 9]);
    assert_protocol(&receive(&bytes).0, &["frame 1", "unknown frame kind 9"]);
    bytes.truncate(hs(&bytes));
    bytes.extend_from_slice(&[0, 0, 0, 0]);
    assert_protocol(&receive(&bytes).0, &["frame 1", "length 0"]);
    bytes.truncate(hs(&bytes));
    bytes.extend_from_slice(&[9, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_protocol(&receive(&bytes).0, &["frame 1", "report"]);
}

#[test]
fn bad_input_still_closes_the_consumer() {
    struct Closes<'a>(&'a mut bool);
    impl Consumer<u64> for Closes<'_> {
        fn send(&mut self, _: u64) -> Result<(), consumer::SendError<u64>> {
            Ok(())
        }
        fn close(&mut self) -> Result<(), consumer::Error> {
            *self.0 = true;
            Ok(())
        }
    }
    let mut bytes = stream(&[5]);
    bytes.pop(); // cut the end frame's kind byte
    let mut closed = false;
    let e = Receiver::new(&bytes[..])
        .run::<u64, _>(Closes(&mut closed))
        .unwrap_err();
    assert_protocol(&e, &["truncated"]);
    assert!(closed);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Random bytes after a valid handshake: an error or a clean end, never a panic.
    #[test]
    fn random_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..256)) {
        let mut bytes = stream(&[]);
        bytes.truncate(hs(&bytes));
        bytes.extend_from_slice(&tail);
        let _ = Receiver::new(&bytes[..]).run::<(u8, String, Vec<u64>), _>(Vec::new());
    }

    /// Random bytes from the start, and a mutated valid stream.
    #[test]
    fn mutated_streams_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..64),
        flip in 0usize..64,
    ) {
        let _ = Receiver::new(&tail[..]).run::<u64, _>(Vec::new());
        let mut bytes = stream(&[1, 300, u64::MAX]);
        let i = flip % bytes.len();
        bytes[i] ^= 0x5a;
        let _ = Receiver::new(&bytes[..]).run::<u64, _>(Vec::new());
    }
}

/// A well-formed stream of byte vectors.
fn byte_stream(items: &[usize]) -> Vec<u8> {
    let bytes = crate::support::Bytes::default();
    let mut tx = Sender::new(bytes.clone());
    tx.send_all(items.iter().map(|&n| vec![9u8; n]))
        .expect("send");
    tx.close().expect("close");
    drop(tx);
    bytes.take()
}

#[test]
fn a_large_byte_vector_cut_short_names_the_frame() {
    let bytes = byte_stream(&[100_000, 100_000]);
    let cut = &bytes[..bytes.len() - 1_000];
    let mut got: Vec<Vec<u8>> = Vec::new();
    let e = Receiver::new(cut).run::<Vec<u8>, _>(&mut got).unwrap_err();
    // Frame 1 is the sender's trace context, frame 2 the first item.
    assert_protocol(&e, &["frame 3", "truncated"]);
    assert_eq!(got.len(), 1);
}

#[test]
fn a_byte_count_that_disagrees_with_the_frame_is_refused() {
    let mut bytes = byte_stream(&[100_000]);
    // The item's frame follows the handshake and the context frame (41 bytes):
    // length (4), kind (1), then bincode's marker 252 and a u32 count.
    let at = hs(&bytes) + 41 + 5;
    assert_eq!(bytes[at], 252);
    bytes[at + 1] ^= 1;
    let e = Receiver::new(&bytes[..])
        .run::<Vec<u8>, _>(Vec::new())
        .unwrap_err();
    assert_protocol(&e, &["frame 2", "decode"]);
}
