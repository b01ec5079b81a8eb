//! 4 producers × 1,000,000 items (two one by one, two in batches) through a keyed
//! pool of 3 workers — threads, then child processes: each key's order kept, nothing
//! lost or duplicated, each worker closed once.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use consumer::Consumer;
use consumer_pool::{Counts, Dispatch, Pool, Restart};

use crate::support::{Checker, Item, Seen, check_keys, child, children_seen, key, scratch, within};

const PRODUCERS: u32 = 4;
const ITEMS: u64 = 1_000_000;
/// Items per `send_all`, for the producers that batch.
const BATCH: u64 = 1_000;

/// Every producer sends `(p, 0..ITEMS)` through its own clone: producers 0 and 1 one
/// item at a time, 2 and 3 in batches (`send_all`, sorted by key inside the pool), so
/// both paths meet in the same workers.
fn produce(pool: &Pool<Item>) {
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let mut h = pool.clone();
            thread::spawn(move || {
                if p < 2 {
                    (0..ITEMS).for_each(|s| h.send((p, s)).expect("send"));
                    return;
                }
                let mut seq = 0;
                while seq < ITEMS {
                    let end = (seq + BATCH).min(ITEMS);
                    h.send_all((seq..end).map(|s| (p, s))).expect("send_all");
                    seq = end;
                }
            })
        })
        .collect();
    for p in producers {
        p.join().expect("producer");
    }
}

fn all_delivered(counts: Counts) {
    let total = u64::from(PRODUCERS) * ITEMS;
    assert_eq!(
        (
            counts.accepted,
            counts.undelivered,
            counts.in_doubt,
            counts.restarts
        ),
        (total, 0, 0, 0)
    );
}

#[test]
fn three_thread_workers_keep_every_keys_order() {
    within(300, "4 × 1,000,000 items through 3 thread workers", || {
        let all = Arc::new(Mutex::new(Vec::new()));
        let registry = all.clone();
        let started = Instant::now();
        let mut pool = Pool::builder(3)
            .dispatch(Dispatch::by_key(key))
            .restart(Restart::never())
            .build(move |i| Ok(consumer_thread::spawn(Checker::new(i, &registry, None))))
            .expect("pool");
        produce(&pool);
        pool.close().expect("close");
        eprintln!(
            "3 thread workers, 4 × 1,000,000 items: {:?}",
            started.elapsed()
        );
        let seen: Vec<Seen> = all
            .lock()
            .unwrap()
            .iter()
            .map(|s| s.lock().unwrap().clone())
            .collect();
        assert_eq!(seen.len(), 3, "one worker each, none restarted");
        assert!(
            seen.iter().all(|s| s.closes == 1),
            "each worker closed once"
        );
        assert!(seen.iter().all(|s| s.items() > 0), "every worker got keys");
        assert_eq!(check_keys(&seen, false), u64::from(PRODUCERS) * ITEMS);
        all_delivered(pool.counts());
    });
}

#[test]
fn three_process_workers_keep_every_keys_order() {
    within(
        300,
        "4 × 1,000,000 items through 3 process workers",
        || {
            let dir = scratch("keyed");
            let pids = Arc::new(Mutex::new(Vec::new()));
            let (d, p) = (dir.clone(), pids.clone());
            let started = Instant::now();
            let mut pool = Pool::builder(3)
                .dispatch(Dispatch::by_key(key))
                .restart(Restart::never())
                .build(move |i| child("checker", i, &d, &p))
                .expect("pool");
            produce(&pool);
            pool.close().expect("close");
            eprintln!(
                "3 process workers, 4 × 1,000,000 items: {:?}",
                started.elapsed()
            );
            let seen: Vec<Seen> = children_seen(&dir).into_iter().map(|(_, s)| s).collect();
            assert_eq!(seen.len(), 3, "one child each, none restarted");
            assert!(
                seen.iter().all(|s| s.closes == 1),
                "each worker closed once"
            );
            assert_eq!(check_keys(&seen, false), u64::from(PRODUCERS) * ITEMS);
            all_delivered(pool.counts());
            let _ = std::fs::remove_dir_all(&dir);
        },
    );
}
