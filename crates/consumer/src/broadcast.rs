//! Dispatch: one stream of items to many consumers (the notes' "Dispatching" and the
//! `register`/`unregister` set of their `ProducerThread`).

use std::fmt;

use crate::{Consumer, Error, SendError};

/// Identifies a consumer registered with a [`Broadcast`], for
/// [`unregister`](Broadcast::unregister).
///
/// ```
/// let mut b = consumer::Broadcast::<u8>::new();
/// let (k1, k2) = (b.register(Vec::new()), b.register(Vec::new()));
/// assert_ne!(k1, k2); // each registration gets its own key
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(u64);

type Target<T> = Box<dyn Consumer<T> + Send>;

/// A consumer that sends a clone of every item to each registered consumer, in the
/// order they were registered; `close` closes them all, in that order.
///
/// A `Broadcast` is itself a consumer, so it can be run by any runner, registered
/// with another `Broadcast`, or sit at any stage of a pipeline. Its targets can be
/// runner handles, so one stream can feed a thread and a task at once.
///
/// # Failures
///
/// A target that fails does not stop the others: the item is offered to every
/// target, and if any refused it, `send` returns the first error (with the item
/// back), naming how many targets failed. A failed target stays registered until you
/// [`unregister`](Broadcast::unregister) it. `close` closes every target and returns
/// the first error.
///
/// With no targets, `send` succeeds and the item is dropped, as a producer with no
/// subscribers would.
///
/// # Batches
///
/// `send_all` and [`send_batch`](Consumer::send_batch) offer each item to every
/// target before taking the next one: a batch reaches the targets item by item, not
/// as a batch. Handing each target the whole batch would need the items gathered
/// first (taking items past a failure from the caller's iterator), and one target
/// would receive items after the one another target refused — breaking `send_all`'s
/// "items after the failing one were not sent". Register a
/// [`Shared`](crate::Shared) or a runner per target and batch upstream when that
/// matters.
///
/// # Examples
///
/// ```
/// use consumer::{Broadcast, Consumer, Inline};
///
/// let a = Inline::new(Vec::new()).shared();
/// let b = Inline::new(Vec::new()).shared();
/// let mut all = Broadcast::new();
/// all.register(a.clone());
/// let kb = all.register(b.clone());
/// all.send(1)?;
/// all.unregister(kb);
/// all.send(2)?;
/// all.close()?;
/// assert_eq!(a.with(|v| v.clone()), vec![1, 2]);
/// assert_eq!(b.with(|v| v.clone()), vec![1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Broadcast<T> {
    targets: Vec<(Key, Target<T>)>,
    next_key: u64,
    closed: bool,
}

impl<T> Broadcast<T> {
    /// A broadcast with no targets.
    ///
    /// ```
    /// assert!(consumer::Broadcast::<u8>::new().is_empty());
    /// ```
    pub fn new() -> Broadcast<T> {
        Broadcast {
            targets: Vec::new(),
            next_key: 0,
            closed: false,
        }
    }

    /// Adds a target; items sent from now on reach it too.
    ///
    /// ```
    /// use consumer::{Broadcast, Consumer, Inline};
    ///
    /// let seen = Inline::new(Vec::new()).shared();
    /// let mut b = Broadcast::new();
    /// b.send(1)?; // no targets yet: dropped
    /// b.register(seen.clone());
    /// b.send(2)?;
    /// assert_eq!(seen.with(|v| v.clone()), [2]);
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn register<C: Consumer<T> + Send + 'static>(&mut self, consumer: C) -> Key {
        let key = Key(self.next_key);
        self.next_key += 1;
        self.targets.push((key, Box::new(consumer)));
        key
    }

    /// Removes a target and hands it back, unclosed; `None` if `key` is not registered.
    ///
    /// ```
    /// use consumer::{Broadcast, Consumer};
    ///
    /// let mut b = Broadcast::new();
    /// let key = b.register(Vec::new());
    /// let mut gone = b.unregister(key).expect("registered");
    /// gone.send(1)?; // still open: unregistering does not close it
    /// assert!(b.unregister(key).is_none());
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn unregister(&mut self, key: Key) -> Option<Box<dyn Consumer<T> + Send>> {
        let at = self.targets.iter().position(|(k, _)| *k == key)?;
        Some(self.targets.remove(at).1)
    }

    /// How many targets are registered.
    ///
    /// ```
    /// let mut b = consumer::Broadcast::<u8>::new();
    /// b.register(Vec::new());
    /// assert_eq!(b.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Are there no targets?
    ///
    /// ```
    /// let mut b = consumer::Broadcast::<u8>::new();
    /// let key = b.register(Vec::new());
    /// b.unregister(key);
    /// assert!(b.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}

impl<T> Default for Broadcast<T> {
    fn default() -> Self {
        Broadcast::new()
    }
}

impl<T: Clone> Consumer<T> for Broadcast<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        if self.closed {
            return Err(SendError::closed(item));
        }
        let mut first: Option<Error> = None;
        let mut failed = 0;
        for (_, target) in &mut self.targets {
            if let Err(e) = target.send(item.clone()) {
                failed += 1;
                first.get_or_insert(e.into_error());
            }
        }
        match first {
            None => Ok(()),
            Some(e) => {
                let of = self.targets.len();
                let first = e.message().map_or_else(|| e.to_string(), str::to_owned);
                let message = format!("{failed} of {of} targets failed; first: {first}");
                Err(SendError::new(item, e.with_message(message)))
            }
        }
    }

    fn close(&mut self) -> Result<(), Error> {
        if self.closed {
            return Ok(());
        }
        self.closed = true;
        first_error(self.targets.iter_mut().map(|(_, t)| t.close()))
    }

    fn flush(&mut self) -> Result<(), Error> {
        first_error(self.targets.iter_mut().map(|(_, t)| t.flush()))
    }
}

/// Runs every operation (none is skipped after a failure) and keeps the first error.
fn first_error(results: impl Iterator<Item = Result<(), Error>>) -> Result<(), Error> {
    let mut first = Ok(());
    for r in results {
        if first.is_ok() {
            first = r;
        }
    }
    first
}

impl<T> fmt::Debug for Broadcast<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.targets.iter().map(|(_, t)| t.name()).collect();
        f.debug_struct("Broadcast")
            .field("targets", &names)
            .field("closed", &self.closed)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Inline;

    #[test]
    fn one_failing_target_does_not_starve_the_others() {
        let good = Inline::new(Vec::new()).shared();
        let mut dead = Inline::new(Vec::new()).shared();
        dead.close().unwrap();
        let mut b = Broadcast::new();
        b.register(dead.clone());
        b.register(good.clone());
        let e = b.send(5).unwrap_err();
        assert!(e.error().is_closed());
        assert!(
            e.error().to_string().contains("1 of 2 targets failed"),
            "{e}"
        );
        assert_eq!(e.into_item(), Some(5));
        assert_eq!(good.with(|v| v.clone()), vec![5]);
    }

    #[test]
    fn close_cascades_in_order_and_send_after_close_fails() {
        let order = Inline::new(Vec::new()).shared();
        let mut b: Broadcast<u8> = Broadcast::new();
        for name in ["first", "second"] {
            let mut log = order.clone();
            b.register(
                crate::from_fn(|_: u8| {}).on_close(move || log.send(name).map_err(Error::from)),
            );
        }
        b.close().unwrap();
        b.close().unwrap();
        assert_eq!(order.with(|v| v.clone()), vec!["first", "second"]);
        assert_eq!(b.send(1).unwrap_err().into_item(), Some(1));
    }

    #[test]
    fn no_targets_is_a_successful_send_and_unregister_unknown_is_none() {
        let mut b = Broadcast::new();
        assert!(b.is_empty());
        b.send(1).unwrap();
        let k = b.register(Vec::new());
        assert_eq!(b.len(), 1);
        assert!(b.unregister(k).is_some());
        assert!(b.unregister(k).is_none());
    }
}
