//! [`Builder`] and the free functions: start a run, get its [`Task`] handle.

use std::future::Future;
use std::sync::{Arc, OnceLock};

use consumer::{Consumer, Error, ErrorKind};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::Instrument;

use crate::block::{as_blocking_thread, park_on};
use crate::control::Control;
use crate::inbox::{Counts, Failure, Inbox, Requests, split};
use crate::run::{AsyncTarget, BodyResult, SyncTarget, drive, watch_body};
use crate::runner::{Returned, lock};
use crate::task::Outcome;
use crate::{AsyncConsumer, Runner, Task};

/// The mailbox's default capacity, in items.
///
/// ```
/// assert_eq!(consumer_coroutine::DEFAULT_CAPACITY, 1024);
/// ```
pub const DEFAULT_CAPACITY: usize = 1024;

/// Where a synchronous consumer's `send` runs.
///
/// A [`Consumer`]'s `send` is an ordinary function and may block (the notes'
/// countdown sleeps; printing can block on a full pipe). Run in-line on the
/// runtime, a blocking `send` stalls every other task of that worker, so the
/// default is the blocking pool.
///
/// ```
/// use consumer_coroutine::{Builder, Placement};
///
/// // A consumer known never to block can skip the extra thread.
/// let b = Builder::new().placement(Placement::InLine);
/// # drop(b);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Placement {
    /// On a thread of the runtime's blocking pool (`spawn_blocking`), for the whole
    /// run: a blocking `send` stalls no task. Costs one pool thread per run.
    ///
    /// ```
    /// assert_eq!(consumer_coroutine::Placement::default(), consumer_coroutine::Placement::BlockingPool);
    /// ```
    #[default]
    BlockingPool,
    /// In the task itself, on a runtime worker: no extra thread, the fastest hand-off,
    /// but `send` must not block.
    ///
    /// ```
    /// use consumer_coroutine::{Builder, Placement};
    ///
    /// Builder::new().placement(Placement::InLine).spawn(Vec::<u8>::new())?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    InLine,
}

/// Configures a run: name, mailbox capacity, placement, runtime.
///
/// ```
/// use consumer_coroutine::{Builder, Placement};
///
/// let task = Builder::new()
///     .name("totals")
///     .capacity(64)
///     .placement(Placement::InLine)
///     .spawn(Vec::new())?;
/// assert_eq!(task.name(), "totals");
/// task.send(1u8)?;
/// task.close()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    name: Option<String>,
    capacity: usize,
    placement: Placement,
    runtime: Option<Handle>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    /// The defaults: the consumer's own name, [`DEFAULT_CAPACITY`], the blocking
    /// pool, and the current runtime (or the shared one, see [`Builder::runtime`]).
    ///
    /// ```
    /// let task = consumer_coroutine::Builder::new().spawn(Vec::<u8>::new())?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn new() -> Builder {
        Builder {
            name: None,
            capacity: DEFAULT_CAPACITY,
            placement: Placement::default(),
            runtime: None,
        }
    }

    /// The name the handle reports and the `tracing` span carries, instead of the
    /// consumer's [`name`](Consumer::name).
    ///
    /// ```
    /// let task = consumer_coroutine::Builder::new().name("audit").spawn(Vec::<u8>::new())?;
    /// assert_eq!(task.name(), "audit");
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// How many items the mailbox holds before senders wait; at least 1.
    ///
    /// The bound is in items: at most `capacity` accepted items wait at once, in the
    /// channel or taken out of it by the task for delivery, plus the one the consumer
    /// is handling. `send_all` sends
    /// item by item, each waiting for a place, so the bound holds for it as well.
    ///
    /// ```
    /// use consumer::ErrorKind;
    /// use consumer_coroutine::Builder;
    ///
    /// assert!(Builder::new().capacity(1).spawn(Vec::<u8>::new()).is_ok());
    /// let e = Builder::new().capacity(0).spawn(Vec::<u8>::new()).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Usage);
    /// ```
    pub fn capacity(mut self, capacity: usize) -> Builder {
        self.capacity = capacity;
        self
    }

    /// Where a synchronous consumer's `send` runs (ignored by
    /// [`spawn_async`](Builder::spawn_async) and [`coroutine`](Builder::coroutine),
    /// which always run in the task: awaiting does not block).
    ///
    /// ```
    /// use consumer_coroutine::{Builder, Placement};
    ///
    /// let quick = Builder::new().placement(Placement::InLine).spawn(Vec::<u8>::new())?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn placement(mut self, placement: Placement) -> Builder {
        self.placement = placement;
        self
    }

    /// The runtime to run on. Without one: the runtime of the calling thread if it
    /// has one, else a multi-thread runtime that this crate starts once, on first
    /// use, and shares (its threads are named `consumer-coroutine`).
    ///
    /// A current-thread runtime runs the task only while something drives it
    /// (`block_on`); until then the mailbox fills and a blocking `close` from another
    /// thread waits.
    ///
    /// ```
    /// let rt = tokio::runtime::Builder::new_current_thread().build()?;
    /// let task = consumer_coroutine::Builder::new()
    ///     .runtime(rt.handle().clone())
    ///     .spawn(Vec::new())?;
    /// task.send(1)?; // into the mailbox; the runtime runs the task when driven
    /// rt.block_on(task.close_async())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn runtime(mut self, runtime: Handle) -> Builder {
        self.runtime = Some(runtime);
        self
    }

    /// Runs `consumer` as a task (on the blocking pool unless
    /// [`Placement::InLine`]) and returns its handle.
    ///
    /// ```
    /// let task = consumer_coroutine::Builder::new().spawn(Vec::new())?;
    /// task.send("one")?;
    /// task.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Usage`] for a capacity of 0; [`ErrorKind::Io`] if the shared
    /// runtime cannot start.
    pub fn spawn<T, C>(self, consumer: C) -> Result<Runner<C, T>, Error>
    where
        T: Send + 'static,
        C: Consumer<T> + Send + 'static,
    {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| consumer.name().to_owned());
        let returned = Returned::default();
        let back = Arc::clone(&returned);
        let task = match self.placement {
            Placement::InLine => self.start(name, "in-line", |inbox| async move {
                let SyncTarget(consumer) = drive(inbox, SyncTarget(consumer)).await?;
                *lock(&back) = Some(consumer);
                Ok(())
            }),
            Placement::BlockingPool => self.start(name, "blocking-pool", |inbox| {
                on_blocking_pool(inbox, consumer, back)
            }),
        }?;
        Ok(Runner::new(task, returned))
    }

    /// Runs an [`AsyncConsumer`] as a task, awaiting its `send` in the task.
    ///
    /// ```
    /// use consumer_coroutine::{AsAsync, Builder};
    ///
    /// let task = Builder::new().spawn_async(AsAsync(Vec::new()))?;
    /// task.send(1)?;
    /// task.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`spawn`](Builder::spawn).
    pub fn spawn_async<T, C>(self, consumer: C) -> Result<Runner<C, T>, Error>
    where
        T: Send + 'static,
        C: AsyncConsumer<T> + Send + 'static,
    {
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| consumer.name().to_owned());
        let returned = Returned::default();
        let back = Arc::clone(&returned);
        let task = self.start(name, "in-line", |inbox| async move {
            let AsyncTarget(consumer) = drive(inbox, AsyncTarget(consumer)).await?;
            *lock(&back) = Some(consumer);
            Ok(())
        })?;
        Ok(Runner::new(task, returned))
    }

    /// Runs a coroutine that receives: `body` gets the [`Inbox`] and runs as a task;
    /// the handle sends into the inbox. See [`coroutine`](crate::coroutine()).
    ///
    /// ```
    /// let task = consumer_coroutine::Builder::new()
    ///     .name("printer")
    ///     .capacity(8)
    ///     .coroutine(|mut inbox| async move {
    ///         while let Some(line) = inbox.recv().await {
    ///             println!("{line}");
    ///         }
    ///     })?;
    /// task.send("hello")?;
    /// task.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`spawn`](Builder::spawn).
    pub fn coroutine<T, F, Fut>(self, body: F) -> Result<Task<T>, Error>
    where
        T: Send + 'static,
        F: FnOnce(Inbox<T>) -> Fut,
        Fut: Future + Send + 'static,
        Fut::Output: BodyResult,
    {
        let name = self.name.clone().unwrap_or_else(|| "coroutine".to_owned());
        self.start(name, "in-line", |mut inbox| {
            let (park, parked) = oneshot::channel();
            inbox.set_park(park);
            let (failure, requests) = (inbox.failure(), inbox.requests());
            watch_body(body(inbox), parked, failure, requests)
        })
    }

    /// Opens the mailbox, starts `run` on it as a task in its span, and returns the
    /// handle.
    fn start<T, Fut>(
        self,
        name: String,
        placement: &'static str,
        run: impl FnOnce(Inbox<T>) -> Fut,
    ) -> Result<Task<T>, Error>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<(), Error>> + Send + 'static,
    {
        if self.capacity == 0 {
            return Err(Error::new(
                ErrorKind::Usage,
                "a coroutine mailbox needs a capacity of at least 1",
            ));
        }
        let runtime = match self.runtime {
            Some(h) => h,
            None => match Handle::try_current() {
                Ok(h) => h,
                Err(_) => shared_runtime()?,
            },
        };
        let (places, take) = split(self.capacity);
        let (tx, rx) = mpsc::channel(places);
        let failure: Failure = Arc::default();
        let counts: Arc<Counts> = Arc::default();
        let requests: Requests = Arc::new(Control::new());
        let (report, done) = watch::channel(None);
        let span = tracing::info_span!(
            "coroutine",
            runner = "coroutine",
            consumer = %name,
            placement,
            pid = std::process::id(),
            task = tracing::field::Empty,
            thread = tracing::field::Empty,
        );
        let name: Arc<str> = Arc::from(name);
        let run = run(Inbox::new(
            rx,
            take,
            Arc::clone(&failure),
            Arc::clone(&requests),
            Arc::clone(&counts),
            Arc::clone(&name),
        ));
        let reporter = Reporter(report);
        let task = async move {
            let span = tracing::Span::current();
            if let Some(id) = tokio::task::try_id() {
                span.record("task", tracing::field::display(id));
            }
            record_thread(&span);
            tracing::debug!("started");
            let outcome = run.await;
            match &outcome {
                Ok(()) => tracing::debug!("closed"),
                Err(e) => tracing::warn!(error = %e, "ended with an error"),
            }
            reporter.0.send_replace(Some(outcome));
        };
        // A span nobody records is not entered on every poll.
        if span.is_disabled() {
            runtime.spawn(task);
        } else {
            runtime.spawn(task.instrument(span));
        }
        Ok(Task::new(tx, requests, failure, counts, done, name))
    }
}

/// Records the current thread's name (or id) in `span`'s `thread` field.
fn record_thread(span: &tracing::Span) {
    let thread = std::thread::current();
    match thread.name() {
        Some(name) => span.record("thread", name),
        None => span.record("thread", tracing::field::debug(thread.id())),
    };
}

/// Reports how a run ended; if the runtime drops the run first, reports that.
struct Reporter(watch::Sender<Outcome>);

impl Drop for Reporter {
    fn drop(&mut self) {
        self.0.send_if_modified(|outcome| {
            if outcome.is_some() {
                return false;
            }
            *outcome = Some(Err(Error::new(
                ErrorKind::Disconnected,
                "the tokio runtime shut down before the consumer finished",
            )));
            true
        });
    }
}

/// Runs the consumer's whole loop on one blocking-pool thread, watched by this task:
/// if the runtime drops the task (it is shutting down), the loop stops, so the
/// runtime's shutdown does not wait forever for the thread.
async fn on_blocking_pool<T, C>(
    mut inbox: Inbox<T>,
    consumer: C,
    back: Returned<C>,
) -> Result<(), Error>
where
    T: Send + 'static,
    C: Consumer<T> + Send + 'static,
{
    let (_alive, stop) = oneshot::channel::<()>();
    inbox.set_stop(stop);
    let span = tracing::Span::current();
    let job = tokio::task::spawn_blocking(move || {
        // The consumer runs on this thread, not on the task's.
        record_thread(&span);
        let SyncTarget(consumer) =
            span.in_scope(|| as_blocking_thread(|| park_on(drive(inbox, SyncTarget(consumer)))))?;
        *lock(&back) = Some(consumer);
        Ok(())
    });
    match job.await {
        Ok(outcome) => outcome,
        // `drive` catches the consumer's panics, so only a cancelled job lands here.
        Err(e) => Err(Error::new(
            ErrorKind::Disconnected,
            format!("the blocking-pool thread never ran the consumer: {e}"),
        )),
    }
}

/// The runtime used when none is given and the caller is outside any.
fn shared_runtime() -> Result<Handle, Error> {
    static SHARED: OnceLock<Result<Runtime, Error>> = OnceLock::new();
    let rt = SHARED.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("consumer-coroutine")
            .build()
            .map_err(Error::from)
    });
    match rt {
        Ok(rt) => Ok(rt.handle().clone()),
        Err(e) => Err(e.clone()),
    }
}
