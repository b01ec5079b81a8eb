//! Many producers through many workers: nothing lost, nothing handled twice, each
//! producer's order kept within each worker.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use consumer::Consumer;
use consumer_broker::{Dedup, Producer, Stop, Worker, WorkerOptions};

const PRODUCERS: u32 = 4;
const ITEMS: u64 = 250_000;
const WORKERS: usize = 3;

type Item = (u32, u64);

#[test]
fn four_producers_three_workers_nothing_lost_nothing_doubled() {
    let started = Instant::now();
    let (_server, broker) = super::server("flow");
    let dedup = Dedup::new();
    let stop = Stop::new();
    let (seen, heard) = mpsc::sync_channel::<(usize, Item)>(100_000);
    // Workers first (each connects, which creates the group), then producers.
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let options = WorkerOptions::new().batch(1_000).dedup(dedup.clone());
            let mut worker = Worker::<Item>::connect(&broker, options).unwrap();
            let (stop, seen) = (stop.clone(), seen.clone());
            thread::spawn(move || {
                let to_test = consumer::try_from_fn(move |item: Item| {
                    seen.send((w, item)).map_err(|_| {
                        consumer::Error::new(
                            consumer::ErrorKind::Closed,
                            "the test stopped listening",
                        )
                    })
                });
                worker.serve(to_test, &stop)
            })
        })
        .collect();
    drop(seen);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let mut producer = Producer::<Item>::connect(&broker).unwrap();
            thread::spawn(move || {
                let mut items = (0..ITEMS).map(|seq| (p, seq));
                producer.send_all(&mut items)?;
                producer.close()
            })
        })
        .collect();

    // Every item once; per worker, each producer's items in increasing order.
    let total = u64::from(PRODUCERS) * ITEMS;
    let mut got = vec![vec![false; ITEMS as usize]; PRODUCERS as usize];
    let mut last = vec![vec![None::<u64>; PRODUCERS as usize]; WORKERS];
    for _ in 0..total {
        let (w, (p, seq)) = heard
            .recv_timeout(Duration::from_secs(60))
            .expect("an item within a minute");
        assert!(
            !std::mem::replace(&mut got[p as usize][seq as usize], true),
            "({p}, {seq}) handled twice"
        );
        let before = last[w][p as usize].replace(seq);
        assert!(
            before < Some(seq),
            "worker {w} got producer {p}'s {seq} after {before:?}"
        );
    }
    for p in producers {
        p.join()
            .unwrap()
            .expect("every producer's close returns Ok");
    }
    stop.stop();
    for w in workers {
        w.join().unwrap().expect("every worker ends cleanly");
    }
    assert!(
        heard.try_recv().is_err(),
        "nothing more than every item once"
    );
    assert_eq!(dedup.handled(), total);
    eprintln!(
        "flow: {total} items through {WORKERS} workers in {:?}",
        started.elapsed()
    );
}
