//! `Supervisor`: the factory, the restart policy and the one failure of a whole
//! (a pool or a supervised worker), and the outcome its `close` reports.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;
use std::time::Instant;

use consumer::{Consumer, Error};
use parking_lot::Mutex;

use crate::counts::{Counts, Tally};
use crate::restart::{Intensity, Restart};

/// A worker as the pool holds it: any consumer, behind a box.
pub(crate) type Worker<T> = Box<dyn Consumer<T> + Send>;

/// Makes worker number `index` (again, after a failure).
pub(crate) type Factory<T> = Box<dyn FnMut(usize) -> Result<Worker<T>, Error> + Send>;

/// Boxes a user's factory of any consumer type.
pub(crate) fn boxed<T, C, F>(mut factory: F) -> Factory<T>
where
    F: FnMut(usize) -> Result<C, Error> + Send + 'static,
    C: Consumer<T> + Send + 'static,
{
    Box::new(move |index| factory(index).map(|c| Box::new(c) as Worker<T>))
}

pub(crate) struct Supervisor<T> {
    factory: Mutex<Factory<T>>,
    intensity: Mutex<Intensity>,
    /// Set once, when the policy gives up: every later send returns it.
    failure: OnceLock<Error>,
    /// The last failure a restart recovered from, to name what lost items.
    last_cause: Mutex<Option<Error>>,
    pub(crate) tally: Tally,
}

impl<T> std::fmt::Debug for Supervisor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Supervisor")
            .field("policy", &self.intensity.lock().policy())
            .field("failure", &self.failure.get())
            .field("counts", &self.tally.snapshot())
            .finish_non_exhaustive()
    }
}

impl<T> Supervisor<T> {
    pub(crate) fn new(policy: Restart, factory: Factory<T>) -> Supervisor<T> {
        Supervisor {
            factory: Mutex::new(factory),
            intensity: Mutex::new(Intensity::new(policy)),
            failure: OnceLock::new(),
            last_cause: Mutex::new(None),
            tally: Tally::default(),
        }
    }

    /// Worker `index` from the factory; a panic in the factory is an error.
    pub(crate) fn start(&self, index: usize) -> Result<Worker<T>, Error> {
        let mut factory = self.factory.lock();
        match catch_unwind(AssertUnwindSafe(|| factory(index))) {
            Ok(made) => made,
            Err(panic) => Err(Error::from_panic(panic.as_ref(), 0)),
        }
    }

    /// The failure that ended the whole, if it has.
    pub(crate) fn failure(&self) -> Option<&Error> {
        self.failure.get()
    }

    fn give_up(&self, error: Error) -> Error {
        self.failure
            .get_or_init(|| {
                // Every error after the failure carries the count `close` reports
                // (exact: none while items are in doubt).
                let counts = self.tally.snapshot();
                if counts.in_doubt == 0 {
                    error.with_undelivered(counts.undelivered)
                } else {
                    error
                }
            })
            .clone()
    }

    /// A new worker `index` in place of one that failed with `cause` — after the
    /// backoff — or the failure of the whole when the policy allows no more restarts
    /// or the factory fails.
    pub(crate) fn restart(&self, index: usize, cause: Error) -> Result<Worker<T>, Error> {
        if let Some(failure) = self.failure() {
            return Err(failure.clone());
        }
        let (admitted, policy) = {
            let mut intensity = self.intensity.lock();
            (intensity.admit(Instant::now()), intensity.policy())
        };
        let Some(backoff) = admitted else {
            return Err(self.give_up(exceeded(index, policy, cause)));
        };
        std::thread::sleep(backoff);
        self.tally.restarted();
        let started = self.start(index);
        *self.last_cause.lock() = Some(cause.clone());
        started.map_err(|e| {
            let message = format!("restarting worker {index} after it failed ({cause}): {e}");
            self.give_up(Error::new(e.kind(), message).with_source(e))
        })
    }

    /// What `close` reports for the whole, once every worker was closed: `Ok` only
    /// when nothing failed and every accepted item was delivered. `closes` holds the
    /// workers whose close returned an error.
    pub(crate) fn outcome(&self, closes: Vec<(usize, Error)>) -> Result<(), Error> {
        let counts = self.tally.snapshot();
        let lost = counts.undelivered > 0 || counts.in_doubt > 0;
        let failure = self.failure().cloned();
        if failure.is_none() && closes.is_empty() && !lost {
            return Ok(());
        }
        let mut parts = Vec::new();
        let mut kind = None;
        if let Some(f) = &failure {
            kind = Some(f.kind());
            parts.push(message_of(f));
        }
        for (index, e) in &closes {
            kind.get_or_insert(e.kind());
            parts.push(format!("closing worker {index}: {}", message_of(e)));
        }
        if kind.is_none() {
            // Only a recovered failure lost items: name it.
            let cause = self.last_cause.lock().clone();
            kind = Some(
                cause
                    .as_ref()
                    .map_or(consumer::ErrorKind::Other, Error::kind),
            );
            if let Some(cause) = cause {
                parts.push(format!("the last worker failure: {}", message_of(&cause)));
            }
        }
        parts.push(summary(&counts));
        let error = Error::new(kind.unwrap_or(consumer::ErrorKind::Other), parts.join("; "));
        // A count, where there is one, is exact: none while items are in doubt.
        Err(if counts.in_doubt == 0 {
            error.with_undelivered(counts.undelivered)
        } else {
            error
        })
    }
}

fn message_of(e: &Error) -> String {
    e.message().map_or_else(|| e.to_string(), str::to_owned)
}

fn summary(c: &Counts) -> String {
    let mut s = format!(
        "{} accepted, {} undelivered, {} restarts",
        c.accepted, c.undelivered, c.restarts
    );
    if c.in_doubt > 0 {
        s.push_str(&format!(
            ", and {} in doubt (sent to workers that died without saying how many they handled)",
            c.in_doubt
        ));
    }
    s
}

/// The failure of the whole when the policy allows no more restarts: the kind of the
/// worker's failure, and both what happened and why nothing more is tried.
fn exceeded(index: usize, policy: Restart, cause: Error) -> Error {
    if policy.max_restarts() == 0 {
        // No restarts at all: the worker's failure is reported as it was.
        return Error::new(cause.kind(), message_of(&cause));
    }
    let message = format!(
        "worker {index} failed after {} restarts within {:?}, the most the restart policy \
         allows; giving up: {}",
        policy.max_restarts(),
        policy.window(),
        message_of(&cause)
    );
    Error::new(cause.kind(), message).with_source(cause)
}
