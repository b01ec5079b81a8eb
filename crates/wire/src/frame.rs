//! The frame layer: handshake, length-prefixed frames, the receiver's report.
//!
//! ```text
//! handshake (once): "CnSm" | version u16 (3) | codec u8 | flags u8 | fingerprint u64
//!                     | description length u16 (at most 1024) | description (UTF-8)
//! frame:              length u32 | kind u8 | body (length - 1 bytes)
//!   kind 1 Item      body = the codec's encoding of one item
//!   kind 2 Context   body = sender pid u32 | stream u64 | trace id u128 | span id u64 (0: none)
//!   kind 3 End       body = empty: the sender closed
//!   kind 4 Report    body = items received u64 | status u8 | message (UTF-8)
//! ```
//!
//! All integers little-endian. Kinds 5 and up are reserved (request/reply needs none:
//! it is two item streams, see `remote.rs`); a peer that receives an unknown kind
//! stops with a protocol error. The length is checked against the limit before
//! anything is allocated, and a body is read in pieces as it arrives, so a lying
//! length costs at most the bytes actually sent.
//!
//! Everything here is sans-I/O: bytes in, bytes out.

use consumer::{Error, ErrorKind};

use crate::context::Context;

/// The first four bytes of every connection.
pub(crate) const MAGIC: [u8; 4] = *b"CnSm";
/// The wire protocol's version; a peer speaking another one is refused. Version 2
/// added the item type's description to the handshake; version 3 the trace
/// context's stream and trace id (`context.rs`).
pub(crate) const VERSION: u16 = 3;
/// The handshake's fixed part in bytes; the item type's description follows it.
///
/// ```
/// assert_eq!(consumer_wire::HANDSHAKE_LEN, 18);
/// ```
pub const HANDSHAKE_LEN: usize = 18;
/// The longest item type description a handshake carries, in bytes: a sender cuts
/// a longer one, a receiver refuses a longer length before it waits for the bytes.
///
/// ```
/// assert_eq!(consumer_wire::DESCRIPTION_MAX, 1024);
/// ```
pub const DESCRIPTION_MAX: usize = 1024;
/// Handshake flag: the sender waits for a report frame at the end of the stream.
pub const FLAG_REPORT: u8 = 1;

/// The default largest frame: 4 MiB. Change it per end with
/// the sender and
/// the receiver.
///
/// ```
/// assert_eq!(consumer_wire::DEFAULT_MAX_FRAME, 4 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_FRAME: u32 = 4 << 20;

/// The largest frame limit one may configure: 1 GiB. Larger limits are lowered to it.
///
/// ```
/// assert_eq!(consumer_wire::MAX_FRAME_CEILING, 1 << 30);
/// ```
pub const MAX_FRAME_CEILING: u32 = 1 << 30;

/// What a frame carries: the kind byte after the length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Item = 1,
    Context = 2,
    End = 3,
    Report = 4,
}

impl Kind {
    fn from_u8(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Item,
            2 => Kind::Context,
            3 => Kind::End,
            4 => Kind::Report,
            _ => return None,
        })
    }
}

/// A 64-bit FNV-1a hash: stable across builds and platforms, unlike `std`'s hasher.
pub(crate) fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// What a connection opens with: the codec, the flags, the item type's fingerprint
/// and its description (for the refusal's message).
///
/// ```
/// use consumer_wire::{Bincode, Codec, Handshake, Identity};
///
/// let id = Identity::of::<u32>();
/// let hs = Handshake::new(Bincode::ID, 0, &id);
/// let (back, len) = Handshake::parse(&hs.encode())?.expect("all bytes are in");
/// assert_eq!((&back, len), (&hs, hs.encode().len()));
/// back.check((Bincode::ID, Bincode::NAME), &id)?;
/// assert!(back.check((Bincode::ID, Bincode::NAME), &Identity::of::<u64>()).is_err());
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// The codec's [`ID`](crate::Codec::ID).
    pub codec: u8,
    /// [`FLAG_REPORT`] when the sender waits for a report.
    pub flags: u8,
    /// The item type's [`Identity::fingerprint`](crate::Identity::fingerprint).
    pub fingerprint: u64,
    /// The item type's [`Identity::description`](crate::Identity::description), at
    /// most [`DESCRIPTION_MAX`] bytes (cut, and marked `…`, by the sender).
    pub description: String,
}

impl Handshake {
    /// The handshake a sender of items of the type `identity` names opens with.
    ///
    /// ```
    /// let hs = consumer_wire::Handshake::new(1, 0, &consumer_wire::Identity::named("n", 1));
    /// assert_eq!(hs.description, "n v1");
    /// ```
    pub fn new(codec: u8, flags: u8, identity: &crate::Identity) -> Handshake {
        let mut description = identity.description().to_owned();
        if description.len() > DESCRIPTION_MAX {
            description.truncate(floor_char_boundary(&description, DESCRIPTION_MAX - 3));
            description.push('…');
        }
        Handshake {
            codec,
            flags,
            fingerprint: identity.fingerprint(),
            description,
        }
    }

    /// The handshake's bytes.
    ///
    /// ```
    /// let hs = consumer_wire::Handshake::new(1, 0, &consumer_wire::Identity::named("n", 1));
    /// assert_eq!(hs.encode().len(), consumer_wire::HANDSHAKE_LEN + 4);
    /// ```
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(HANDSHAKE_LEN + self.description.len());
        self.encode_into(&mut b);
        b
    }

    /// Appends the handshake's bytes to `buf`.
    pub(crate) fn encode_into(&self, b: &mut Vec<u8>) {
        // `new` cut it; a hand-made one is cut here, at a byte: the length is protocol.
        let description =
            &self.description.as_bytes()[..self.description.len().min(DESCRIPTION_MAX)];
        b.extend_from_slice(&MAGIC);
        b.extend_from_slice(&VERSION.to_le_bytes());
        b.push(self.codec);
        b.push(self.flags);
        b.extend_from_slice(&self.fingerprint.to_le_bytes());
        b.extend_from_slice(&(description.len() as u16).to_le_bytes());
        b.extend_from_slice(description);
    }

    /// Parses a handshake at the front of `b`: `None` until all of it is there,
    /// else the handshake and its length in bytes. The magic and the version are
    /// checked as soon as their bytes are in, the description's length before
    /// anything waits for it.
    ///
    /// # Errors
    ///
    /// [`Protocol`](ErrorKind::Protocol): not this protocol, another version, a
    /// description longer than [`DESCRIPTION_MAX`].
    ///
    /// ```
    /// use consumer_wire::Handshake;
    ///
    /// assert!(Handshake::parse(b"CnSm")?.is_none());
    /// assert!(Handshake::parse(b"HTTP/1.1").is_err());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn parse(b: &[u8]) -> Result<Option<(Handshake, usize)>, Error> {
        let magic = &b[..b.len().min(4)];
        if magic != &MAGIC[..magic.len()] {
            return Err(protocol(format!(
                "handshake: bad magic {magic:02x?} (expected {:02x?}): the peer does not speak this protocol",
                MAGIC
            )));
        }
        if let Some(v) = b.get(4..6) {
            let version = u16::from_le_bytes([v[0], v[1]]);
            if version != VERSION {
                return Err(protocol(format!(
                    "handshake: the peer speaks protocol version {version}, this end version {VERSION}"
                )));
            }
        }
        let Some(head) = b.first_chunk::<HANDSHAKE_LEN>() else {
            return Ok(None);
        };
        let len = usize::from(u16::from_le_bytes([head[16], head[17]]));
        if len > DESCRIPTION_MAX {
            return Err(protocol(format!(
                "handshake: the item type's description takes {len} bytes, more than {DESCRIPTION_MAX}"
            )));
        }
        let Some(description) = b.get(HANDSHAKE_LEN..HANDSHAKE_LEN + len) else {
            return Ok(None);
        };
        let hs = Handshake {
            codec: head[6],
            flags: head[7],
            fingerprint: u64::from_le_bytes(head[8..16].try_into().expect("8 bytes")),
            description: String::from_utf8_lossy(description).into_owned(),
        };
        Ok(Some((hs, HANDSHAKE_LEN + len)))
    }

    /// Checks a peer's handshake against what this end expects: the codec
    /// `(id, name)` and the item type's identity.
    ///
    /// # Errors
    ///
    /// [`Protocol`](ErrorKind::Protocol), saying what differs; for another item
    /// type, both sides' descriptions, and the likely fix when they differ only in
    /// number types (an unsuffixed literal is an `i32`):
    ///
    /// ```
    /// use consumer_wire::{Handshake, Identity};
    ///
    /// let peer = Handshake::new(1, 0, &Identity::of::<i32>());
    /// let e = peer.check((1, "bincode"), &Identity::of::<u32>()).unwrap_err();
    /// assert!(e.to_string().contains("the peer sends `i32`, this end expects `u32`"));
    /// assert!(e.to_string().contains("write `1u32` (or annotate the type)"));
    /// ```
    pub fn check(&self, codec: (u8, &str), identity: &crate::Identity) -> Result<(), Error> {
        if self.codec != codec.0 {
            return Err(protocol(format!(
                "handshake: the peer encodes with codec #{}, this end decodes with {} (#{})",
                self.codec, codec.1, codec.0
            )));
        }
        let ours = identity.fingerprint();
        if self.fingerprint != ours {
            let hint = number_hint(&self.description, identity.description())
                .map(|h| format!("; hint: {h}"))
                .unwrap_or_default();
            return Err(protocol(format!(
                "handshake: the peer sends `{}`, this end expects `{identity}` (item type \
                 fingerprints {:016x} and {ours:016x}){hint}",
                self.description, self.fingerprint
            )));
        }
        Ok(())
    }
}

/// When two item types differ only in their number types (`i32` against `u32`, or
/// `(i32, String)` against `(u64, String)`), the likely cause and its fix: most
/// often an unsuffixed literal, which Rust makes an `i32` (or an `f64`).
fn number_hint(peer: &str, ours: &str) -> Option<String> {
    const NUMBERS: &[&str] = &[
        "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32", "u64", "u128", "usize",
        "f32", "f64",
    ];
    // Words (identifiers, number types) and single punctuation characters.
    fn tokens(s: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = s.trim_start();
        while let Some(c) = rest.chars().next() {
            let len = if c.is_alphanumeric() || c == '_' {
                rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len())
            } else {
                c.len_utf8()
            };
            out.push(&rest[..len]);
            rest = rest[len..].trim_start();
        }
        out
    }
    let (peer, ours) = (tokens(peer), tokens(ours));
    if peer.len() != ours.len() {
        return None;
    }
    let differ: Vec<(&str, &str)> = peer.into_iter().zip(ours).filter(|(p, o)| p != o).collect();
    let number = |t: &str| NUMBERS.contains(&t);
    if differ.is_empty() || !differ.iter().all(|&(p, o)| number(p) && number(o)) {
        return None;
    }
    let literal = |(p, o): (&str, &str)| match (p, o) {
        ("i32", other) | (other, "i32") if !other.starts_with('f') => Some(format!(
            "an unsuffixed integer literal is an `i32`: write `1{other}` (or annotate the type)"
        )),
        ("f64", "f32") | ("f32", "f64") => Some(
            "an unsuffixed float literal is an `f64`: write `1.0f32` (or annotate the type)"
                .to_string(),
        ),
        _ => None,
    };
    Some(differ.iter().find_map(|&d| literal(d)).unwrap_or_else(|| {
        let (p, o) = differ[0];
        format!("the two sides differ only in number types (`{p}` against `{o}`): make them agree")
    }))
}

/// A [`Protocol`](ErrorKind::Protocol) error: the peer broke the wire's rules.
///
/// ```
/// let e = consumer_wire::protocol_error("frame 3: bad");
/// assert_eq!(e.kind(), consumer::ErrorKind::Protocol);
/// ```
pub fn protocol_error(message: impl Into<String>) -> Error {
    protocol(message)
}

pub(crate) fn protocol(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Protocol, message)
}

/// Starts a frame of `kind` at the end of `buf`; returns where it starts, for
/// [`end_frame`].
#[inline]
pub(crate) fn begin_frame(buf: &mut Vec<u8>, kind: Kind) -> usize {
    let start = buf.len();
    buf.extend_from_slice(&[0, 0, 0, 0, kind as u8]);
    start
}

/// Writes the length of the frame begun at `start`; a frame over `max` is removed
/// again and reported.
#[inline]
pub(crate) fn end_frame(buf: &mut Vec<u8>, start: usize, max: u32) -> Result<(), Error> {
    let len = buf.len() - start - 4;
    if len > max as usize {
        return Err(too_big(buf, start, len, max));
    }
    buf[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// A frame over the limit: removed again, and the error.
#[cold]
#[inline(never)]
fn too_big(buf: &mut Vec<u8>, start: usize, len: usize, max: u32) -> Error {
    buf.truncate(start);
    protocol(format!(
        "the item takes {len} bytes, more than the frame limit of {max}"
    ))
}

/// Appends a frame with a fixed body.
pub(crate) fn push_frame(buf: &mut Vec<u8>, kind: Kind, body: &[u8]) {
    let start = begin_frame(buf, kind);
    buf.extend_from_slice(body);
    let len = (buf.len() - start - 4) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// The receiver's last word: how many items it handed to its consumer, and how the
/// run ended.
///
/// ```
/// use consumer_wire::Report;
///
/// let r = Report { received: 3, outcome: Ok(()) };
/// let bytes = r.frame();
/// let back = Report::decode(&bytes[5..]).unwrap();
/// assert_eq!(back.received, 3);
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    /// Items handed to the consumer.
    pub received: u64,
    /// How the run ended.
    pub outcome: Result<(), Error>,
}

/// Error kinds by wire code (code = index + 1). Append only: codes are protocol.
const KINDS: [ErrorKind; 11] = [
    ErrorKind::Closed,
    ErrorKind::Panicked,
    ErrorKind::Disconnected,
    ErrorKind::Timeout,
    ErrorKind::Full,
    ErrorKind::Io,
    ErrorKind::Protocol,
    ErrorKind::Exit,
    ErrorKind::Usage,
    ErrorKind::Other,
    ErrorKind::Auth,
];

impl Report {
    /// The report as a whole frame.
    pub fn frame(&self) -> Vec<u8> {
        let mut body = self.received.to_le_bytes().to_vec();
        match &self.outcome {
            Ok(()) => body.push(0),
            Err(e) => {
                let (code, message) = error_to_wire(e);
                body.push(code);
                body.extend_from_slice(message.as_bytes());
            }
        }
        let mut buf = Vec::with_capacity(body.len() + 5);
        push_frame(&mut buf, Kind::Report, &body);
        buf
    }

    /// A report frame's body decoded; `None` when malformed.
    pub fn decode(body: &[u8]) -> Option<Report> {
        let received = u64::from_le_bytes(body.get(..8)?.try_into().ok()?);
        let status = *body.get(8)?;
        let outcome = match status {
            0 => Ok(()),
            n => Err(error_from_wire(n, &String::from_utf8_lossy(&body[9..]))?),
        };
        Some(Report { received, outcome })
    }
}

/// An error as it crosses the wire: a non-zero code for its kind, and its message
/// (at most 4 KiB, so a report or a reply stays small whatever the consumer said).
///
/// ```
/// use consumer::{Error, ErrorKind};
/// use consumer_wire::{error_from_wire, error_to_wire};
///
/// let (code, message) = error_to_wire(&Error::new(ErrorKind::Timeout, "slow"));
/// let back = error_from_wire(code, &message).unwrap();
/// assert_eq!((back.kind(), back.message()), (ErrorKind::Timeout, Some("slow")));
/// ```
pub fn error_to_wire(e: &Error) -> (u8, String) {
    // A kind newer than this table travels as `Other`, its message intact.
    let code = KINDS.iter().position(|k| *k == e.kind()).unwrap_or(9);
    let mut message = e.message().map_or_else(|| e.to_string(), str::to_owned);
    message.truncate(floor_char_boundary(&message, 4096));
    (code as u8 + 1, message)
}

/// The error [`error_to_wire`] encoded; `None` for a code no kind has.
///
/// ```
/// assert!(consumer_wire::error_from_wire(0, "no such code").is_none());
/// ```
pub fn error_from_wire(code: u8, message: &str) -> Option<Error> {
    let kind = *KINDS.get(usize::from(code).checked_sub(1)?)?;
    Some(Error::new(kind, message))
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

/// One frame as decoded, borrowing the decoder's buffer.
///
/// ```
/// let f = consumer_wire::Frame::End;
/// assert!(matches!(f, consumer_wire::Frame::End));
/// ```
#[derive(Debug)]
pub enum Frame<'a> {
    /// An item's encoding.
    Item(&'a [u8]),
    /// A byte-vector item read straight into its own vector (see
    /// [`Decoder::poll_bytes`](crate::Decoder::poll_bytes)): the bytes themselves.
    Bytes(Vec<u8>),
    /// The sender's tracing context.
    /// (Boxed: a frame is returned per item, and a `u128` inline would double its
    /// size and alignment.)
    Context(Box<Context>),
    /// The sender closed the stream.
    End,
    /// A report's body: see [`Report::decode`].
    Report(&'a [u8]),
}

/// Parses a frame's length prefix: checks it before anything is allocated.
#[inline(always)]
pub(crate) fn check_len(frame: u64, len_bytes: [u8; 4], max: u32) -> Result<usize, Error> {
    let len = u32::from_le_bytes(len_bytes);
    if len == 0 {
        return Err(protocol(format!(
            "frame {frame}: length 0 (every frame has a kind byte)"
        )));
    }
    if len > max {
        return Err(protocol(format!(
            "frame {frame}: length {len} exceeds the frame limit of {max} bytes"
        )));
    }
    Ok(len as usize)
}

/// Parses a whole frame (kind byte and body).
#[inline(always)]
pub(crate) fn parse(frame: u64, bytes: &[u8]) -> Result<Frame<'_>, Error> {
    let (&kind, body) = bytes.split_first().expect("check_len refuses empty frames");
    #[cold]
    fn bad(frame: u64, what: &str) -> Error {
        protocol(format!("frame {frame}: malformed {what} frame"))
    }
    Ok(match Kind::from_u8(kind) {
        Some(Kind::Item) => Frame::Item(body),
        Some(Kind::Context) => Frame::Context(Box::new(
            Context::decode(body).ok_or_else(|| bad(frame, "context"))?,
        )),
        Some(Kind::End) if body.is_empty() => Frame::End,
        Some(Kind::End) => return Err(bad(frame, "end")),
        Some(Kind::Report) => Frame::Report(body),
        None => {
            return Err(protocol(format!(
                "frame {frame}: unknown frame kind {kind}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_types_that_differ_get_a_hint() {
        let i32_hint =
            "an unsuffixed integer literal is an `i32`: write `1u32` (or annotate the type)";
        assert_eq!(number_hint("i32", "u32").as_deref(), Some(i32_hint));
        assert_eq!(number_hint("u32", "i32").as_deref(), Some(i32_hint));
        assert_eq!(
            number_hint("(i32, String)", "(u32, String)").as_deref(),
            Some(i32_hint)
        );
        assert_eq!(
            number_hint("Order { id: u64, qty: i32 }", "Order { id: u64, qty: u32 }").as_deref(),
            Some(i32_hint)
        );
        assert!(number_hint("f64", "f32").unwrap().contains("`1.0f32`"));
        assert_eq!(
            number_hint("u16", "u64").as_deref(),
            Some(
                "the two sides differ only in number types (`u16` against `u64`): make them agree"
            )
        );
        // Anything but numbers differs: no guess.
        assert_eq!(number_hint("i32", "String"), None);
        assert_eq!(number_hint("(i32, u8)", "(u32, String)"), None);
        assert_eq!(number_hint("Vec<i32>", "(u32)"), None);
        assert_eq!(number_hint("u32", "u32"), None);
    }

    #[test]
    fn a_handshake_for_i32_against_u32_says_which_type_each_side_has_and_the_fix() {
        let peer = Handshake::new(1, 0, &crate::Identity::of::<i32>());
        let e = peer
            .check((1, "bincode"), &crate::Identity::of::<u32>())
            .unwrap_err();
        let m = e.to_string();
        assert!(
            m.contains("the peer sends `i32`, this end expects `u32`"),
            "{m}"
        );
        assert!(m.ends_with("hint: an unsuffixed integer literal is an `i32`: write `1u32` (or annotate the type)"), "{m}");
    }

    #[test]
    fn fnv_separates_parts() {
        assert_ne!(fnv1a(&[b"ab", b"c"]), fnv1a(&[b"a", b"bc"]));
    }

    #[test]
    fn reports_round_trip_every_kind() {
        for (i, kind) in KINDS.iter().enumerate() {
            let r = Report {
                received: i as u64,
                outcome: Err(Error::new(*kind, "why")),
            };
            let f = r.frame();
            let back = match parse(1, &f[4..]).unwrap() {
                Frame::Report(r) => Report::decode(r).unwrap(),
                other => panic!("{other:?}"),
            };
            assert_eq!(back.received, i as u64);
            let e = back.outcome.unwrap_err();
            assert_eq!((e.kind(), e.message()), (*kind, Some("why")));
        }
    }

    #[test]
    fn long_report_messages_are_cut_at_a_char_boundary() {
        let s = "é".repeat(3000);
        let cut = floor_char_boundary(&s, 4096);
        assert!(cut <= 4096 && s.is_char_boundary(cut));
    }
}
