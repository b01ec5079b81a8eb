//! [`Event`]: a flag threads wait on.

use std::fmt;
use std::time::{Duration, Instant};

use crate::sync::{self, Condvar, Mutex};

#[derive(Debug, Default)]
struct Flag {
    set: bool,
    /// Counts `set` calls that raised the flag, so a waiter wakes even if the flag was
    /// cleared again before it ran.
    raised: u64,
    /// Threads waiting for the flag.
    waiters: usize,
}

/// A flag that threads wait on until another thread sets it (Python's
/// `threading.Event`, the notes' "Events" slide).
///
/// ```text
///   Thread 1                Thread 2
///   e.wait()   ◀─ notify ─  e.set()
/// ```
///
/// # Examples
///
/// ```
/// use consumer_primitives::Event;
/// use std::sync::Arc;
///
/// let ready = Arc::new(Event::new());
/// let waiter = {
///     let ready = Arc::clone(&ready);
///     std::thread::spawn(move || {
///         ready.wait();
///         "responding to the event"
///     })
/// };
/// ready.set();
/// assert_eq!(waiter.join().unwrap(), "responding to the event");
/// ```
///
/// # Fairness
///
/// Not a question: `set` wakes every waiter.
///
/// # Panics
///
/// No method panics.
///
/// # Differences from Python
///
/// `isSet()`/`is_set()` is [`is_set`](Event::is_set); `wait(timeout)` is
/// [`wait_timeout`](Event::wait_timeout) and, like Python's, returns `true` once the
/// event was set during the wait even if it was cleared again before the waiter ran.
///
/// # Differences from std
///
/// std has no event; the nearest are a `Mutex<bool>` with a `Condvar`, or a
/// `std::sync::Barrier` for one-shot meetings. Nothing is poisoned: no user code runs
/// under the event's internal lock.
pub struct Event {
    flag: Mutex<Flag>,
    changed: Condvar,
}

impl Event {
    /// An event that is not set.
    ///
    /// ```
    /// assert!(!consumer_primitives::Event::new().is_set());
    /// ```
    pub fn new() -> Event {
        Event {
            flag: Mutex::new(Flag::default()),
            changed: Condvar::new(),
        }
    }

    /// Sets the flag and wakes every waiter. Setting a set event does nothing.
    ///
    /// ```
    /// let e = consumer_primitives::Event::new();
    /// e.set();
    /// assert!(e.is_set());
    /// ```
    pub fn set(&self) {
        let mut flag = sync::lock(&self.flag);
        if !flag.set {
            flag.set = true;
            flag.raised = flag.raised.wrapping_add(1);
            let wake = flag.waiters > 0;
            drop(flag);
            if wake {
                self.changed.notify_all();
            }
        }
    }

    /// Clears the flag: later waits block until the next `set`.
    ///
    /// ```
    /// let e = consumer_primitives::Event::new();
    /// e.set();
    /// e.clear();
    /// assert!(!e.is_set());
    /// ```
    pub fn clear(&self) {
        sync::lock(&self.flag).set = false;
    }

    /// Is the flag set?
    ///
    /// ```
    /// assert!(!consumer_primitives::Event::new().is_set());
    /// ```
    pub fn is_set(&self) -> bool {
        sync::lock(&self.flag).set
    }

    /// Waits until the flag is set; returns at once if it is.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use consumer_primitives::Event;
    ///
    /// let ready = Arc::new(Event::new());
    /// let setter = Arc::clone(&ready);
    /// let t = std::thread::spawn(move || setter.set());
    /// ready.wait(); // blocks until the other thread sets it
    /// assert!(ready.is_set());
    /// t.join().unwrap();
    /// ```
    pub fn wait(&self) {
        let set = self.wait_until(None);
        debug_assert!(
            set,
            "waiting without a deadline only ends with the event set"
        );
    }

    /// Waits at most `timeout` for the flag; returns whether it was set.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let e = consumer_primitives::Event::new();
    /// assert!(!e.wait_timeout(Duration::from_millis(10)));
    /// e.set();
    /// assert!(e.wait_timeout(Duration::from_millis(10)));
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(sync::deadline(timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> bool {
        let mut flag = sync::lock(&self.flag);
        let seen = flag.raised;
        loop {
            if flag.set || flag.raised != seen {
                return true;
            }
            let (f, expired) = sync::wait(&self.changed, flag, deadline, |f| &mut f.waiters);
            flag = f;
            if expired {
                return false;
            }
        }
    }
}

impl Default for Event {
    fn default() -> Event {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("set", &self.is_set())
            .finish()
    }
}
