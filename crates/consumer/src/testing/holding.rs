//! A handle that keeps something alive while any clone of it lives: for running the
//! suite over an end whose handle needs company (a server, a relay thread).

use std::sync::Arc;

use crate::{Consumer, Error, SendError};

/// What a [`Holding`] keeps alive, and does once the handle's close has run.
///
/// ```
/// use consumer::testing::Held;
///
/// struct Nothing;
/// impl Held for Nothing {}
/// assert!(Nothing.after_close().is_ok());
/// ```
pub trait Held {
    /// Runs after the inner consumer's `close`; its error is the close's outcome
    /// when the inner close succeeded. Nothing, by default.
    ///
    /// # Errors
    ///
    /// Whatever stopping the held thing reports.
    fn after_close(&self) -> Result<(), Error> {
        Ok(())
    }
}

/// Forwards every call to `inner`, holding `held` while any clone lives (field order
/// matters: the inner handle is dropped first).
///
/// ```
/// use std::sync::Arc;
/// use consumer::Consumer;
/// use consumer::testing::{Held, Holding};
///
/// struct Server;
/// impl Held for Server {}
///
/// let mut h = Holding { inner: Vec::new(), held: Arc::new(Server) };
/// h.send(1u8)?;
/// h.close()?;
/// assert_eq!(h.inner, [1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Holding<C, H> {
    /// The handle calls go to.
    pub inner: C,
    /// What is kept alive.
    pub held: Arc<H>,
}

impl<C: Clone, H> Clone for Holding<C, H> {
    fn clone(&self) -> Self {
        Holding {
            inner: self.inner.clone(),
            held: Arc::clone(&self.held),
        }
    }
}

impl<T, C: Consumer<T>, H: Held> Consumer<T> for Holding<C, H> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.inner.send(item)
    }

    fn send_all<I: IntoIterator<Item = T>>(&mut self, items: I) -> Result<(), SendError<T>> {
        self.inner.send_all(items)
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.inner.send_all(items)
    }

    fn flush(&mut self) -> Result<(), Error> {
        self.inner.flush()
    }

    fn close(&mut self) -> Result<(), Error> {
        let closed = self.inner.close();
        let after = self.held.after_close();
        closed.and(after)
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}
