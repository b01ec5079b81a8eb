//! Per-item events with a message id, and so flow arrows, for runners that do not
//! cross the wire: [`Traced`] on the sending side, [`Handled`] around the consumer.
//!
//! The wire's state machines already say `send {stream, msg}` and `receive
//! {sender_pid, stream, msg}` for every item that crosses a pipe or a socket. A
//! thread, a tokio task or the in-line runner moves the item itself, and the core
//! crate has no tracing (an architecture invariant); so the id travels with the item
//! instead: [`Traced`] wraps a runner's handle, numbers each item and says `send`;
//! the runner runs a [`Handled`] consumer, which says `receive` before handing the
//! bare item on. Neither touches a runner's code, and when nobody listens at trace
//! level each costs one relaxed load per item.

use std::sync::atomic::{AtomicU64, Ordering};

use consumer::{Consumer, Error, SendError};

/// An item and its message id: the sending process, the [`Traced`] handle's stream
/// number in that process, and the item's place in that stream (1, 2, …).
///
/// ```
/// let t = consumer_timeline::Tagged { pid: 1, stream: 2, msg: 3, item: "x" };
/// assert_eq!(t.item, "x");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged<T> {
    /// The sender's process id.
    pub pid: u32,
    /// The stream's number in the sender's process.
    pub stream: u64,
    /// The item's place in its stream, from 1.
    pub msg: u64,
    /// The item.
    pub item: T,
}

/// The sending side: a handle of any runner whose consumer takes [`Tagged`] items
/// (a [`Handled`] one), used as a plain `Consumer<T>`. Each `send` says `send
/// {stream, msg}` at trace level, the start of the item's flow arrow.
///
/// One `Traced` is one stream: a clone of the inner handle wrapped again gets a
/// stream of its own, so ids stay unique with many producers.
///
/// ```
/// use consumer::Consumer;
/// use consumer_timeline::{Handled, Traced};
///
/// let mut seen = Vec::new();
/// let mut handle = Traced::new(Handled::new(&mut seen));
/// handle.send(7)?;
/// handle.close()?;
/// assert_eq!(seen, [7]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Traced<H> {
    inner: H,
    pid: u32,
    stream: u64,
    sent: u64,
}

/// Streams numbered from 2⁶³ up, so their ids never meet the wire's streams
/// (numbered from 1) of the same process.
static STREAMS: AtomicU64 = AtomicU64::new(1 << 63);

impl<H> Traced<H> {
    /// Wraps `handle`, with a stream number of its own.
    ///
    /// ```
    /// let a = consumer_timeline::Traced::new(Vec::<consumer_timeline::Tagged<u8>>::new());
    /// let b = consumer_timeline::Traced::new(Vec::<consumer_timeline::Tagged<u8>>::new());
    /// assert_ne!(a.stream(), b.stream());
    /// ```
    pub fn new(handle: H) -> Traced<H> {
        Traced {
            inner: handle,
            pid: std::process::id(),
            stream: STREAMS.fetch_add(1, Ordering::Relaxed),
            sent: 0,
        }
    }

    /// This handle's stream number.
    ///
    /// ```
    /// let t = consumer_timeline::Traced::new(());
    /// assert!(t.stream() >= 1 << 63);
    /// ```
    pub fn stream(&self) -> u64 {
        self.stream
    }

    /// The handle inside.
    ///
    /// ```
    /// let t = consumer_timeline::Traced::new(5);
    /// assert_eq!(t.into_inner(), 5);
    /// ```
    pub fn into_inner(self) -> H {
        self.inner
    }
}

/// Numbers `item` as the next of its stream and says `send` (the arrow's start).
fn tag<T>(pid: u32, stream: u64, sent_so_far: &mut u64, item: T) -> Tagged<T> {
    *sent_so_far += 1;
    let msg = *sent_so_far;
    if tracing::level_enabled!(tracing::Level::TRACE) {
        sent(stream, msg);
    }
    Tagged {
        pid,
        stream,
        msg,
        item,
    }
}

impl<T, H: Consumer<Tagged<T>>> Consumer<T> for Traced<H> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        let tagged = tag(self.pid, self.stream, &mut self.sent, item);
        self.inner.send(tagged).map_err(|e| e.map_item(|t| t.item))
    }

    /// Keeps the batch: the inner handle gets one `send_batch` of tagged items,
    /// numbered in order.
    ///
    /// ```
    /// use consumer::Consumer;
    /// use consumer_timeline::{Tagged, Traced};
    ///
    /// let mut t = Traced::new(Vec::<Tagged<char>>::new());
    /// t.send_all(['a', 'b', 'c'])?;
    /// let msgs: Vec<u64> = t.into_inner().iter().map(|x| x.msg).collect();
    /// assert_eq!(msgs, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        let (pid, stream, sent_so_far) = (self.pid, self.stream, &mut self.sent);
        let mut tagged = items.map(|item| tag(pid, stream, sent_so_far, item));
        self.inner
            .send_batch(&mut tagged)
            .map_err(|e| e.map_item(|t| t.item))
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.inner.flush()
    }

    fn close(&mut self) -> Result<(), Error> {
        self.inner.close()
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// The handling side: a consumer of `T` taking [`Tagged`] items, saying `receive
/// {sender_pid, stream, msg}` at trace level — in the thread or task that runs it,
/// inside the runner's span — before handing the bare item on: the end of the
/// item's flow arrow.
///
/// ```
/// use consumer::Consumer;
/// use consumer_timeline::{Handled, Tagged};
///
/// let mut h = Handled::new(Vec::new());
/// h.send(Tagged { pid: 1, stream: 1, msg: 1, item: 'a' })?;
/// assert_eq!(h.into_inner(), ['a']);
/// # Ok::<(), consumer::SendError<Tagged<char>>>(())
/// ```
#[derive(Debug)]
pub struct Handled<C> {
    inner: C,
}

impl<C> Handled<C> {
    /// Wraps `consumer`.
    ///
    /// ```
    /// let h = consumer_timeline::Handled::new(Vec::<u8>::new());
    /// # drop(h);
    /// ```
    pub fn new(consumer: C) -> Handled<C> {
        Handled { inner: consumer }
    }

    /// The consumer inside.
    ///
    /// ```
    /// assert_eq!(consumer_timeline::Handled::new(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> C {
        self.inner
    }
}

impl<T, C: Consumer<T>> Consumer<Tagged<T>> for Handled<C> {
    fn send(&mut self, tagged: Tagged<T>) -> Result<(), SendError<Tagged<T>>> {
        let Tagged {
            pid,
            stream,
            msg,
            item,
        } = tagged;
        if tracing::level_enabled!(tracing::Level::TRACE) {
            received(pid, stream, msg);
        }
        self.inner.send(item).map_err(|e| {
            e.map_item(|item| Tagged {
                pid,
                stream,
                msg,
                item,
            })
        })
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.inner.flush()
    }

    fn close(&mut self) -> Result<(), Error> {
        self.inner.close()
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

#[cold]
#[inline(never)]
fn sent(stream: u64, msg: u64) {
    tracing::trace!(stream, msg, "send");
}

#[cold]
#[inline(never)]
fn received(sender_pid: u32, stream: u64, msg: u64) {
    tracing::trace!(sender_pid, stream, msg, "receive");
}
