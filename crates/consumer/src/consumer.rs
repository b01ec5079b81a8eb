//! The [`Consumer`] trait, its forwarding impls, and impls for std and crossbeam types.

use crate::{Error, ErrorKind, SendError};

/// Anything you can send items to and then close: the one interface every runner
/// speaks (the notes' "same programming interface (send, close)").
///
/// Implement [`send`](Consumer::send) and, when there is something to finish,
/// [`close`](Consumer::close). Run the value in-line, in a thread, as a task or in
/// another process: its code does not change.
///
/// # The lifecycle contract
///
/// A consumer is *open* until `close` is called, then *closed* for good. Runners
/// ([`Inline`](crate::Inline), the thread, coroutine and process runners) enforce this
/// for every consumer they run, and the conformance suite
/// ([`testing`](crate#the-conformance-suite)) holds each of them to it:
///
/// 1. **Delivery.** Every item whose `send` returned `Ok` reaches the consumer, in the
///    order each sender sent them, before the consumer's own `close` runs.
/// 2. **Close once.** The consumer's `close` runs exactly once. Calling a runner's
///    `close` again has no effect and returns the same outcome.
/// 3. **Close waits.** A runner's `close` returns only after the consumer's `close`
///    has finished, with its result (or the failure that ended the run).
/// 4. **Send after close** returns an error of kind [`Closed`](ErrorKind::Closed) that
///    hands the item back.
/// 5. **Failure.** When the consumer's `send` returns an error or panics, the runner
///    stops delivering. Later sends return that error with the item back, and `close`
///    returns it too, counting [`undelivered`](Error::undelivered) items. After an
///    error the consumer's `close` still runs (its state is intact), at the latest when
///    the runner is closed — a runner may run it as soon as it stops; after a panic it
///    does not, and the consumer is never called again. A panic never crosses into a
///    producer's thread.
/// 6. **Drop.** Dropping the last handle of a runner without calling `close` closes it
///    as `close` would, ignoring the outcome, and waits for that close — except where
///    waiting could deadlock (on an async runtime's own thread), where a runner may
///    start the close without waiting and must say so. Call `close` to see the outcome.
///    A runner may also offer an explicit opt-out (a *daemon*), documented as such.
///
/// A plain value used directly (a `Vec`, a closure, your own struct) is just a method
/// call: it keeps whatever promises its own code keeps. Wrap it in
/// [`Inline`](crate::Inline) to get the contract without a thread.
///
/// # Examples
///
/// The notes' `Countdown`, in Rust:
///
/// ```
/// use consumer::{Consumer, Error, SendError};
///
/// struct Countdown;
///
/// impl Consumer<u32> for Countdown {
///     fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
///         println!("T-minus {n}");
///         Ok(())
///     }
///     fn close(&mut self) -> Result<(), Error> {
///         println!("Kaboom!");
///         Ok(())
///     }
/// }
///
/// let mut c = Countdown;
/// c.send(10)?;
/// c.send(9)?;
/// c.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A `send` that does I/O writes `?` through [`or_item`](crate::ResultExt::or_item),
/// which hands the item back with the error (format arguments only borrow it):
///
/// ```
/// use consumer::{Consumer, ResultExt as _, SendError};
/// use std::io::Write;
///
/// struct Log(Vec<u8>);
///
/// impl Consumer<String> for Log {
///     fn send(&mut self, line: String) -> Result<(), SendError<String>> {
///         writeln!(self.0, "{line}").or_item(line)?;
///         Ok(())
///     }
/// }
///
/// let mut log = Log(Vec::new());
/// log.send("started".into())?;
/// assert_eq!(log.0, b"started\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Consumer<T> {
    /// Delivers one item.
    ///
    /// On failure the error hands the item back when it still exists
    /// ([`SendError::into_item`]).
    ///
    /// ```
    /// use consumer::{Consumer, Inline};
    ///
    /// let mut c = Inline::new(Vec::new());
    /// c.send(1)?;
    /// c.close()?;
    /// assert_eq!(c.send(2).unwrap_err().into_item(), Some(2)); // closed: here it is back
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn send(&mut self, item: T) -> Result<(), SendError<T>>;

    /// No more items: finish up. Called once, after every item.
    ///
    /// The default does nothing.
    ///
    /// ```
    /// use consumer::{Consumer, Inline, from_fn};
    ///
    /// let mut closes = 0;
    /// let mut c = Inline::new(from_fn(|_: u8| {}).on_close(|| {
    ///     closes += 1;
    ///     Ok(())
    /// }));
    /// c.close()?;
    /// c.close()?; // a runner runs the consumer's close once
    /// drop(c);
    /// assert_eq!(closes, 1);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    fn close(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Pushes items that are buffered on their way (by a batching writer, say) towards
    /// the consumer, without closing. The default does nothing.
    ///
    /// A batching consumer overrides it to hand on what it holds:
    ///
    /// ```
    /// use consumer::{Consumer, Error, SendError};
    ///
    /// struct Batches { buf: Vec<u8>, out: Vec<Vec<u8>> }
    /// impl Consumer<u8> for Batches {
    ///     fn send(&mut self, n: u8) -> Result<(), SendError<u8>> { self.buf.push(n); Ok(()) }
    ///     fn flush(&mut self) -> Result<(), Error> { self.out.push(std::mem::take(&mut self.buf)); Ok(()) }
    /// }
    /// let mut b = Batches { buf: Vec::new(), out: Vec::new() };
    /// b.send_all([1, 2])?;
    /// b.flush()?;
    /// assert_eq!(b.out, [vec![1, 2]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn flush(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Sends every item of `items` in order, stopping at the first failure, whose error
    /// hands that item back. Runners override this to move a batch at the cost of one
    /// send.
    ///
    /// Items after the failing one are not taken from the iterator: pass
    /// `iter.by_ref()` to keep them.
    ///
    /// The default hands the items to [`send_batch`](Consumer::send_batch), so a
    /// consumer that batches there batches here too. Override `send_all` as well only
    /// to spare the direct caller the dynamic call per item.
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// let mut v = Vec::new();
    /// v.send_all(1..=3)?;
    /// assert_eq!(v, [1, 2, 3]);
    /// # Ok::<(), consumer::SendError<i32>>(())
    /// ```
    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
        Self: Sized,
    {
        self.send_batch(&mut items.into_iter())
    }

    /// [`send_all`](Consumer::send_all) for any consumer, `dyn` ones included: the
    /// batch entry point that survives composition. `&mut C`, `Box<C>` (so
    /// `Box<dyn Consumer<T> + Send>`), [`Inline`](crate::Inline),
    /// [`Shared`](crate::Shared) and the [adapters](crate::ConsumerExt) pass a batch
    /// on as one batch, so a runner behind them still moves it at the cost of one send.
    ///
    /// Same contract as `send_all`: the items in order, stopping at the first failure,
    /// whose error hands that item back; items after it stay in the iterator.
    ///
    /// The default calls [`send`](Consumer::send) per item. A consumer with a cheaper
    /// batch path overrides this method (and may override `send_all` to call the same
    /// code). Do not implement it by calling `self.send_all` unless `send_all` is
    /// overridden too: the default `send_all` calls `send_batch`, and the two would
    /// recurse.
    ///
    /// ```
    /// use consumer::{Consumer, SendError};
    ///
    /// /// Counts the batches it is given.
    /// #[derive(Default)]
    /// struct Batches { items: Vec<u32>, batches: usize }
    /// impl Consumer<u32> for Batches {
    ///     fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
    ///         self.send_batch(&mut std::iter::once(n))
    ///     }
    ///     fn send_batch(&mut self, items: &mut dyn Iterator<Item = u32>) -> Result<(), SendError<u32>> {
    ///         self.batches += 1;
    ///         self.items.extend(items);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// let mut b = Batches::default();
    /// {
    ///     let mut boxed: Box<dyn Consumer<u32> + Send + '_> = Box::new(&mut b);
    ///     boxed.send_all(1..=1000)?; // through a box and a reference: one batch
    /// }
    /// assert_eq!((b.items.len(), b.batches), (1000, 1));
    /// # Ok::<(), consumer::SendError<u32>>(())
    /// ```
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        for item in items {
            self.send(item)?;
        }
        Ok(())
    }

    /// A short name for logs and `tracing` spans: by default the type's name without
    /// its module path.
    ///
    /// ```
    /// use consumer::Consumer;
    ///
    /// assert_eq!(Consumer::<u8>::name(&Vec::<u8>::new()), "Vec<u8>");
    /// ```
    fn name(&self) -> &str {
        short_type_name::<Self>()
    }
}

/// `T`'s name without its module path: `alloc::vec::Vec<u8>` → `Vec<u8>`,
/// `my::Countdown` → `Countdown`. What [`Consumer::name`] returns by default; for
/// other traits that name consumers the same way.
///
/// ```
/// assert_eq!(consumer::short_type_name::<Vec<u8>>(), "Vec<u8>");
/// assert_eq!(consumer::short_type_name::<std::time::Duration>(), "Duration");
/// ```
pub fn short_type_name<T: ?Sized>() -> &'static str {
    shorten(std::any::type_name::<T>())
}

fn shorten(full: &'static str) -> &'static str {
    let head = full.find('<').unwrap_or(full.len());
    let start = full[..head].rfind("::").map_or(0, |i| i + 2);
    &full[start..]
}

/// Forwards every method to the consumer behind a pointer (`&mut C`, `Box<C>`).
macro_rules! forward_through_pointer {
    ($($pointer:ty),*) => {$(
        impl<T, C: Consumer<T> + ?Sized> Consumer<T> for $pointer {
            fn send(&mut self, item: T) -> Result<(), SendError<T>> {
                (**self).send(item)
            }
            fn close(&mut self) -> Result<(), Error> {
                (**self).close()
            }
            fn flush(&mut self) -> Result<(), Error> {
                (**self).flush()
            }
            // `send_all` is left to its default, which calls this: `C` may be unsized,
            // so only the object-safe entry point can reach its batch path.
            fn send_batch(
                &mut self,
                items: &mut dyn Iterator<Item = T>,
            ) -> Result<(), SendError<T>> {
                (**self).send_batch(items)
            }
            fn name(&self) -> &str {
                (**self).name()
            }
        }
    )*};
}

forward_through_pointer!(&mut C, Box<C>);

/// Collects the items; `close` does nothing. Handy in tests.
impl<T> Consumer<T> for Vec<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.push(item);
        Ok(())
    }
    fn send_all<I>(&mut self, items: I) -> Result<(), SendError<T>>
    where
        I: IntoIterator<Item = T>,
    {
        self.extend(items);
        Ok(())
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.extend(items);
        Ok(())
    }
}

fn disconnected<T>(item: T) -> SendError<T> {
    SendError::new(
        item,
        Error::new(
            ErrorKind::Disconnected,
            "the receiving end of the channel is gone",
        ),
    )
}

/// Sends into the channel; a dropped receiver is [`Disconnected`](ErrorKind::Disconnected)
/// with the item back. `close` does nothing: the receiver sees the end when every
/// sender is dropped.
impl<T> Consumer<T> for std::sync::mpsc::Sender<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        std::sync::mpsc::Sender::send(self, item).map_err(|e| disconnected(e.0))
    }
}

/// Like the `Sender` impl; blocks while the channel is full.
impl<T> Consumer<T> for std::sync::mpsc::SyncSender<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        std::sync::mpsc::SyncSender::send(self, item).map_err(|e| disconnected(e.0))
    }
}

/// Like the std `Sender` impl; blocks while a bounded channel is full.
impl<T> Consumer<T> for crossbeam_channel::Sender<T> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        crossbeam_channel::Sender::send(self, item).map_err(|e| disconnected(e.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(shorten("alloc::vec::Vec<u8>"), "Vec<u8>");
        assert_eq!(shorten("a::b::Countdown"), "Countdown");
        assert_eq!(shorten("Plain"), "Plain");
        assert_eq!(
            shorten("x::Map<y::Countdown, z::F>"),
            "Map<y::Countdown, z::F>"
        );
    }

    #[test]
    fn channel_senders_hand_the_item_back_when_disconnected() {
        let (mut tx, rx) = crossbeam_channel::unbounded::<u8>();
        tx.send_all([1, 2]).unwrap();
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
        drop(rx);
        let e = Consumer::send(&mut tx, 3).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Disconnected);
        assert_eq!(e.into_item(), Some(3));

        let (mut tx, rx) = std::sync::mpsc::channel::<u8>();
        drop(rx);
        assert_eq!(Consumer::send(&mut tx, 4).unwrap_err().into_item(), Some(4));
        let (mut tx, rx) = std::sync::mpsc::sync_channel::<u8>(1);
        drop(rx);
        assert_eq!(Consumer::send(&mut tx, 5).unwrap_err().into_item(), Some(5));
    }

    #[test]
    fn forwarding_impls_reach_the_inner_consumer() {
        let mut v: Vec<u8> = Vec::new();
        {
            let r = &mut v;
            r.send(1).unwrap();
            r.close().unwrap();
        }
        let mut b: Box<dyn Consumer<u8> + Send> = Box::new(v);
        b.send(2).unwrap();
        b.flush().unwrap();
        assert_eq!(b.name(), "Vec<u8>");
    }
}
