//! Ordered mode: one item in flight across the group, so the stream's order holds
//! across workers.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use consumer::Consumer;
use consumer_broker::{Producer, Stop, Worker, WorkerOptions};

const PRODUCERS: u32 = 2;
const ITEMS: u64 = 200;

#[test]
fn ordered_workers_keep_every_producers_order_between_them() {
    let (_server, broker) = super::server("ordered");
    let stop = Stop::new();
    let (seen, heard) = mpsc::channel::<(usize, (u32, u64))>();
    let workers: Vec<_> = (0..2)
        .map(|w| {
            let mut worker =
                Worker::<(u32, u64)>::connect(&broker, WorkerOptions::new().ordered(true)).unwrap();
            let (stop, seen) = (stop.clone(), seen.clone());
            thread::spawn(move || {
                worker.serve(
                    consumer::from_fn(move |item| {
                        let _ = seen.send((w, item));
                    }),
                    &stop,
                )
            })
        })
        .collect();
    drop(seen);
    for p in 0..PRODUCERS {
        let mut producer = Producer::<(u32, u64)>::connect(&broker).unwrap();
        producer.send_all((0..ITEMS).map(|seq| (p, seq))).unwrap();
        producer.close().unwrap();
    }
    let mut next = [0u64; PRODUCERS as usize];
    let mut by = [0u64; 2];
    for _ in 0..u64::from(PRODUCERS) * ITEMS {
        let (w, (p, seq)) = heard
            .recv_timeout(Duration::from_secs(30))
            .expect("an item");
        assert_eq!(
            seq, next[p as usize],
            "producer {p}'s order, across workers"
        );
        next[p as usize] += 1;
        by[w] += 1;
    }
    stop.stop();
    for w in workers {
        w.join().unwrap().unwrap();
    }
    eprintln!("ordered: items per worker {by:?}");
}
