//! [`Builder`] and [`spawn`]: configure a runner, start its thread, get its
//! [`Runner`].
//!
//! Starting a runner makes the parts the other modules describe: the mailbox and the
//! [state shared](crate::shared) beside it, the thread running the
//! [loop](crate::run) over the consumer, and the first [`Handle`], which the returned
//! [`Runner`] holds (so the handle count starts at one). The consumer comes back
//! through a slot the thread fills when it ends, read by [`Runner::join`].

use std::sync::{Arc, Mutex};
use std::thread;

use consumer::{Consumer, Error, ErrorKind};

use crate::run::Run;
use crate::shared::{Credit, Shared};
use crate::sync::lock;
use crate::{BATCH, Handle, Runner};

/// The mailbox capacity of [`Builder::new`] and [`spawn`], in items.
///
/// ```
/// // At most this many items wait in the mailbox before a sender blocks, however
/// // they were sent (one by one or with `send_all`).
/// assert_eq!(consumer_thread::DEFAULT_CAPACITY, 1024);
/// ```
pub const DEFAULT_CAPACITY: usize = 1024;

/// Configures a runner before its thread starts: name, mailbox capacity, daemon mode.
///
/// # Examples
///
/// ```
/// use consumer::{Consumer, Error, ErrorKind};
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
    /// [`DEFAULT_CAPACITY`] items.
    ///
    /// ```
    /// let runner = consumer_thread::Builder::new().spawn(Vec::<u8>::new())?;
    /// assert_eq!(runner.name(), "Vec<u8>");
    /// # Ok::<(), consumer::Error>(())
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
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// A mailbox of at most `n` items: a sender waits while it is full, so a fast
    /// producer cannot run ahead of the consumer by more than `n` items, whether it
    /// sends them one by one or in batches with [`send_all`](Consumer::send_all)
    /// (the memory a mailbox can hold is `n` items, plus the one or the batch the
    /// runner is delivering). `0` makes every send wait until the runner takes the
    /// item.
    ///
    /// How the bound holds with batches: part of the room (half, up to two full
    /// [`BATCH`](crate::BATCH)es) is reserved for the items of batches; when it is
    /// taken, `send_all` sends its next items one by one, each waiting for a place.
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
    /// # Errors
    ///
    /// [`ErrorKind::Io`](consumer::ErrorKind::Io) if the OS cannot start a thread,
    /// [`ErrorKind::Usage`](consumer::ErrorKind::Usage) if the name contains a NUL
    /// byte.
    ///
    /// ```
    /// use consumer::ErrorKind;
    ///
    /// let err = consumer_thread::Builder::new().name("a\0b").spawn(Vec::<u8>::new());
    /// assert_eq!(err.unwrap_err().kind(), ErrorKind::Usage);
    /// ```
    pub fn spawn<C, T>(self, consumer: C) -> Result<Runner<C, T>, Error>
    where
        C: Consumer<T> + Send + 'static,
        T: Send + 'static,
    {
        let consumer_name = consumer.name().to_owned();
        let name = self.name.unwrap_or_else(|| consumer_name.clone());
        if name.contains('\0') {
            return Err(Error::new(
                ErrorKind::Usage,
                "a runner's name cannot contain a NUL byte",
            ));
        }
        let (messages, credit) = Credit::split(self.capacity, BATCH);
        let (tx, rx) = match messages {
            Some(n) => crossbeam_channel::bounded(n),
            None => crossbeam_channel::unbounded(),
        };
        let shared = Arc::new(Shared::new(name.clone(), self.daemon, credit));
        let returned = Arc::new(Mutex::new(None));
        let run = Run::new(consumer, rx, Arc::clone(&shared));
        let back = Arc::clone(&returned);
        let thread = thread::Builder::new().name(name).spawn(move || {
            let consumer = run.run(&consumer_name);
            *lock(&back) = consumer;
        })?;
        let _ = shared.thread.set(thread.thread().id());
        *lock(&shared.joiner) = Some(thread);
        Ok(Runner::new(Handle::new(tx, shared), returned))
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
/// use consumer::{Consumer, Error, ErrorKind};
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
