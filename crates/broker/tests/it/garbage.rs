//! Garbage or another item type on the subject: dead-lettered, and the worker goes on.

use consumer::Consumer;
use consumer_broker::{Producer, Worker, WorkerOptions};

#[test]
fn garbage_and_another_type_go_to_the_dead_letter_subject() {
    let (_server, broker) = super::server("garbage");
    let mut strings = Producer::<String>::connect(&broker).unwrap();
    let mut numbers = Producer::<u32>::connect(&broker).unwrap();
    numbers.send(1).unwrap();
    numbers.flush().unwrap();
    strings.send("not a number".to_owned()).unwrap();
    strings.close().unwrap();
    raw_publish(broker.url(), broker.subject(), b"\xff\xfe garbage");
    numbers.send_all([2, 3]).unwrap();
    numbers.close().unwrap();

    let mut got = Vec::new();
    let report = Worker::<u32>::connect(&broker, WorkerOptions::new())
        .unwrap()
        .run(&mut got)
        .unwrap();
    assert_eq!(got, [1, 2, 3]);
    assert_eq!((report.handled, report.dead), (3, 2));
    assert_eq!(
        dead_letters(broker.url(), &format!("{}_DEAD", broker.stream_name())),
        2
    );
}

/// Publishes bytes without any header, as a foreign program would.
fn raw_publish(url: &str, subject: &str, bytes: &'static [u8]) {
    runtime().block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.publish(subject.to_owned(), bytes.into())
            .await
            .unwrap()
            .await
            .unwrap();
    });
}

fn dead_letters(url: &str, stream: &str) -> u64 {
    runtime().block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let js = async_nats::jetstream::new(client);
        js.get_stream(stream)
            .await
            .unwrap()
            .info()
            .await
            .unwrap()
            .state
            .messages
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}
