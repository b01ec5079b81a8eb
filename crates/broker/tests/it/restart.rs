//! The broker killed and restarted on the same store mid-stream.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use consumer::Consumer;
use consumer_broker::{Producer, ProducerOptions, Worker, WorkerOptions};

const N: u64 = 20_000;

#[test]
fn a_restarted_broker_loses_and_doubles_nothing() {
    let (mut server, broker) = super::server("restart");
    let options = ProducerOptions::new()
        .ack_timeout(Duration::from_secs(1))
        .send_timeout(Duration::from_secs(40));
    let mut producer =
        Producer::<u64>::with_options(&broker, options, consumer_wire::Bincode).unwrap();
    let (midway, reached) = mpsc::channel();
    let sending = thread::spawn(move || {
        for i in 0..N {
            producer.send(i).unwrap();
            if i == N / 4 {
                midway.send(()).unwrap();
            }
        }
        producer.close()
    });
    reached
        .recv_timeout(Duration::from_secs(60))
        .expect("the producer reached a quarter");
    server.kill();
    server.restart().unwrap();
    sending
        .join()
        .unwrap()
        .expect("close returns Ok after the restart");

    let mut got = Vec::new();
    let report = Worker::<u64>::connect(&broker, WorkerOptions::new().batch(1000))
        .unwrap()
        .run(&mut got)
        .unwrap();
    got.sort_unstable();
    let doubled = got.windows(2).filter(|w| w[0] == w[1]).count();
    got.dedup();
    assert_eq!(doubled, 0, "items stored twice");
    assert_eq!(got.len() as u64, N, "items lost");
    assert_eq!(report.handled, N);
}
