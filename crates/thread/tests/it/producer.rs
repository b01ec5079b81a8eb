//! `ProducerThread`: consumers registered and unregistered while it runs, failures
//! that end it, and `stop`.

use std::sync::{Arc, Mutex};

use consumer::{Consumer, Error, ErrorKind, from_fn};
use consumer_thread::ProducerThread;
use crossbeam_channel::{Receiver, bounded, unbounded};

use crate::util::DEADLINE;

/// Takes `n` items from `rx`, failing the test if they do not come in time.
fn take(rx: &Receiver<u32>, n: usize) -> Vec<u32> {
    (0..n)
        .map(|_| rx.recv_timeout(DEADLINE).expect("an item in time"))
        .collect()
}

#[test]
fn consumers_register_and_unregister_while_it_runs() {
    // The source is a channel the test feeds, so the test decides when items exist.
    let (mut feed, source) = unbounded::<u32>();
    let (a_out, a_seen) = unbounded();
    let (b_out, b_seen) = unbounded();
    let a = consumer_thread::spawn(a_out).into_handle();
    let b = consumer_thread::spawn(b_out).into_handle();

    let mut producer = ProducerThread::new(source).name("feed");
    let key_a = producer.register(a);
    producer.start().unwrap();

    feed.send_all(0..10).unwrap();
    assert_eq!(take(&a_seen, 10), (0..10).collect::<Vec<_>>());

    producer.register(b);
    feed.send_all(10..20).unwrap();
    assert_eq!(take(&a_seen, 10), (10..20).collect::<Vec<_>>());
    assert_eq!(take(&b_seen, 10), (10..20).collect::<Vec<_>>());

    let mut a = producer.unregister(key_a).expect("a is registered");
    a.close().unwrap(); // a's runner drains and ends; its channel disconnects
    feed.send_all(20..30).unwrap();
    assert_eq!(take(&b_seen, 10), (20..30).collect::<Vec<_>>());
    assert!(a_seen.recv_timeout(DEADLINE).is_err(), "a got nothing more");

    drop(feed); // the source ends: the producer closes b and finishes
    assert_eq!(producer.join().unwrap(), 30);
    assert!(
        b_seen.recv_timeout(DEADLINE).is_err(),
        "b is closed and gone"
    );
}

/// Logs items and close into a shared list.
fn logger(log: &Arc<Mutex<Vec<String>>>) -> impl Consumer<u32> + Send + 'static {
    let (on_item, on_close) = (Arc::clone(log), Arc::clone(log));
    from_fn(move |n: u32| on_item.lock().unwrap().push(n.to_string())).on_close(move || {
        on_close.lock().unwrap().push("close".into());
        Ok::<(), Error>(())
    })
}

#[test]
fn a_consumer_failure_ends_the_producer_and_closes_the_others() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let producer_of = |items| {
        let mut p = ProducerThread::new(items);
        p.register(consumer_thread::spawn(logger(&log)).into_handle());
        p.register(consumer_thread::spawn(from_fn(|n: u32| assert!(n < 5, "five"))).into_handle());
        p.start().unwrap();
        p
    };
    // Unbounded: the failure shows within a few items, and the source has no end.
    let e = producer_of(0..).join().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Panicked, "{e}");
    assert_eq!(
        log.lock().unwrap().last().map(String::as_str),
        Some("close")
    );
}

#[test]
fn a_panicking_source_still_closes_its_consumers() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut p = ProducerThread::new((0..3).chain(std::iter::from_fn(|| panic!("source broke"))));
    p.register(consumer_thread::spawn(logger(&log)).into_handle());
    p.start().unwrap();
    let e = p.join().unwrap_err();
    assert_eq!(
        (e.kind(), e.message()),
        (ErrorKind::Panicked, Some("source broke"))
    );
    assert_eq!(*log.lock().unwrap(), ["0", "1", "2", "close"]);
}

#[test]
fn stop_ends_an_endless_producer() {
    let (seen, saw) = bounded(1);
    let mut p = ProducerThread::new(0u32..);
    p.register(
        consumer_thread::spawn(from_fn(move |n: u32| {
            if n == 100 {
                let _ = seen.send(());
            }
        }))
        .into_handle(),
    );
    p.start().unwrap();
    saw.recv_timeout(DEADLINE).expect("items flow");
    p.stop();
    assert!(p.join().unwrap() > 100);
}
