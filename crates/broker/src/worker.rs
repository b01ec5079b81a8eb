//! The worker: pulls items from the stream and hands them to any consumer,
//! acknowledging each only after the consumer's `send` returned `Ok`.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, PullConsumer, pull};
use async_nats::jetstream::context::Context;
use async_nats::jetstream::message::{AckKind, Message, PublishMessage};
use consumer::{Consumer, Error, ErrorKind};
use consumer_wire::{Bincode, Codec, Identity};
use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::runtime::Runtime;
use crate::stamp::{REASON, Stamp, trace_context};
use crate::{Broker, Dedup};

/// How a [`Worker`] pulls: its group, batch, ack wait, delivery limit, order and
/// de-duplication.
///
/// ```
/// use std::time::Duration;
/// use consumer_broker::WorkerOptions;
///
/// let o = WorkerOptions::new().group("billing").max_deliver(3).ack_wait(Duration::from_secs(10));
/// assert!(format!("{o:?}").contains("max_deliver: 3"));
/// ```
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    group: String,
    batch: usize,
    ack_wait: Duration,
    max_deliver: i64,
    ordered: bool,
    dedup: Option<Dedup>,
    idle: Duration,
    timeout: Duration,
}

impl Default for WorkerOptions {
    fn default() -> WorkerOptions {
        WorkerOptions::new()
    }
}

impl WorkerOptions {
    /// Group `workers`, batches of 256, a 30-second ack wait, 5 deliveries at
    /// most, unordered, no de-duplication.
    ///
    /// ```
    /// let o = consumer_broker::WorkerOptions::new();
    /// assert!(format!("{o:?}").contains("group: \"workers\""));
    /// ```
    pub fn new() -> WorkerOptions {
        WorkerOptions {
            group: "workers".to_owned(),
            batch: 256,
            ack_wait: Duration::from_secs(30),
            max_deliver: 5,
            ordered: false,
            dedup: None,
            idle: Duration::from_millis(500),
            timeout: Duration::from_secs(5),
        }
    }

    /// The durable JetStream consumer this worker pulls from: workers with the same
    /// group share the work, each item going to one of them; another group gets
    /// every item again. Ordered groups take `-ordered` on their name.
    ///
    /// ```
    /// let o = consumer_broker::WorkerOptions::new().group("audit");
    /// assert!(format!("{o:?}").contains("\"audit\""));
    /// ```
    pub fn group(mut self, name: &str) -> WorkerOptions {
        name.clone_into(&mut self.group);
        self
    }

    /// How many items one pull asks for (at least 1).
    ///
    /// ```
    /// let o = consumer_broker::WorkerOptions::new().batch(0);
    /// assert!(format!("{o:?}").contains("batch: 1,"));
    /// ```
    pub fn batch(mut self, n: usize) -> WorkerOptions {
        self.batch = n.max(1);
        self
    }

    /// How long the broker waits for an item's acknowledgement before it gives the
    /// item to another worker (a worker that died, say).
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = consumer_broker::WorkerOptions::new().ack_wait(Duration::from_secs(2));
    /// assert!(format!("{o:?}").contains("ack_wait: 2s"));
    /// ```
    pub fn ack_wait(mut self, t: Duration) -> WorkerOptions {
        self.ack_wait = t;
        self
    }

    /// The most deliveries of one item (at least 1); a consumer failing on the last
    /// sends the item to the dead-letter subject.
    ///
    /// ```
    /// let o = consumer_broker::WorkerOptions::new().max_deliver(1);
    /// assert!(format!("{o:?}").contains("max_deliver: 1"));
    /// ```
    pub fn max_deliver(mut self, n: u32) -> WorkerOptions {
        self.max_deliver = i64::from(n.max(1));
        self
    }

    /// Ordered mode: one item in flight across the whole group, so each item is
    /// handled (and acknowledged) before the next is delivered to any worker. Every
    /// producer's order — the stream's order — holds across workers, at the cost of
    /// one round trip per item.
    ///
    /// ```
    /// let o = consumer_broker::WorkerOptions::new().ordered(true);
    /// assert!(format!("{o:?}").contains("ordered: true"));
    /// ```
    pub fn ordered(mut self, ordered: bool) -> WorkerOptions {
        self.ordered = ordered;
        self
    }

    /// Handle each item once among the workers sharing `dedup` (see [`Dedup`]).
    ///
    /// ```
    /// let o = consumer_broker::WorkerOptions::new().dedup(consumer_broker::Dedup::new());
    /// assert!(format!("{o:?}").contains("dedup: Some"));
    /// ```
    pub fn dedup(mut self, dedup: Dedup) -> WorkerOptions {
        self.dedup = Some(dedup);
        self
    }

    fn durable(&self) -> String {
        if self.ordered {
            format!("{}-ordered", self.group)
        } else {
            self.group.clone()
        }
    }
}

/// What a worker's run did.
///
/// ```
/// let r = consumer_broker::Report::default();
/// assert_eq!((r.handled, r.skipped, r.dead), (0, 0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Report {
    /// Items the consumer took (`send` returned `Ok`) and that were acknowledged.
    pub handled: u64,
    /// Items skipped as already handled (de-duplication).
    pub skipped: u64,
    /// Messages sent to the dead-letter subject.
    pub dead: u64,
}

/// How a [`Worker::serve`] is told to end, shared by clones: stop at once (after the
/// item in hand), or drain first (handle until the group has nothing left).
///
/// ```
/// let stop = consumer_broker::Stop::new();
/// stop.clone().stop();
/// assert!(stop.is_stopped());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicU8>);

const RUNNING: u8 = 0;
const DRAIN: u8 = 1;
const STOPPED: u8 = 2;

impl Stop {
    /// Not stopped yet.
    ///
    /// ```
    /// assert!(!consumer_broker::Stop::new().is_stopped());
    /// ```
    pub fn new() -> Stop {
        Stop::default()
    }

    /// Asks the worker to return after the item in hand, giving the rest of its
    /// batch back to the stream.
    ///
    /// ```
    /// consumer_broker::Stop::new().stop();
    /// ```
    pub fn stop(&self) {
        self.0.store(STOPPED, Ordering::Release);
    }

    /// Asks the worker to return once the group has nothing left (as
    /// [`Worker::run`] does): what was stored before this call gets handled.
    ///
    /// ```
    /// let stop = consumer_broker::Stop::new();
    /// stop.drain();
    /// assert!(!stop.is_stopped());
    /// ```
    pub fn drain(&self) {
        let _ = self
            .0
            .compare_exchange(RUNNING, DRAIN, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Was [`stop`](Stop::stop) called?
    ///
    /// ```
    /// assert!(!consumer_broker::Stop::new().is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Acquire) == STOPPED
    }

    fn draining(&self) -> bool {
        self.0.load(Ordering::Acquire) == DRAIN
    }
}

/// Pulls items of type `T` from a stream and hands them to a consumer.
///
/// Each item is acknowledged only after the consumer's `send` returned `Ok`; an item
/// a worker holds when it dies goes to another worker after the ack wait.
///
/// # Failure policy
///
/// - A message that is not an item of this type (garbage, another type, another
///   codec) goes to the dead-letter subject with its reason in a header, is
///   terminated, and is logged in one line at `error` level; the worker goes on.
/// - A consumer whose `send` returns an error: the item is given back with a nak
///   (another worker may try it) unless this was its last delivery
///   ([`max_deliver`](WorkerOptions::max_deliver)), when it goes to the dead-letter
///   subject. As the contract says, the consumer then gets nothing more: the rest
///   of the batch is given back, the consumer's `close` runs, and the run returns
///   the error.
/// - A consumer that panics: the item is terminated and dead-lettered at once (a
///   panic is a bug, and the item may be its cause; it must not take every worker
///   down in turn), the rest of the batch given back, the consumer never called
///   again, and the run returns [`ErrorKind::Panicked`].
///
/// # Order
///
/// A worker gets its items in stream order, so each producer's items reach it in
/// that producer's order (a redelivery aside). Several workers split a producer's
/// items between them, so across workers that order is lost; the
/// [ordered mode](WorkerOptions::ordered) keeps it.
///
/// ```
/// use consumer::Consumer;
/// use consumer_broker::{Broker, LocalServer, Producer, Worker, WorkerOptions};
///
/// let server = LocalServer::start()?;
/// let broker = Broker::new(server.url());
/// let mut producer = Producer::<u32>::connect(&broker)?;
/// producer.send_all(1..=3)?;
/// producer.close()?;
///
/// let mut got = Vec::new();
/// let report = Worker::<u32>::connect(&broker, WorkerOptions::new())?.run(&mut got)?;
/// assert_eq!((got, report.handled), (vec![1, 2, 3], 3));
/// # Ok::<(), consumer::Error>(())
/// ```
pub struct Worker<T, C: Codec = Bincode> {
    rt: Runtime,
    js: Context,
    pull: PullConsumer,
    dead_subject: String,
    identity: Identity,
    codec: C,
    options: WorkerOptions,
    _item: PhantomData<fn() -> T>,
}

impl<T, C: Codec> std::fmt::Debug for Worker<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What became of one message.
enum Fate {
    Handled,
    Skipped,
    Dead,
}

impl<T, C> Worker<T, C>
where
    T: Serialize + DeserializeOwned + 'static,
    C: Codec + Default,
{
    /// Connects to `broker`, creating the streams and the group's durable consumer
    /// when missing.
    ///
    /// # Errors
    ///
    /// As [`Producer::connect`](crate::Producer::connect).
    ///
    /// ```
    /// use consumer_broker::{Broker, Worker, WorkerOptions};
    /// assert!(Worker::<u32>::connect(&Broker::new("nats://127.0.0.1:1"), WorkerOptions::new()).is_err());
    /// ```
    pub fn connect(broker: &Broker, options: WorkerOptions) -> Result<Worker<T, C>, Error> {
        Worker::with_codec(broker, options, C::default())
    }
}

impl<T, C> Worker<T, C>
where
    T: Serialize + DeserializeOwned + 'static,
    C: Codec,
{
    /// Connects with this codec (producers must use the same one).
    ///
    /// # Errors
    ///
    /// As [`connect`](Worker::connect).
    ///
    /// ```no_run
    /// use consumer_broker::{Broker, Worker, WorkerOptions};
    /// let w = Worker::<String, _>::with_codec(&Broker::new("nats://h:4222"), WorkerOptions::new(), consumer_wire::Postcard)?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn with_codec(
        broker: &Broker,
        options: WorkerOptions,
        codec: C,
    ) -> Result<Worker<T, C>, Error> {
        let rt = Runtime::new("consumer-broker-worker")?;
        let (js, pull) = rt.block_on(async {
            let client = broker.connect("consumer-broker worker").await?;
            let js = Broker::jetstream(client, options.timeout);
            broker.ensure_streams(&js).await?;
            let stream = js
                .get_stream(broker.stream_name())
                .await
                .map_err(api_error)?;
            let durable = options.durable();
            let config = pull::Config {
                durable_name: Some(durable.clone()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: options.ack_wait,
                max_deliver: options.max_deliver,
                max_ack_pending: if options.ordered { 1 } else { -1 },
                filter_subject: broker.subject().to_owned(),
                ..Default::default()
            };
            let pull = stream
                .get_or_create_consumer(&durable, config)
                .await
                .map_err(api_error)?;
            Ok::<_, Error>((js, pull))
        })?;
        Ok(Worker {
            rt,
            js,
            pull,
            dead_subject: broker.dead_letter_subject(),
            identity: Identity::of::<T>(),
            codec,
            options,
            _item: PhantomData,
        })
    }

    /// Hands items to `consumer` until the group has nothing left — no item
    /// waiting, none held by any worker — then closes the consumer. For batch jobs,
    /// tests, and the far end of a producer that has closed.
    ///
    /// # Errors
    ///
    /// The consumer's failure (see the [failure policy](Worker#failure-policy)), or
    /// its `close`'s; a lost broker, after the worker's retries.
    pub fn run<K: Consumer<T>>(&mut self, consumer: K) -> Result<Report, Error> {
        let stop = Stop::new();
        stop.drain();
        self.drive(consumer, &stop)
    }

    /// Hands items to `consumer` until `stop` says so ([`Stop::stop`] at once,
    /// [`Stop::drain`] once the group has nothing left), then closes the consumer: a
    /// worker as a service.
    ///
    /// # Errors
    ///
    /// As [`run`](Worker::run).
    ///
    /// ```no_run
    /// use consumer_broker::{Broker, Stop, Worker, WorkerOptions};
    /// let stop = Stop::new();
    /// let mut w = Worker::<u32>::connect(&Broker::new("nats://h:4222"), WorkerOptions::new())?;
    /// w.serve(Vec::new(), &stop)?; // until another thread calls stop.stop()
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn serve<K: Consumer<T>>(&mut self, consumer: K, stop: &Stop) -> Result<Report, Error> {
        self.drive(consumer, stop)
    }

    fn drive<K: Consumer<T>>(&mut self, mut consumer: K, stop: &Stop) -> Result<Report, Error> {
        let mut report = Report::default();
        let outcome = self
            .rt
            .block_on(self.pull_loop(&mut consumer, stop, &mut report));
        match outcome {
            Ok(()) => match catch_unwind(AssertUnwindSafe(|| consumer.close())) {
                Ok(closed) => closed.map(|()| report),
                Err(payload) => Err(Error::from_panic(payload.as_ref(), 0)),
            },
            Err(Failed::Error(e)) => {
                let _ = catch_unwind(AssertUnwindSafe(|| consumer.close()));
                Err(self.with_pending(e))
            }
            Err(Failed::Panicked(e)) => Err(self.with_pending(e)),
        }
    }

    /// How many items the group still has: waiting, or held by a worker and not
    /// acknowledged yet.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Disconnected`] when the broker does not answer.
    ///
    /// ```
    /// use consumer::Consumer;
    /// use consumer_broker::{Broker, LocalServer, Producer, Worker, WorkerOptions};
    ///
    /// let server = LocalServer::start()?;
    /// let broker = Broker::new(server.url());
    /// let worker = Worker::<u8>::connect(&broker, WorkerOptions::new())?;
    /// let mut producer = Producer::<u8>::connect(&broker)?;
    /// producer.send_all([1, 2])?;
    /// producer.close()?;
    /// assert_eq!(worker.pending()?, 2);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn pending(&self) -> Result<u64, Error> {
        self.rt.block_on(async {
            let info = self.pull.get_info().await.map_err(api_error)?;
            Ok(info.num_pending + info.num_ack_pending as u64)
        })
    }

    /// A consumer's failure, with what the group still has as its undelivered count.
    fn with_pending(&self, e: Error) -> Error {
        match self.pending() {
            Ok(n) => e.with_undelivered(n),
            Err(_) => e,
        }
    }

    async fn pull_loop<K: Consumer<T>>(
        &self,
        consumer: &mut K,
        stop: &Stop,
        report: &mut Report,
    ) -> Result<(), Failed> {
        let mut idle_errors = 0u32;
        loop {
            if stop.is_stopped() {
                return Ok(());
            }
            let batch = self
                .pull
                .batch()
                .max_messages(self.options.batch)
                .expires(self.options.idle)
                .messages()
                .await;
            let mut batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    idle_errors += 1;
                    if idle_errors > 600 {
                        return Err(Failed::Error(Error::new(
                            ErrorKind::Disconnected,
                            format!("the broker stopped answering pulls: {e}"),
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let mut got = 0usize;
            while let Some(m) = batch.next().await {
                let Ok(m) = m else { break };
                got += 1;
                match self.handle(consumer, &m).await {
                    Ok(Fate::Handled) => report.handled += 1,
                    Ok(Fate::Skipped) => report.skipped += 1,
                    Ok(Fate::Dead) => report.dead += 1,
                    Err(failed) => {
                        // The consumer gets nothing more: the rest goes back at once.
                        give_back(&mut batch).await;
                        return Err(failed);
                    }
                }
                if stop.is_stopped() {
                    give_back(&mut batch).await;
                    return Ok(());
                }
            }
            idle_errors = 0;
            if got == 0 && stop.draining() && self.drained().await {
                return Ok(());
            }
        }
    }

    /// Nothing waiting for the group and nothing held by any of its workers.
    async fn drained(&self) -> bool {
        match self.pull.get_info().await {
            Ok(info) => info.num_pending == 0 && info.num_ack_pending == 0,
            Err(_) => false,
        }
    }

    async fn handle<K: Consumer<T>>(&self, consumer: &mut K, m: &Message) -> Result<Fate, Failed> {
        let stamp = match Stamp::read::<C>(m.headers.as_ref(), &self.identity) {
            Ok(s) => s,
            Err(why) => return Ok(self.bury(m, &why).await),
        };
        let item: T = match self.codec.decode(&m.payload) {
            Ok(item) => item,
            Err(e) => return Ok(self.bury(m, &e.to_string()).await),
        };
        let dedup = self.options.dedup.as_ref();
        if dedup.is_some_and(|d| !d.claim(stamp)) {
            let _ = m.ack().await;
            return Ok(Fate::Skipped);
        }
        let sent = catch_unwind(AssertUnwindSafe(|| {
            match trace_context(m.headers.as_ref(), stamp) {
                // Handled inside the sender's trace: the consumer's own sends carry it
                // on, and a subscriber sees this span's parent.
                Some(cx) => {
                    let span = tracing::trace_span!(
                        "broker.receive",
                        traceparent = %cx.traceparent(),
                        producer = %format_args!("{:016x}", stamp.producer),
                        seq = stamp.seq,
                    );
                    let _in = span.enter();
                    tracing::trace!(seq = stamp.seq, "receive");
                    cx.in_trace(|| consumer.send(item))
                }
                None => consumer.send(item),
            }
        }));
        if let Some(d) = dedup {
            d.finish(stamp, matches!(sent, Ok(Ok(()))));
        }
        match sent {
            Ok(Ok(())) => {
                // A lost ack means a redelivery, which de-duplication absorbs.
                let _ = m.ack().await;
                Ok(Fate::Handled)
            }
            Ok(Err(e)) => {
                let last = m
                    .info()
                    .map(|i| i.delivered >= self.options.max_deliver)
                    .unwrap_or(true);
                if last {
                    self.bury(
                        m,
                        &format!("the consumer failed on its last delivery: {}", e.error()),
                    )
                    .await;
                } else {
                    let _ = m.ack_with(AckKind::Nak(None)).await;
                }
                Err(Failed::Error(e.into_error()))
            }
            Err(payload) => {
                let e = Error::from_panic(payload.as_ref(), 0);
                self.bury(
                    m,
                    &format!("the consumer panicked: {}", e.message().unwrap_or("")),
                )
                .await;
                Err(Failed::Panicked(e))
            }
        }
    }

    /// Dead-letters `m` with its reason, then terminates it: one log line.
    async fn bury(&self, m: &Message, why: &str) -> Fate {
        let at = m.info().map(|i| i.stream_sequence).unwrap_or(0);
        tracing::error!(
            stream_seq = at,
            dead_letter = %self.dead_subject,
            "dead letter on {}: {why}",
            m.subject
        );
        let mut headers = m.headers.clone().unwrap_or_default();
        headers.insert(REASON, why);
        let publish = PublishMessage::build()
            .payload(m.payload.clone())
            .headers(headers);
        match self
            .js
            .send_publish(self.dead_subject.clone(), publish)
            .await
        {
            Ok(ack) => {
                if let Err(e) = ack.await {
                    tracing::error!(error = %e, "the dead letter was not stored");
                }
            }
            Err(e) => tracing::error!(error = %e, "the dead letter was not published"),
        }
        let _ = m.ack_with(AckKind::Term).await;
        Fate::Dead
    }
}

/// How the consumer failed: after an error its `close` still runs, after a panic not.
enum Failed {
    Error(Error),
    Panicked(Error),
}

/// Naks what is left of a batch, so other workers get it without waiting.
async fn give_back(batch: &mut async_nats::jetstream::consumer::pull::Batch) {
    while let Some(Ok(rest)) = batch.next().await {
        let _ = rest.ack_with(AckKind::Nak(None)).await;
    }
}

fn api_error(e: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Disconnected, format!("JetStream refused: {e}"))
}
