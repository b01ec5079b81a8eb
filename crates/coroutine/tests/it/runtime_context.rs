//! The blocking API inside a runtime: works on a multi-thread runtime, returns a
//! usage error on a current-thread one, never panics or deadlocks.

use std::sync::mpsc;

use consumer::{Consumer, ErrorKind, Inline, from_fn, try_from_fn};
use consumer_coroutine::{Builder, Placement};

use crate::support::{HANG, current_thread, multi_thread, watchdog};

#[test]
fn blocking_calls_inside_a_current_thread_runtime_are_usage_errors() {
    let rt = current_thread();
    let seen = Inline::new(Vec::new()).shared();
    let sink = seen.clone();
    rt.block_on(async {
        let task = consumer_coroutine::spawn(sink);
        let e = task.send(1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage);
        assert!(e.to_string().contains("send_async"), "{e}");
        assert_eq!(e.into_item(), Some(1), "the item comes back");
        assert_eq!(
            task.send_all([2, 3]).unwrap_err().into_item(),
            Some(2),
            "send_all hands back the first item"
        );
        assert_eq!(task.flush().unwrap_err().kind(), ErrorKind::Usage);
        assert_eq!(task.close().unwrap_err().kind(), ErrorKind::Usage);
        // Refusing did not close anything: the async API carries on.
        task.send_async(4).await.unwrap();
        task.flush_async().await.unwrap();
        task.close_async().await.unwrap();
        // Once closed, the blocking `close` has nothing to wait for... but it is still
        // refused here: the rule does not depend on the run's state.
        assert_eq!(task.close().unwrap_err().kind(), ErrorKind::Usage);
    });
    assert_eq!(seen.with(|v| v.clone()), [4]);
}

#[test]
fn blocking_calls_inside_a_multi_thread_runtime_work_even_when_full() {
    let rt = multi_thread();
    let seen = Inline::new(Vec::new()).shared();
    let sink = seen.clone();
    rt.block_on(async {
        // A task on a worker thread, not the block_on thread.
        tokio::spawn(async move {
            let task = Builder::new()
                .capacity(1)
                .placement(Placement::InLine)
                .spawn(sink)
                .unwrap();
            for n in 0..1_000 {
                task.send(n).unwrap();
            }
            task.flush().unwrap();
            task.close().unwrap();
        })
        .await
        .unwrap();
    });
    assert_eq!(seen.with(|v| v.clone()), (0..1_000).collect::<Vec<_>>());
}

#[test]
fn dropping_the_last_handle_in_a_current_thread_runtime_closes_without_waiting() {
    let rt = current_thread();
    let (closed, was_closed) = tokio::sync::oneshot::channel();
    let mut closed = Some(closed);
    rt.block_on(async {
        let task = consumer_coroutine::spawn(from_fn(|_: u8| {}).on_close(move || {
            if let Some(c) = closed.take() {
                let _ = c.send(());
            }
            Ok(())
        }));
        task.send_async(1).await.unwrap();
        drop(task); // must not block this thread
    });
    // The close completes as soon as the runtime runs again.
    let _watchdog = watchdog("the consumer was never closed");
    rt.block_on(was_closed).expect("the consumer was closed");
}

/// The notes' point about blocking consumers: a consumer that blocks, on the default
/// placement, does not stall the other tasks of a single-threaded runtime. (Run
/// in-line, the consumer would block the runtime's only thread before the task that
/// unblocks it could run.)
#[test]
fn a_blocking_consumer_does_not_stall_a_current_thread_runtime() {
    let rt = current_thread();
    let (go, wait_for_go) = mpsc::channel::<()>();
    let (started, has_started) = tokio::sync::oneshot::channel::<()>();
    let mut started = Some(started);
    let outcome = rt.block_on(async move {
        let task = consumer_coroutine::spawn(try_from_fn(move |_: u8| {
            if let Some(s) = started.take() {
                let _ = s.send(());
            }
            wait_for_go
                .recv_timeout(HANG)
                .map_err(consumer::Error::other)
        }));
        task.send_async(1).await.unwrap();
        has_started.await.unwrap();
        // The consumer is blocked in its `send` now; this task still runs.
        go.send(()).unwrap();
        task.close_async().await
    });
    outcome.unwrap();
}

/// A consumer on the blocking pool may use the blocking API itself, even under a
/// current-thread runtime: a two-stage pipeline.
#[test]
fn a_blocking_pool_consumer_may_block_on_the_next_stage() {
    let rt = current_thread();
    let seen = Inline::new(Vec::new()).shared();
    let sink = seen.clone();
    let outcome = rt.block_on(async move {
        let second = Builder::new().capacity(2).spawn(sink).unwrap();
        let next = second.clone();
        let first = Builder::new()
            .capacity(2)
            .spawn(try_from_fn(move |n: u32| {
                next.send(n * 10).map_err(Into::into)
            }))
            .unwrap();
        for n in 0..100 {
            first.send_async(n).await.unwrap();
        }
        first.close_async().await?;
        second.close_async().await
    });
    outcome.unwrap();
    assert_eq!(
        seen.with(|v| v.clone()),
        (0..100).map(|n| n * 10).collect::<Vec<_>>()
    );
}

/// A `LocalSet` on a multi-thread runtime forbids `block_in_place`; a blocking call
/// that has to wait there is a usage error, not a panic, and hands the item back.
#[test]
fn blocking_calls_inside_a_local_set_are_usage_errors() {
    let rt = multi_thread();
    let seen = Inline::new(Vec::new()).shared();
    let mut sink = seen.clone();
    // The consumer holds its first item until the gate opens, so the mailbox fills.
    let (open, gate) = mpsc::channel::<()>();
    let mut opened = false;
    let gated = try_from_fn(move |n: u32| {
        if !opened {
            gate.recv_timeout(HANG).map_err(consumer::Error::other)?;
            opened = true;
        }
        sink.send(n).map_err(Into::into)
    });
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let task = Builder::new().capacity(1).spawn(gated).unwrap();
        // `close` always waits, so it meets tokio's refusal.
        let e = task.close().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
        assert!(e.to_string().contains("close_async"), "{e}");
        // A send with room works without waiting; with the consumer held and one
        // place, the third send at the latest has to wait, and is refused.
        let mut refused = None;
        for n in 0..3 {
            if let Err(e) = task.send(n) {
                assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
                refused = e.into_item();
                break;
            }
        }
        let refused = refused.expect("a send that must wait is refused");
        open.send(()).unwrap();
        for n in refused..3 {
            task.send_async(n).await.unwrap();
        }
        task.close_async().await.unwrap();
    });
    assert_eq!(
        seen.with(|v| v.clone()),
        [0, 1, 2],
        "nothing lost, in order"
    );
}
