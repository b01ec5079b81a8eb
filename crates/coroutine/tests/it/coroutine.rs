//! Coroutines that receive: the body's loop, its cleanup, and how it may end.

use std::sync::{Arc, Mutex};

use consumer::{Consumer, ErrorKind};
use consumer_coroutine::Builder;

use crate::support::multi_thread;

/// What the body saw, in order, shared with the test.
type Journal = Arc<Mutex<Vec<String>>>;

fn journal() -> (Journal, Journal) {
    let j = Journal::default();
    (Arc::clone(&j), j)
}

#[test]
fn close_ends_the_inbox_and_waits_for_the_cleanup() {
    let (log, seen) = journal();
    // No priming step: the first send goes straight into the inbox.
    let task = consumer_coroutine::coroutine(|mut inbox| async move {
        while let Some(n) = inbox.recv().await {
            log.lock().unwrap().push(format!("got {n}"));
        }
        log.lock().unwrap().push("cleanup".to_owned());
    });
    task.send_all([1, 2, 3]).unwrap();
    task.close().unwrap();
    // Checked at once: close returned after the cleanup ran.
    assert_eq!(
        *seen.lock().unwrap(),
        ["got 1", "got 2", "got 3", "cleanup"]
    );
    let e = task.send(4).unwrap_err();
    assert_eq!((e.kind(), e.into_item()), (ErrorKind::Closed, Some(4)));
}

#[test]
fn flush_returns_once_the_body_has_received_everything_before_it() {
    let (log, seen) = journal();
    let task = consumer_coroutine::coroutine(|mut inbox| async move {
        while let Some(n) = inbox.recv().await {
            log.lock().unwrap().push(format!("got {n}"));
        }
    });
    task.send_all([1, 2]).unwrap();
    task.flush().unwrap();
    assert_eq!(*seen.lock().unwrap(), ["got 1", "got 2"]);
    task.close().unwrap();
}

#[test]
fn a_body_that_returns_early_reports_what_it_left_unread() {
    let rt = multi_thread();
    let (stopped, has_stopped) = tokio::sync::oneshot::channel::<()>();
    let (queued, was_queued) = tokio::sync::oneshot::channel::<()>();
    let task = Builder::new()
        .runtime(rt.handle().clone())
        .coroutine(|mut inbox| async move {
            assert_eq!(inbox.recv().await, Some(1));
            let _ = stopped.send(());
            // Hold the inbox until the test has queued more, then return, leaving it.
            let _ = was_queued.await;
        })
        .unwrap();
    task.send(1).unwrap();
    rt.block_on(has_stopped).unwrap();
    task.send_all([2, 3]).unwrap();
    queued.send(()).unwrap();
    let e = task.close().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Other, "{e}");
    assert_eq!(e.undelivered(), Some(2));
}

#[test]
fn a_panicking_body_is_reported_and_never_unwinds_into_senders() {
    let task = consumer_coroutine::coroutine(|mut inbox| async move {
        while let Some(n) = inbox.recv().await {
            if n == 3 {
                panic!("three");
            }
        }
    });
    task.send_all([1, 2, 3]).unwrap();
    let e = task.close().unwrap_err();
    assert_eq!(
        (e.kind(), e.message()),
        (ErrorKind::Panicked, Some("three"))
    );
    assert!(e.undelivered().is_some());
    let refused = task.send(4).unwrap_err();
    assert_eq!(
        (refused.kind(), refused.into_item()),
        (ErrorKind::Panicked, Some(4))
    );
}

#[test]
fn the_body_may_await_other_work_between_items() {
    let rt = multi_thread();
    let (results, mut collected) = tokio::sync::mpsc::unbounded_channel();
    let task = Builder::new()
        .runtime(rt.handle().clone())
        .name("doubler")
        .coroutine(|mut inbox| async move {
            while let Some(n) = inbox.recv().await {
                // Any await is allowed here: the body is an ordinary async block.
                let doubled = tokio::spawn(async move { n * 2 }).await.unwrap();
                results.send(doubled).unwrap();
            }
        })
        .unwrap();
    assert_eq!(Consumer::<u32>::name(&task), "doubler");
    let got = rt.block_on(async move {
        for n in 1..=3u32 {
            task.send_async(n).await.unwrap();
        }
        task.close_async().await.unwrap();
        let mut got = Vec::new();
        while let Some(n) = collected.recv().await {
            got.push(n);
        }
        got
    });
    assert_eq!(got, [2, 4, 6]);
}
