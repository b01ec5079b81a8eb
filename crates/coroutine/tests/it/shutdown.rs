//! The end of a `#[tokio::main]`: the last handle dropped in the runtime's main
//! future, then the runtime dropped. On a multi-thread runtime the drop waits, so
//! nothing is lost; where it cannot wait (a current-thread runtime), what is lost is
//! said loudly: an error-level event, and an error on the next call of a live handle.

use std::sync::{Arc, Mutex};

use consumer::{ErrorKind, from_fn};
use consumer_coroutine::{Builder, Placement};
use tracing::Level;

use crate::support::{Events, current_thread, multi_thread, watchdog};

const ITEMS: u64 = 500;
const PLACEMENTS: [Placement; 2] = [Placement::InLine, Placement::BlockingPool];

/// What a consumer saw: how many items, and whether its `close` ran.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<(u64, bool)>>);

impl Seen {
    fn consumer(&self) -> impl consumer::Consumer<u64> + Send + 'static {
        let (items, closed) = (self.clone(), self.clone());
        from_fn(move |_: u64| items.0.lock().unwrap().0 += 1).on_close(move || {
            closed.0.lock().unwrap().1 = true;
            Ok(())
        })
    }
    fn get(&self) -> (u64, bool) {
        *self.0.lock().unwrap()
    }
}

/// `#[tokio::main] async fn main() { let task = spawn(c); send ...; }` — the handle
/// goes at the end of the main future, then the runtime. Repeated: the loss this
/// guards against was a race (139 of 200 runs lost items).
#[test]
fn the_last_drop_at_the_end_of_a_multi_thread_main_delivers_everything() {
    let _watchdog = watchdog("the end of a multi-thread main");
    for placement in PLACEMENTS {
        for round in 0..20 {
            let seen = Seen::default();
            let rt = multi_thread();
            rt.block_on(async {
                let task = Builder::new()
                    .placement(placement)
                    .spawn(seen.consumer())
                    .unwrap();
                for n in 0..ITEMS {
                    task.send_async(n).await.unwrap();
                }
                drop(task); // waits: a multi-thread runtime allows it
            });
            drop(rt);
            assert_eq!(seen.get(), (ITEMS, true), "{placement:?}, round {round}");
        }
    }
}

/// A current-thread runtime cannot wait in the drop, and dropping the runtime
/// right after drops the run: the loss is an error-level event naming the consumer
/// and the count.
#[test]
fn the_last_drop_at_the_end_of_a_current_thread_main_reports_what_is_lost() {
    for placement in PLACEMENTS {
        let events = Events::default();
        let seen = Seen::default();
        tracing::subscriber::with_default(events.clone(), || {
            let rt = current_thread();
            rt.block_on(async {
                let task = Builder::new()
                    .name("tally")
                    .placement(placement)
                    .spawn(seen.consumer())
                    .unwrap();
                for n in 0..ITEMS {
                    task.send_async(n).await.unwrap();
                }
                drop(task); // cannot wait here
            });
            drop(rt);
        });
        let (delivered, closed) = seen.get();
        if (delivered, closed) == (ITEMS, true) {
            continue; // the runtime got to run it all: nothing to report
        }
        let lost = ITEMS - delivered;
        let errors = events.at(Level::ERROR);
        assert!(
            errors
                .iter()
                .any(|e| e.contains("consumer=tally") && e.contains(&format!("undelivered={lost}"))),
            "{placement:?}: {lost} lost, errors: {errors:?}"
        );
    }
}

/// A live handle whose runtime went with items in the mailbox: its next call says
/// how many were lost.
#[test]
fn a_live_handle_learns_how_many_items_its_runtime_dropped() {
    for placement in PLACEMENTS {
        let rt = current_thread();
        let task = Builder::new()
            .runtime(rt.handle().clone())
            .placement(placement)
            .spawn(Vec::<u32>::new())
            .unwrap();
        task.send_all(0..10).unwrap(); // into the mailbox; the runtime never runs
        drop(rt);
        let e = task.send(10).unwrap_err();
        assert_eq!(e.error().kind(), ErrorKind::Disconnected, "{placement:?}");
        assert_eq!(e.error().undelivered(), Some(10), "{placement:?}: {e}");
        let e = task.close().unwrap_err();
        assert_eq!(e.undelivered(), Some(10), "{placement:?}: {e}");
    }
}
