//! The receiving end: frames from any `Read`, dispatched to any consumer.

use std::any::{Any, TypeId};
use std::fmt;
use std::io::{Read, Write};

use consumer::{Consumer, Error, Inline};
use serde::de::DeserializeOwned;

use crate::codec::{Bincode, Codec};
use crate::wire::{self, Frame, FrameReader, Handshake, Report};

/// The receiver's read buffer: frames that fit are parsed where they lie. Small, so
/// that most of a large byte vector goes from the stream straight into its item;
/// batches of small items still arrive in few reads.
const READ_BUFFER: usize = 16 << 10;

/// Reads frames from any [`Read`] — a pipe, a FIFO, a file, a socket — and hands the
/// items to a consumer; at the end of the stream it closes the consumer.
///
/// [`run`](Receiver::run) is the whole life of the far end of a [`Sender`](crate::Sender):
/// check the handshake, deliver items in order, close the consumer on the sender's
/// end frame or at end of input, and, with [`report_to`](Receiver::report_to), tell
/// the sender how it went. The consumer runs under the
/// [lifecycle contract](consumer::Consumer#the-lifecycle-contract): a panic in it is
/// caught and reported, and after its first error it gets no more items.
///
/// Bad input stops the run with a [`Protocol`](consumer::ErrorKind::Protocol) error naming the
/// problem and the frame: a wrong handshake, a length over the limit (checked before
/// anything is allocated), a truncated frame, an undecodable payload, an unknown
/// frame kind. Never a panic, an abort or an unbounded allocation. The consumer is
/// still closed.
///
/// # Examples
///
/// ```
/// use consumer::{Consumer, ErrorKind};
/// use consumer_process::{Receiver, Sender};
///
/// let mut bytes = Vec::new();
/// Sender::new(&mut bytes).send_all([1u64, 2, 3])?;
///
/// let mut got = Vec::new();
/// assert_eq!(Receiver::new(&bytes[..]).run::<u64, _>(&mut got)?, 3);
/// assert_eq!(got, [1, 2, 3]);
///
/// // The same bytes read as another type are refused at the handshake.
/// let e = Receiver::new(&bytes[..]).run::<String, _>(Vec::new()).unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Protocol);
/// assert!(e.message().unwrap().contains("fingerprint"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Receiver<R: Read, C: Codec = Bincode> {
    frames: FrameReader<R>,
    codec: C,
    tag: String,
    report: Option<Box<dyn Write + Send>>,
}

impl<R: Read> Receiver<R> {
    /// A receiver over `input`, decoding with the default codec ([`Bincode`]).
    ///
    /// ```
    /// let rx = consumer_process::Receiver::new(std::io::empty());
    /// # drop(rx);
    /// ```
    pub fn new(input: R) -> Receiver<R> {
        Receiver::with_codec(input, Bincode)
    }
}

impl<R: Read, C: Codec> Receiver<R, C> {
    /// A receiver over `input` that decodes with `codec`.
    ///
    /// ```
    /// use consumer_process::{Postcard, Receiver};
    ///
    /// let rx = Receiver::with_codec(std::io::empty(), Postcard);
    /// # drop(rx);
    /// ```
    pub fn with_codec(input: R, codec: C) -> Receiver<R, C> {
        Receiver {
            frames: FrameReader::new(input, wire::DEFAULT_MAX_FRAME, READ_BUFFER),
            codec,
            tag: String::new(),
            report: None,
        }
    }

    /// The tag the sender must have set with [`Sender::tag`](crate::Sender::tag).
    ///
    /// ```
    /// let rx = consumer_process::Receiver::new(std::io::empty()).tag("orders-v2");
    /// # drop(rx);
    /// ```
    pub fn tag(mut self, tag: &str) -> Receiver<R, C> {
        tag.clone_into(&mut self.tag);
        self
    }

    /// The largest frame accepted (default [`DEFAULT_MAX_FRAME`](crate::DEFAULT_MAX_FRAME),
    /// at most [`MAX_FRAME_CEILING`](crate::MAX_FRAME_CEILING)).
    ///
    /// ```
    /// let rx = consumer_process::Receiver::new(std::io::empty()).max_frame(1 << 10);
    /// # drop(rx);
    /// ```
    pub fn max_frame(mut self, bytes: u32) -> Receiver<R, C> {
        self.frames.set_max(bytes.clamp(1, wire::MAX_FRAME_CEILING));
        self
    }

    /// Writes the run's outcome to `back` when it ends, for a sender made with
    /// [`Sender::with_report`](crate::Sender::with_report).
    ///
    /// ```
    /// let rx = consumer_process::Receiver::new(std::io::empty()).report_to(std::io::sink());
    /// # drop(rx);
    /// ```
    pub fn report_to<W: Write + Send + 'static>(mut self, back: W) -> Receiver<R, C> {
        self.report = Some(Box::new(back));
        self
    }

    /// Runs to the end of the stream: checks the handshake, hands every item to
    /// `consumer` in order, then closes it. Returns how many items it delivered.
    ///
    /// # Errors
    ///
    /// The first of: bad input ([`Protocol`](consumer::ErrorKind::Protocol), naming the frame),
    /// an I/O error reading, the consumer's failure (its error or
    /// [`Panicked`](consumer::ErrorKind::Panicked)), or the consumer's `close` failing. A stream
    /// that ends before the handshake is [`Disconnected`](consumer::ErrorKind::Disconnected).
    pub fn run<T, K>(mut self, consumer: K) -> Result<u64, Error>
    where
        T: DeserializeOwned + 'static,
        K: Consumer<T>,
    {
        let span = receive_span(consumer.name());
        let _entered = span.enter();
        let mut inline = Inline::new(consumer);
        let (received, outcome) = self.pump(&mut inline, &span);
        // Stop reading before anything else, so that a sender blocked on a full pipe
        // sees the break at once.
        let Receiver { frames, report, .. } = self;
        drop(frames);
        let (outcome, frame) = conclude(|| inline.close(), received, outcome);
        if let Some(mut back) = report {
            // The sender may be gone; then there is no one to tell.
            let _ = back.write_all(&frame).and_then(|()| back.flush());
        }
        outcome.map(|()| received)
    }

    fn pump<T, K>(
        &mut self,
        consumer: &mut Inline<K>,
        span: &tracing::Span,
    ) -> (u64, Result<(), Error>)
    where
        T: DeserializeOwned + 'static,
        K: Consumer<T>,
    {
        let checked = self
            .frames
            .read_handshake()
            .and_then(|hs| check_handshake::<T, C>(&hs, &self.tag));
        if let Err(e) = checked {
            return (0, Err(e));
        }
        let mut received = 0;
        let bytes_items = TypeId::of::<T>() == TypeId::of::<Vec<u8>>();
        loop {
            if bytes_items {
                match self.frames.large_bytes_item(&self.codec) {
                    Ok(None) => {}
                    Ok(Some(bytes)) => {
                        received += 1;
                        if let Err(e) = consumer.send(cast(bytes)) {
                            return (received, Err(e.into_error()));
                        }
                        continue;
                    }
                    Err(e) => return (received, Err(e)),
                }
            }
            let n = self.frames.frame_number() + 1;
            let step = match self.frames.next() {
                Err(e) => Err(e),
                Ok(frame) => dispatch(&self.codec, n, frame, consumer, span, &mut received),
            };
            match step {
                Ok(true) => {}
                Ok(false) => return (received, Ok(())),
                Err(e) => return (received, Err(e)),
            }
        }
    }
}

/// Checks the peer's handshake for items of type `T`.
pub(crate) fn check_handshake<T: ?Sized, C: Codec>(
    hs: &[u8; wire::HANDSHAKE_LEN],
    tag: &str,
) -> Result<Handshake, Error> {
    Handshake::check(
        hs,
        (C::ID, C::NAME),
        wire::fingerprint::<T>(tag),
        std::any::type_name::<T>(),
    )
}

/// Handles frame `n` (`None`: the end of input): `Ok(true)` to read on, `Ok(false)`
/// at the end of the stream.
#[inline]
pub(crate) fn dispatch<T, K, C>(
    codec: &C,
    n: u64,
    frame: Option<Frame<'_>>,
    consumer: &mut Inline<K>,
    span: &tracing::Span,
    received: &mut u64,
) -> Result<bool, Error>
where
    T: DeserializeOwned + 'static,
    K: Consumer<T>,
    C: Codec,
{
    let bytes = match frame {
        None => {
            tracing::debug!("the stream ended without an end frame");
            return Ok(false);
        }
        Some(Frame::End) => return Ok(false),
        Some(Frame::Context(cx)) => {
            span.record("sender_pid", cx.pid);
            span.record("sender_span", cx.span);
            return Ok(true);
        }
        Some(Frame::Report(_)) => {
            return Err(wire::protocol(format!(
                "frame {n}: a report frame from the sender"
            )));
        }
        Some(Frame::Item(bytes)) => bytes,
    };
    let item: T = decode(codec, bytes).map_err(|e| {
        let message = format!("frame {n}: {}", e.message().unwrap_or_default());
        e.with_message(message)
    })?;
    *received += 1;
    consumer.send(item).map_err(|e| e.into_error())?;
    Ok(true)
}

/// Ends a run: closes the consumer and folds its outcome in; returns the outcome and
/// the report frame for the sender.
pub(crate) fn conclude(
    close: impl FnOnce() -> Result<(), Error>,
    received: u64,
    outcome: Result<(), Error>,
) -> (Result<(), Error>, Vec<u8>) {
    // The consumer is closed whatever ended the run (the contract: after an error,
    // its close still runs); the first failure is the outcome.
    let closed = close();
    let outcome = outcome.and(closed);
    match &outcome {
        Ok(()) => tracing::debug!(received, "stream ended; consumer closed"),
        Err(e) => tracing::debug!(received, error = %e, "run failed"),
    }
    let report = Report {
        received,
        outcome: outcome.clone(),
    };
    (outcome, report.frame())
}

/// The receive span: the runner, the consumer, this process, and (once the sender
/// says) the sender's process and span.
pub(crate) fn receive_span(consumer: &str) -> tracing::Span {
    tracing::info_span!(
        "process.receive",
        runner = "process",
        consumer = consumer,
        pid = std::process::id(),
        sender_pid = tracing::field::Empty,
        sender_span = tracing::field::Empty,
    )
}

/// Decodes one item; byte vectors skip serde's call per byte.
#[inline]
pub(crate) fn decode<T: DeserializeOwned + 'static, C: Codec>(
    codec: &C,
    bytes: &[u8],
) -> Result<T, Error> {
    if TypeId::of::<T>() != TypeId::of::<Vec<u8>>() {
        return codec.decode(bytes);
    }
    Ok(cast(codec.decode_bytes(bytes)?))
}

/// A `Vec<u8>` as the item type `T`, which the caller checked is `Vec<u8>`.
fn cast<T: 'static>(bytes: Vec<u8>) -> T {
    let mut slot = Some(bytes);
    let item = (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<T>>()
        .and_then(Option::take);
    item.expect("T is Vec<u8>")
}

impl<R: Read, C: Codec> fmt::Debug for Receiver<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("codec", &C::NAME)
            .field("tag", &self.tag)
            .field("frame", &self.frames.frame_number())
            .field("reports", &self.report.is_some())
            .finish()
    }
}
