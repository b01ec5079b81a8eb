//! The run's files: the parts file every process appends to, and the trace JSON
//! and SVG that [`merge`] makes of it.

use std::path::{Path, PathBuf};

use consumer::{Error, ErrorKind};
use serde_json::{Value, json};

use crate::layer::io_error;

/// What [`merge`] wrote.
///
/// ```
/// let s = consumer_timeline::Summary::default();
/// assert_eq!(s.events, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Trace events in the JSON (metadata included).
    pub events: usize,
    /// Distinct processes.
    pub processes: usize,
    /// Flow arrows whose two ends were both recorded.
    pub flows: usize,
    /// The SVG written beside the JSON.
    pub svg: PathBuf,
}

/// Gathers the parts every process of the run appended to `path` + `.parts`
/// into `path` (Chrome/Perfetto trace JSON: open it in <https://ui.perfetto.dev>
/// or `chrome://tracing`) and draws it into the same name with `.svg`; the parts
/// file is removed. Call it once every process of the run has ended (their
/// [`Flush`](crate::Flush) dropped).
///
/// # Errors
///
/// [`Io`](ErrorKind::Io) when a file cannot be read or written;
/// [`Protocol`](ErrorKind::Protocol) when a part is not trace JSON.
///
/// ```
/// let path = std::env::temp_dir().join(format!("timeline-none-{}.json", std::process::id()));
/// assert!(consumer_timeline::merge(&path).is_err()); // no process wrote a part
/// ```
pub fn merge(path: impl AsRef<Path>) -> Result<Summary, Error> {
    let path = path.as_ref();
    let parts = parts_of(path);
    let text = std::fs::read_to_string(&parts)
        .map_err(|e| io_error(&format!("reading {}", parts.display()), e))?;
    let mut events = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.is_empty()) {
        let event: Value = serde_json::from_str(line).map_err(|e| {
            Error::new(
                ErrorKind::Protocol,
                format!(
                    "{}, line {}: not a trace event: {e}",
                    parts.display(),
                    n + 1
                ),
            )
        })?;
        events.push(event);
    }
    let summary = write(path, events)?;
    std::fs::remove_file(&parts)
        .map_err(|e| io_error(&format!("removing {}", parts.display()), e))?;
    Ok(summary)
}

/// Starts a run written to `path`: checks that `path` can be written (leaving it
/// empty) and removes what an earlier run left in `path` + `.parts`.
///
/// ```
/// let path = std::env::temp_dir().join(format!("timeline-reset-{}.json", std::process::id()));
/// consumer_timeline::reset(&path)?;
/// assert!(consumer_timeline::reset("/nonexistent/dir/t.json").is_err());
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), consumer::Error>(())
/// ```
///
/// # Errors
///
/// [`Io`](ErrorKind::Io) when `path` cannot be written or the old parts cannot be
/// removed.
pub fn reset(path: impl AsRef<Path>) -> Result<(), Error> {
    let path = path.as_ref();
    std::fs::write(path, b"").map_err(|e| io_error(&format!("writing {}", path.display()), e))?;
    let parts = parts_of(path);
    match std::fs::remove_file(&parts) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(io_error(&format!("removing {}", parts.display()), e))
        }
        _ => Ok(()),
    }
}

/// Draws the trace JSON at `json` (as [`merge`] writes it, or any Chrome trace in
/// the JSON object or array form) into an SVG at `svg`.
///
/// # Errors
///
/// As [`merge`].
///
/// ```
/// let path = std::env::temp_dir().join(format!("timeline-svg-{}.json", std::process::id()));
/// std::fs::write(&path, r#"{"traceEvents":[]}"#).unwrap();
/// consumer_timeline::render(&path, path.with_extension("svg"))?;
/// # std::fs::remove_file(&path).ok(); std::fs::remove_file(path.with_extension("svg")).ok();
/// # Ok::<(), consumer::Error>(())
/// ```
pub fn render(json: impl AsRef<Path>, svg: impl AsRef<Path>) -> Result<(), Error> {
    let json = json.as_ref();
    let text = std::fs::read_to_string(json)
        .map_err(|e| io_error(&format!("reading {}", json.display()), e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::Protocol,
            format!("{}: not JSON: {e}", json.display()),
        )
    })?;
    let events = match value {
        Value::Object(mut o) => match o.remove("traceEvents") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    let svg = svg.as_ref();
    std::fs::write(svg, crate::svg::draw(&events))
        .map_err(|e| io_error(&format!("writing {}", svg.display()), e))
}

fn write(path: &Path, mut events: Vec<Value>) -> Result<Summary, Error> {
    // Metadata first, then by time: viewers do not need it, people reading do.
    events.sort_by(|a, b| {
        let key = |e: &Value| (e["ph"] != "M", e["ts"].as_f64().unwrap_or(0.0));
        let (ka, kb) = (key(a), key(b));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
    let mut pids: Vec<u64> = events.iter().filter_map(|e| e["pid"].as_u64()).collect();
    pids.sort_unstable();
    pids.dedup();
    let ids = |ph: &str| -> std::collections::HashSet<String> {
        events
            .iter()
            .filter(|e| e["ph"] == ph)
            .filter_map(|e| e["id"].as_str().map(str::to_owned))
            .collect()
    };
    let flows = ids("s").intersection(&ids("f")).count();
    let svg = path.with_extension("svg");
    std::fs::write(&svg, crate::svg::draw(&events))
        .map_err(|e| io_error(&format!("writing {}", svg.display()), e))?;
    let summary = Summary {
        events: events.len(),
        processes: pids.len(),
        flows,
        svg,
    };
    let doc = json!({ "traceEvents": events, "displayTimeUnit": "ms" });
    let bytes = serde_json::to_vec(&doc).map_err(|e| io_error("encoding the trace", e))?;
    std::fs::write(path, bytes).map_err(|e| io_error(&format!("writing {}", path.display()), e))?;
    Ok(summary)
}

/// The parts file of the run written to `path`.
pub(crate) fn parts_of(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".parts");
    PathBuf::from(p)
}

/// Microseconds since the Unix epoch: one clock for every process of the run.
pub(crate) fn now_us() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e6)
}
