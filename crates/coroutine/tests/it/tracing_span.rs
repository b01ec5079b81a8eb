//! Each run is a `tracing` span naming the runner and the consumer; each item is an
//! event at `trace` with its sequence number.

use std::sync::{Arc, Mutex};

use consumer_coroutine::{Builder, Placement};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::support::{Events, Fields};

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

#[test]
fn each_item_is_a_trace_event_with_its_sequence_number() {
    let events = Events::default();
    // The task runs in-line on this thread's runtime, under this thread's
    // subscriber.
    tracing::subscriber::with_default(events.clone(), || {
        let rt = crate::support::current_thread();
        rt.block_on(async {
            let task = Builder::new()
                .placement(Placement::InLine)
                .spawn(Vec::<u8>::new())
                .unwrap();
            for n in 0..3 {
                task.send_async(n).await.unwrap();
            }
            task.close_async().await.unwrap();
        });
    });
    let items: Vec<String> = events
        .at(Level::TRACE)
        .into_iter()
        .filter(|e| e.contains("message=item"))
        .collect();
    let want: Vec<String> = (1..=3)
        .map(|n| format!(" message=item msg_id={n}"))
        .collect();
    assert_eq!(items, want);
}
