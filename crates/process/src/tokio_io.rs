//! The async ends, over tokio's `AsyncRead`/`AsyncWrite` (feature `tokio`).

use std::fmt;
use std::marker::PhantomData;

use consumer::{Consumer, Error, ErrorKind, SendError};
use consumer_wire::{BATCH_BYTES, Bincode, Codec, Decoder, Heard, Identity, Outbound};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::Instrument;

use crate::io::io_error;
use crate::receiver::{Incoming, drive};
use crate::sender::Flush;

/// One read into the decoder's target; the number of bytes, 0 at the end of the
/// stream. The async twin of the blocking `read_into` (no vectored reads in tokio:
/// a large byte vector's bytes go straight into it, what follows in the next read).
/// A large byte vector's bytes are appended to it with `read_buf`, which fills
/// the vector's spare capacity: the item is not zeroed before the read (the
/// blocking driver's vectored reads need an initialised vector).
async fn read_into<R: AsyncRead + Unpin>(dec: &mut Decoder, r: &mut R) -> Result<usize, Error> {
    let n = dec.frame_number() + 1;
    let got = loop {
        let read = match dec.append_target() {
            Some((item, room)) => {
                // `take`: no byte beyond the item's goes into its vector.
                (&mut *r).take(room as u64).read_buf(item).await
            }
            None => r.read(dec.read_target().first).await,
        };
        match read {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(&format!("frame {n}"), e)),
            Ok(k) => break k,
        }
    };
    dec.filled(got);
    Ok(got)
}

/// Reads one frame of a report channel and says what it was.
async fn hear<R: AsyncRead + Unpin>(dec: &mut Decoder, r: &mut R) -> Heard {
    let n = dec.frame_number() + 1;
    let frame = loop {
        match dec.poll() {
            Ok(true) => break dec.take().map(Some),
            Ok(false) => {}
            Err(e) => break Err(e),
        }
        match read_into(dec, r).await {
            Ok(0) => break dec.end_of_input().map(|()| None),
            Ok(_) => {}
            Err(e) => break Err(e),
        }
    };
    Heard::from_frame(n, frame)
}

type BoxRead = Box<dyn AsyncRead + Unpin + Send>;

/// A report channel: the reader and its decoder.
struct Back {
    reader: BoxRead,
    dec: Decoder,
}

/// The async twin of [`Sender`](crate::Sender): sends items as frames over any
/// tokio [`AsyncWrite`], with the same wire format, handshake, flush policies and
/// report channel.
///
/// Its methods are `async` and mirror [`Consumer`]'s: `send`, `send_all`, `flush`,
/// `close`. It does not implement `Consumer` (whose methods block); use it from a
/// task, e.g. behind the coroutine runner.
///
/// # Drop
///
/// Rust has no async drop: call [`close`](AsyncSender::close). A sender dropped
/// unclosed sends no end frame (the receiver sees a bare end of input) and, with
/// [`Flush::Manual`], loses what it still buffered — it logs a warning saying how
/// many bytes. With the default policy every `send` has written its item before it
/// returns.
///
/// # Examples
///
/// ```
/// use consumer_process::{AsyncReceiver, AsyncSender};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (a, b) = tokio::io::duplex(1 << 16);
/// let rx = tokio::spawn(AsyncReceiver::new(b).run::<u32, _>(Vec::new()));
/// let mut tx = AsyncSender::new(a);
/// tx.send_all([3u32, 2, 1]).await?;
/// tx.close().await?;
/// assert_eq!(rx.await.unwrap()?, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct AsyncSender<T, W: AsyncWrite + Unpin, C: Codec = Bincode> {
    out: Option<W>,
    wire: Outbound<C>,
    policy: Flush,
    report: Option<Back>,
    _item: PhantomData<fn(T)>,
}

impl<T: serde::Deserialize<'static> + 'static, W: AsyncWrite + Unpin> AsyncSender<T, W> {
    /// A sender over `out` with the default codec ([`Bincode`]) and no report channel.
    ///
    /// ```
    /// let tx = consumer_process::AsyncSender::<u8, _>::new(tokio::io::sink());
    /// # drop(tx);
    /// ```
    pub fn new(out: W) -> AsyncSender<T, W> {
        AsyncSender::with_codec(out, Bincode)
    }
}

impl<T: serde::Deserialize<'static> + 'static, W: AsyncWrite + Unpin, C: Codec>
    AsyncSender<T, W, C>
{
    /// A sender over `out` that encodes with `codec`.
    ///
    /// ```
    /// use consumer_process::{AsyncSender, Postcard};
    ///
    /// let tx = AsyncSender::<u8, _, _>::with_codec(tokio::io::sink(), Postcard);
    /// # drop(tx);
    /// ```
    pub fn with_codec(out: W, codec: C) -> AsyncSender<T, W, C> {
        AsyncSender {
            out: Some(out),
            wire: Outbound::new(codec, Identity::of::<T>()),
            policy: Flush::default(),
            report: None,
            _item: PhantomData,
        }
    }
}

impl<T, W: AsyncWrite + Unpin, C: Codec> AsyncSender<T, W, C> {
    /// Reads the receiver's report from `back`, as [`Sender::with_report`](crate::Sender::with_report).
    ///
    /// ```
    /// use consumer_process::{AsyncReceiver, AsyncSender};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let (items_w, items_r) = tokio::io::duplex(1 << 16);
    /// let (report_w, report_r) = tokio::io::duplex(1 << 10);
    /// let rx = tokio::spawn(AsyncReceiver::new(items_r).report_to(report_w).run::<u8, _>(Vec::new()));
    /// let mut tx = AsyncSender::new(items_w).with_report(report_r);
    /// tx.send(7u8).await?;
    /// tx.close().await?; // the receiver's outcome
    /// # rx.await.unwrap()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn with_report<R: AsyncRead + Unpin + Send + 'static>(mut self, back: R) -> Self {
        self.wire.set_reports(true);
        self.report = Some(Back {
            reader: Box::new(back),
            dec: Decoder::for_reports(),
        });
        self
    }

    /// As [`Sender::identity`](crate::Sender::identity).
    ///
    /// ```
    /// use consumer_process::{AsyncSender, Identity};
    ///
    /// let tx = AsyncSender::<u8, _>::new(tokio::io::sink()).identity(Identity::named("n", 1));
    /// # drop(tx);
    /// ```
    pub fn identity(mut self, identity: Identity) -> Self {
        self.wire.encoder().set_identity(identity);
        self
    }

    /// As [`Sender::max_frame`](crate::Sender::max_frame).
    ///
    /// ```
    /// let tx = consumer_process::AsyncSender::<u8, _>::new(tokio::io::sink()).max_frame(1 << 10);
    /// # drop(tx);
    /// ```
    pub fn max_frame(mut self, bytes: u32) -> Self {
        self.wire.encoder().set_max_frame(bytes);
        self
    }

    /// As [`Sender::flush_policy`](crate::Sender::flush_policy).
    ///
    /// ```
    /// use consumer_process::{AsyncSender, Flush};
    ///
    /// let tx = AsyncSender::<u8, _>::new(tokio::io::sink()).flush_policy(Flush::Manual);
    /// # drop(tx);
    /// ```
    pub fn flush_policy(mut self, policy: Flush) -> Self {
        self.policy = policy;
        self
    }

    /// How many items were accepted so far.
    ///
    /// ```
    /// let tx = consumer_process::AsyncSender::<u8, _>::new(tokio::io::sink());
    /// assert_eq!(tx.accepted(), 0);
    /// ```
    pub fn accepted(&self) -> u64 {
        self.wire.accepted()
    }

    async fn write_out(&mut self) -> Result<(), Error> {
        self.wire.check_open()?;
        let Some(out) = self.out.as_mut() else {
            return Err(Error::from(ErrorKind::Closed));
        };
        let r = match out.write_all(self.wire.encoder_ref().buffer()).await {
            Ok(()) => out.flush().await,
            Err(e) => Err(e),
        };
        self.wire.encoder().clear();
        match r {
            Ok(()) => Ok(()),
            Err(e) => {
                let heard = self.hear().await;
                let e = io_error("writing to the receiver", e);
                Err(self.wire.broken(e, heard, None))
            }
        }
    }

    async fn hear(&mut self) -> Heard {
        match self.report.as_mut() {
            Some(back) => hear(&mut back.dec, &mut back.reader).await,
            None => Heard::Nothing,
        }
    }

    /// Sends one item; with [`Flush::WhenIdle`] it is written before this returns.
    ///
    /// # Errors
    ///
    /// As [`Sender`](crate::Sender)'s `send`, with the item back.
    pub async fn send(&mut self, item: T) -> Result<(), SendError<T>>
    where
        T: Serialize + 'static,
    {
        if let Err(e) = self.encode(&item) {
            return Err(SendError::new(item, e));
        }
        if self.policy != Flush::Manual || self.wire.encoder_ref().buffer().len() >= BATCH_BYTES {
            if let Err(e) = self.write_out().await {
                return Err(SendError::new(item, e));
            }
        }
        self.wire.accepted_one();
        Ok(())
    }

    /// Frames one item into the buffer. Not `async`, so that no borrow of the item
    /// is held across an `await`: the futures stay `Send` for items that are `Send`
    /// but not `Sync`.
    fn encode(&mut self, item: &T) -> Result<(), Error>
    where
        T: Serialize + 'static,
    {
        self.wire.check_open()?;
        self.wire.encoder().item(item)
    }

    /// Sends every item in order, written out in large batches.
    ///
    /// # Errors
    ///
    /// As [`Consumer::send_all`]: stops at the first failure, with that item back.
    pub async fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        T: Serialize + 'static,
        I: IntoIterator<Item = T>,
    {
        let mut last = None;
        for item in items {
            if let Err(e) = self.encode(&item) {
                return Err(SendError::new(item, e));
            }
            if self.wire.encoder_ref().buffer().len() >= BATCH_BYTES {
                if let Err(e) = self.write_out().await {
                    return Err(SendError::new(item, e));
                }
            }
            self.wire.accepted_one();
            last = Some(item);
        }
        if let (Some(item), false) = (last, self.policy == Flush::Manual) {
            if let Err(e) = self.write_out().await {
                self.wire.unaccept_one();
                return Err(SendError::new(item, e));
            }
        }
        Ok(())
    }

    /// Writes out whatever is buffered.
    ///
    /// # Errors
    ///
    /// When the link broke: the receiver's reported failure, or the I/O error.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.write_out().await
    }

    /// Sends the end frame, shuts the writer down and, with a report channel, returns
    /// the receiver's outcome. Later calls return the same outcome.
    ///
    /// # Errors
    ///
    /// As [`Sender`](crate::Sender)'s `close`.
    pub async fn close(&mut self) -> Result<(), Error> {
        let outcome = match self.wire.closing() {
            Some(outcome) if self.wire.is_done() => return outcome,
            Some(failed) => failed,
            None => self.end_stream().await,
        };
        if let Some(mut out) = self.out.take() {
            let _ = out.shutdown().await;
        }
        self.wire.done(outcome.clone());
        outcome
    }

    async fn end_stream(&mut self) -> Result<(), Error> {
        self.wire.encoder().end();
        self.write_out().await?;
        let heard = self.hear().await;
        self.wire.end_outcome(heard, None)
    }
}

impl<T, W: AsyncWrite + Unpin, C: Codec> Drop for AsyncSender<T, W, C> {
    fn drop(&mut self) {
        let buffered = self.wire.encoder_ref().buffer().len();
        if self.wire.check_open().is_ok() && buffered > 0 {
            tracing::warn!(
                bytes = buffered,
                "async sender dropped without close: buffered frames lost"
            );
        }
    }
}

impl<T, W: AsyncWrite + Unpin, C: Codec> fmt::Debug for AsyncSender<T, W, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncSender")
            .field("codec", &C::NAME)
            .field("policy", &self.policy)
            .field("accepted", &self.wire.accepted())
            .field("wire", &self.wire.check_open().err())
            .finish()
    }
}

type BoxWrite = Box<dyn AsyncWrite + Unpin + Send>;

/// The async twin of [`Receiver`](crate::Receiver): reads frames from any tokio
/// [`AsyncRead`] and hands the items to a consumer, with the same checks and errors.
///
/// The consumer is called on the task that runs [`run`](AsyncReceiver::run); a
/// consumer whose `send` blocks (a thread runner's full mailbox, say) blocks that
/// task's thread, so hand such consumers to `spawn_blocking` and the sync
/// [`Receiver`](crate::Receiver) instead.
///
/// # Examples
///
/// ```
/// use consumer::ErrorKind;
/// use consumer_process::AsyncReceiver;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let e = AsyncReceiver::new(&b"not a handshake"[..]).run::<u8, _>(Vec::new()).await;
/// assert_eq!(e.unwrap_err().kind(), ErrorKind::Protocol);
/// # });
/// ```
pub struct AsyncReceiver<R: AsyncRead + Unpin, C: Codec = Bincode> {
    input: R,
    incoming: Incoming<C>,
    report: Option<BoxWrite>,
}

impl<R: AsyncRead + Unpin> AsyncReceiver<R> {
    /// A receiver over `input`, decoding with [`Bincode`].
    ///
    /// ```
    /// let rx = consumer_process::AsyncReceiver::new(tokio::io::empty());
    /// # drop(rx);
    /// ```
    pub fn new(input: R) -> AsyncReceiver<R> {
        AsyncReceiver::with_codec(input, Bincode)
    }
}

impl<R: AsyncRead + Unpin, C: Codec> AsyncReceiver<R, C> {
    /// A receiver over `input` that decodes with `codec`.
    ///
    /// ```
    /// use consumer_process::{AsyncReceiver, Postcard};
    ///
    /// let rx = AsyncReceiver::with_codec(tokio::io::empty(), Postcard);
    /// # drop(rx);
    /// ```
    pub fn with_codec(input: R, codec: C) -> AsyncReceiver<R, C> {
        AsyncReceiver {
            input,
            incoming: Incoming::new(codec),
            report: None,
        }
    }

    /// As [`Receiver::identity`](crate::Receiver::identity).
    ///
    /// ```
    /// use consumer_process::{AsyncReceiver, Identity};
    ///
    /// let rx = AsyncReceiver::new(tokio::io::empty()).identity(Identity::named("n", 1));
    /// # drop(rx);
    /// ```
    pub fn identity(mut self, identity: Identity) -> Self {
        self.incoming.identity = Some(identity);
        self
    }

    /// As [`Receiver::max_frame`](crate::Receiver::max_frame).
    ///
    /// ```
    /// let rx = consumer_process::AsyncReceiver::new(tokio::io::empty()).max_frame(1 << 10);
    /// # drop(rx);
    /// ```
    pub fn max_frame(mut self, bytes: u32) -> Self {
        self.incoming.dec.set_max(bytes);
        self
    }

    /// As [`Receiver::report_to`](crate::Receiver::report_to).
    ///
    /// ```
    /// let rx = consumer_process::AsyncReceiver::new(tokio::io::empty()).report_to(tokio::io::sink());
    /// # drop(rx);
    /// ```
    pub fn report_to<W: AsyncWrite + Unpin + Send + 'static>(mut self, back: W) -> Self {
        self.report = Some(Box::new(back));
        self
    }

    /// As [`Receiver::run`](crate::Receiver::run): to the end of the stream, then
    /// closes the consumer; returns how many items it delivered.
    ///
    /// # Errors
    ///
    /// As [`Receiver::run`](crate::Receiver::run).
    pub async fn run<T, K>(self, consumer: K) -> Result<u64, Error>
    where
        T: DeserializeOwned + 'static,
        K: Consumer<T>,
    {
        let (mut dec, mut rx) = self.incoming.start(consumer);
        let (mut input, report) = (self.input, self.report);
        let span = rx.span().clone();
        let outcome = async { drive!(rx, dec, read_into(&mut dec, &mut input).await) }
            .instrument(span)
            .await;
        drop(input);
        let (outcome, frame) = rx.finish(outcome);
        if let Some(mut back) = report {
            let _ = back.write_all(&frame).await;
            let _ = back.flush().await;
            let _ = back.shutdown().await;
        }
        outcome
    }
}

impl<R: AsyncRead + Unpin, C: Codec> fmt::Debug for AsyncReceiver<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncReceiver")
            .field("codec", &C::NAME)
            .field("identity", &self.incoming.identity)
            .field("frame", &self.incoming.dec.frame_number())
            .finish()
    }
}
