//! The receiving end: frames from any `Read`, dispatched to any consumer.

use std::fmt;
use std::io::{Read, Write};

use consumer::{Consumer, Error};
use consumer_wire::{Bincode, Codec, Decoder, Identity, Inbound};
use serde::de::DeserializeOwned;

use crate::io::read_into;

/// The receiver's read buffer: frames that fit are parsed where they lie. Small, so
/// that most of a large byte vector goes from the stream straight into its item;
/// batches of small items still arrive in few reads. The async receiver uses the
/// same size.
pub(crate) const READ_BUFFER: usize = 16 << 10;

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
/// use std::io::Read;
///
/// let (mut r, w) = std::io::pipe()?;
/// Sender::new(w).send_all([1u64, 2, 3])?; // dropped: closed
/// let mut bytes = Vec::new();
/// r.read_to_end(&mut bytes)?;
///
/// let mut got = Vec::new();
/// assert_eq!(Receiver::new(&bytes[..]).run::<u64, _>(&mut got)?, 3);
/// assert_eq!(got, [1, 2, 3]);
///
/// // The same bytes read as another type are refused at the handshake.
/// let e = Receiver::new(&bytes[..]).run::<String, _>(Vec::new()).unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Protocol);
/// assert!(e.message().unwrap().contains("the peer sends `u64`, this end expects `String`"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Receiver<R: Read, C: Codec = Bincode> {
    input: R,
    incoming: Incoming<C>,
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
            input,
            incoming: Incoming::new(codec),
            report: None,
        }
    }

    /// The item type's identity the sender must announce, when not the one derived
    /// from the item type: see [`Sender::identity`](crate::Sender::identity).
    ///
    /// ```
    /// use consumer_process::{Identity, Receiver};
    ///
    /// let rx = Receiver::new(std::io::empty()).identity(Identity::named("orders.Order", 2));
    /// # drop(rx);
    /// ```
    pub fn identity(mut self, identity: Identity) -> Receiver<R, C> {
        self.incoming.identity = Some(identity);
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
        self.incoming.dec.set_max(bytes);
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
    pub fn run<T, K>(self, consumer: K) -> Result<u64, Error>
    where
        T: DeserializeOwned + 'static,
        K: Consumer<T>,
    {
        let (mut dec, mut rx) = self.incoming.start(consumer);
        let (mut input, report) = (self.input, self.report);
        let span = rx.span().clone();
        let _entered = span.enter();
        let outcome = (|| drive!(rx, dec, read_into(&mut dec, &mut input)))();
        // Stop reading before anything else, so that a sender blocked on a full pipe
        // sees the break at once.
        drop(input);
        let (outcome, frame) = rx.finish(outcome);
        if let Some(mut back) = report {
            // The sender may be gone; then there is no one to tell.
            let _ = back.write_all(&frame).and_then(|()| back.flush());
        }
        outcome
    }
}

/// The loop that drives a receiving machine, for the blocking and the async
/// receiver alike (`$read` reads once into the decoder, awaiting if need be): what
/// the bytes allow, then a read, until the end frame or the end of the input.
macro_rules! drive {
    ($rx:ident, $dec:ident, $read:expr) => {
        loop {
            if $rx.advance(&mut $dec)? {
                break Ok(());
            }
            if $read? == 0 {
                break $dec.end_of_input();
            }
        }
    };
}
pub(crate) use drive;

/// What both receivers, blocking and async, hold until they run: the decoder, the
/// codec, and the identity to expect.
#[derive(Debug)]
pub(crate) struct Incoming<C> {
    pub(crate) dec: Decoder,
    codec: C,
    pub(crate) identity: Option<Identity>,
}

impl<C: Codec> Incoming<C> {
    pub(crate) fn new(codec: C) -> Incoming<C> {
        Incoming {
            dec: Decoder::new(consumer_wire::DEFAULT_MAX_FRAME, READ_BUFFER),
            codec,
            identity: None,
        }
    }

    /// The decoder and the receiving machine for a run delivering to `consumer`.
    pub(crate) fn start<T, K>(self, consumer: K) -> (Decoder, Inbound<T, K, C>)
    where
        T: DeserializeOwned + 'static,
        K: Consumer<T>,
    {
        let identity = self.identity.unwrap_or_else(Identity::of::<T>);
        (self.dec, Inbound::new(consumer, self.codec, identity))
    }
}

impl<R: Read, C: Codec> fmt::Debug for Receiver<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("codec", &C::NAME)
            .field("identity", &self.incoming.identity)
            .field("frame", &self.incoming.dec.frame_number())
            .field("reports", &self.report.is_some())
            .finish()
    }
}
