//! `tracing`: each runner thread runs in a span naming the runner and its consumer;
//! a producer thread in one naming the producer; each item is an event at `trace`
//! with its sequence number.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use consumer_thread::{Builder, ProducerThread};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

/// A span's name and its fields, as text.
type Seen = (String, Vec<(String, String)>);

/// Records every new span, and the per-item events of the threads this test names
/// (other tests run meanwhile: their threads' events are not enabled, and stay as
/// cheap as without a subscriber).
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<Vec<Seen>>>,
    /// Each event's thread name and fields.
    events: Arc<Mutex<Vec<(String, Fields)>>>,
    next: Arc<AtomicU64>,
}

/// The threads whose events this test records.
const NAMED: [&str; 2] = ["traced", "numbers"];

fn this_thread() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

#[derive(Clone, Debug)]
struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push((field.name().to_owned(), format!("{value:?}")));
    }
}

impl Subscriber for Capture {
    /// Asked per event: whether one is enabled depends on the thread it happens
    /// on, so no callsite's answer may be cached (another test's runner thread
    /// may be the first to reach the runner's per-item event).
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_span()
            || (metadata.target().starts_with("consumer_thread")
                && NAMED.contains(&this_thread().as_str()))
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(Vec::new());
        span.record(&mut fields);
        let name = span.metadata().name().to_owned();
        self.spans.lock().unwrap().push((name, fields.0));
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields(Vec::new());
        event.record(&mut fields);
        self.events.lock().unwrap().push((this_thread(), fields));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn field(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn runner_and_producer_threads_run_in_named_spans() {
    let capture = Capture::default();
    // Global, because the spans open in threads this test does not run; this is the
    // only test in the binary that sets a subscriber.
    tracing::subscriber::set_global_default(capture.clone()).expect("no other subscriber");

    let runner = Builder::new()
        .name("traced")
        .spawn(Vec::<u32>::new())
        .unwrap();
    let mut producer = ProducerThread::new(0..3).name("numbers");
    producer.register(runner.handle());
    producer.start().unwrap();
    producer.join().unwrap();
    assert_eq!(runner.join().unwrap(), [0, 1, 2]);

    let spans = capture.spans.lock().unwrap().clone();
    let want_runner = (
        "consumer_thread".to_owned(),
        field(&[
            ("runner", "\"thread\""),
            ("consumer", "Vec<u32>"),
            ("thread", "traced"),
            ("pid", &std::process::id().to_string()),
        ]),
    );
    let want_producer = (
        "producer_thread".to_owned(),
        field(&[("producer", "numbers")]),
    );
    assert!(spans.contains(&want_runner), "{spans:?}");
    assert!(spans.contains(&want_producer), "{spans:?}");

    let events = capture.events.lock().unwrap().clone();
    let items = |thread: &str, id: &str| -> Vec<String> {
        events
            .iter()
            .filter(|(t, fields)| t == thread && fields.0[0].1 == "item")
            .map(|(_, fields)| {
                let (name, value) = &fields.0[1];
                assert_eq!(name, id, "{fields:?}");
                value.clone()
            })
            .collect()
    };
    assert_eq!(items("traced", "msg_id"), ["1", "2", "3"], "{events:?}");
    assert_eq!(items("numbers", "seq"), ["0", "1", "2"], "{events:?}");
}
