//! Sender and receiver over an OS pipe pair, in one process.

use std::io::{PipeReader, PipeWriter, pipe};
use std::thread;

use consumer::testing::{Item, Probe, Suite};
use consumer::{Consumer, ErrorKind};
use consumer_process::{Flush, Receiver, Sender, SharedSender};

/// A sender over one pipe, a receiver thread running `probe` over it, and the report
/// coming back over a second pipe.
fn over_pipes(probe: Probe, policy: Flush) -> SharedSender<Item, PipeWriter> {
    let (items_r, items_w) = pipe().expect("pipe");
    let (report_r, report_w) = pipe().expect("pipe");
    thread::spawn(move || {
        let _ = Receiver::new(items_r)
            .report_to(report_w)
            .run::<Item, _>(probe);
    });
    Sender::new(items_w)
        .with_report(report_r)
        .flush_policy(policy)
        .shared()
}

#[test]
fn passes_the_suite_over_a_pipe_pair() {
    Suite::new("process-pipe").run(|probe| over_pipes(probe, Flush::WhenIdle));
}

#[test]
fn passes_the_suite_with_manual_flushing() {
    Suite::new("process-pipe-manual")
        .items(2_000)
        .run(|probe| over_pipes(probe, Flush::Manual));
}

/// The delivery test of the other runners, over a pipe: 4 producers × 250,000 items.
/// (The 4 × 2.5 M takes minutes in a debug build on 2 shared cores; a tenth
/// keeps this binary near its time budget and still crosses the pipe buffer thousands
/// of times.)
#[test]
fn delivers_every_item_in_order_under_load() {
    const PRODUCERS: u32 = 4;
    const ITEMS: u64 = 250_000;
    let (items_r, items_w) = pipe().expect("pipe");
    let (report_r, report_w) = pipe().expect("pipe");
    let rx = thread::spawn(move || {
        let mut next = vec![0u64; PRODUCERS as usize];
        let check = consumer::try_from_fn(move |(p, seq): Item| {
            let want = &mut next[p as usize];
            if seq != *want {
                return Err(consumer::Error::new(
                    ErrorKind::Other,
                    format!("producer {p}: got {seq}, expected {want}"),
                ));
            }
            *want += 1;
            Ok(())
        });
        Receiver::new(items_r)
            .report_to(report_w)
            .run::<Item, _>(check)
    });
    let tx = Sender::new(items_w).with_report(report_r).shared();
    let workers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let mut tx = tx.clone();
            thread::spawn(move || {
                for seq in 0..ITEMS {
                    tx.send((p, seq)).expect("send");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("producer");
    }
    let mut tx = tx;
    tx.close().expect("close");
    let received = rx.join().expect("receiver").expect("receiver run");
    assert_eq!(received, u64::from(PRODUCERS) * ITEMS);
}

/// Waits until no process holds the read end of `w`'s pipe any more. Dropping our
/// read end is not always enough at once: a child another test spawns at that
/// moment holds a copy of every descriptor until its `exec` closes them. The pipe
/// reports `POLLERR` on its write end once the last reader is gone.
fn wait_until_unread(w: &PipeWriter) {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let limit = Timespec {
        tv_sec: 10,
        tv_nsec: 0,
    };
    let mut fds = [PollFd::new(w, PollFlags::empty())];
    loop {
        match poll(&mut fds, Some(&limit)) {
            Ok(0) => panic!("the pipe still has a reader after 10 s"),
            Ok(_) if fds[0].revents().contains(PollFlags::ERR) => return,
            Ok(_) => panic!("poll reported {:?}", fds[0].revents()),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => panic!("poll: {e}"),
        }
    }
}

#[test]
fn a_receiver_that_stops_reading_breaks_the_sender_without_a_report() {
    // Writing per send: the very next send fails, its item handed back.
    let (items_r, items_w) = pipe().expect("pipe");
    let watch = items_w.try_clone().expect("dup");
    let mut tx = Sender::new(items_w).flush_policy(Flush::WhenIdle);
    tx.send(1u64).expect("first send");
    drop(items_r);
    wait_until_unread(&watch);
    let e = tx.send(2).expect_err("send to a closed pipe");
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{}", e.error());
    assert_eq!(e.into_item(), Some(2));
    assert_eq!(tx.close().unwrap_err().kind(), ErrorKind::Disconnected);

    // The default may have queued the next items for its writer thread: the break
    // shows on a later send (whose item comes back) or at the latest on close.
    let (items_r, items_w) = pipe().expect("pipe");
    let watch = items_w.try_clone().expect("dup");
    let mut tx = Sender::new(items_w);
    tx.send(1u64).expect("first send");
    drop(items_r);
    wait_until_unread(&watch);
    let failed = (2..10_000u64).find_map(|n| tx.send(n).err().map(|e| (n, e)));
    if let Some((n, e)) = failed {
        assert_eq!(e.kind(), ErrorKind::Disconnected, "{}", e.error());
        assert_eq!(
            e.into_item(),
            Some(n),
            "the failing send's own item comes back"
        );
    }
    assert_eq!(tx.close().unwrap_err().kind(), ErrorKind::Disconnected);
}

#[test]
fn the_report_carries_the_far_consumers_failure() {
    let (items_r, items_w) = pipe().expect("pipe");
    let (report_r, report_w): (PipeReader, PipeWriter) = pipe().expect("pipe");
    let rx = thread::spawn(move || {
        let failing = consumer::try_from_fn(|n: u32| {
            if n == 3 {
                Err(consumer::Error::new(ErrorKind::Other, "three is right out"))
            } else {
                Ok(())
            }
        });
        Receiver::new(items_r)
            .report_to(report_w)
            .run::<u32, _>(failing)
    });
    let mut tx = Sender::new(items_w).with_report(report_r);
    tx.send_all(1u32..=5).expect("the pipe takes them all");
    let e = tx.close().expect_err("the consumer failed");
    assert_eq!(e.kind(), ErrorKind::Other);
    assert_eq!(e.message(), Some("three is right out"));
    assert_eq!(e.undelivered(), Some(2), "items 4 and 5: {e}");
    assert_eq!(rx.join().unwrap().unwrap_err().kind(), ErrorKind::Other);
}

#[test]
fn a_lone_small_byte_vector_arrives_before_anything_else_is_sent() {
    let (items_r, items_w) = pipe().expect("pipe");
    let (got_tx, got_rx) = std::sync::mpsc::channel();
    let rx = thread::spawn(move || {
        Receiver::new(items_r).run::<Vec<u8>, _>(consumer::from_fn(move |v: Vec<u8>| {
            let _ = got_tx.send(v);
        }))
    });
    let mut tx = Sender::new(items_w);
    for round in 0..3u8 {
        tx.send(vec![round; 3]).expect("send");
        // Nothing more is sent until the receiver has it: it must not wait for more.
        let got = got_rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the lone item never arrived");
        assert_eq!(got, [round; 3]);
    }
    tx.close().expect("close");
    assert_eq!(rx.join().unwrap().unwrap(), 3);
}
