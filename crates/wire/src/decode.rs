//! The receiving side's byte handling: a frame decoder that a driver feeds bytes to.
//!
//! The [`Decoder`] owns the read buffer; a driver asks it where the next read
//! should land ([`read_target`](Decoder::read_target)), reads (blocking, tokio, a
//! test's byte slice), says how much came ([`filled`](Decoder::filled)), and asks
//! for the next whole frame ([`next_frame`](Decoder::next_frame)). Every length is checked
//! before anything is allocated; a frame that fits the buffer is parsed where it
//! lies; a larger one grows a body of its own only as its bytes arrive; a large
//! byte-vector item goes straight from the stream into its own vector, with the
//! bytes after it spilling into the buffer in the same (vectored) read, or appended
//! to it without zeroing it first by a driver that can
//! ([`append_target`](Decoder::append_target)).

use consumer::{Error, ErrorKind};

use crate::codec::Codec;
use crate::frame::{self, DESCRIPTION_MAX, Frame, HANDSHAKE_LEN, Handshake, Kind, protocol};

/// Bodies grow at most this much per read, so a lying length prefix cannot make the
/// decoder allocate more than a MiB beyond what the peer actually sent.
const EAGER_BODY: usize = 1 << 20;

/// The largest frame a report channel accepts: reports are small (a count, a code,
/// a message of at most 4 KiB), so anything larger is a protocol error.
///
/// ```
/// assert_eq!(consumer_wire::REPORT_MAX, 8 << 10);
/// ```
pub const REPORT_MAX: u32 = 8 << 10;

/// A byte-vector item must be at least this large to bypass the read buffer.
const DIRECT_BYTES: usize = 8 << 10;

/// What a frame larger than the buffer is being assembled into.
#[derive(Debug)]
enum Large {
    /// Reading the bytes straight into the buffer.
    None,
    /// A whole frame (kind byte and body) of `len` bytes, `got` so far.
    Frame { len: usize, got: usize },
    /// A byte-vector item's bytes: `count` of them, `got` so far, the frame's length
    /// `len` for error messages.
    Bytes {
        count: usize,
        got: usize,
        len: usize,
    },
}

/// Where the next read should put its bytes: `first`, then (in the same vectored
/// read, if the driver can) `then`. Fill `first` before `then`.
#[derive(Debug)]
pub struct ReadTarget<'a> {
    /// Where the bytes go first.
    pub first: &'a mut [u8],
    /// Where the bytes that do not fit in `first` may go; often empty.
    pub then: &'a mut [u8],
}

/// A sans-I/O frame decoder: bytes in, checked frames out.
///
/// # Examples
///
/// Feeding it the bytes of a sender by hand, as a driver does with `read`:
///
/// ```
/// use consumer_wire::{Bincode, Decoder, Encoder, Frame, Identity};
///
/// let mut enc = Encoder::new(Bincode, Identity::of::<u32>());
/// enc.item(&7u32)?;
/// enc.end();
/// let bytes = enc.take();
///
/// let mut dec = Decoder::new(consumer_wire::DEFAULT_MAX_FRAME, 1024);
/// let target = dec.read_target();
/// target.first[..bytes.len()].copy_from_slice(&bytes);
/// dec.filled(bytes.len());
/// assert!(dec.handshake()?.is_some());
/// assert!(matches!(dec.next_frame()?, Some(Frame::Context(_))));
/// assert!(matches!(dec.next_frame()?, Some(Frame::Item(b)) if b == [7]));
/// assert!(matches!(dec.next_frame()?, Some(Frame::End)));
/// assert!(dec.next_frame()?.is_none()); // nothing more buffered: read again
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    buf: Box<[u8]>,
    /// `buf[pos..filled]` holds bytes read and not yet consumed. A frame handed out
    /// is consumed at once: its bytes stay where they lie until the next read, which
    /// needs `&mut self`, so not before the frame is dropped.
    pos: usize,
    filled: usize,
    /// A frame too large for the buffer, or a byte vector, being assembled.
    body: Vec<u8>,
    large: Large,
    max: u32,
    /// The number of the last frame handed out (or being assembled).
    frame: u64,
    /// The handshake: `frame` counts from it.
    greeted: bool,
    /// A frame found by `poll`, not yet taken.
    ready: Option<Ready>,
}

/// Where a frame found by `poll` lies.
#[derive(Debug, Clone, Copy)]
enum Ready {
    /// At the front of the buffer, `len` bytes after the length prefix.
    Buffered(usize),
    /// In the body, `len` bytes.
    Body(usize),
    /// A byte vector of `count` bytes in the body.
    Bytes(usize),
}

impl Decoder {
    /// A decoder that accepts frames up to `max` bytes and reads through a buffer of
    /// `buffer` bytes (at least the longest handshake, 1042 bytes).
    ///
    /// ```
    /// let dec = consumer_wire::Decoder::new(1 << 20, 16 << 10);
    /// assert_eq!(dec.frame_number(), 0);
    /// ```
    pub fn new(max: u32, buffer: usize) -> Decoder {
        Decoder {
            buf: vec![0u8; buffer.max(HANDSHAKE_LEN + DESCRIPTION_MAX)].into_boxed_slice(),
            pos: 0,
            filled: 0,
            body: Vec::new(),
            large: Large::None,
            max: max.clamp(1, frame::MAX_FRAME_CEILING),
            frame: 0,
            greeted: false,
            ready: None,
        }
    }

    /// A decoder for a report channel: no handshake, frames of at most
    /// [`REPORT_MAX`] bytes, a small buffer.
    ///
    /// ```
    /// let dec = consumer_wire::Decoder::for_reports();
    /// assert_eq!(dec.frame_number(), 0);
    /// ```
    pub fn for_reports() -> Decoder {
        let mut dec = Decoder::new(REPORT_MAX, 1 << 10);
        dec.greeted = true;
        dec
    }

    /// Sets the largest frame accepted (clamped to `1..=`[`MAX_FRAME_CEILING`](crate::MAX_FRAME_CEILING)).
    ///
    /// ```
    /// let mut dec = consumer_wire::Decoder::new(1 << 20, 1024);
    /// dec.set_max(u32::MAX);
    /// ```
    pub fn set_max(&mut self, max: u32) {
        self.max = max.clamp(1, frame::MAX_FRAME_CEILING);
    }

    /// The number of the last frame handed out, counting from 1 after the
    /// handshake: error messages name it.
    ///
    /// ```
    /// assert_eq!(consumer_wire::Decoder::new(64, 64).frame_number(), 0);
    /// ```
    #[inline]
    pub fn frame_number(&self) -> u64 {
        self.frame
    }

    #[inline]
    fn buffered(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    #[inline]
    fn consume(&mut self, n: usize) {
        self.pos += n;
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
        }
    }

    /// Where the driver's next read should go. Never empty while the decoder waits
    /// for bytes.
    ///
    /// ```
    /// let mut dec = consumer_wire::Decoder::new(1 << 20, 4096);
    /// assert_eq!(dec.read_target().first.len(), 4096);
    /// ```
    #[inline]
    pub fn read_target(&mut self) -> ReadTarget<'_> {
        match self.large {
            Large::None => {
                if self.pos > 0 {
                    self.buf.copy_within(self.pos..self.filled, 0);
                    self.filled -= self.pos;
                    self.pos = 0;
                }
                ReadTarget {
                    first: &mut self.buf[self.filled..],
                    then: &mut [],
                }
            }
            Large::Frame { len: need, got }
            | Large::Bytes {
                count: need, got, ..
            } => {
                // Grow the body only as bytes arrive, a MiB at a time; once the last
                // piece is asked for, what follows may spill into the (empty) buffer.
                let want = (need - got).min(EAGER_BODY);
                if self.body.len() < got + want {
                    self.body.resize(got + want, 0);
                }
                let last = got + want == need;
                ReadTarget {
                    first: &mut self.body[got..got + want],
                    then: if last { &mut self.buf[..] } else { &mut [] },
                }
            }
        }
    }

    /// Where the next read may append a large byte-vector item's bytes: the item's
    /// own vector, and at most how many bytes to append (no more than a MiB beyond
    /// what has come, as for [`read_target`](Decoder::read_target)). For a driver
    /// that can append to a vector's spare capacity without initialising it first
    /// (tokio's `read_buf`): the item is then not zeroed before its bytes are
    /// copied in. Call [`filled`](Decoder::filled) with the number of bytes
    /// appended. `None` when the next read must go to the `read_target`.
    ///
    /// ```
    /// use consumer_wire::{Bincode, Decoder, Encoder, Frame, Identity};
    ///
    /// let mut enc = Encoder::new(Bincode, Identity::of::<Vec<u8>>());
    /// enc.item(&vec![7u8; 20_000])?;
    /// let bytes = enc.take();
    ///
    /// let mut dec = Decoder::new(1 << 20, 4096);
    /// let (mut rest, mut greeted) = (&bytes[..], false);
    /// loop {
    ///     if !greeted {
    ///         greeted = dec.handshake()?.is_some();
    ///         if greeted {
    ///             continue;
    ///         }
    ///     } else if dec.poll_bytes(&Bincode)? {
    ///         match dec.take()? {
    ///             Frame::Bytes(v) => break assert_eq!(v, vec![7u8; 20_000]),
    ///             _ => continue, // the trace context
    ///         }
    ///     }
    ///     let n = match dec.append_target() {
    ///         Some((item, room)) => {
    ///             let n = room.min(rest.len());
    ///             item.extend_from_slice(&rest[..n]); // no zeroing
    ///             n
    ///         }
    ///         None => {
    ///             let first = dec.read_target().first;
    ///             let n = first.len().min(rest.len());
    ///             first[..n].copy_from_slice(&rest[..n]);
    ///             n
    ///         }
    ///     };
    ///     dec.filled(n);
    ///     rest = &rest[n..];
    /// }
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn append_target(&mut self) -> Option<(&mut Vec<u8>, usize)> {
        let Large::Bytes { count, got, .. } = self.large else {
            return None;
        };
        let room = (count - got).min(EAGER_BODY);
        if room == 0 {
            return None;
        }
        // Bytes a `read_target` zeroed and no read filled are not the item's.
        self.body.truncate(got);
        // Grown as `resize` grows it in `read_target` (doubling, so that a large
        // item is not copied over and over as it grows).
        self.body.reserve(room);
        Some((&mut self.body, room))
    }

    /// Records that the last read put `n` bytes into the [`read_target`](Decoder::read_target)
    /// (or appended them at the [`append_target`](Decoder::append_target)).
    ///
    /// ```
    /// let mut dec = consumer_wire::Decoder::new(1 << 20, 1024);
    /// dec.read_target().first[..3].copy_from_slice(b"abc");
    /// dec.filled(3);
    /// ```
    #[inline]
    pub fn filled(&mut self, n: usize) {
        match &mut self.large {
            Large::None => self.filled = (self.filled + n).min(self.buf.len()),
            Large::Frame { len: need, got }
            | Large::Bytes {
                count: need, got, ..
            } => {
                let into_body = n.min(*need - *got);
                *got += into_body;
                // The spill went to the front of the buffer, which was empty.
                self.filled = (n - into_body).min(self.buf.len());
                self.pos = 0;
            }
        }
    }

    /// The peer's handshake, once its bytes are in; `None` until then. The magic
    /// and version are checked as soon as their bytes come, the description's length
    /// before anything waits for it (see [`Handshake::parse`]); whether the codec and
    /// item type fit is [`Handshake::check`]'s business.
    ///
    /// # Errors
    ///
    /// [`Protocol`](ErrorKind::Protocol): not this protocol, another version, a
    /// description over [`DESCRIPTION_MAX`](crate::DESCRIPTION_MAX).
    ///
    /// ```
    /// let mut dec = consumer_wire::Decoder::new(1 << 20, 1024);
    /// assert!(dec.handshake()?.is_none());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn handshake(&mut self) -> Result<Option<Handshake>, Error> {
        let Some((hs, len)) = Handshake::parse(self.buffered())? else {
            return Ok(None);
        };
        self.consume(len);
        self.greeted = true;
        Ok(Some(hs))
    }

    /// The next whole frame, or `None` when more bytes are needed.
    ///
    /// # Errors
    ///
    /// [`Protocol`](ErrorKind::Protocol), naming the frame: a length of 0 or over
    /// the limit (checked before anything is allocated), a malformed or unknown
    /// frame.
    ///
    /// ```
    /// let mut dec = consumer_wire::Decoder::new(1 << 20, 1024);
    /// assert!(dec.next_frame()?.is_none());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    #[inline]
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, Error> {
        if self.poll()? {
            return self.take().map(Some);
        }
        Ok(None)
    }

    /// The receiver's fast path, in a few instructions: the next frame when it is
    /// an item frame lying whole in the buffer, its length valid, nothing else
    /// pending — its number and payload. It is handed out as from
    /// [`next_frame`](Decoder::next_frame): counted and consumed. `None` sends the
    /// caller to `next_frame` (or `poll`), which deals with everything else and
    /// names what is wrong.
    #[inline(always)]
    pub(crate) fn next_item(&mut self) -> Option<(u64, &[u8])> {
        if !self.idle() {
            return None;
        }
        let (body, next) = item_at(&self.buf[..self.filled], self.pos, self.max)?;
        self.frame += 1;
        self.pos = next;
        Some((self.frame, body))
    }

    /// [`next_item`](Decoder::next_item) for every item frame in a row, each handed
    /// to `f`, until `f` fails or the next frame is anything else; the position and
    /// the frame count stay in registers meanwhile, and are stored once at the end.
    #[inline(always)]
    pub(crate) fn items<E>(
        &mut self,
        mut f: impl FnMut(u64, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.idle() {
            return Ok(());
        }
        let (mut pos, mut frame) = (self.pos, self.frame);
        let buf = &self.buf[..self.filled];
        let outcome = loop {
            let Some((body, next)) = item_at(buf, pos, self.max) else {
                break Ok(());
            };
            frame += 1;
            pos = next;
            if let Err(e) = f(frame, body) {
                break Err(e);
            }
        };
        self.pos = pos;
        self.frame = frame;
        outcome
    }

    /// Nothing is being assembled or waits to be taken: frames come from the buffer.
    #[inline(always)]
    fn idle(&self) -> bool {
        self.ready.is_none() && matches!(self.large, Large::None)
    }

    /// Whether a whole frame is ready for [`take`](Decoder::take); `false` when
    /// more bytes are needed. Drivers loop on it (a `bool` borrows nothing), then
    /// take the frame.
    ///
    /// # Errors
    ///
    /// As [`next_frame`](Decoder::next_frame).
    ///
    /// ```
    /// let mut dec = consumer_wire::Decoder::new(1 << 20, 1024);
    /// assert!(!dec.poll()?);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    #[inline]
    pub fn poll(&mut self) -> Result<bool, Error> {
        self.advance(None::<&crate::Bincode>)
    }

    /// As [`poll`](Decoder::poll), for a stream of byte vectors encoded by `codec`:
    /// a large one that is not all buffered yet is read straight into a vector of its
    /// own and handed out as [`Frame::Bytes`] (the codec's header already taken
    /// off): one copy, as a raw read loop makes.
    ///
    /// # Errors
    ///
    /// As [`next_frame`](Decoder::next_frame), and the codec's error for a bad byte-vector header.
    ///
    /// ```
    /// let mut dec = consumer_wire::Decoder::new(1 << 20, 1024);
    /// assert!(!dec.poll_bytes(&consumer_wire::Bincode)?);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    #[inline]
    pub fn poll_bytes<C: Codec>(&mut self, codec: &C) -> Result<bool, Error> {
        self.advance(Some(codec))
    }

    /// The frame that [`poll`](Decoder::poll) found ready.
    ///
    /// # Errors
    ///
    /// As [`next_frame`](Decoder::next_frame) for a malformed frame;
    /// [`Usage`](ErrorKind::Usage) when no frame is ready.
    ///
    /// ```
    /// let mut dec = consumer_wire::Decoder::new(1 << 20, 1024);
    /// assert!(dec.take().is_err());
    /// ```
    #[inline]
    pub fn take(&mut self) -> Result<Frame<'_>, Error> {
        match self.ready.take() {
            None => Err(Error::new(
                ErrorKind::Usage,
                "no frame is ready: poll first",
            )),
            Some(Ready::Buffered(len)) => {
                let at = self.pos + 4;
                self.consume(4 + len);
                frame::parse(self.frame, &self.buf[at..at + len])
            }
            Some(Ready::Body(len)) => frame::parse(self.frame, &self.body[..len]),
            Some(Ready::Bytes(count)) => {
                self.body.truncate(count);
                Ok(Frame::Bytes(std::mem::take(&mut self.body)))
            }
        }
    }

    fn advance<C: Codec>(&mut self, bytes: Option<&C>) -> Result<bool, Error> {
        if self.ready.is_some() {
            return Ok(true);
        }
        match self.large {
            Large::None => {}
            Large::Frame { len, got } if got == len => {
                self.large = Large::None;
                self.ready = Some(Ready::Body(len));
                return Ok(true);
            }
            Large::Bytes { count, got, .. } if got == count => {
                self.large = Large::None;
                self.ready = Some(Ready::Bytes(count));
                return Ok(true);
            }
            Large::Frame { .. } | Large::Bytes { .. } => return Ok(false),
        }
        let n = self.frame + 1;
        let Some(len_bytes) = self.buffered().first_chunk::<4>().copied() else {
            return Ok(false);
        };
        let len = frame::check_len(n, len_bytes, self.max)?;
        let available = self.buffered().len() - 4;
        if available >= len {
            self.frame = n;
            self.ready = Some(Ready::Buffered(len));
            return Ok(true);
        }
        if let Some(codec) = bytes
            && self.begin_bytes(codec, n, len)?
        {
            return self.advance(bytes);
        }
        if 4 + len <= self.buf.len() {
            // It will fit: wait for the rest.
            return Ok(false);
        }
        // Larger than the buffer: copy out what is here, read the rest into the body.
        self.frame = n;
        self.body.clear();
        self.body
            .extend_from_slice(&self.buf[self.pos + 4..self.filled]);
        self.large = Large::Frame {
            len,
            got: available,
        };
        self.consume(self.filled - self.pos);
        self.advance(bytes)
    }

    /// Starts reading a large byte-vector item straight into its own vector, when
    /// the frame at the front is one and `codec` can say where its bytes start.
    fn begin_bytes<C: Codec>(&mut self, codec: &C, n: u64, len: usize) -> Result<bool, Error> {
        let b = self.buffered();
        if len < DIRECT_BYTES || b.get(4) != Some(&(Kind::Item as u8)) {
            return Ok(false);
        }
        let header = match codec.read_bytes_header(&b[5..]) {
            // Not enough bytes for the header yet, or no header: the normal path.
            None | Some(Err(_)) if b.len() < 16 => return Ok(false),
            None => return Ok(false),
            Some(Err(e)) => return Err(e),
            Some(Ok(h)) => h,
        };
        let (header, count) = header;
        // The count must fill the frame exactly; else the normal path reports it.
        if 1 + header as u64 + count != len as u64 || 5 + header > b.len() {
            return Ok(false);
        }
        let count = count as usize;
        let start = self.pos + 5 + header;
        self.body.clear();
        self.body.reserve(count.min(EAGER_BODY));
        self.body.extend_from_slice(&self.buf[start..self.filled]);
        self.large = Large::Bytes {
            count,
            got: self.filled - start,
            len,
        };
        self.frame = n;
        self.consume(self.filled - self.pos);
        Ok(true)
    }

    /// The stream ended (a read returned 0 bytes). `Ok` when it ended between
    /// frames; what to make of a stream that ends without its end frame is the
    /// caller's business.
    ///
    /// # Errors
    ///
    /// [`Disconnected`](ErrorKind::Disconnected) before any handshake byte;
    /// [`Protocol`](ErrorKind::Protocol) when it ended inside the handshake or a
    /// frame, saying how much of it had come.
    ///
    /// ```
    /// use consumer::ErrorKind;
    ///
    /// let mut dec = consumer_wire::Decoder::new(1 << 20, 1024);
    /// assert_eq!(dec.end_of_input().unwrap_err().kind(), ErrorKind::Disconnected);
    /// ```
    pub fn end_of_input(&mut self) -> Result<(), Error> {
        let n = self.frame + 1;
        let buffered = self.buffered().len();
        match self.large {
            Large::Frame { len, got } => return Err(truncated(self.frame, got, len)),
            Large::Bytes { count, got, len } => {
                return Err(truncated(self.frame, len - count + got, len));
            }
            Large::None => {}
        }
        if !self.greeted {
            return Err(match buffered {
                0 => Error::new(
                    ErrorKind::Disconnected,
                    "handshake: the stream ended before the handshake",
                ),
                k => {
                    let b = self.buffered();
                    let len = match b.get(16..18) {
                        Some(l) => HANDSHAKE_LEN + usize::from(u16::from_le_bytes([l[0], l[1]])),
                        None => HANDSHAKE_LEN,
                    };
                    protocol(format!("handshake: truncated after {k} of {len} bytes"))
                }
            });
        }
        match buffered {
            0 => Ok(()),
            k @ 1..4 => Err(protocol(format!(
                "frame {n}: truncated: the stream ended after {k} of 4 length bytes"
            ))),
            k => {
                let len = u32::from_le_bytes(*self.buffered().first_chunk().expect("4 bytes"));
                Err(truncated(n, k - 4, len as usize))
            }
        }
    }
}

/// The item frame lying whole at `pos` in `buf`, its length within `max`: its
/// payload, and where the frame after it starts. `None` for anything else (not all
/// there yet, another kind, a bad length): the slow path sees to it.
#[inline(always)]
fn item_at(buf: &[u8], pos: usize, max: u32) -> Option<(&[u8], usize)> {
    let (len_bytes, rest) = buf.get(pos..)?.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len_bytes);
    if len > max {
        return None;
    }
    // A length of 0 has no kind byte: no item either.
    let (&kind, body) = rest.get(..len as usize)?.split_first()?;
    (kind == Kind::Item as u8).then_some((body, pos + 4 + len as usize))
}

fn truncated(frame: u64, got: usize, len: usize) -> Error {
    protocol(format!(
        "frame {frame}: truncated: the stream ended after {got} of {len} bytes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Bincode, Codec, Encoder, Identity};

    /// Feeds `bytes` to a decoder in reads of at most `chunk` bytes; collects frames.
    fn decode_all(bytes: &[u8], chunk: usize, buffer: usize) -> Result<Vec<String>, Error> {
        decode_all_with(bytes, chunk, buffer, false)
    }

    /// As [`decode_all`], appending a large byte vector's bytes to it when `append`
    /// (as the tokio driver does), in most reads.
    fn decode_all_with(
        bytes: &[u8],
        chunk: usize,
        buffer: usize,
        append: bool,
    ) -> Result<Vec<String>, Error> {
        let mut dec = Decoder::new(1 << 24, buffer);
        let mut out = Vec::new();
        let mut rest = bytes;
        let mut greeted = false;
        loop {
            if !greeted {
                if dec.handshake()?.is_some() {
                    greeted = true;
                    continue;
                }
            } else if dec.poll_bytes(&Bincode)? {
                let f = dec.take()?;
                out.push(match f {
                    Frame::Item(b) => format!("bytes {}", Bincode.decode_bytes(b)?.len()),
                    Frame::Bytes(v) => format!("bytes {}", v.len()),
                    other => format!("{other:?}"),
                });
                continue;
            }
            if rest.is_empty() {
                dec.end_of_input()?;
                return Ok(out);
            }
            // Appending mixed with reads into the `read_target`, as a driver may.
            if append
                && !rest.len().is_multiple_of(3)
                && let Some((item, room)) = dec.append_target()
            {
                let k = chunk.min(rest.len()).min(room);
                item.extend_from_slice(&rest[..k]);
                dec.filled(k);
                rest = &rest[k..];
                continue;
            }
            let t = dec.read_target();
            let k = chunk.min(rest.len()).min(t.first.len() + t.then.len());
            let a = k.min(t.first.len());
            t.first[..a].copy_from_slice(&rest[..a]);
            t.then[..k - a].copy_from_slice(&rest[a..k]);
            dec.filled(k);
            rest = &rest[k..];
        }
    }

    #[test]
    fn frames_come_out_whatever_the_read_sizes() {
        let mut enc = Encoder::new(Bincode, Identity::of::<Vec<u8>>());
        for len in [0usize, 10, 100_000, 3, 20_000, 5] {
            enc.item(&vec![7u8; len]).unwrap();
        }
        enc.end();
        let bytes = enc.take();
        let want: Vec<String> = [0, 10, 100_000, 3, 20_000, 5]
            .iter()
            .map(|n| format!("bytes {n}"))
            .chain(["End".to_owned()])
            .collect();
        for chunk in [1, 7, 4096, 1 << 20] {
            for buffer in [64, 16 << 10] {
                for append in [false, true] {
                    let mut got = decode_all_with(&bytes, chunk, buffer, append).unwrap();
                    // The stream opens with the sender's trace context.
                    assert!(got.remove(0).starts_with("Context"));
                    assert_eq!(got, want, "chunk {chunk}, buffer {buffer}, {append}");
                }
            }
        }
    }

    /// A decoder past the handshake of `bytes`, all of them buffered.
    fn buffered(bytes: &[u8], max: u32) -> Decoder {
        let mut dec = Decoder::new(max, 1 << 16);
        dec.read_target().first[..bytes.len()].copy_from_slice(bytes);
        dec.filled(bytes.len());
        assert!(dec.handshake().unwrap().is_some());
        dec
    }

    #[test]
    fn the_item_fast_path_takes_whole_item_frames_and_leaves_the_rest() {
        let mut enc = Encoder::new(Bincode, Identity::of::<u64>());
        for n in [1u64, 300, 70_000] {
            enc.item(&n).unwrap();
        }
        enc.end();
        let mut bytes = enc.take();
        // The stream opens with a context frame: neither fast path takes it.
        let mut dec = buffered(&bytes, 1 << 20);
        assert!(dec.next_item().is_none());
        assert!(matches!(dec.next_frame().unwrap(), Some(Frame::Context(_))));
        let (n, first) = dec.next_item().unwrap();
        assert_eq!((n, Bincode.decode::<u64>(first).unwrap()), (2, 1));
        // The others in a row, up to the end frame; then the slow path has it.
        let mut got = Vec::new();
        let done: Result<(), ()> = dec.items(|n, b| {
            got.push((n, Bincode.decode::<u64>(b).unwrap()));
            Ok(())
        });
        assert_eq!((done, got), (Ok(()), vec![(3, 300), (4, 70_000)]));
        assert!(dec.items(|_, _| Err(())).is_ok(), "no item left");
        assert!(matches!(dec.next_frame().unwrap(), Some(Frame::End)));
        assert_eq!(dec.frame_number(), 5);

        // A failure stops the row after the failing frame, counted.
        let mut dec = buffered(&bytes, 1 << 20);
        assert!(dec.next_frame().unwrap().is_some());
        assert_eq!(
            dec.items(|n, _| if n == 3 { Err(n) } else { Ok(()) }),
            Err(3)
        );
        assert_eq!(dec.frame_number(), 3);
        assert!(dec.next_item().is_some());

        // Over the limit, cut short, or unknown: the slow path names it.
        let mut dec = buffered(&bytes, 20);
        assert!(
            dec.next_frame().is_err(),
            "the context frame is over 20 bytes"
        );
        let mut dec = buffered(&bytes, 1 << 20);
        assert!(dec.next_frame().unwrap().is_some());
        dec.max = 5; // the items are 2, 4 and 6 bytes
        assert_eq!(dec.items(|_, _| Ok::<(), ()>(())), Ok(()));
        assert_eq!(dec.frame_number(), 3);
        let e = dec.next_frame().unwrap_err();
        assert!(e.to_string().contains("frame 4: length 6 exceeds"), "{e}");
        let last = bytes.len() - 15; // the last item's frame: 4 + 1 + 5 bytes
        bytes[last + 4] = 9;
        let mut dec = buffered(&bytes, 1 << 20);
        assert!(dec.next_frame().unwrap().is_some());
        assert_eq!(dec.items(|_, _| Ok::<(), ()>(())), Ok(()));
        assert_eq!(dec.frame_number(), 3);
        let e = dec.next_frame().unwrap_err();
        assert!(
            e.to_string().contains("frame 4: unknown frame kind 9"),
            "{e}"
        );
        bytes[last + 4] = Kind::Item as u8;
        bytes.truncate(last + 7);
        let mut dec = buffered(&bytes, 1 << 20);
        assert!(dec.next_frame().unwrap().is_some());
        assert!(dec.items(|_, _| Ok::<(), ()>(())).is_ok());
        assert!(dec.next_item().is_none());
        assert!(dec.next_frame().unwrap().is_none());
        assert!(
            dec.end_of_input()
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
    }

    #[test]
    fn truncation_is_named() {
        let mut enc = Encoder::new(Bincode, Identity::of::<Vec<u8>>());
        enc.item(&vec![1u8; 50_000]).unwrap();
        let bytes = enc.take();
        for cut in [3, 17, 19, 30, 1000, bytes.len() - 1] {
            let e = decode_all(&bytes[..cut], 999, 1024).unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::Protocol | ErrorKind::Disconnected),
                "{e}"
            );
            assert!(e.to_string().contains("truncated"), "{cut}: {e}");
            // Appending the item's bytes counts them the same.
            let appended = decode_all_with(&bytes[..cut], 999, 1024, true).unwrap_err();
            assert_eq!(appended.to_string(), e.to_string());
        }
    }
}
