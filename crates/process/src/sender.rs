//! The sending end: a `Consumer<T: Serialize>` over any `Write`.

use std::any::Any;
use std::fmt;
use std::io::{self, Read, Write};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use consumer::{Consumer, Error, ErrorKind, SendError};
use serde::Serialize;

use consumer_wire::{
    BATCH_BYTES, Bincode, Codec, DIRECT_BYTES, Decoder, Heard, Identity, Outbound,
};

use crate::io::{hear, io_error, write_all_vectored};

/// When a [`Sender`] writes its buffered frames out.
///
/// Whatever the policy, the buffer is written when it holds a batch (64 KiB), and on
/// [`flush`](Consumer::flush) and [`close`](Consumer::close). The measurements behind
/// the default are in `docs/decisions/0005-wire-format.md`.
///
/// ```
/// use consumer_process::{Flush, Sender};
///
/// let s = Sender::<u64, _>::new(Vec::new()).flush_policy(Flush::Manual);
/// # drop(s);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Flush {
    /// Write out when nothing more is pending: at the end of every `send` and every
    /// `send_all`, unless another producer is already waiting on the same
    /// [`SharedSender`] (it will write the lot). A lone item leaves at once; a batch,
    /// or a crowd of producers, travels in large writes. The default.
    #[default]
    WhenIdle,
    /// Write only when the buffer holds a batch, and on `flush` and `close`: the
    /// most throughput for a stream of single `send`s, at the price of latency until
    /// the caller flushes.
    Manual,
}

/// The far end's back channel: where the receiver's report comes from, and (for a
/// child process) what its exit says.
pub(crate) trait Peer: Send {
    /// Does the receiver send a report at the end? (A FIFO has no way back.)
    fn reports(&self) -> bool {
        true
    }

    /// Reads the receiver's report.
    fn report(&mut self) -> Heard;

    /// Why the link broke when the receiver left no report: a child's exit status.
    fn gone(&mut self) -> Option<Error> {
        None
    }

    /// After the stream ended and the writer was dropped: wait for the far end and
    /// fold its outcome in.
    fn finish(&mut self, outcome: Result<(), Error>) -> Result<(), Error> {
        outcome
    }

    /// The handle is being dropped without `close`: bound the waits ahead.
    fn dropping(&mut self) {}
}

/// What the peer says: its report, and if it has none, why it is gone.
fn listen(peer: &mut dyn Peer) -> (Heard, Option<Error>) {
    match peer.report() {
        Heard::Nothing => (Heard::Nothing, peer.gone()),
        heard => (heard, None),
    }
}

/// A report channel over any byte stream.
struct ReadPeer<R> {
    reader: R,
    dec: Decoder,
}

impl<R: Read + Send> Peer for ReadPeer<R> {
    fn report(&mut self) -> Heard {
        hear(&mut self.dec, &mut self.reader)
    }
}

/// Sends items as frames over any [`Write`]: a pipe, a FIFO, a file, a socket. It is
/// a [`Consumer`], so producers cannot tell it from any other runner's handle.
///
/// Items are encoded with the codec `C` into a buffer and written out according to
/// the [`Flush`] policy. The connection opens with a handshake carrying the item
/// type's [`Identity`] (pin one with [`identity`](Sender::identity)), so a
/// receiver built for another type refuses at once.
///
/// With a report channel ([`with_report`](Sender::with_report)), `close` returns the
/// receiver's real outcome — its consumer's error or panic, and how many items were
/// never delivered — and a failure of the far consumer turns later sends into that
/// error. Without one, the sender knows only what the pipe tells it: a receiver that
/// stopped reading is [`Disconnected`](ErrorKind::Disconnected).
///
/// An item that cannot be encoded, or whose frame would exceed the limit, is refused
/// with the item back; the stream stays usable.
///
/// Dropping a sender closes it. To share one between producers, see
/// [`shared`](Sender::shared).
///
/// # Examples
///
/// ```
/// use consumer::Consumer;
/// use consumer_process::{Receiver, Sender};
///
/// let mut bytes = Vec::new();
/// let mut tx = Sender::new(&mut bytes);
/// tx.send_all([3u32, 2, 1])?;
/// tx.close()?;
/// drop(tx);
///
/// let mut got = Vec::new();
/// Receiver::new(&bytes[..]).run::<u32, _>(&mut got)?;
/// assert_eq!(got, [3, 2, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Sender<T, W: Write, C: Codec = Bincode> {
    out: Option<W>,
    wire: Outbound<C>,
    policy: Flush,
    peer: Option<Box<dyn Peer>>,
    _item: PhantomData<fn(T)>,
}

impl<T: serde::Deserialize<'static> + 'static, W: Write> Sender<T, W> {
    /// A sender over `out` with the default codec ([`Bincode`]) and no report channel.
    ///
    /// ```
    /// let tx = consumer_process::Sender::<u64, _>::new(std::io::sink());
    /// # drop(tx);
    /// ```
    pub fn new(out: W) -> Sender<T, W> {
        Sender::with_codec(out, Bincode)
    }
}

impl<T: serde::Deserialize<'static> + 'static, W: Write, C: Codec> Sender<T, W, C> {
    /// A sender over `out` that encodes with `codec`.
    ///
    /// ```
    /// use consumer_process::{Postcard, Sender};
    ///
    /// let tx = Sender::<u8, _, _>::with_codec(Vec::new(), Postcard);
    /// # drop(tx);
    /// ```
    pub fn with_codec(out: W, codec: C) -> Sender<T, W, C> {
        Sender {
            out: Some(out),
            wire: Outbound::new(codec, Identity::of::<T>()),
            policy: Flush::default(),
            peer: None,
            _item: PhantomData,
        }
    }
}

impl<T, W: Write, C: Codec> Sender<T, W, C> {
    /// Reads the receiver's report from `back` at the end of the stream (and when the
    /// stream breaks): `close` then returns the receiver's real outcome.
    ///
    /// ```
    /// use std::io::pipe;
    /// use consumer::Consumer;
    /// use consumer_process::{Receiver, Sender};
    ///
    /// let (items_r, items_w) = pipe()?;
    /// let (report_r, report_w) = pipe()?;
    /// let rx = std::thread::spawn(move || {
    ///     Receiver::new(items_r).report_to(report_w).run::<u8, _>(Vec::new())
    /// });
    /// let mut tx = Sender::new(items_w).with_report(report_r);
    /// tx.send(1u8)?;
    /// tx.close()?;
    /// assert_eq!(rx.join().unwrap()?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_report<R: Read + Send + 'static>(self, back: R) -> Sender<T, W, C> {
        self.with_peer(Box::new(ReadPeer {
            reader: back,
            dec: Decoder::for_reports(),
        }))
    }

    pub(crate) fn with_peer(mut self, peer: Box<dyn Peer>) -> Sender<T, W, C> {
        self.wire.set_reports(peer.reports());
        self.peer = Some(peer);
        self
    }

    /// Names the item type on the wire: the receiver must expect the same
    /// [`Identity`] (by default each end derives it from `T`). Set it before the
    /// first send.
    ///
    /// ```
    /// use consumer_process::{Identity, Sender};
    ///
    /// let tx = Sender::<u8, _>::new(Vec::new()).identity(Identity::named("orders.Order", 2));
    /// # drop(tx);
    /// ```
    pub fn identity(mut self, identity: Identity) -> Sender<T, W, C> {
        self.wire.encoder().set_identity(identity);
        self
    }

    /// The largest frame this sender writes (default [`DEFAULT_MAX_FRAME`](crate::DEFAULT_MAX_FRAME),
    /// at most [`MAX_FRAME_CEILING`](crate::MAX_FRAME_CEILING)); a bigger item is
    /// refused with the item back.
    ///
    /// ```
    /// use consumer::{Consumer, ErrorKind};
    /// use consumer_process::Sender;
    ///
    /// let mut tx = Sender::new(Vec::new()).max_frame(16);
    /// let e = tx.send(vec![0u8; 100]).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Protocol);
    /// assert_eq!(e.into_item().map(|v| v.len()), Some(100));
    /// ```
    pub fn max_frame(mut self, bytes: u32) -> Sender<T, W, C> {
        self.wire.encoder().set_max_frame(bytes);
        self
    }

    /// Sets when buffered frames are written out; see [`Flush`].
    ///
    /// ```
    /// use consumer_process::{Flush, Sender};
    ///
    /// let tx = Sender::<u64, _>::new(std::io::sink()).flush_policy(Flush::Manual);
    /// # drop(tx);
    /// ```
    pub fn flush_policy(mut self, policy: Flush) -> Sender<T, W, C> {
        self.policy = policy;
        self
    }

    /// Makes this sender shareable between producers: see [`SharedSender`].
    ///
    /// ```
    /// let tx = consumer_process::Sender::<u64, _>::new(std::io::sink()).shared();
    /// let other = tx.clone();
    /// # drop((tx, other));
    /// ```
    pub fn shared(self) -> SharedSender<T, W, C> {
        SharedSender {
            inner: Arc::new(SharedInner {
                waiting: AtomicUsize::new(0),
                sender: Mutex::new(self),
            }),
        }
    }

    pub(crate) fn writer(&self) -> Option<&W> {
        self.out.as_ref()
    }

    /// How many items were accepted (their `send` returned `Ok`) so far.
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let mut tx = consumer_process::Sender::new(Vec::new());
    /// tx.send_all([1u8, 2])?;
    /// assert_eq!(tx.accepted(), 2);
    /// # Ok::<(), consumer::SendError<u8>>(())
    /// ```
    pub fn accepted(&self) -> u64 {
        self.wire.accepted()
    }

    /// Encodes one item into the buffer and writes the buffer out when it holds a
    /// batch; does not apply the flush policy or count the item.
    fn push(&mut self, item: &T) -> Result<(), Error>
    where
        T: Serialize + 'static,
    {
        self.wire.check_open()?;
        // A large byte vector is not copied: its header goes in the buffer, and the
        // buffer and the bytes leave in one vectored write.
        if let Some(bytes) = (item as &dyn Any).downcast_ref::<Vec<u8>>() {
            if bytes.len() >= DIRECT_BYTES && self.wire.encoder().bytes_header(bytes.len())? {
                return self.write_out_with(bytes);
            }
        }
        self.wire.encoder().item(item)?;
        if self.wire.encoder_ref().buffer().len() >= BATCH_BYTES {
            self.write_out()?;
        }
        Ok(())
    }

    /// One item, then a write if `flush_now` says so. An item whose write failed is
    /// handed back: its frame was the last in the buffer, so it never arrived.
    fn send_one(&mut self, item: T, flush_now: impl Fn(&Self) -> bool) -> Result<(), SendError<T>>
    where
        T: Serialize + 'static,
    {
        if let Err(e) = self.push(&item) {
            return Err(SendError::new(item, e));
        }
        if flush_now(self) {
            if let Err(e) = self.write_out() {
                return Err(SendError::new(item, e));
            }
        }
        self.wire.accepted_one();
        Ok(())
    }

    /// Many items, then a write if `flush_now` says so.
    fn send_many<I>(
        &mut self,
        items: I,
        flush_now: impl Fn(&Self) -> bool,
    ) -> Result<(), SendError<T>>
    where
        T: Serialize + 'static,
        I: IntoIterator<Item = T>,
    {
        let mut last = None;
        for item in items {
            if let Err(e) = self.push(&item) {
                return Err(SendError::new(item, e));
            }
            self.wire.accepted_one();
            last = Some(item);
        }
        if let Some(item) = last {
            if flush_now(self) {
                if let Err(e) = self.write_out() {
                    self.wire.unaccept_one();
                    return Err(SendError::new(item, e));
                }
            }
        }
        Ok(())
    }

    fn when_idle(&self) -> bool {
        self.policy == Flush::WhenIdle
    }

    /// Writes the buffer and flushes the writer; on failure the sender is failed and
    /// the error says why, as well as it can be known.
    fn write_out(&mut self) -> Result<(), Error> {
        self.write_out_with(&[])
    }

    /// Writes the buffer, then `tail`, in as few writes as the writer allows.
    fn write_out_with(&mut self, tail: &[u8]) -> Result<(), Error> {
        self.wire.check_open()?;
        let Some(out) = self.out.as_mut() else {
            return Err(Error::from(ErrorKind::Closed));
        };
        let r = write_all_vectored(out, self.wire.encoder_ref().buffer(), tail)
            .and_then(|()| out.flush());
        self.wire.encoder().clear();
        r.map_err(|e| self.broken(e))
    }

    /// The link broke: learn why from the peer, and stay failed.
    fn broken(&mut self, e: io::Error) -> Error {
        let e = io_error("writing to the receiver", e);
        let (heard, gone) = match self.peer.as_deref_mut() {
            None => (Heard::Nothing, None),
            Some(peer) => listen(peer),
        };
        self.wire.broken(e, heard, gone)
    }

    fn finish(&mut self) -> Result<(), Error> {
        let outcome = match self.wire.closing() {
            Some(outcome) if self.wire.is_done() => return outcome,
            Some(failed) => failed,
            None => self.end_stream(),
        };
        drop(self.out.take());
        let outcome = match self.peer.as_mut() {
            Some(peer) => peer.finish(outcome),
            None => outcome,
        };
        self.wire.done(outcome.clone());
        outcome
    }

    /// Sends the end frame and, with a report channel, waits for the report.
    fn end_stream(&mut self) -> Result<(), Error> {
        self.wire.encoder().end();
        self.write_out()?;
        let (heard, gone) = match self.peer.as_deref_mut() {
            Some(peer) if self.wire.reports() => listen(peer),
            _ => (Heard::Nothing, None),
        };
        self.wire.end_outcome(heard, gone)
    }
}

impl<T: Serialize + 'static, W: Write, C: Codec> Consumer<T> for Sender<T, W, C> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.send_one(item, Self::when_idle)
    }

    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        self.send_many(items, Self::when_idle)
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.send_many(items, Self::when_idle)
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.write_out()
    }

    fn close(&mut self) -> Result<(), Error> {
        self.finish()
    }

    fn name(&self) -> &str {
        "process::Sender"
    }
}

impl<T, W: Write, C: Codec> Drop for Sender<T, W, C> {
    fn drop(&mut self) {
        if let Some(peer) = self.peer.as_mut() {
            peer.dropping();
        }
        let _ = self.finish();
    }
}

impl<T, W: Write, C: Codec> fmt::Debug for Sender<T, W, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("codec", &C::NAME)
            .field("policy", &self.policy)
            .field("accepted", &self.wire.accepted())
            .field("buffered", &self.wire.encoder_ref().buffer().len())
            .field("wire", &self.wire.check_open().err())
            .finish()
    }
}

struct SharedInner<T, W: Write, C: Codec> {
    /// Producers waiting for the lock: while there are any, a send does not flush.
    waiting: AtomicUsize,
    sender: Mutex<Sender<T, W, C>>,
}

/// A [`Sender`] shared between producers: clone it, send from any thread. Dropping
/// the last clone closes the sender.
///
/// With [`Flush::WhenIdle`], a producer that finishes its send while others wait for
/// the lock leaves the writing to them: under contention the frames of many producers
/// go out in one write, and the last one out flushes.
///
/// # Examples
///
/// ```
/// use consumer::Consumer;
/// use consumer_process::Sender;
///
/// let tx = Sender::new(std::io::sink()).shared();
/// let workers: Vec<_> = (0..4u64)
///     .map(|p| {
///         let mut tx = tx.clone();
///         std::thread::spawn(move || tx.send_all((0..100).map(|i| p * 100 + i)))
///     })
///     .collect();
/// for w in workers {
///     w.join().unwrap()?;
/// }
/// let mut tx = tx;
/// tx.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SharedSender<T, W: Write, C: Codec = Bincode> {
    inner: Arc<SharedInner<T, W, C>>,
}

impl<T, W: Write, C: Codec> SharedSender<T, W, C> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Sender<T, W, C>> {
        self.inner.waiting.fetch_add(1, Ordering::Relaxed);
        let guard = self.inner.sender.lock().unwrap_or_else(|p| p.into_inner());
        self.inner.waiting.fetch_sub(1, Ordering::Relaxed);
        guard
    }
}

impl<T, W: Write, C: Codec> Clone for SharedSender<T, W, C> {
    fn clone(&self) -> Self {
        SharedSender {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: Serialize + 'static, W: Write, C: Codec> Consumer<T> for SharedSender<T, W, C> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        let waiting = &self.inner.waiting;
        self.lock().send_one(item, |s| {
            s.when_idle() && waiting.load(Ordering::Relaxed) == 0
        })
    }

    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        let waiting = &self.inner.waiting;
        self.lock().send_many(items, |s| {
            s.when_idle() && waiting.load(Ordering::Relaxed) == 0
        })
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        Consumer::send_all(self, items)
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.lock().flush()
    }

    fn close(&mut self) -> Result<(), Error> {
        self.lock().finish()
    }

    fn name(&self) -> &str {
        "process::SharedSender"
    }
}

impl<T, W: Write, C: Codec> fmt::Debug for SharedSender<T, W, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SharedSender").field(&*self.lock()).finish()
    }
}
