//! The conformance suite against a producer and a worker joined into one handle.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use consumer::testing::{Item, Probe, Profile, Rule, Suite};
use consumer::{Consumer, Error, SendError};
use consumer_broker::{Broker, LocalServer, Producer, Report, Stop, Worker, WorkerOptions};

/// A producer whose `close` also waits for the worker: the stream drained, the
/// consumer closed. Clones share both.
#[derive(Clone)]
struct Joined(Arc<Mutex<Ends>>);

/// What the worker thread hands back: the worker (to count what is left) and its run.
type WorkerEnd = (Worker<Item>, Result<Report, Error>);

struct Ends {
    producer: Producer<Item>,
    stop: Stop,
    worker: Option<JoinHandle<WorkerEnd>>,
    outcome: Option<Result<(), Error>>,
}

impl Ends {
    fn close(&mut self) -> Result<(), Error> {
        if let Some(outcome) = &self.outcome {
            return outcome.clone();
        }
        let stored = self.producer.close();
        self.stop.drain();
        let worked = match self.worker.take().map(JoinHandle::join) {
            // Counted now that the producer has stored everything it accepted.
            Some(Ok((worker, r))) => r.map(drop).map_err(|e| match worker.pending() {
                Ok(n) => e.with_undelivered(n),
                Err(_) => e,
            }),
            Some(Err(panic)) => Err(Error::from_panic(panic.as_ref(), 0)),
            None => Ok(()),
        };
        let outcome = worked.and(stored);
        self.outcome = Some(outcome.clone());
        outcome
    }
}

impl Drop for Ends {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

impl Consumer<Item> for Joined {
    fn send(&mut self, item: Item) -> Result<(), SendError<Item>> {
        let mut producer = self.0.lock().unwrap().producer.clone();
        producer.send(item)
    }

    fn close(&mut self) -> Result<(), Error> {
        self.0.lock().unwrap().close()
    }
}

fn start(probe: Probe) -> Joined {
    static SERVER: OnceLock<LocalServer> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = SERVER.get_or_init(|| LocalServer::start().unwrap());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let broker = Broker::new(server.url()).stream(&format!("SUITE{n}"), &format!("suite.{n}"));
    let producer = Producer::<Item>::connect(&broker).unwrap();
    let mut worker = Worker::<Item>::connect(&broker, WorkerOptions::new().max_deliver(1)).unwrap();
    let stop = Stop::new();
    let running = stop.clone();
    let worker = std::thread::spawn(move || {
        let r = worker.serve(probe, &running);
        (worker, r)
    });
    Joined(Arc::new(Mutex::new(Ends {
        producer,
        stop,
        worker: Some(worker),
        outcome: None,
    })))
}

#[test]
fn the_broker_keeps_the_contract_it_restates() {
    Suite::new("broker")
        .producers(3)
        .items(1_000)
        .timeout(Duration::from_secs(60))
        .profile(Profile::full().waive(
            Rule::FailureReportedAsIs,
            "producers do not see a worker's failure: it comes back from the worker's run, \
             so a producer's sends go on succeeding (they are stored) and only the joined \
             close reports it",
        ))
        .run(start);
}
