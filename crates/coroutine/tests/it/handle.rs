//! The handle's traits: what the compiler promises, and a broadcast feeding a task.

use consumer::{Broadcast, Consumer, Inline};
use consumer::{ErrorKind, from_fn};
use consumer_coroutine::{AsAsync, Builder, Inbox, Placement, Runner, Task, TaskSink};

fn send_sync_static<T: Send + Sync + 'static>() {}
fn send_static<T: Send + 'static>() {}

#[test]
fn public_types_are_send_and_the_handle_is_sync() {
    send_sync_static::<Task<u32>>();
    send_sync_static::<Runner<Vec<u32>, u32>>();
    send_sync_static::<Builder>();
    send_static::<Inbox<u32>>();
    send_static::<TaskSink<u32>>();
    // Items need only be Send: a handle of a !Sync item type is still Sync.
    send_sync_static::<Task<std::cell::Cell<u8>>>();
}

/// The `dispatch` shape: one stream broadcast to a task-run and an in-line consumer.
#[test]
fn a_task_handle_is_a_broadcast_target() {
    let in_task = Inline::new(Vec::new()).shared();
    let in_line = Inline::new(Vec::new()).shared();
    let mut all = Broadcast::new();
    all.register(consumer_coroutine::spawn(in_task.clone()));
    all.register(in_line.clone());
    all.send_all(1..=3).unwrap();
    all.close().unwrap();
    assert_eq!(in_task.with(|v| v.clone()), [1, 2, 3]);
    assert_eq!(in_line.with(|v| v.clone()), [1, 2, 3]);
    assert!(
        in_task.is_finished(),
        "closing the broadcast closed the task"
    );
}

/// As the thread runner's `join`: close, wait, and the consumer back, whatever the
/// placement; from a clone's items too.
#[test]
fn join_hands_the_consumer_back() {
    for placement in [Placement::BlockingPool, Placement::InLine] {
        let runner = Builder::new()
            .placement(placement)
            .spawn(Vec::new())
            .unwrap();
        let producer = runner.handle();
        std::thread::spawn(move || producer.send_all(1..=3))
            .join()
            .unwrap()
            .unwrap();
        runner.send(4).unwrap();
        assert_eq!(runner.join().unwrap(), [1, 2, 3, 4], "{placement:?}");
    }
    let runner = Builder::new().spawn_async(AsAsync(Vec::new())).unwrap();
    runner.send(1).unwrap();
    assert_eq!(runner.join().unwrap().0, [1]);
}

/// A run that failed keeps its consumer (it is dropped in the run): `join` reports
/// the failure, with the count, as `close` does.
#[test]
fn join_after_a_panic_reports_it() {
    let runner = consumer_coroutine::spawn(from_fn(|n: u32| assert!(n < 1, "too big")));
    for n in 0..5 {
        let _ = runner.send(n);
    }
    let e = runner.join().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Panicked);
}
