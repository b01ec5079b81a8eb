//! The sender's doorbell under loom: whatever the interleaving, a push wakes a
//! writer thread that went to sleep, a write wakes a producer waiting for room or a
//! flush, and stop ends the writer once everything pushed is written. A lost wake-up
//! shows as a deadlock, which loom reports. (The model checks the sequentially
//! consistent protocol; the asymmetric fence that replaces the producer's side on
//! Linux gives the same guarantee: see `src/doorbell.rs`.)
#![cfg(loom)]

use consumer_process::__loom::Doorbell;
use loom::sync::Arc;
use loom::thread;

/// A writer thread that "writes" whatever was pushed, until stopped; returns the
/// bytes it took.
fn writer(bell: Arc<Doorbell>) -> thread::JoinHandle<u64> {
    thread::spawn(move || {
        bell.writer_is(thread::current());
        let mut seen = 0;
        while bell.wait_pushed(seen) {
            seen = bell.pushed_total();
            bell.wrote(seen);
        }
        seen
    })
}

#[test]
fn pushes_reach_a_sleeping_writer_and_a_flush_sees_them_written() {
    loom::model(|| {
        let bell = Arc::new(Doorbell::default());
        let w = writer(Arc::clone(&bell));
        bell.pushed(1);
        bell.pushed(2);
        bell.wait_written(2);
        assert!(bell.written() >= 2);
        bell.stop();
        assert_eq!(w.join().unwrap(), 2);
    });
}

#[test]
fn a_producer_waiting_for_room_is_woken_by_each_write() {
    loom::model(|| {
        let bell = Arc::new(Doorbell::default());
        let w = writer(Arc::clone(&bell));
        for n in 1..=2 {
            bell.pushed(n);
            // Room for the next push only once this one is written.
            bell.wait_written(n);
        }
        bell.stop();
        assert_eq!(w.join().unwrap(), 2);
    });
}

#[test]
fn stop_ends_a_writer_that_never_saw_a_push() {
    loom::model(|| {
        let bell = Arc::new(Doorbell::default());
        let w = writer(Arc::clone(&bell));
        bell.stop();
        assert_eq!(w.join().unwrap(), 0);
    });
}
