//! `Pool` and its `Builder`: N workers behind one consumer, dispatch, close.

use std::iter;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use consumer::{Consumer, Error, ErrorKind, SendError};
use parking_lot::Mutex;

use crate::counts::Counts;
use crate::dispatch::{Dispatch, Load, least_loaded};
use crate::restart::Restart;
use crate::slot::Slot;
use crate::supervisor::{self, Supervisor};

/// How many items of a batch the pool takes at a time: least-loaded dispatch deals a
/// chunk out in N parts; keyed dispatch sorts it into per-worker batches.
const CHUNK: usize = 256;

/// Configures a [`Pool`]: its dispatch and restart policy. Made by [`Pool::builder`].
///
/// ```
/// use std::time::Duration;
/// use consumer_pool::{Dispatch, Pool, Restart};
///
/// let pool = Pool::builder(4)
///     .dispatch(Dispatch::by_key(|n: &u64| n % 10))
///     .restart(Restart::up_to(3, Duration::from_secs(5)))
///     .build(|_worker| Ok(Vec::new()))?;
/// # drop(pool);
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug)]
pub struct Builder<T> {
    workers: usize,
    dispatch: Dispatch<T>,
    restart: Restart,
}

impl<T: Send + 'static> Builder<T> {
    /// How each item picks its worker (default: [`Dispatch::least_loaded`]).
    ///
    /// ```
    /// let b = consumer_pool::Pool::builder(2).dispatch(consumer_pool::Dispatch::by_key(|n: &u8| *n));
    /// # let _ = b;
    /// ```
    pub fn dispatch(mut self, dispatch: Dispatch<T>) -> Builder<T> {
        self.dispatch = dispatch;
        self
    }

    /// When failed workers are restarted (default: [`Restart::default`]).
    ///
    /// ```
    /// let b = consumer_pool::Pool::<u8>::builder(2).restart(consumer_pool::Restart::never());
    /// # let _ = b;
    /// ```
    pub fn restart(mut self, restart: Restart) -> Builder<T> {
        self.restart = restart;
        self
    }

    /// Starts the workers: `factory(index)` for index `0..workers`, and again for a
    /// worker that failed. The factory returns any consumer — a runner's handle, a
    /// child process, a socket — or an error.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for a pool of no workers; the factory's error (the
    /// workers already made are closed first).
    ///
    /// ```
    /// use consumer::{Consumer, Error, ErrorKind};
    ///
    /// let e = consumer_pool::Pool::<u8>::builder(0).build(|_| Ok(Vec::new())).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Usage);
    /// let e = consumer_pool::Pool::<u8>::builder(2)
    ///     .build(|i| if i == 0 { Ok(Vec::new()) } else { Err(Error::from(ErrorKind::Io)) })
    ///     .unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Io);
    /// ```
    ///
    /// Workers of different kinds in one pool: box them.
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// type Worker = Box<dyn Consumer<u64> + Send>;
    /// let mut pool = consumer_pool::Pool::builder(2).build(|i| -> Result<Worker, consumer::Error> {
    ///     Ok(match i {
    ///         0 => Box::new(consumer_thread::spawn(Vec::new())), // in a thread
    ///         _ => Box::new(consumer::from_fn(|_: u64| {})),     // in-line
    ///     })
    /// })?;
    /// pool.send_all(0..10)?;
    /// pool.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build<C, F>(self, factory: F) -> Result<Pool<T>, Error>
    where
        F: FnMut(usize) -> Result<C, Error> + Send + 'static,
        C: Consumer<T> + Send + 'static,
    {
        if self.workers == 0 {
            return Err(Error::new(
                ErrorKind::Usage,
                "a pool needs at least one worker",
            ));
        }
        let sup = Supervisor::new(self.restart, supervisor::boxed(factory));
        let mut lanes: Vec<Lane<T>> = Vec::with_capacity(self.workers);
        for index in 0..self.workers {
            match sup.start(index) {
                Ok(worker) => lanes.push(Lane {
                    slot: Mutex::new(Slot::new(index, worker)),
                    load: Load::default(),
                }),
                Err(e) => {
                    for lane in &lanes {
                        let _ = lane.slot.lock().close(&sup);
                    }
                    return Err(e);
                }
            }
        }
        Ok(Pool {
            inner: Arc::new(Inner {
                lanes: lanes.into_boxed_slice(),
                dispatch: self.dispatch,
                sup,
                closed: AtomicBool::new(false),
                outcome: Mutex::new(None),
                handles: AtomicUsize::new(1),
            }),
        })
    }
}

/// One consumer in front of N workers: each item goes to one worker, picked by the
/// [`Dispatch`]; failed workers are restarted from the factory under the
/// [`Restart`] policy. See the [crate docs](crate) for the model.
///
/// `Pool` is `Clone`: clones are handles to the same pool, for several producers.
/// Dropping the last handle without `close` closes the pool as `close` would and
/// waits for it.
///
/// ```
/// use consumer::Consumer;
/// use consumer_pool::Pool;
///
/// let mut pool = Pool::builder(3).build(|_| Ok(Vec::<u64>::new()))?;
/// let mut other = pool.clone();
/// std::thread::spawn(move || other.send_all(0..1000)).join().unwrap()?;
/// pool.send(1000)?;
/// pool.close()?;
/// assert_eq!(pool.counts().delivered(), Some(1001));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Pool<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    lanes: Box<[Lane<T>]>,
    dispatch: Dispatch<T>,
    sup: Supervisor<T>,
    closed: AtomicBool,
    /// Close's combined outcome, once it ran; its lock serialises closers.
    outcome: Mutex<Option<Result<(), Error>>>,
    handles: AtomicUsize,
}

struct Lane<T> {
    slot: Mutex<Slot<T>>,
    load: Load,
}

impl<T> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.inner.lanes.len())
            .field("dispatch", &self.inner.dispatch)
            .field("supervisor", &self.inner.sup)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Pool<T> {
    /// A builder for a pool of `workers` workers.
    ///
    /// ```
    /// let pool = consumer_pool::Pool::builder(2).build(|_| Ok(Vec::<u8>::new()))?;
    /// assert_eq!(pool.workers(), 2);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn builder(workers: usize) -> Builder<T> {
        Builder {
            workers,
            dispatch: Dispatch::default(),
            restart: Restart::default(),
        }
    }
}

impl<T> Pool<T> {
    /// How many workers the pool runs.
    ///
    /// ```
    /// let pool = consumer_pool::Pool::builder(3).build(|_| Ok(Vec::<u8>::new()))?;
    /// assert_eq!(pool.workers(), 3);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn workers(&self) -> usize {
        self.inner.lanes.len()
    }

    /// The pool's accounting now; exact once `close` returned (see [`Counts`]).
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let mut pool = consumer_pool::Pool::builder(2).build(|_| Ok(Vec::<u8>::new()))?;
    /// pool.send(1)?;
    /// assert_eq!(pool.counts().accepted, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn counts(&self) -> Counts {
        self.inner.sup.tally.snapshot()
    }

    fn closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Sends `items` to lane `i`.
    fn to_lane(&self, i: usize, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        let lane = &self.inner.lanes[i];
        let _busy = lane.load.enter();
        let (accepted, outcome) = lane.slot.lock().send_batch(&self.inner.sup, items);
        lane.load.gave(accepted);
        outcome
    }

    /// A least-loaded batch: each chunk dealt out in N contiguous parts, each part to
    /// the least loaded worker of the moment — so a short batch of costly items is
    /// shared, not handed to one worker whole.
    fn spread_batch(&self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        let n = self.inner.lanes.len();
        loop {
            let chunk: Vec<T> = (&mut *items).take(CHUNK).collect();
            if chunk.is_empty() {
                return Ok(());
            }
            let part = chunk.len().div_ceil(n);
            let mut rest = chunk.into_iter();
            while rest.len() > 0 {
                let i = least_loaded(self.inner.lanes.iter().map(|l| &l.load));
                if let Err(e) = self.to_lane(i, &mut (&mut rest).take(part)) {
                    return Err(dropped_with(e, rest.len() as u64));
                }
            }
        }
    }

    /// A keyed batch: chunks sorted into per-worker batches, each in order.
    fn keyed_batch(&self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        let n = self.inner.lanes.len();
        let mut buckets: Vec<Vec<T>> = (0..n).map(|_| Vec::new()).collect();
        loop {
            let mut taken = 0;
            for item in (&mut *items).take(CHUNK) {
                let i = self.inner.dispatch.keyed(&item, n).unwrap_or(0);
                buckets[i].push(item);
                taken += 1;
            }
            if taken == 0 {
                return Ok(());
            }
            for i in 0..n {
                let (bucket, later) = buckets[i..].split_first_mut().expect("i < n");
                if bucket.is_empty() {
                    continue;
                }
                let mut drain = bucket.drain(..);
                if let Err(e) = self.to_lane(i, &mut drain) {
                    let dropped = drain.len() + later.iter().map(Vec::len).sum::<usize>();
                    return Err(dropped_with(e, dropped as u64));
                }
            }
        }
    }
}

/// A batch's error when the pool failed mid-chunk: the items of the chunk it had
/// taken for other workers (or after the failing one) are dropped, and counted on the
/// error as undelivered.
fn dropped_with<T>(e: SendError<T>, dropped: u64) -> SendError<T> {
    if dropped == 0 {
        return e;
    }
    let (item, error) = e.into_parts();
    let message = format!(
        "{}; {dropped} more items of this batch, already sorted to their workers, were dropped",
        error
            .message()
            .map_or_else(|| error.to_string(), str::to_owned)
    );
    let error = Error::new(error.kind(), message).with_undelivered(dropped);
    match item {
        Some(item) => SendError::new(item, error),
        None => SendError::lost(error),
    }
}

impl<T> Clone for Pool<T> {
    fn clone(&self) -> Self {
        self.inner.handles.fetch_add(1, Ordering::Relaxed);
        Pool {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Drop for Pool<T> {
    fn drop(&mut self) {
        if self.inner.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            let _ = self.close_all();
        }
    }
}

impl<T> Pool<T> {
    fn close_all(&self) -> Result<(), Error> {
        let mut outcome = self.inner.outcome.lock();
        if let Some(done) = &*outcome {
            return done.clone();
        }
        self.inner.closed.store(true, Ordering::Release);
        let mut failed = Vec::new();
        for (i, lane) in self.inner.lanes.iter().enumerate() {
            if let Err(e) = lane.slot.lock().close(&self.inner.sup) {
                failed.push((i, e));
            }
        }
        let done = self.inner.sup.outcome(failed);
        *outcome = Some(done.clone());
        done
    }
}

/// The pool's contract, for the whole: every item whose send returned `Ok` was taken
/// by a worker; `close` closes every worker once, after its items, and returns the
/// combined outcome. A worker's failure is restarted under the policy or, past it,
/// fails the pool: later sends return that error with the item back.
impl<T: Send + 'static> Consumer<T> for Pool<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        if self.closed() {
            return Err(SendError::closed(item));
        }
        let i = match self.inner.dispatch.keyed(&item, self.inner.lanes.len()) {
            Some(i) => i,
            None => least_loaded(self.inner.lanes.iter().map(|l| &l.load)),
        };
        self.to_lane(i, &mut iter::once(item))
    }

    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        if self.inner.dispatch.is_keyed() {
            if self.closed() {
                return items.next().map_or(Ok(()), |i| Err(SendError::closed(i)));
            }
            return self.keyed_batch(items);
        }
        if self.closed() {
            return items.next().map_or(Ok(()), |i| Err(SendError::closed(i)));
        }
        self.spread_batch(items)
    }

    /// Flushes every worker; the first error, after trying them all.
    fn flush(&mut self) -> Result<(), Error> {
        let mut first = Ok(());
        for lane in self.inner.lanes.iter() {
            let r = lane.slot.lock().flush();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// Closes every worker, each once, after the items it accepted; the combined
    /// outcome. Again: the same outcome.
    fn close(&mut self) -> Result<(), Error> {
        self.close_all()
    }
}
