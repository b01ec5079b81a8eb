//! The producer: a `Consumer<T>` whose `send` publishes to the stream, with a bounded
//! window of unacknowledged publishes.

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use consumer::{Consumer, Error, SendError};
use consumer_wire::{Bincode, Codec, Identity};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use crate::Broker;
use crate::publisher::{Command, End, Publisher};
use crate::runtime::Runtime;
use crate::stamp::{fresh_producer_id, type_header};

/// How a [`Producer`] publishes: its window, its timeouts, its codec.
///
/// ```
/// use std::time::Duration;
/// use consumer_broker::ProducerOptions;
///
/// let options = ProducerOptions::new().window(512).send_timeout(Duration::from_secs(10));
/// assert!(format!("{options:?}").contains("window: 512"));
/// ```
#[derive(Debug, Clone)]
pub struct ProducerOptions {
    window: usize,
    ack_timeout: Duration,
    send_timeout: Duration,
}

impl Default for ProducerOptions {
    fn default() -> ProducerOptions {
        ProducerOptions::new()
    }
}

impl ProducerOptions {
    /// A window of 1,024 unacknowledged publishes, a 5-second acknowledgement
    /// timeout, a 30-second send timeout.
    ///
    /// ```
    /// let o = consumer_broker::ProducerOptions::new();
    /// assert!(format!("{o:?}").contains("window: 1024"));
    /// ```
    pub fn new() -> ProducerOptions {
        ProducerOptions {
            window: 1024,
            ack_timeout: Duration::from_secs(5),
            send_timeout: Duration::from_secs(30),
        }
    }

    /// How many publishes may await the broker's acknowledgement at once (at least
    /// 1): the producer's backpressure. As many encoded items again may wait in the
    /// queue to the publishing task, so at most twice this many are unconfirmed.
    ///
    /// ```
    /// let o = consumer_broker::ProducerOptions::new().window(0);
    /// assert!(format!("{o:?}").contains("window: 1,")); // raised to the minimum
    /// ```
    pub fn window(mut self, n: usize) -> ProducerOptions {
        self.window = n.max(1);
        self
    }

    /// How long one acknowledgement may take before the unconfirmed publishes are
    /// sent again, with the same message ids (so the broker stores each once).
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = consumer_broker::ProducerOptions::new().ack_timeout(Duration::from_secs(1));
    /// assert!(format!("{o:?}").contains("ack_timeout: 1s"));
    /// ```
    pub fn ack_timeout(mut self, t: Duration) -> ProducerOptions {
        self.ack_timeout = t;
        self
    }

    /// How long `send`, `flush` or `close` keep retrying while the broker does not
    /// confirm; then they fail with [`ErrorKind::Timeout`](consumer::ErrorKind::Timeout), the item back, and the
    /// number of items not confirmed as the error's undelivered count.
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = consumer_broker::ProducerOptions::new().send_timeout(Duration::from_secs(3));
    /// assert!(format!("{o:?}").contains("send_timeout: 3s"));
    /// ```
    pub fn send_timeout(mut self, t: Duration) -> ProducerOptions {
        self.send_timeout = t;
        self
    }
}

/// A handle that publishes items to a JetStream stream: a [`Consumer`] like any
/// runner's handle.
///
/// `send` encodes the item with the wire's codec on the caller's thread and hands
/// it to the producer's publishing task, which stamps it (producer id, sequence,
/// the item type's [`Identity`]), publishes it and keeps the window of
/// unacknowledged publishes; `send` waits only when that window and the queue to
/// the task are full. `flush` and `close` return once the broker has stored every
/// accepted item. Clones share one producer id, one sequence and one window, so
/// the order of sends through them is the order in the stream.
///
/// The blocking calls wait on plain threads (or `spawn_blocking`); never call them
/// from inside an async task.
///
/// # Errors and counts
///
/// A send that fails because the broker did not confirm in time gets its item
/// back; the error's undelivered count is every accepted item not confirmed (the
/// window and the queue), and `flush`, `close` and later sends return that same
/// error. An item that cannot be encoded is refused alone, and the producer goes on.
///
/// ```
/// use consumer::Consumer;
/// use consumer_broker::{Broker, LocalServer, Producer};
///
/// let server = LocalServer::start()?;
/// let broker = Broker::new(server.url());
/// let mut producer = Producer::<u32>::connect(&broker)?;
/// producer.send_all(0..100)?;
/// producer.close()?; // all 100 stored
/// # Ok::<(), consumer::Error>(())
/// ```
pub struct Producer<T, C: Codec = Bincode> {
    shared: Arc<Shared<C>>,
    /// This handle's encoding buffer, reused from send to send.
    buf: Vec<u8>,
    _item: PhantomData<fn(T)>,
}

impl<T, C: Codec> Clone for Producer<T, C> {
    fn clone(&self) -> Self {
        Producer {
            shared: Arc::clone(&self.shared),
            buf: Vec::new(),
            _item: PhantomData,
        }
    }
}

impl<T, C: Codec> std::fmt::Debug for Producer<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("subject", &self.shared.subject)
            .field("producer", &format_args!("{:016x}", self.shared.id))
            .field("closing", &self.shared.closing.load(Ordering::Relaxed))
            .field("ended", &self.shared.end.get().is_some())
            .finish()
    }
}

/// What the handles share: the queue to the publishing task and how it ended.
struct Shared<C: Codec> {
    /// Declared before `rt`: the queue closes before the runtime goes.
    tx: mpsc::Sender<Command>,
    end: Arc<End>,
    /// Set by the first `close`: later sends are refused as closed.
    closing: AtomicBool,
    id: u64,
    subject: String,
    codec: C,
    rt: Runtime,
}

impl<T, C> Producer<T, C>
where
    T: Serialize + DeserializeOwned + 'static,
    C: Codec + Default,
{
    /// Connects to `broker` (creating the stream if missing) with the default
    /// [`ProducerOptions`] and codec.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Auth`](consumer::ErrorKind::Auth) for refused credentials or
    /// TLS required but not offered, [`ErrorKind::Disconnected`](consumer::ErrorKind::Disconnected)
    /// or [`ErrorKind::Timeout`](consumer::ErrorKind::Timeout) when the server
    /// cannot be reached.
    ///
    /// ```
    /// use consumer_broker::{Broker, Producer};
    ///
    /// let refused = Producer::<u32>::connect(&Broker::new("nats://127.0.0.1:1"));
    /// assert!(refused.is_err());
    /// ```
    pub fn connect(broker: &Broker) -> Result<Producer<T, C>, Error> {
        Producer::with_options(broker, ProducerOptions::new(), C::default())
    }
}

impl<T, C> Producer<T, C>
where
    T: Serialize + DeserializeOwned + 'static,
    C: Codec,
{
    /// Connects with these options and codec.
    ///
    /// # Errors
    ///
    /// As [`connect`](Producer::connect).
    ///
    /// ```no_run
    /// use consumer_broker::{Broker, Producer, ProducerOptions};
    /// use consumer_wire::Postcard;
    ///
    /// let p = Producer::<String, Postcard>::with_options(
    ///     &Broker::new("nats://127.0.0.1:4222"),
    ///     ProducerOptions::new().window(64),
    ///     Postcard,
    /// )?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn with_options(
        broker: &Broker,
        options: ProducerOptions,
        codec: C,
    ) -> Result<Producer<T, C>, Error> {
        let rt = Runtime::new("consumer-broker-producer")?;
        let js = rt.block_on(async {
            let client = broker.connect("consumer-broker producer").await?;
            let js = Broker::jetstream(client, options.ack_timeout);
            broker.ensure_streams(&js).await?;
            Ok::<_, Error>(js)
        })?;
        let id = fresh_producer_id();
        let publisher = Publisher {
            js,
            subject: broker.subject().to_owned(),
            kind: type_header::<C>(&Identity::of::<T>()),
            id,
            window: options.window,
            send_timeout: options.send_timeout,
        };
        let (tx, rx) = mpsc::channel(options.window);
        let end = Arc::new(End::default());
        rt.spawn(publisher.run(rx, Arc::clone(&end)));
        Ok(Producer {
            shared: Arc::new(Shared {
                tx,
                end,
                closing: AtomicBool::new(false),
                id,
                subject: broker.subject().to_owned(),
                codec,
                rt,
            }),
            buf: Vec::new(),
            _item: PhantomData,
        })
    }

    /// This producer's id, as it appears in every message's headers.
    ///
    /// ```no_run
    /// # let p = consumer_broker::Producer::<u32>::connect(&consumer_broker::Broker::new("nats://h:1"))?;
    /// println!("producer {:016x}", p.id());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn id(&self) -> u64 {
        self.shared.id
    }

    /// Encodes `item` and queues it for the publishing task.
    fn push(&mut self, item: T, trace: Option<&Arc<str>>) -> Result<(), SendError<T>> {
        let shared = &*self.shared;
        if shared.closing.load(Ordering::Acquire) {
            return Err(SendError::closed(item));
        }
        self.buf.clear();
        if let Err(e) = shared.codec.encode(&item, &mut self.buf) {
            return Err(SendError::new(item, e));
        }
        let command = Command::Item(Bytes::copy_from_slice(&self.buf), trace.cloned());
        match shared.tx.blocking_send(command) {
            Ok(()) => Ok(()),
            // The task ended: closed by another handle, or failed.
            Err(_) => Err(match shared.end.wait() {
                _ if shared.closing.load(Ordering::Acquire) => SendError::closed(item),
                Err(e) => SendError::new(item, e),
                Ok(()) => SendError::closed(item),
            }),
        }
    }

    /// The sender's trace context, once per call, when anyone can see it.
    fn trace(&self) -> Option<Arc<str>> {
        tracing::dispatcher::has_been_set().then(|| {
            consumer_wire::Context::current(self.shared.id)
                .traceparent()
                .into()
        })
    }
}

impl<C: Codec> Shared<C> {
    fn flush(&self) -> Result<(), Error> {
        if let Some(outcome) = self.end.get() {
            return outcome;
        }
        let (reply, answer) = oneshot::channel();
        if self.tx.blocking_send(Command::Flush(reply)).is_err() {
            return self.end.wait();
        }
        answer.blocking_recv().unwrap_or_else(|_| self.end.wait())
    }

    fn close(&self) -> Result<(), Error> {
        self.closing.store(true, Ordering::Release);
        // Refused only when the task has ended already (closed, or failed).
        let _ = self.tx.blocking_send(Command::Close);
        self.end.wait()
    }
}

impl<C: Codec> Drop for Shared<C> {
    fn drop(&mut self) {
        // The last handle went without `close`: close as `close` would, waiting for
        // the broker's acknowledgements, unless we are inside an async task.
        if self.end.get().is_none()
            && !self.closing.load(Ordering::Acquire)
            && !self.rt.inside_async()
            && let Err(e) = self.close()
        {
            tracing::error!(error = %e, "producer dropped without close: items not confirmed");
        }
    }
}

impl<T, C> Consumer<T> for Producer<T, C>
where
    T: Serialize + DeserializeOwned + 'static,
    C: Codec,
{
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        let trace = self.trace();
        self.push(item, trace.as_ref())
    }

    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        let trace = self.trace();
        for item in items {
            self.push(item, trace.as_ref())?;
        }
        Ok(())
    }

    /// Returns once the broker has stored every item accepted so far.
    fn flush(&mut self) -> Result<(), Error> {
        self.shared.flush()
    }

    /// Returns once the broker has stored every accepted item — not once a worker
    /// has handled them: producers and workers are decoupled by the stream.
    fn close(&mut self) -> Result<(), Error> {
        self.shared.close()
    }

    fn name(&self) -> &str {
        "broker-producer"
    }
}
