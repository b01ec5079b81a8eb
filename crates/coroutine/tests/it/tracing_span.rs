//! Each run is a `tracing` span naming the runner and the consumer.

use std::sync::{Arc, Mutex};

use consumer_coroutine::Builder;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::support::Fields;

/// A subscriber that records each new span as `name field=value ...`.
#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<String>>>);

impl Subscriber for Spans {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = Fields(span.metadata().name().to_owned());
        span.record(&mut fields);
        let mut spans = self.0.lock().unwrap();
        spans.push(fields.0);
        Id::from_u64(spans.len() as u64)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn a_run_opens_a_span_with_the_runner_and_consumer_names() {
    let spans = Spans::default();
    tracing::subscriber::with_default(spans.clone(), || {
        let task = Builder::new()
            .name("totals")
            .spawn(Vec::<u8>::new())
            .unwrap();
        task.send(1).unwrap();
        task.close().unwrap();
        let unnamed = consumer_coroutine::spawn(Vec::<u8>::new());
        unnamed.close().unwrap();
    });
    let spans = spans.0.lock().unwrap().clone();
    assert!(
        spans.contains(&format!(
            "coroutine runner=coroutine consumer=totals placement=blocking-pool pid={}",
            std::process::id()
        )),
        "{spans:?}"
    );
    assert!(
        spans.iter().any(|s| s.contains("consumer=Vec<u8>")),
        "the consumer's own name by default: {spans:?}"
    );
}
