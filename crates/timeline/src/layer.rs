//! The layer: this process's spans and events, kept in memory as Chrome trace
//! events, and appended to the run's parts file when its [`Flush`] ends.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use consumer::{Error, ErrorKind};
use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::chrome::{now_us, parts_of};

/// A `tracing` layer that records this process's spans and events for the
/// timeline: every span entry becomes a slice on its thread's track (or its tokio
/// task's, when a span up the tree carries a `task` field), every event a mark;
/// `send` and `receive` events carrying `stream` and `msg` (and, on the receiving
/// side, `sender_pid`) become the two ends of a flow arrow.
///
/// Make one with [`Timeline::new`], install it with `tracing-subscriber`'s
/// registry, and keep the [`Flush`]: when it drops, this process's part is
/// appended to the run's parts file. [`merge`](crate::merge) then writes the trace
/// JSON and its SVG.
///
/// ```
/// use tracing_subscriber::prelude::*;
///
/// let path = std::env::temp_dir().join(format!("timeline-doc-{}.json", std::process::id()));
/// let (layer, flush) = consumer_timeline::Timeline::new(&path);
/// let subscriber = tracing_subscriber::registry().with(layer);
/// tracing::subscriber::with_default(subscriber, || {
///     tracing::info_span!("work").in_scope(|| tracing::info!("done"));
/// });
/// flush.finish()?;
/// let summary = consumer_timeline::merge(&path)?;
/// assert_eq!(summary.processes, 1);
/// # std::fs::remove_file(&path).ok(); std::fs::remove_file(path.with_extension("svg")).ok();
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Clone)]
pub struct Timeline {
    shared: Arc<Shared>,
}

/// Appends this process's part of the timeline when it drops (or at
/// [`finish`](Flush::finish), which reports a failure to write).
///
/// ```
/// let path = std::env::temp_dir().join(format!("timeline-flush-{}.json", std::process::id()));
/// let (_layer, flush) = consumer_timeline::Timeline::new(&path);
/// flush.finish()?; // nothing recorded: nothing written
/// # Ok::<(), consumer::Error>(())
/// ```
#[must_use = "dropping the Flush writes this process's part at once"]
pub struct Flush {
    shared: Arc<Shared>,
    done: bool,
}

struct Shared {
    path: PathBuf,
    pid: u32,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    events: Vec<Value>,
    /// Tracks already given a name.
    named: HashSet<u64>,
}

impl Timeline {
    /// A layer for the run whose trace is written to `path` (its processes append
    /// to `path` + `.parts` until [`merge`](crate::merge) gathers them), and the
    /// [`Flush`] that writes this process's part.
    ///
    /// ```
    /// let (layer, _flush) = consumer_timeline::Timeline::new("/tmp/t.json");
    /// # drop(layer);
    /// ```
    pub fn new(path: impl AsRef<Path>) -> (Timeline, Flush) {
        let shared = Arc::new(Shared {
            path: path.as_ref().to_owned(),
            pid: std::process::id(),
            state: Mutex::new(State::default()),
        });
        let flush = Flush {
            shared: Arc::clone(&shared),
            done: false,
        };
        let mut state = shared.lock();
        state.events.push(json!({
            "ph": "M", "name": "process_name", "pid": shared.pid, "tid": 0,
            "args": { "name": format!("{} (pid {})", program(), shared.pid) },
        }));
        drop(state);
        (Timeline { shared }, flush)
    }

    fn push(&self, track: &Track, mut events: Vec<Value>) {
        let mut state = self.shared.lock();
        if state.named.insert(track.tid) {
            state.events.push(json!({
                "ph": "M", "name": "thread_name", "pid": self.shared.pid, "tid": track.tid,
                "args": { "name": &*track.name },
            }));
        }
        state.events.append(&mut events);
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Nothing user-written runs under this lock: a poisoned one holds whole events.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Flush {
    /// Appends this process's part to the run's parts file, in one write so parts
    /// of processes ending together do not interleave.
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the parts file cannot be written.
    ///
    /// ```
    /// let (_layer, flush) = consumer_timeline::Timeline::new("/nonexistent/dir/t.json");
    /// assert!(flush.finish().is_ok()); // nothing recorded but the process name: written lazily
    /// ```
    pub fn finish(mut self) -> Result<(), Error> {
        self.done = true;
        self.write()
    }

    fn write(&self) -> Result<(), Error> {
        let events = std::mem::take(&mut self.shared.lock().events);
        // The process name alone is not worth a part.
        if events.len() <= 1 {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for e in &events {
            serde_json::to_writer(&mut bytes, e)
                .map_err(|e| io_error("encoding the timeline", e))?;
            bytes.push(b'\n');
        }
        let parts = parts_of(&self.shared.path);
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&parts)
            .and_then(|mut f| f.write_all(&bytes))
            .map_err(|e| io_error(&format!("writing {}", parts.display()), e))
    }
}

impl Drop for Flush {
    fn drop(&mut self) {
        if !self.done
            && let Err(e) = self.write()
        {
            eprintln!("consumer-timeline: {e}");
        }
    }
}

pub(crate) fn io_error(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(ErrorKind::Io, format!("{what}: {e}")).with_source(e)
}

impl fmt::Debug for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeline")
            .field("path", &self.shared.path)
            .finish()
    }
}

impl fmt::Debug for Flush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flush")
            .field("path", &self.shared.path)
            .finish()
    }
}

/// Where a span's slices and its events are drawn.
#[derive(Clone)]
struct Track {
    tid: u64,
    name: Arc<str>,
}

impl Track {
    /// This thread's track: numbered in order of first use, named once.
    fn thread() -> Track {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        thread_local! {
            static MINE: RefCell<Option<Track>> = const { RefCell::new(None) };
        }
        MINE.with(|m| {
            m.borrow_mut()
                .get_or_insert_with(|| {
                    let tid = NEXT.fetch_add(1, Ordering::Relaxed);
                    let name = std::thread::current()
                        .name()
                        .map_or_else(|| format!("thread {tid}"), |n| format!("thread {n}"));
                    Track {
                        tid,
                        name: name.into(),
                    }
                })
                .clone()
        })
    }

    fn task(task: &str) -> Track {
        let n = task.parse::<u64>().unwrap_or_else(|_| fnv(task.as_bytes()));
        Track {
            tid: (1 << 32) | (n & 0xffff_ffff),
            name: format!("task {task}").into(),
        }
    }
}

/// A span's fields, for its slices' `args`.
struct Args(Map<String, Value>);

/// The fields of a span or event as JSON values.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), format!("{value:?}").into());
    }
}

impl Fields {
    fn u64(&self, name: &str) -> Option<u64> {
        self.0.get(name).and_then(Value::as_u64)
    }
}

thread_local! {
    /// The spans this thread is in: id and entry time.
    static ENTERED: RefCell<Vec<(u64, f64)>> = const { RefCell::new(Vec::new()) };
}

impl<S> Layer<S> for Timeline
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let track = match fields.0.get("task") {
            Some(Value::Number(n)) => Some(Track::task(&n.to_string())),
            Some(Value::String(s)) => Some(Track::task(s)),
            _ => span
                .parent()
                .and_then(|p| p.extensions().get::<Track>().cloned()),
        };
        let mut ext = span.extensions_mut();
        ext.insert(Args(fields.0));
        if let Some(track) = track {
            ext.insert(track);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::default();
        values.record(&mut fields);
        if let Some(args) = span.extensions_mut().get_mut::<Args>() {
            args.0.extend(fields.0);
        }
    }

    fn on_enter(&self, id: &Id, _: Context<'_, S>) {
        ENTERED.with(|e| e.borrow_mut().push((id.into_u64(), now_us())));
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        let end = now_us();
        let Some(start) = ENTERED.with(|e| {
            let mut e = e.borrow_mut();
            let at = e.iter().rposition(|(i, _)| *i == id.into_u64())?;
            Some(e.remove(at).1)
        }) else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        let ext = span.extensions();
        let track = ext.get::<Track>().cloned().unwrap_or_else(Track::thread);
        let args = ext.get::<Args>().map(|a| Value::Object(a.0.clone()));
        let slice = json!({
            "ph": "X", "name": span.name(), "cat": "span", "ts": start, "dur": end - start,
            "pid": self.shared.pid, "tid": track.tid, "args": args.unwrap_or(Value::Null),
        });
        drop(ext);
        self.push(&track, vec![slice]);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let ts = now_us();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let track = ctx
            .event_scope(event)
            .and_then(|scope| {
                scope
                    .into_iter()
                    .find_map(|s| s.extensions().get::<Track>().cloned())
            })
            .unwrap_or_else(Track::thread);
        let name = match fields.0.remove("message") {
            Some(Value::String(m)) => m,
            _ => event.metadata().name().to_owned(),
        };
        let pid = self.shared.pid;
        let flow = match (
            name.as_str(),
            fields.u64("stream"),
            fields.u64("msg"),
            fields.u64("sender_pid"),
        ) {
            ("send", Some(stream), Some(msg), None) => Some(("s", pid.into(), stream, msg)),
            ("receive", Some(stream), Some(msg), Some(from)) => Some(("f", from, stream, msg)),
            _ => None,
        };
        // A mark is a short slice, so a flow arrow has a slice to bind to.
        let mut events = vec![json!({
            "ph": "X", "name": name, "cat": event.metadata().level().as_str(), "ts": ts,
            "dur": 0.5, "pid": pid, "tid": track.tid, "args": Value::Object(fields.0),
        })];
        if let Some((ph, from, stream, msg)) = flow {
            events.push(json!({
                "ph": ph, "name": "item", "cat": "msg", "id": format!("{from}:{stream}:{msg}"),
                "ts": ts, "pid": pid, "tid": track.tid, "bp": "e",
            }));
        }
        self.push(&track, events);
    }
}

/// This program's file name, for its process's track.
fn program() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "process".to_owned())
}

/// FNV-1a: a stable number for a task named by a string.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
