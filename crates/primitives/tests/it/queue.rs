use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use consumer::{Consumer, ErrorKind};
use consumer_primitives::Queue;

use crate::{PATIENCE, SHORT};

#[test]
fn items_come_out_in_the_order_they_went_in() {
    let q = Queue::new();
    for n in 0..100 {
        q.put(n).unwrap();
    }
    let out: Vec<i32> = (0..100).map(|_| q.get().unwrap()).collect();
    assert_eq!(out, (0..100).collect::<Vec<_>>());
    assert_eq!(q.try_get().unwrap(), None);
}

#[test]
fn non_blocking_and_timed_forms_hand_the_item_back() {
    let q = Queue::with_maxsize(1);
    q.try_put("a").unwrap();
    let e = q.try_put("b").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Full);
    assert_eq!(e.into_item(), Some("b"));

    let t = Instant::now();
    let e = q.put_timeout("c", SHORT).unwrap_err();
    assert!(t.elapsed() >= SHORT, "gave up after {:?}", t.elapsed());
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(e.into_item(), Some("c"));

    assert_eq!(q.get_timeout(SHORT).unwrap(), "a");
    let t = Instant::now();
    let e = q.get_timeout(SHORT).unwrap_err();
    assert!(t.elapsed() >= SHORT, "gave up after {:?}", t.elapsed());
    assert_eq!(e.kind(), ErrorKind::Timeout);
}

/// Property: with producers and consumers racing, a bounded queue never holds more
/// than `maxsize` items, and every item arrives exactly once.
#[test]
fn a_bounded_queue_never_holds_more_than_maxsize() {
    const MAXSIZE: usize = 5;
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 3;
    const ITEMS: usize = 5_000;
    let q = Queue::with_maxsize(MAXSIZE);
    let most = Arc::new(AtomicUsize::new(0));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (q, most) = (q.clone(), Arc::clone(&most));
            thread::spawn(move || {
                for i in 0..ITEMS {
                    let item = p * ITEMS + i;
                    match i % 3 {
                        0 => q.put(item).unwrap(),
                        1 => q.put_timeout(item, PATIENCE).unwrap(),
                        _ => {
                            let mut item = item;
                            // Non-blocking, retried: exercises the full path.
                            while let Err(e) = q.try_put(item) {
                                assert_eq!(e.kind(), ErrorKind::Full);
                                item = e.into_item().unwrap();
                                thread::yield_now();
                            }
                        }
                    }
                    most.fetch_max(q.len(), Ordering::Relaxed);
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let (q, most) = (q.clone(), Arc::clone(&most));
            thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(item) = q.get() {
                    most.fetch_max(q.len(), Ordering::Relaxed);
                    got.push(item);
                }
                got
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    q.shutdown();
    let mut seen = HashSet::new();
    for c in consumers {
        for item in c.join().unwrap() {
            assert!(seen.insert(item), "item {item} delivered twice");
        }
    }
    assert_eq!(seen.len(), PRODUCERS * ITEMS, "items lost");
    let most = most.load(Ordering::Relaxed);
    assert!(most <= MAXSIZE, "held {most} items with maxsize {MAXSIZE}");
}

/// Property: `join` returns only after every item's `task_done`.
#[test]
fn join_returns_only_after_every_task_done() {
    const ITEMS: usize = 2_000;
    const WORKERS: usize = 3;
    let q = Queue::with_maxsize(16);
    let processed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (q, processed) = (q.clone(), Arc::clone(&processed));
            thread::spawn(move || {
                while let Ok(_item) = q.get() {
                    thread::yield_now(); // "work"
                    processed.fetch_add(1, Ordering::SeqCst);
                    q.task_done().unwrap();
                }
            })
        })
        .collect();
    for round in 0..4 {
        for i in 0..ITEMS / 4 {
            q.put(round * ITEMS + i).unwrap();
        }
        q.join();
        assert_eq!(
            processed.load(Ordering::SeqCst),
            (round + 1) * ITEMS / 4,
            "join returned before every task_done"
        );
        assert_eq!(q.unfinished_tasks(), 0);
    }
    q.shutdown();
    for w in workers {
        w.join().unwrap();
    }
}

#[test]
fn join_timeout_reports_unfinished_work() {
    let q = Queue::new();
    q.put(1).unwrap();
    let t = Instant::now();
    assert!(!q.join_timeout(SHORT));
    assert!(t.elapsed() >= SHORT);
    q.get().unwrap();
    assert!(!q.join_timeout(SHORT), "taken is not done");
    q.task_done().unwrap();
    assert!(q.join_timeout(SHORT));
}

#[test]
fn task_done_too_often_is_an_error() {
    let q = Queue::new();
    let e = q.task_done().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    q.put(1).unwrap();
    q.get().unwrap();
    q.task_done().unwrap();
    assert_eq!(q.task_done().unwrap_err().kind(), ErrorKind::Usage);
    assert_eq!(q.unfinished_tasks(), 0);
}

#[test]
fn shutdown_drains_then_closes() {
    let q = Queue::new();
    q.put(1).unwrap();
    q.put(2).unwrap();
    q.shutdown();
    q.shutdown();
    let e = q.put(3).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
    assert_eq!(e.into_item(), Some(3));
    assert_eq!(q.try_put(4).unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(q.get().unwrap(), 1);
    assert_eq!(q.try_get().unwrap(), Some(2));
    assert!(q.get().unwrap_err().is_closed());
    assert!(q.try_get().unwrap_err().is_closed());
    assert!(q.get_timeout(SHORT).unwrap_err().is_closed());
}

#[test]
fn shutdown_wakes_waiting_getters_and_putters() {
    let empty = Queue::<u32>::new();
    let full = Queue::with_maxsize(1);
    full.put(0).unwrap();
    let started = Arc::new(Barrier::new(5));
    let getters: Vec<_> = (0..2)
        .map(|_| {
            let (q, started) = (empty.clone(), Arc::clone(&started));
            thread::spawn(move || {
                started.wait();
                q.get_timeout(PATIENCE).unwrap_err().kind()
            })
        })
        .collect();
    let putters: Vec<_> = (1..3)
        .map(|n| {
            let (q, started) = (full.clone(), Arc::clone(&started));
            thread::spawn(move || {
                started.wait();
                let e = q.put_timeout(n, PATIENCE).unwrap_err();
                (e.kind(), e.into_item())
            })
        })
        .collect();
    started.wait();
    empty.shutdown();
    full.shutdown();
    // Waiting or not yet waiting, each must fail with Closed, not a timeout.
    for g in getters {
        assert_eq!(g.join().unwrap(), ErrorKind::Closed);
    }
    let mut back: Vec<_> = putters.into_iter().map(|p| p.join().unwrap()).collect();
    back.sort_by_key(|(_, item)| *item);
    assert_eq!(
        back,
        [(ErrorKind::Closed, Some(1)), (ErrorKind::Closed, Some(2))]
    );
    assert_eq!(
        full.get().unwrap(),
        0,
        "the queued item survives the shutdown"
    );
}

#[test]
fn shutdown_immediate_hands_back_the_items_and_releases_join() {
    let q = Queue::new();
    for n in 0..5 {
        q.put(n).unwrap();
    }
    let taken = q.get().unwrap();
    let joiner = {
        let q = q.clone();
        thread::spawn(move || q.join_timeout(PATIENCE))
    };
    assert_eq!(q.shutdown_immediate(), [1, 2, 3, 4]);
    assert!(q.get().unwrap_err().is_closed());
    assert_eq!(
        q.unfinished_tasks(),
        1,
        "item {taken} is still being processed"
    );
    q.task_done().unwrap();
    assert!(
        joiner.join().unwrap(),
        "join returns once the taken item is done"
    );
}

#[test]
fn shutdown_immediate_after_early_task_done_does_not_underflow() {
    let q = Queue::new();
    q.put(1).unwrap();
    q.put(2).unwrap();
    q.task_done().unwrap(); // early, as Python allows
    assert_eq!(q.shutdown_immediate(), [1, 2]);
    assert_eq!(q.unfinished_tasks(), 0);
    assert!(q.join_timeout(SHORT));
}

#[test]
fn maxsize_zero_means_no_limit() {
    let q = Queue::with_maxsize(0);
    assert_eq!(q.maxsize(), None);
    for n in 0..10_000 {
        q.try_put(n).unwrap();
    }
    assert!(!q.is_full());
    assert_eq!(q.len(), 10_000);
}

#[test]
fn as_a_consumer_send_puts_and_close_shuts_down() {
    let q = Queue::with_maxsize(4);
    let getter = {
        let q = q.clone();
        thread::spawn(move || {
            let mut got = Vec::new();
            while let Ok(n) = q.get() {
                got.push(n);
            }
            got
        })
    };
    let mut c = q.clone();
    c.send(0).unwrap();
    // A batch larger than the queue: waits for room as it goes.
    c.send_all(1..1_000).unwrap();
    c.close().unwrap();
    c.close().unwrap();
    assert_eq!(Consumer::<u32>::name(&c), "Queue");
    let e = c.send(1_000).unwrap_err();
    assert!(e.error().is_closed());
    assert_eq!(e.into_item(), Some(1_000));
    let e = c.send_all([7, 8]).unwrap_err();
    assert_eq!(
        e.into_item(),
        Some(7),
        "send_all hands back the first refused item"
    );
    assert_eq!(getter.join().unwrap(), (0..1_000).collect::<Vec<_>>());
}

#[test]
fn debug_shows_the_state_without_the_items() {
    struct Opaque;
    let q = Queue::with_maxsize(2);
    assert!(q.try_put(Opaque).is_ok());
    let s = format!("{q:?}");
    assert!(
        s.contains("len: 1") && s.contains("maxsize: Some(2)"),
        "{s}"
    );
}

/// `send_all` runs no user code under the queue's lock: a getter takes the first
/// item while the iterator is still waiting to yield the second (here, for that very
/// getter's signal), and the iterator may call the queue itself.
#[test]
fn send_all_lets_getters_in_while_its_iterator_waits() {
    use consumer_primitives::Event;

    let q = Queue::new();
    let got_first = Arc::new(Event::new());
    let getter = {
        let (q, got_first) = (q.clone(), Arc::clone(&got_first));
        thread::spawn(move || {
            let first = q.get_timeout(PATIENCE);
            got_first.set();
            (first, q.get_timeout(PATIENCE))
        })
    };
    let mut items = {
        let (q, got_first) = (q.clone(), Arc::clone(&got_first));
        let mut next = 0;
        std::iter::from_fn(move || {
            next += 1;
            match next {
                1 => Some(1),
                2 => {
                    assert!(
                        got_first.wait_timeout(PATIENCE),
                        "the getter could not take the first item while send_all ran"
                    );
                    Some(q.len() as i32 + 2) // the queue is empty again: 2
                }
                _ => None,
            }
        })
    };
    let mut c = q.clone();
    c.send_all(&mut items).unwrap();
    let (first, second) = getter.join().unwrap();
    assert_eq!((first.unwrap(), second.unwrap()), (1, 2));
}
