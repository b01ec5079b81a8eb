//! Push-side adapters: they transform or select items *before* they reach the consumer
//! they wrap, and pass `close` and `flush` straight through.
//!
//! A batch stays a batch: each adapter's `send_all` and `send_batch` hand the wrapped
//! consumer one lazily adapted iterator through *its* `send_all`, so whichever batch
//! path it has (its own `send_all`, or `send_batch`) gets the whole batch.

use std::fmt;

use crate::{Consumer, Error, SendError};

/// Adapter methods for every [`Consumer`]. Each returns a new consumer that wraps
/// `self`; closing it closes `self`.
///
/// ```
/// use consumer::{Consumer, ConsumerExt};
///
/// let mut out = Vec::new();
/// let mut c = (&mut out)
///     .map(|n: u32| n * 10)
///     .filter(|n: &u32| n % 2 == 0);
/// c.send_all(1..=6)?;
/// c.close()?;
/// assert_eq!(out, [20, 40, 60]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Adapters read outside in: in `c.filter(p).map(f)`, the item goes through `f`
/// first, then `p`, then reaches `c`.
pub trait ConsumerExt<T>: Consumer<T> + Sized {
    /// Applies `f` to each item, then sends the result to `self`.
    ///
    /// When `self` refuses the transformed item, the error carries no item: the
    /// caller's item no longer exists.
    ///
    /// ```
    /// use consumer::{Consumer, ConsumerExt};
    ///
    /// let mut lens = Vec::new();
    /// (&mut lens).map(|s: &str| s.len()).send("four")?;
    /// assert_eq!(lens, [4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn map<U, F: FnMut(U) -> T>(self, f: F) -> Map<Self, F> {
        Map { inner: self, f }
    }

    /// Sends on only the items for which `pred` is true; the others are dropped
    /// (a successful send).
    ///
    /// ```
    /// use consumer::{Consumer, ConsumerExt};
    ///
    /// let mut big = Vec::new();
    /// (&mut big).filter(|n: &i32| *n > 2).send_all([1, 5, 2, 7])?;
    /// assert_eq!(big, [5, 7]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn filter<F: FnMut(&T) -> bool>(self, pred: F) -> Filter<Self, F> {
        Filter { inner: self, pred }
    }

    /// Applies `f` and sends on the `Some` results.
    ///
    /// ```
    /// use consumer::{Consumer, ConsumerExt};
    ///
    /// let mut nums = Vec::new();
    /// (&mut nums).filter_map(|s: &str| s.parse::<u8>().ok()).send_all(["1", "x", "3"])?;
    /// assert_eq!(nums, [1, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn filter_map<U, F: FnMut(U) -> Option<T>>(self, f: F) -> FilterMap<Self, F> {
        FilterMap { inner: self, f }
    }

    /// Calls `f` with a reference to each item on its way through.
    ///
    /// ```
    /// use consumer::{Consumer, ConsumerExt};
    ///
    /// let (mut seen, mut out) = (0, Vec::new());
    /// (&mut out).inspect(|_: &char| seen += 1).send_all("abc".chars())?;
    /// assert_eq!((seen, out.len()), (3, 3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn inspect<F: FnMut(&T)>(self, f: F) -> Inspect<Self, F> {
        Inspect { inner: self, f }
    }
}

impl<T, C: Consumer<T>> ConsumerExt<T> for C {}

/// Writes the forwarding `close`, `flush` and `name` of an adapter with field `inner`.
macro_rules! forward_lifecycle {
    () => {
        fn close(&mut self) -> Result<(), Error> {
            self.inner.close()
        }
        fn flush(&mut self) -> Result<(), Error> {
            self.inner.flush()
        }
        fn name(&self) -> &str {
            self.inner.name()
        }
    };
}

/// Writes a `Debug` impl that shows the wrapped consumer and hides the closure.
macro_rules! debug_adapter {
    ($name:ident) => {
        impl<C: fmt::Debug, F> fmt::Debug for $name<C, F> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("inner", &self.inner)
                    .finish_non_exhaustive()
            }
        }
    };
}

/// Made by [`ConsumerExt::map`].
///
/// It passes `close` and `flush` through. When the wrapped consumer refuses the
/// transformed item, the error carries no item:
///
/// ```
/// use consumer::{Consumer, ConsumerExt, Inline};
///
/// let mut c = Inline::new(Vec::new()).map(|s: &str| s.len());
/// c.send("abc")?;
/// c.close()?;
/// let refused = c.send("late").unwrap_err();
/// assert!(refused.error().is_closed() && refused.item().is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Map<C, F> {
    inner: C,
    f: F,
}

impl<U, T, C: Consumer<T>, F: FnMut(U) -> T> Consumer<U> for Map<C, F> {
    fn send(&mut self, item: U) -> Result<(), SendError<U>> {
        self.inner
            .send((self.f)(item))
            .map_err(SendError::without_item)
    }
    fn send_all<I: IntoIterator<Item = U>>(&mut self, items: I) -> Result<(), SendError<U>> {
        self.inner
            .send_all(items.into_iter().map(&mut self.f))
            .map_err(SendError::without_item)
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = U>) -> Result<(), SendError<U>> {
        self.send_all(items)
    }
    forward_lifecycle!();
}

/// Made by [`ConsumerExt::filter`].
///
/// A refused item comes back with the error:
///
/// ```
/// use consumer::{Consumer, ConsumerExt, Inline};
///
/// let mut c = Inline::new(Vec::new()).filter(|n: &i32| *n >= 0);
/// c.send(-1)?; // dropped: still a successful send
/// c.close()?;
/// assert_eq!(c.send(4).unwrap_err().into_item(), Some(4));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Filter<C, F> {
    inner: C,
    pred: F,
}

impl<T, C: Consumer<T>, F: FnMut(&T) -> bool> Consumer<T> for Filter<C, F> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        if (self.pred)(&item) {
            self.inner.send(item)
        } else {
            Ok(())
        }
    }
    fn send_all<I: IntoIterator<Item = T>>(&mut self, items: I) -> Result<(), SendError<T>> {
        self.inner
            .send_all(items.into_iter().filter(|item| (self.pred)(item)))
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.send_all(items)
    }
    forward_lifecycle!();
}

/// Made by [`ConsumerExt::filter_map`].
///
/// ```
/// use consumer::{Consumer, ConsumerExt};
///
/// let mut evens = Vec::new();
/// let mut c = (&mut evens).filter_map(|n: u32| (n % 2 == 0).then_some(n / 2));
/// c.send_all(1..=6)?;
/// c.close()?;
/// assert_eq!(evens, [1, 2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FilterMap<C, F> {
    inner: C,
    f: F,
}

impl<U, T, C: Consumer<T>, F: FnMut(U) -> Option<T>> Consumer<U> for FilterMap<C, F> {
    fn send(&mut self, item: U) -> Result<(), SendError<U>> {
        match (self.f)(item) {
            Some(t) => self.inner.send(t).map_err(SendError::without_item),
            None => Ok(()),
        }
    }
    fn send_all<I: IntoIterator<Item = U>>(&mut self, items: I) -> Result<(), SendError<U>> {
        self.inner
            .send_all(items.into_iter().filter_map(&mut self.f))
            .map_err(SendError::without_item)
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = U>) -> Result<(), SendError<U>> {
        self.send_all(items)
    }
    forward_lifecycle!();
}

/// Made by [`ConsumerExt::inspect`].
///
/// ```
/// use consumer::{Consumer, ConsumerExt};
///
/// let mut log = Vec::new();
/// let mut out = Vec::new();
/// (&mut out).inspect(|n: &u8| log.push(format!("saw {n}"))).send_all([1, 2])?;
/// assert_eq!(log, ["saw 1", "saw 2"]);
/// assert_eq!(out, [1, 2]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Inspect<C, F> {
    inner: C,
    f: F,
}

impl<T, C: Consumer<T>, F: FnMut(&T)> Consumer<T> for Inspect<C, F> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        (self.f)(&item);
        self.inner.send(item)
    }
    fn send_all<I: IntoIterator<Item = T>>(&mut self, items: I) -> Result<(), SendError<T>> {
        self.inner.send_all(items.into_iter().inspect(&mut self.f))
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.send_all(items)
    }
    forward_lifecycle!();
}

debug_adapter!(Map);
debug_adapter!(FilterMap);
debug_adapter!(Inspect);
debug_adapter!(Filter);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, Inline};

    #[test]
    fn close_and_flush_pass_through_every_adapter() {
        let mut c = Inline::new(Vec::<u32>::new())
            .map(|n: u32| n + 1)
            .filter(|_: &u32| true)
            .filter_map(Some)
            .inspect(|_: &u32| {});
        c.send(1).unwrap();
        c.flush().unwrap();
        c.close().unwrap();
        let e = c.send(2).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed);
        assert!(
            e.item().is_none(),
            "map and filter_map transformed the item"
        );

        let mut c = Inline::new(Vec::<u32>::new())
            .filter(|_: &u32| true)
            .inspect(|_: &u32| {});
        c.close().unwrap();
        assert_eq!(
            c.send(2).unwrap_err().into_item(),
            Some(2),
            "filter and inspect keep the item"
        );
    }

    #[test]
    fn map_reports_the_error_without_the_transformed_item() {
        let mut inner = Inline::new(Vec::<u32>::new());
        inner.close().unwrap();
        let e = (&mut inner)
            .map(|s: &str| s.len() as u32)
            .send("abc")
            .unwrap_err();
        assert!(e.error().is_closed());
        assert!(e.item().is_none());
    }

    #[test]
    fn adapters_name_the_consumer_they_wrap() {
        let c = Vec::<u8>::new().map(|x: u8| x).inspect(|_: &u8| {});
        assert_eq!(c.name(), "Vec<u8>");
    }
}
