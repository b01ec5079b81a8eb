//! Items of every shape arrive as they were sent, with either codec.

use std::collections::BTreeMap;

use consumer::Consumer;
use consumer_process::{Bincode, Codec, Postcard, Receiver, Sender};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Point,
    Circle { r: f64 },
    Polygon(Vec<(i32, i32)>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Nested {
    id: u128,
    name: String,
    tags: BTreeMap<String, Vec<Option<i64>>>,
    shapes: Vec<Shape>,
    blob: Vec<u8>,
    inner: Option<Box<Nested>>,
}

fn sample(depth: u32, blob: usize) -> Nested {
    Nested {
        id: u128::MAX - u128::from(depth),
        name: format!("level {depth} — ünïcode"),
        tags: (0..3)
            .map(|i| (format!("k{i}"), vec![Some(-i), None, Some(i64::MAX)]))
            .collect(),
        shapes: vec![
            Shape::Point,
            Shape::Circle { r: 1.5 },
            Shape::Polygon(vec![(0, 0), (1, -1)]),
        ],
        blob: (0..blob).map(|i| i as u8).collect(),
        inner: (depth > 0).then(|| Box::new(sample(depth - 1, 3))),
    }
}

fn round_trip<C: Codec>(codec: C, items: Vec<Nested>) {
    let bytes = crate::support::Bytes::default();
    let mut tx = Sender::with_codec(bytes.clone(), codec.clone());
    tx.send_all(items.clone()).expect("send");
    tx.close().expect("close");
    drop(tx);
    let bytes = bytes.take();
    let mut got = Vec::new();
    let n = Receiver::with_codec(&bytes[..], codec)
        .run::<Nested, _>(&mut got)
        .expect("receive");
    assert_eq!(n, items.len() as u64);
    assert_eq!(got, items);
}

#[test]
fn nested_types_round_trip_with_both_codecs() {
    let items: Vec<_> = (0..20).map(|d| sample(d % 5, d as usize)).collect();
    round_trip(Bincode, items.clone());
    round_trip(Postcard, items);
}

#[test]
fn large_items_round_trip_near_the_limit() {
    // Several batches' worth in one item, and a few of them.
    let items = vec![sample(2, 3 << 20), sample(0, 0), sample(1, 1 << 20)];
    round_trip(Bincode, items.clone());
    round_trip(Postcard, items);
}

#[test]
fn borrowed_and_unsized_looking_items_travel_as_owned() {
    let bytes = crate::support::Bytes::default();
    let mut tx = Sender::new(bytes.clone());
    tx.send("a str").expect("send");
    tx.close().expect("close");
    drop(tx);
    let bytes = bytes.take();
    let mut got: Vec<String> = Vec::new();
    // `&str` and `String` have one shape in the serde data model: one identity.
    Receiver::new(&bytes[..])
        .run::<String, _>(&mut got)
        .expect("run");
    assert_eq!(got, ["a str"]);
}

/// The byte-vector fast path writes exactly what serde would, and reads it back.
fn bytes_fast_path_matches_serde<C: Codec>(codec: C) {
    for len in [
        0usize,
        1,
        127,
        128,
        250,
        251,
        252,
        65_535,
        65_536,
        70_000,
        1 << 20,
    ] {
        let v: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        codec.encode_bytes(&v, &mut fast).unwrap();
        codec.encode(&v, &mut slow).unwrap();
        assert_eq!(fast, slow, "{} encodes {len} bytes differently", C::NAME);
        assert_eq!(codec.decode_bytes(&slow).unwrap(), v);
        assert_eq!(codec.decode::<Vec<u8>>(&fast).unwrap(), v);
        if len > 0 {
            let e = codec.decode_bytes(&fast[..fast.len() - 1]).unwrap_err();
            assert_eq!(e.kind(), consumer::ErrorKind::Protocol, "{e}");
        }
        fast.push(0);
        let e = codec.decode_bytes(&fast).unwrap_err();
        assert!(e.message().unwrap().contains("left over"), "{e}");
    }
    assert!(codec.decode_bytes(&[]).is_err());
}

#[test]
fn byte_vectors_take_a_fast_path_with_the_same_bytes() {
    bytes_fast_path_matches_serde(Bincode);
    bytes_fast_path_matches_serde(Postcard);
    assert!(Bincode.decode_bytes(&[254]).is_err());
    assert!(Postcard.decode_bytes(&[0xff; 11]).is_err());
}

#[test]
fn large_byte_vectors_stream_straight_into_their_items() {
    for codec_is_postcard in [false, true] {
        let (r, w) = std::io::pipe().unwrap();
        let items: Vec<Vec<u8>> = [0usize, 5, 20_000, 65_536, 1 << 20, 3, 300_000]
            .iter()
            .map(|&n| (0..n).map(|i| (i % 251) as u8).collect())
            .collect();
        let want = items.clone();
        let rx = std::thread::spawn(move || {
            let mut got = Vec::new();
            let n = if codec_is_postcard {
                Receiver::with_codec(r, Postcard).run::<Vec<u8>, _>(&mut got)
            } else {
                Receiver::new(r).run::<Vec<u8>, _>(&mut got)
            };
            n.map(|n| (n, got))
        });
        if codec_is_postcard {
            let mut tx = Sender::with_codec(w, Postcard);
            tx.send_all(items).unwrap();
            tx.close().unwrap();
        } else {
            let mut tx = Sender::new(w);
            for item in items {
                tx.send(item).unwrap();
            }
            tx.close().unwrap();
        }
        let (n, got) = rx.join().unwrap().unwrap();
        assert_eq!(n, want.len() as u64);
        assert!(
            got == want,
            "byte vectors differ (postcard: {codec_is_postcard})"
        );
    }
}
