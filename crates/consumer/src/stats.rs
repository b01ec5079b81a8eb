//! [`Stats`]: a snapshot of a runner's live counts, the one shape every runner and
//! pool reports.

use std::ops::{Add, AddAssign};

/// How many items a runner (or a pool of them) has accepted, delivered, still holds
/// and lost, and how often it restarted its consumer: a snapshot, taken by a
/// runner's or handle's `stats()`.
///
/// - `accepted`: sends that returned `Ok` (each item of a batch counts once);
/// - `delivered`: items handed to the consumer's `send`;
/// - `queued`: accepted items waiting in the mailbox (or in flight to the consumer);
/// - `undelivered`: accepted items that will never be delivered because the run
///   failed: the count `close` reports in [`Error::undelivered`](crate::Error::undelivered);
/// - `restarts`: how many times a supervisor restarted the consumer (0 for a runner
///   without one).
///
/// Once a run has ended, `accepted == delivered + undelivered` and `queued == 0`.
/// While items move, each count is read at its own instant, so a snapshot is a close
/// approximation: `queued` is what is left of `accepted` after the other two, never
/// negative.
///
/// Snapshots add up (a pool's is the sum of its workers'), and every field is public,
/// so any runner can build one.
///
/// # Examples
///
/// ```
/// use consumer::Stats;
///
/// let a = Stats { accepted: 10, delivered: 7, queued: 3, ..Stats::default() };
/// let b = Stats { accepted: 5, delivered: 4, undelivered: 1, restarts: 1, ..Stats::default() };
/// let pool = a + b;
/// assert_eq!(pool.accepted, pool.delivered + pool.queued + pool.undelivered);
/// assert_eq!(pool, Stats { accepted: 15, delivered: 11, queued: 3, undelivered: 1, restarts: 1 });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Stats {
    /// Items whose send returned `Ok`.
    pub accepted: u64,
    /// Items handed to the consumer.
    pub delivered: u64,
    /// Accepted items not yet delivered nor lost.
    pub queued: u64,
    /// Accepted items that will never be delivered (the run failed).
    pub undelivered: u64,
    /// Restarts of the consumer by a supervisor.
    pub restarts: u64,
}

impl Stats {
    /// A snapshot from the three counts a runner keeps: `queued` is what is left of
    /// `accepted` after `delivered` and `undelivered` (0, not negative, should a count
    /// read a moment later have run ahead).
    ///
    /// ```
    /// let s = consumer::Stats::from_counts(10, 6, 0);
    /// assert_eq!((s.queued, s.restarts), (4, 0));
    /// assert_eq!(consumer::Stats::from_counts(5, 6, 0).queued, 0);
    /// ```
    pub fn from_counts(accepted: u64, delivered: u64, undelivered: u64) -> Stats {
        Stats {
            accepted,
            delivered,
            queued: accepted.saturating_sub(delivered.saturating_add(undelivered)),
            undelivered,
            restarts: 0,
        }
    }
}

impl Add for Stats {
    type Output = Stats;

    fn add(mut self, other: Stats) -> Stats {
        self += other;
        self
    }
}

impl AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.accepted += o.accepted;
        self.delivered += o.delivered;
        self.queued += o.queued;
        self.undelivered += o.undelivered;
        self.restarts += o.restarts;
    }
}
