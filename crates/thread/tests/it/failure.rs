//! Failures: a panic at a random item never hangs a sender and is reported with the
//! exact count of accepted-but-undelivered items (a property test over random cases);
//! a sender blocked on a full mailbox is released by a panic; a consumer's error
//! still gets its `close`.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, SendError, from_fn};
use consumer_thread::Builder;

use crate::util::{wait_until_blocked, within};

/// SplitMix64: small, and good enough to pick test cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// How one producer sends.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Send,
    SendAll,
    SendTimeout,
}

/// What one producer saw.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    lost: u64,
    /// The undelivered count each error carried.
    counts: Vec<Option<u64>>,
}

fn produce(h: &consumer_thread::Handle<u64>, mode: Mode, items: std::ops::Range<u64>) -> Tally {
    let mut tally = Tally::default();
    let mut failed = false;
    let mut seen = |r: Result<(), SendError<u64>>, seq: u64| match r {
        Ok(()) => {
            assert!(!failed, "a send succeeded after one had failed");
            tally.ok += 1;
        }
        Err(e) => {
            failed = true;
            assert_eq!(e.kind(), ErrorKind::Panicked, "{}", e.error());
            tally.counts.push(e.error().undelivered());
            match e.into_item() {
                Some(item) => assert_eq!(item, seq, "the error handed back the wrong item"),
                None => tally.lost += 1,
            }
        }
    };
    match mode {
        Mode::Send => items.for_each(|seq| seen(h.send(seq), seq)),
        Mode::SendTimeout => {
            items.for_each(|seq| seen(h.send_timeout(seq, Duration::from_secs(3600)), seq));
        }
        Mode::SendAll => {
            let taken = AtomicU64::new(0);
            let start = items.start;
            let r = h.send_all(items.inspect(|_| {
                taken.fetch_add(1, Ordering::Relaxed);
            }));
            let taken = taken.into_inner();
            // On failure the last item taken is the one handed back.
            let accepted = if r.is_ok() { taken } else { taken - 1 };
            tally.ok = accepted;
            if let Err(e) = r {
                assert_eq!(e.kind(), ErrorKind::Panicked);
                tally.counts.push(e.error().undelivered());
                assert_eq!(e.into_item(), Some(start + accepted), "wrong item back");
            }
        }
    }
    tally
}

/// One random case: `producers` threads, a small mailbox, a panic at a random item.
fn panic_case(seed: u64) {
    let mut rng = Rng(seed);
    let producers = 1 + rng.below(4);
    let per_producer = 1 + rng.below(2_000);
    let panic_at = 1 + rng.below(producers * per_producer);
    let capacity = [0, 1, 2, 16, 1024][rng.below(5) as usize];
    let modes: Vec<Mode> = (0..producers)
        .map(|_| [Mode::Send, Mode::SendAll, Mode::SendTimeout][rng.below(3) as usize])
        .collect();
    let context = format!(
        "seed {seed}: {producers} producers × {per_producer} items, capacity {capacity}, \
         panic at item {panic_at}, modes {modes:?}"
    );

    let received = Arc::new(AtomicU64::new(0));
    let count = Arc::clone(&received);
    let consumer = from_fn(move |_: u64| {
        let n = count.fetch_add(1, Ordering::Relaxed) + 1;
        assert!(n <= panic_at, "the consumer was called after it panicked");
        if n == panic_at {
            panic!("boom at item {n}");
        }
    });
    let runner = Builder::new()
        .capacity(capacity)
        .spawn(consumer)
        .expect("spawn");
    let workers: Vec<_> = modes
        .iter()
        .enumerate()
        .map(|(p, &mode)| {
            let h = runner.handle();
            let start = p as u64 * per_producer;
            thread::spawn(move || produce(&h, mode, start..start + per_producer))
        })
        .collect();
    let (mut ok, mut lost, mut counts) = (0, 0, Vec::new());
    for w in workers {
        let t = w.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        ok += t.ok;
        lost += t.lost;
        counts.extend(t.counts);
    }
    let watcher = runner.handle();
    let e = runner.join().expect_err(&context);
    // A send after the end, too.
    let late = watcher.send(u64::MAX).expect_err(&context);
    counts.push(late.error().undelivered());
    assert_eq!(e.kind(), ErrorKind::Panicked, "{context}: {e}");
    assert_eq!(
        e.message(),
        Some(&*format!("boom at item {panic_at}")),
        "{context}"
    );
    let undelivered = e
        .undelivered()
        .unwrap_or_else(|| panic!("{context}: no count"));
    let received = received.load(Ordering::Relaxed);
    assert_eq!(received, panic_at, "{context}");
    assert!(
        lost <= 1,
        "{context}: only the item in the consumer's hands may be lost"
    );
    assert_eq!(
        ok + lost,
        received + undelivered,
        "{context}: accepted ({ok} ok + {lost} lost) = delivered ({received}) + undelivered ({undelivered})"
    );
    // Every error after the failure carries the count `close` reported.
    for c in counts {
        assert_eq!(c, Some(undelivered), "{context}: a send error's count");
    }
    let stats = watcher.stats();
    let want = consumer::Stats {
        accepted: ok + lost,
        delivered: received,
        queued: 0,
        undelivered,
        restarts: 0,
    };
    assert_eq!(stats, want, "{context}: stats after the run");
}

#[test]
fn a_panic_at_a_random_item_is_reported_with_the_exact_count() {
    // A fresh base seed each run (printed on failure); `PANIC_SEED=n` replays one case.
    let cases: Vec<u64> = match std::env::var("PANIC_SEED") {
        Ok(s) => vec![s.parse().expect("PANIC_SEED is a number")],
        Err(_) => {
            let base = RandomState::new().hash_one(0u8);
            (0..64).map(|i| base.wrapping_add(i)).collect()
        }
    };
    for seed in cases {
        within(&format!("panic case with seed {seed}"), move || {
            panic_case(seed);
        });
    }
}

#[test]
fn a_sender_blocked_on_a_full_mailbox_is_released_by_a_panic() {
    within("releasing a blocked sender", || {
        let (took, taken) = crossbeam_channel::bounded::<()>(1);
        let (go, wait) = crossbeam_channel::bounded::<()>(0);
        let runner = Builder::new()
            .capacity(1)
            .spawn(from_fn(move |n: u64| {
                if n == 0 {
                    let _ = took.send(());
                    let _ = wait.recv();
                    panic!("released");
                }
            }))
            .expect("spawn");
        runner.send(0).expect("send");
        taken.recv().expect("the consumer holds item 0 and waits");
        // Fill the mailbox (one slot): then a producer's next send blocks.
        runner.try_send(1).expect("the mailbox has room for one");
        assert_eq!(runner.try_send(1).unwrap_err().kind(), ErrorKind::Full);
        let h = runner.handle();
        let blocked = thread::Builder::new()
            .name("blocked-sender".into())
            .spawn(move || h.send(2))
            .expect("spawn");
        // Only once the sender is really blocked on the full mailbox does the
        // consumer panic: the release of a blocked sender is what is tested.
        wait_until_blocked("blocked-sender");
        assert!(!blocked.is_finished(), "the sender is still inside send");
        go.send(()).expect("the consumer is waiting");
        let r = blocked.join().expect("the blocked sender returns");
        // Either the runner's drain let it in (then it is counted undelivered) or the
        // gate was already shut (then it has its item back).
        let accepted = match r {
            Ok(()) => 1,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Panicked);
                assert_eq!(e.into_item(), Some(2));
                0
            }
        };
        let e = runner.join().expect_err("the panic is reported");
        assert_eq!(e.message(), Some("released"));
        assert_eq!(
            e.undelivered(),
            Some(1 + accepted),
            "item 1, and 2 if accepted"
        );
    });
}

#[test]
fn an_error_in_send_stops_delivery_and_still_closes() {
    struct FailsAtThree {
        got: Vec<u32>,
        closed: Arc<AtomicU64>,
    }
    impl Consumer<u32> for FailsAtThree {
        fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
            if n == 3 {
                return Err(SendError::new(n, Error::new(ErrorKind::Other, "three")));
            }
            self.got.push(n);
            Ok(())
        }
        fn close(&mut self) -> Result<(), Error> {
            self.closed.fetch_add(1, Ordering::Relaxed);
            Ok(())
        }
    }
    let closed = Arc::new(AtomicU64::new(0));
    let runner = consumer_thread::spawn(FailsAtThree {
        got: Vec::new(),
        closed: Arc::clone(&closed),
    });
    runner.send_all(0..10).expect("one batch, accepted whole");
    let Err(e) = runner.join() else {
        panic!("the error is reported")
    };
    assert_eq!(e.kind(), ErrorKind::Other);
    assert_eq!(e.message(), Some("three"));
    assert_eq!(
        e.undelivered(),
        Some(6),
        "4..10 were accepted, never delivered"
    );
    assert_eq!(
        closed.load(Ordering::Relaxed),
        1,
        "close runs after an error"
    );
}
