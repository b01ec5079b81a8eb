//! Consumers made from closures.

use std::fmt;

use crate::{Consumer, Error, SendError};

/// A consumer that calls `f` for each item (and `on_close`'s closure once at the end).
///
/// Made by [`from_fn`] and [`try_from_fn`].
///
/// ```
/// use consumer::{Consumer, from_fn};
///
/// let (mut lines, mut closed) = (Vec::new(), false);
/// let mut c = from_fn(|s: &str| lines.push(s.to_uppercase())).on_close(|| {
///     closed = true;
///     Ok(())
/// });
/// c.send_all(["a", "b"])?;
/// c.close()?;
/// drop(c);
/// assert_eq!((lines, closed), (vec!["A".to_owned(), "B".to_owned()], true));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FromFn<F, G = fn() -> Result<(), Error>> {
    send: F,
    close: G,
}

fn nothing() -> Result<(), Error> {
    Ok(())
}

/// A consumer from an infallible closure.
///
/// ```
/// use consumer::{from_fn, Consumer};
///
/// let mut total = 0;
/// let mut c = from_fn(|n: u32| total += n);
/// c.send_all([1, 2, 3])?;
/// c.close()?;
/// drop(c);
/// assert_eq!(total, 6);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn from_fn<T, F: FnMut(T)>(f: F) -> FromFn<impl FnMut(T) -> Result<(), SendError<T>>> {
    let mut f = f;
    FromFn {
        send: move |item| {
            f(item);
            Ok(())
        },
        close: nothing as fn() -> Result<(), Error>,
    }
}

/// A consumer from a fallible closure. An error means the closure took the item and
/// failed with it, so the [`SendError`] carries no item.
///
/// ```
/// use consumer::{try_from_fn, Consumer, Error, ErrorKind};
///
/// let mut c = try_from_fn(|n: i32| {
///     if n < 0 { Err(Error::new(ErrorKind::Other, "negative")) } else { Ok(()) }
/// });
/// assert!(c.send(1).is_ok());
/// assert_eq!(c.send(-1).unwrap_err().kind(), ErrorKind::Other);
/// ```
pub fn try_from_fn<T, F>(f: F) -> FromFn<impl FnMut(T) -> Result<(), SendError<T>>>
where
    F: FnMut(T) -> Result<(), Error>,
{
    let mut f = f;
    FromFn {
        send: move |item| f(item).map_err(SendError::lost),
        close: nothing as fn() -> Result<(), Error>,
    }
}

impl<F> FromFn<F> {
    /// Runs `g` when the consumer is closed.
    ///
    /// ```
    /// use consumer::{from_fn, Consumer, Inline};
    ///
    /// let log = std::cell::RefCell::new(Vec::new());
    /// let countdown = from_fn(|n: u32| log.borrow_mut().push(format!("T-minus {n}")));
    /// let mut c = Inline::new(countdown.on_close(|| {
    ///     log.borrow_mut().push("Kaboom!".to_owned());
    ///     Ok(())
    /// }));
    /// c.send(1)?;
    /// c.close()?;
    /// drop(c);
    /// assert_eq!(log.into_inner(), ["T-minus 1", "Kaboom!"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_close<G: FnMut() -> Result<(), Error>>(self, g: G) -> FromFn<F, G> {
        FromFn {
            send: self.send,
            close: g,
        }
    }
}

impl<T, F, G> Consumer<T> for FromFn<F, G>
where
    F: FnMut(T) -> Result<(), SendError<T>>,
    G: FnMut() -> Result<(), Error>,
{
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        (self.send)(item)
    }
    fn close(&mut self) -> Result<(), Error> {
        (self.close)()
    }
    fn name(&self) -> &str {
        "from_fn"
    }
}

impl<F, G> fmt::Debug for FromFn<F, G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FromFn").finish_non_exhaustive()
    }
}
