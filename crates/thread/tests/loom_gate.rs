//! Model-checks the gate (`src/gate.rs`), the protocol that lets `close` and a failure
//! know that every accepted send has reached the mailbox. A mutex-guarded queue stands
//! in for the crossbeam channel (loom cannot see inside crossbeam); the sender, the
//! closer and the runner run as in `src/handle.rs` (`send`, `close`) and `src/run.rs`
//! (the loop, the drain).
//!
//! Run through `cargo xtask test-all`, or:
//! `RUSTFLAGS="--cfg loom" cargo test --release -p consumer-thread --test loom_gate`.
#![cfg(loom)]

use consumer_thread::__loom::{Gate, State};
use std::collections::VecDeque;

use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

/// What travels through the model's mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msg {
    Item(u32),
    Close,
}

/// A FIFO mailbox of `capacity` messages: a push into a full one waits until the
/// runner takes one, as a crossbeam send blocks; `recv` waits for a message.
struct Mailbox {
    queue: Mutex<VecDeque<Msg>>,
    changed: Condvar,
    capacity: usize,
}

impl Mailbox {
    fn new(capacity: usize) -> Mailbox {
        Mailbox {
            queue: Mutex::new(VecDeque::new()),
            changed: Condvar::new(),
            capacity,
        }
    }

    fn push(&self, msg: Msg) {
        let mut q = self.queue.lock().unwrap();
        while q.len() == self.capacity {
            q = self.changed.wait(q).unwrap();
        }
        q.push_back(msg);
        self.changed.notify_all();
    }

    fn take(&self) -> Option<Msg> {
        let msg = self.queue.lock().unwrap().pop_front();
        self.changed.notify_all();
        msg
    }

    fn recv(&self) -> Msg {
        let mut q = self.queue.lock().unwrap();
        loop {
            if let Some(msg) = q.pop_front() {
                self.changed.notify_all();
                return msg;
            }
            q = self.changed.wait(q).unwrap();
        }
    }
}

/// Sends `items` through the gate until it is refused; returns the accepted ones.
fn sender(gate: &Gate, mailbox: &Mailbox, items: &[u32], refused_as: State) -> Vec<u32> {
    let slot = gate.register();
    let mut accepted = Vec::new();
    for &item in items {
        match gate.enter(&slot) {
            Ok(pass) => {
                mailbox.push(Msg::Item(item));
                drop(pass);
                accepted.push(item);
            }
            Err(state) => {
                assert_eq!(state, refused_as);
                break;
            }
        }
    }
    gate.unregister(&slot);
    accepted
}

/// The runner's shutdown: take what comes until the gate is quiet, then sweep once more.
fn until_quiet(gate: &Gate, mailbox: &Mailbox, got: &mut Vec<u32>) {
    loop {
        while let Some(msg) = mailbox.take() {
            if let Msg::Item(i) = msg {
                got.push(i);
            }
        }
        if gate.is_quiet() {
            while let Some(msg) = mailbox.take() {
                if let Msg::Item(i) = msg {
                    got.push(i);
                }
            }
            return;
        }
        thread::yield_now();
    }
}

#[test]
fn close_racing_a_sender_loses_no_accepted_item() {
    loom::model(|| {
        let gate = Arc::new(Gate::new());
        let mailbox = Arc::new(Mailbox::new(2));
        // The closer's own slot, registered before it starts (as a handle's is).
        let closer_slot = gate.register();

        let s = {
            let (gate, mailbox) = (Arc::clone(&gate), Arc::clone(&mailbox));
            thread::spawn(move || sender(&gate, &mailbox, &[1, 2], State::Closed))
        };
        let c = {
            let (gate, mailbox) = (Arc::clone(&gate), Arc::clone(&mailbox));
            thread::spawn(move || {
                // As `Handle::close`: the marker goes in under a pass.
                if let Ok(pass) = gate.enter(&closer_slot) {
                    if gate.close() {
                        mailbox.push(Msg::Close);
                    }
                    drop(pass);
                }
            })
        };

        // The runner: deliver until the marker, then drain until quiet.
        let mut got = Vec::new();
        while let Msg::Item(i) = mailbox.recv() {
            got.push(i);
        }
        until_quiet(&gate, &mailbox, &mut got);

        let accepted = s.join().unwrap();
        c.join().unwrap();
        assert_eq!(
            mailbox.take(),
            None,
            "an accepted item arrived after the runner finished"
        );
        assert_eq!(
            got, accepted,
            "every accepted item delivered, in order, and only those"
        );
    });
}

#[test]
fn a_failure_counts_every_accepted_item() {
    loom::model(|| {
        let gate = Arc::new(Gate::new());
        // One slot: the sender's later pushes wait for the runner, as on a full mailbox.
        let mailbox = Arc::new(Mailbox::new(1));
        let s = {
            let (gate, mailbox) = (Arc::clone(&gate), Arc::clone(&mailbox));
            thread::spawn(move || sender(&gate, &mailbox, &[1, 2, 3], State::Failed))
        };

        // The runner: the consumer fails on the first item it gets.
        let Msg::Item(first) = mailbox.recv() else {
            unreachable!("no one closes")
        };
        gate.fail();
        let mut undelivered = Vec::new();
        until_quiet(&gate, &mailbox, &mut undelivered);

        let accepted = s.join().unwrap();
        assert_eq!(
            mailbox.take(),
            None,
            "an accepted item arrived after the count"
        );
        assert_eq!(first, 1);
        assert_eq!(
            1 + undelivered.len(),
            accepted.len(),
            "delivered + undelivered = accepted"
        );
    });
}
