//! `Dispatch`: which worker an item goes to — the least loaded, or the one its key
//! names.

use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};

type KeyFn<T> = Arc<dyn Fn(&T) -> u64 + Send + Sync>;

/// How a [`Pool`](crate::Pool) picks a worker for each item.
///
/// - [`least_loaded`](Dispatch::least_loaded) (the default): the worker with the
///   fewest producers in or waiting on its send, then the one that was given the
///   fewest items. A worker whose mailbox is full blocks the send that reached it, so
///   it counts as loaded and the next items go elsewhere. No order between items.
/// - [`by_key`](Dispatch::by_key): items with equal keys go to the same worker, so
///   each producer's items of one key arrive in the order sent — Kafka's partitions.
///   A hot key loads one worker.
///
/// The pool sees a worker only through its handle (any runner, any process), so
/// "load" is what a handle shows: a send that does not return.
///
/// ```
/// use consumer_pool::Dispatch;
///
/// let by_user = Dispatch::by_key(|order: &(u32, String)| order.0);
/// assert_eq!(format!("{by_user:?}"), "Dispatch::ByKey");
/// assert_eq!(format!("{:?}", Dispatch::<u8>::least_loaded()), "Dispatch::LeastLoaded");
/// ```
pub struct Dispatch<T> {
    key: Option<KeyFn<T>>,
}

impl<T> Clone for Dispatch<T> {
    fn clone(&self) -> Self {
        Dispatch {
            key: self.key.clone(),
        }
    }
}

impl<T> fmt::Debug for Dispatch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.key {
            None => "Dispatch::LeastLoaded",
            Some(_) => "Dispatch::ByKey",
        })
    }
}

impl<T> Default for Dispatch<T> {
    fn default() -> Self {
        Dispatch::least_loaded()
    }
}

impl<T> Dispatch<T> {
    /// Each item to the least loaded worker.
    ///
    /// ```
    /// let d = consumer_pool::Dispatch::<u64>::least_loaded();
    /// # let _ = d;
    /// ```
    pub fn least_loaded() -> Dispatch<T> {
        Dispatch { key: None }
    }

    /// Each item to the worker its key names: `key(&item)`, hashed. Equal keys, same
    /// worker, in order.
    ///
    /// ```
    /// // Orders of one customer stay in order; customers spread over the workers.
    /// let d = consumer_pool::Dispatch::by_key(|o: &(u64, f64)| o.0);
    /// # let _ = d;
    /// ```
    pub fn by_key<K, F>(key: F) -> Dispatch<T>
    where
        K: Hash,
        F: Fn(&T) -> K + Send + Sync + 'static,
    {
        Dispatch {
            key: Some(Arc::new(move |item| {
                let mut h = DefaultHasher::new();
                key(item).hash(&mut h);
                h.finish()
            })),
        }
    }

    /// The worker (out of `n`) that `item`'s key names; `None` when not keyed.
    pub(crate) fn keyed(&self, item: &T, n: usize) -> Option<usize> {
        self.key.as_ref().map(|key| (key(item) % n as u64) as usize)
    }

    pub(crate) fn is_keyed(&self) -> bool {
        self.key.is_some()
    }
}

/// What least-loaded dispatch reads of one worker, without its lock.
#[derive(Debug, Default)]
pub(crate) struct Load {
    /// Producers in or waiting on this worker's send.
    busy: AtomicUsize,
    /// Items given to this worker.
    given: AtomicU64,
}

impl Load {
    /// Marks a producer in or waiting on the send until the guard drops.
    pub(crate) fn enter(&self) -> Busy<'_> {
        self.busy.fetch_add(1, Relaxed);
        Busy(self)
    }

    pub(crate) fn gave(&self, n: u64) {
        self.given.fetch_add(n, Relaxed);
    }

    fn key(&self) -> (usize, u64) {
        (self.busy.load(Relaxed), self.given.load(Relaxed))
    }
}

/// A producer in a worker's send (see [`Load::enter`]).
#[derive(Debug)]
pub(crate) struct Busy<'a>(&'a Load);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Relaxed);
    }
}

/// The least loaded of `loads`: fewest busy, then fewest given.
pub(crate) fn least_loaded<'a>(loads: impl Iterator<Item = &'a Load>) -> usize {
    loads
        .enumerate()
        .min_by_key(|(_, l)| l.key())
        .map_or(0, |(i, _)| i)
}
