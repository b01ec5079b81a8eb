//! loom models of every primitive: each explores the thread interleavings (with up to
//! `LOOM_MAX_PREEMPTIONS` preemptions) of a small scenario and checks what must hold
//! in all of them — mutual exclusion, no lost wake-up, no lost or duplicated item.
//!
//! Run by `cargo xtask test-all`, or by hand:
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release -p consumer-primitives --test loom`
//!
//! loom does not model time: a `_timeout` wait behaves as a wait without one, so the
//! models use timeouts only where the wait must end anyway. Timeouts are tested
//! against the real clock in `tests/it`.
#![cfg(loom)]

use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::thread;
use std::time::Duration;

use consumer::ErrorKind;
use consumer_primitives::{BoundedSemaphore, Event, Queue, RLock, Semaphore};

const LONG: Duration = Duration::from_secs(3600);

#[test]
fn rlock_excludes_other_threads_and_admits_its_owner() {
    loom::model(|| {
        let lock = Arc::new(RLock::new());
        let x = Arc::new(AtomicUsize::new(0));
        let other = {
            let (lock, x) = (Arc::clone(&lock), Arc::clone(&x));
            thread::spawn(move || {
                let _outer = lock.acquire();
                let _inner = lock.acquire();
                let v = x.load(Ordering::Relaxed);
                x.store(v + 1, Ordering::Relaxed);
            })
        };
        {
            let _g = lock.acquire_timeout(LONG).expect("loom never times out");
            let v = x.load(Ordering::Relaxed);
            x.store(v + 1, Ordering::Relaxed);
        }
        other.join().unwrap();
        assert_eq!(x.load(Ordering::Relaxed), 2, "an update was lost");
        assert!(!lock.is_locked());
    });
}

#[test]
fn rlock_release_belongs_to_its_owner() {
    loom::model(|| {
        let lock = Arc::new(RLock::new());
        lock.acquire().keep();
        let other = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                let refused = lock.release().unwrap_err().kind() == ErrorKind::Usage;
                let busy = lock.try_acquire().is_none();
                refused && busy
            })
        };
        assert!(other.join().unwrap());
        lock.release().unwrap();
        assert!(!lock.is_locked());
    });
}

#[test]
fn semaphore_never_exceeds_its_permits() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let worker = |sem: Arc<Semaphore>, inside: Arc<AtomicUsize>| {
            move || {
                let _p = sem.acquire();
                assert_eq!(
                    inside.fetch_add(1, Ordering::SeqCst),
                    0,
                    "two holders of one permit"
                );
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let a = thread::spawn(worker(Arc::clone(&sem), Arc::clone(&inside)));
        worker(Arc::clone(&sem), Arc::clone(&inside))();
        a.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
    });
}

#[test]
fn bounded_semaphore_release_wakes_a_waiter_and_keeps_its_bound() {
    loom::model(|| {
        let sem = Arc::new(BoundedSemaphore::new(1));
        sem.acquire().keep();
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || drop(sem.acquire()))
        };
        sem.release().unwrap();
        waiter.join().unwrap();
        assert_eq!(sem.release().unwrap_err().kind(), ErrorKind::Usage);
        assert_eq!(sem.available_permits(), 1);
    });
}

/// The lock-free count with its sleeping waiters: two threads wait on an empty
/// semaphore while two permits are given, one by a guard's drop and one by
/// `release`. A lost wake-up leaves a waiter asleep for ever, which loom reports as
/// a deadlock.
#[test]
fn semaphore_wakes_every_waiter_it_owes_a_permit() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let held = sem.acquire();
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let sem = Arc::clone(&sem);
                thread::spawn(move || {
                    let permit = sem.acquire_timeout(LONG);
                    permit.expect("loom never times out").keep();
                })
            })
            .collect();
        drop(held);
        sem.release().unwrap();
        for w in waiters {
            w.join().unwrap();
        }
        assert_eq!(sem.available_permits(), 0);
    });
}

#[test]
fn event_set_wakes_waiters() {
    loom::model(|| {
        let e = Arc::new(Event::new());
        let waiters: Vec<_> = (0..2)
            .map(|i| {
                let e = Arc::clone(&e);
                thread::spawn(move || {
                    if i == 0 {
                        e.wait()
                    } else {
                        assert!(e.wait_timeout(LONG))
                    }
                })
            })
            .collect();
        e.set();
        for w in waiters {
            w.join().unwrap();
        }
        assert!(e.is_set());
    });
}

#[test]
fn bounded_queue_passes_items_in_order_with_blocking_puts() {
    loom::model(|| {
        let q = Queue::with_maxsize(1);
        let producer = {
            let q = q.clone();
            thread::spawn(move || {
                q.put(1).unwrap();
                q.put(2).unwrap(); // waits for room
            })
        };
        assert_eq!(q.get().unwrap(), 1);
        assert_eq!(q.get().unwrap(), 2);
        producer.join().unwrap();
        assert!(q.is_empty());
    });
}

#[test]
fn queue_shutdown_loses_no_accepted_item() {
    loom::model(|| {
        let q = Queue::with_maxsize(1);
        let producer = {
            let q = q.clone();
            thread::spawn(move || {
                // Accepted (true) or refused with the item back (false).
                [1, 2].map(|n| match q.put(n) {
                    Ok(()) => true,
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::Closed);
                        assert_eq!(e.into_item(), Some(n));
                        false
                    }
                })
            })
        };
        let consumer = {
            let q = q.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                while let Ok(n) = q.get() {
                    got.push(n);
                }
                got
            })
        };
        q.shutdown();
        let accepted = producer.join().unwrap();
        let got = consumer.join().unwrap();
        let want: Vec<i32> = [1, 2]
            .into_iter()
            .zip(accepted)
            .filter(|p| p.1)
            .map(|p| p.0)
            .collect();
        assert_eq!(got, want, "every accepted item is delivered, in order");
    });
}

#[test]
fn queue_join_waits_for_every_task_done() {
    loom::model(|| {
        let q = Queue::new();
        let done = Arc::new(AtomicUsize::new(0));
        let worker = {
            let (q, done) = (q.clone(), Arc::clone(&done));
            thread::spawn(move || {
                for _ in 0..2 {
                    q.get().unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                    q.task_done().unwrap();
                }
            })
        };
        q.put('a').unwrap();
        q.put('b').unwrap();
        q.join();
        assert_eq!(done.load(Ordering::Relaxed), 2, "join returned early");
        worker.join().unwrap();
    });
}

/// Two getters asleep on an empty queue, two puts: both must wake (the first woken
/// getter passes the wake-up on).
#[test]
fn queue_wakes_every_waiting_getter() {
    loom::model(|| {
        let q = Queue::new();
        let getters: Vec<_> = (0..2)
            .map(|_| {
                let q = q.clone();
                thread::spawn(move || q.get().unwrap())
            })
            .collect();
        q.put(1).unwrap();
        q.put(2).unwrap();
        let mut got: Vec<i32> = getters.into_iter().map(|g| g.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
    });
}

/// Two putters asleep on a full queue, gets make room: both must get in.
#[test]
fn queue_wakes_every_waiting_putter() {
    loom::model(|| {
        let q = Queue::with_maxsize(1);
        q.put(0).unwrap();
        let putters: Vec<_> = (1..3)
            .map(|n| {
                let q = q.clone();
                thread::spawn(move || q.put(n).unwrap())
            })
            .collect();
        let mut got: Vec<i32> = (0..3).map(|_| q.get().unwrap()).collect();
        for p in putters {
            p.join().unwrap();
        }
        assert_eq!(got[0], 0, "FIFO");
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2]);
    });
}
