use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::Instant;

use consumer::ErrorKind;
use consumer_primitives::RLock;

use crate::{PATIENCE, SHORT};

/// Runs `f` in another thread while that thread holds `lock`.
fn while_held_elsewhere<R>(lock: &Arc<RLock>, f: impl FnOnce() -> R) -> R {
    let (held, release) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let holder = {
        let (lock, held, release) = (Arc::clone(lock), Arc::clone(&held), Arc::clone(&release));
        thread::spawn(move || {
            let _g = lock.acquire();
            held.wait();
            release.wait();
        })
    };
    held.wait();
    let r = f();
    release.wait();
    holder.join().unwrap();
    r
}

#[test]
fn the_owner_acquires_again_and_releases_level_by_level() {
    let lock = RLock::new();
    let a = lock.acquire();
    let b = lock
        .try_acquire()
        .expect("the owner takes it again at once");
    let c = lock.acquire_timeout(SHORT).expect("and with a timeout");
    assert_eq!(lock.depth(), 3);
    drop(b);
    drop(c);
    assert!(lock.is_owned());
    drop(a);
    assert!(!lock.is_locked());
    assert_eq!(lock.depth(), 0);
}

#[test]
fn other_threads_wait_while_it_is_held() {
    let lock = Arc::new(RLock::new());
    let (free_now, timed) = while_held_elsewhere(&lock, || {
        let t = Instant::now();
        let timed = lock.acquire_timeout(SHORT).is_none();
        assert!(t.elapsed() >= SHORT, "gave up after {:?}", t.elapsed());
        (lock.try_acquire().is_none(), timed)
    });
    assert!(
        free_now && timed,
        "a lock held by another thread is not free"
    );
    assert!(lock.try_acquire().is_some(), "free once the holder is done");
}

#[test]
fn a_waiter_gets_the_lock_when_the_holder_releases() {
    let lock = Arc::new(RLock::new());
    let g = lock.acquire();
    let waiter = {
        let lock = Arc::clone(&lock);
        thread::spawn(move || lock.acquire_timeout(PATIENCE).map(|_| ()).is_some())
    };
    drop(g);
    assert!(
        waiter.join().unwrap(),
        "the waiter must get the released lock"
    );
}

#[test]
fn release_by_a_thread_that_does_not_hold_it_is_an_error() {
    let lock = Arc::new(RLock::new());
    let e = lock.release().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");

    let e = while_held_elsewhere(&lock, || lock.release().unwrap_err());
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains("does not hold"), "{e}");

    // A kept hold is the owner's alone to release.
    lock.acquire().keep();
    let other = Arc::clone(&lock);
    let e = thread::spawn(move || other.release())
        .join()
        .unwrap()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
    assert!(lock.is_owned(), "a refused release changes nothing");
    lock.release().unwrap();
    assert!(!lock.is_locked());
}

#[test]
fn release_does_not_take_a_level_a_guard_holds() {
    let lock = RLock::new();
    let g = lock.acquire();
    assert_eq!(lock.release().unwrap_err().kind(), ErrorKind::Usage);
    assert_eq!(lock.depth(), 1);
    lock.acquire().keep();
    lock.release().unwrap();
    drop(g);
    assert!(!lock.is_locked());
}

#[test]
fn a_panicking_holder_releases_as_it_unwinds() {
    let lock = Arc::new(RLock::new());
    let holder = {
        let lock = Arc::clone(&lock);
        thread::spawn(move || {
            let _outer = lock.acquire();
            let _inner = lock.acquire();
            panic!("holder panics");
        })
    };
    assert!(holder.join().is_err());
    assert!(!lock.is_locked(), "no poisoning: the lock is simply free");
    assert!(lock.try_acquire().is_some());
}

/// Mutual exclusion under load: an unsynchronised read-modify-write (separate load
/// and store) inside nested acquires never loses an update.
#[test]
fn nested_critical_sections_exclude_each_other() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 5_000;
    let lock = Arc::new(RLock::new());
    let x = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (lock, x) = (Arc::clone(&lock), Arc::clone(&x));
            thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let _outer = lock.acquire();
                    let _inner = lock.acquire();
                    let v = x.load(Ordering::Relaxed);
                    x.store(v + 1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    assert_eq!(x.load(Ordering::Relaxed), THREADS * ROUNDS);
}

#[test]
fn many_waiters_all_get_their_turn() {
    let lock = Arc::new(RLock::new());
    let g = lock.acquire();
    let (tx, rx) = mpsc::channel();
    let waiters: Vec<_> = (0..4)
        .map(|i| {
            let (lock, tx) = (Arc::clone(&lock), tx.clone());
            thread::spawn(move || {
                let got = lock.acquire_timeout(PATIENCE).is_some();
                tx.send((i, got)).unwrap();
            })
        })
        .collect();
    drop(g);
    for w in waiters {
        w.join().unwrap();
    }
    drop(tx);
    let got: Vec<_> = rx.iter().collect();
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|&(_, ok)| ok), "{got:?}");
}

#[test]
fn depth_is_zero_for_a_thread_that_does_not_hold_the_lock() {
    let lock = Arc::new(RLock::new());
    assert_eq!(lock.depth(), 0, "free");
    let seen = while_held_elsewhere(&lock, || lock.depth());
    assert_eq!(
        seen, 0,
        "held by another thread: Python's _recursion_count() is 0"
    );
    let _g = lock.acquire();
    assert_eq!(lock.depth(), 1, "held by this thread");
}
