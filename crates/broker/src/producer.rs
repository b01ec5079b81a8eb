//! The producer: a `Consumer<T>` whose `send` publishes to the stream, with a bounded
//! window of unacknowledged publishes.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{Context, PublishAckFuture};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use consumer::{Consumer, Error, ErrorKind, SendError};
use consumer_wire::{Bincode, Codec, Identity};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Broker;
use crate::runtime::Runtime;
use crate::stamp::{Stamp, fresh_producer_id, type_header};

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
    /// 1): the producer's backpressure.
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
    /// confirm; then they fail with [`ErrorKind::Timeout`], the item back, and the
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
/// `send` encodes the item with the wire's codec, stamps it (producer id, sequence,
/// the item type's [`Identity`]) and publishes it; it returns once the publish is
/// on its way, waiting only when the window of unacknowledged publishes is full.
/// `flush` and `close` return once the broker has stored every accepted item.
/// Clones share one producer id, one sequence and one window, so the order of
/// sends through them is the order in the stream.
///
/// The blocking calls run on the producer's own small tokio runtime; call them
/// from plain threads (or `spawn_blocking`), never from inside an async task.
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
    _item: PhantomData<fn(T)>,
}

impl<T, C: Codec> Clone for Producer<T, C> {
    fn clone(&self) -> Self {
        Producer {
            shared: Arc::clone(&self.shared),
            _item: PhantomData,
        }
    }
}

impl<T, C: Codec> std::fmt::Debug for Producer<T, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("Producer")
            .field("subject", &self.shared.subject)
            .field("producer", &format_args!("{:016x}", st.id))
            .field("next_seq", &st.next_seq)
            .field("unconfirmed", &st.pending.len())
            .finish()
    }
}

struct Shared<C: Codec> {
    rt: Runtime,
    js: Context,
    subject: String,
    /// The `Consumer-Type` header: codec and item type.
    kind: String,
    codec: C,
    options: ProducerOptions,
    state: Mutex<State>,
}

struct State {
    id: u64,
    next_seq: u64,
    pending: VecDeque<Pending>,
    buf: Vec<u8>,
    /// Set once: by `close` (`Ok` or the close's error) or by a failed send.
    failed: Option<Error>,
    closed: Option<Result<(), Error>>,
}

/// A publish the broker has not confirmed yet, kept so it can be sent again.
struct Pending {
    stamp: Stamp,
    payload: Bytes,
    /// The sender's `traceparent`, when a subscriber is installed.
    trace: Option<Arc<str>>,
    ack: Option<PublishAckFuture>,
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
    /// [`ErrorKind::Auth`] for refused credentials or TLS required but not offered,
    /// [`ErrorKind::Disconnected`] or [`ErrorKind::Timeout`] when the server cannot
    /// be reached.
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
        let state = State {
            id: fresh_producer_id(),
            next_seq: 0,
            pending: VecDeque::with_capacity(options.window),
            buf: Vec::new(),
            failed: None,
            closed: None,
        };
        Ok(Producer {
            shared: Arc::new(Shared {
                rt,
                js,
                subject: broker.subject().to_owned(),
                kind: type_header::<C>(&Identity::of::<T>()),
                codec,
                options,
                state: Mutex::new(state),
            }),
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
        self.shared.lock().id
    }

    fn publish_all(&self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        let shared = &*self.shared;
        let mut st = shared.lock();
        // The sender's trace context, once for the batch, when anyone can see it.
        let trace: Option<Arc<str>> = tracing::dispatcher::has_been_set()
            .then(|| consumer_wire::Context::current(st.id).traceparent().into());
        // One entry into the runtime for the whole batch.
        shared.rt.block_on(async {
            for item in items {
                if st.closed.is_some() {
                    return Err(SendError::closed(item));
                }
                if let Some(e) = &st.failed {
                    return Err(SendError::new(item, e.clone()));
                }
                let stamp = Stamp {
                    producer: st.id,
                    seq: st.next_seq,
                };
                let mut buf = std::mem::take(&mut st.buf);
                buf.clear();
                let encoded = shared.codec.encode(&item, &mut buf);
                let payload = Bytes::copy_from_slice(&buf);
                st.buf = buf;
                if let Err(e) = encoded {
                    return Err(SendError::new(item, e));
                }
                while st.pending.len() >= shared.options.window {
                    if let Err(e) = shared.confirm_front(&mut st).await {
                        st.failed = Some(e.clone());
                        return Err(SendError::new(item, e));
                    }
                }
                let ack = shared.publish(stamp, &payload, trace.as_deref()).await;
                st.pending.push_back(Pending {
                    stamp,
                    payload,
                    trace: trace.clone(),
                    ack: ack.ok(),
                });
                st.next_seq += 1;
            }
            Ok(())
        })
    }
}

impl<C: Codec> Shared<C> {
    fn lock(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock; a panic inside cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn publish(
        &self,
        stamp: Stamp,
        payload: &Bytes,
        trace: Option<&str>,
    ) -> Result<PublishAckFuture, Error> {
        let msg = PublishMessage::build()
            .payload(payload.clone())
            .headers(stamp.headers(&self.kind, trace));
        self.js
            .send_publish(self.subject.clone(), msg)
            .await
            .map_err(|e| Error::new(ErrorKind::Disconnected, format!("cannot publish: {e}")))
    }

    /// Waits for the oldest publish's acknowledgement; on a timeout or a broken
    /// link, sends every unconfirmed publish again (same message ids, same order)
    /// until the send timeout runs out.
    async fn confirm_front(&self, st: &mut State) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            let front = st
                .pending
                .front_mut()
                .expect("confirm_front needs a pending publish");
            let outcome = match front.ack.take() {
                Some(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
                None => Err("the publish did not leave".to_owned()),
            };
            match outcome {
                Ok(()) => {
                    st.pending.pop_front();
                    return Ok(());
                }
                Err(why) if started.elapsed() >= self.options.send_timeout => {
                    let n = st.pending.len() as u64;
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "the broker did not confirm within {:?} ({why}); {n} item(s) not confirmed",
                            self.options.send_timeout
                        ),
                    )
                    .with_undelivered(n));
                }
                Err(why) => {
                    tracing::debug!(%why, unconfirmed = st.pending.len(), "publishing the window again");
                    for p in st.pending.iter_mut() {
                        p.ack = self
                            .publish(p.stamp, &p.payload, p.trace.as_deref())
                            .await
                            .ok();
                    }
                    if st.pending.iter().all(|p| p.ack.is_none()) {
                        // The client cannot even queue: back off before the next try
                        // (a retry pace, not a wait for readiness).
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }

    /// Waits until every accepted publish is confirmed.
    fn confirm_all(&self, st: &mut State) -> Result<(), Error> {
        if let Some(e) = &st.failed {
            return Err(e.clone());
        }
        let r: Result<(), Error> = self.rt.block_on(async {
            while !st.pending.is_empty() {
                self.confirm_front(st).await?;
            }
            Ok(())
        });
        if let Err(e) = &r {
            st.failed = Some(e.clone());
        }
        r
    }

    fn close(&self) -> Result<(), Error> {
        let mut st = self.lock();
        if let Some(outcome) = &st.closed {
            return outcome.clone();
        }
        let outcome = self.confirm_all(&mut st);
        st.closed = Some(outcome.clone());
        outcome
    }
}

impl<C: Codec> Drop for Shared<C> {
    fn drop(&mut self) {
        // The last handle went without `close`: close as `close` would, waiting for
        // the broker's acknowledgements, unless we are inside an async task.
        let unclosed = self.lock().closed.is_none();
        if unclosed
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
        self.publish_all(&mut std::iter::once(item))
    }

    fn send_batch(&mut self, items: &mut dyn Iterator<Item = T>) -> Result<(), SendError<T>> {
        self.publish_all(items)
    }

    /// Returns once the broker has stored every item accepted so far.
    fn flush(&mut self) -> Result<(), Error> {
        let mut st = self.shared.lock();
        if let Some(outcome) = &st.closed {
            return outcome.clone();
        }
        self.shared.confirm_all(&mut st)
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
