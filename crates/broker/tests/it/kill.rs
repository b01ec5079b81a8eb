//! A worker process killed with SIGKILL while holding items: another worker gets them.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use consumer::Consumer;
use consumer_broker::{Producer, Worker};

const N: u64 = 100;

#[test]
fn a_killed_worker_leaves_its_items_to_another() {
    let (_server, broker) = super::server("kill");
    let mut producer = Producer::<u64>::connect(&broker).unwrap();
    producer.send_all(0..N).unwrap();
    producer.close().unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_broker-test-worker"))
        .args([broker.url(), broker.stream_name(), broker.subject()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (said, heard) = mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = said.send(line);
        }
    });
    let line = heard
        .recv_timeout(Duration::from_secs(30))
        .expect("the worker holds items");
    assert!(line.starts_with("holding"), "{line}");
    child.kill().unwrap();
    child.wait().unwrap();

    let mut got = Vec::new();
    let report = Worker::<u64>::connect(&broker, consumer_broker_test_options())
        .unwrap()
        .run(&mut got)
        .unwrap();
    got.sort_unstable();
    assert_eq!(got, (0..N).collect::<Vec<_>>(), "every item, once");
    assert_eq!(report.handled, N);
}

/// The options the test worker binary uses too: a short ack wait.
fn consumer_broker_test_options() -> consumer_broker::WorkerOptions {
    consumer_broker::WorkerOptions::new()
        .group("killable")
        .ack_wait(Duration::from_secs(2))
        .batch(50)
}
