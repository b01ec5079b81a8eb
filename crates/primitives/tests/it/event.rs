use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use consumer_primitives::Event;

use crate::{PATIENCE, SHORT};

#[test]
fn set_clear_is_set() {
    let e = Event::new();
    assert!(!e.is_set());
    e.set();
    e.set();
    assert!(e.is_set());
    e.clear();
    assert!(!e.is_set());
    e.clear();
    assert!(!e.is_set());
}

#[test]
fn wait_timeout_returns_false_after_the_timeout_when_not_set() {
    let e = Event::new();
    let t = Instant::now();
    assert!(!e.wait_timeout(SHORT));
    assert!(t.elapsed() >= SHORT, "gave up after {:?}", t.elapsed());
    e.set();
    assert!(e.wait_timeout(SHORT));
    e.wait(); // set: returns at once
}

#[test]
fn set_wakes_every_waiter() {
    const WAITERS: usize = 8;
    let e = Arc::new(Event::new());
    let started = Arc::new(Barrier::new(WAITERS + 1));
    let waiters: Vec<_> = (0..WAITERS)
        .map(|i| {
            let (e, started) = (Arc::clone(&e), Arc::clone(&started));
            thread::spawn(move || {
                started.wait();
                if i % 2 == 0 {
                    e.wait();
                    true
                } else {
                    e.wait_timeout(PATIENCE)
                }
            })
        })
        .collect();
    started.wait();
    e.set();
    for w in waiters {
        assert!(w.join().unwrap(), "every waiter sees the event");
    }
}

/// Many rounds of set/wait/clear between two threads: each round's `wait` ends.
#[test]
fn events_pass_back_and_forth() {
    const ROUNDS: usize = 500;
    let (ping, pong) = (Arc::new(Event::new()), Arc::new(Event::new()));
    let other = {
        let (ping, pong) = (Arc::clone(&ping), Arc::clone(&pong));
        thread::spawn(move || {
            for _ in 0..ROUNDS {
                if !ping.wait_timeout(PATIENCE) {
                    return false;
                }
                ping.clear();
                pong.set();
            }
            true
        })
    };
    for _ in 0..ROUNDS {
        ping.set();
        assert!(pong.wait_timeout(PATIENCE), "the other thread answers");
        pong.clear();
    }
    assert!(other.join().unwrap());
}
