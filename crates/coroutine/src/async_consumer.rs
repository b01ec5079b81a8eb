//! [`AsyncConsumer`]: a consumer whose `send` awaits, and [`AsAsync`], which makes any
//! [`Consumer`] one.

use std::future::{Future, ready};

use consumer::{Consumer, Error, SendError};

use crate::Task;

/// A consumer whose [`send`](AsyncConsumer::send) and [`close`](AsyncConsumer::close)
/// await: one that writes to a socket, calls a service, or forwards to another task.
///
/// It has the same [lifecycle contract](Consumer#the-lifecycle-contract) as
/// [`Consumer`]; [`Builder::spawn_async`](crate::Builder::spawn_async) runs one as a
/// task with the contract enforced. Every `Consumer` is usable as one through
/// [`AsAsync`], and a [`Task`] handle is one (it awaits room in the mailbox).
///
/// The futures must be `Send`, so that a multi-thread runtime can move the task.
///
/// # Examples
///
/// ```
/// use consumer::{Error, SendError};
/// use consumer_coroutine::AsyncConsumer;
///
/// /// Forwards every item to another task, awaiting room in its channel.
/// struct Forward(tokio::sync::mpsc::Sender<u32>);
///
/// impl AsyncConsumer<u32> for Forward {
///     async fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
///         self.0.send(n).await.map_err(|e| SendError::closed(e.0))
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let rt = tokio::runtime::Runtime::new()?;
/// let (tx, mut rx) = tokio::sync::mpsc::channel(4);
/// rt.block_on(async {
///     let task = consumer_coroutine::Builder::new().spawn_async(Forward(tx))?;
///     task.send_async(7).await?;
///     task.close_async().await
/// })?;
/// assert_eq!(rx.blocking_recv(), Some(7));
/// # Ok(()) }
/// ```
///
/// A [`Task`] implements both traits; with both in scope, name the one you mean:
/// `Consumer::send(&mut task, x)` blocks, `AsyncConsumer::send(&mut task, x).await`
/// (or [`Task::send_async`]) awaits.
pub trait AsyncConsumer<T> {
    /// Delivers one item. On failure the error hands the item back when it still exists.
    ///
    /// ```
    /// # use consumer_coroutine::{AsAsync, AsyncConsumer};
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let mut v = AsAsync(Vec::new());
    /// rt.block_on(AsyncConsumer::send(&mut v, 1)).unwrap();
    /// assert_eq!(v.0, [1]);
    /// ```
    fn send(&mut self, item: T) -> impl Future<Output = Result<(), SendError<T>>> + Send;

    /// No more items: finish up. Called once, after every item. The default does
    /// nothing.
    ///
    /// ```
    /// # use consumer_coroutine::{AsAsync, AsyncConsumer};
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let mut c = AsAsync(consumer::Inline::new(Vec::<u8>::new()));
    /// rt.block_on(AsyncConsumer::close(&mut c)).unwrap();
    /// let late = rt.block_on(AsyncConsumer::send(&mut c, 1)).unwrap_err();
    /// assert!(late.error().is_closed());
    /// ```
    fn close(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        ready(Ok(()))
    }

    /// Pushes buffered items on. The default does nothing.
    ///
    /// ```
    /// # use consumer_coroutine::{AsAsync, AsyncConsumer};
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let mut v = AsAsync(vec![1_u8]);
    /// rt.block_on(AsyncConsumer::flush(&mut v)).unwrap();
    /// assert_eq!(v.0, [1]); // a `Vec` buffers nothing: flushing leaves it as it was
    /// ```
    fn flush(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        ready(Ok(()))
    }

    /// A short name for logs and `tracing` spans: by default the type's name without
    /// its module path.
    ///
    /// ```
    /// use consumer_coroutine::{AsAsync, AsyncConsumer};
    ///
    /// assert_eq!(AsyncConsumer::<u8>::name(&AsAsync(Vec::<u8>::new())), "Vec<u8>");
    /// ```
    fn name(&self) -> &str {
        consumer::short_type_name::<Self>()
    }
}

/// Any [`Consumer`] seen as an [`AsyncConsumer`]: each call runs at once and its
/// future is ready. Use it only for consumers that do not block, or the task blocks
/// its runtime's thread.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use consumer_coroutine::{AsAsync, AsyncConsumer};
///
/// let rt = tokio::runtime::Runtime::new()?;
/// let mut v = AsAsync(Vec::new());
/// rt.block_on(async { v.send(1).await })?;
/// assert_eq!(v.0, [1]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct AsAsync<C>(pub C);

impl<T: Send, C: Consumer<T> + Send> AsyncConsumer<T> for AsAsync<C> {
    fn send(&mut self, item: T) -> impl Future<Output = Result<(), SendError<T>>> + Send {
        ready(self.0.send(item))
    }
    fn close(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        ready(self.0.close())
    }
    fn flush(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        ready(self.0.flush())
    }
    fn name(&self) -> &str {
        self.0.name()
    }
}

/// A handle is an async consumer: `send` awaits room in the mailbox, `close` awaits
/// the run's end. Through it, one task can feed another.
impl<T: Send> AsyncConsumer<T> for Task<T> {
    fn send(&mut self, item: T) -> impl Future<Output = Result<(), SendError<T>>> + Send {
        self.send_async(item)
    }
    fn close(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        self.close_async()
    }
    fn flush(&mut self) -> impl Future<Output = Result<(), Error>> + Send {
        self.flush_async()
    }
    fn name(&self) -> &str {
        Consumer::name(self)
    }
}
