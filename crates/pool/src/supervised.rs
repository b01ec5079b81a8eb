//! `Supervised`: one worker, restarted from its factory under a restart policy.

use std::iter;

use consumer::{Consumer, Error, SendError};

use crate::counts::Counts;
use crate::restart::Restart;
use crate::slot::Slot;
use crate::supervisor::{self, Supervisor};

/// One worker on any runner, restarted from its factory when it fails: a pool's
/// supervision without the pool. The same [`Restart`] policy, the same accounting
/// ([`Counts`]): the items a failed worker accepted and never handled are counted
/// undelivered, never re-sent, and reported by `close`.
///
/// Not `Clone`: share it behind [`consumer::Shared`], or use a one-worker
/// [`Pool`](crate::Pool). Dropping it without `close` closes it as `close` would.
///
/// ```
/// use consumer::{Consumer, Error, ErrorKind, SendError, from_fn};
/// use consumer_pool::{Restart, Supervised};
///
/// // A consumer that chokes on 13 (in-line here; a runner's handle in real use).
/// let mut s = Supervised::new(Restart::default(), |_| {
///     Ok(from_fn(|n: u32| assert_ne!(n, 13, "unlucky")))
/// })?;
/// s.send_all(10..20)?; // 13 panics; a new worker takes 14..20
/// assert_eq!(s.counts().restarts, 1);
/// s.close()?; // nothing undelivered: the in-line worker had everything it took
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Supervised<T> {
    sup: Supervisor<T>,
    slot: Slot<T>,
    outcome: Option<Result<(), Error>>,
}

impl<T> std::fmt::Debug for Supervised<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervised")
            .field("supervisor", &self.sup)
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl<T> Supervised<T> {
    /// Starts the worker, `factory(0)`; a failed worker is replaced by `factory(0)`
    /// under `policy`.
    ///
    /// # Errors
    ///
    /// The factory's error.
    ///
    /// ```
    /// use consumer::{Error, ErrorKind};
    /// use consumer_pool::{Restart, Supervised};
    ///
    /// let e = Supervised::<u8>::new(Restart::default(), |_| -> Result<Vec<u8>, Error> {
    ///     Err(Error::new(ErrorKind::Io, "no such program"))
    /// })
    /// .unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Io);
    /// ```
    pub fn new<C, F>(policy: Restart, factory: F) -> Result<Supervised<T>, Error>
    where
        F: FnMut(usize) -> Result<C, Error> + Send + 'static,
        C: Consumer<T> + Send + 'static,
    {
        let sup = Supervisor::new(policy, supervisor::boxed(factory));
        let worker = sup.start(0)?;
        Ok(Supervised {
            sup,
            slot: Slot::new(0, worker),
            outcome: None,
        })
    }

    /// The accounting now; exact once `close` returned.
    ///
    /// ```
    /// let s = consumer_pool::Supervised::<u8>::new(Default::default(), |_| Ok(Vec::new()))?;
    /// assert_eq!(s.counts().accepted, 0);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn counts(&self) -> Counts {
        self.sup.tally.snapshot()
    }
}

impl<T> Consumer<T> for Supervised<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.send_batch(&mut iter::once(item))
    }

    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        if self.outcome.is_some() {
            return items.next().map_or(Ok(()), |i| Err(SendError::closed(i)));
        }
        self.slot.send_batch(&self.sup, items).1
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.slot.flush()
    }

    fn close(&mut self) -> Result<(), Error> {
        if let Some(done) = &self.outcome {
            return done.clone();
        }
        let closed = self.slot.close(&self.sup);
        let done = self
            .sup
            .outcome(closed.err().map(|e| (0, e)).into_iter().collect());
        self.outcome = Some(done.clone());
        done
    }
}

impl<T> Drop for Supervised<T> {
    fn drop(&mut self) {
        let _ = self.close();
    }
}
