//! Model-checks the one-shot (`src/oneshot.rs`) through which `close`, `join` and the
//! last handle's drop wait for the run's outcome: the runner thread sets it once, any
//! number of threads wait for it. loom tries every interleaving (up to its preemption
//! bound) and fails a model whose threads all block: a lost wake-up is a deadlock here.
//!
//! Run through `cargo xtask test-all`, or:
//! `RUSTFLAGS="--cfg loom" cargo test --release -p consumer-thread --test loom_oneshot`.
#![cfg(loom)]

use consumer_thread::__loom::Oneshot;

use loom::sync::Arc;
use loom::thread;

/// Starts a thread that waits for the value.
fn waiter(once: &Arc<Oneshot<u32>>) -> thread::JoinHandle<u32> {
    let once = Arc::clone(once);
    thread::spawn(move || once.wait())
}

/// Waiters that come before, during and after the set all wake, with the value.
#[test]
fn every_waiter_sees_the_value() {
    loom::model(|| {
        let once = Arc::new(Oneshot::new());
        let (a, b) = (waiter(&once), waiter(&once));

        assert!(once.set(7), "the first set stores its value");

        assert_eq!(a.join().unwrap(), 7);
        assert_eq!(b.join().unwrap(), 7);
        assert_eq!(once.wait(), 7, "a wait after the set returns at once");
    });
}

/// Two sets race (the runner's outcome and its guard's, say): one wins, and every
/// waiter sees the winner's value, never the loser's.
#[test]
fn racing_sets_agree_on_one_value() {
    loom::model(|| {
        let once = Arc::new(Oneshot::new());
        let w = waiter(&once);
        let other = {
            let once = Arc::clone(&once);
            thread::spawn(move || once.set(2))
        };

        let mine = once.set(1);
        let theirs = other.join().unwrap();
        assert!(mine ^ theirs, "exactly one set stores its value");

        let winner = if mine { 1 } else { 2 };
        assert_eq!(w.join().unwrap(), winner);
        assert_eq!(once.wait(), winner);
    });
}

/// A look that finds nothing (`is_finished` before the run ends; a waiter that gives
/// up and comes back) loses nothing: the value set meanwhile or later is still there
/// for the next wait.
#[test]
fn a_look_that_finds_nothing_loses_no_later_value() {
    loom::model(|| {
        let once = Arc::new(Oneshot::new());
        let looker = {
            let once = Arc::clone(&once);
            thread::spawn(move || {
                let early = once.is_set();
                let value = once.wait();
                (early, value)
            })
        };

        once.set(7);
        assert!(once.is_set(), "a set value stays set");

        let (_early, value) = looker.join().unwrap();
        assert_eq!(value, 7, "the wait after the look sees the value");
    });
}
