//! A small item's frame in words holds exactly the bytes the byte buffer would:
//! `Encoder::item_small` against `Encoder::item`, over generated items of several
//! shapes, at and around the 16-byte limit.

use consumer_wire::{Bincode, Codec, Encoder, Identity, Postcard, SMALL_BODY, SmallBody};
use proptest::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
struct Order {
    id: u64,
    qty: u32,
    side: Side,
    note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
enum Side {
    Buy,
    Sell(i16),
}

/// The bytes of `item`'s frame both ways; `None` from the words when it does not
/// fit, and then the frame must be over the limit.
fn both_ways<T: Serialize + 'static>(item: &T) -> (Option<Vec<u8>>, Vec<u8>) {
    // The identity only shapes the handshake, not the frames.
    let mut enc = Encoder::new(Bincode, Identity::of::<u8>());
    // The handshake and the context frame first, as a sender's first write.
    enc.item(item).unwrap();
    enc.clear();
    let small = enc
        .item_small(item)
        .unwrap()
        .map(|frame| frame.to_bytes()[..frame.len()].to_vec());
    assert!(
        enc.buffer().is_empty(),
        "item_small leaves the buffer alone"
    );
    enc.item(item).unwrap();
    (small, enc.buffer().to_vec())
}

fn check<T: Serialize + 'static>(item: &T) -> Result<(), TestCaseError> {
    let (small, bytes) = both_ways(item);
    match small {
        Some(small) => prop_assert_eq!(small, bytes),
        None => prop_assert!(bytes.len() > 5 + SMALL_BODY, "{} bytes fit", bytes.len()),
    }
    Ok(())
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Buy), any::<i16>().prop_map(Side::Sell)]
}

proptest! {
    #[test]
    fn integers(x in any::<u64>(), y in any::<i64>(), z in any::<u128>()) {
        check(&x)?;
        check(&y)?;
        check(&z)?;
        check(&(x as u32, y as i16, x % 2 == 0))?;
    }

    #[test]
    fn strings_and_bytes(s in ".{0,20}", b in proptest::collection::vec(any::<u8>(), 0..24)) {
        check(&s)?;
        check(&b)?;
        check(&Some(s.len() as u16))?;
    }

    #[test]
    fn structs(id in any::<u64>(), qty in any::<u32>(), side in side(), note in proptest::option::of("[a-z]{0,6}")) {
        check(&Order { id, qty, side, note })?;
    }
}

#[test]
fn a_codec_without_the_path_says_so() {
    let mut body = SmallBody::default();
    assert!(!Postcard.encode_small(&1u8, &mut body).unwrap());
    assert!(body.is_empty());
}

#[test]
fn an_item_that_cannot_be_encoded_is_an_error_either_way() {
    struct Refuses;
    impl Serialize for Refuses {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no"))
        }
    }
    let mut enc = Encoder::new(Bincode, Identity::of::<u8>());
    enc.item(&1u8).unwrap();
    enc.clear();
    let e = enc.item_small(&Refuses).unwrap_err();
    assert_eq!(e.kind(), consumer::ErrorKind::Usage, "{e}");
}
