//! [`RLock`]: a lock its owner may take again.

use std::fmt;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use consumer::{Error, ErrorKind};

use crate::sync::{self, Condvar, Mutex, ThreadId, current_thread_id};

/// Who holds the lock and how many times.
#[derive(Debug, Default)]
struct Hold {
    owner: Option<ThreadId>,
    /// Levels held: live guards plus kept levels.
    depth: usize,
    /// Levels kept with [`RLockGuard::keep`], which only [`RLock::release`] gives up.
    kept: usize,
    /// Threads waiting for the lock.
    waiters: usize,
}

/// A reentrant lock: the thread that holds it may acquire it again, and must release
/// it as many times (Python's `threading.RLock`).
///
/// [`acquire`](RLock::acquire) returns a guard that releases one level when dropped.
/// The guard cannot leave its thread, so a guard is always released by the owner.
/// For Python's free-standing `release()`, [`RLockGuard::keep`] keeps the hold without
/// a guard and [`RLock::release`] gives it up later; a thread that does not hold the
/// lock gets an error from `release`, not a panic.
///
/// `RLock` guards no data: it marks a region that methods calling one another may all
/// enter. To protect data, put it in a [`std::sync::Mutex`].
///
/// # Examples
///
/// ```
/// use consumer_primitives::RLock;
///
/// let lock = RLock::new();
/// let outer = lock.acquire();
/// let inner = lock.acquire(); // the same thread: no deadlock
/// assert_eq!(lock.depth(), 2);
/// drop(inner);
/// drop(outer);
/// assert!(!lock.is_locked());
/// ```
///
/// # Fairness
///
/// None. A release wakes one waiting thread, but a thread that arrives meanwhile may
/// take the lock first; a thread may wait for ever in theory while others keep
/// taking the lock. The same holds for Python's `RLock`.
///
/// # Panics
///
/// No method panics. A thread that panics while holding guards releases them as it
/// unwinds.
///
/// # Differences from Python
///
/// - `acquire(blocking=False)` is [`try_acquire`](RLock::try_acquire),
///   `acquire(timeout=t)` is [`acquire_timeout`](RLock::acquire_timeout); both return
///   `Option<RLockGuard>` instead of `bool`.
/// - `with lock:` is a guard's scope. `release()` gives up only levels kept with
///   [`RLockGuard::keep`] (guards release their own), and returns an error (kind
///   [`Usage`](ErrorKind::Usage)) where Python raises `RuntimeError`. Use `keep`,
///   not `std::mem::forget`: a forgotten guard's level can never be released.
///
/// # Differences from std
///
/// std has no reentrant lock; its `ReentrantLock` is unstable, and `Mutex` deadlocks
/// (or panics) when its holder locks it again. There is no poisoning: when a holder
/// panics, its guards release the lock during unwinding and the next thread takes it
/// as usual (like `parking_lot::ReentrantMutex`). A hold kept with
/// [`keep`](RLockGuard::keep) is *not* released by a panic: its thread must release
/// it, or the lock stays held for good.
pub struct RLock {
    hold: Mutex<Hold>,
    released: Condvar,
}

impl RLock {
    /// An unlocked lock.
    ///
    /// ```
    /// let lock = consumer_primitives::RLock::new();
    /// assert!(!lock.is_locked());
    /// ```
    pub fn new() -> RLock {
        RLock {
            hold: Mutex::new(Hold::default()),
            released: Condvar::new(),
        }
    }

    /// Acquires the lock, waiting while another thread holds it. The owner acquires
    /// again at once.
    ///
    /// ```
    /// let lock = consumer_primitives::RLock::new();
    /// let _g = lock.acquire();
    /// assert!(lock.is_owned());
    /// ```
    pub fn acquire(&self) -> RLockGuard<'_> {
        self.acquire_until(None)
            .expect("waiting without a deadline only ends with the lock")
    }

    /// Acquires the lock if that needs no waiting.
    ///
    /// ```
    /// use consumer_primitives::RLock;
    /// use std::sync::Arc;
    ///
    /// let lock = Arc::new(RLock::new());
    /// let held = lock.acquire();
    /// let other = Arc::clone(&lock);
    /// let taken = std::thread::spawn(move || other.try_acquire().is_some()).join().unwrap();
    /// assert!(!taken, "another thread holds it");
    /// assert!(lock.try_acquire().is_some(), "the owner may take it again");
    /// # drop(held);
    /// ```
    pub fn try_acquire(&self) -> Option<RLockGuard<'_>> {
        self.acquire_until(Some(Instant::now()))
    }

    /// Acquires the lock, waiting at most `timeout`; `None` if it stayed held by
    /// another thread that long.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lock = consumer_primitives::RLock::new();
    /// assert!(lock.acquire_timeout(Duration::from_millis(10)).is_some());
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Option<RLockGuard<'_>> {
        self.acquire_until(sync::deadline(timeout))
    }

    fn acquire_until(&self, deadline: Option<Instant>) -> Option<RLockGuard<'_>> {
        let me = current_thread_id();
        let mut hold = sync::lock(&self.hold);
        loop {
            match hold.owner {
                None => {
                    hold.owner = Some(me);
                    hold.depth = 1;
                    break;
                }
                Some(owner) if owner == me => {
                    // Depth cannot reach usize::MAX: each level is a live guard or a
                    // kept hold, and memory runs out long before.
                    hold.depth += 1;
                    break;
                }
                Some(_) => {
                    let (h, expired) =
                        sync::wait(&self.released, hold, deadline, |h| &mut h.waiters);
                    hold = h;
                    if expired {
                        return None;
                    }
                }
            }
        }
        Some(RLockGuard {
            lock: self,
            _not_send: PhantomData,
        })
    }

    /// Releases one level of a hold kept with [`RLockGuard::keep`].
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Usage`] when the calling thread does not hold the lock (Python's
    /// `RuntimeError: cannot release un-acquired lock`), or holds it only through
    /// guards; nothing changes then.
    ///
    /// ```
    /// use consumer::ErrorKind;
    /// use consumer_primitives::RLock;
    ///
    /// let lock = RLock::new();
    /// lock.acquire().keep(); // hold it past the guard, Python style
    /// lock.release()?;
    /// assert_eq!(lock.release().unwrap_err().kind(), ErrorKind::Usage);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn release(&self) -> Result<(), Error> {
        let me = current_thread_id();
        let mut hold = sync::lock(&self.hold);
        if hold.owner != Some(me) {
            let why = if hold.owner.is_some() {
                "RLock released by a thread that does not hold it"
            } else {
                "RLock released while not held"
            };
            return Err(Error::new(ErrorKind::Usage, why));
        }
        if hold.kept == 0 {
            return Err(Error::new(
                ErrorKind::Usage,
                "RLock released with no kept hold; its guards release themselves",
            ));
        }
        hold.kept -= 1;
        self.release_level(hold);
        Ok(())
    }

    /// Gives up one level; the last wakes the waiters.
    fn release_level(&self, mut hold: sync::MutexGuard<'_, Hold>) {
        hold.depth -= 1;
        if hold.depth == 0 {
            hold.owner = None;
            let wake = hold.waiters > 0;
            drop(hold);
            if wake {
                // One is enough: whoever takes the lock wakes the next on release.
                self.released.notify_one();
            }
        }
    }

    /// Does any thread hold the lock?
    ///
    /// ```
    /// let lock = consumer_primitives::RLock::new();
    /// let g = lock.acquire();
    /// assert!(lock.is_locked());
    /// drop(g);
    /// assert!(!lock.is_locked());
    /// ```
    pub fn is_locked(&self) -> bool {
        sync::lock(&self.hold).owner.is_some()
    }

    /// Does the calling thread hold the lock?
    ///
    /// ```
    /// let lock = consumer_primitives::RLock::new();
    /// assert!(!lock.is_owned());
    /// let _g = lock.acquire();
    /// assert!(lock.is_owned());
    /// ```
    pub fn is_owned(&self) -> bool {
        sync::lock(&self.hold).owner == Some(current_thread_id())
    }

    /// How many times the calling thread holds the lock: 0 when it is free or another
    /// thread holds it (Python's `_recursion_count()`).
    ///
    /// ```
    /// let lock = consumer_primitives::RLock::new();
    /// let (_a, _b) = (lock.acquire(), lock.acquire());
    /// assert_eq!(lock.depth(), 2);
    /// std::thread::scope(|s| {
    ///     s.spawn(|| assert_eq!(lock.depth(), 0)); // not the holder
    /// });
    /// ```
    pub fn depth(&self) -> usize {
        let hold = sync::lock(&self.hold);
        if hold.owner == Some(current_thread_id()) {
            hold.depth
        } else {
            0
        }
    }
}

impl Default for RLock {
    fn default() -> RLock {
        RLock::new()
    }
}

impl fmt::Debug for RLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hold = sync::lock(&self.hold);
        f.debug_struct("RLock")
            .field("owner", &hold.owner)
            .field("depth", &hold.depth)
            .finish()
    }
}

/// One level of an [`RLock`] hold; dropping it releases that level.
///
/// The guard stays on the thread that acquired it (it is neither `Send` nor `Sync`),
/// so it is always released by the owner:
///
/// ```compile_fail
/// let lock = consumer_primitives::RLock::new();
/// let g = lock.acquire();
/// std::thread::scope(|s| {
///     s.spawn(move || drop(g)); // error: the guard cannot be sent
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct RLockGuard<'a> {
    lock: &'a RLock,
    /// A raw pointer is neither `Send` nor `Sync`.
    _not_send: PhantomData<*const ()>,
}

impl RLockGuard<'_> {
    /// Keeps this level held without a guard; the thread gives it up with
    /// [`RLock::release`], as in Python.
    ///
    /// ```
    /// let lock = consumer_primitives::RLock::new();
    /// lock.acquire().keep();
    /// assert!(lock.is_owned());
    /// lock.release()?;
    /// assert!(!lock.is_locked());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn keep(self) {
        sync::lock(&self.lock.hold).kept += 1;
        std::mem::forget(self);
    }
}

impl Drop for RLockGuard<'_> {
    fn drop(&mut self) {
        // A guard lives only on its owner's thread, and its level is counted in
        // `depth` but not in `kept`: releasing it needs no check.
        self.lock.release_level(sync::lock(&self.lock.hold));
    }
}

impl fmt::Debug for RLockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RLockGuard")
            .field("lock", self.lock)
            .finish()
    }
}
