//! What the tests share: runtimes, an order-checking consumer, a watchdog.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, SendError};
use tokio::runtime::Runtime;

pub(crate) fn multi_thread() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a runtime")
}

pub(crate) fn current_thread() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
}

/// The longest any test waits for a signal before declaring a hang.
pub(crate) const HANG: Duration = Duration::from_secs(60);

/// Checks that each producer's items `(producer, seq)` arrive as 0, 1, 2, ... and
/// records how many arrived; fails (without panicking) at the first one out of order.
#[derive(Debug, Clone)]
pub(crate) struct Ordered {
    next: Arc<Mutex<Vec<u64>>>,
    closed: Arc<Mutex<bool>>,
}

impl Ordered {
    pub(crate) fn new(producers: usize) -> Ordered {
        Ordered {
            next: Arc::new(Mutex::new(vec![0; producers])),
            closed: Arc::default(),
        }
    }

    /// Items received per producer so far.
    pub(crate) fn counts(&self) -> Vec<u64> {
        self.next.lock().unwrap().clone()
    }

    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.lock().unwrap()
    }
}

impl Consumer<(u32, u64)> for Ordered {
    fn send(&mut self, (p, seq): (u32, u64)) -> Result<(), SendError<(u32, u64)>> {
        let mut next = self.next.lock().unwrap();
        let want = &mut next[p as usize];
        if seq != *want {
            let msg = format!("producer {p}: got item {seq}, expected {want}");
            return Err(SendError::new((p, seq), Error::new(ErrorKind::Other, msg)));
        }
        *want += 1;
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        *self.closed.lock().unwrap() = true;
        Ok(())
    }
}

/// Aborts the test process if not dropped within [`HANG`]: a test that would hang
/// fails the build instead of stalling it.
pub(crate) struct Watchdog(
    Option<std::sync::mpsc::Sender<()>>,
    Option<std::thread::JoinHandle<()>>,
);

pub(crate) fn watchdog(what: &'static str) -> Watchdog {
    let (done, hung) = std::sync::mpsc::channel::<()>();
    let watcher = std::thread::spawn(move || {
        if hung.recv_timeout(HANG) == Err(std::sync::mpsc::RecvTimeoutError::Timeout) {
            eprintln!("hung for {HANG:?}: {what}; aborting");
            std::process::abort();
        }
    });
    Watchdog(Some(done), Some(watcher))
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.0.take());
        if let Some(w) = self.1.take() {
            let _ = w.join();
        }
    }
}

/// A span's or an event's fields, written out as ` name=value` after one another:
/// what the tests' small subscribers record.
pub(crate) struct Fields(pub(crate) String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push_str(&format!(" {}={}", field.name(), value));
    }
}

/// Records every event as its level and ` field=value ...`, the message first.
#[derive(Clone, Default)]
pub(crate) struct Events(Arc<Mutex<Vec<(tracing::Level, String)>>>);

impl Events {
    /// The events at `level`, oldest first.
    pub(crate) fn at(&self, level: tracing::Level) -> Vec<String> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|(l, _)| *l == level)
            .map(|(_, fields)| fields.clone())
            .collect()
    }
}

impl tracing::Subscriber for Events {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let level = *event.metadata().level();
        self.0.lock().unwrap().push((level, fields.0));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// Waits until the thread of this process named `name` is asleep in the kernel (state
/// `S` in `/proc/self/task/*/stat`) twice in a row: blocked, not merely slow to
/// start. A real signal from the kernel, polled with `yield_now`, not a sleep; the
/// caller's [`watchdog`] bounds it. Linux only, like the tests that use it.
pub(crate) fn wait_until_blocked(name: &str) {
    let mut asleep = 0;
    while asleep < 2 {
        asleep = if thread_state(name) == Some('S') {
            asleep + 1
        } else {
            0
        };
        std::thread::yield_now();
    }
}

/// The scheduler state of this process's thread named `name`, if there is one.
fn thread_state(name: &str) -> Option<char> {
    std::fs::read_dir("/proc/self/task").ok()?.find_map(|task| {
        let dir = task.ok()?.path();
        let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
        if comm.trim_end() != name {
            return None;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
        // `pid (comm) S ...`: the state follows the last `)`.
        stat[stat.rfind(')')? + 1..].trim_start().chars().next()
    })
}
