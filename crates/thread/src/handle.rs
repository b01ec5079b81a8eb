//! [`Handle`]: the sending side, a [`Consumer`] that puts each item in the runner's
//! mailbox.
//!
//! Every message goes in under a pass from the [gate](crate::gate): the handle marks
//! its own slot busy, checks that the gate is open, pushes, and clears the slot. That
//! is what lets `close` (or a failure) know when every accepted send has landed.
//!
//! - `send`, `try_send`, `send_timeout` push one item; [`send_all`](Handle::send_all)
//!   pushes up to [`BATCH`] items as one message.
//! - `close` takes a pass, shuts the gate and puts the close marker in under that
//!   pass (so a runner draining on a failure waits for it), then waits on the run's
//!   [one-shot](crate::oneshot) outcome.
//! - Clones count themselves in the shared state; the last one to drop closes the
//!   runner and, unless it is a daemon, waits for the end and joins the thread.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, SendError, Stats};
use crossbeam_channel::{SendTimeoutError, Sender, TrySendError};

use crate::gate::{SlotRef, State};
use crate::shared::{Msg, Shared};
use crate::sync::lock;

/// The most items [`send_all`](Consumer::send_all) gathers into one message.
///
/// ```
/// let r = consumer_thread::spawn(Vec::new());
/// r.send_all(0..consumer_thread::BATCH as u32 * 2)?; // two messages through the mailbox
/// assert_eq!(r.join()?.len(), 512);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const BATCH: usize = 256;

/// A sender to a runner thread, and itself a [`Consumer`]: producers cannot tell it
/// from the consumer run in-line.
///
/// Clone it for each producer thread (a clone is cheap, and `Handle` is deliberately
/// not `Sync`: each clone owns the one-line flag that lets `close` lose nothing).
/// `close` through any clone closes the runner for all of them; dropping the last
/// clone closes it too (see [`Builder::daemon`](crate::Builder::daemon) for the
/// exception).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use consumer::{Consumer, ErrorKind};
///
/// let runner = consumer_thread::Builder::new().capacity(1).spawn(Vec::new())?;
/// let mut h = runner.handle();
/// h.send(1)?;                                      // waits while the mailbox is full
/// h.send_timeout(2, Duration::from_secs(5))?;      // waits at most that long
/// match h.try_send(3) {                            // never waits
///     Ok(()) => {}
///     Err(e) => assert_eq!(e.kind(), ErrorKind::Full),
/// }
/// h.close()?;
/// assert_eq!(h.send(4).unwrap_err().into_item(), Some(4));
/// assert!(runner.join()?.starts_with(&[1, 2]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Not `Sync`
///
/// Share a runner between threads by cloning handles, not by sharing one:
///
/// ```compile_fail
/// fn share<H: Sync>(_: &H) {}
/// let runner = consumer_thread::spawn(Vec::<u8>::new());
/// share(&runner.handle()); // error: `Cell<()>` cannot be shared between threads
/// ```
pub struct Handle<T> {
    tx: Sender<Msg<T>>,
    slot: SlotRef,
    shared: Arc<Shared>,
    /// One slot serves one send at a time.
    not_sync: PhantomData<Cell<()>>,
}

impl<T> Handle<T> {
    /// A handle sending through `tx`, with a slot of its own in the gate. The caller
    /// has counted it in `shared.handles`.
    pub(crate) fn new(tx: Sender<Msg<T>>, shared: Arc<Shared>) -> Handle<T> {
        Handle {
            slot: shared.gate.register(),
            tx,
            shared,
            not_sync: PhantomData,
        }
    }

    /// The state shared with the runner thread.
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Sends `item`, waiting while the mailbox is full.
    ///
    /// # Errors
    ///
    /// With the item back: [`Closed`](ErrorKind::Closed) after `close`; the
    /// consumer's failure ([`Panicked`](ErrorKind::Panicked) or
    /// [`Other`](ErrorKind::Other)) once it has failed — promptly, even for a send
    /// that was waiting on a full mailbox.
    ///
    /// ```
    /// let r = consumer_thread::spawn(Vec::new());
    /// r.send("hello")?;
    /// # Ok::<(), consumer::SendError<&str>>(())
    /// ```
    #[inline]
    pub fn send(&self, item: T) -> Result<(), SendError<T>> {
        self.push(item, Sender::send, |e| self.lost(e.0))
    }

    /// Sends `item` if the mailbox has room now.
    ///
    /// # Errors
    ///
    /// As [`send`](Handle::send), and [`Full`](ErrorKind::Full) with the item back.
    ///
    /// ```
    /// use consumer::ErrorKind;
    ///
    /// let (tx, rx) = crossbeam_channel::bounded(0); // the consumer blocks on this
    /// let r = consumer_thread::Builder::new().capacity(1).spawn(tx)?;
    /// r.try_send(1)?; // taken by the runner, which then blocks in `send`
    /// let mut full = false;
    /// for n in 2..1_000 {
    ///     if let Err(e) = r.try_send(n) {
    ///         assert_eq!(e.kind(), ErrorKind::Full);
    ///         assert_eq!(e.into_item(), Some(n));
    ///         full = true;
    ///         break;
    ///     }
    /// }
    /// assert!(full);
    /// drop(rx); // unblock the consumer (its sends now fail)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_send(&self, item: T) -> Result<(), SendError<T>> {
        self.push(item, Sender::try_send, |e| match e {
            TrySendError::Full(msg) => full_or_timeout(msg, ErrorKind::Full),
            TrySendError::Disconnected(msg) => self.lost(msg),
        })
    }

    /// Sends `item`, waiting at most `timeout` for room in the mailbox.
    ///
    /// # Errors
    ///
    /// As [`send`](Handle::send), and [`Timeout`](ErrorKind::Timeout) with the item back.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let r = consumer_thread::spawn(Vec::new());
    /// r.send_timeout(1, Duration::from_millis(100))?;
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn send_timeout(&self, item: T, timeout: Duration) -> Result<(), SendError<T>> {
        let push = |tx: &Sender<Msg<T>>, msg| tx.send_timeout(msg, timeout);
        self.push(item, push, |e| match e {
            SendTimeoutError::Timeout(msg) => full_or_timeout(msg, ErrorKind::Timeout),
            SendTimeoutError::Disconnected(msg) => self.lost(msg),
        })
    }

    /// Sends items in batches of up to [`BATCH`], each one message through the
    /// mailbox: several times the rate of sending them one by one. The mailbox's
    /// bound counts every item of a batch (see
    /// [`Builder::capacity`](crate::Builder::capacity)).
    ///
    /// The batch is gathered while the send is in flight, so an iterator that yields
    /// slowly (over a channel, say) holds its items back until a batch is full, and
    /// holds up a concurrent `close` meanwhile: send such items one by one.
    ///
    /// # Errors
    ///
    /// As [`send`](Handle::send), with the first refused item back; items after it
    /// are not taken from the iterator. Should the runner thread vanish without
    /// reporting (a bug, not a consumer's panic), the rest of that batch is lost.
    ///
    /// ```
    /// let r = consumer_thread::spawn(Vec::new());
    /// r.send_all(0..1_000)?;
    /// assert_eq!(r.join()?.len(), 1_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_all<I>(&self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        let mut items = items.into_iter().peekable();
        let credit = &self.shared.credit;
        let gate = &self.shared.gate;
        loop {
            if items.peek().is_none() {
                return Ok(());
            }
            // Each item after a batch's first needs a unit of credit (the mailbox's
            // bound is in items). Without any, yield a few times for the runner to
            // give some back; then the next item goes alone while the channel has
            // room, and once it is full too, wait for credit, outside the gate (the
            // runner thread itself cannot wait: its items go alone).
            let mut extra = credit.take(BATCH - 1);
            if extra == 0 && !self.shared.is_runner_thread() {
                // A runner keeping up gives credit back within a few time slices.
                extra = credit.take_soon(BATCH - 1);
                if extra == 0 && self.tx.is_full() {
                    extra = credit.take_or_wait(BATCH - 1, || gate.state() == State::Open);
                }
            }
            let pass = match gate.enter(&self.slot) {
                Ok(pass) => pass,
                Err(state) => {
                    credit.give(extra);
                    return match items.next() {
                        Some(item) => Err(self.shared.refuse(item, state)),
                        None => Ok(()),
                    };
                }
            };
            let (sent, n) = if extra == 0 {
                match items.next() {
                    None => return Ok(()),
                    Some(item) => (self.tx.send(Msg::One(item)), 1),
                }
            } else {
                let batch: Vec<T> = items.by_ref().take(extra + 1).collect();
                let n = batch.len();
                credit.give(extra + 1 - n.max(1));
                let sent = match n {
                    0 => return Ok(()),
                    1 => self
                        .tx
                        .send(Msg::One(batch.into_iter().next().expect("one"))),
                    _ => self.tx.send(Msg::Batch(Box::new(batch))),
                };
                if n <= extra {
                    // The iterator ran out: this was the last message.
                    if sent.is_ok() {
                        pass.accepted(n as u64);
                    }
                    drop(pass);
                    return sent.map_err(|e| self.lost(e.0));
                }
                (sent, n)
            };
            if sent.is_ok() {
                pass.accepted(n as u64);
            }
            drop(pass);
            sent.map_err(|e| self.lost(e.0))?;
        }
    }

    /// Asks the runner to call the consumer's `flush` after the items sent so far.
    /// It does not wait for that.
    ///
    /// # Errors
    ///
    /// [`Closed`](ErrorKind::Closed) after `close`, or the consumer's failure. A
    /// failing `flush` in the runner ends the run as a failing `send` would.
    ///
    /// ```
    /// let r = consumer_thread::spawn(Vec::<u8>::new());
    /// r.flush()?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn flush(&self) -> Result<(), Error> {
        let pass = match self.shared.gate.enter(&self.slot) {
            Ok(pass) => pass,
            Err(state) => return Err(self.shared.refuse((), state).into_error()),
        };
        let sent = self.tx.send(Msg::Flush);
        drop(pass);
        sent.map_err(|_| self.shared.failure())
    }

    /// Closes the runner for every handle: everything sent before is delivered, then
    /// the consumer's `close` runs once, then the thread ends. Returns after the
    /// consumer's `close`, with its outcome or the failure that ended the run; a
    /// second call returns the same outcome.
    ///
    /// # Errors
    ///
    /// As [`Runner::join`](crate::Runner::join); and [`Usage`](ErrorKind::Usage) when
    /// called from the runner's own thread (by the consumer), which would wait for
    /// itself.
    ///
    /// ```
    /// let r = consumer_thread::spawn(Vec::new());
    /// let h = r.handle();
    /// h.send(1)?;
    /// h.close()?;
    /// assert!(h.send(2).unwrap_err().error().is_closed());
    /// assert!(r.is_finished());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn close(&self) -> Result<(), Error> {
        self.close_and_wait()
    }

    /// [`close`](Handle::close), for the runner and the last drop too.
    pub(crate) fn close_and_wait(&self) -> Result<(), Error> {
        // The marker goes in under a pass, so that a runner shutting on a failure
        // meanwhile keeps draining until it is in (the mailbox may be full).
        if let Ok(pass) = self.shared.gate.enter(&self.slot) {
            if self.shared.close_gate() {
                if self.shared.is_runner_thread() {
                    // The runner cannot wait for room in its own mailbox. If this does
                    // not fit, the runner still ends: when its last handle goes.
                    let _ = self.tx.try_send(Msg::Close);
                } else {
                    // Fails only if the thread vanished; `Run`'s guard reported that.
                    let _ = self.tx.send(Msg::Close);
                }
            }
            drop(pass);
        }
        self.shared.wait()
    }

    /// Has the run ended (closed, or stopped by a failure), its consumer's `close`
    /// done?
    ///
    /// ```
    /// let r = consumer_thread::spawn(Vec::<u8>::new());
    /// assert!(!r.is_finished());
    /// r.close()?;
    /// assert!(r.is_finished());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.shared.outcome.is_set()
    }

    /// A snapshot of the runner's live counts: items accepted (by every handle),
    /// delivered to the consumer, still queued, and lost to a failure (`restarts` is
    /// always 0: a runner does not restart its consumer).
    ///
    /// ```
    /// let r = consumer_thread::spawn(Vec::new());
    /// r.send_all(0..10)?;
    /// r.close()?;
    /// let s = r.stats();
    /// assert_eq!((s.accepted, s.delivered, s.queued, s.undelivered), (10, 10, 0, 0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// The runner's name: its thread's name, by default its consumer's
    /// [`name`](Consumer::name).
    ///
    /// ```
    /// let r = consumer_thread::spawn(Vec::<u8>::new());
    /// assert_eq!(r.name(), "Vec<u8>");
    /// ```
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Pushes one item through the gate with `push`; `refused` turns the mailbox's
    /// error into ours.
    #[inline]
    fn push<E>(
        &self,
        item: T,
        push: impl FnOnce(&Sender<Msg<T>>, Msg<T>) -> Result<(), E>,
        refused: impl FnOnce(E) -> SendError<T>,
    ) -> Result<(), SendError<T>> {
        let pass = match self.shared.gate.enter(&self.slot) {
            Ok(pass) => pass,
            Err(state) => return Err(self.shared.refuse(item, state)),
        };
        let sent = push(&self.tx, Msg::One(item));
        if sent.is_ok() {
            pass.accepted(1);
        }
        drop(pass);
        sent.map_err(refused)
    }

    /// The error for a message the mailbox refused because the thread is gone.
    #[cold]
    fn lost(&self, msg: Msg<T>) -> SendError<T> {
        let error = self.shared.failure();
        match msg {
            Msg::One(item) => SendError::new(item, error),
            Msg::Batch(items) => match (*items).into_iter().next() {
                Some(item) => SendError::new(item, error),
                None => SendError::lost(error),
            },
            Msg::Flush | Msg::Close => SendError::lost(error),
        }
    }
}

#[cold]
fn full_or_timeout<T>(msg: Msg<T>, kind: ErrorKind) -> SendError<T> {
    let error = Error::from(kind);
    match msg {
        Msg::One(item) => SendError::new(item, error),
        _ => SendError::lost(error),
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *lock(&self.shared.handles) += 1;
        Handle::new(self.tx.clone(), Arc::clone(&self.shared))
    }
}

impl<T> Drop for Handle<T> {
    fn drop(&mut self) {
        let last = {
            let mut handles = lock(&self.shared.handles);
            *handles -= 1;
            *handles == 0
        };
        // Close while this slot is still registered (the marker goes in under it).
        if last && !self.shared.daemon {
            // The outcome is the caller's to see through `close`; a drop cannot report it.
            let _ = self.close_and_wait();
            let _ = self.shared.join_thread();
        }
        self.shared.gate.unregister(&self.slot);
        // A daemon's last handle just goes: dropping its sender disconnects the
        // mailbox, and the runner closes once it has drained it.
    }
}

impl<T> Consumer<T> for Handle<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        Handle::send(self, item)
    }
    fn close(&mut self) -> Result<(), Error> {
        self.close_and_wait()
    }
    fn flush(&mut self) -> Result<(), Error> {
        Handle::flush(self)
    }
    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        Handle::send_all(self, items)
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        Handle::send_all(self, items)
    }
    fn name(&self) -> &str {
        Handle::name(self)
    }
}

impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("name", &self.shared.name)
            .field("state", &self.shared.gate.state())
            .field("daemon", &self.shared.daemon)
            .finish()
    }
}
