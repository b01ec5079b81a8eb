//! The sender's per-item trace event reads the trace level once a write, not once
//! an item: when the encoder's buffer is emptied. Alone in its test binary: the
//! level is the process's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use consumer_wire::{Bincode, Identity, Outbound};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Metadata, Subscriber};

/// Counts events; wants `TRACE` only while `trace` is set.
#[derive(Default)]
struct Counter {
    trace: AtomicBool,
    events: AtomicUsize,
}

/// The subscriber: a handle on the counter the test reads.
struct Probe(Arc<Counter>);

impl Subscriber for Probe {
    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match self.0.trace.load(Ordering::SeqCst) {
            true => LevelFilter::TRACE,
            false => LevelFilter::INFO,
        })
    }
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        self.0.trace.load(Ordering::SeqCst) || *meta.level() <= tracing::Level::INFO
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {
        self.0.events.fetch_add(1, Ordering::SeqCst);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn a_raised_level_takes_effect_when_the_buffer_is_next_emptied() {
    let counter = Arc::new(Counter::default());
    let dispatch = Dispatch::new(Probe(Arc::clone(&counter)));
    tracing::dispatcher::with_default(&dispatch, || {
        let mut out = Outbound::new(Bincode, Identity::of::<u64>());
        out.accepted_one();
        assert_eq!(counter.events.load(Ordering::SeqCst), 0, "INFO only");

        counter.trace.store(true, Ordering::SeqCst);
        tracing::callsite::rebuild_interest_cache();
        out.accepted_one();
        assert_eq!(
            counter.events.load(Ordering::SeqCst),
            0,
            "the level is read when the buffer is emptied, not per item"
        );
        out.encoder().clear(); // as after a write
        out.accepted_one();
        out.accepted_one();
        assert_eq!(
            counter.events.load(Ordering::SeqCst),
            2,
            "one event an item"
        );
    });
}
