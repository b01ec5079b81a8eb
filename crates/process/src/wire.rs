//! The frame layer: handshake, length-prefixed frames, the receiver's report.
//!
//! ```text
//! handshake (16 bytes, once):  "CnSm" | version u16 | codec u8 | flags u8 | fingerprint u64
//! frame:                       length u32 | kind u8 | body (length - 1 bytes)
//!   kind 1 Item      body = the codec's encoding of one item
//!   kind 2 Context   body = sender pid u32 | sender span id u64 (0: none)
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
//! Everything here is sans-I/O (bytes in, bytes out) except [`FrameReader`], so the
//! async ends and other transports reuse it.

use std::io::{self, Read};

use consumer::{Error, ErrorKind};

/// The first four bytes of every connection.
pub(crate) const MAGIC: [u8; 4] = *b"CnSm";
/// The wire protocol's version; a peer speaking another one is refused.
pub(crate) const VERSION: u16 = 1;
/// The handshake's size in bytes.
pub(crate) const HANDSHAKE_LEN: usize = 16;
/// Handshake flag: the sender waits for a [`Kind::Report`] at the end of the stream.
pub(crate) const FLAG_REPORT: u8 = 1;

/// The default largest frame: 4 MiB. Change it per end with
/// [`Sender::max_frame`](crate::Sender::max_frame) and
/// [`Receiver::max_frame`](crate::Receiver::max_frame).
///
/// ```
/// assert_eq!(consumer_process::DEFAULT_MAX_FRAME, 4 * 1024 * 1024);
/// ```
pub const DEFAULT_MAX_FRAME: u32 = 4 << 20;

/// The largest frame limit one may configure: 1 GiB. Larger limits are lowered to it.
///
/// ```
/// assert_eq!(consumer_process::MAX_FRAME_CEILING, 1 << 30);
/// ```
pub const MAX_FRAME_CEILING: u32 = 1 << 30;

/// What a frame carries.
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

/// The fingerprint of item type `T` under a user tag.
pub(crate) fn fingerprint<T: ?Sized>(tag: &str) -> u64 {
    fnv1a(&[std::any::type_name::<T>().as_bytes(), tag.as_bytes()])
}

/// What a connection opens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Handshake {
    pub(crate) codec: u8,
    pub(crate) flags: u8,
    pub(crate) fingerprint: u64,
}

impl Handshake {
    pub(crate) fn encode(&self) -> [u8; HANDSHAKE_LEN] {
        let mut b = [0u8; HANDSHAKE_LEN];
        b[..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&VERSION.to_le_bytes());
        b[6] = self.codec;
        b[7] = self.flags;
        b[8..].copy_from_slice(&self.fingerprint.to_le_bytes());
        b
    }

    /// Parses a peer's handshake and checks it against what this end expects.
    pub(crate) fn check(
        b: &[u8; HANDSHAKE_LEN],
        codec: (u8, &str),
        fingerprint: u64,
        type_name: &str,
    ) -> Result<Handshake, Error> {
        if b[..4] != MAGIC {
            return Err(protocol(format!(
                "handshake: bad magic {:02x?} (expected {:02x?}): the peer does not speak this protocol",
                &b[..4],
                MAGIC
            )));
        }
        let version = u16::from_le_bytes([b[4], b[5]]);
        if version != VERSION {
            return Err(protocol(format!(
                "handshake: the peer speaks protocol version {version}, this end version {VERSION}"
            )));
        }
        if b[6] != codec.0 {
            return Err(protocol(format!(
                "handshake: the peer encodes with codec #{}, this end decodes with {} (#{})",
                b[6], codec.1, codec.0
            )));
        }
        let theirs = u64::from_le_bytes(b[8..].try_into().expect("8 bytes"));
        if theirs != fingerprint {
            return Err(protocol(format!(
                "handshake: item type fingerprint {theirs:016x} does not match this end's \
                 {fingerprint:016x} (`{type_name}` and its tag): the peer sends another type"
            )));
        }
        Ok(Handshake {
            codec: b[6],
            flags: b[7],
            fingerprint: theirs,
        })
    }
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
        buf.truncate(start);
        return Err(protocol(format!(
            "the item takes {len} bytes, more than the frame limit of {max}"
        )));
    }
    buf[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// Appends a frame with a fixed body.
pub(crate) fn push_frame(buf: &mut Vec<u8>, kind: Kind, body: &[u8]) {
    let start = begin_frame(buf, kind);
    buf.extend_from_slice(body);
    let len = (buf.len() - start - 4) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
}

/// The sender's tracing context, as carried in a [`Kind::Context`] frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Context {
    pub(crate) pid: u32,
    pub(crate) span: u64,
}

impl Context {
    pub(crate) fn encode(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..].copy_from_slice(&self.span.to_le_bytes());
        b
    }

    fn decode(body: &[u8]) -> Option<Context> {
        let b: &[u8; 12] = body.try_into().ok()?;
        Some(Context {
            pid: u32::from_le_bytes(b[..4].try_into().ok()?),
            span: u64::from_le_bytes(b[4..].try_into().ok()?),
        })
    }
}

/// The receiver's last word: how many items it handed to its consumer, and how the
/// run ended.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) received: u64,
    pub(crate) outcome: Result<(), Error>,
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
    pub(crate) fn frame(&self) -> Vec<u8> {
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

    pub(crate) fn decode(body: &[u8]) -> Option<Report> {
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
pub(crate) fn error_to_wire(e: &Error) -> (u8, String) {
    // A kind newer than this table travels as `Other`, its message intact.
    let code = KINDS.iter().position(|k| *k == e.kind()).unwrap_or(9);
    let mut message = e.message().map_or_else(|| e.to_string(), str::to_owned);
    message.truncate(floor_char_boundary(&message, 4096));
    (code as u8 + 1, message)
}

/// The error [`error_to_wire`] encoded; `None` for a code no kind has.
pub(crate) fn error_from_wire(code: u8, message: &str) -> Option<Error> {
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

/// One frame as read, borrowing the reader's buffer.
#[derive(Debug)]
pub(crate) enum Frame<'a> {
    Item(&'a [u8]),
    Context(Context),
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
        Some(Kind::Context) => {
            Frame::Context(Context::decode(body).ok_or_else(|| bad(frame, "context"))?)
        }
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

/// Bodies up to this size are read straight into a buffer of their length; larger
/// ones grow as bytes arrive, so a lying length prefix cannot make us allocate more
/// than this, or than the peer actually sent.
const EAGER_BODY: usize = 1 << 20;

/// Reads frames from a byte stream, numbering them from 1 for error messages.
///
/// Its own read buffer (not a `BufReader`, whose buffer cannot be read into from
/// outside): a frame that lies whole in the buffer is parsed where it lies, without
/// a copy; a frame larger than the buffer is copied out; and a large byte vector is
/// read straight into its item, the next frames' bytes into the buffer in the same
/// `readv` ([`large_bytes_item`](FrameReader::large_bytes_item)).
#[derive(Debug)]
pub(crate) struct FrameReader<R> {
    reader: R,
    rbuf: Box<[u8]>,
    /// `rbuf[pos..filled]` holds bytes read and not yet consumed.
    pos: usize,
    filled: usize,
    /// A frame larger than the read buffer, copied out.
    body: Vec<u8>,
    max: u32,
    /// The number of the last frame read.
    frame: u64,
    /// Bytes of the last frame, still in the read buffer, to consume on the next read.
    pending: usize,
}

impl<R: Read> FrameReader<R> {
    pub(crate) fn new(reader: R, max: u32, buffer: usize) -> FrameReader<R> {
        FrameReader {
            reader,
            rbuf: vec![0u8; buffer.max(64)].into_boxed_slice(),
            pos: 0,
            filled: 0,
            body: Vec::new(),
            max,
            frame: 0,
            pending: 0,
        }
    }

    pub(crate) fn set_max(&mut self, max: u32) {
        self.max = max;
    }

    pub(crate) fn frame_number(&self) -> u64 {
        self.frame
    }

    fn buffered(&self) -> &[u8] {
        &self.rbuf[self.pos..self.filled]
    }

    fn consume(&mut self, n: usize) {
        self.pos += n;
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
        }
    }

    /// Reads more after what is buffered (moved to the front first); returns how
    /// many bytes came, 0 at the end of the stream.
    fn fill_more(&mut self) -> io::Result<usize> {
        if self.pos > 0 {
            self.rbuf.copy_within(self.pos..self.filled, 0);
            self.filled -= self.pos;
            self.pos = 0;
        }
        loop {
            match self.reader.read(&mut self.rbuf[self.filled..]) {
                Ok(k) => {
                    self.filled += k;
                    return Ok(k);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the peer's 16-byte handshake.
    pub(crate) fn read_handshake(&mut self) -> Result<[u8; HANDSHAKE_LEN], Error> {
        while self.buffered().len() < HANDSHAKE_LEN {
            match self.fill_more() {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(io_error("handshake", e)),
            }
        }
        match self.buffered().first_chunk::<HANDSHAKE_LEN>() {
            Some(b) => {
                let b = *b;
                self.consume(HANDSHAKE_LEN);
                Ok(b)
            }
            None if self.buffered().is_empty() => Err(Error::new(
                ErrorKind::Disconnected,
                "handshake: the stream ended before the handshake",
            )),
            None => Err(protocol(format!(
                "handshake: truncated after {} of {HANDSHAKE_LEN} bytes",
                self.buffered().len()
            ))),
        }
    }

    /// The next frame; `None` at a clean end of stream (between frames).
    pub(crate) fn next(&mut self) -> Result<Option<Frame<'_>>, Error> {
        let pending = std::mem::take(&mut self.pending);
        self.consume(pending);
        self.frame += 1;
        let n = self.frame;
        let io = |e| io_error(&format!("frame {n}"), e);
        while self.buffered().len() < 4 {
            if self.fill_more().map_err(io)? == 0 {
                return match self.buffered().len() {
                    0 => Ok(None),
                    k => Err(protocol(format!(
                        "frame {n}: truncated: the stream ended after {k} of 4 length bytes"
                    ))),
                };
            }
        }
        let len = check_len(
            n,
            *self.buffered().first_chunk().expect("4 bytes"),
            self.max,
        )?;
        if 4 + len <= self.rbuf.len() {
            // Fits in the buffer: read until it is all there, then parse in place.
            while self.buffered().len() < 4 + len {
                if self.fill_more().map_err(io)? == 0 {
                    let got = self.buffered().len() - 4;
                    return Err(truncated(n, got, len));
                }
            }
            self.pending = 4 + len;
            return parse(n, &self.buffered()[4..4 + len]).map(Some);
        }
        // Larger than the buffer: copy out what is buffered, read the rest straight
        // into the body, growing it only as bytes arrive.
        self.body.clear();
        self.body
            .extend_from_slice(&self.rbuf[self.pos + 4..self.filled]);
        self.consume(self.filled - self.pos);
        let mut got = self.body.len();
        while got < len {
            let want = (len - got).min(EAGER_BODY);
            self.body.resize(got + want, 0);
            let k = read_full(&mut self.reader, &mut self.body[got..]).map_err(io)?;
            got += k;
            if k < want {
                return Err(truncated(n, got, len));
            }
        }
        parse(n, &self.body[..len]).map(Some)
    }

    /// When the next frame is an item that is not all buffered yet, and `codec` can
    /// tell where its byte string starts, reads the bytes straight from the stream
    /// into a vector of their own (and, in the same `readv`, the following bytes into
    /// the read buffer): one copy, as a raw read loop makes. `Ok(None)`, with nothing
    /// consumed, for any other frame: read it with [`next`](FrameReader::next).
    pub(crate) fn large_bytes_item<C: crate::Codec>(
        &mut self,
        codec: &C,
    ) -> Result<Option<Vec<u8>>, Error> {
        let pending = std::mem::take(&mut self.pending);
        self.consume(pending);
        let n = self.frame + 1;
        let io = |e| io_error(&format!("frame {n}"), e);
        // Enough for a length, a kind and a codec's header — but never wait for more
        // when a whole frame is already here (a lone small item must not wait).
        let b = self.buffered();
        let whole = b
            .first_chunk::<4>()
            .is_some_and(|l| 4 + u32::from_le_bytes(*l) as usize <= b.len());
        if whole {
            return Ok(None);
        }
        if b.len() < 16 && self.fill_more().map_err(io)? == 0 {
            return Ok(None);
        }
        let buffered = self.buffered();
        let Some(len_bytes) = buffered.first_chunk::<4>() else {
            return Ok(None);
        };
        let len = check_len(n, *len_bytes, self.max)?;
        if buffered.len() >= 4 + len || buffered.get(4) != Some(&(Kind::Item as u8)) {
            return Ok(None);
        }
        let Some(Ok((header, count))) = codec.read_bytes_header(&buffered[5..]) else {
            return Ok(None);
        };
        // The count must fill the frame exactly; else the normal path reports it.
        if 1 + header as u64 + count != len as u64 || 5 + header > buffered.len() {
            return Ok(None);
        }
        let count = count as usize;
        let start = 5 + header;
        let mut item = Vec::with_capacity(count.min(EAGER_BODY));
        item.extend_from_slice(&buffered[start..]);
        self.frame = n;
        self.consume(self.filled - self.pos);
        // Grow the item only as bytes arrive, at most a MiB at a time.
        let mut filled = item.len();
        while filled < count {
            let want = (count - filled).min(EAGER_BODY);
            item.resize(filled + want, 0);
            let last = filled + want == count;
            let k = loop {
                let mut slices = [
                    io::IoSliceMut::new(&mut item[filled..]),
                    // Only once the item is complete may bytes spill into the buffer.
                    io::IoSliceMut::new(if last { &mut self.rbuf[..] } else { &mut [] }),
                ];
                match self.reader.read_vectored(&mut slices) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    other => break other.map_err(io)?,
                }
            };
            if k == 0 {
                return Err(truncated(n, start - 4 + filled, len));
            }
            let into_item = k.min(count - filled);
            filled += into_item;
            self.filled = k - into_item;
        }
        Ok(Some(item))
    }
}

fn truncated(frame: u64, got: usize, len: usize) -> Error {
    protocol(format!(
        "frame {frame}: truncated: the stream ended after {got} of {len} bytes"
    ))
}

/// Reads until `buf` is full or the stream ends; returns how much it read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub(crate) fn io_error(what: &str, e: io::Error) -> Error {
    let message = format!("{what}: {e}");
    Error::from(e).with_message(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_tell_types_and_tags_apart() {
        assert_ne!(fingerprint::<u32>(""), fingerprint::<u64>(""));
        assert_ne!(fingerprint::<u32>(""), fingerprint::<u32>("v2"));
        assert_eq!(fingerprint::<u32>("v2"), fingerprint::<u32>("v2"));
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
