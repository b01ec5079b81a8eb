//! The trace context crosses the broker: a producer's `traceparent` header, and the
//! worker handling the item inside that trace.

use consumer::Consumer;
use consumer_broker::{Producer, Worker, WorkerOptions};
use consumer_wire::Context;

#[test]
fn a_worker_handles_each_item_inside_its_producers_trace() {
    let (_server, broker) = super::server("trace");
    let mut producer = Producer::<u32>::connect(&broker).unwrap();
    // The producer runs inside a trace of its own (as a process handling an item
    // from further up would), with a subscriber installed so the context is sent.
    let theirs = Context {
        trace: 0x5eed_0000_0000_0000_0000_0000_0000_0001,
        ..Context::current(0)
    };
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        theirs.in_trace(|| producer.send_all([1, 2, 3])).unwrap();
    });
    // Sent outside any trace: handled in this process's own.
    producer.send(4).unwrap();
    producer.close().unwrap();

    let mut seen = Vec::new();
    let report = Worker::<u32>::connect(&broker, WorkerOptions::new())
        .unwrap()
        .run(consumer::from_fn(|n: u32| {
            seen.push((n, Context::current(0).trace));
        }))
        .unwrap();
    assert_eq!(report.handled, 4);
    let own = Context::current(0).trace;
    assert_ne!(own, theirs.trace);
    assert_eq!(
        seen,
        [
            (1, theirs.trace),
            (2, theirs.trace),
            (3, theirs.trace),
            (4, own)
        ],
        "items 1-3 handled in the producer's trace, item 4 in none"
    );
}
