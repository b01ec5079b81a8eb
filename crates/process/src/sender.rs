//! The sending end: a `Consumer<T: Serialize>` over any `Write`.

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

use crate::io::{hear, io_error};
use crate::link::{Link, LinkError};

/// When a [`Sender`] writes its frames out.
///
/// Whatever the policy, [`flush`](Consumer::flush) and [`close`](Consumer::close)
/// return only once every accepted byte was written. The measurements behind the
/// default are in `docs/decisions/0010-fast-and-prompt-sends.md`.
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
    /// Fast and prompt, the default. A lone item is written at once, in the
    /// caller's thread, before `send` returns. When items come faster than they
    /// can be written, the sender hands them to a writer thread of its own (started
    /// on first need, ended by `close` or drop): what piles up while one write is in
    /// flight leaves in the next, so a stream of single `send`s travels in large
    /// writes with no syscall per item and no timer.
    ///
    /// `send` returns once its item is written or queued; at most 256 KiB
    /// ([`BATCH_BYTES`] × 4) may be queued, past that `send` waits for the write in
    /// flight (backpressure). A queued write that fails is reported by the next
    /// `send`, `flush` or `close`, with the far end's report when there is one, and
    /// with the number of accepted items that never fully left otherwise
    /// ([`Error::undelivered`]); those items cannot be handed back (their `send`
    /// returned `Ok` long ago), only the item of the call that learns of it is.
    #[default]
    Auto,
    /// Write at the end of every `send` and every `send_all`, in the caller's
    /// thread, unless another producer is already waiting on the same
    /// [`SharedSender`] (it will write the lot). Prompt, with no thread, but one
    /// syscall per `send`.
    WhenIdle,
    /// Write only when the buffer holds a batch (64 KiB), and on `flush` and
    /// `close`: the most throughput for a stream of single `send`s with no thread,
    /// at the price of latency until the caller flushes.
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

    /// The far end's process id, when it is a child.
    fn pid(&self) -> Option<u32> {
        None
    }
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
/// the [`Flush`] policy; by default ([`Flush::Auto`]) a lone item is written at
/// once and a stream is coalesced by a writer thread, which is why the byte stream
/// `W` must be `Send + 'static` for the sender to be a [`Consumer`]. The connection opens with a handshake carrying the item
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
/// let (r, w) = std::io::pipe()?;
/// let rx = std::thread::spawn(move || Receiver::new(r).run::<u32, _>(Vec::new()));
/// let mut tx = Sender::new(w);
/// tx.send(3u32)?; // a lone item: written at once
/// tx.send_all([2, 1])?;
/// tx.close()?;
/// assert_eq!(rx.join().unwrap()?, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Sender<T, W: Write, C: Codec = Bincode> {
    link: Link<W>,
    wire: Outbound<C>,
    /// Items framed in the encoder's buffer and not yet handed to the link.
    framed: u64,
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
            link: Link::new(out),
            wire: Outbound::new(codec, Identity::of::<T>()),
            framed: 0,
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

    /// Calls `f` with the byte stream, unless it is closed or a write is in flight.
    pub(crate) fn with_writer<R>(&self, f: impl FnOnce(&W) -> R) -> Option<R> {
        self.link.with_out(f)
    }

    /// The far end's process id, if it is a child and the sender is not closed.
    pub(crate) fn peer_pid(&self) -> Option<u32> {
        if self.wire.is_done() {
            return None;
        }
        self.peer.as_ref().and_then(|p| p.pid())
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

    /// Frames one item and hands what the policy says to the link; does not count
    /// the item. `alone`: no other producer waits on a shared sender. On failure
    /// the item never fully left: the caller hands it back.
    fn push(&mut self, item: &T, alone: bool, batch: bool) -> Result<(), Error>
    where
        T: Serialize + 'static,
        W: Send + 'static,
    {
        self.wire.check_open()?;
        // A large byte vector is not copied when it is written in-line: its header
        // goes in the buffer, and the buffer and the bytes leave in one vectored
        // write.
        if let Some(bytes) = consumer_wire::as_bytes(item) {
            if bytes.len() >= DIRECT_BYTES && self.wire.encoder().bytes_header(bytes.len())? {
                self.framed += 1;
                return self.hand_over(bytes, alone);
            }
        } else if self.policy == Flush::Auto && !batch {
            // A small item alone goes to the link as words, never as bytes
            // (`consumer_wire::SmallFrame` says why). Here, inside `push`, which
            // the compiler keeps out of line: a separate function for this path
            // measured 0.56-0.70 on the default row against 0.73 (decision 0010).
            if let Some(frame) = self.wire.encoder().item_small(item)? {
                return self
                    .link
                    .send_small(&frame, alone)
                    .map_err(|e| self.link_error(e));
            }
        }
        self.wire.encoder().item(item)?;
        self.framed += 1;
        if (self.policy == Flush::Auto && !batch)
            || self.wire.encoder_ref().buffer().len() >= BATCH_BYTES
        {
            return self.hand_over(&[], alone);
        }
        Ok(())
    }

    /// One item, then a write if the policy says so.
    fn send_one(&mut self, item: T, alone: bool) -> Result<(), SendError<T>>
    where
        T: Serialize + 'static,
        W: Send + 'static,
    {
        if let Err(e) = self.push(&item, alone, false) {
            return Err(SendError::new(item, e));
        }
        if self.policy == Flush::WhenIdle && alone {
            if let Err(e) = self.write_out() {
                return Err(SendError::new(item, e));
            }
        }
        self.wire.accepted_one();
        Ok(())
    }

    /// Many items, then a write if the policy says so. With [`Flush::Auto`] they
    /// are framed together and handed over a batch at a time.
    fn send_many<I>(&mut self, items: I, alone: bool) -> Result<(), SendError<T>>
    where
        T: Serialize + 'static,
        W: Send + 'static,
        I: IntoIterator<Item = T>,
    {
        let mut last = None;
        for item in items {
            if let Err(e) = self.push(&item, alone, true) {
                return Err(SendError::new(item, e));
            }
            self.wire.accepted_one();
            last = Some(item);
        }
        let written = match self.policy {
            Flush::Auto => self.hand_over(&[], alone),
            Flush::WhenIdle if alone => self.write_out(),
            _ => Ok(()),
        };
        match (written, last) {
            (Err(e), Some(item)) => {
                self.wire.unaccept_one();
                Err(SendError::new(item, e))
            }
            (Err(e), None) => Err(SendError::lost(e)),
            (Ok(()), _) => Ok(()),
        }
    }

    /// Hands the buffer, then `tail`, to the link: in-line or queued, as it
    /// decides ([`Flush::Auto`]); written at once under the other policies.
    fn hand_over(&mut self, tail: &[u8], alone: bool) -> Result<(), Error>
    where
        W: Send + 'static,
    {
        if self.policy != Flush::Auto {
            return self.write_out_with(tail);
        }
        if self.wire.encoder_ref().buffer().is_empty() && tail.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.framed);
        let r = self
            .link
            .send(self.wire.encoder_ref().buffer(), tail, items, alone);
        self.wire.encoder().clear();
        r.map_err(|e| self.link_error(e))
    }

    /// Writes the buffer in-line (after whatever the link has queued) and waits
    /// until every byte handed over was written; on failure the sender is failed
    /// and the error says why, as well as it can be known.
    fn write_out(&mut self) -> Result<(), Error> {
        self.write_out_with(&[])
    }

    /// Writes the buffer, then `tail`, in as few writes as the writer allows.
    fn write_out_with(&mut self, tail: &[u8]) -> Result<(), Error> {
        self.wire.check_open()?;
        self.framed = 0;
        let buffer = self.wire.encoder_ref().buffer();
        let r = if buffer.is_empty() && tail.is_empty() {
            self.link.flush()
        } else {
            self.link.write_now(buffer, tail)
        };
        self.wire.encoder().clear();
        r.map_err(|e| self.link_error(e))
    }

    fn link_error(&mut self, e: LinkError) -> Error {
        match e {
            LinkError::Now(e) => self.broken(e, None),
            LinkError::Earlier { error, unwritten } => self.broken(error, Some(unwritten)),
            LinkError::Closed => Error::from(ErrorKind::Closed),
        }
    }

    /// The link broke: learn why from the peer, and stay failed.
    fn broken(&mut self, e: io::Error, unwritten: Option<u64>) -> Error {
        let e = io_error("writing to the receiver", e);
        let (heard, gone) = match self.peer.as_deref_mut() {
            None => (Heard::Nothing, None),
            Some(peer) => listen(peer),
        };
        self.wire.broken_losing(e, heard, gone, unwritten)
    }

    fn finish(&mut self) -> Result<(), Error> {
        let outcome = match self.wire.closing() {
            Some(outcome) if self.wire.is_done() => return outcome,
            Some(failed) => failed,
            None => self.end_stream(),
        };
        drop(self.link.shut());
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

impl<T: Serialize + 'static, W: Write + Send + 'static, C: Codec> Consumer<T> for Sender<T, W, C> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.send_one(item, true)
    }

    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        self.send_many(items, true)
    }

    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.send_many(items, true)
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

impl<T: Serialize + 'static, W: Write + Send + 'static, C: Codec> Consumer<T>
    for SharedSender<T, W, C>
{
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        let waiting = &self.inner.waiting;
        let mut sender = self.lock();
        sender.send_one(item, waiting.load(Ordering::Relaxed) == 0)
    }

    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        let waiting = &self.inner.waiting;
        let mut sender = self.lock();
        sender.send_many(items, waiting.load(Ordering::Relaxed) == 0)
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
