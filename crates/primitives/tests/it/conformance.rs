//! The conformance suite, run against a [`Queue`] paired with the thread that
//! drains it: the notes' `ConsumerThread` (a thread, a queue, `send` = `put`).
//!
//! A queue alone is a mailbox with no consumer to close, to report, or to wait for
//! (see `Queue`'s "As a consumer" docs). What the queue itself promises — order,
//! no loss across `shutdown`, `Closed` with the item back after it, blocked putters
//! woken — is what lets the pair below keep the whole contract with a few lines of
//! glue: the glue only adds what needs a consumer (catching its panics, recording
//! its failure, joining its thread).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};

use consumer::testing::{Item, Probe, Suite};
use consumer::{Consumer, Error, SendError};
use consumer_primitives::Queue;

/// Small enough that producers often wait for room.
const MAXSIZE: usize = 64;

#[derive(Clone)]
struct QueueThread {
    inner: Arc<Inner>,
}

struct Inner {
    queue: Queue<Item>,
    /// Set by the draining thread when the consumer fails, before it shuts the queue.
    failure: Arc<Mutex<Option<Error>>>,
    drain: Mutex<Drain>,
}

enum Drain {
    Running(JoinHandle<Result<(), Error>>),
    Done(Result<(), Error>),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl QueueThread {
    fn start(probe: Probe) -> QueueThread {
        let queue = Queue::with_maxsize(MAXSIZE);
        let failure = Arc::new(Mutex::new(None));
        let drain = {
            let (queue, failure) = (queue.clone(), Arc::clone(&failure));
            thread::spawn(move || drain(&queue, probe, &failure))
        };
        QueueThread {
            inner: Arc::new(Inner {
                queue,
                failure,
                drain: Mutex::new(Drain::Running(drain)),
            }),
        }
    }
}

/// The consumer thread: `get` until the queue is shut down and empty, then close.
fn drain(
    queue: &Queue<Item>,
    mut probe: Probe,
    failure: &Mutex<Option<Error>>,
) -> Result<(), Error> {
    while let Ok(item) = queue.get() {
        match catch_unwind(AssertUnwindSafe(|| probe.send(item))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let e = fail(queue, failure, e.into_error());
                let _ = catch_unwind(AssertUnwindSafe(|| probe.close())); // state intact
                return Err(e);
            }
            Err(payload) => {
                return Err(fail(queue, failure, Error::from_panic(payload.as_ref(), 0)));
            }
        }
    }
    catch_unwind(AssertUnwindSafe(|| probe.close()))
        .unwrap_or_else(|payload| Err(Error::from_panic(payload.as_ref(), 0)))
}

/// Records the failure (so sends refused from now on report it), then empties the
/// queue at once, counting what will never be delivered.
fn fail(queue: &Queue<Item>, failure: &Mutex<Option<Error>>, e: Error) -> Error {
    *lock(failure) = Some(e.clone());
    let undelivered = queue.shutdown_immediate().len() as u64;
    e.with_undelivered(undelivered)
}

impl Inner {
    fn close(&self) -> Result<(), Error> {
        let mut drain = lock(&self.drain);
        if let Drain::Done(outcome) = &*drain {
            return outcome.clone();
        }
        self.queue.shutdown();
        let Drain::Running(handle) = std::mem::replace(&mut *drain, Drain::Done(Ok(()))) else {
            unreachable!("checked above")
        };
        let outcome = handle
            .join()
            .unwrap_or_else(|payload| Err(Error::from_panic(payload.as_ref(), 0)));
        *drain = Drain::Done(outcome.clone());
        outcome
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl Consumer<Item> for QueueThread {
    fn send(&mut self, item: Item) -> Result<(), SendError<Item>> {
        let failed = || lock(&self.inner.failure).clone();
        if let Some(e) = failed() {
            return Err(SendError::new(item, e));
        }
        self.inner
            .queue
            .put(item)
            .map_err(|refused| match failed() {
                // Shut down because the consumer failed: report that, item back.
                Some(e) => match refused.into_item() {
                    Some(item) => SendError::new(item, e),
                    None => SendError::lost(e),
                },
                None => refused,
            })
    }

    fn close(&mut self) -> Result<(), Error> {
        self.inner.close()
    }
}

#[test]
fn a_queue_and_its_draining_thread_pass_the_conformance_suite() {
    Suite::new("queue+thread").run(QueueThread::start);
}
