//! The handle's traits: what the compiler promises, and a broadcast feeding a task.

use consumer::{Broadcast, Consumer, Inline};
use consumer_coroutine::{Builder, Inbox, Task, TaskSink};

fn send_sync_static<T: Send + Sync + 'static>() {}
fn send_static<T: Send + 'static>() {}

#[test]
fn public_types_are_send_and_the_handle_is_sync() {
    send_sync_static::<Task<u32>>();
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
