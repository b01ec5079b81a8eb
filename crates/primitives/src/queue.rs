//! [`Queue`]: Python's `queue.Queue`, with 3.13's `shutdown`, and a [`Consumer`].

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use consumer::{Consumer, Error, ErrorKind, SendError};

use crate::sync::{self, Arc, Condvar, Mutex, MutexGuard};

struct State<T> {
    items: VecDeque<T>,
    /// Items put and not yet marked done with `task_done`.
    unfinished: usize,
    shut_down: bool,
    /// Threads waiting in `get`, `put` and `join`: notifications are skipped when
    /// nobody waits.
    getters: usize,
    putters: usize,
    joiners: usize,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// Signalled when the queue stops being empty (one getter, who passes it on
    /// while items are left) or at shutdown (all).
    not_empty: Condvar,
    /// Signalled when the queue stops being full (one putter, who passes it on
    /// while room is left) or at shutdown (all).
    not_full: Condvar,
    /// Signalled when `unfinished` reaches 0.
    all_done: Condvar,
    /// 0: no limit, as in Python.
    maxsize: usize,
}

/// A first-in first-out queue shared between threads (Python's `queue.Queue`), with
/// an optional size limit, `task_done`/`join`, and Python 3.13's `shutdown`.
///
/// A `Queue` is a handle: clones share one queue, so give each thread its clone (as
/// Python code passes one queue object around).
///
/// ```text
///   producers ──put──▶ [ a b c … ] ──get──▶ consumers
///                   (waits while full)  (waits while empty)
/// ```
///
/// Every operation comes in three forms, as in Python: blocking (`put`, `get`),
/// with a timeout (`put_timeout`, `get_timeout`) and non-blocking (`try_put`,
/// `try_get`).
///
/// # Examples
///
/// The notes' producer and consumer threads:
///
/// ```
/// use consumer_primitives::Queue;
///
/// let q = Queue::with_maxsize(8);
/// let consumer = {
///     let q = q.clone();
///     std::thread::spawn(move || {
///         let mut total = 0;
///         while let Ok(n) = q.get() {
///             total += n;
///             q.task_done().unwrap();
///         }
///         total // `get` failed: the queue is shut down and empty
///     })
/// };
/// for n in 1..=100 {
///     q.put(n)?;
/// }
/// q.join(); // every item processed
/// q.shutdown(); // consumers finish
/// assert_eq!(consumer.join().unwrap(), 5050);
/// # Ok::<(), consumer::SendError<i32>>(())
/// ```
///
/// # Shutdown
///
/// [`shutdown`](Queue::shutdown) stops `put`s (they fail with
/// [`ErrorKind::Closed`] and the item back, including those waiting for room); `get`s
/// go on until the queue is empty, then fail with `Closed`.
/// [`shutdown_immediate`](Queue::shutdown_immediate) also takes every queued item
/// out, marks it done for `join`, and hands the items back to the caller.
///
/// # As a consumer
///
/// `Queue<T>` implements [`Consumer<T>`]: `send` is `put` (waiting while the queue is
/// full) and `close` is `shutdown`, so a queue can stand wherever a consumer can, for
/// instance behind a [`Broadcast`](consumer::Broadcast). A queue is a mailbox, not a
/// runner, so of the [lifecycle contract](Consumer#the-lifecycle-contract) it keeps
/// what a mailbox can:
///
/// - Sends are queued in order per sender; after `close` they fail with
///   [`Closed`](ErrorKind::Closed) and the item back. `close` may be called any number
///   of times, through any clone, and returns `Ok`.
/// - `close` returns at once: items already queued stay there for the getters, who
///   see the end once they have taken them. To wait until they are *processed*,
///   `join` after `close` (the getters call `task_done`), or join the getter threads.
/// - A queue runs no consumer code, so it has no consumer failures to report: the
///   thread that `get`s owns that. The crate's tests pair a queue with one such
///   thread and hold the pair to the whole conformance suite.
///
/// # Fairness
///
/// None: waiting putters and getters are woken one per item or per free slot, and a
/// newcomer may take the item or slot first (as in Python). Items themselves are
/// strictly FIFO.
///
/// # Panics
///
/// No method panics. No user code runs under the queue's lock, so a panicking thread
/// leaves the queue as it was.
///
/// # Differences from Python
///
/// - `put(block=False)` / `put_nowait` is [`try_put`](Queue::try_put), failing with
///   [`Full`](ErrorKind::Full); `put(timeout=t)` is [`put_timeout`](Queue::put_timeout),
///   failing with [`Timeout`](ErrorKind::Timeout); both hand the item back.
/// - `get_nowait` is [`try_get`](Queue::try_get), returning `Ok(None)` where Python
///   raises `Empty`; `get(timeout=t)` is [`get_timeout`](Queue::get_timeout), failing
///   with `Timeout`.
/// - `ShutDown` is [`ErrorKind::Closed`]; `task_done` called too often is
///   [`ErrorKind::Usage`] where Python raises `ValueError`.
/// - `shutdown(immediate=True)` is [`shutdown_immediate`](Queue::shutdown_immediate),
///   which returns the removed items instead of dropping them.
/// - [`join_timeout`](Queue::join_timeout) has no Python counterpart.
/// - `qsize`, `empty`, `full` are [`len`](Queue::len), [`is_empty`](Queue::is_empty),
///   [`is_full`](Queue::is_full); like Python's, they are out of date as soon as
///   they return.
///
/// # Differences from std
///
/// std's `mpsc` channels and crossbeam's are the Rust idiom for moving items between
/// threads, and faster; a `Queue` adds what they lack: `task_done`/`join`, a
/// drain-then-close shutdown that any handle may trigger, and many getters sharing
/// one queue (std's receiver cannot be cloned). Unlike a channel, a `Queue` is not
/// disconnected when the other side's handles are dropped: getters wait until
/// someone shuts it down. Nothing is poisoned.
pub struct Queue<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Queue<T> {
    /// A queue without a size limit.
    ///
    /// ```
    /// let q = consumer_primitives::Queue::<u8>::new();
    /// assert_eq!(q.maxsize(), None);
    /// ```
    pub fn new() -> Queue<T> {
        Queue::with_maxsize(0)
    }

    /// A queue holding at most `maxsize` items; 0 means no limit, as in Python's
    /// `Queue(maxsize=0)`.
    ///
    /// ```
    /// let q = consumer_primitives::Queue::with_maxsize(1);
    /// q.try_put('a')?;
    /// assert!(q.is_full());
    /// # Ok::<(), consumer::SendError<char>>(())
    /// ```
    pub fn with_maxsize(maxsize: usize) -> Queue<T> {
        Queue {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    items: VecDeque::new(),
                    unfinished: 0,
                    shut_down: false,
                    getters: 0,
                    putters: 0,
                    joiners: 0,
                }),
                not_empty: Condvar::new(),
                not_full: Condvar::new(),
                all_done: Condvar::new(),
                maxsize,
            }),
        }
    }

    /// Puts `item` at the back, waiting while the queue is full.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Closed`], with the item back, once the queue is shut down (also
    /// for a put that was waiting for room).
    ///
    /// ```
    /// let q = consumer_primitives::Queue::new();
    /// q.put(1)?;
    /// q.shutdown();
    /// assert_eq!(q.put(2).unwrap_err().into_item(), Some(2));
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn put(&self, item: T) -> Result<(), SendError<T>> {
        self.put_until(item, None, ErrorKind::Timeout)
    }

    /// Puts `item` if there is room now.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Full`] when the queue is full, [`ErrorKind::Closed`] when it is
    /// shut down; both with the item back.
    ///
    /// ```
    /// use consumer::ErrorKind;
    ///
    /// let q = consumer_primitives::Queue::with_maxsize(1);
    /// q.try_put(1)?;
    /// let e = q.try_put(2).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Full);
    /// assert_eq!(e.into_item(), Some(2));
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), SendError<T>> {
        self.put_until(item, Some(Instant::now()), ErrorKind::Full)
    }

    /// Puts `item`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`] when no room came free in time, [`ErrorKind::Closed`]
    /// when the queue is shut down; both with the item back.
    ///
    /// ```
    /// use consumer::ErrorKind;
    /// use std::time::Duration;
    ///
    /// let q = consumer_primitives::Queue::with_maxsize(1);
    /// q.put_timeout(1, Duration::from_millis(10))?;
    /// let e = q.put_timeout(2, Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Timeout);
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), SendError<T>> {
        self.put_until(item, sync::deadline(timeout), ErrorKind::Timeout)
    }

    fn put_until(
        &self,
        item: T,
        deadline: Option<Instant>,
        full: ErrorKind,
    ) -> Result<(), SendError<T>> {
        let shared = &*self.shared;
        let state = match shared.wait_for_room(sync::lock(&shared.state), deadline) {
            Room::Yes(state) => state,
            Room::ShutDown => return Err(SendError::new(item, shut_down())),
            Room::No => {
                let why = match full {
                    ErrorKind::Full => "queue is full",
                    _ => "no room in the queue in time",
                };
                return Err(SendError::new(item, Error::new(full, why)));
            }
        };
        shared.push(state, item);
        Ok(())
    }

    /// Takes the item at the front, waiting while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Closed`] once the queue is shut down and empty.
    ///
    /// ```
    /// let q = consumer_primitives::Queue::new();
    /// q.put("first")?;
    /// q.shutdown();
    /// assert_eq!(q.get()?, "first"); // queued items outlive the shutdown
    /// assert!(q.get().unwrap_err().is_closed());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get(&self) -> Result<T, Error> {
        self.get_until(None)?
            .ok_or_else(|| unreachable_timeout("get without a deadline"))
    }

    /// Takes the item at the front if there is one: `Ok(None)` when the queue is
    /// empty now.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Closed`] when the queue is shut down and empty: no item will come.
    ///
    /// ```
    /// let q = consumer_primitives::Queue::new();
    /// assert_eq!(q.try_get()?, None);
    /// q.put(7)?;
    /// assert_eq!(q.try_get()?, Some(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_get(&self) -> Result<Option<T>, Error> {
        self.get_until(Some(Instant::now()))
    }

    /// Takes the item at the front, waiting at most `timeout` for one.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Timeout`] when none came in time, [`ErrorKind::Closed`] when the
    /// queue is shut down and empty.
    ///
    /// ```
    /// use consumer::ErrorKind;
    /// use std::time::Duration;
    ///
    /// let q = consumer_primitives::Queue::<u8>::new();
    /// let e = q.get_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Timeout);
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, Error> {
        self.get_until(sync::deadline(timeout))?
            .ok_or_else(|| Error::new(ErrorKind::Timeout, "no item in the queue in time"))
    }

    /// `Ok(None)` only when the deadline passed.
    fn get_until(&self, deadline: Option<Instant>) -> Result<Option<T>, Error> {
        let shared = &*self.shared;
        let mut state = sync::lock(&shared.state);
        loop {
            let was_full = !shared.has_room(&state);
            if let Some(item) = state.items.pop_front() {
                // A putter waits only while the queue is full: wake one when it stops
                // being full. Wake the next getter if items are left (one woken
                // getter wakes the next, so a burst of puts needs one notification).
                let wake_putter = was_full && state.putters > 0;
                let wake_getter = !state.items.is_empty() && state.getters > 0;
                drop(state);
                if wake_putter {
                    shared.not_full.notify_one();
                }
                if wake_getter {
                    shared.not_empty.notify_one();
                }
                return Ok(Some(item));
            }
            if state.shut_down {
                return Err(shut_down());
            }
            let (s, expired) = sync::wait(&shared.not_empty, state, deadline, |s| &mut s.getters);
            state = s;
            if expired {
                return Ok(None);
            }
        }
    }

    /// Marks one item taken with `get` as processed, for [`join`](Queue::join).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Usage`] when called more times than items were put (Python's
    /// `ValueError`); nothing changes then.
    ///
    /// ```
    /// let q = consumer_primitives::Queue::new();
    /// q.put(1)?;
    /// q.get()?;
    /// q.task_done()?;
    /// assert!(q.task_done().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn task_done(&self) -> Result<(), Error> {
        let shared = &*self.shared;
        let mut state = sync::lock(&shared.state);
        if state.unfinished == 0 {
            return Err(Error::new(
                ErrorKind::Usage,
                "task_done called more times than items were put",
            ));
        }
        state.unfinished -= 1;
        if state.unfinished == 0 && state.joiners > 0 {
            drop(state);
            shared.all_done.notify_all();
        }
        Ok(())
    }

    /// Waits until every item put has been marked done with
    /// [`task_done`](Queue::task_done).
    ///
    /// ```
    /// let q = consumer_primitives::Queue::new();
    /// q.put("job")?;
    /// let worker = q.clone();
    /// let t = std::thread::spawn(move || -> Result<(), consumer::Error> {
    ///     worker.get()?;
    ///     worker.task_done()
    /// });
    /// q.join(); // returns once the worker has marked the job done
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// t.join().unwrap()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join(&self) {
        let done = self.join_until(None);
        debug_assert!(done, "waiting without a deadline only ends when done");
    }

    /// Like [`join`](Queue::join), waiting at most `timeout`; returns whether every
    /// item was done.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let q = consumer_primitives::Queue::new();
    /// q.put(1)?;
    /// assert!(!q.join_timeout(Duration::from_millis(10)), "1 is not done yet");
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn join_timeout(&self, timeout: Duration) -> bool {
        self.join_until(sync::deadline(timeout))
    }

    fn join_until(&self, deadline: Option<Instant>) -> bool {
        let shared = &*self.shared;
        let mut state = sync::lock(&shared.state);
        loop {
            if state.unfinished == 0 {
                return true;
            }
            let (s, expired) = sync::wait(&shared.all_done, state, deadline, |s| &mut s.joiners);
            state = s;
            if expired {
                return false;
            }
        }
    }

    /// Shuts the queue down: puts fail from now on, gets go on until it is empty.
    /// Wakes every waiting putter and getter. Shutting down twice does nothing more.
    ///
    /// ```
    /// let q = consumer_primitives::Queue::new();
    /// q.put(1)?;
    /// q.shutdown();
    /// assert!(q.is_shutdown());
    /// assert!(q.put(2).is_err());
    /// assert_eq!(q.get()?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&self) {
        let shared = &*self.shared;
        sync::lock(&shared.state).shut_down = true;
        shared.wake_all();
    }

    /// Shuts the queue down and empties it at once: returns the items that were
    /// queued, each marked done for [`join`](Queue::join) (items already taken by a
    /// `get` still need their `task_done`).
    ///
    /// ```
    /// let q = consumer_primitives::Queue::new();
    /// q.put(1)?;
    /// q.put(2)?;
    /// assert_eq!(q.shutdown_immediate(), [1, 2]);
    /// assert!(q.get().unwrap_err().is_closed());
    /// q.join(); // nothing left undone
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_immediate(&self) -> Vec<T> {
        let shared = &*self.shared;
        let mut state = sync::lock(&shared.state);
        state.shut_down = true;
        let removed: Vec<T> = state.items.drain(..).collect();
        // `task_done` may have been called early, for items still queued (Python
        // allows it): never count below zero.
        state.unfinished = state.unfinished.saturating_sub(removed.len());
        drop(state);
        shared.wake_all();
        shared.all_done.notify_all();
        removed
    }

    /// Has the queue been shut down?
    ///
    /// ```
    /// let q = consumer_primitives::Queue::<u8>::new();
    /// q.shutdown();
    /// assert!(q.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        sync::lock(&self.shared.state).shut_down
    }

    /// How many items are queued (Python's `qsize()`).
    ///
    /// ```
    /// let q = consumer_primitives::Queue::new();
    /// q.put(())?;
    /// assert_eq!(q.len(), 1);
    /// # Ok::<(), consumer::SendError<()>>(())
    /// ```
    pub fn len(&self) -> usize {
        sync::lock(&self.shared.state).items.len()
    }

    /// Is the queue empty (Python's `empty()`)?
    ///
    /// ```
    /// assert!(consumer_primitives::Queue::<u8>::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Does the queue hold `maxsize` items (Python's `full()`)? Never for a queue
    /// without a limit.
    ///
    /// ```
    /// let q = consumer_primitives::Queue::with_maxsize(1);
    /// assert!(!q.is_full());
    /// q.put(1)?;
    /// assert!(q.is_full());
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn is_full(&self) -> bool {
        let shared = &*self.shared;
        shared.maxsize != 0 && sync::lock(&shared.state).items.len() >= shared.maxsize
    }

    /// The size limit, `None` without one.
    ///
    /// ```
    /// assert_eq!(consumer_primitives::Queue::<u8>::with_maxsize(3).maxsize(), Some(3));
    /// ```
    pub fn maxsize(&self) -> Option<usize> {
        (self.shared.maxsize != 0).then_some(self.shared.maxsize)
    }

    /// How many items were put and not yet marked done with `task_done`.
    ///
    /// ```
    /// let q = consumer_primitives::Queue::new();
    /// q.put(1)?;
    /// q.get()?;
    /// assert_eq!(q.unfinished_tasks(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn unfinished_tasks(&self) -> usize {
        sync::lock(&self.shared.state).unfinished
    }
}

enum Room<'a, T> {
    Yes(MutexGuard<'a, State<T>>),
    No,
    ShutDown,
}

impl<T> Shared<T> {
    fn has_room(&self, state: &State<T>) -> bool {
        self.maxsize == 0 || state.items.len() < self.maxsize
    }

    fn wait_for_room<'a>(
        &self,
        mut state: MutexGuard<'a, State<T>>,
        deadline: Option<Instant>,
    ) -> Room<'a, T> {
        loop {
            if state.shut_down {
                return Room::ShutDown;
            }
            if self.has_room(&state) {
                return Room::Yes(state);
            }
            let (s, expired) = sync::wait(&self.not_full, state, deadline, |s| &mut s.putters);
            state = s;
            if expired {
                return Room::No;
            }
        }
    }

    /// Queues `item` (there is room). Wakes a getter when the queue stops being
    /// empty, and the next putter if room is left (mirroring `get_until`).
    fn push(&self, mut state: MutexGuard<'_, State<T>>, item: T) {
        let was_empty = state.items.is_empty();
        state.items.push_back(item);
        state.unfinished += 1;
        let wake_getter = was_empty && state.getters > 0;
        let wake_putter = self.has_room(&state) && state.putters > 0;
        drop(state);
        if wake_getter {
            self.not_empty.notify_one();
        }
        if wake_putter {
            self.not_full.notify_one();
        }
    }

    fn wake_all(&self) {
        self.not_empty.notify_all();
        self.not_full.notify_all();
    }
}

fn shut_down() -> Error {
    Error::new(ErrorKind::Closed, "the queue is shut down")
}

fn unreachable_timeout(what: &str) -> Error {
    Error::new(ErrorKind::Timeout, format!("{what} timed out"))
}

impl<T> Clone for Queue<T> {
    fn clone(&self) -> Queue<T> {
        Queue {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Default for Queue<T> {
    fn default() -> Queue<T> {
        Queue::new()
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = sync::lock(&self.shared.state);
        f.debug_struct("Queue")
            .field("len", &state.items.len())
            .field("maxsize", &self.maxsize())
            .field("unfinished", &state.unfinished)
            .field("shut_down", &state.shut_down)
            .finish()
    }
}

/// `send` is [`put`](Queue::put), `close` is [`shutdown`](Queue::shutdown); see
/// [As a consumer](Queue#as-a-consumer).
///
/// `send_all` is the default: one `put` per item. The items come from the caller's
/// iterator, which is user code, and none runs under the queue's lock: an iterator
/// that blocks (on a channel, say) or touches this queue must not stall the getters.
///
/// ```
/// use consumer::{Broadcast, Consumer};
/// use consumer_primitives::Queue;
///
/// let (a, b) = (Queue::new(), Queue::new());
/// let mut both = Broadcast::new();
/// both.register(a.clone());
/// both.register(b.clone());
/// both.send(1)?;
/// both.close()?;
/// assert_eq!((a.get()?, b.get()?), (1, 1));
/// assert!(a.get().unwrap_err().is_closed());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
impl<T> Consumer<T> for Queue<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.put(item)
    }

    fn close(&mut self) -> Result<(), Error> {
        self.shutdown();
        Ok(())
    }

    fn name(&self) -> &str {
        "Queue"
    }
}
