//! [`Builder`], [`spawn`], the [`Runner`] that owns the thread, the [`Handle`]s that
//! send to it, and the loop the thread runs.

use std::cell::Cell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::ops::Deref;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, SendError};
use crossbeam_channel::{Receiver, RecvTimeoutError, SendTimeoutError, Sender, TrySendError};

use crate::gate::{Gate, SlotRef, State};
use crate::oneshot::Oneshot;
use crate::sync::lock;

/// The mailbox capacity of [`Builder::new`] and [`spawn`], in messages.
///
/// ```
/// // At most this many sends (or batches) wait in the mailbox before a sender blocks.
/// assert_eq!(consumer_thread::DEFAULT_CAPACITY, 1024);
/// ```
pub const DEFAULT_CAPACITY: usize = 1024;

/// The most items [`send_all`](Consumer::send_all) gathers into one message.
///
/// ```
/// let r = consumer_thread::spawn(Vec::new());
/// r.send_all(0..consumer_thread::BATCH as u32 * 2)?; // two messages through the mailbox
/// assert_eq!(r.join()?.len(), 512);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const BATCH: usize = 256;

/// How long the runner waits between looks at the gate while a send is still in flight
/// during shutdown. Only a sender caught between its two steps makes it wait at all.
const QUIET_POLL: Duration = Duration::from_micros(200);

/// What travels through the mailbox.
///
/// The batch is boxed to keep the message small: for a `u64` this is 16 bytes, and a
/// mailbox slot's size shows in the throughput of small items across cores.
enum Msg<T> {
    One(T),
    #[allow(
        clippy::box_collection,
        reason = "a thin pointer keeps every message small"
    )]
    Batch(Box<Vec<T>>),
    Flush,
    Close,
}

/// What the runner, its handles and its thread share.
struct Shared {
    gate: Gate,
    /// The runner's name: its thread's name and its `tracing` span's `runner` field.
    name: String,
    daemon: bool,
    /// Live handles (the [`Runner`]'s own included); the last one to go closes.
    handles: Mutex<usize>,
    /// The failure that shut the gate as `Failed`; set before the gate is shut.
    failure: OnceLock<Error>,
    /// The run's outcome, set once the consumer's `close` has run (or could not).
    outcome: Oneshot<Result<(), Error>>,
    /// The runner thread, to refuse waiting for itself.
    thread: OnceLock<ThreadId>,
    /// The thread itself, joined by [`Runner::join`] or by the last handle of a
    /// non-daemon runner; a daemon's is detached when this is dropped.
    joiner: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
    /// The error a send gets when the gate is shut in `state`, with the item back.
    fn refuse<T>(&self, item: T, state: State) -> SendError<T> {
        match state {
            State::Failed => SendError::new(item, self.failure()),
            State::Open | State::Closed => SendError::closed(item),
        }
    }

    fn failure(&self) -> Error {
        self.failure
            .get()
            .cloned()
            .unwrap_or_else(|| Error::new(ErrorKind::Disconnected, "the runner thread is gone"))
    }

    /// Records the outcome and wakes everyone waiting in `close`.
    fn finish(&self, outcome: Result<(), Error>) {
        self.outcome.set(outcome);
    }

    /// Joins the runner thread, if no one has yet.
    fn join_thread(&self) -> thread::Result<()> {
        let thread = lock(&self.joiner).take();
        match thread {
            Some(t) if t.thread().id() != thread::current().id() => t.join(),
            _ => Ok(()),
        }
    }

    /// Is the caller the runner thread itself (a consumer using its own handle)?
    fn is_runner_thread(&self) -> bool {
        self.thread.get() == Some(&thread::current().id())
    }

    /// Waits for the outcome.
    fn wait(&self) -> Result<(), Error> {
        if self.is_runner_thread() {
            return Err(Error::new(
                ErrorKind::Usage,
                "a consumer cannot close its own runner: it would wait for itself",
            ));
        }
        self.outcome.wait()
    }
}

/// Configures a runner before its thread starts: name, mailbox capacity, daemon mode.
///
/// # Examples
///
/// ```
/// use consumer::Consumer;
///
/// let runner = consumer_thread::Builder::new()
///     .name("collector")
///     .capacity(64)
///     .spawn(Vec::new())?;
/// assert_eq!(runner.name(), "collector");
/// runner.send(1)?;
/// assert_eq!(runner.join()?, [1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    name: Option<String>,
    capacity: Option<usize>,
    daemon: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// A non-daemon runner named after its consumer, with a mailbox of
    /// [`DEFAULT_CAPACITY`] messages.
    ///
    /// ```
    /// let runner = consumer_thread::Builder::new().spawn(Vec::<u8>::new())?;
    /// assert_eq!(runner.name(), "Vec<u8>");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder {
            name: None,
            capacity: Some(DEFAULT_CAPACITY),
            daemon: false,
        }
    }

    /// Names the runner: its thread, its `tracing` span, [`Handle::name`].
    ///
    /// ```
    /// let r = consumer_thread::Builder::new().name("sum").spawn(Vec::<u8>::new())?;
    /// assert_eq!(r.name(), "sum");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// A mailbox of `n` messages (an item, or a batch from
    /// [`send_all`](Consumer::send_all)): a sender waits while it is full, so a fast
    /// producer cannot run ahead of the consumer by more than that. `0` makes every
    /// send wait until the runner takes the item.
    ///
    /// ```
    /// let r = consumer_thread::Builder::new().capacity(1).spawn(Vec::<u8>::new())?;
    /// r.try_send(1)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn capacity(mut self, n: usize) -> Builder {
        self.capacity = Some(n);
        self
    }

    /// A mailbox without bound: sends never wait, and memory is the only limit.
    ///
    /// ```
    /// let r = consumer_thread::Builder::new().unbounded().spawn(Vec::new())?;
    /// for i in 0..10_000 {
    ///     r.try_send(i)?; // never full
    /// }
    /// assert_eq!(r.join()?.len(), 10_000);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unbounded(mut self) -> Builder {
        self.capacity = None;
        self
    }

    /// Daemon mode (Python's `setDaemon(True)`, made safe): dropping the last handle
    /// does not wait. The runner still delivers what is queued, then closes the
    /// consumer, in the background; whatever it has not finished when the process
    /// exits is lost. An explicit [`close`](Handle::close) or [`join`](Runner::join)
    /// waits as for any runner.
    ///
    /// ```
    /// let r = consumer_thread::Builder::new().daemon(true).spawn(Vec::new())?;
    /// r.send(1)?;
    /// drop(r); // returns at once; the thread finishes on its own
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn daemon(mut self, daemon: bool) -> Builder {
        self.daemon = daemon;
        self
    }

    /// Starts the thread running `consumer`.
    ///
    /// Fails if the OS cannot start a thread, or (as `InvalidInput`) if the name
    /// contains a NUL byte.
    ///
    /// ```
    /// let err = consumer_thread::Builder::new().name("a\0b").spawn(Vec::<u8>::new());
    /// assert_eq!(err.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn spawn<C, T>(self, consumer: C) -> io::Result<Runner<C, T>>
    where
        C: Consumer<T> + Send + 'static,
        T: Send + 'static,
    {
        let consumer_name = consumer.name().to_owned();
        let name = self.name.unwrap_or_else(|| consumer_name.clone());
        if name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a runner's name cannot contain a NUL byte",
            ));
        }
        let (tx, rx) = match self.capacity {
            Some(n) => crossbeam_channel::bounded(n),
            None => crossbeam_channel::unbounded(),
        };
        let shared = Arc::new(Shared {
            gate: Gate::new(),
            name: name.clone(),
            daemon: self.daemon,
            handles: Mutex::new(1),
            failure: OnceLock::new(),
            outcome: Oneshot::new(),
            thread: OnceLock::new(),
            joiner: Mutex::new(None),
        });
        let returned = Arc::new(Mutex::new(None));
        let run = Run {
            consumer,
            rx,
            shared: Arc::clone(&shared),
            delivered: 0,
            left_in_batch: 0,
        };
        let back = Arc::clone(&returned);
        let thread = thread::Builder::new().name(name).spawn(move || {
            let consumer = run.run(&consumer_name);
            *lock(&back) = consumer;
        })?;
        let _ = shared.thread.set(thread.thread().id());
        *lock(&shared.joiner) = Some(thread);
        let handle = Handle {
            slot: shared.gate.register(),
            tx,
            shared,
            not_sync: PhantomData,
        };
        Ok(Runner { handle, returned })
    }
}

/// Runs `consumer` in a new thread with the default [`Builder`]: a bounded mailbox,
/// not a daemon, named after the consumer.
///
/// # Panics
///
/// If the OS cannot start a thread, as [`std::thread::spawn`] does; use
/// [`Builder::spawn`] to get the error instead.
///
/// # Examples
///
/// ```
/// use consumer::Consumer;
///
/// let runner = consumer_thread::spawn(Vec::new());
/// let mut h = runner.handle();
/// std::thread::spawn(move || h.send_all(1..=3)).join().unwrap()?;
/// assert_eq!(runner.join()?, [1, 2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn spawn<C, T>(consumer: C) -> Runner<C, T>
where
    C: Consumer<T> + Send + 'static,
    T: Send + 'static,
{
    Builder::new()
        .spawn(consumer)
        .expect("failed to spawn a runner thread")
}

/// The owner of a runner thread: a [`Handle`] (it derefs to one and is a consumer
/// itself) that can also [`join`](Runner::join) the thread to get the consumer back.
///
/// Make [`handle`](Runner::handle)s for the producers; keep the `Runner` to read the
/// consumer's final state. Dropping a `Runner` without joining is dropping one
/// handle: if it was the last, the runner closes (waiting, unless it is a
/// [daemon](Builder::daemon)).
///
/// # Examples
///
/// ```
/// use consumer::{Consumer, Error, SendError};
///
/// #[derive(Default)]
/// struct Sum(u64);
/// impl Consumer<u64> for Sum {
///     fn send(&mut self, n: u64) -> Result<(), SendError<u64>> {
///         self.0 += n;
///         Ok(())
///     }
/// }
///
/// let mut sum = consumer_thread::spawn(Sum::default());
/// sum.send_all(1..=100)?;
/// assert_eq!(sum.join()?.0, 5050);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runner<C, T> {
    handle: Handle<T>,
    /// Where the thread leaves the consumer when it ends (unless it panicked).
    returned: Arc<Mutex<Option<C>>>,
}

impl<C, T> Runner<C, T> {
    /// A new handle to this runner, for a producer.
    ///
    /// ```
    /// let r = consumer_thread::spawn(Vec::new());
    /// r.handle().send(7)?;
    /// assert_eq!(r.join()?, [7]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle(&self) -> Handle<T> {
        self.handle.clone()
    }

    /// Gives up the right to join: the thread runs on, and the returned handle is
    /// like any other (dropping the last one closes the runner).
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let mut h = consumer_thread::spawn(Vec::new()).into_handle();
    /// h.send(1)?;
    /// h.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_handle(self) -> Handle<T> {
        self.handle
    }

    /// Closes the runner (as [`Handle::close`]: every item sent before is delivered,
    /// then the consumer's `close` runs) and waits for its thread to end, returning
    /// the consumer, or the failure that ended the run.
    ///
    /// # Errors
    ///
    /// The consumer's own error from `send` or `close` (kind
    /// [`Other`](ErrorKind::Other), with [`undelivered`](Error::undelivered) for a
    /// failed `send`), or [`Panicked`](ErrorKind::Panicked) with the panic's message and
    /// the number of accepted items that were never delivered. In those cases the
    /// consumer is dropped in the runner thread.
    ///
    /// ```
    /// use consumer::{ErrorKind, from_fn};
    ///
    /// let r = consumer_thread::spawn(from_fn(|n: u32| assert!(n < 3, "too big")));
    /// for n in 0..10 {
    ///     let _ = r.send(n); // later sends fail once it has panicked
    /// }
    /// let e = r.join().unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Panicked);
    /// assert_eq!(e.message(), Some("too big"));
    /// ```
    pub fn join(self) -> Result<C, Error> {
        let outcome = self.handle.close_and_wait();
        if let Err(payload) = self.handle.shared.join_thread() {
            return Err(Error::from_panic(payload.as_ref(), 0));
        }
        outcome?;
        lock(&self.returned)
            .take()
            .ok_or_else(|| self.handle.shared.failure())
    }
}

/// The sending methods the [`Consumer`] impl would otherwise shadow (it takes
/// `&mut self`): so that `runner.send(x)` works on a shared `Runner`, as on a handle.
impl<C, T> Runner<C, T> {
    /// As [`Handle::send`].
    ///
    /// ```
    /// use consumer::Consumer; // its `send` takes `&mut self`; this one does not
    ///
    /// let r = consumer_thread::spawn(Vec::new());
    /// r.send(1)?;
    /// assert_eq!(r.join()?, [1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn send(&self, item: T) -> Result<(), SendError<T>> {
        self.handle.send(item)
    }

    /// As [`Handle::send_all`].
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let r = consumer_thread::spawn(Vec::new());
    /// r.send_all(1..=3)?;
    /// assert_eq!(r.join()?, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_all<I: IntoIterator<Item = T>>(&self, items: I) -> Result<(), SendError<T>> {
        self.handle.send_all(items)
    }

    /// As [`Handle::flush`].
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let r = consumer_thread::spawn(Vec::<u8>::new());
    /// r.flush()?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn flush(&self) -> Result<(), Error> {
        self.handle.flush()
    }

    /// As [`Handle::close`]; [`join`](Runner::join) also hands the consumer back.
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let r = consumer_thread::spawn(Vec::<u8>::new());
    /// r.close()?;
    /// assert!(r.is_finished());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn close(&self) -> Result<(), Error> {
        self.handle.close_and_wait()
    }
}

impl<C, T> Deref for Runner<C, T> {
    type Target = Handle<T>;

    fn deref(&self) -> &Handle<T> {
        &self.handle
    }
}

impl<C, T> Consumer<T> for Runner<C, T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.handle.send(item)
    }
    fn close(&mut self) -> Result<(), Error> {
        self.handle.close_and_wait()
    }
    fn flush(&mut self) -> Result<(), Error> {
        self.handle.flush()
    }
    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        self.handle.send_all(items)
    }
    fn name(&self) -> &str {
        self.handle.name()
    }
}

impl<C, T> fmt::Debug for Runner<C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Runner").field(&self.handle).finish()
    }
}

/// A sender to a runner thread, and itself a [`Consumer`]: producers cannot tell it
/// from the consumer run in-line.
///
/// Clone it for each producer thread (a clone is cheap, and `Handle` is deliberately
/// not `Sync`: each clone owns the one-line flag that lets `close` lose nothing).
/// `close` through any clone closes the runner for all of them; dropping the last
/// clone closes it too (see [`Builder::daemon`] for the exception).
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
    /// mailbox: several times the rate of sending them one by one.
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
        let mut items = items.into_iter();
        loop {
            let pass = match self.shared.gate.enter(&self.slot) {
                Ok(pass) => pass,
                Err(state) => {
                    return match items.next() {
                        Some(item) => Err(self.shared.refuse(item, state)),
                        None => Ok(()),
                    };
                }
            };
            let batch: Vec<T> = items.by_ref().take(BATCH).collect();
            let last = batch.len() < BATCH;
            let sent = match batch.len() {
                0 => return Ok(()),
                1 => self
                    .tx
                    .send(Msg::One(batch.into_iter().next().expect("one"))),
                _ => self.tx.send(Msg::Batch(Box::new(batch))),
            };
            drop(pass);
            sent.map_err(|e| self.lost(e.0))?;
            if last {
                return Ok(());
            }
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
    /// As [`Runner::join`]; and [`Usage`](ErrorKind::Usage) when called from the
    /// runner's own thread (by the consumer), which would wait for itself.
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

    fn close_and_wait(&self) -> Result<(), Error> {
        // The marker goes in under a pass, so that a runner shutting on a failure
        // meanwhile keeps draining until it is in (the mailbox may be full).
        if let Ok(pass) = self.shared.gate.enter(&self.slot) {
            if self.shared.gate.close() {
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
        Handle {
            tx: self.tx.clone(),
            slot: self.shared.gate.register(),
            shared: Arc::clone(&self.shared),
            not_sync: PhantomData,
        }
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

/// Why the consumer stopped before `close`.
struct Failure {
    error: Error,
    panicked: bool,
    /// Items of the failing batch after the failing one.
    left_in_batch: u64,
}

/// The consumer's `send` or `flush` returned `error`, with `left_in_batch` items of
/// its batch behind the failing one.
#[cold]
fn failed(error: Error, left_in_batch: u64) -> Failure {
    Failure {
        error,
        panicked: false,
        left_in_batch,
    }
}

/// The runner thread's state.
struct Run<C, T> {
    consumer: C,
    rx: Receiver<Msg<T>>,
    shared: Arc<Shared>,
    /// Items handed to the consumer so far (for logs).
    delivered: u64,
    /// While a batch is delivered: how many of its items follow the current one.
    left_in_batch: u64,
}

/// Reports a runner thread that ends without an outcome (a bug, or a panic in the
/// consumer's `Drop`), so that no one waits for it forever.
struct Guard<'a>(&'a Shared);

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        if !self.0.outcome.is_set() {
            let e = Error::new(ErrorKind::Disconnected, "the runner thread ended abruptly");
            let _ = self.0.failure.set(e.clone());
            self.0.gate.fail();
            self.0.finish(Err(e));
        }
    }
}

impl<C: Consumer<T>, T> Run<C, T> {
    fn run(mut self, consumer_name: &str) -> Option<C> {
        let shared = Arc::clone(&self.shared);
        let _guard = Guard(&shared);
        let _ = shared.thread.set(thread::current().id());
        let span = tracing::info_span!(
            "consumer_thread",
            runner = %shared.name,
            consumer = %consumer_name,
        );
        let _span = span.enter();
        tracing::debug!("runner started");
        match self.deliver_all() {
            Ok(()) => {
                tracing::debug!(delivered = self.delivered, "closing the consumer");
                let consumer = &mut self.consumer;
                match catch_unwind(AssertUnwindSafe(|| consumer.close())) {
                    Ok(outcome) => {
                        self.shared.finish(outcome);
                        Some(self.consumer)
                    }
                    Err(payload) => {
                        let e = Error::from_panic(payload.as_ref(), 0);
                        tracing::warn!(error = %e, "the consumer panicked in close");
                        self.shared.finish(Err(e));
                        None
                    }
                }
            }
            Err(f) => self.fail(f),
        }
    }

    /// Delivers everything, through the close marker (or the last handle's going)
    /// and the drain after it, or up to the consumer's failure.
    ///
    /// One `catch_unwind` around the whole loop rather than one per item keeps the
    /// per-item path short; `left_in_batch` says where a panic struck.
    fn deliver_all(&mut self) -> Result<(), Failure> {
        let delivered = catch_unwind(AssertUnwindSafe(|| {
            self.deliver_until_closed()?;
            self.drain_until_quiet()
        }));
        delivered.unwrap_or_else(|payload| {
            Err(Failure {
                error: Error::from_panic(payload.as_ref(), 0),
                panicked: true,
                left_in_batch: self.left_in_batch,
            })
        })
    }

    /// Delivers until the close marker, or until every handle is gone.
    fn deliver_until_closed(&mut self) -> Result<(), Failure> {
        loop {
            // An empty mailbox: give the core away once before waiting. crossbeam's
            // `recv` spins on the mailbox's shared cache lines first, and a runner
            // spinning on every item starves the producer it waits for (measured:
            // 4 M items/s with the spin, 10 M with the yield; lone-item latency
            // unchanged). See docs/decisions/0003-thread-runner.md.
            let next = match self.rx.try_recv() {
                Ok(msg) => Ok(msg),
                Err(_) => {
                    thread::yield_now();
                    self.rx.recv()
                }
            };
            match next {
                // The hot path, written out here so that nothing stands between the
                // mailbox and the consumer but a branch.
                Ok(Msg::One(item)) => self.deliver_one(item)?,
                Ok(Msg::Close) => return Ok(()),
                Ok(msg) => self.deliver(msg)?,
                Err(_) => {
                    // Every sender dropped: a daemon's last handle went.
                    self.shared.gate.close();
                    return Ok(());
                }
            }
        }
    }

    /// With the gate shut as closed, delivers what is in the mailbox and what senders
    /// caught in flight still push, until no send is in flight and the mailbox is empty.
    fn drain_until_quiet(&mut self) -> Result<(), Failure> {
        self.until_quiet(|run, msg| run.deliver(msg))
    }

    /// Hands `each` every message until the gate is quiet and the mailbox empty,
    /// receiving meanwhile so that senders blocked on a full mailbox get through.
    fn until_quiet<E>(
        &mut self,
        mut each: impl FnMut(&mut Self, Msg<T>) -> Result<(), E>,
    ) -> Result<(), E> {
        loop {
            while let Ok(msg) = self.rx.try_recv() {
                each(self, msg)?;
            }
            if self.shared.gate.is_quiet() {
                // Every in-flight push has landed: one last sweep finds them all.
                while let Ok(msg) = self.rx.try_recv() {
                    each(self, msg)?;
                }
                return Ok(());
            }
            match self.rx.recv_timeout(QUIET_POLL) {
                Ok(msg) => each(self, msg)?,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    }

    /// Hands one message to the consumer (called under [`deliver_all`]'s
    /// `catch_unwind`).
    ///
    /// [`deliver_all`]: Run::deliver_all
    fn deliver(&mut self, msg: Msg<T>) -> Result<(), Failure> {
        match msg {
            Msg::One(item) => self.deliver_one(item),
            Msg::Batch(items) => self.deliver_batch(*items),
            Msg::Flush => self.consumer.flush().map_err(|e| failed(e, 0)),
            Msg::Close => Ok(()),
        }
    }

    #[inline(always)]
    fn deliver_one(&mut self, item: T) -> Result<(), Failure> {
        tracing::trace!(seq = self.delivered, "item");
        self.delivered += 1;
        match self.consumer.send(item) {
            Ok(()) => Ok(()),
            Err(e) => Err(failed(e.into_error(), 0)),
        }
    }

    fn deliver_batch(&mut self, items: Vec<T>) -> Result<(), Failure> {
        tracing::trace!(seq = self.delivered, len = items.len(), "batch");
        let mut items = items.into_iter();
        while let Some(item) = items.next() {
            self.left_in_batch = items.len() as u64;
            self.delivered += 1;
            if let Err(e) = self.consumer.send(item) {
                return Err(failed(e.into_error(), self.left_in_batch));
            }
        }
        self.left_in_batch = 0;
        Ok(())
    }

    /// Shuts the gate on the failure, counts what was accepted but will never be
    /// delivered, closes the consumer unless it panicked, and reports.
    fn fail(mut self, f: Failure) -> Option<C> {
        tracing::warn!(error = %f.error, delivered = self.delivered, "the consumer failed; stopping");
        let _ = self.shared.failure.set(f.error.clone());
        self.shared.gate.fail();
        let undelivered = f.left_in_batch + self.discard_until_quiet();
        let error = f.error.with_undelivered(undelivered);
        if f.panicked {
            self.shared.finish(Err(error));
            let consumer = self.consumer;
            // A consumer that panicked may panic again in `Drop`; that is not news.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(consumer)));
            return None;
        }
        let consumer = &mut self.consumer;
        // The run's outcome is the send's failure; the consumer's `close` is owed all
        // the same, and its own result adds nothing to that.
        let _ = catch_unwind(AssertUnwindSafe(|| consumer.close()));
        self.shared.finish(Err(error));
        Some(self.consumer)
    }

    /// Like [`drain_until_quiet`](Run::drain_until_quiet), but counts the items
    /// instead of delivering them. Senders waiting on a full mailbox get through and
    /// their items are counted; later sends are refused.
    fn discard_until_quiet(&mut self) -> u64 {
        let mut count = 0;
        let counted = self.until_quiet(|_, msg| {
            count += match msg {
                Msg::One(_) => 1,
                Msg::Batch(items) => items.len() as u64,
                Msg::Flush | Msg::Close => 0,
            };
            Ok::<(), std::convert::Infallible>(())
        });
        match counted {
            Ok(()) => count,
        }
    }
}
