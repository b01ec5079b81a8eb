//! `Restart`: how many times failed workers may be restarted, how fast, and the
//! intensity check (Erlang/OTP's "max restarts in a period") that enforces it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The restart policy: at most [`max`](Restart::up_to) restarts within a sliding
/// window, each after a backoff that doubles with every restart already in the window.
///
/// Past the limit the supervisor gives up: the pool (or [`Supervised`](crate::Supervised))
/// fails, and every later send returns that failure with the item back. The limit is
/// counted for the whole pool, as an OTP supervisor counts its children: one worker
/// failing over and over and several failing at once are the same trouble.
///
/// The default allows 3 restarts in 5 seconds, waiting 10 ms before the first and
/// doubling up to 1 second.
///
/// ```
/// use std::time::Duration;
/// use consumer_pool::Restart;
///
/// let policy = Restart::up_to(5, Duration::from_secs(10))
///     .backoff(Duration::from_millis(1), Duration::from_millis(100));
/// assert_eq!(policy.max_restarts(), 5);
/// assert_eq!(Restart::never().max_restarts(), 0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restart {
    max: u32,
    within: Duration,
    first: Duration,
    ceiling: Duration,
}

impl Default for Restart {
    fn default() -> Restart {
        Restart::up_to(3, Duration::from_secs(5))
    }
}

impl Restart {
    /// At most `max` restarts within any `within` window; the default backoff.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let p = consumer_pool::Restart::up_to(2, Duration::from_secs(1));
    /// assert_eq!(p.window(), Duration::from_secs(1));
    /// ```
    pub fn up_to(max: u32, within: Duration) -> Restart {
        Restart {
            max,
            within,
            first: Duration::from_millis(10),
            ceiling: Duration::from_secs(1),
        }
    }

    /// No restarts: the first failure of a worker is the failure of the whole, reported
    /// as what it was (its kind and message).
    ///
    /// ```
    /// assert_eq!(consumer_pool::Restart::never().max_restarts(), 0);
    /// ```
    pub fn never() -> Restart {
        Restart::up_to(0, Duration::ZERO)
    }

    /// Waits `first` before the first restart in the window, doubling for each further
    /// one, never more than `ceiling`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use consumer_pool::Restart;
    ///
    /// let p = Restart::default().backoff(Duration::ZERO, Duration::ZERO); // restart at once
    /// # let _ = p;
    /// ```
    pub fn backoff(mut self, first: Duration, ceiling: Duration) -> Restart {
        self.first = first;
        self.ceiling = ceiling.max(first);
        self
    }

    /// The most restarts allowed within one window.
    ///
    /// ```
    /// assert_eq!(consumer_pool::Restart::default().max_restarts(), 3);
    /// ```
    pub fn max_restarts(&self) -> u32 {
        self.max
    }

    /// The window the restarts are counted in.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// assert_eq!(consumer_pool::Restart::default().window(), Duration::from_secs(5));
    /// ```
    pub fn window(&self) -> Duration {
        self.within
    }

    /// The wait before a restart when `recent` restarts already happened in the window.
    fn delay(&self, recent: usize) -> Duration {
        let factor = 1u32 << recent.min(20);
        self.first.saturating_mul(factor).min(self.ceiling)
    }
}

/// The restarts within the current window: what the policy is checked against.
#[derive(Debug)]
pub(crate) struct Intensity {
    policy: Restart,
    recent: VecDeque<Instant>,
}

impl Intensity {
    pub(crate) fn new(policy: Restart) -> Intensity {
        Intensity {
            policy,
            recent: VecDeque::new(),
        }
    }

    pub(crate) fn policy(&self) -> Restart {
        self.policy
    }

    /// May one more restart happen now? `Some(backoff)` (and the restart is counted)
    /// or `None` when the policy's limit is reached. Bounded: the window never holds
    /// more than `max` instants.
    pub(crate) fn admit(&mut self, now: Instant) -> Option<Duration> {
        let within = self.policy.within;
        while let Some(&t) = self.recent.front() {
            if now.duration_since(t) >= within {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= self.policy.max as usize {
            return None;
        }
        let delay = self.policy.delay(self.recent.len());
        self.recent.push_back(now);
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides_and_the_backoff_doubles_to_its_ceiling() {
        let policy = Restart::up_to(3, Duration::from_secs(10))
            .backoff(Duration::from_millis(10), Duration::from_millis(25));
        let mut i = Intensity::new(policy);
        let t0 = Instant::now();
        assert_eq!(i.admit(t0), Some(Duration::from_millis(10)));
        assert_eq!(i.admit(t0), Some(Duration::from_millis(20)));
        assert_eq!(i.admit(t0), Some(Duration::from_millis(25)));
        assert_eq!(i.admit(t0 + Duration::from_secs(9)), None);
        // The first three leave the window: restarts are allowed again.
        assert_eq!(
            i.admit(t0 + Duration::from_secs(10)),
            Some(Duration::from_millis(10))
        );
    }

    #[test]
    fn never_admits_nothing() {
        assert_eq!(Intensity::new(Restart::never()).admit(Instant::now()), None);
    }
}
