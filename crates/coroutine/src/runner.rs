//! [`Runner`]: the first handle to a run of a consumer, the one that can take the
//! consumer back — the same shape as `consumer_thread::Runner`.
//!
//! A `Runner` sends, flushes and closes exactly as a [`Task`] does (it derefs to its
//! own, and forwards the [`Consumer`] methods to it). What it adds is
//! [`join`](Runner::join): close, wait for the run to end, and take the consumer back
//! from the slot the run leaves it in. Dropped without joining, it is one handle
//! going, no more.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};

use consumer::{Consumer, Error, SendError};

use crate::Task;

/// Where a run leaves its consumer after a clean close.
pub(crate) type Returned<C> = Arc<Mutex<Option<C>>>;

/// Locks `m`; nothing panics while holding it, so a poisoned lock is still whole.
pub(crate) fn lock<C>(m: &Mutex<C>) -> MutexGuard<'_, C> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The first handle to a consumer running as a tokio task: a [`Task`] (it derefs to
/// one and is a consumer itself) that can also [`join`](Runner::join) the run to get
/// the consumer back.
///
/// Make [`handle`](Runner::handle)s for the producers; keep the `Runner` to read the
/// consumer's final state. Dropping it without joining is dropping one handle: if it
/// was the last, the run closes (see [`Task`] for where that drop waits). A
/// [coroutine](crate::coroutine()) has no consumer to give back; it returns a
/// [`Task`], whose [`close`](Task::close) reports the body's result.
///
/// # Examples
///
/// ```
/// use consumer::{Consumer, SendError};
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
/// let sum = consumer_coroutine::spawn(Sum::default());
/// sum.send_all(1..=100)?;
/// assert_eq!(sum.join()?.0, 5050);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Runner<C, T> {
    task: Task<T>,
    /// Where the run leaves the consumer when it closes cleanly.
    returned: Returned<C>,
}

impl<C, T> Runner<C, T> {
    pub(crate) fn new(task: Task<T>, returned: Returned<C>) -> Runner<C, T> {
        Runner { task, returned }
    }

    /// A new handle to this run, for a producer.
    ///
    /// ```
    /// let r = consumer_coroutine::spawn(Vec::new());
    /// r.handle().send(7)?;
    /// assert_eq!(r.join()?, [7]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handle(&self) -> Task<T> {
        self.task.clone()
    }

    /// Gives up the right to join: the run goes on, and the returned handle is like
    /// any other.
    ///
    /// ```
    /// let h = consumer_coroutine::spawn(Vec::new()).into_handle();
    /// h.send(1)?;
    /// h.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn into_handle(self) -> Task<T> {
        self.task
    }

    /// Closes the run (as [`Task::close`]: every item sent before is delivered, then
    /// the consumer's `close` runs), waits for it to end and returns the consumer, or
    /// the failure that ended the run (then the consumer was dropped in the run).
    ///
    /// # Errors
    ///
    /// As [`Task::close`]; [`ErrorKind::Usage`](consumer::ErrorKind::Usage) on a
    /// current-thread runtime's thread (use [`join_async`](Runner::join_async)
    /// there), where the run goes on and the consumer is dropped when it ends.
    ///
    /// ```
    /// use consumer::{ErrorKind, from_fn};
    ///
    /// let r = consumer_coroutine::spawn(from_fn(|n: u32| assert!(n < 3, "too big")));
    /// for n in 0..10 {
    ///     let _ = r.send(n); // later sends fail once it has panicked
    /// }
    /// let e = r.join().unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Panicked);
    /// ```
    pub fn join(self) -> Result<C, Error> {
        self.task.close()?;
        self.take()
    }

    /// As [`join`](Runner::join), awaiting instead of blocking.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// let v = rt.block_on(async {
    ///     let r = consumer_coroutine::spawn(Vec::new());
    ///     r.send_async(1).await?;
    ///     r.join_async().await
    /// })?;
    /// assert_eq!(v, [1]);
    /// # Ok(()) }
    /// ```
    pub async fn join_async(self) -> Result<C, Error> {
        self.task.close_async().await?;
        self.take()
    }

    /// The consumer the run left after closing cleanly.
    fn take(&self) -> Result<C, Error> {
        lock(&self.returned)
            .take()
            .ok_or_else(|| self.task.why_stopped())
    }
}

/// The sending methods the [`Consumer`] impl would otherwise shadow (it takes
/// `&mut self`): so that `runner.send(x)` works on a shared `Runner` with the trait
/// in scope, as on a [`Task`].
impl<C, T> Runner<C, T> {
    /// As [`Task::send`].
    ///
    /// ```
    /// use consumer::Consumer; // its `send` takes `&mut self`; this one does not
    ///
    /// let r = consumer_coroutine::spawn(Vec::new());
    /// r.send(1)?;
    /// assert_eq!(r.join()?, [1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send(&self, item: T) -> Result<(), SendError<T>> {
        self.task.send(item)
    }

    /// As [`Task::send_all`].
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let r = consumer_coroutine::spawn(Vec::new());
    /// r.send_all(1..=3)?;
    /// assert_eq!(r.join()?, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_all<I: IntoIterator<Item = T>>(&self, items: I) -> Result<(), SendError<T>> {
        self.task.send_all(items)
    }

    /// As [`Task::flush`].
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let r = consumer_coroutine::spawn(Vec::<u8>::new());
    /// r.flush()?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn flush(&self) -> Result<(), Error> {
        self.task.flush()
    }

    /// As [`Task::close`]; [`join`](Runner::join) also hands the consumer back.
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let r = consumer_coroutine::spawn(Vec::<u8>::new());
    /// r.close()?;
    /// assert!(r.is_finished());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn close(&self) -> Result<(), Error> {
        self.task.close()
    }

    /// As [`Task::name`].
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let r = consumer_coroutine::Builder::new().name("audit").spawn(Vec::<u8>::new())?;
    /// assert_eq!(r.name(), "audit");
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn name(&self) -> &str {
        self.task.name()
    }
}

impl<C, T> Deref for Runner<C, T> {
    type Target = Task<T>;

    fn deref(&self) -> &Task<T> {
        &self.task
    }
}

impl<C, T> Consumer<T> for Runner<C, T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.task.send(item)
    }
    fn close(&mut self) -> Result<(), Error> {
        self.task.close()
    }
    fn flush(&mut self) -> Result<(), Error> {
        self.task.flush()
    }
    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        self.task.send_all(items)
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.task.send_all(items)
    }
    fn name(&self) -> &str {
        self.task.name()
    }
}

impl<C, T> fmt::Debug for Runner<C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Runner").field(&self.task).finish()
    }
}
