//! `Counts`: what a pool or a supervised worker did with the items it accepted.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a [`Pool`](crate::Pool)'s or a [`Supervised`](crate::Supervised)'s
/// accounting. Every accepted item is, once the whole is closed, exactly one of:
/// delivered, [`undelivered`](Counts::undelivered) (a worker failed before handling
/// it, and said so), or [`in_doubt`](Counts::in_doubt) (it went to a worker that
/// died without saying how many it handled — a child killed by a signal).
///
/// These counts move to the workspace-wide `consumer::Stats` snapshot when it lands;
/// the names will stay.
///
/// ```
/// use consumer::Consumer;
/// use consumer_pool::Pool;
///
/// let mut pool = Pool::builder(2).build(|_| Ok(Vec::<u32>::new()))?;
/// pool.send_all(0..10)?;
/// pool.close()?;
/// let counts = pool.counts();
/// assert_eq!((counts.accepted, counts.undelivered, counts.restarts), (10, 0, 0));
/// assert_eq!(counts.delivered(), Some(10));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Items a worker took: every send that returned `Ok`, and any item a worker
    /// took and then lost in its failure.
    pub accepted: u64,
    /// Accepted items that a failed worker reported it never handled.
    pub undelivered: u64,
    /// Accepted items sent to workers that died without a report (how many of them
    /// were handled is unknown).
    pub in_doubt: u64,
    /// Workers restarted from the factory.
    pub restarts: u64,
}

impl Counts {
    /// Accepted items known to be delivered: `accepted - undelivered - in_doubt`, once
    /// closed; `None` while some are in doubt.
    ///
    /// ```
    /// let c = consumer_pool::Counts::default();
    /// assert_eq!(c.delivered(), Some(0));
    /// ```
    pub fn delivered(&self) -> Option<u64> {
        (self.in_doubt == 0).then(|| self.accepted - self.undelivered)
    }
}

/// The live counters behind [`Counts`].
#[derive(Debug, Default)]
pub(crate) struct Tally {
    accepted: AtomicU64,
    undelivered: AtomicU64,
    in_doubt: AtomicU64,
    restarts: AtomicU64,
}

impl Tally {
    pub(crate) fn accepted(&self, n: u64) {
        self.accepted.fetch_add(n, Relaxed);
    }
    pub(crate) fn undelivered(&self, n: u64) {
        self.undelivered.fetch_add(n, Relaxed);
    }
    pub(crate) fn in_doubt(&self, n: u64) {
        self.in_doubt.fetch_add(n, Relaxed);
    }
    pub(crate) fn restarted(&self) {
        self.restarts.fetch_add(1, Relaxed);
    }
    pub(crate) fn snapshot(&self) -> Counts {
        Counts {
            accepted: self.accepted.load(Relaxed),
            undelivered: self.undelivered.load(Relaxed),
            in_doubt: self.in_doubt.load(Relaxed),
            restarts: self.restarts.load(Relaxed),
        }
    }
}
