//! The conformance suite, for a pool and for a supervised worker: the whole keeps
//! the contract a single runner keeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use consumer::testing::{Item, Probe, Suite};
use consumer::{Consumer, Error, ErrorKind, Inline, SendError, Shared};
use consumer_pool::{Dispatch, Pool, Restart, Supervised};

/// One of several workers in front of one probe: the probe's close runs when the
/// last part closes, so "the consumer" of the suite is the pool's workers together.
struct Part {
    probe: Shared<Probe>,
    open: Arc<AtomicUsize>,
}

impl Consumer<Item> for Part {
    fn send(&mut self, item: Item) -> Result<(), SendError<Item>> {
        self.probe.send(item)
    }
    fn close(&mut self) -> Result<(), Error> {
        if self.open.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.probe.close()
        } else {
            Ok(())
        }
    }
}

/// A factory that hands out the one probe once: a worker that fails cannot be
/// restarted with it (the suite runs these with `Restart::never`).
fn once(probe: Probe) -> impl FnMut(usize) -> Result<consumer_thread::Runner<Probe, Item>, Error> {
    let mut probe = Some(probe);
    move |_| {
        probe
            .take()
            .map(consumer_thread::spawn)
            .ok_or_else(|| Error::new(ErrorKind::Usage, "the probe was used already"))
    }
}

#[test]
fn a_keyed_pool_of_three_thread_workers_passes_the_suite() {
    Suite::new("pool: keyed, 3 thread workers")
        .items(2_000)
        .timeout(Duration::from_secs(60))
        .run(|probe| {
            let probe = Inline::new(probe).shared();
            let open = Arc::new(AtomicUsize::new(3));
            Pool::builder(3)
                .dispatch(Dispatch::by_key(|item: &Item| item.0))
                .restart(Restart::never())
                .build(move |_| {
                    Ok(consumer_thread::spawn(Part {
                        probe: probe.clone(),
                        open: open.clone(),
                    }))
                })
                .expect("pool")
        });
}

#[test]
fn a_least_loaded_pool_of_one_thread_worker_passes_the_suite() {
    Suite::new("pool: least-loaded, 1 thread worker")
        .items(2_000)
        .timeout(Duration::from_secs(60))
        .run(|probe| {
            Pool::builder(1)
                .restart(Restart::never())
                .build(once(probe))
                .expect("pool")
        });
}

#[test]
fn a_supervised_thread_worker_passes_the_suite() {
    Suite::new("supervised thread worker")
        .items(2_000)
        .timeout(Duration::from_secs(60))
        .run(|probe| {
            // Not `Clone`: shared between the suite's producers behind a lock.
            Inline::new(Supervised::new(Restart::never(), once(probe)).expect("supervised"))
                .shared()
        });
}

/// Handles cross threads: a pool's clones go to producers, a supervised worker moves.
#[test]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Pool<Vec<u8>>>();
    send::<Supervised<Vec<u8>>>();
    send_sync::<consumer_pool::Counts>();
    send_sync::<Restart>();
    send_sync::<Dispatch<Vec<u8>>>();
}
