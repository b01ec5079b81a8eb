//! The payload codec: how one item becomes bytes inside a frame, behind a small trait.

use std::fmt::Debug;

use consumer::{Error, ErrorKind};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::SmallBody;

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

    /// Encodes `item` into the lanes of `out` when the encoding fits
    /// ([`SMALL_BODY`](crate::SMALL_BODY) bytes): `Ok(false)` when it does not, or
    /// when the codec has no such path (the default); `out` is then to be
    /// dropped. The bytes are those of [`encode`](Codec::encode). A sender uses it
    /// for small items, which then never pass through a byte buffer.
    ///
    /// # Errors
    ///
    /// As [`encode`](Codec::encode).
    ///
    /// ```
    /// use consumer_wire::{Bincode, Codec, SmallBody};
    ///
    /// let mut body = SmallBody::default();
    /// assert!(Bincode.encode_small(&300u64, &mut body)?);
    /// assert_eq!(body.len(), 3); // [251, 44, 1]
    /// assert!(!Bincode.encode_small(&[300u64; 8], &mut SmallBody::default())?, "24 bytes");
    /// # Ok::<(), consumer::Error>(())
    /// ```
    fn encode_small<T: Serialize + ?Sized>(
        &self,
        item: &T,
        out: &mut SmallBody,
    ) -> Result<bool, Error> {
        let _ = (item, out);
        Ok(false)
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

/// bincode's writer into the lanes of a [`SmallBody`]: out of room is bincode's
/// `UnexpectedEnd`, which no `Serialize` impl can raise.
struct Lanes<'a>(&'a mut SmallBody);

impl bincode::enc::write::Writer for Lanes<'_> {
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        if self.0.push(bytes) {
            Ok(())
        } else {
            Err(bincode::error::EncodeError::UnexpectedEnd)
        }
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

    #[inline]
    fn encode_small<T: Serialize + ?Sized>(
        &self,
        item: &T,
        out: &mut SmallBody,
    ) -> Result<bool, Error> {
        match bincode::serde::encode_into_writer(item, Lanes(out), bincode_config()) {
            Ok(()) => Ok(true),
            Err(bincode::error::EncodeError::UnexpectedEnd) => Ok(false),
            Err(e) => Err(unencodable(e)),
        }
    }

    #[inline]
    fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T, Error> {
        let (item, used) = bincode::serde::decode_from_slice(bytes, bincode_config())
            .map_err(|e| undecodable(Self::NAME, e))?;
        trailing(Self::NAME, used, bytes.len())?;
        Ok(item)
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
