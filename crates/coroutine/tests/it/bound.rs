//! The mailbox's bound is in items: with `send_all` and 64 KiB items, the items alive
//! at once never exceed the bound, counted exactly (each item counts itself in and
//! out), on both placements.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use consumer::from_fn;
use consumer_coroutine::{Builder, Placement};

use crate::support::{multi_thread, wait_until_blocked, watchdog};

/// 64 KiB that counts how many of its kind are alive, and the most ever alive.
struct Big {
    _bytes: Vec<u8>,
    live: Arc<Live>,
}

#[derive(Default)]
struct Live {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Big {
    fn new(live: &Arc<Live>) -> Big {
        let now = live.now.fetch_add(1, Ordering::SeqCst) + 1;
        live.most.fetch_max(now, Ordering::SeqCst);
        Big {
            _bytes: vec![1; 64 * 1024],
            live: Arc::clone(live),
        }
    }
}

impl Drop for Big {
    fn drop(&mut self) {
        self.live.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One producer thread `send_all`s `total` items into a mailbox of `capacity` whose
/// consumer holds its first item until the producer is blocked on the full mailbox;
/// returns the most items alive at once.
fn most_alive(placement: Placement, capacity: usize, total: usize) -> usize {
    let rt = multi_thread();
    let live = Arc::new(Live::default());
    let (held, holding) = std::sync::mpsc::sync_channel::<()>(1);
    let (release, released) = std::sync::mpsc::sync_channel::<()>(1);
    let mut first = true;
    let task = Builder::new()
        .runtime(rt.handle().clone())
        .placement(placement)
        .capacity(capacity)
        .spawn(from_fn(move |item: Big| {
            if first {
                first = false;
                held.send(()).expect("the test waits");
                released.recv().expect("the test releases");
            }
            drop(item);
        }))
        .expect("spawn");
    let producer_task = task.clone();
    let source = Arc::clone(&live);
    let producer = thread::Builder::new()
        .name("big-producer".into())
        .spawn(move || producer_task.send_all((0..total).map(|_| Big::new(&source))))
        .expect("spawn");
    holding.recv().expect("the consumer holds its first item");
    wait_until_blocked("big-producer");
    let at_the_bound = live.now.load(Ordering::SeqCst);
    let queued = task.stats().queued;
    release.send(()).expect("the consumer waits");
    producer.join().expect("producer").expect("send_all");
    task.close().expect("close");
    assert_eq!(live.now.load(Ordering::SeqCst), 0, "every item dropped");
    let stats = task.stats();
    assert_eq!(
        (stats.accepted, stats.delivered),
        (total as u64, total as u64)
    );
    // The mailbox filled up: the producer blocked only once it was full.
    assert!(
        at_the_bound > capacity / 2,
        "{placement:?}: {at_the_bound} alive at the block, capacity {capacity}"
    );
    assert!(
        queued as usize <= capacity,
        "{placement:?}: {queued} queued"
    );
    live.most.load(Ordering::SeqCst)
}

#[test]
fn send_all_of_64_kib_items_stays_within_the_bound_in_items() {
    let _watchdog = watchdog("a bounded send_all");
    for placement in [Placement::InLine, Placement::BlockingPool] {
        for (capacity, total) in [(1024, 4_000), (64, 1_000), (3, 100), (1, 50)] {
            let most = most_alive(placement, capacity, total);
            // The mailbox's `capacity` items, the one in the consumer's hands and the
            // one the blocked producer holds: (capacity + 2) × 64 KiB, never more.
            assert!(
                most <= capacity + 2,
                "{placement:?}, capacity {capacity}: {most} items of 64 KiB alive at once"
            );
        }
    }
}
