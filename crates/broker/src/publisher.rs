//! The producer's publishing task: the one place that publishes, keeps the window
//! of unacknowledged publishes, retries them and counts what is not confirmed.
//!
//! Handles hand it encoded items through a bounded channel, so `send` is a channel
//! push; `flush` and `close` are commands in the same channel, so they follow
//! every item sent before them. The task numbers items in the order it receives
//! them (the stream's order), and it alone touches the window: no lock.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{Context, PublishAckFuture};
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use consumer::{Error, ErrorKind};
use tokio::sync::{mpsc, oneshot};

use crate::stamp::Stamp;

/// The most commands the task takes from its channel at once.
const TAKE: usize = 64;

/// What a handle asks of the publishing task.
pub(crate) enum Command {
    /// An encoded item (accepted: its `send` returned `Ok`) and the sender's
    /// `traceparent`, when a subscriber is installed.
    Item(Bytes, Option<Arc<str>>),
    /// Answer once every item before this command is stored.
    Flush(oneshot::Sender<Result<(), Error>>),
    /// Store everything, then end.
    Close,
}

/// How the task ended, for every handle to read: after `close` (its outcome) or
/// after a failure (the error, with the count of items not confirmed).
#[derive(Default)]
pub(crate) struct End {
    outcome: Mutex<Option<Result<(), Error>>>,
    ended: Condvar,
}

impl End {
    /// The outcome, once the task has ended.
    pub(crate) fn get(&self) -> Option<Result<(), Error>> {
        self.lock().clone()
    }

    /// Waits for the task to end. Bounded: the task ends within the send timeout
    /// of its last progress, and a task that dies on the way says so (see `Guard`).
    pub(crate) fn wait(&self) -> Result<(), Error> {
        let mut outcome = self.lock();
        loop {
            if let Some(o) = &*outcome {
                return o.clone();
            }
            outcome = self
                .ended
                .wait(outcome)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn set(&self, o: Result<(), Error>) {
        let mut outcome = self.lock();
        if outcome.is_none() {
            *outcome = Some(o);
        }
        self.ended.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Result<(), Error>>> {
        // No user code runs under this lock.
        self.outcome.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Sets an outcome if the task goes without one (dropped with its runtime, or a
/// panic in the client), so no handle waits for ever.
struct Guard(Arc<End>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.set(Err(Error::new(
            ErrorKind::Disconnected,
            "the producer's publishing task ended before confirming every item",
        )));
    }
}

/// What the task needs to publish: the connection and the stamp's parts.
pub(crate) struct Publisher {
    pub(crate) js: Context,
    pub(crate) subject: String,
    /// The `Consumer-Type` header.
    pub(crate) kind: String,
    pub(crate) id: u64,
    pub(crate) window: usize,
    pub(crate) send_timeout: Duration,
}

/// A publish the broker has not confirmed yet, kept so it can be sent again.
struct Pending {
    seq: u64,
    payload: Bytes,
    trace: Option<Arc<str>>,
    ack: Option<PublishAckFuture>,
}

impl Publisher {
    /// The task: runs until `Close` (or every handle gone), or a failure.
    pub(crate) async fn run(self, mut rx: mpsc::Receiver<Command>, end: Arc<End>) {
        let guard = Guard(end);
        let mut window = VecDeque::with_capacity(self.window);
        let mut next_seq = 0u64;
        let mut closing = false;
        let mut flushes = Vec::new();
        // Commands taken from the channel a batch at a time: one wake-up of this
        // task for everything the handles pushed meanwhile.
        let (mut batch, mut taken) = (Vec::with_capacity(TAKE), VecDeque::with_capacity(TAKE));
        let outcome = loop {
            if taken.is_empty() {
                rx.recv_many(&mut batch, TAKE).await;
                taken.extend(batch.drain(..));
            }
            let Some(command) = taken.pop_front() else {
                // Closing, or every handle dropped (their drop closes first, but
                // one dropped inside an async task cannot wait): store what is here.
                break self.confirm_all(&mut window).await;
            };
            let step = match command {
                Command::Item(payload, trace) => {
                    let item = Pending {
                        seq: next_seq,
                        payload,
                        trace,
                        ack: None,
                    };
                    next_seq += 1;
                    self.push(&mut window, item).await
                }
                Command::Flush(reply) if closing => {
                    flushes.push(reply);
                    Ok(())
                }
                Command::Flush(reply) => {
                    let r = self.confirm_all(&mut window).await;
                    match r {
                        Ok(()) => drop(reply.send(Ok(()))),
                        // Answered below, with the counts.
                        Err(_) => flushes.push(reply),
                    }
                    r
                }
                Command::Close => {
                    // Items a clone pushed after this command were accepted too:
                    // drain them before the final confirmation.
                    closing = true;
                    rx.close();
                    Ok(())
                }
            };
            if let Err(why) = step {
                break Err(why);
            }
        };
        let outcome = match outcome {
            Ok(()) => Ok(()),
            Err(why) => {
                // Nothing more gets in; what got in is accepted and not confirmed.
                rx.close();
                let mut queued = 0u64;
                let rest = std::iter::from_fn(|| rx.try_recv().ok());
                for command in taken.drain(..).chain(rest) {
                    match command {
                        Command::Item(..) => queued += 1,
                        Command::Flush(reply) => flushes.push(reply),
                        Command::Close => {}
                    }
                }
                let n = window.len() as u64 + queued;
                Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the broker did not confirm within {:?} ({why}); {n} item(s) not confirmed",
                        self.send_timeout
                    ),
                )
                .with_undelivered(n))
            }
        };
        for reply in flushes {
            let _ = reply.send(outcome.clone());
        }
        guard.0.set(outcome);
    }

    /// Publishes one item, first waiting for room in the window.
    async fn push(&self, window: &mut VecDeque<Pending>, mut item: Pending) -> Result<(), String> {
        while window.len() >= self.window {
            self.confirm_front(window).await?;
        }
        item.ack = self.publish(&item).await.ok();
        window.push_back(item);
        Ok(())
    }

    async fn publish(&self, p: &Pending) -> Result<PublishAckFuture, Error> {
        let stamp = Stamp {
            producer: self.id,
            seq: p.seq,
        };
        let msg = PublishMessage::build()
            .payload(p.payload.clone())
            .headers(stamp.headers(&self.kind, p.trace.as_deref()));
        self.js
            .send_publish(self.subject.clone(), msg)
            .await
            .map_err(|e| Error::new(ErrorKind::Disconnected, format!("cannot publish: {e}")))
    }

    /// Waits until every publish in the window is confirmed.
    async fn confirm_all(&self, window: &mut VecDeque<Pending>) -> Result<(), String> {
        while !window.is_empty() {
            self.confirm_front(window).await?;
        }
        Ok(())
    }

    /// Waits for the oldest publish's acknowledgement; on a timeout or a broken
    /// link, sends every unconfirmed publish again (same message ids, same order)
    /// until the send timeout runs out, then says why.
    async fn confirm_front(&self, window: &mut VecDeque<Pending>) -> Result<(), String> {
        let started = Instant::now();
        loop {
            let front = window
                .front_mut()
                .expect("confirm_front needs a pending publish");
            let outcome = match front.ack.take() {
                Some(ack) => ack.await.map(drop).map_err(|e| e.to_string()),
                None => Err("the publish did not leave".to_owned()),
            };
            match outcome {
                Ok(()) => {
                    window.pop_front();
                    return Ok(());
                }
                Err(why) if started.elapsed() >= self.send_timeout => return Err(why),
                Err(why) => {
                    tracing::debug!(%why, unconfirmed = window.len(), "publishing the window again");
                    for p in window.iter_mut() {
                        p.ack = None;
                        p.ack = self.publish(p).await.ok();
                    }
                    if window.iter().all(|p| p.ack.is_none()) {
                        // The client cannot even queue: back off before the next try
                        // (a retry pace, not a wait for readiness).
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }
}
