//! Failures: a panic at a random item, errors, the runtime going away, bad input.

use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex};
use std::thread;

use consumer::{ErrorKind, SendError, from_fn};
use consumer_coroutine::{Builder, Placement};

use crate::support::{current_thread, multi_thread, watchdog};

/// A fresh random number per run, printed so a failure can be replayed.
fn random_below(n: u64) -> u64 {
    let r = RandomState::new().hash_one(0u8) % n;
    eprintln!("random item: {r}");
    r
}

/// Two producers send into a consumer that panics at a random item: every accepted
/// item is delivered or counted as undelivered, later sends hand the item back, and
/// the panic never reaches a producer.
#[test]
fn panic_at_a_random_item_is_accounted_for() {
    const PRODUCERS: u64 = 2;
    const ITEMS: u64 = 20_000;
    let at = random_below(PRODUCERS * ITEMS);
    for placement in [Placement::InLine, Placement::BlockingPool] {
        let rt = multi_thread();
        let delivered = Arc::new(Mutex::new(0u64));
        let seen = Arc::clone(&delivered);
        let task = Builder::new()
            .runtime(rt.handle().clone())
            .placement(placement)
            .capacity(32)
            .spawn(from_fn(move |_: u64| {
                let mut n = seen.lock().unwrap();
                if *n == at {
                    panic!("boom at delivery {at}");
                }
                *n += 1;
            }))
            .unwrap();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|_| {
                let task = task.clone();
                thread::spawn(move || {
                    let (mut accepted, mut counts) = (0u64, Vec::new());
                    for i in 0..ITEMS {
                        match task.send(i) {
                            Ok(()) => accepted += 1,
                            Err(e) => {
                                assert_eq!(e.kind(), ErrorKind::Panicked, "{e}");
                                counts.push(e.error().undelivered());
                                assert_eq!(e.into_item(), Some(i), "the item comes back");
                            }
                        }
                    }
                    (accepted, counts)
                })
            })
            .collect();
        let (mut accepted, mut counts) = (0, Vec::new());
        for p in producers {
            let (a, c) = p.join().unwrap();
            accepted += a;
            counts.extend(c);
        }
        // The producers may finish before the task reaches the panicking item (it
        // may be among the last): a flush waits for every accepted item, so it
        // returns the failure, and every call after it sees the failure too.
        let flushed = task.flush().unwrap_err();
        assert_eq!(flushed.kind(), ErrorKind::Panicked, "{flushed}");
        counts.push(flushed.undelivered());
        // The async sends and the sink after the failure, too.
        let late = rt.block_on(task.send_async(u64::MAX)).unwrap_err();
        counts.push(late.error().undelivered());
        let mut sink = task.sink();
        let refused = rt.block_on(std::future::poll_fn(|cx| {
            futures_sink::Sink::poll_ready(std::pin::Pin::new(&mut sink), cx)
        }));
        counts.push(refused.unwrap_err().undelivered());
        drop(sink);
        let e = task.close().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panicked);
        assert_eq!(e.message(), Some(format!("boom at delivery {at}").as_str()));
        let undelivered = e.undelivered().expect("the undelivered count");
        // The panicking item was accepted and reached the consumer, but is not counted
        // in `delivered`, which only counts completed sends.
        assert_eq!(
            accepted,
            at + 1 + undelivered,
            "{placement:?}: accepted = delivered + the panicking one + undelivered"
        );
        // Every error after the failure carries the count `close` reports.
        assert!(!counts.is_empty());
        for c in counts {
            assert_eq!(c, Some(undelivered), "{placement:?}: a send error's count");
        }
        let want = consumer::Stats {
            accepted,
            delivered: at + 1,
            queued: 0,
            undelivered,
            restarts: 0,
        };
        assert_eq!(task.stats(), want, "{placement:?}: stats after the run");
        assert_eq!(task.close().unwrap_err().kind(), ErrorKind::Panicked);
    }
}

#[test]
fn an_error_in_send_still_closes_the_consumer() {
    let closed = Arc::new(Mutex::new(false));
    let flag = Arc::clone(&closed);
    let task = consumer_coroutine::spawn(
        consumer::try_from_fn(|n: u32| {
            if n == 2 {
                Err(consumer::Error::new(ErrorKind::Other, "two"))
            } else {
                Ok(())
            }
        })
        .on_close(move || {
            *flag.lock().unwrap() = true;
            Ok(())
        }),
    );
    task.send_all([1, 2]).unwrap();
    let e = task.close().unwrap_err();
    assert_eq!((e.kind(), e.message()), (ErrorKind::Other, Some("two")));
    assert_eq!(e.undelivered(), Some(0));
    assert!(*closed.lock().unwrap());
    let refused = task.send(3).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Other);
    assert_eq!(refused.into_item(), Some(3));
}

#[test]
fn zero_capacity_is_a_usage_error() {
    let e = Builder::new()
        .capacity(0)
        .spawn(Vec::<u8>::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
}

/// Dropping the runtime under a live handle neither hangs the drop nor the handle:
/// sends and close report that the runtime is gone.
#[test]
fn the_runtime_shutting_down_is_reported_not_hung() {
    for placement in [Placement::InLine, Placement::BlockingPool] {
        let rt = multi_thread();
        let task = Builder::new()
            .runtime(rt.handle().clone())
            .placement(placement)
            .spawn(Vec::<u32>::new())
            .unwrap();
        task.send(1).unwrap();
        drop(rt);
        let e = task.send(2).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Disconnected, "{placement:?}: {e}");
        assert_eq!(e.into_item(), Some(2));
        let e = task.close().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Disconnected, "{placement:?}: {e}");
    }
}

/// The same on a current-thread runtime that is dropped before it ever ran the task.
#[test]
fn a_runtime_dropped_before_running_the_task_is_reported() {
    let rt = current_thread();
    let task = Builder::new()
        .runtime(rt.handle().clone())
        .spawn(Vec::<u32>::new())
        .unwrap();
    drop(rt);
    assert_eq!(task.close().unwrap_err().kind(), ErrorKind::Disconnected);
    let e: SendError<u32> = task.send(1).unwrap_err();
    assert_eq!(e.into_item(), Some(1));
}

/// A task holding the last clone of another run's handle, dropped by the runtime's
/// shutdown: the drop must not wait for the other run (which the same shutdown
/// drops), so the shutdown finishes.
#[test]
fn a_runtime_shutdown_dropping_the_last_handle_does_not_hang() {
    for placement in [Placement::InLine, Placement::BlockingPool] {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let (held, is_held) = std::sync::mpsc::channel();
        // The holder is spawned first and the run it holds second, so a shutdown
        // that drops tasks in order reaches the holder first.
        rt.spawn(async move {
            let task = Builder::new()
                .placement(placement)
                .spawn(Vec::<u32>::new())
                .unwrap();
            task.send_async(1).await.unwrap();
            held.send(()).unwrap();
            std::future::pending::<()>().await;
            drop(task);
        });
        is_held.recv().unwrap();
        let _watchdog = watchdog("the runtime's shutdown");
        drop(rt);
    }
}
