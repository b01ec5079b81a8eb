//! Delivery under load: 4 producers × 2.5 M tagged items through one runner, every
//! item exactly once, each producer's order kept, and nothing leaked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;

use consumer::{Consumer, SendError};

use crate::util::within;

const PRODUCERS: u32 = 4;
/// The 2.5 M per producer. The test build is unoptimised, yet this stays
/// within seconds: items are 16 bytes and the consumer's check is a compare.
const ITEMS: u64 = 2_500_000;

/// Drops of [`Tagged`] items; only this test makes them.
static DROPS: AtomicU64 = AtomicU64::new(0);

/// An item tagged `(producer, seq)` that counts its drops.
struct Tagged {
    producer: u32,
    seq: u64,
}

impl Drop for Tagged {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

/// Checks each producer's sequence as it arrives; counts per producer.
struct InOrder {
    next: Vec<u64>,
}

impl Consumer<Tagged> for InOrder {
    fn send(&mut self, item: Tagged) -> Result<(), SendError<Tagged>> {
        let next = &mut self.next[item.producer as usize];
        assert_eq!(
            item.seq, *next,
            "producer {}'s items out of order",
            item.producer
        );
        *next += 1;
        Ok(())
    }
}

#[test]
fn four_producers_every_item_once_in_order_nothing_leaked() {
    let per_producer = within("delivering 10 M items", move || {
        let runner = consumer_thread::spawn(InOrder {
            next: vec![0; PRODUCERS as usize],
        });
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|producer| {
                let h = runner.handle();
                thread::spawn(move || {
                    // Half one by one, half in batches: both paths keep the order.
                    for seq in 0..ITEMS / 2 {
                        h.send(Tagged { producer, seq }).expect("send");
                    }
                    h.send_all((ITEMS / 2..ITEMS).map(|seq| Tagged { producer, seq }))
                        .expect("send_all");
                })
            })
            .collect();
        for p in producers {
            p.join().expect("producer");
        }
        runner.join().expect("join").next
    });
    assert_eq!(per_producer, vec![ITEMS; PRODUCERS as usize]);
    assert_eq!(
        DROPS.load(Ordering::Relaxed),
        u64::from(PRODUCERS) * ITEMS,
        "every item dropped exactly once"
    );
}
