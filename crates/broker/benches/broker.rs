//! The broker's producer and worker against raw async-nats loops, in the same run
//! (see `benchkit`), on a `nats-server` of our own:
//!
//! - producer: `Producer::send` per item then `close`, against a raw JetStream
//!   publish loop with the same window of acknowledgement futures, the same payload
//!   bytes and a `Nats-Msg-Id` per message;
//! - worker: `Worker::serve` handing items to a consumer, against a raw pull loop
//!   (batches of the same size, an explicit ack per message);
//! - reference: core NATS publish/subscribe, no storage, against JetStream's raw
//!   publish loop (no target: it shows what storage costs).

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::AckPolicy, consumer::pull};
use benchkit::{Compare, Unit, wanted};
use consumer::Consumer;
use consumer_broker::{
    Broker, LocalServer, Producer, ProducerOptions, Stop, Worker, WorkerOptions,
};
use consumer_wire::{Bincode, Codec};
use futures_util::StreamExt;

const WINDOW: usize = 1024;
const BATCH: usize = 256;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

/// A fresh stream for each side of each benchmark.
fn broker(server: &LocalServer, what: &str) -> Broker {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Broker::new(server.url()).stream(&format!("B{what}{n}"), &format!("bench.{what}{n}"))
}

fn payload(i: u64) -> bytes::Bytes {
    let mut v = Vec::new();
    Bincode.encode(&i, &mut v).unwrap();
    v.into()
}

fn ours_producer(b: &Broker, n: u64) -> Duration {
    let mut p =
        Producer::<u64>::with_options(b, ProducerOptions::new().window(WINDOW), Bincode).unwrap();
    let t = Instant::now();
    for i in 0..n {
        p.send(i).unwrap();
    }
    p.close().unwrap();
    t.elapsed()
}

fn raw_publish(rt: &tokio::runtime::Runtime, b: &Broker, n: u64) -> Duration {
    rt.block_on(async {
        let js = jetstream::new(async_nats::connect(b.url()).await.unwrap());
        ensure_stream(&js, b).await;
        let t = Instant::now();
        let mut window = VecDeque::with_capacity(WINDOW);
        for i in 0..n {
            if window.len() >= WINDOW {
                let ack: jetstream::context::PublishAckFuture = window.pop_front().unwrap();
                ack.await.unwrap();
            }
            let msg = jetstream::message::PublishMessage::build()
                .payload(payload(i))
                .message_id(format!("raw-{i}"));
            window.push_back(js.send_publish(b.subject().to_owned(), msg).await.unwrap());
        }
        for ack in window {
            ack.await.unwrap();
        }
        t.elapsed()
    })
}

async fn ensure_stream(js: &jetstream::Context, b: &Broker) {
    js.get_or_create_stream(jetstream::stream::Config {
        name: b.stream_name().to_owned(),
        subjects: vec![b.subject().to_owned()],
        ..Default::default()
    })
    .await
    .unwrap();
}

fn fill(b: &Broker, n: u64) {
    let mut p = Producer::<u64>::connect(b).unwrap();
    p.send_all(0..n).unwrap();
    p.close().unwrap();
}

fn ours_worker(b: &Broker, n: u64) -> Duration {
    let mut w = Worker::<u64>::connect(b, WorkerOptions::new().batch(BATCH)).unwrap();
    fill(b, n);
    let stop = Stop::new();
    let (mut left, stopping) = (n, stop.clone());
    let sink = consumer::from_fn(move |x: u64| {
        black_box(x);
        left -= 1;
        if left == 0 {
            stopping.stop();
        }
    });
    let t = Instant::now();
    w.serve(sink, &stop).unwrap();
    t.elapsed()
}

fn raw_pull(rt: &tokio::runtime::Runtime, b: &Broker, n: u64) -> Duration {
    let js = rt.block_on(async { jetstream::new(async_nats::connect(b.url()).await.unwrap()) });
    rt.block_on(ensure_stream(&js, b));
    fill(b, n);
    rt.block_on(async {
        let stream = js.get_stream(b.stream_name()).await.unwrap();
        let config = pull::Config {
            durable_name: Some("raw".into()),
            ack_policy: AckPolicy::Explicit,
            ..Default::default()
        };
        let c = stream.get_or_create_consumer("raw", config).await.unwrap();
        let t = Instant::now();
        let mut left = n;
        while left > 0 {
            let mut batch = c
                .batch()
                .max_messages(BATCH)
                .expires(Duration::from_millis(500))
                .messages()
                .await
                .unwrap();
            while let Some(m) = batch.next().await {
                let m = m.unwrap();
                black_box(Bincode.decode::<u64>(&m.payload).unwrap());
                m.ack().await.unwrap();
                left -= 1;
            }
        }
        t.elapsed()
    })
}

fn core_pubsub(rt: &tokio::runtime::Runtime, url: &str, n: u64) -> Duration {
    rt.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        let mut sub = client.subscribe("bench.core").await.unwrap();
        client.flush().await.unwrap();
        let t = Instant::now();
        let pubs = client.clone();
        let sending = tokio::spawn(async move {
            for i in 0..n {
                pubs.publish("bench.core", payload(i)).await.unwrap();
            }
            pubs.flush().await.unwrap();
        });
        for _ in 0..n {
            black_box(sub.next().await.unwrap());
        }
        sending.await.unwrap();
        t.elapsed()
    })
}

fn main() {
    let server = LocalServer::start().expect("nats-server");
    let rt = rt();
    if wanted("broker/producer/u64") {
        let (ours, raw) = (broker(&server, "p"), broker(&server, "r"));
        Compare::new("broker/producer/u64")
            .unit(Unit::Items)
            .work(50_000)
            .rounds(5)
            .target(0.8)
            .run(|n| ours_producer(&ours, n), |n| raw_publish(&rt, &raw, n));
    }
    if wanted("broker/worker/u64") {
        let (ours, raw) = (broker(&server, "w"), broker(&server, "x"));
        Compare::new("broker/worker/u64")
            .unit(Unit::Items)
            .work(50_000)
            .rounds(5)
            .target(0.8)
            .run(|n| ours_worker(&ours, n), |n| raw_pull(&rt, &raw, n));
    }
    if wanted("broker/reference") {
        let raw = broker(&server, "c");
        Compare::new("broker/reference: jetstream publish vs core pub-sub")
            .unit(Unit::Items)
            .work(50_000)
            .rounds(3)
            .run(
                |n| raw_publish(&rt, &raw, n),
                |n| core_pubsub(&rt, &server.url(), n),
            );
    }
}
