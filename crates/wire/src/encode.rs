//! The sending side, sans I/O: [`Encoder`] frames items into a buffer, and
//! [`Outbound`] is the sender's whole state machine around it — open, failed,
//! done; how many items were accepted; what a broken link or the receiver's report
//! means for the outcome. Blocking and async drivers write the bytes and feed back
//! what they learn; every decision is made here, once.

use std::any::{Any, TypeId};
use std::time::{Duration, Instant};

use consumer::{Error, ErrorKind};
use serde::Serialize;

use crate::codec::Codec;
use crate::context::{self, Context};
use crate::frame::{self, Handshake, Kind, Report};
use crate::{Identity, SmallBody, SmallFrame};

/// Byte vectors of at least this size may be written from where they lie instead of
/// being copied into the buffer ([`Encoder::bytes_header`]).
///
/// ```
/// assert_eq!(consumer_wire::DIRECT_BYTES, 16 << 10);
/// ```
pub const DIRECT_BYTES: usize = 16 << 10;

/// How much a sender buffers before it writes, whatever its flush policy.
///
/// ```
/// assert_eq!(consumer_wire::BATCH_BYTES, 64 << 10);
/// ```
pub const BATCH_BYTES: usize = 64 << 10;

/// When a sender with a writer of its own writes a lone item itself, and when it
/// hands its bytes over to be coalesced with what follows.
///
/// The rule has no timer. A producer that comes back sooner after the last write
/// ended than that write took is *quick*; a streak of quick arrivals in a row
/// ([`STREAK`](Pace::STREAK) at first) is a stream (hand over: what it sends next
/// piles up while the write is in flight and leaves in one write); a producer that
/// was away longer is alone (write in-line: no hand-over between threads on the
/// way), and the count starts again.
///
/// Why a streak and not one quick arrival: a write to a peer that sleeps includes
/// waking it, and when both sides' CPUs are awake a whole request and reply can take
/// less than that write did (2–3 µs measured on a virtual machine). Read as a
/// stream, such a request-reply loop handed its items to the writer thread one at a
/// time: a thread wake-up more per round trip than writing in-line. A stream of
/// `send`s is quick every time: it pays [`STREAK`](Pace::STREAK)` - 1` in-line
/// writes once, at its start.
///
/// Why the streak grows: the writer says what each hand-over bought
/// ([`coalesced`](Pace::coalesced)). A write that carried more than one item
/// coalesced a stream. A write that carried a single item coalesced nothing — the
/// producer sent nothing more while it was in flight, as a request-reply loop does
/// (it waits for the reply) — so the streak that makes a stream doubles, up to
/// [`MAX_STREAK`](Pace::MAX_STREAK), and a loop that only looks like a stream
/// writes in-line again, handing over once in up to 64 round trips. The first
/// write that coalesces puts the streak back to [`STREAK`](Pace::STREAK).
///
/// ```
/// use std::time::{Duration, Instant};
/// use consumer_wire::Pace;
///
/// let mut pace = Pace::default();
/// let t = Instant::now();
/// assert!(pace.in_line(t)); // nothing written yet: alone
/// pace.wrote(t, t + Duration::from_micros(2));
/// // Back within 1 µs: in-line `STREAK - 1` times; the next time, a stream.
/// for _ in 1..Pace::STREAK {
///     assert!(pace.in_line(t + Duration::from_micros(3)));
/// }
/// assert!(!pace.in_line(t + Duration::from_micros(3)));
/// // Away longer than the write took: alone again.
/// assert!(pace.in_line(t + Duration::from_micros(10)));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Pace {
    /// How long the last write took.
    took: Duration,
    /// When it ended.
    ended: Option<Instant>,
    /// Quick arrivals in a row (saturating).
    quick: u8,
    /// Hand-overs in a row whose write coalesced nothing (saturating): each
    /// doubles the streak that makes a stream.
    thin: u8,
}

impl Pace {
    /// How many quick arrivals in a row make a stream, at first and after a write
    /// that coalesced.
    pub const STREAK: u8 = 4;

    /// The longest the streak grows to after writes that coalesced nothing.
    pub const MAX_STREAK: u8 = 64;

    /// How many quick arrivals in a row make a stream now.
    ///
    /// ```
    /// use consumer_wire::Pace;
    ///
    /// let mut pace = Pace::default();
    /// assert_eq!(pace.streak(), Pace::STREAK);
    /// pace.coalesced(true); // a hand-over whose write carried one item
    /// assert_eq!(pace.streak(), 2 * Pace::STREAK);
    /// for _ in 0..10 {
    ///     pace.coalesced(true);
    /// }
    /// assert_eq!(pace.streak(), Pace::MAX_STREAK);
    /// pace.coalesced(false); // a write that carried a stream's items
    /// assert_eq!(pace.streak(), Pace::STREAK);
    /// ```
    pub fn streak(&self) -> u8 {
        // STREAK << 4 == MAX_STREAK.
        Self::STREAK << self.thin.min(4)
    }

    /// Whether a producer that has bytes at `now`, with nothing else pending and no
    /// write in flight, should write them itself. Counts the arrival.
    ///
    /// ```
    /// assert!(consumer_wire::Pace::default().in_line(std::time::Instant::now()));
    /// ```
    pub fn in_line(&mut self, now: Instant) -> bool {
        let quick = self
            .ended
            .is_some_and(|ended| now.saturating_duration_since(ended) < self.took);
        if !quick {
            self.quick = 0;
            return true;
        }
        self.quick = self.quick.saturating_add(1);
        self.quick < self.streak()
    }

    /// A write ran from `start` to `end`.
    ///
    /// ```
    /// let t = std::time::Instant::now();
    /// consumer_wire::Pace::default().wrote(t, t);
    /// ```
    pub fn wrote(&mut self, start: Instant, end: Instant) {
        self.took = end.saturating_duration_since(start);
        self.ended = Some(end);
    }

    /// The writer wrote what was handed over in one write; `single`: it was one
    /// frame alone. Returns whether that write coalesced nothing (`single`): then
    /// the streak that makes a stream doubles and the count of quick arrivals
    /// starts again, and the writer need not stay awake for more. A write of
    /// several frames, or of part of a large one (a producer still in the middle
    /// of a `send`), coalesced.
    ///
    /// ```
    /// use std::time::Instant;
    /// use consumer_wire::Pace;
    ///
    /// let mut pace = Pace::default();
    /// let t = Instant::now();
    /// pace.wrote(t, t + std::time::Duration::from_secs(1)); // a long write
    /// for _ in 0..Pace::STREAK {
    ///     pace.in_line(t); // quick arrivals: the last one is handed over
    /// }
    /// assert!(pace.coalesced(true)); // and its write carried it alone
    /// // Quick again: in-line until the doubled streak.
    /// for _ in 1..2 * Pace::STREAK {
    ///     assert!(pace.in_line(t));
    /// }
    /// assert!(!pace.in_line(t));
    /// ```
    pub fn coalesced(&mut self, single: bool) -> bool {
        if !single {
            self.thin = 0;
            return false;
        }
        self.thin = self.thin.saturating_add(1);
        self.quick = 0;
        true
    }
}

/// Frames items into a buffer: the handshake first, a context frame first and
/// again when the caller's span changed, then one frame per item.
///
/// ```
/// use consumer_wire::{Bincode, Encoder, Identity};
///
/// let mut enc = Encoder::new(Bincode, Identity::of::<u8>());
/// enc.item(&1u8)?;
/// assert_eq!(enc.buffer().len(), 18 + 2 + 41 + 5 + 1); // handshake (`u8`), context, item
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug)]
pub struct Encoder<C> {
    buf: Vec<u8>,
    codec: C,
    max_frame: u32,
    identity: Identity,
    /// Handshake flags (whether a report is expected).
    flags: u8,
    opened: bool,
    /// The caller's span last announced in a context frame (`None`: none yet).
    /// Only the span: a whole `Context` here (a `u128` inside) would align the
    /// encoder to 16 bytes.
    announced: Option<u64>,
    /// This stream's number in this process: with an item's place, its message id.
    stream: u64,
    /// Whether the items framed until the buffer is next emptied get their
    /// per-item trace event: the trace level, read when the buffer was last
    /// emptied (once a write), not once an item.
    trace: bool,
}

impl<C: Codec> Encoder<C> {
    /// An encoder for items of the type `identity` names, encoded by `codec`.
    ///
    /// ```
    /// let enc = consumer_wire::Encoder::new(consumer_wire::Postcard, consumer_wire::Identity::of::<u8>());
    /// assert!(enc.buffer().is_empty());
    /// ```
    pub fn new(codec: C, identity: Identity) -> Encoder<C> {
        Encoder {
            buf: Vec::with_capacity(BATCH_BYTES + 1024),
            codec,
            max_frame: frame::DEFAULT_MAX_FRAME,
            identity,
            flags: 0,
            opened: false,
            announced: None,
            stream: context::next_stream(),
            trace: trace_enabled(),
        }
    }

    /// This stream's number in this process: an item is named across processes by
    /// the sender's pid, this number and its place in the stream (see [`Context`]).
    ///
    /// ```
    /// let a = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// let b = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert_ne!(a.stream(), b.stream());
    /// ```
    pub fn stream(&self) -> u64 {
        self.stream
    }

    /// The codec.
    ///
    /// ```
    /// let enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// let _ = enc.codec();
    /// ```
    pub fn codec(&self) -> &C {
        &self.codec
    }

    /// Sets the largest frame written (clamped to `1..=`[`MAX_FRAME_CEILING`](crate::MAX_FRAME_CEILING)).
    ///
    /// ```
    /// let mut enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<Vec<u8>>());
    /// enc.set_max_frame(8);
    /// assert!(enc.item(&vec![0u8; 100]).is_err());
    /// ```
    pub fn set_max_frame(&mut self, max: u32) {
        self.max_frame = max.clamp(1, frame::MAX_FRAME_CEILING);
    }

    /// Replaces the item type's identity; only before the handshake is written.
    ///
    /// ```
    /// use consumer_wire::{Bincode, Encoder, Identity};
    ///
    /// let mut enc = Encoder::new(Bincode, Identity::of::<u8>());
    /// enc.set_identity(Identity::named("byte", 1));
    /// assert_eq!(enc.identity(), &Identity::named("byte", 1));
    /// ```
    pub fn set_identity(&mut self, identity: Identity) {
        debug_assert!(!self.opened, "the handshake is already written");
        self.identity = identity;
    }

    /// The item type's identity.
    ///
    /// ```
    /// let enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::named("n", 1));
    /// assert_eq!(enc.identity().to_string(), "n v1");
    /// ```
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Says in the handshake whether the sender waits for the receiver's report.
    ///
    /// ```
    /// let mut enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// enc.expect_report(true);
    /// ```
    pub fn expect_report(&mut self, yes: bool) {
        self.flags = if yes { frame::FLAG_REPORT } else { 0 };
    }

    /// The bytes framed so far and not yet [`clear`](Encoder::clear)ed.
    ///
    /// ```
    /// let enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert!(enc.buffer().is_empty());
    /// ```
    pub fn buffer(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets the buffered bytes: they were written.
    ///
    /// ```
    /// let mut enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// enc.item(&1u8)?;
    /// enc.clear();
    /// assert!(enc.buffer().is_empty());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn clear(&mut self) {
        self.buf.clear();
        self.trace = trace_enabled();
    }

    /// Takes the buffered bytes, leaving the buffer empty (its capacity goes with
    /// them).
    ///
    /// ```
    /// let mut enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// enc.end();
    /// assert_eq!(enc.take().len(), 18 + 2 + 41 + 5); // handshake (`u8`), context, end frame
    /// ```
    pub fn take(&mut self) -> Vec<u8> {
        self.trace = trace_enabled();
        std::mem::take(&mut self.buf)
    }

    /// Swaps the buffer with `other` (which should be empty): a writer thread takes
    /// the bytes and hands back a used buffer, so neither side allocates.
    ///
    /// ```
    /// let mut enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// enc.item(&1u8)?;
    /// let mut out = Vec::new();
    /// enc.swap(&mut out);
    /// assert!(enc.buffer().is_empty() && !out.is_empty());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn swap(&mut self, other: &mut Vec<u8>) {
        self.trace = trace_enabled();
        std::mem::swap(&mut self.buf, other);
    }

    /// The handshake, and the tracing context when it changed, go in front of the
    /// first frame of a batch. In-line: per item it is two comparisons and, on an
    /// empty buffer, one load (no subscriber) or a look at the caller's span.
    #[inline]
    fn prepare(&mut self) {
        if self.opened && self.buf.len() > frame::HANDSHAKE_LEN {
            return;
        }
        if self.opened && self.announced == Some(current_span_id()) {
            return;
        }
        self.open_batch();
    }

    #[inline(never)]
    fn open_batch(&mut self) {
        let mut head = 0;
        if !self.opened {
            self.opened = true;
            Handshake::new(C::ID, self.flags, &self.identity).encode_into(&mut self.buf);
            head = self.buf.len();
        }
        if self.buf.len() <= head.max(frame::HANDSHAKE_LEN) {
            // The context goes first, then again whenever the caller's span changed.
            let span = current_span_id();
            if self.announced != Some(span) {
                self.announced = Some(span);
                let cx = Context::here(self.stream, span);
                frame::push_frame(&mut self.buf, Kind::Context, &cx.encode());
            }
        }
    }

    /// Appends one item's frame.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) when the codec cannot encode it,
    /// [`Protocol`](ErrorKind::Protocol) when its frame exceeds the limit. Either
    /// way the buffer is as it was.
    ///
    /// ```
    /// let mut enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<String>());
    /// enc.item(&"ten".to_owned())?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    #[inline]
    pub fn item<T: Serialize + 'static>(&mut self, item: &T) -> Result<(), Error> {
        self.prepare();
        let start = frame::begin_frame(&mut self.buf, Kind::Item);
        // Byte vectors skip serde's call per byte; the bytes on the wire are the same.
        let encoded = match as_bytes(item) {
            Some(bytes) => self.codec.encode_bytes(bytes, &mut self.buf),
            None => self.codec.encode(item, &mut self.buf),
        };
        if let Err(e) = encoded {
            self.buf.truncate(start);
            return Err(e);
        }
        frame::end_frame(&mut self.buf, start, self.max_frame)
    }

    /// The frame of a small item as words, when nothing is buffered before it and
    /// its encoding fits ([`SMALL_BODY`](crate::SMALL_BODY) bytes). `None` when not:
    /// then [`item`](Encoder::item) frames it, after what the buffer holds (at most
    /// the frames that go first, which this call may have added: the handshake, a
    /// context).
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) when the codec cannot encode it.
    ///
    /// ```
    /// let mut enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u64>());
    /// assert!(enc.item_small(&1u64)?.is_none(), "the handshake goes first");
    /// enc.item(&1u64)?;
    /// enc.clear();
    /// let frame = enc.item_small(&2u64)?.expect("small");
    /// assert_eq!(&frame.to_bytes()[..frame.len()], &[2, 0, 0, 0, 1, 2]);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    // Always in-line: a frame returned through memory is read back with loads
    // wider than the stores that wrote it (the stall this path exists to avoid).
    #[inline(always)]
    pub fn item_small<T: Serialize + 'static>(
        &mut self,
        item: &T,
    ) -> Result<Option<SmallFrame>, Error> {
        self.prepare();
        if !self.buf.is_empty() {
            return Ok(None);
        }
        let mut body = SmallBody::default();
        if !self.codec.encode_small(item, &mut body)? || body.len() >= self.max_frame as usize {
            return Ok(None);
        }
        // As `clear` does: the frame is as good as written.
        self.trace = trace_enabled();
        Ok(Some(SmallFrame::item(&body)))
    }

    /// Appends the frame header of a byte vector of `len` bytes that the caller
    /// writes right after the buffer; `false` (buffer unchanged) when the codec
    /// cannot.
    ///
    /// # Errors
    ///
    /// [`Protocol`](ErrorKind::Protocol) when the frame would exceed the limit.
    ///
    /// ```
    /// let mut enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<Vec<u8>>());
    /// assert!(enc.bytes_header(100_000)?);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn bytes_header(&mut self, len: usize) -> Result<bool, Error> {
        self.prepare();
        let start = frame::begin_frame(&mut self.buf, Kind::Item);
        if !self.codec.bytes_header(len, &mut self.buf) {
            self.buf.truncate(start);
            return Ok(false);
        }
        let frame = self.buf.len() - start - 4 + len;
        if frame > self.max_frame as usize {
            self.buf.truncate(start);
            return Err(frame::protocol(format!(
                "the item takes {frame} bytes, more than the frame limit of {}",
                self.max_frame
            )));
        }
        self.buf[start..start + 4].copy_from_slice(&(frame as u32).to_le_bytes());
        Ok(true)
    }

    /// Appends the end frame: the sender closed the stream.
    ///
    /// ```
    /// let mut enc = consumer_wire::Encoder::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// enc.end();
    /// ```
    pub fn end(&mut self) {
        self.prepare();
        frame::push_frame(&mut self.buf, Kind::End, &[]);
    }
}

/// `item` as a byte vector, when that is its type; decided at compile time, so
/// other item types pay nothing for the byte-vector fast paths.
///
/// ```
/// assert_eq!(consumer_wire::as_bytes(&vec![1u8]), Some(&vec![1u8]));
/// assert_eq!(consumer_wire::as_bytes(&7u32), None);
/// ```
#[inline(always)]
pub fn as_bytes<T: 'static>(item: &T) -> Option<&Vec<u8>> {
    if TypeId::of::<T>() != TypeId::of::<Vec<u8>>() {
        return None;
    }
    (item as &dyn Any).downcast_ref::<Vec<u8>>()
}

/// The receiver's report as the outcome of a sender that had `accepted` items.
///
/// # Errors
///
/// The receiver's failure, with the count of items it never got; or a
/// [`Protocol`](ErrorKind::Protocol) error when it reports fewer items than were
/// sent.
///
/// ```
/// use consumer_wire::{Report, outcome_of};
///
/// assert!(outcome_of(Report { received: 2, outcome: Ok(()) }, 2).is_ok());
/// assert_eq!(outcome_of(Report { received: 1, outcome: Ok(()) }, 2).unwrap_err().undelivered(), Some(1));
/// ```
pub fn outcome_of(report: Report, accepted: u64) -> Result<(), Error> {
    let undelivered = accepted.saturating_sub(report.received);
    match report.outcome {
        Ok(()) if report.received == accepted => Ok(()),
        Ok(()) => Err(frame::protocol(format!(
            "the receiver reports {} items received, {accepted} were sent",
            report.received
        ))
        .with_undelivered(undelivered)),
        Err(e) => Err(e.with_undelivered(undelivered)),
    }
}

/// The id of the span the caller is in, or 0; without cloning the span.
#[inline]
/// Whether per-item events are wanted now (`TRACE` enabled).
fn trace_enabled() -> bool {
    tracing::level_enabled!(tracing::Level::TRACE)
}

pub(crate) fn current_span_id() -> u64 {
    // No subscriber was ever set: there is no span (one atomic load, not a lookup
    // of the thread's dispatcher for every batch).
    if !tracing::dispatcher::has_been_set() {
        return 0;
    }
    tracing::dispatcher::get_default(|d| d.current_span().id().map_or(0, |id| id.into_u64()))
}

/// Where a sender stands.
#[derive(Debug, Clone)]
enum State {
    Open,
    /// The link broke or the receiver failed; `close` still owes the driver's finish.
    Failed(Error),
    Done(Result<(), Error>),
}

/// What the report channel said when the driver looked.
///
/// ```
/// let heard = consumer_wire::Heard::Nothing;
/// assert!(matches!(heard, consumer_wire::Heard::Nothing));
/// ```
#[derive(Debug)]
pub enum Heard {
    /// There is no report channel, or it ended without a report.
    Nothing,
    /// The receiver's report.
    Report(Report),
    /// The report channel broke the protocol.
    Bad(Error),
}

impl Heard {
    /// Classifies what reading one frame from a report channel gave: `frame` is the
    /// frame's number, for the error message. An I/O error on the way back means
    /// the receiver is gone: nothing was heard.
    ///
    /// ```
    /// use consumer_wire::{Frame, Heard};
    ///
    /// assert!(matches!(Heard::from_frame(1, Ok(Some(Frame::End))), Heard::Bad(_)));
    /// assert!(matches!(Heard::from_frame(1, Ok(None)), Heard::Nothing));
    /// ```
    pub fn from_frame(n: u64, frame: Result<Option<crate::Frame<'_>>, Error>) -> Heard {
        match frame {
            Ok(Some(crate::Frame::Report(body))) => match Report::decode(body) {
                Some(report) => Heard::Report(report),
                None => Heard::Bad(frame::protocol(format!(
                    "report channel, frame {n}: malformed report"
                ))),
            },
            Ok(None) => Heard::Nothing,
            Ok(Some(other)) => Heard::Bad(frame::protocol(format!(
                "report channel, frame {n}: expected a report, got {other:?}"
            ))),
            Err(e) if e.kind() != ErrorKind::Protocol => Heard::Nothing,
            Err(e) => Heard::Bad(e),
        }
    }
}

/// A sender's state machine around its [`Encoder`]: accepts items while open,
/// turns a broken link or the receiver's report into the outcome, and remembers it.
///
/// The driver owns the I/O: it writes [`encoder`](Outbound::encoder)'s buffer when
/// it chooses, reads the report channel when asked to, and tells the machine what
/// happened. Blocking and async senders drive the same machine.
///
/// ```
/// use consumer_wire::{Bincode, Heard, Identity, Outbound, Report};
///
/// let mut out = Outbound::new(Bincode, Identity::of::<u8>());
/// out.encoder().item(&1u8)?;
/// out.accepted_one();
/// // ... the driver writes `out.encoder().buffer()` and clears it ...
/// out.encoder().end();
/// let outcome = out.end_outcome(Heard::Report(Report { received: 1, outcome: Ok(()) }), None);
/// assert!(outcome.is_ok());
/// out.done(outcome);
/// assert!(out.check_open().is_err()); // closed
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug)]
pub struct Outbound<C> {
    enc: Encoder<C>,
    state: State,
    accepted: u64,
    reports: bool,
}

impl<C: Codec> Outbound<C> {
    /// A sender's machine for items of the type `identity` names.
    ///
    /// ```
    /// let out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert_eq!(out.accepted(), 0);
    /// ```
    pub fn new(codec: C, identity: Identity) -> Outbound<C> {
        Outbound {
            enc: Encoder::new(codec, identity),
            state: State::Open,
            accepted: 0,
            reports: false,
        }
    }

    /// The encoder, to frame items into and write out from.
    ///
    /// ```
    /// let mut out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert!(out.encoder().buffer().is_empty());
    /// ```
    pub fn encoder(&mut self) -> &mut Encoder<C> {
        &mut self.enc
    }

    /// The encoder, read-only.
    ///
    /// ```
    /// let out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert!(out.encoder_ref().buffer().is_empty());
    /// ```
    pub fn encoder_ref(&self) -> &Encoder<C> {
        &self.enc
    }

    /// Whether the receiver reports at the end; said in the handshake.
    ///
    /// ```
    /// let mut out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// out.set_reports(true);
    /// assert!(out.reports());
    /// ```
    pub fn set_reports(&mut self, yes: bool) {
        self.reports = yes;
        self.enc.expect_report(yes);
    }

    /// Whether the receiver reports at the end.
    ///
    /// ```
    /// let out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert!(!out.reports());
    /// ```
    pub fn reports(&self) -> bool {
        self.reports
    }

    /// `Ok` while items may be sent; else why not: the failure, or
    /// [`Closed`](ErrorKind::Closed).
    ///
    /// # Errors
    ///
    /// As said.
    ///
    /// ```
    /// let out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert!(out.check_open().is_ok());
    /// ```
    pub fn check_open(&self) -> Result<(), Error> {
        match &self.state {
            State::Open => Ok(()),
            State::Failed(e) | State::Done(Err(e)) => Err(e.clone()),
            State::Done(Ok(())) => Err(Error::from(ErrorKind::Closed)),
        }
    }

    /// Whether `close` has run to its end.
    ///
    /// ```
    /// let out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert!(!out.is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// Items accepted so far.
    ///
    /// ```
    /// let out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert_eq!(out.accepted(), 0);
    /// ```
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Counts one more accepted item (its `send` returns `Ok`).
    ///
    /// ```
    /// let mut out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// out.accepted_one();
    /// assert_eq!(out.accepted(), 1);
    /// ```
    pub fn accepted_one(&mut self) {
        self.accepted += 1;
        // Per item, at trace level, as the encoder read the level when its buffer
        // was last emptied (once a write: a subscriber that raises the level
        // mid-batch sees events from the next write on). A field per item when
        // nobody listens, the event's machinery out of line.
        if self.enc.trace {
            crate::context::sent(self.enc.stream, self.accepted);
        }
    }

    /// Takes back the last accepted item: its write failed, it goes back to the
    /// caller.
    ///
    /// ```
    /// let mut out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// out.accepted_one();
    /// out.unaccept_one();
    /// assert_eq!(out.accepted(), 0);
    /// ```
    pub fn unaccept_one(&mut self) {
        self.accepted = self.accepted.saturating_sub(1);
    }

    /// The link broke while writing (`io`): given what the report channel said and,
    /// if nothing, why the far end is gone (a child's exit), the error every later
    /// send returns. The machine stays failed.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind};
    /// use consumer_wire::{Bincode, Heard, Identity, Outbound};
    ///
    /// let mut out = Outbound::new(Bincode, Identity::of::<u8>());
    /// let e = out.broken(Error::from(ErrorKind::Io), Heard::Nothing, None);
    /// assert_eq!(e.kind(), ErrorKind::Io);
    /// assert_eq!(out.check_open().unwrap_err().kind(), ErrorKind::Io);
    /// ```
    pub fn broken(&mut self, io: Error, heard: Heard, gone: Option<Error>) -> Error {
        self.broken_losing(io, heard, gone, None)
    }

    /// As [`broken`](Outbound::broken), for a link whose writer knows that
    /// `unwritten` accepted items never fully left (they were in the failed write
    /// or queued behind it). Only a report says exactly how many items the
    /// receiver got; without one, items that were written may have been lost too
    /// (in a pipe's buffer, behind a reader that died), so the error says "at least
    /// `unwritten`" in its message and carries no count: a count, where there is
    /// one, is exact.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind};
    /// use consumer_wire::{Bincode, Heard, Identity, Outbound};
    ///
    /// let mut out = Outbound::new(Bincode, Identity::of::<u8>());
    /// let e = out.broken_losing(Error::from(ErrorKind::Io), Heard::Nothing, None, Some(3));
    /// assert_eq!(e.undelivered(), None);
    /// assert!(e.to_string().contains("at least 3 accepted items never left"));
    /// ```
    pub fn broken_losing(
        &mut self,
        io: Error,
        heard: Heard,
        gone: Option<Error>,
        unwritten: Option<u64>,
    ) -> Error {
        let error = match heard {
            Heard::Report(report) => match outcome_of(report, self.accepted) {
                Err(reported) => reported,
                Ok(()) => Error::new(
                    ErrorKind::Disconnected,
                    "the receiver finished before the stream ended",
                ),
            },
            Heard::Nothing => gone.unwrap_or(io),
            Heard::Bad(protocol) => protocol,
        };
        let error = match unwritten {
            Some(n) if n > 0 && error.undelivered().is_none() => {
                let message = format!(
                    "{}; at least {n} accepted items never left",
                    error
                        .message()
                        .map_or_else(|| error.to_string(), str::to_owned)
                );
                error.with_message(message)
            }
            _ => error,
        };
        tracing::debug!(error = %error, "the link to the receiver broke");
        self.state = State::Failed(error.clone());
        error
    }

    /// Where `close` starts: `Some(outcome)` when it already ran (return that
    /// again), `Some(Err)` with the failure when the link broke earlier (the driver
    /// still finishes), `None` when the stream is open and must be ended.
    ///
    /// ```
    /// let out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert!(out.closing().is_none());
    /// ```
    pub fn closing(&self) -> Option<Result<(), Error>> {
        match &self.state {
            State::Open => None,
            State::Failed(e) => Some(Err(e.clone())),
            State::Done(outcome) => Some(outcome.clone()),
        }
    }

    /// After the end frame was written: the outcome, from what the report channel
    /// said (when the receiver reports) and, if nothing, why the far end is gone.
    ///
    /// # Errors
    ///
    /// The receiver's reported failure; [`Disconnected`](ErrorKind::Disconnected)
    /// when it reports but ended without a report.
    ///
    /// ```
    /// use consumer::ErrorKind;
    /// use consumer_wire::{Bincode, Heard, Identity, Outbound};
    ///
    /// let mut out = Outbound::new(Bincode, Identity::of::<u8>());
    /// out.set_reports(true);
    /// let e = out.end_outcome(Heard::Nothing, None).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Disconnected);
    /// ```
    pub fn end_outcome(&self, heard: Heard, gone: Option<Error>) -> Result<(), Error> {
        if !self.reports {
            return Ok(());
        }
        match heard {
            Heard::Report(report) => outcome_of(report, self.accepted),
            Heard::Nothing => Err(gone.unwrap_or_else(|| {
                Error::new(
                    ErrorKind::Disconnected,
                    "the receiver ended without reporting its outcome",
                )
            })),
            Heard::Bad(e) => Err(e),
        }
    }

    /// Records the final outcome: later `close`s return it, later sends fail.
    ///
    /// ```
    /// let mut out = consumer_wire::Outbound::new(consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// out.done(Ok(()));
    /// assert!(out.is_done());
    /// ```
    pub fn done(&mut self, outcome: Result<(), Error>) {
        self.state = State::Done(outcome);
    }
}
