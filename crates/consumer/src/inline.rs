//! The in-line runner: the contract without a thread.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{Consumer, Error, SendError};

/// Where a run stands.
#[derive(Debug)]
enum State {
    Open,
    /// The consumer's `send` returned this error; its `close` is still owed.
    Failed(Error),
    /// Closed, or panicked (the consumer is not called again); `close` returns this.
    Done(Result<(), Error>),
}

/// Runs a consumer in the caller's thread and enforces the
/// [lifecycle contract](Consumer#the-lifecycle-contract): send after close is an error
/// with the item back, the consumer's `close` runs once, and a panic in the consumer
/// becomes an [`ErrorKind::Panicked`](crate::ErrorKind::Panicked) error instead of
/// unwinding into the caller.
///
/// Dropping an `Inline` that was not closed closes it. To share one between threads,
/// see [`Inline::shared`].
///
/// # Examples
///
/// ```
/// use consumer::{Consumer, ErrorKind, Inline, from_fn};
///
/// let mut c = Inline::new(from_fn(|n: u32| if n == 3 { panic!("three") }));
/// c.send(1)?;
/// let e = c.send(3).unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Panicked);
/// assert_eq!(c.send(4).unwrap_err().into_item(), Some(4));
/// assert_eq!(c.close().unwrap_err().message(), Some("three"));
/// # Ok::<(), consumer::SendError<u32>>(())
/// ```
pub struct Inline<C> {
    consumer: Option<C>,
    state: State,
    /// `<C as Consumer<T>>::close`, captured by `new` where `T` is known, so that
    /// `Drop` (which cannot name `T`) can close too.
    closer: fn(&mut C) -> Result<(), Error>,
}

impl<C> Inline<C> {
    /// Wraps `consumer`; nothing runs until the first `send`.
    ///
    /// `T` is inferred from the consumer's one `Consumer` impl; a type that consumes
    /// several item types needs it named: `Inline::new::<u32>(c)`.
    ///
    /// ```
    /// use consumer::{Consumer, Inline};
    ///
    /// let mut c = Inline::new(Vec::new());
    /// c.send('a')?;
    /// assert_eq!(c.get_ref(), &['a']);
    /// # Ok::<(), consumer::SendError<char>>(())
    /// ```
    pub fn new<T>(consumer: C) -> Inline<C>
    where
        C: Consumer<T>,
    {
        Inline {
            consumer: Some(consumer),
            state: State::Open,
            closer: <C as Consumer<T>>::close,
        }
    }

    /// Has `close` been called (or did the consumer panic)?
    ///
    /// ```
    /// use consumer::{Consumer, Inline};
    ///
    /// let mut c = Inline::new(Vec::<u8>::new());
    /// assert!(!c.is_finished());
    /// c.close()?;
    /// assert!(c.is_finished());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done(_))
    }

    /// The consumer, to read its state.
    ///
    /// ```
    /// use consumer::{Consumer, Inline};
    ///
    /// let mut c = Inline::new(Vec::new());
    /// c.send_all([1, 2])?;
    /// assert_eq!(c.get_ref().len(), 2);
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn get_ref(&self) -> &C {
        self.consumer
            .as_ref()
            .expect("the consumer is only taken by into_inner")
    }

    /// Takes the consumer back *without* closing it.
    ///
    /// ```
    /// use consumer::{Consumer, Inline};
    ///
    /// let mut c = Inline::new(Vec::new());
    /// c.send(1)?;
    /// assert_eq!(c.into_inner(), [1]);
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn into_inner(mut self) -> C {
        self.state = State::Done(Ok(()));
        self.consumer
            .take()
            .expect("the consumer is only taken by into_inner")
    }

    /// Makes this runner shareable between threads: see [`Shared`].
    ///
    /// ```
    /// use consumer::{Consumer, Inline};
    ///
    /// let log = Inline::new(Vec::new()).shared();
    /// let mut other = log.clone();
    /// std::thread::spawn(move || other.send("from a thread")).join().unwrap()?;
    /// assert_eq!(log.with(|v| v.clone()), ["from a thread"]);
    /// # Ok::<(), consumer::SendError<&str>>(())
    /// ```
    pub fn shared(self) -> Shared<C> {
        Shared {
            inner: Arc::new(Mutex::new(self)),
        }
    }

    fn consumer(&mut self) -> &mut C {
        self.consumer
            .as_mut()
            .expect("the consumer is only taken by into_inner")
    }

    /// Closes once: later calls return the stored outcome.
    fn finish(&mut self) -> Result<(), Error> {
        let failure = match &self.state {
            State::Done(outcome) => return outcome.clone(),
            State::Failed(e) => Some(e.clone()),
            State::Open => None,
        };
        let closer = self.closer;
        let consumer = self.consumer();
        let closed = match catch_unwind(AssertUnwindSafe(|| closer(consumer))) {
            Ok(r) => r,
            Err(payload) => Err(Error::from_panic(payload.as_ref(), 0)),
        };
        let outcome = match failure {
            Some(e) => Err(e),
            None => closed,
        };
        self.state = State::Done(outcome.clone());
        outcome
    }
}

impl<C> Inline<C> {
    /// The error for a send refused by the state, or `None` while open.
    fn refusal(&self) -> Option<Error> {
        match &self.state {
            State::Open => None,
            State::Failed(e) | State::Done(Err(e)) => Some(e.clone()),
            State::Done(Ok(())) => Some(Error::from(crate::ErrorKind::Closed)),
        }
    }

    /// Records what a call into the consumer (under `catch_unwind`) came to.
    fn settle<T>(
        &mut self,
        outcome: std::thread::Result<Result<(), SendError<T>>>,
    ) -> Result<(), SendError<T>> {
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                // In-line, nothing waits behind the failing item, unless the consumer
                // is itself a runner's handle that says what was waiting in it.
                let error = e.error().clone();
                self.state = State::Failed(match error.undelivered() {
                    Some(_) => error,
                    None => error.with_undelivered(0),
                });
                Err(e)
            }
            Err(payload) => {
                let e = Error::from_panic(payload.as_ref(), 0);
                self.state = State::Done(Err(e.clone()));
                Err(SendError::lost(e))
            }
        }
    }

    /// A batch: the consumer's `send_all` with the contract around it. The iterator is
    /// the producer's code, run inside the consumer's call: a panic in it must not be
    /// taken for the consumer's, so [`Guarded`] catches it, ends the batch there, and
    /// it is resumed in the producer once the consumer has returned.
    fn send_iter<T, I>(&mut self, mut items: I) -> Result<(), SendError<T>>
    where
        C: Consumer<T>,
        I: Iterator<Item = T>,
    {
        if let Some(e) = self.refusal() {
            return match items.next() {
                Some(item) => Err(SendError::new(item, e)),
                None => Ok(()),
            };
        }
        let mut producer_panic = None;
        let guarded = Guarded {
            items,
            panic: &mut producer_panic,
        };
        let consumer = self.consumer();
        let outcome = catch_unwind(AssertUnwindSafe(|| consumer.send_all(guarded)));
        let sent = self.settle(outcome);
        if let Some(payload) = producer_panic {
            resume_unwind(payload);
        }
        sent
    }
}

/// The producer's iterator as the consumer sees it in a batch: a panic in `next`
/// ends the batch and is kept for [`Inline::send_iter`] to resume.
struct Guarded<'a, I> {
    items: I,
    panic: &'a mut Option<Box<dyn Any + Send>>,
}

impl<I: Iterator> Iterator for Guarded<'_, I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        if self.panic.is_some() {
            return None;
        }
        match catch_unwind(AssertUnwindSafe(|| self.items.next())) {
            Ok(item) => item,
            Err(payload) => {
                *self.panic = Some(payload);
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.panic.is_some() {
            (0, Some(0))
        } else {
            self.items.size_hint()
        }
    }
}

impl<T, C: Consumer<T>> Consumer<T> for Inline<C> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        if let Some(e) = self.refusal() {
            return Err(SendError::new(item, e));
        }
        let consumer = self.consumer();
        let outcome = catch_unwind(AssertUnwindSafe(|| consumer.send(item)));
        self.settle(outcome)
    }

    /// One batch to the consumer's own `send_all` (so its batch path), with the
    /// contract as for `send`: a failure stops the run, a panic is reported, not
    /// unwound; a panic in the *iterator* is the producer's and unwinds into it.
    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        self.send_iter(items.into_iter())
    }

    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.send_iter(items)
    }

    fn close(&mut self) -> Result<(), Error> {
        self.finish()
    }

    fn flush(&mut self) -> Result<(), Error> {
        match &self.state {
            State::Open => self.consumer().flush(),
            State::Failed(e) | State::Done(Err(e)) => Err(e.clone()),
            State::Done(Ok(())) => Err(Error::from(crate::ErrorKind::Closed)),
        }
    }

    fn name(&self) -> &str {
        self.get_ref().name()
    }
}

impl<C> Drop for Inline<C> {
    fn drop(&mut self) {
        // The outcome is the caller's to see through `close`; dropping cannot report it.
        let _ = self.finish();
    }
}

impl<C: fmt::Debug> fmt::Debug for Inline<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inline")
            .field("consumer", &self.consumer)
            .field("state", &self.state)
            .finish()
    }
}

/// An [`Inline`] runner that many threads can send to: a `Clone` handle around a
/// mutex. Each `send` runs the consumer in the sending thread, one sender at a time.
///
/// `close` through any clone closes the consumer for all of them; dropping the last
/// clone closes it too. This is the notes' "protect shared state with a Lock", applied
/// to a whole consumer.
///
/// # Examples
///
/// ```
/// use consumer::{Consumer, Inline};
///
/// let total = Inline::new(Vec::new()).shared();
/// let workers: Vec<_> = (0..4)
///     .map(|t| {
///         let mut c = total.clone();
///         std::thread::spawn(move || c.send_all((0..100).map(|i| t * 100 + i)))
///     })
///     .collect();
/// for w in workers {
///     w.join().unwrap()?;
/// }
/// assert_eq!(total.with(|v| v.len()), 400);
/// # Ok::<(), consumer::SendError<i32>>(())
/// ```
pub struct Shared<C> {
    inner: Arc<Mutex<Inline<C>>>,
}

impl<C> Shared<C> {
    /// Calls `f` with the consumer, to read its state.
    ///
    /// ```
    /// use consumer::{Consumer, Inline};
    ///
    /// let mut total = Inline::new(Vec::new()).shared();
    /// total.send_all([1, 2, 3])?;
    /// assert_eq!(total.with(|v| v.iter().sum::<i32>()), 6);
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    pub fn with<R>(&self, f: impl FnOnce(&C) -> R) -> R {
        f(self.lock().get_ref())
    }

    /// Has the consumer been closed (or did it panic)?
    ///
    /// ```
    /// use consumer::{Consumer, Inline};
    ///
    /// let a = Inline::new(Vec::<u8>::new()).shared();
    /// let mut b = a.clone();
    /// b.close()?; // through any clone
    /// assert!(a.is_finished());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.lock().is_finished()
    }

    fn lock(&self) -> MutexGuard<'_, Inline<C>> {
        // `Inline` catches the consumer's panics, so the lock is never poisoned by them;
        // should it be, the state inside is still consistent.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<C> Clone for Shared<C> {
    fn clone(&self) -> Self {
        Shared {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T, C: Consumer<T>> Consumer<T> for Shared<C> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.lock().send(item)
    }
    fn close(&mut self) -> Result<(), Error> {
        self.lock().close()
    }
    fn flush(&mut self) -> Result<(), Error> {
        Consumer::<T>::flush(&mut *self.lock())
    }
    /// One lock for the whole batch, which reaches the consumer as one batch.
    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        self.lock().send_all(items)
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.lock().send_batch(items)
    }
    fn name(&self) -> &str {
        // The name cannot borrow through the lock; the type's name serves.
        crate::short_type_name::<C>()
    }
}

impl<C: fmt::Debug> fmt::Debug for Shared<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Shared").field(&*self.lock()).finish()
    }
}
