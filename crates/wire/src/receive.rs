//! The receiving side, sans I/O: [`Inbound`] checks the handshake, decodes each item
//! frame and hands the item to the consumer under the lifecycle contract, and at the
//! end closes the consumer and writes the report. Blocking and async receivers feed
//! it the frames their [`Decoder`](crate::Decoder) yields.

use std::any::{Any, TypeId};
use std::marker::PhantomData;

use consumer::{Consumer, Error, ErrorKind, Inline};
use serde::de::DeserializeOwned;

use crate::codec::Codec;
use crate::context::{Context, Inherit};
use crate::frame::{self, Frame, Handshake, Report};
use crate::{Decoder, Identity};

/// A receiver's state machine: the far end of an [`Outbound`](crate::Outbound).
///
/// ```
/// use consumer_wire::{Bincode, Decoder, Encoder, Identity, Inbound};
///
/// let mut enc = Encoder::new(Bincode, Identity::of::<u32>());
/// enc.item(&5u32)?;
/// enc.end();
/// let bytes = enc.take();
///
/// let mut got = Vec::new();
/// let mut rx = Inbound::<u32, _, _>::new(&mut got, Bincode, Identity::of::<u32>());
/// let mut dec = Decoder::new(1 << 20, 1024);
/// dec.read_target().first[..bytes.len()].copy_from_slice(&bytes);
/// dec.filled(bytes.len());
/// rx.handshake(&dec.handshake()?.unwrap())?;
/// while rx.step(&mut dec)? {}
/// assert!(rx.ended());
/// let (outcome, _report) = rx.finish(Ok(()));
/// assert_eq!(outcome?, 1);
/// assert_eq!(got, [5]);
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug)]
pub struct Inbound<T, K: Consumer<T>, C> {
    consumer: Inline<K>,
    codec: C,
    identity: Identity,
    received: u64,
    ended: bool,
    /// The peer's handshake came and was accepted.
    greeted: bool,
    span: tracing::Span,
    /// The sender's trace context, once its context frame came (boxed: a `u128`
    /// inside would align the whole machine to 16 bytes).
    context: Box<Context>,
    _item: PhantomData<fn(T)>,
}

impl<T, K, C> Inbound<T, K, C>
where
    T: DeserializeOwned + 'static,
    K: Consumer<T>,
    C: Codec,
{
    /// A receiver that hands items of type `T` (as `identity` names it) to
    /// `consumer`. Opens the `process.receive` span.
    ///
    /// ```
    /// let rx = consumer_wire::Inbound::<u8, _, _>::new(Vec::new(), consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert_eq!(rx.received(), 0);
    /// ```
    pub fn new(consumer: K, codec: C, identity: Identity) -> Inbound<T, K, C> {
        let span = receive_span(consumer.name());
        Inbound {
            consumer: Inline::new(consumer),
            codec,
            identity,
            received: 0,
            ended: false,
            greeted: false,
            span,
            context: Box::default(),
            _item: PhantomData,
        }
    }

    /// The run's span: drivers enter it while they work.
    ///
    /// ```
    /// let rx = consumer_wire::Inbound::<u8, _, _>::new(Vec::new(), consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// let _entered = rx.span().enter();
    /// ```
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Items handed to the consumer so far.
    ///
    /// ```
    /// let rx = consumer_wire::Inbound::<u8, _, _>::new(Vec::new(), consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert_eq!(rx.received(), 0);
    /// ```
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether the sender's end frame came.
    ///
    /// ```
    /// let rx = consumer_wire::Inbound::<u8, _, _>::new(Vec::new(), consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// assert!(!rx.ended());
    /// ```
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Checks the peer's handshake.
    ///
    /// # Errors
    ///
    /// [`Protocol`](ErrorKind::Protocol): another codec or item type (naming both
    /// sides' item types).
    ///
    /// ```
    /// use consumer_wire::{Handshake, Identity, Inbound};
    ///
    /// let mut rx = Inbound::<u8, _, _>::new(Vec::new(), consumer_wire::Bincode, Identity::of::<u8>());
    /// let e = rx.handshake(&Handshake::new(1, 0, &Identity::of::<String>())).unwrap_err();
    /// assert!(e.to_string().contains("the peer sends `String`, this end expects `u8`"), "{e}");
    /// ```
    pub fn handshake(&mut self, hs: &Handshake) -> Result<(), Error> {
        hs.check((C::ID, C::NAME), &self.identity)
    }

    /// Does everything `dec`'s bytes allow — the handshake first, then every whole
    /// frame — and says whether the stream is over: `Ok(true)` after the end frame,
    /// `Ok(false)` when more bytes are needed. The whole loop of a driver is: advance;
    /// if not over, read into the decoder; at the end of input, ask the decoder
    /// ([`Decoder::end_of_input`]) what that means.
    ///
    /// # Errors
    ///
    /// As [`handshake`](Inbound::handshake) and [`step`](Inbound::step).
    ///
    /// ```
    /// let mut rx = consumer_wire::Inbound::<u8, _, _>::new(Vec::new(), consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// let mut dec = consumer_wire::Decoder::new(1024, 1024);
    /// assert!(!rx.advance(&mut dec)?); // nothing read yet
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn advance(&mut self, dec: &mut Decoder) -> Result<bool, Error> {
        if !self.greeted {
            let Some(hs) = dec.handshake()? else {
                return Ok(false);
            };
            self.handshake(&hs)?;
            self.greeted = true;
        }
        // The sender's trace id is the delivering thread's while items are handed
        // over (sends made by the consumer carry it): set once per call (and by a
        // context frame), put back at the end, never touched per item.
        let _restore = Inherit::set(self.context.trace);
        while !self.ended {
            // Every item frame whole in the buffer, then whatever else comes.
            dec.items(|n, bytes| self.item(n, bytes))?;
            if !self.step_frame(dec)? {
                break;
            }
        }
        Ok(self.ended)
    }

    /// Takes the next frame from `dec`, if one is ready, and acts on it: `Ok(true)`
    /// after an item or a context frame, `Ok(false)` when the decoder needs more
    /// bytes or the stream ended (see [`ended`](Inbound::ended)). A context frame
    /// makes the sender's trace id this thread's (see
    /// [`Context::in_trace`](crate::Context::in_trace)); [`advance`](Inbound::advance)
    /// puts the thread's own back when it returns, `step` alone does not.
    ///
    /// # Errors
    ///
    /// Bad input ([`Protocol`](ErrorKind::Protocol), naming the frame), or the
    /// consumer's failure (its error, or [`Panicked`](ErrorKind::Panicked)).
    ///
    /// ```
    /// let mut rx = consumer_wire::Inbound::<u8, _, _>::new(Vec::new(), consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// let mut dec = consumer_wire::Decoder::new(1024, 1024);
    /// assert!(!rx.step(&mut dec)?);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    #[inline]
    pub fn step(&mut self, dec: &mut Decoder) -> Result<bool, Error> {
        if self.ended {
            return Ok(false);
        }
        if let Some((n, bytes)) = dec.next_item() {
            return self.item(n, bytes).map(|()| true);
        }
        self.step_frame(dec)
    }

    /// The common case: item frame `n`, whole in the buffer, decoded where it lies
    /// and delivered.
    #[inline(always)]
    fn item(&mut self, n: u64, bytes: &[u8]) -> Result<(), Error> {
        match decode(&self.codec, bytes) {
            Ok(item) => self.deliver(item),
            Err(e) => Err(in_frame(n, e)),
        }
    }

    /// [`step`](Inbound::step) for whatever is not an item frame whole in the
    /// buffer: the context and end frames, large frames, byte vectors read into
    /// their own vector, bad input.
    #[inline(never)]
    fn step_frame(&mut self, dec: &mut Decoder) -> Result<bool, Error> {
        let frame = if TypeId::of::<T>() == TypeId::of::<Vec<u8>>() {
            if !dec.poll_bytes(&self.codec)? {
                return Ok(false);
            }
            dec.take()?
        } else {
            match dec.next_frame()? {
                Some(frame) => frame,
                None => return Ok(false),
            }
        };
        let item: T = match frame {
            Frame::End => {
                self.ended = true;
                return Ok(false);
            }
            Frame::Context(cx) => {
                self.span.record("sender_pid", cx.pid);
                self.span.record("sender_span", cx.span);
                self.span.record("stream", cx.stream);
                self.span.record("traceparent", cx.traceparent());
                crate::context::inherit(cx.trace);
                self.context = cx;
                return Ok(true);
            }
            Frame::Report(_) => {
                let n = dec.frame_number();
                return Err(frame::protocol(format!(
                    "frame {n}: a report frame from the sender"
                )));
            }
            Frame::Bytes(bytes) => cast(bytes),
            Frame::Item(bytes) => {
                decode(&self.codec, bytes).map_err(|e| in_frame(dec.frame_number(), e))?
            }
        };
        self.deliver(item).map(|()| true)
    }

    /// Hands one item to the consumer, under the contract: counted, traced when
    /// TRACE is on; the consumer's failure is the error.
    #[inline(always)]
    fn deliver(&mut self, item: T) -> Result<(), Error> {
        self.received += 1;
        if tracing::level_enabled!(tracing::Level::TRACE) {
            crate::context::received(&self.context, self.received);
        }
        self.consumer.send(item).map_err(|e| e.into_error())
    }

    /// Ends the run: closes the consumer whatever ended it (the contract: after an
    /// error its close still runs) and returns the outcome — the first failure, or
    /// the count of items delivered — and the report frame for the sender.
    ///
    /// `outcome` is how reading ended. A stream that stopped without its end frame
    /// (the sender died between two writes) is
    /// [`Disconnected`](ErrorKind::Disconnected), never a success.
    ///
    /// ```
    /// use consumer::ErrorKind;
    ///
    /// let rx = consumer_wire::Inbound::<u8, _, _>::new(Vec::new(), consumer_wire::Bincode, consumer_wire::Identity::of::<u8>());
    /// let (outcome, _) = rx.finish(Ok(())); // no end frame came
    /// assert_eq!(outcome.unwrap_err().kind(), ErrorKind::Disconnected);
    /// ```
    pub fn finish(mut self, outcome: Result<(), Error>) -> (Result<u64, Error>, Vec<u8>) {
        let _entered = self.span.enter();
        let outcome = match outcome {
            Ok(()) if !self.ended => Err(Error::new(
                ErrorKind::Disconnected,
                format!(
                    "the stream ended without its end frame, after {} items: the sender \
                     stopped before closing",
                    self.received
                ),
            )),
            other => other,
        };
        let closed = self.consumer.close();
        let outcome = outcome.and(closed);
        let received = self.received;
        match &outcome {
            Ok(()) => tracing::debug!(received, "stream ended; consumer closed"),
            Err(e) => tracing::debug!(received, error = %e, "run failed"),
        }
        let report = Report {
            received,
            outcome: outcome.clone(),
        };
        (outcome.map(|()| received), report.frame())
    }
}

/// The receive span: the runner, the consumer, this process, and (once the sender
/// says) the sender's process and span.
fn receive_span(consumer: &str) -> tracing::Span {
    tracing::info_span!(
        "process.receive",
        runner = "process",
        consumer = consumer,
        pid = std::process::id(),
        sender_pid = tracing::field::Empty,
        sender_span = tracing::field::Empty,
        stream = tracing::field::Empty,
        traceparent = tracing::field::Empty,
    )
}

/// An error's message prefixed with the frame it is about.
#[cold]
fn in_frame(n: u64, e: Error) -> Error {
    let message = format!("frame {n}: {}", e.message().unwrap_or_default());
    e.with_message(message)
}

/// Decodes one item; byte vectors skip serde's call per byte.
#[inline]
fn decode<T: DeserializeOwned + 'static, C: Codec>(codec: &C, bytes: &[u8]) -> Result<T, Error> {
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
    item.expect("only byte-vector streams yield Frame::Bytes")
}
