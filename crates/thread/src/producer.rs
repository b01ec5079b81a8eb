//! [`ProducerThread`]: a thread that runs a producer and sends each item to the
//! consumers registered with it (the notes' `ProducerThread`).

use std::fmt;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use consumer::{Broadcast, Consumer, Error, ErrorKind, Key};

use crate::sync::lock;

type Source<T> = Box<dyn Iterator<Item = T> + Send>;

/// What the producer thread and its owner share.
struct Shared<T> {
    consumers: Mutex<Broadcast<T>>,
    stop: AtomicBool,
}

/// A thread that pulls items from an iterator and sends each one to every consumer
/// registered with it, in registration order; when the iterator ends (or on
/// [`stop`](ProducerThread::stop)), it closes them all, in that order.
///
/// Consumers may be [`register`](ProducerThread::register)ed and
/// [`unregister`](ProducerThread::unregister)ed while it runs: they get the items
/// produced while they are registered. Register runner [`Handle`](crate::Handle)s to
/// give each consumer its own thread.
///
/// A closure producer is an iterator too: `std::iter::from_fn(move || ...)`.
///
/// # Failures
///
/// The first consumer that refuses an item ends the run: the producer closes every
/// consumer and [`join`](ProducerThread::join) returns that error. (The other
/// consumers got the item; see [`Broadcast`].)
///
/// # Drop
///
/// Dropping a started `ProducerThread` without [`join`](ProducerThread::join) stops it
/// (as [`stop`](ProducerThread::stop)) and waits for it to close its consumers.
/// `stop` takes effect between items: it cannot interrupt the iterator, so a source
/// that blocks forever (a channel whose senders all stay alive, say) keeps the drop
/// waiting too. End such a source first (drop its senders), then drop or join.
///
/// # Locking
///
/// The registry is locked while an item is sent to it, so `register` and `unregister`
/// wait for the item in flight — which, with a runner whose mailbox is full, can mean
/// waiting for that consumer to make room.
///
/// # Examples
///
/// ```
/// use consumer::ConsumerExt;
/// use consumer_thread::ProducerThread;
///
/// let evens = consumer_thread::spawn(Vec::new());
/// let all = consumer_thread::spawn(Vec::new());
/// let mut producer = ProducerThread::new(1..=6).name("numbers");
/// producer.register(evens.handle().filter(|n: &u32| n % 2 == 0));
/// producer.register(all.handle());
/// producer.start()?;
/// assert_eq!(producer.join()?, 6); // the source ran dry; both consumers are closed
/// assert_eq!(evens.join()?, [2, 4, 6]);
/// assert_eq!(all.join()?, [1, 2, 3, 4, 5, 6]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ProducerThread<T> {
    name: String,
    shared: Arc<Shared<T>>,
    source: Option<Source<T>>,
    thread: Option<JoinHandle<Result<u64, Error>>>,
}

impl<T: Clone + Send + 'static> ProducerThread<T> {
    /// A producer of `items`, not started yet, with no consumers.
    ///
    /// ```
    /// let p = consumer_thread::ProducerThread::new(std::iter::repeat(1).take(3));
    /// assert!(!p.is_finished());
    /// ```
    pub fn new<I>(items: I) -> ProducerThread<T>
    where
        I: IntoIterator<Item = T>,
        I::IntoIter: Send + 'static,
    {
        ProducerThread {
            name: "producer".to_owned(),
            shared: Arc::new(Shared {
                consumers: Mutex::new(Broadcast::new()),
                stop: AtomicBool::new(false),
            }),
            source: Some(Box::new(items.into_iter())),
            thread: None,
        }
    }

    /// Names the thread and its `tracing` span (default `producer`).
    ///
    /// ```
    /// let p = consumer_thread::ProducerThread::new(0..3).name("ticks");
    /// assert_eq!(p.thread_name(), "ticks");
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> ProducerThread<T> {
        self.name = name.into();
        self
    }

    /// The name given with [`name`](ProducerThread::name).
    ///
    /// ```
    /// assert_eq!(consumer_thread::ProducerThread::new(0..3).thread_name(), "producer");
    /// ```
    pub fn thread_name(&self) -> &str {
        &self.name
    }

    /// Adds a consumer: it gets every item produced from now on, and is closed when
    /// the producer ends. Works before and while the thread runs.
    ///
    /// ```
    /// let mut p = consumer_thread::ProducerThread::new(0..3);
    /// let out = consumer_thread::spawn(Vec::new());
    /// p.register(out.handle());
    /// p.start()?;
    /// p.join()?;
    /// assert_eq!(out.join()?, [0, 1, 2]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register<C: Consumer<T> + Send + 'static>(&self, consumer: C) -> Key {
        lock(&self.shared.consumers).register(consumer)
    }

    /// Removes a consumer and hands it back, not closed; `None` if `key` is not
    /// registered (or the producer has ended and closed it).
    ///
    /// ```
    /// let p = consumer_thread::ProducerThread::new(0..3);
    /// let key = p.register(Vec::new());
    /// assert!(p.unregister(key).is_some());
    /// assert!(p.unregister(key).is_none());
    /// ```
    pub fn unregister(&self, key: Key) -> Option<Box<dyn Consumer<T> + Send>> {
        lock(&self.shared.consumers).unregister(key)
    }

    /// Starts the thread.
    ///
    /// # Errors
    ///
    /// If the OS cannot start a thread; `InvalidInput` if the name contains a NUL
    /// byte; `AlreadyExists` if it was started before.
    ///
    /// ```
    /// let mut p = consumer_thread::ProducerThread::new(0..3);
    /// p.start()?;
    /// assert_eq!(p.start().unwrap_err().kind(), std::io::ErrorKind::AlreadyExists);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn start(&mut self) -> io::Result<()> {
        if self.name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a producer's name cannot contain a NUL byte",
            ));
        }
        let Some(source) = self.source.take() else {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the producer thread was started already",
            ));
        };
        let shared = Arc::clone(&self.shared);
        let name = self.name.clone();
        let started = thread::Builder::new()
            .name(self.name.clone())
            .spawn(move || produce(&name, source, &shared));
        match started {
            Ok(thread) => {
                self.thread = Some(thread);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}

impl<T> ProducerThread<T> {
    /// Asks the producer to stop after the item in flight, as if its source had
    /// ended; it then closes its consumers.
    ///
    /// ```
    /// let mut p = consumer_thread::ProducerThread::new(0..);
    /// p.register(consumer_thread::spawn(Vec::new()).into_handle());
    /// p.start()?;
    /// p.stop();
    /// assert!(p.join()? < u64::MAX); // some items, not infinitely many
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }

    /// Has the thread ended (its consumers closed)?
    ///
    /// ```
    /// let mut p = consumer_thread::ProducerThread::new(0..3);
    /// assert!(!p.is_finished());
    /// p.start()?;
    /// p.join()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_some_and(JoinHandle::is_finished)
    }

    /// Waits for the producer to end, returning how many items it produced.
    ///
    /// # Errors
    ///
    /// The first error a consumer returned (from `send`, or from `close` at the end);
    /// [`Usage`](ErrorKind::Usage) if the producer was never started;
    /// [`Panicked`](ErrorKind::Panicked) if the source iterator panicked (its
    /// consumers are closed all the same).
    ///
    /// ```
    /// let p = consumer_thread::ProducerThread::new(0..3);
    /// assert_eq!(p.join().unwrap_err().kind(), consumer::ErrorKind::Usage);
    /// ```
    pub fn join(mut self) -> Result<u64, Error> {
        self.wait()
    }

    fn wait(&mut self) -> Result<u64, Error> {
        let Some(thread) = self.thread.take() else {
            return Err(Error::new(
                ErrorKind::Usage,
                "the producer thread was never started",
            ));
        };
        match thread.join() {
            Ok(outcome) => outcome,
            Err(payload) => Err(Error::from_panic(payload.as_ref(), 0)),
        }
    }
}

/// The per-item event, at `trace`; out of line (see `run::item_event`).
#[cold]
#[inline(never)]
fn item_event(seq: u64) {
    tracing::trace!(seq, "item");
}

/// The producer thread's body.
fn produce<T: Clone>(name: &str, source: Source<T>, shared: &Shared<T>) -> Result<u64, Error> {
    let span = tracing::info_span!("producer_thread", producer = %name);
    let _span = span.enter();
    tracing::debug!("producer started");
    let mut produced = 0u64;
    let ran = catch_unwind(AssertUnwindSafe(|| {
        for item in source {
            if let Err(e) = lock(&shared.consumers).send(item) {
                tracing::warn!(error = %e, produced, "a consumer refused an item; stopping");
                return Err(e.into_error());
            }
            if tracing::level_enabled!(tracing::Level::TRACE) {
                item_event(produced);
            }
            produced += 1;
            if shared.stop.load(Ordering::Relaxed) {
                tracing::debug!(produced, "asked to stop");
                break;
            }
        }
        Ok(())
    }));
    // Close the consumers however the run ended: they must not wait for items that
    // will never come.
    let closed = lock(&shared.consumers).close();
    tracing::debug!(produced, "producer finished");
    match ran {
        Ok(Ok(())) => closed.map(|()| produced),
        Ok(Err(e)) => Err(e),
        Err(payload) => Err(Error::from_panic(payload.as_ref(), 0)),
    }
}

impl<T> Drop for ProducerThread<T> {
    fn drop(&mut self) {
        self.stop();
        // A drop cannot report the outcome; `join` does.
        let _ = self.wait();
    }
}

impl<T> fmt::Debug for ProducerThread<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProducerThread")
            .field("name", &self.name)
            .field("consumers", &*lock(&self.shared.consumers))
            .field("started", &self.source.is_none())
            .finish()
    }
}
