//! The default flush policy (`Flush::Auto`): a lone item leaves without a flush,
//! streams from one or many producers arrive whole and in order, a failure of a
//! queued write is reported with counts.

use std::io::pipe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind};
use consumer_process::{Receiver, Sender};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_lone_item_arrives_without_a_flush() {
    let (r, w) = pipe().unwrap();
    let (seen_tx, seen) = mpsc::channel();
    let rx = thread::spawn(move || {
        Receiver::new(r).run::<u64, _>(consumer::from_fn(move |x: u64| {
            let _ = seen_tx.send(x);
        }))
    });
    let mut tx = Sender::new(w);
    for i in 0..3u64 {
        tx.send(i).unwrap();
        // The producer waits; the far side must see the item meanwhile.
        assert_eq!(seen.recv_timeout(WAIT), Ok(i));
    }
    tx.close().unwrap();
    assert_eq!(rx.join().unwrap().unwrap(), 3);
}

#[test]
fn streams_from_one_and_many_producers_arrive_whole_and_in_order() {
    const PRODUCERS: u64 = 4;
    const ITEMS: u64 = 50_000;
    let (r, w) = pipe().unwrap();
    let rx = thread::spawn(move || {
        let mut got = Vec::new();
        Receiver::new(r).run::<(u64, u64), _>(&mut got).map(|_| got)
    });
    let tx = Sender::new(w).shared();
    let workers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let mut tx = tx.clone();
            thread::spawn(move || {
                for i in 0..ITEMS {
                    tx.send((p, i)).unwrap();
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let mut tx = tx;
    tx.close().unwrap();
    let got = rx.join().unwrap().unwrap();
    assert_eq!(got.len() as u64, PRODUCERS * ITEMS);
    let mut next = vec![0u64; PRODUCERS as usize];
    for (p, i) in got {
        assert_eq!(i, next[p as usize], "producer {p} out of order");
        next[p as usize] += 1;
    }
}

#[test]
fn a_far_end_that_fails_mid_stream_is_reported_with_exact_counts() {
    const FAIL_AT: u64 = 1_000;
    let (items_r, items_w) = pipe().unwrap();
    let (report_r, report_w) = pipe().unwrap();
    let delivered = Arc::new(Mutex::new(0u64));
    let d = Arc::clone(&delivered);
    let rx = thread::spawn(move || {
        Receiver::new(items_r)
            .report_to(report_w)
            .run::<u64, _>(consumer::try_from_fn(move |x: u64| {
                if x == FAIL_AT {
                    return Err(Error::new(ErrorKind::Usage, "refused"));
                }
                *d.lock().unwrap() += 1;
                Ok(())
            }))
    });
    let mut tx = Sender::new(items_w).with_report(report_r);
    let mut failed = None;
    for i in 0..1_000_000u64 {
        if let Err(e) = tx.send(i) {
            failed = Some(e);
            break;
        }
    }
    let e = match failed {
        Some(e) => {
            // The item of the call that learnt of it comes back.
            assert!(e.item().is_some());
            e.into_error()
        }
        None => tx.close().unwrap_err(),
    };
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    let _ = rx.join().unwrap();
    let delivered = *delivered.lock().unwrap();
    assert_eq!(delivered, FAIL_AT);
    // The refused item reached the consumer: it counts as received.
    assert_eq!(e.undelivered(), Some(tx.accepted() - delivered - 1), "{e}");
    // Later calls say the same.
    assert_eq!(tx.close().unwrap_err().kind(), ErrorKind::Usage);
}

#[test]
fn a_queued_write_to_a_vanished_reader_fails_a_later_call() {
    let (r, w) = pipe().unwrap();
    let mut tx = Sender::new(w);
    tx.send(0u64).unwrap();
    drop(r);
    let mut failure = None;
    for i in 1..1_000_000u64 {
        if let Err(e) = tx.send(i) {
            failure = Some(e.into_error());
            break;
        }
    }
    let e = failure.unwrap_or_else(|| tx.flush().unwrap_err());
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    assert!(tx.close().is_err());
}
