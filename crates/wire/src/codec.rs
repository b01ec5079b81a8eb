//! The payload codec: how one item becomes bytes inside a frame, behind a small trait.

use std::fmt::Debug;

use consumer::{Error, ErrorKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Turns items into frame payloads and back: the swappable part of the wire format.
///
/// The frame layer around it already bounds every payload to the frame limit, and
/// decoding always works on one whole, already-read payload; so a codec never sees
/// more bytes than the limit and can never be asked to read past a frame.
///
/// Two codecs ship: [`Bincode`] (the default) and [`Postcard`]. Both ends of a
/// connection must use the same one; the handshake checks that. Why these two, and
/// what they cost, is in `docs/decisions/0005-wire-format.md`.
///
/// # Examples
///
/// ```
/// use consumer_wire::{Bincode, Codec, Postcard};
///
/// let mut bytes = Vec::new();
/// Postcard.encode(&(7u32, "seven"), &mut bytes)?;
/// let back: (u32, String) = Postcard.decode(&bytes)?;
/// assert_eq!(back, (7, "seven".to_owned()));
///
/// bytes.clear();
/// Bincode.encode(&vec![1u64, 2, 3], &mut bytes)?;
/// assert_eq!(Bincode.decode::<Vec<u64>>(&bytes)?, [1, 2, 3]);
/// # Ok::<(), consumer::Error>(())
/// ```
pub trait Codec: Debug + Clone + Send + Sync + 'static {
    /// The codec's number in the handshake; two codecs never share one.
    const ID: u8;
    /// The codec's name, for error messages.
    const NAME: &'static str;

    /// Appends the encoding of `item` to `out`.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) when the item cannot be encoded (a serde
    /// `Serialize` impl that fails, say).
    fn encode<T: Serialize + ?Sized>(&self, item: &T, out: &mut Vec<u8>) -> Result<(), Error>;

    /// Decodes one item from exactly `bytes`: trailing bytes are an error too.
    ///
    /// # Errors
    ///
    /// [`Protocol`](ErrorKind::Protocol) when the bytes are not an encoding of a `T`.
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error>;

    /// Appends the encoding of a byte vector: the same bytes as
    /// [`encode`](Codec::encode) of a `Vec<u8>`, without a serde call per byte. The
    /// sender uses it whenever the item type is `Vec<u8>`; a codec only needs to
    /// override it for speed.
    ///
    /// # Errors
    ///
    /// As [`encode`](Codec::encode).
    fn encode_bytes(&self, bytes: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        if self.bytes_header(bytes.len(), out) {
            out.extend_from_slice(bytes);
            return Ok(());
        }
        self.encode(bytes, out)
    }

    /// When this codec encodes a byte vector as a header followed by the bytes
    /// themselves (both shipped codecs do), appends the header for `len` bytes and
    /// returns `true`: the sender then writes large byte vectors without copying
    /// them. The default returns `false`.
    fn bytes_header(&self, len: usize, out: &mut Vec<u8>) -> bool {
        let _ = (len, out);
        false
    }

    /// Decodes a byte vector from exactly `bytes`: the inverse of
    /// [`encode_bytes`](Codec::encode_bytes).
    ///
    /// # Errors
    ///
    /// As [`decode`](Codec::decode).
    fn decode_bytes(&self, bytes: &[u8]) -> Result<Vec<u8>, Error> {
        match self.read_bytes_header(bytes) {
            None => self.decode(bytes),
            Some(Err(e)) => Err(e),
            Some(Ok((header, n))) => exact_bytes(Self::NAME, n, &bytes[header..]),
        }
    }

    /// The inverse of [`bytes_header`](Codec::bytes_header): from the start of a byte
    /// vector's encoding, the header's length and the number of bytes that follow
    /// it. `None` (the default) when this codec has no such header; an error when
    /// `bytes` do not start with a valid one. With it, the receiver reads a large
    /// byte vector straight from the stream into the item.
    fn read_bytes_header(&self, bytes: &[u8]) -> Option<Result<(usize, u64), Error>> {
        let _ = bytes;
        None
    }
}

/// The largest number of bytes bincode may claim while decoding one item. bincode's
/// own default has no limit; ours matches the largest frame the wire allows.
const BINCODE_LIMIT: usize = crate::frame::MAX_FRAME_CEILING as usize;

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<BINCODE_LIMIT>()
}

/// bincode 2.0.1 (standard configuration: little-endian, variable-length integers),
/// always decoding with a limit. The default codec.
///
/// ```
/// use consumer_wire::{Bincode, Codec};
///
/// let mut bytes = Vec::new();
/// Bincode.encode(&300u64, &mut bytes)?;
/// assert_eq!(bytes, [251, 44, 1]); // a varint: marker, then 300 little-endian
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Bincode;

/// bincode's writer straight onto the frame buffer, without the `io::Write` layer and
/// byte count of `encode_into_std_write`; the bytes are the same.
struct Append<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for Append<'_> {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// The error of an item the codec cannot encode; out of line.
#[cold]
#[inline(never)]
fn unencodable(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Usage, format!("cannot encode the item: {e}"))
}

impl Codec for Bincode {
    const ID: u8 = 1;
    const NAME: &'static str = "bincode";

    #[inline]
    fn encode<T: Serialize + ?Sized>(&self, item: &T, out: &mut Vec<u8>) -> Result<(), Error> {
        bincode::serde::encode_into_writer(item, Append(out), bincode_config()).map_err(unencodable)
    }

    /// A short item is decoded from a zero-padded copy of its bytes: bincode reads
    /// a variable-length integer in one step only when 9 bytes follow its start
    /// (else a byte at a time, out of line), and a `u64` over 250 takes 5 bytes. The
    /// copy's result is taken only when the decode used exactly the item's bytes —
    /// then it is the one the bytes alone give, since bincode's result depends only
    /// on the bytes it consumes; anything else (an error, a decode that reached into
    /// the padding or stopped short) is decoded again from the bytes alone, for the
    /// same outcome as without the copy.
    #[inline(always)]
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        if let Some(padded) = padded(bytes)
            && let Ok((item, used)) = bincode::serde::decode_from_slice(&padded, bincode_config())
            && used == bytes.len()
        {
            return Ok(item);
        }
        decode_exact(bytes)
    }

    fn bytes_header(&self, len: usize, out: &mut Vec<u8>) -> bool {
        // bincode's variable-length integer: one byte below 251, else a marker
        // (251, 252, 253 for 2, 4, 8 bytes) and the value, little-endian.
        let n = len as u64;
        if n < 251 {
            out.push(n as u8);
        } else if n <= u64::from(u16::MAX) {
            out.push(251);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        } else if n <= u64::from(u32::MAX) {
            out.push(252);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        } else {
            out.push(253);
            out.extend_from_slice(&n.to_le_bytes());
        }
        true
    }

    fn read_bytes_header(&self, bytes: &[u8]) -> Option<Result<(usize, u64), Error>> {
        let short = || undecodable(Self::NAME, "the byte string's length is cut short");
        let Some(&marker) = bytes.first() else {
            return Some(Err(short()));
        };
        let size = match marker {
            0..=250 => return Some(Ok((1, u64::from(marker)))),
            251 => 2,
            252 => 4,
            253 => 8,
            _ => {
                let e = undecodable(Self::NAME, format!("invalid length marker {marker}"));
                return Some(Err(e));
            }
        };
        let Some(field) = bytes.get(1..1 + size) else {
            return Some(Err(short()));
        };
        let mut v = [0u8; 8];
        v[..size].copy_from_slice(field);
        Some(Ok((1 + size, u64::from_le_bytes(v))))
    }
}

/// Decodes one item from exactly `bytes` with bincode, trailing bytes an error.
/// Out of line: [`Bincode::decode`] is forced in-line for the sake of short items,
/// and the general case need not be.
#[inline(never)]
fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let (item, used) = bincode::serde::decode_from_slice(bytes, bincode_config())
        .map_err(|e| undecodable(Bincode::NAME, e))?;
    trailing(Bincode::NAME, used, bytes.len())?;
    Ok(item)
}

/// Items shorter than this are decoded by [`Bincode`] from a zero-padded copy.
const PADDED: usize = 16;

/// `bytes` zero-padded to [`PADDED`], when there are fewer. Copied as two
/// overlapping words (the first and the last of the bytes), each one load and one
/// store: a copy of a length unknown at compile time is a call to `memcpy`, dearer
/// than the decode it serves.
#[inline(always)]
fn padded(bytes: &[u8]) -> Option<[u8; PADDED]> {
    let mut out = [0u8; PADDED];
    let n = bytes.len();
    if let (Some(head), Some(tail)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        if n >= PADDED {
            return None;
        }
        let (head, tail) = (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
        out[..8].copy_from_slice(&head.to_le_bytes());
        out[n - 8..n].copy_from_slice(&tail.to_le_bytes());
    } else if let (Some(head), Some(tail)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        let (head, tail) = (u32::from_le_bytes(*head), u32::from_le_bytes(*tail));
        out[..4].copy_from_slice(&head.to_le_bytes());
        out[n - 4..n].copy_from_slice(&tail.to_le_bytes());
    } else {
        // At most 3 bytes.
        for (o, b) in out.iter_mut().zip(bytes) {
            *o = *b;
        }
    }
    Some(out)
}

/// The byte string of length `n` that must fill `rest` exactly.
fn exact_bytes(codec: &str, n: u64, rest: &[u8]) -> Result<Vec<u8>, Error> {
    match usize::try_from(n) {
        Ok(n) if n == rest.len() => Ok(rest.to_vec()),
        Ok(n) if n < rest.len() => trailing(codec, n, rest.len()).map(|()| Vec::new()),
        _ => Err(undecodable(
            codec,
            format!("the byte string claims {n} bytes, {} are there", rest.len()),
        )),
    }
}

/// postcard 1 (variable-length integers, a maintained format with a written spec).
///
/// ```
/// use consumer_wire::{Codec, Postcard};
///
/// let mut bytes = Vec::new();
/// Postcard.encode(&300u64, &mut bytes)?;
/// assert_eq!(bytes, [0xac, 0x02]); // LEB128
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Postcard;

impl Codec for Postcard {
    const ID: u8 = 2;
    const NAME: &'static str = "postcard";

    fn encode<T: Serialize + ?Sized>(&self, item: &T, out: &mut Vec<u8>) -> Result<(), Error> {
        postcard::to_io(item, out)
            .map(drop)
            .map_err(|e| Error::new(ErrorKind::Usage, format!("cannot encode the item: {e}")))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        let (item, rest) =
            postcard::take_from_bytes(bytes).map_err(|e| undecodable(Self::NAME, e))?;
        trailing(Self::NAME, bytes.len() - rest.len(), bytes.len())?;
        Ok(item)
    }

    fn bytes_header(&self, len: usize, out: &mut Vec<u8>) -> bool {
        // LEB128: seven bits a byte, low first, the high bit saying "more".
        let mut n = len as u64;
        while n >= 0x80 {
            out.push((n as u8) | 0x80);
            n >>= 7;
        }
        out.push(n as u8);
        true
    }

    fn read_bytes_header(&self, bytes: &[u8]) -> Option<Result<(usize, u64), Error>> {
        let mut n: u64 = 0;
        for (i, &b) in bytes.iter().enumerate().take(10) {
            n |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Some(Ok((i + 1, n)));
            }
        }
        Some(Err(undecodable(Self::NAME, "bad length of a byte string")))
    }
}

#[cold]
fn undecodable(codec: &str, e: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::Protocol,
        format!("cannot decode the item with {codec}: {e}"),
    )
}

#[inline]
fn trailing(codec: &str, used: usize, len: usize) -> Result<(), Error> {
    if used == len {
        return Ok(());
    }
    leftover(codec, used, len)
}

#[cold]
fn leftover(codec: &str, used: usize, len: usize) -> Result<(), Error> {
    Err(Error::new(
        ErrorKind::Protocol,
        format!(
            "cannot decode the item with {codec}: {} bytes left over after the item",
            len - used
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // the fields are read by `Debug`
    enum Shape {
        Dot,
        Pair(u8, i16),
        Named { id: u64, on: bool },
    }

    /// Decoding `bytes` as a `T`: the padded path and the bytes alone agree, in the
    /// value or in the error.
    fn agree<T: DeserializeOwned + Debug>(bytes: &[u8]) {
        let show = |r: Result<T, Error>| r.map_err(|e| (e.kind(), e.to_string()));
        let (fast, exact) = (show(Bincode.decode(bytes)), show(decode_exact(bytes)));
        assert_eq!(format!("{fast:?}"), format!("{exact:?}"), "{bytes:?}");
    }

    fn agree_all(bytes: &[u8]) {
        agree::<u64>(bytes);
        agree::<i32>(bytes);
        agree::<u8>(bytes);
        agree::<(u8, u16, u32)>(bytes);
        agree::<(u64, u64)>(bytes);
        agree::<Option<u64>>(bytes);
        agree::<String>(bytes);
        agree::<Vec<u8>>(bytes);
        agree::<char>(bytes);
        agree::<bool>(bytes);
        agree::<f32>(bytes);
        agree::<std::num::NonZeroU8>(bytes);
        agree::<Shape>(bytes);
        agree::<()>(bytes);
    }

    #[test]
    fn short_items_decode_as_from_their_bytes_alone() {
        let mut b = Vec::new();
        for n in [0u64, 7, 250, 251, 300, 65_535, 65_536, 1 << 32, u64::MAX] {
            b.clear();
            Bincode.encode(&n, &mut b).unwrap();
            for cut in 0..=b.len() {
                agree_all(&b[..cut]);
            }
            b.push(0);
            agree_all(&b);
        }
        // A value whose decode runs into the padding is decoded from its bytes.
        assert!(Bincode.decode::<u64>(&[252, 1, 2]).is_err());
        assert!(Bincode.decode::<(u8, u8)>(&[1]).is_err());
        assert_eq!(Bincode.decode::<(u8, u8)>(&[1, 0]).unwrap(), (1, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

        #[test]
        fn random_short_bytes_decode_as_from_their_bytes_alone(
            bytes in proptest::collection::vec(any::<u8>(), 0..24),
        ) {
            agree_all(&bytes);
        }

        #[test]
        fn encoded_values_decode_as_from_their_bytes_alone(
            a in any::<u64>(), b in any::<u64>(), extra in 0usize..3,
        ) {
            let mut bytes = Vec::new();
            Bincode.encode(&(a, b), &mut bytes).unwrap();
            bytes.extend(std::iter::repeat_n(0u8, extra));
            agree_all(&bytes);
            let (x, y): (u64, u64) = Bincode.decode(&bytes[..bytes.len() - extra]).unwrap();
            prop_assert_eq!((x, y), (a, b));
        }
    }
}
