//! `Slot`: one worker position — the current worker, what it accepted, and its
//! replacement from the factory when it fails. Shared by `Pool` and `Supervised`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use consumer::{Error, ErrorKind, SendError};

use crate::supervisor::{Supervisor, Worker};

enum State<T> {
    Running(Worker<T>),
    /// The policy gave up on this slot (or the factory failed): the whole has failed.
    Failed,
    Closed,
}

/// One worker position.
pub(crate) struct Slot<T> {
    index: usize,
    state: State<T>,
    /// Items the current worker accepted: what is undelivered or in doubt when it
    /// fails without a count.
    generation: u64,
}

impl<T> std::fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            State::Running(_) => "running",
            State::Failed => "failed",
            State::Closed => "closed",
        };
        f.debug_struct("Slot")
            .field("index", &self.index)
            .field("state", &state)
            .field("generation", &self.generation)
            .finish()
    }
}

/// The items of one send: the one handed back by a failed worker first, then the rest.
/// Counts what the worker took. A panic in the producer's iterator ends the batch and
/// is kept, to be resumed in the producer once the worker returns: it is not the
/// worker's (decision 0008's rule for `Inline`).
struct Feed<'a, T> {
    front: Option<T>,
    rest: &'a mut dyn Iterator<Item = T>,
    taken: u64,
    panic: Option<Box<dyn Any + Send>>,
}

impl<T> Iterator for Feed<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let item = match self.front.take() {
            Some(item) => Some(item),
            None if self.panic.is_some() => None,
            None => catch_unwind(AssertUnwindSafe(|| self.rest.next())).unwrap_or_else(|p| {
                self.panic = Some(p);
                None
            }),
        };
        self.taken += u64::from(item.is_some());
        item
    }
}

impl<T> Feed<'_, T> {
    /// Fails the send with `error`, handing back the next item (none left: `Ok`).
    fn refuse(mut self, error: Error) -> Result<(), SendError<T>> {
        match self.front.take().or_else(|| self.rest.next()) {
            Some(item) => Err(SendError::new(item, error)),
            None => Ok(()),
        }
    }
}

/// A failure of the way to the consumer rather than of the consumer: what was sent
/// may or may not have arrived.
fn lost_link(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Exit
            | ErrorKind::Disconnected
            | ErrorKind::Io
            | ErrorKind::Protocol
            | ErrorKind::Timeout
    )
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the pool is closed")
}

impl<T> Slot<T> {
    pub(crate) fn new(index: usize, worker: Worker<T>) -> Slot<T> {
        Slot {
            index,
            state: State::Running(worker),
            generation: 0,
        }
    }

    /// Sends `items` to the worker, in order; restarts the worker when it fails (the
    /// item it handed back goes to the new worker first). Returns how many items
    /// workers accepted in this call, and the outcome.
    pub(crate) fn send_batch(
        &mut self,
        sup: &Supervisor<T>,
        items: &mut dyn Iterator<Item = T>,
    ) -> (u64, Result<(), SendError<T>>) {
        let mut feed = Feed {
            front: None,
            rest: items,
            taken: 0,
            panic: None,
        };
        let mut accepted = 0;
        loop {
            if let Some(failure) = sup.failure() {
                return (accepted, feed.refuse(failure.clone()));
            }
            let worker = match &mut self.state {
                State::Running(worker) => worker,
                State::Closed => return (accepted, feed.refuse(closed())),
                // Only with the failure of the whole set, which was looked at above.
                State::Failed => return (accepted, feed.refuse(closed())),
            };
            feed.taken = 0;
            let (error, in_line_panic) =
                match catch_unwind(AssertUnwindSafe(|| worker.send_batch(&mut feed))) {
                    Ok(Ok(())) => {
                        self.took(sup, feed.taken);
                        if let Some(panic) = feed.panic.take() {
                            resume_unwind(panic);
                        }
                        return (accepted + feed.taken, Ok(()));
                    }
                    Ok(Err(e)) => {
                        let (item, error) = e.into_parts();
                        // The item handed back was not accepted; a lost one was.
                        let took = feed.taken - u64::from(item.is_some());
                        self.took(sup, took);
                        accepted += took;
                        feed.front = item;
                        (error, false)
                    }
                    Err(panic) => {
                        // A worker that is a plain consumer panicked in our thread:
                        // every item it took reached it, the last one included.
                        self.took(sup, feed.taken);
                        accepted += feed.taken;
                        (Error::from_panic(panic.as_ref(), 0), true)
                    }
                };
            let replaced = self.replace(sup, error, !in_line_panic);
            if let Some(panic) = feed.panic.take() {
                resume_unwind(panic);
            }
            if let Err(failure) = replaced {
                let refused = match feed.front.take() {
                    Some(item) => Err(SendError::new(item, failure)),
                    None => Err(SendError::lost(failure)),
                };
                return (accepted, refused);
            }
        }
    }

    fn took(&mut self, sup: &Supervisor<T>, n: u64) {
        self.generation += n;
        sup.tally.accepted(n);
    }

    /// Accounts for the failed worker — closing it, unless it panicked in our thread —
    /// and puts a new one in its place, or fails the whole.
    fn replace(&mut self, sup: &Supervisor<T>, cause: Error, close: bool) -> Result<(), Error> {
        let old = std::mem::replace(&mut self.state, State::Failed);
        let cause = match old {
            State::Running(mut worker) if close => match self.close_worker(sup, &mut worker) {
                Ok(()) => cause,
                Err(e) => e,
            },
            _ => {
                // Panicked in-line: it handled everything it took.
                self.generation = 0;
                cause
            }
        };
        let worker = sup.restart(self.index, cause)?;
        self.state = State::Running(worker);
        Ok(())
    }

    /// Closes `worker` and accounts for the items it accepted and never handled.
    fn close_worker(&mut self, sup: &Supervisor<T>, worker: &mut Worker<T>) -> Result<(), Error> {
        let generation = std::mem::take(&mut self.generation);
        let outcome = match catch_unwind(AssertUnwindSafe(|| worker.close())) {
            Ok(outcome) => outcome,
            Err(panic) => Err(Error::from_panic(panic.as_ref(), 0)),
        };
        if let Err(e) = &outcome {
            match e.undelivered() {
                Some(n) => sup.tally.undelivered(n),
                None if lost_link(e.kind()) => sup.tally.in_doubt(generation),
                // The consumer's own failure, with nothing said of lost items: an
                // in-line worker handled each item in its send; a runner's close
                // fails only after the drain the contract promises.
                None => {}
            }
        }
        outcome
    }

    /// Closes the worker, draining it; no restart after this.
    pub(crate) fn close(&mut self, sup: &Supervisor<T>) -> Result<(), Error> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Running(mut worker) => self.close_worker(sup, &mut worker),
            State::Failed | State::Closed => Ok(()),
        }
    }

    /// Flushes the worker.
    pub(crate) fn flush(&mut self) -> Result<(), Error> {
        match &mut self.state {
            State::Running(worker) => worker.flush(),
            State::Failed | State::Closed => Ok(()),
        }
    }
}
