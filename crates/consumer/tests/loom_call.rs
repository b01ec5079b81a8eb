//! Model checks of the request/reply slot: every interleaving of an answer (or a
//! dropped request) with a waiting caller ends with the caller woken and the right
//! outcome. Run by `cargo xtask test-all` with `RUSTFLAGS="--cfg loom"`.
#![cfg(loom)]

use consumer::{ErrorKind, Request};
use loom::thread;

#[test]
fn an_answer_from_another_thread_reaches_the_waiting_caller() {
    loom::model(|| {
        let (request, pending) = Request::<u32, u32>::new(20);
        let answerer = thread::spawn(move || request.answer(|n| n + 1));
        assert_eq!(pending.wait().unwrap(), 21);
        answerer.join().unwrap();
    });
}

#[test]
fn a_request_dropped_in_another_thread_wakes_the_caller() {
    loom::model(|| {
        let (request, pending) = Request::<u32, u32>::new(1);
        let dropper = thread::spawn(move || drop(request));
        assert_eq!(pending.wait().unwrap_err().kind(), ErrorKind::Disconnected);
        dropper.join().unwrap();
    });
}

#[test]
fn try_wait_sees_the_answer_exactly_once() {
    loom::model(|| {
        let (request, mut pending) = Request::<u32, u32>::new(1);
        let answerer = thread::spawn(move || request.answer(|n| n));
        let early = pending.try_wait();
        answerer.join().unwrap();
        match early {
            Some(r) => {
                assert_eq!(r.unwrap(), 1);
                assert!(pending.try_wait().is_none(), "taken once");
            }
            None => assert_eq!(pending.try_wait().unwrap().unwrap(), 1),
        }
    });
}
