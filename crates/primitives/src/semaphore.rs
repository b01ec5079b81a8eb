//! [`Semaphore`] and [`BoundedSemaphore`]: a lock based on a counter.

use std::fmt;
use std::time::{Duration, Instant};

use consumer::{Error, ErrorKind};

use crate::sync::{self, AtomicUsize, Condvar, Mutex, Ordering};

/// The counter both semaphores share; `bound` is `Some` for a bounded one.
///
/// The count is one atomic: taking and giving back a permit is one compare-and-swap
/// each, with no lock, and a give-back wakes no one unless a thread is waiting. The
/// lock and condition variable serve only threads that found no permit:
///
/// ```text
/// waiter (under `sleep`)                 giver
/// waiters += 1          (RMW)            available += 1   (RMW, AcqRel)
/// look at available     (RMW, AcqRel)    if waiters > 0:  lock `sleep`, notify one
/// none: wait on `freed` (unlocks)
/// ```
///
/// No wake-up is lost, with acquire/release orderings only (what loom models
/// exactly): both sides end with a read-modify-write of `available`, and those are
/// totally ordered. If the waiter's comes second it reads the given permit; if the
/// giver's comes second it reads the waiter's (a release), so the waiter's
/// `waiters += 1` happens before the giver reads `waiters`. A giver that sees a
/// waiter locks `sleep` before notifying, and the waiter holds `sleep` from its count
/// until its wait has begun, so the notification finds it waiting.
struct Permits {
    available: AtomicUsize,
    /// Threads on the slow path; changed under `sleep`, read by givers without it.
    waiters: AtomicUsize,
    sleep: Mutex<()>,
    freed: Condvar,
    bound: Option<usize>,
}

/// Called after each failed compare-and-swap on the count. The first failure is
/// usually a wrong guess; a second in a row is another core changing the count
/// meanwhile. Retrying at once then moves the count's cache line between cores on
/// every operation (measured: 0.6–0.7 of a mutex-guarded count with 4 threads on 2
/// cores, decision 0015); waiting a little (16, 32, 64, then 128 pauses: 0.15 to
/// 1.2 µs on the test machine) lets the other core do a few operations while the
/// line is in its cache, as a mutex's spinning waiters do. A shorter wait (4 to 32
/// pauses) measured 0.8–1.2; a longer one (64 to 512) 2.3–2.7 against this one's
/// 1.6–2.0, but it would hold a thread up to 5 µs where a pause is slower.
#[inline]
fn contended(fails: &mut u32) {
    *fails += 1;
    if *fails >= 2 {
        back_off(*fails - 2);
    }
}

#[cold]
fn back_off(round: u32) {
    // Not in a loom model: it explores the interleavings, not the timing.
    #[cfg(not(loom))]
    for _ in 0..(16u32 << round.min(3)) {
        std::hint::spin_loop();
    }
    #[cfg(loom)]
    let _ = round;
}

impl Permits {
    fn new(permits: usize, bound: Option<usize>) -> Permits {
        Permits {
            available: AtomicUsize::new(permits),
            waiters: AtomicUsize::new(0),
            sleep: Mutex::new(()),
            freed: Condvar::new(),
            bound,
        }
    }

    /// Takes a permit if one is free: a compare-and-swap (two where the guess is wrong).
    #[inline]
    fn try_take(&self) -> bool {
        // A guess, not a load: a compare-and-swap that fails returns the count, and
        // under contention a load first would fetch the line twice.
        let mut now = 1;
        let mut fails = 0;
        while now > 0 {
            match self.available.compare_exchange_weak(
                now,
                now - 1,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(seen) => {
                    now = seen;
                    contended(&mut fails);
                }
            }
        }
        false
    }

    #[inline]
    fn acquire_until(&self, deadline: Option<Instant>) -> bool {
        self.try_take() || self.wait_for_permit(deadline)
    }

    /// The slow path: counted as a waiter, waits for a permit or the deadline.
    #[cold]
    fn wait_for_permit(&self, deadline: Option<Instant>) -> bool {
        if deadline.is_some_and(|at| at <= Instant::now()) {
            return self.try_take();
        }
        if self.spin_for_permit() {
            return true;
        }
        let mut asleep = sync::lock(&self.sleep);
        self.waiters.fetch_add(1, Ordering::Relaxed);
        let taken = loop {
            // A read-modify-write, not a load: see the protocol in `Permits`' docs.
            if self.available.fetch_add(0, Ordering::AcqRel) > 0 && self.try_take() {
                break true;
            }
            // Checked after a wake-up too: a permit given meanwhile is not missed.
            if deadline.is_some_and(|at| at <= Instant::now()) {
                break false;
            }
            asleep = sync::wait_on(&self.freed, asleep, deadline);
        };
        self.waiters.fetch_sub(1, Ordering::Relaxed);
        drop(asleep);
        taken
    }

    /// Wakes one waiter, if there is one; called after a permit was added.
    /// Under contention a permit is usually given back within a few hundred
    /// nanoseconds: look for one a few times, spinning then yielding (parking_lot's
    /// schedule for its own locks), before paying for a sleep and a wake-up. Not in
    /// a loom model, where the protocol below is what is checked.
    fn spin_for_permit(&self) -> bool {
        #[cfg(not(loom))]
        for round in 0..40u32 {
            if round < 6 {
                for _ in 0..(2u32 << round) {
                    std::hint::spin_loop();
                }
            } else {
                std::thread::yield_now();
            }
            if self.try_take() {
                return true;
            }
        }
        false
    }

    #[inline]
    fn wake(&self) {
        if self.waiters.load(Ordering::Acquire) > 0 {
            self.wake_one();
        }
    }

    #[cold]
    fn wake_one(&self) {
        // The waiter counted itself under `sleep` and holds it until it waits.
        drop(sync::lock(&self.sleep));
        self.freed.notify_one();
    }

    /// Adds a permit, unless that would pass the bound (or `usize::MAX`).
    #[inline]
    fn release(&self) -> Result<(), Error> {
        let mut now = self.available.load(Ordering::Relaxed);
        let mut fails = 0;
        loop {
            let more = now
                .checked_add(1)
                .filter(|&n| self.bound.is_none_or(|bound| n <= bound));
            let Some(more) = more else {
                return Err(self.over());
            };
            match self.available.compare_exchange_weak(
                now,
                more,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => {
                    now = seen;
                    contended(&mut fails);
                }
            }
        }
        self.wake();
        Ok(())
    }

    /// A guard's permit back: as [`release`](Permits::release), except that a count
    /// already at its bound (someone released without acquiring meanwhile) stays
    /// there, with no error to build.
    #[inline]
    fn give_back(&self) {
        let bound = self.bound.unwrap_or(usize::MAX);
        let mut now = 0; // a guess, as in `try_take`
        let mut fails = 0;
        loop {
            if now >= bound {
                return;
            }
            match self.available.compare_exchange_weak(
                now,
                now + 1,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => {
                    now = seen;
                    contended(&mut fails);
                }
            }
        }
        self.wake();
    }

    /// The error of a release above the bound.
    #[cold]
    fn over(&self) -> Error {
        match self.bound {
            Some(bound) => Error::new(
                ErrorKind::Usage,
                format!("BoundedSemaphore released above its initial value {bound}"),
            ),
            None => Error::new(ErrorKind::Usage, "Semaphore released above usize::MAX"),
        }
    }

    fn available(&self) -> usize {
        self.available.load(Ordering::Acquire)
    }
}

impl Permits {
    /// Formats the counter under the public type's `name`.
    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct(name);
        d.field("available", &self.available());
        if let Some(bound) = self.bound {
            d.field("bound", &bound);
        }
        d.finish()
    }
}

/// A counting semaphore (Python's `threading.Semaphore`): `acquire` takes a permit,
/// waiting while there are none; releasing gives one back.
///
/// [`acquire`](Semaphore::acquire) returns a guard that releases its permit when
/// dropped. [`release`](Semaphore::release) adds a permit without a guard, as in
/// Python, so a semaphore can also count events (start at 0, release per event).
///
/// # Examples
///
/// At most two workers at a time:
///
/// ```
/// use consumer_primitives::Semaphore;
/// use std::sync::Arc;
///
/// let slots = Arc::new(Semaphore::new(2));
/// let workers: Vec<_> = (0..4)
///     .map(|_| {
///         let slots = Arc::clone(&slots);
///         std::thread::spawn(move || {
///             let _permit = slots.acquire();
///             // at most two threads are here at once
///         })
///     })
///     .collect();
/// for w in workers {
///     w.join().unwrap();
/// }
/// assert_eq!(slots.available_permits(), 2);
/// ```
///
/// # Fairness
///
/// None: a released permit goes to whichever thread locks first, a newcomer or one
/// of the woken waiters (as in Python). Under heavy contention a waiter may be
/// passed over again and again.
///
/// # Panics
///
/// No method panics. A thread that panics while holding a guard gives its permit
/// back as it unwinds.
///
/// # Differences from Python
///
/// - `acquire(blocking=False)` is [`try_acquire`](Semaphore::try_acquire),
///   `acquire(timeout=t)` is [`acquire_timeout`](Semaphore::acquire_timeout); both
///   return an `Option` of a guard instead of `bool`. Keep a permit past its guard
///   with [`SemaphoreGuard::keep`].
/// - `release()` returns an error if the count would pass `usize::MAX` (Python's
///   integers do not overflow). `release(n)` is `n` calls.
///
/// # Differences from std
///
/// std has no semaphore. Nothing is poisoned: a panicking holder's guard returns its
/// permit, and the count stays right.
pub struct Semaphore {
    permits: Permits,
}

/// A [`Semaphore`] that refuses to count above its initial value (Python's
/// `threading.BoundedSemaphore`): a release without a matching acquire is an error,
/// not a silent extra permit.
///
/// # Examples
///
/// ```
/// use consumer::ErrorKind;
/// use consumer_primitives::BoundedSemaphore;
///
/// let pool = BoundedSemaphore::new(1);
/// let permit = pool.acquire();
/// drop(permit);
/// assert_eq!(pool.release().unwrap_err().kind(), ErrorKind::Usage);
/// assert_eq!(pool.available_permits(), 1);
/// ```
///
/// # Fairness
///
/// None, as for [`Semaphore`](Semaphore#fairness).
///
/// # Panics
///
/// No method panics; a panicking holder's guard gives its permit back.
///
/// # Differences from Python
///
/// As for [`Semaphore`](Semaphore#differences-from-python); releasing too often
/// returns an error (kind [`Usage`](ErrorKind::Usage)) where Python raises
/// `ValueError`, and the count is left unchanged.
///
/// # Differences from std
///
/// std has no semaphore; nothing is poisoned.
pub struct BoundedSemaphore {
    permits: Permits,
}

/// The shared surface of both semaphores, written once.
macro_rules! semaphore_methods {
    ($ty:ident) => {
        impl $ty {
            /// Takes a permit, waiting while there are none.
            ///
            /// ```
            #[doc = concat!("let s = consumer_primitives::", stringify!($ty), "::new(1);")]
            /// let permit = s.acquire();
            /// assert_eq!(s.available_permits(), 0);
            /// drop(permit);
            /// assert_eq!(s.available_permits(), 1);
            /// ```
            #[inline]
            pub fn acquire(&self) -> SemaphoreGuard<'_> {
                let taken = self.permits.acquire_until(None);
                debug_assert!(taken, "waiting without a deadline only ends with a permit");
                SemaphoreGuard {
                    permits: &self.permits,
                }
            }

            /// Takes a permit if one is free now.
            ///
            /// ```
            #[doc = concat!("let s = consumer_primitives::", stringify!($ty), "::new(1);")]
            /// let first = s.try_acquire();
            /// assert!(first.is_some());
            /// assert!(s.try_acquire().is_none());
            /// ```
            #[inline]
            pub fn try_acquire(&self) -> Option<SemaphoreGuard<'_>> {
                self.permits.try_take().then(|| SemaphoreGuard {
                    permits: &self.permits,
                })
            }

            /// Takes a permit, waiting at most `timeout`; `None` if none came free.
            ///
            /// ```
            /// use std::time::Duration;
            ///
            #[doc = concat!("let s = consumer_primitives::", stringify!($ty), "::new(1);")]
            /// let _held = s.acquire();
            /// assert!(s.acquire_timeout(Duration::from_millis(10)).is_none());
            /// ```
            pub fn acquire_timeout(&self, timeout: Duration) -> Option<SemaphoreGuard<'_>> {
                self.acquire_until(sync::deadline(timeout))
            }

            fn acquire_until(&self, deadline: Option<Instant>) -> Option<SemaphoreGuard<'_>> {
                // `then`, not `then_some`: a guard built and dropped on failure
                // would give back a permit that was never taken.
                self.permits
                    .acquire_until(deadline)
                    .then(|| SemaphoreGuard {
                        permits: &self.permits,
                    })
            }

            /// How many permits are free now.
            ///
            /// ```
            #[doc = concat!("let s = consumer_primitives::", stringify!($ty), "::new(3);")]
            /// assert_eq!(s.available_permits(), 3);
            /// ```
            pub fn available_permits(&self) -> usize {
                self.permits.available()
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.permits.debug(stringify!($ty), f)
            }
        }
    };
}

semaphore_methods!(Semaphore);
semaphore_methods!(BoundedSemaphore);

impl Semaphore {
    /// A semaphore with `permits` free permits.
    ///
    /// ```
    /// let s = consumer_primitives::Semaphore::new(0);
    /// assert!(s.try_acquire().is_none());
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            permits: Permits::new(permits, None),
        }
    }

    /// Adds a permit, waking one waiter.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Usage`] if the count would pass `usize::MAX`.
    ///
    /// ```
    /// let s = consumer_primitives::Semaphore::new(0);
    /// s.release()?; // an event happened
    /// assert!(s.try_acquire().is_some());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn release(&self) -> Result<(), Error> {
        self.permits.release()
    }
}

impl BoundedSemaphore {
    /// A semaphore with `permits` free permits, which is also the most it may have.
    ///
    /// ```
    /// let s = consumer_primitives::BoundedSemaphore::new(2);
    /// assert_eq!(s.available_permits(), 2);
    /// ```
    pub fn new(permits: usize) -> BoundedSemaphore {
        BoundedSemaphore {
            permits: Permits::new(permits, Some(permits)),
        }
    }

    /// Gives back a permit kept with [`SemaphoreGuard::keep`], waking one waiter.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Usage`] if that would take the count above the initial value;
    /// the count is left unchanged.
    ///
    /// ```
    /// let s = consumer_primitives::BoundedSemaphore::new(1);
    /// s.acquire().keep();
    /// s.release()?;
    /// assert!(s.release().is_err());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn release(&self) -> Result<(), Error> {
        self.permits.release()
    }

    /// The initial value: the most permits this semaphore will hold.
    ///
    /// ```
    /// assert_eq!(consumer_primitives::BoundedSemaphore::new(4).bound(), 4);
    /// ```
    pub fn bound(&self) -> usize {
        self.permits.bound.unwrap_or(usize::MAX)
    }
}

/// A permit of a [`Semaphore`] or [`BoundedSemaphore`]; dropping it gives the permit
/// back.
///
/// Unlike a lock guard, a permit may move to another thread and be released there.
///
/// ```
/// use consumer_primitives::Semaphore;
///
/// let s = Semaphore::new(1);
/// let permit = s.acquire();
/// std::thread::scope(|t| {
///     t.spawn(move || drop(permit)); // released by another thread
/// });
/// assert_eq!(s.available_permits(), 1);
/// ```
#[must_use = "the permit is given back as soon as the guard is dropped"]
pub struct SemaphoreGuard<'a> {
    permits: &'a Permits,
}

impl SemaphoreGuard<'_> {
    /// Keeps the permit without a guard; give it back later with `release`.
    ///
    /// ```
    /// let s = consumer_primitives::Semaphore::new(1);
    /// s.acquire().keep();
    /// assert_eq!(s.available_permits(), 0);
    /// s.release()?;
    /// assert_eq!(s.available_permits(), 1);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphoreGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // Giving back can fail only if someone released without acquiring meanwhile:
        // a bounded count is then already at its bound (or an unbounded one at
        // usize::MAX), which is where it stays.
        self.permits.give_back();
    }
}

impl fmt::Debug for SemaphoreGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreGuard").finish_non_exhaustive()
    }
}
