//! Supervision: a worker that panics and a worker process killed with SIGKILL, mid
//! stream, restarted with exact accounting; the restart intensity exceeded, failing
//! the pool with a clear error, no hang, no zombie.

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use consumer::{Consumer, ErrorKind};
use consumer_pool::{Dispatch, Pool, Restart, Supervised};

use crate::support::{Checker, Item, Seen, check_keys, child, children_seen, key, scratch, within};

/// Restarts allowed here: a few, quickly.
fn quick(max: u32) -> Restart {
    Restart::up_to(max, Duration::from_secs(60))
        .backoff(Duration::from_millis(1), Duration::from_millis(4))
}

/// `producers` threads, each sending `(p, 0..n)` one item at a time; `at(p, seq)` runs
/// before each send. Every send must succeed (restarts are absorbed).
fn produce(
    pool: &Pool<Item>,
    producers: u32,
    n: u64,
    at: impl Fn(u32, u64) + Send + Sync + 'static,
) {
    let at = Arc::new(at);
    let threads: Vec<_> = (0..producers)
        .map(|p| {
            let (mut h, at) = (pool.clone(), at.clone());
            thread::spawn(move || {
                for seq in 0..n {
                    at(p, seq);
                    h.send((p, seq)).expect("send: the restart is absorbed");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("producer");
    }
}

fn snapshot(all: &Mutex<Vec<Arc<Mutex<Seen>>>>) -> Vec<Seen> {
    all.lock()
        .unwrap()
        .iter()
        .map(|s| s.lock().unwrap().clone())
        .collect()
}

#[test]
fn a_thread_worker_that_panics_mid_stream_is_restarted_and_every_item_is_accounted_for() {
    within(120, "a panicking thread worker", || {
        let all = Arc::new(Mutex::new(Vec::new()));
        let registry = all.clone();
        let mut made = 0;
        let mut pool = Pool::builder(3)
            .dispatch(Dispatch::by_key(key))
            .restart(quick(3))
            .build(move |i| {
                made += 1;
                // Worker 1's first generation panics at its 20,000th item.
                let panic_at = (i == 1 && made == 2).then_some(20_000);
                Ok(consumer_thread::spawn(Checker::new(i, &registry, panic_at)))
            })
            .expect("pool");
        produce(&pool, 4, 100_000, |_, _| {});
        let outcome = pool.close();
        let counts = pool.counts();
        let seen = snapshot(&all);
        eprintln!("panicking thread worker: {counts:?}, {outcome:?}");

        assert_eq!(counts.accepted, 400_000, "every send returned Ok");
        assert_eq!((counts.restarts, counts.in_doubt), (1, 0));
        assert_eq!(seen.len(), 4, "three workers and one replacement");
        let delivered = check_keys(&seen, true);
        assert_eq!(
            delivered + counts.undelivered,
            counts.accepted,
            "delivered + undelivered = accepted, exactly"
        );
        let panicked: Vec<_> = seen.iter().filter(|s| s.closes == 0).collect();
        assert_eq!(
            panicked.len(),
            1,
            "only the panicked worker is never closed"
        );
        assert_eq!(panicked[0].items(), 20_000, "it got up to its panic");
        assert!(
            seen.iter().filter(|s| s.closes == 1).count() == 3,
            "the others closed once"
        );
        match outcome {
            Ok(()) => assert_eq!(counts.undelivered, 0, "Ok only when nothing was lost"),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Panicked, "{e}");
                assert_eq!(e.undelivered(), Some(counts.undelivered), "{e}");
                assert!(counts.undelivered > 0);
            }
        }
    });
}

/// Is `pid` gone (reaped), not a zombie?
fn reaped(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A reused pid would be some other live process: not ours, not a zombie.
        Ok(stat) => !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z'),
    }
}

#[test]
fn a_worker_process_killed_mid_stream_is_restarted_and_its_items_are_in_doubt() {
    within(120, "a worker process killed with SIGKILL", || {
        let dir = scratch("sigkill");
        let pids = Arc::new(Mutex::new(Vec::new()));
        let (d, p) = (dir.clone(), pids.clone());
        let mut pool = Pool::builder(3)
            .dispatch(Dispatch::by_key(key))
            .restart(quick(3))
            .build(move |i| child("log", i, &d, &p))
            .expect("pool");
        let victim = pids.lock().unwrap()[1];
        produce(&pool, 4, 50_000, move |p, seq| {
            if (p, seq) == (0, 20_000) {
                let killed = std::process::Command::new("kill")
                    .args(["-9", &victim.to_string()])
                    .status()
                    .expect("run kill");
                assert!(killed.success());
            }
        });
        let e = pool.close().expect_err("items went to a killed worker");
        let counts = pool.counts();
        let pids = pids.lock().unwrap().clone();
        eprintln!("killed worker process: {counts:?}, {e}");

        assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
        assert!(e.to_string().contains("in doubt"), "{e}");
        assert_eq!(
            e.undelivered(),
            None,
            "no exact count while some are in doubt: {e}"
        );
        assert_eq!(counts.accepted, 200_000, "every send returned Ok");
        assert_eq!((counts.restarts, counts.undelivered), (1, 0));
        assert_eq!(pids.len(), 4, "three children and one replacement");
        // In the order the factory made them, so each key's generations follow.
        let mut by_pid = children_seen(&dir);
        by_pid.sort_by_key(|(pid, _)| pids.iter().position(|p| p == pid));
        let killed = &by_pid
            .iter()
            .find(|(pid, _)| *pid == victim)
            .expect("victim's report")
            .1;
        assert_eq!(killed.closes, 0, "the killed child never closed");
        assert!(
            killed.items() <= counts.in_doubt,
            "it handled at most what it was given"
        );
        let survivors: u64 = by_pid
            .iter()
            .filter(|(pid, _)| *pid != victim)
            .map(|(_, s)| s.items())
            .sum();
        assert_eq!(
            survivors,
            counts.accepted - counts.in_doubt,
            "every item not in doubt was delivered, exactly"
        );
        assert!(
            by_pid
                .iter()
                .filter(|(pid, _)| *pid != victim)
                .all(|(_, s)| s.closes == 1)
        );
        let seen: Vec<Seen> = by_pid.into_iter().map(|(_, s)| s).collect();
        check_keys(&seen, true);
        assert!(pids.iter().all(|&pid| reaped(pid)), "no zombie: {pids:?}");
        let _ = std::fs::remove_dir_all(&dir);
    });
}

/// Sends until the pool refuses; the error and how long it took.
fn send_until_refused(pool: &mut impl Consumer<Item>) -> (consumer::SendError<Item>, Duration) {
    let started = Instant::now();
    for seq in 0..1_000_000 {
        if let Err(e) = pool.send((0, seq)) {
            assert_eq!(e.item(), Some(&(0, seq)), "the refused item is handed back");
            return (e, started.elapsed());
        }
    }
    panic!("a worker that always fails never failed the pool");
}

#[test]
fn exceeding_the_restart_intensity_fails_the_pool_with_a_clear_error() {
    within(60, "restart intensity exceeded (threads)", || {
        let all = Arc::new(Mutex::new(Vec::new()));
        let registry = all.clone();
        let mut pool = Pool::builder(2)
            .restart(quick(2))
            .build(move |i| Ok(consumer_thread::spawn(Checker::new(i, &registry, Some(1)))))
            .expect("pool");
        let (e, took) = send_until_refused(&mut pool);
        assert!(took < quick(2).window(), "within the window: {took:?}");
        assert_eq!(e.kind(), ErrorKind::Panicked, "{e}");
        let message = e.error().to_string();
        assert!(message.contains("after 2 restarts within 60s"), "{message}");
        assert!(message.contains("restart policy"), "{message}");
        assert!(
            message.contains("checker panics"),
            "the worker's own failure: {message}"
        );
        // Failed for good: later sends too, item back; close reports it.
        let again = pool.send((9, 9)).expect_err("the pool has failed");
        assert_eq!(again.into_item(), Some((9, 9)));
        let closed = pool.close().expect_err("close reports the failure");
        assert_eq!(closed.kind(), ErrorKind::Panicked);
        let counts = pool.counts();
        assert_eq!(counts.restarts, 2);
        let delivered: u64 = snapshot(&all).iter().map(Seen::items).sum();
        assert_eq!(delivered + counts.undelivered, counts.accepted);
        assert_eq!(closed.undelivered(), Some(counts.undelivered));
    });
}

#[test]
fn exceeding_the_restart_intensity_with_dying_children_leaves_no_zombie() {
    within(60, "restart intensity exceeded (processes)", || {
        let dir = scratch("dying");
        let pids = Arc::new(Mutex::new(Vec::new()));
        let (d, p) = (dir.clone(), pids.clone());
        let mut pool = Pool::builder(1)
            .restart(quick(2))
            .build(move |i| child("exit", i, &d, &p))
            .expect("pool");
        let (e, took) = send_until_refused(&mut pool);
        assert!(took < quick(2).window(), "within the window: {took:?}");
        assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
        assert!(e.error().to_string().contains("restart policy"), "{e}");
        let closed = pool.close().expect_err("close reports the failure");
        assert_eq!(closed.kind(), ErrorKind::Exit, "{closed}");
        let pids = pids.lock().unwrap().clone();
        assert_eq!(pids.len(), 3, "the child and two replacements");
        assert!(pids.iter().all(|&pid| reaped(pid)), "no zombie: {pids:?}");
        assert_eq!(pool.counts().restarts, 2);
        let _ = std::fs::remove_dir_all(&dir);
    });
}

#[test]
fn a_supervised_thread_worker_is_restarted_with_exact_accounting() {
    within(60, "a supervised thread worker", || {
        let all = Arc::new(Mutex::new(Vec::new()));
        let registry = all.clone();
        let mut made = 0;
        let mut s = Supervised::new(quick(1), move |i| {
            made += 1;
            let panic_at = (made == 1).then_some(1_000);
            Ok(consumer_thread::spawn(Checker::new(i, &registry, panic_at)))
        })
        .expect("supervised");
        for seq in 0..10_000 {
            s.send((0, seq)).expect("send: the restart is absorbed");
        }
        let outcome = s.close();
        let counts = s.counts();
        let seen = snapshot(&all);
        assert_eq!((counts.accepted, counts.restarts), (10_000, 1));
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].items(), 1_000);
        assert_eq!(
            seen.iter().map(Seen::items).sum::<u64>() + counts.undelivered,
            10_000
        );
        check_keys(&seen, true);
        assert_eq!(
            outcome.err().and_then(|e| e.undelivered()).unwrap_or(0),
            counts.undelivered
        );
    });
}

#[test]
fn a_worker_whose_close_fails_loses_nothing_and_the_pool_says_so() {
    within(30, "a failing close", || {
        let mut pool = Pool::builder(2)
            .build(|i| {
                let c = consumer::from_fn(|_: Item| {}).on_close(move || match i {
                    1 => Err(consumer::Error::new(
                        ErrorKind::Other,
                        "cannot flush the report",
                    )),
                    _ => Ok(()),
                });
                Ok(consumer_thread::spawn(c))
            })
            .expect("pool");
        pool.send_all((0..100).map(|s| (0, s))).expect("send_all");
        let e = pool.close().expect_err("worker 1's close failed");
        assert_eq!(e.kind(), ErrorKind::Other, "{e}");
        assert!(
            e.to_string()
                .contains("closing worker 1: cannot flush the report"),
            "{e}"
        );
        assert_eq!(e.undelivered(), Some(0), "{e}");
        let counts = pool.counts();
        assert_eq!(
            (counts.accepted, counts.undelivered, counts.in_doubt),
            (100, 0, 0)
        );
    });
}
