//! [`Runner`]: the first [`Handle`] to a runner, the one that owns its thread.
//!
//! A `Runner` sends, flushes and closes exactly as a handle does (it derefs to its
//! own, and forwards the [`Consumer`] methods to it). What it adds is
//! [`join`](Runner::join): close, wait for the thread to end, and take the consumer
//! back from the slot the thread leaves it in. Dropped without joining, it is one
//! handle going, no more.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex};

use consumer::{Consumer, Error, SendError};

use crate::Handle;
use crate::sync::lock;

/// The owner of a runner thread: a [`Handle`] (it derefs to one and is a consumer
/// itself) that can also [`join`](Runner::join) the thread to get the consumer back.
///
/// Make [`handle`](Runner::handle)s for the producers; keep the `Runner` to read the
/// consumer's final state. Dropping a `Runner` without joining is dropping one
/// handle: if it was the last, the runner closes (waiting, unless it is a
/// [daemon](crate::Builder::daemon)).
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
    /// The runner of the thread that leaves its consumer in `returned`, holding its
    /// first handle.
    pub(crate) fn new(handle: Handle<T>, returned: Arc<Mutex<Option<C>>>) -> Runner<C, T> {
        Runner { handle, returned }
    }

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
    /// [`Other`](consumer::ErrorKind::Other), with [`undelivered`](Error::undelivered)
    /// for a failed `send`), or [`Panicked`](consumer::ErrorKind::Panicked) with the
    /// panic's message and the number of accepted items that were never delivered. In
    /// those cases the consumer is dropped in the runner thread.
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
        if let Err(payload) = self.handle.shared().join_thread() {
            return Err(Error::from_panic(payload.as_ref(), 0));
        }
        outcome?;
        lock(&self.returned)
            .take()
            .ok_or_else(|| self.handle.shared().failure())
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
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
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
