//! Delivery and order under load: many producers, blocking and async sends.

use std::thread;

use consumer_coroutine::{Builder, Placement};

use crate::support::{Ordered, multi_thread, watchdog};

/// The thread runner's test, through a task: 4 producers × 2.5 M items, each
/// producer's order kept, nothing lost, close last.
#[test]
fn four_producers_of_two_and_a_half_million_items_keep_order() {
    const PRODUCERS: u32 = 4;
    const ITEMS: u64 = 2_500_000;
    let _watchdog = watchdog("4 x 2.5 M items through a task");
    let rt = multi_thread();
    for placement in [Placement::InLine, Placement::BlockingPool] {
        let ordered = Ordered::new(PRODUCERS as usize);
        let task = Builder::new()
            .runtime(rt.handle().clone())
            .placement(placement)
            .spawn(ordered.clone())
            .unwrap();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let task = task.clone();
                thread::spawn(move || task.send_all((0..ITEMS).map(|seq| (p, seq))))
            })
            .collect();
        for p in producers {
            p.join().unwrap().unwrap();
        }
        task.close().unwrap();
        assert_eq!(
            ordered.counts(),
            vec![ITEMS; PRODUCERS as usize],
            "{placement:?}"
        );
        assert!(ordered.is_closed());
    }
}

/// Blocking sends from plain threads and async sends from tasks, into one handle at
/// once: every producer's order kept, nothing lost.
#[test]
fn blocking_and_async_senders_mixed() {
    const THREADS: u32 = 2;
    const TASKS: u32 = 2;
    const ITEMS: u64 = 200_000;
    let _watchdog = watchdog("blocking and async senders mixed");
    let rt = multi_thread();
    let ordered = Ordered::new((THREADS + TASKS) as usize);
    let task = Builder::new()
        .runtime(rt.handle().clone())
        .capacity(64)
        .spawn(ordered.clone())
        .unwrap();
    let threads: Vec<_> = (0..THREADS)
        .map(|p| {
            let task = task.clone();
            thread::spawn(move || {
                for seq in 0..ITEMS {
                    task.send((p, seq)).unwrap();
                }
            })
        })
        .collect();
    let tasks: Vec<_> = (THREADS..THREADS + TASKS)
        .map(|p| {
            let task = task.clone();
            rt.spawn(async move {
                for seq in 0..ITEMS {
                    task.send_async((p, seq)).await.unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    task.close().unwrap();
    assert_eq!(ordered.counts(), vec![ITEMS; (THREADS + TASKS) as usize]);
}
