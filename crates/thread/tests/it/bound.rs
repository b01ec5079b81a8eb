//! The mailbox's bound is in items: with `send_all` (batches) and 64 KiB items, the
//! items alive at once never exceed the bound, counted exactly (each item counts
//! itself in and out).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use consumer::from_fn;
use consumer_thread::Builder;

use crate::util::{wait_until_blocked, within};

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

/// One producer `send_all`s `total` items into a mailbox of `capacity` whose consumer
/// holds its first item until the producer is blocked on the full mailbox; returns
/// the most items alive at once.
fn most_alive(capacity: usize, total: usize) -> usize {
    let live = Arc::new(Live::default());
    let (held, holding) = crossbeam_channel::bounded::<()>(1);
    let (release, released) = crossbeam_channel::bounded::<()>(1);
    let mut first = true;
    let runner = Builder::new()
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
    let h = runner.handle();
    let source = Arc::clone(&live);
    let producer = thread::Builder::new()
        .name("big-producer".into())
        .spawn(move || h.send_all((0..total).map(|_| Big::new(&source))))
        .expect("spawn");
    holding.recv().expect("the consumer holds its first item");
    wait_until_blocked("big-producer");
    let at_the_bound = live.now.load(Ordering::SeqCst);
    release.send(()).expect("the consumer waits");
    producer.join().expect("producer").expect("send_all");
    runner.join().expect("join");
    assert_eq!(live.now.load(Ordering::SeqCst), 0, "every item dropped");
    // The producer ran ahead of the consumer until the bound stopped it (a full
    // channel, or no credit left for batches).
    assert!(
        at_the_bound >= 2.min(capacity + 1),
        "{at_the_bound} alive at the block, capacity {capacity}"
    );
    live.most.load(Ordering::SeqCst)
}

#[test]
fn send_all_of_64_kib_items_stays_within_the_bound_in_items() {
    for (capacity, total) in [(1024, 4_000), (64, 1_000), (3, 100), (1, 50)] {
        let most = within("a bounded send_all", move || most_alive(capacity, total));
        // The mailbox's `capacity` items, the one in the consumer's hands and the one
        // the blocked producer holds: (capacity + 2) × 64 KiB, never more. (Counted
        // as messages, a mailbox of 1024 held up to 262,144 items: 16 GiB.)
        assert!(
            most <= capacity + 2,
            "capacity {capacity}: {most} items of 64 KiB alive at once"
        );
    }
}

/// `send_all` blocks only at the bound: with the consumer holding its first item and
/// the batches' share of the room used up, items that fit still go in (one by one),
/// so a producer that signals its consumer after `send_all` does not deadlock.
#[test]
fn send_all_returns_while_the_mailbox_has_room_in_items() {
    within("a send_all that fits", || {
        let (release, released) = crossbeam_channel::bounded::<()>(1);
        let mut first = true;
        let runner = Builder::new()
            .capacity(1024)
            .spawn(from_fn(move |_: u32| {
                if first {
                    first = false;
                    released.recv().expect("the test releases");
                }
            }))
            .expect("spawn");
        // 900 < 1024, though more than the two batches' worth of credit.
        runner.send_all(0..900).expect("send_all");
        release.send(()).expect("the consumer waits");
        let stats = runner.stats();
        assert_eq!(stats.accepted, 900);
        runner.join().expect("join");
    });
}
