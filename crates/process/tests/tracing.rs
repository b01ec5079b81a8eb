//! The sender's span context travels in the frame envelope; spans carry pids.
//!
//! A test binary of its own: tracing's callsite interest and level filter are
//! process-wide, so tests in the shared binary that start children and spans
//! without a subscriber raced with the recorder here. This one installs its
//! recorder as the global default, once, before any span exists.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use consumer::Consumer;
use consumer_process::{Coprocess, Receiver, Sender};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use tracing_core::span::Current;

/// (span id, span name, field, value)
type FieldLog = Mutex<Vec<(u64, String, String, u64)>>;

/// Records every span's name and the `u64` fields given to it, at creation or later.
#[derive(Clone, Default)]
struct Recorder {
    next: Arc<AtomicU64>,
    fields: Arc<FieldLog>,
    names: Arc<Mutex<Vec<(u64, &'static Metadata<'static>)>>>,
}

struct Fields<'a>(u64, &'a str, &'a FieldLog);

impl Visit for Fields<'_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        let entry = (self.0, self.1.to_owned(), field.name().to_owned(), value);
        self.2.lock().unwrap().push(entry);
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

impl Recorder {
    fn name_of(&self, id: u64) -> String {
        let names = self.names.lock().unwrap();
        names
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, m)| m.name().to_owned())
            .unwrap_or_default()
    }

    fn value(&self, span: &str, field: &str) -> Option<u64> {
        let fields = self.fields.lock().unwrap();
        fields
            .iter()
            .rev()
            .find(|(_, s, f, _)| s == span && f == field)
            .map(|(_, _, _, v)| *v)
    }
}

/// The one recorder of this binary, installed as the global default.
fn recorder() -> Recorder {
    static REC: std::sync::OnceLock<Recorder> = std::sync::OnceLock::new();
    REC.get_or_init(|| {
        let rec = Recorder::default();
        tracing::subscriber::set_global_default(rec.clone()).expect("the first subscriber");
        rec
    })
    .clone()
}

thread_local! {
    static CURRENT: std::cell::RefCell<Vec<u64>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let name = span.metadata().name().to_owned();
        self.names.lock().unwrap().push((id, span.metadata()));
        span.record(&mut Fields(id, &name, &self.fields));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let name = self.name_of(span.into_u64());
        values.record(&mut Fields(span.into_u64(), &name, &self.fields));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, span: &Id) {
        CURRENT.with(|c| c.borrow_mut().push(span.into_u64()));
    }
    fn exit(&self, _: &Id) {
        CURRENT.with(|c| c.borrow_mut().pop());
    }
    fn current_span(&self) -> Current {
        let Some(id) = CURRENT.with(|c| c.borrow().last().copied()) else {
            return Current::none();
        };
        let names = self.names.lock().unwrap();
        match names.iter().find(|(i, _)| *i == id) {
            Some((_, meta)) => Current::new(Id::from_u64(id), meta),
            None => Current::none(),
        }
    }
}

#[test]
fn the_receive_span_links_to_the_senders_span() {
    let rec = recorder();
    let (r, w) = std::io::pipe().unwrap();
    let producer_span = {
        let span = tracing::info_span!("producer");
        let _in = span.enter();
        let mut tx = Sender::new(w);
        tx.send(1u64).unwrap();
        tx.close().unwrap();
        span.id().unwrap().into_u64()
    };
    Receiver::new(r).run::<u64, _>(Vec::new()).unwrap();
    assert_eq!(
        rec.value("process.receive", "sender_span"),
        Some(producer_span),
        "the receive span names the sender's span"
    );
    assert_eq!(
        rec.value("process.receive", "sender_pid"),
        Some(u64::from(std::process::id()))
    );
    assert_eq!(
        rec.value("process.receive", "pid"),
        Some(u64::from(std::process::id()))
    );
}

#[test]
fn the_child_span_carries_the_childs_pid() {
    let rec = recorder();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_process-test-child"));
    cmd.arg("sink");
    let mut c = Coprocess::<u64>::spawn(cmd).unwrap();
    c.send(1).unwrap();
    let pid = c.pid().unwrap();
    c.close().unwrap();
    assert_eq!(rec.value("process", "pid"), Some(u64::from(pid)));
}
