//! Lifecycle: join hands the consumer back, drop waits (or not, for a daemon),
//! timeouts, flush, names, and what must not compile or deadlock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, SendError, from_fn};
use consumer_thread::{Builder, Handle, Runner};
use crossbeam_channel::{Receiver, Sender, bounded};

use crate::util::{DEADLINE, within};

/// Records what reaches it, and whether it was closed and dropped.
#[derive(Default, Clone)]
struct Recorder {
    log: Arc<Mutex<Vec<String>>>,
    dropped: Arc<AtomicBool>,
}

impl Recorder {
    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Consumer<u32> for Recorder {
    fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
        self.log.lock().unwrap().push(n.to_string());
        Ok(())
    }
    fn flush(&mut self) -> Result<(), Error> {
        self.log.lock().unwrap().push("flush".into());
        Ok(())
    }
    fn close(&mut self) -> Result<(), Error> {
        self.log.lock().unwrap().push("close".into());
        Ok(())
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Only the runner's copy is dropped in the runner thread; the test keeps clones.
        if thread::current().name() == Some("recorder") {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }
}

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn join_hands_the_consumer_back_with_its_state() {
    struct Sum(u64);
    impl Consumer<u64> for Sum {
        fn send(&mut self, n: u64) -> Result<(), SendError<u64>> {
            self.0 += n;
            Ok(())
        }
    }
    let runner = consumer_thread::spawn(Sum(0));
    runner.send_all(1..=100).unwrap();
    assert_eq!(runner.join().unwrap().0, 5050);

    let runner = consumer_thread::spawn(Vec::new());
    let h = runner.handle();
    thread::spawn(move || h.send_all(0..1_000))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(runner.join().unwrap(), (0..1_000).collect::<Vec<_>>());
}

#[test]
fn dropping_the_last_handle_waits_for_drain_close_and_thread_end() {
    let rec = Recorder::default();
    let runner = Builder::new().name("recorder").spawn(rec.clone()).unwrap();
    let h = runner.handle();
    drop(runner); // not the last handle: nothing happens
    h.send(1).unwrap();
    h.flush().unwrap();
    h.send(2).unwrap();
    within("dropping the last handle", move || drop(h));
    assert_eq!(rec.log(), strings(&["1", "flush", "2", "close"]));
    assert!(
        rec.dropped.load(Ordering::SeqCst),
        "the thread has ended (the consumer is dropped) when the last drop returns"
    );
}

/// A consumer that waits for a go-ahead before its first item, and reports its close.
fn held(go: Receiver<()>, closed: Sender<Vec<u32>>) -> impl Consumer<u32> + Send + 'static {
    let mut got = Vec::new();
    let mut first = true;
    from_fn(move |n: u32| {
        if std::mem::take(&mut first) {
            let _ = go.recv();
        }
        got.push(n);
        if n == 9 {
            let _ = closed.send(std::mem::take(&mut got));
        }
    })
}

#[test]
fn a_daemon_does_not_hold_up_its_last_drop_and_finishes_on_its_own() {
    let (go, wait) = bounded(0);
    let (closed, done) = bounded(1);
    let runner = Builder::new()
        .daemon(true)
        .spawn(held(wait, closed))
        .unwrap();
    let go = go; // dropped first if an assertion fails, releasing the consumer
    runner.send_all(0..10).unwrap();
    // The consumer is stuck on item 0: a non-daemon drop would hang here.
    within("dropping a daemon's last handle", move || drop(runner));
    go.send(()).unwrap();
    let got = done
        .recv_timeout(DEADLINE)
        .expect("the daemon drains on its own");
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_daemon_closed_explicitly_waits_like_any_runner() {
    let rec = Recorder::default();
    let runner = Builder::new().daemon(true).spawn(rec.clone()).unwrap();
    runner.send(5).unwrap();
    runner.close().unwrap();
    assert_eq!(rec.log(), strings(&["5", "close"]));
}

#[test]
fn send_timeout_and_try_send_hand_the_item_back_when_the_mailbox_stays_full() {
    let (took, taken) = bounded(1);
    let (release, wait) = bounded::<()>(0);
    let runner = Builder::new()
        .capacity(1)
        .spawn(from_fn(move |n: u32| {
            if n == 0 {
                let _ = took.send(());
                let _ = wait.recv();
            }
        }))
        .unwrap();
    // Declared after the runner, so that a failing assertion drops it first and the
    // runner's drop does not wait on a consumer that is still held.
    let release = release;
    runner.send(0).unwrap();
    taken.recv().unwrap(); // the consumer holds item 0: the one slot stays as we fill it
    runner.try_send(1).unwrap();
    let e = runner.try_send(2).unwrap_err();
    assert_eq!((e.kind(), e.into_item()), (ErrorKind::Full, Some(2)));
    let e = runner
        .send_timeout(3, Duration::from_millis(10))
        .unwrap_err();
    assert_eq!((e.kind(), e.into_item()), (ErrorKind::Timeout, Some(3)));
    release.send(()).unwrap();
    runner.join().unwrap();
}

#[test]
fn a_consumer_closing_its_own_runner_gets_a_usage_error() {
    type Job = Box<dyn FnOnce() + Send>;
    let runner = consumer_thread::spawn(from_fn(|job: Job| job()));
    let own = runner.handle();
    let (tx, rx) = bounded(1);
    runner
        .send(Box::new(move || {
            let _ = tx.send(own.close());
        }))
        .unwrap_or_else(|_| panic!("send"));
    let e = rx.recv_timeout(DEADLINE).unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    runner.join().unwrap();
}

#[test]
fn names_and_finished() {
    let runner = consumer_thread::spawn(Recorder::default());
    assert_eq!(runner.name(), "Recorder");
    assert_eq!(Consumer::name(&runner.handle()), "Recorder");
    assert!(!runner.is_finished());
    let h = runner.handle();
    h.close().unwrap();
    assert!(runner.is_finished() && h.is_finished());
    assert!(format!("{h:?}").contains("Closed"), "{h:?}");
    let named = Builder::new()
        .name("worker-1")
        .spawn(Vec::<u8>::new())
        .unwrap();
    assert_eq!(named.name(), "worker-1");
}

#[test]
fn public_types_are_send_and_handles_clone() {
    fn send<T: Send>() {}
    fn clone<T: Clone>() {}
    send::<Handle<u64>>();
    clone::<Handle<u64>>();
    send::<Runner<Vec<u64>, u64>>();
    send::<consumer_thread::ProducerThread<u64>>();
    send::<Builder>();
}
