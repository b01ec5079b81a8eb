//! The async ends, over tokio's `AsyncRead`/`AsyncWrite` (feature `tokio`).

use std::fmt;
use std::marker::PhantomData;

use consumer::{Consumer, Error, ErrorKind, Inline, SendError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tracing::Instrument;

use crate::codec::{Bincode, Codec};
use crate::encoder::{BATCH_BYTES, Encoder, outcome_of};
use crate::receiver::{check_handshake, conclude, dispatch, receive_span};
use crate::sender::Flush;
use crate::wire::{self, Frame, Report};

/// Reads frames asynchronously; the twin of the sync frame reader, sharing its
/// checks (`check_len`, `parse`).
struct AsyncFrames<R> {
    reader: BufReader<R>,
    buf: Vec<u8>,
    max: u32,
    frame: u64,
}

impl<R: AsyncRead + Unpin> AsyncFrames<R> {
    fn new(reader: R, max: u32, buffer: usize) -> AsyncFrames<R> {
        AsyncFrames {
            reader: BufReader::with_capacity(buffer, reader),
            buf: Vec::new(),
            max,
            frame: 0,
        }
    }

    async fn handshake(&mut self) -> Result<[u8; wire::HANDSHAKE_LEN], Error> {
        let mut b = [0u8; wire::HANDSHAKE_LEN];
        match read_full(&mut self.reader, &mut b).await {
            Ok(n) if n == wire::HANDSHAKE_LEN => Ok(b),
            Ok(0) => Err(Error::new(
                ErrorKind::Disconnected,
                "handshake: the stream ended before the handshake",
            )),
            Ok(n) => Err(wire::protocol(format!(
                "handshake: truncated after {n} of {} bytes",
                wire::HANDSHAKE_LEN
            ))),
            Err(e) => Err(wire::io_error("handshake", e)),
        }
    }

    async fn next(&mut self) -> Result<Option<Frame<'_>>, Error> {
        self.frame += 1;
        let n = self.frame;
        let io = |e| wire::io_error(&format!("frame {n}"), e);
        let mut len_bytes = [0u8; 4];
        match read_full(&mut self.reader, &mut len_bytes)
            .await
            .map_err(io)?
        {
            4 => {}
            0 => return Ok(None),
            k => {
                return Err(wire::protocol(format!(
                    "frame {n}: truncated: the stream ended after {k} of 4 length bytes"
                )));
            }
        }
        let len = wire::check_len(n, len_bytes, self.max)?;
        // As in the sync reader: grow with the bytes that actually arrive.
        self.buf.clear();
        let mut got = 0;
        while got < len {
            let want = (len - got).min(1 << 20);
            self.buf.resize(got + want, 0);
            let k = read_full(&mut self.reader, &mut self.buf[got..])
                .await
                .map_err(io)?;
            got += k;
            if k < want {
                return Err(wire::protocol(format!(
                    "frame {n}: truncated: the stream ended after {got} of {len} bytes"
                )));
            }
        }
        wire::parse(n, &self.buf[..len]).map(Some)
    }
}

async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]).await {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

type BoxRead = Box<dyn AsyncRead + Unpin + Send>;

#[derive(Debug, Clone)]
enum State {
    Open,
    Failed(Error),
    Done(Result<(), Error>),
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
    enc: Encoder<C>,
    policy: Flush,
    state: State,
    accepted: u64,
    report: Option<AsyncFrames<BoxRead>>,
    _item: PhantomData<fn(T)>,
}

impl<T, W: AsyncWrite + Unpin> AsyncSender<T, W> {
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

impl<T, W: AsyncWrite + Unpin, C: Codec> AsyncSender<T, W, C> {
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
            enc: Encoder::new(codec),
            policy: Flush::default(),
            state: State::Open,
            accepted: 0,
            report: None,
            _item: PhantomData,
        }
    }

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
        self.enc.flags = wire::FLAG_REPORT;
        self.report = Some(AsyncFrames::new(Box::new(back), 8 << 10, 1 << 10));
        self
    }

    /// As [`Sender::tag`](crate::Sender::tag).
    ///
    /// ```
    /// let tx = consumer_process::AsyncSender::<u8, _>::new(tokio::io::sink()).tag("v2");
    /// # drop(tx);
    /// ```
    pub fn tag(mut self, tag: &str) -> Self {
        tag.clone_into(&mut self.enc.tag);
        self
    }

    /// As [`Sender::max_frame`](crate::Sender::max_frame).
    ///
    /// ```
    /// let tx = consumer_process::AsyncSender::<u8, _>::new(tokio::io::sink()).max_frame(1 << 10);
    /// # drop(tx);
    /// ```
    pub fn max_frame(mut self, bytes: u32) -> Self {
        self.enc.max_frame = bytes.clamp(1, wire::MAX_FRAME_CEILING);
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
        self.accepted
    }

    fn check_open(&self) -> Result<(), Error> {
        match &self.state {
            State::Open => Ok(()),
            State::Failed(e) | State::Done(Err(e)) => Err(e.clone()),
            State::Done(Ok(())) => Err(Error::from(ErrorKind::Closed)),
        }
    }

    async fn write_out(&mut self) -> Result<(), Error> {
        self.check_open()?;
        let Some(out) = self.out.as_mut() else {
            return Err(Error::from(ErrorKind::Closed));
        };
        let r = match out.write_all(&self.enc.buf).await {
            Ok(()) => out.flush().await,
            Err(e) => Err(e),
        };
        self.enc.buf.clear();
        match r {
            Ok(()) => Ok(()),
            Err(e) => Err(self
                .broken(wire::io_error("writing to the receiver", e))
                .await),
        }
    }

    /// The link broke: learn why from the report channel, and stay failed.
    async fn broken(&mut self, e: Error) -> Error {
        let error = match self.read_report().await {
            Ok(Some(report)) => outcome_of(report, self.accepted).err().unwrap_or_else(|| {
                Error::new(
                    ErrorKind::Disconnected,
                    "the receiver finished before the stream ended",
                )
            }),
            Ok(None) => e,
            Err(protocol) => protocol,
        };
        self.state = State::Failed(error.clone());
        error
    }

    async fn read_report(&mut self) -> Result<Option<Report>, Error> {
        let Some(frames) = self.report.as_mut() else {
            return Ok(None);
        };
        match frames.next().await {
            Ok(Some(Frame::Report(body))) => Report::decode(body)
                .map(Some)
                .ok_or_else(|| wire::protocol("report channel: malformed report")),
            Ok(Some(_)) => Err(wire::protocol("report channel: expected a report")),
            Ok(None) => Ok(None),
            Err(e) if e.kind() == ErrorKind::Protocol => Err(e),
            Err(_) => Ok(None),
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
        if self.policy == Flush::WhenIdle || self.enc.buf.len() >= BATCH_BYTES {
            if let Err(e) = self.write_out().await {
                return Err(SendError::new(item, e));
            }
        }
        self.accepted += 1;
        Ok(())
    }

    /// Frames one item into the buffer. Not `async`, so that no borrow of the item
    /// is held across an `await`: the futures stay `Send` for items that are `Send`
    /// but not `Sync`.
    fn encode(&mut self, item: &T) -> Result<(), Error>
    where
        T: Serialize + 'static,
    {
        self.check_open()?;
        self.enc.item(item)
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
            if self.enc.buf.len() >= BATCH_BYTES {
                if let Err(e) = self.write_out().await {
                    return Err(SendError::new(item, e));
                }
            }
            self.accepted += 1;
            last = Some(item);
        }
        if let (Some(item), Flush::WhenIdle) = (last, self.policy) {
            if let Err(e) = self.write_out().await {
                self.accepted -= 1;
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
        let outcome = match &self.state {
            State::Done(outcome) => return outcome.clone(),
            State::Failed(e) => Err(e.clone()),
            State::Open => self.end_stream().await,
        };
        if let Some(mut out) = self.out.take() {
            let _ = out.shutdown().await;
        }
        self.state = State::Done(outcome.clone());
        outcome
    }

    async fn end_stream(&mut self) -> Result<(), Error> {
        self.enc.end::<T>();
        self.write_out().await?;
        if self.report.is_none() {
            return Ok(());
        }
        match self.read_report().await? {
            Some(report) => outcome_of(report, self.accepted),
            None => Err(Error::new(
                ErrorKind::Disconnected,
                "the receiver ended without reporting its outcome",
            )),
        }
    }
}

impl<T, W: AsyncWrite + Unpin, C: Codec> Drop for AsyncSender<T, W, C> {
    fn drop(&mut self) {
        if matches!(self.state, State::Open) && !self.enc.buf.is_empty() {
            tracing::warn!(
                bytes = self.enc.buf.len(),
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
            .field("accepted", &self.accepted)
            .field("state", &self.state)
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
    frames: AsyncFrames<R>,
    codec: C,
    tag: String,
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
            frames: AsyncFrames::new(input, wire::DEFAULT_MAX_FRAME, 64 << 10),
            codec,
            tag: String::new(),
            report: None,
        }
    }

    /// As [`Receiver::tag`](crate::Receiver::tag).
    ///
    /// ```
    /// let rx = consumer_process::AsyncReceiver::new(tokio::io::empty()).tag("v2");
    /// # drop(rx);
    /// ```
    pub fn tag(mut self, tag: &str) -> Self {
        tag.clone_into(&mut self.tag);
        self
    }

    /// As [`Receiver::max_frame`](crate::Receiver::max_frame).
    ///
    /// ```
    /// let rx = consumer_process::AsyncReceiver::new(tokio::io::empty()).max_frame(1 << 10);
    /// # drop(rx);
    /// ```
    pub fn max_frame(mut self, bytes: u32) -> Self {
        self.frames.max = bytes.clamp(1, wire::MAX_FRAME_CEILING);
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
    pub async fn run<T, K>(mut self, consumer: K) -> Result<u64, Error>
    where
        T: DeserializeOwned + 'static,
        K: Consumer<T>,
    {
        let span = receive_span(consumer.name());
        let mut inline = Inline::new(consumer);
        let mut received = 0;
        let outcome = async {
            let hs = self.frames.handshake().await?;
            check_handshake::<T, C>(&hs, &self.tag)?;
            loop {
                let n = self.frames.frame + 1;
                let frame = self.frames.next().await?;
                if !dispatch(&self.codec, n, frame, &mut inline, &span, &mut received)? {
                    return Ok(());
                }
            }
        }
        .instrument(span.clone())
        .await;
        let AsyncReceiver { frames, report, .. } = self;
        drop(frames);
        let (outcome, frame) = span.in_scope(|| conclude(|| inline.close(), received, outcome));
        if let Some(mut back) = report {
            let _ = back.write_all(&frame).await;
            let _ = back.flush().await;
            let _ = back.shutdown().await;
        }
        outcome.map(|()| received)
    }
}

impl<R: AsyncRead + Unpin, C: Codec> fmt::Debug for AsyncReceiver<R, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncReceiver")
            .field("codec", &C::NAME)
            .field("tag", &self.tag)
            .field("frame", &self.frames.frame)
            .finish()
    }
}
