//! The notes' "Events" slide: one thread waits on an event, another sets it.
//!
//! ```text
//!   Thread 1                Thread 2
//!   e.wait()   ◀─ notify ─  e.set()
//!   # respond to event
//! ```
//!
//! A second event, `ready`, lets the setter know the waiter has started, so the
//! transcript is the same on every run (no sleeping to "make sure").

use std::thread;
use std::time::Duration;

use consumer_primitives::Event;

fn main() {
    let _logging = examples::init_logging();
    let e = Event::new();
    let ready = Event::new();
    thread::scope(|s| {
        s.spawn(|| {
            println!("thread 1: waiting for the event");
            ready.set();
            e.wait();
            println!("thread 1: the event is set; responding");
        });
        s.spawn(|| {
            ready.wait();
            println!("thread 2: setting the event");
            e.set();
        });
    });
    println!("is_set() = {}", e.is_set());
    e.clear();
    println!("after clear(): is_set() = {}", e.is_set());
    let set = e.wait_timeout(Duration::from_millis(10));
    println!("wait_timeout(10 ms) on a cleared event returns {set}");
}
