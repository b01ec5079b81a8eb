//! Model checks of `Control`, the requests that travel beside the item channel:
//! no request is lost, no wake-up is lost, no flush reply leaks.
//!
//! Run by `cargo xtask test-all` with `--cfg loom`; empty otherwise. The module is
//! compiled here from its source, against loom's lock and atomic (`src/sync.rs`).
#![cfg(loom)]
#![allow(dead_code, unreachable_pub)] // the crate's module, compiled outside the crate

#[path = "../src/control.rs"]
mod control;
#[path = "../src/sync.rs"]
mod sync;

use std::task::{Wake, Waker};

use control::Control;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::thread;

/// A waker that records being woken.
struct Woken(AtomicBool);

impl Wake for Woken {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

fn waker() -> (std::sync::Arc<Woken>, Waker) {
    let woken = std::sync::Arc::new(Woken(AtomicBool::new(false)));
    (woken.clone(), Waker::from(woken))
}

/// The idle task registers and looks while a handle posts a close: either the task
/// takes the close, or the handle wakes the task and the close is still there.
#[test]
fn a_close_is_taken_or_wakes_the_idle_task() {
    loom::model(|| {
        let control = Arc::new(Control::<()>::new());
        let (woken, waker) = waker();
        let handle = {
            let control = Arc::clone(&control);
            thread::spawn(move || control.close())
        };
        let taken = control.take(&waker);
        handle.join().unwrap();
        if !taken.close {
            assert!(woken.0.load(SeqCst), "lost wake-up");
            assert!(control.is_pending(), "the request is flagged");
            assert!(control.take(&waker).close, "the request is still there");
        }
    });
}

/// A busy task checks between items: once it sees the flag, the request is there.
#[test]
fn the_flag_between_items_never_hides_a_request() {
    loom::model(|| {
        let control = Arc::new(Control::<u8>::new());
        let (_woken, waker) = waker();
        let handle = {
            let control = Arc::clone(&control);
            thread::spawn(move || control.flush(7).is_ok())
        };
        if control.is_pending() {
            assert_eq!(control.take(&waker).flushes, [7]);
        }
        assert!(handle.join().unwrap());
    });
}

/// Counts its drops: a flush reply that is neither answered nor handed back must be
/// dropped, so its caller learns the run is over.
struct Reply(Arc<AtomicUsize>);

impl Drop for Reply {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A flush racing the end of the run: the reply is handed back, or dropped by `shut`;
/// exactly once either way, and nothing is posted after the end.
#[test]
fn a_flush_racing_the_end_is_refused_or_dropped_once() {
    loom::model(|| {
        let control = Arc::new(Control::<Reply>::new());
        let drops = Arc::new(AtomicUsize::new(0));
        let handle = {
            let control = Arc::clone(&control);
            let reply = Reply(Arc::clone(&drops));
            thread::spawn(move || {
                if let Err(reply) = control.flush(reply) {
                    drop(reply); // refused: the caller reports the end
                }
            })
        };
        control.shut();
        handle.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "the reply was dropped exactly once");
        let late = Reply(Arc::clone(&drops));
        assert!(control.flush(late).is_err(), "no request after the end");
    });
}
