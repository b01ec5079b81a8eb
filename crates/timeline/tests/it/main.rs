//! The timeline across two processes: a parent sends ten items to a child it
//! started (this test binary again, running only `child_side`), both record with
//! the layer, the parent merges; the JSON and the SVG are checked, and the SVG is
//! rendered to a PNG by `rsvg-convert` (`cargo xtask needs` installs it: a missing
//! renderer fails the test).
//!
//! The same run also sends ten items to an OS thread and ten in-line, through the
//! flow adapters (`Traced` around the handle, `Handled` around the consumer): one
//! arrow per item there too, the thread's landing on the runner's track.
//!
//! One test does it all: tracing's callsite interest is process-wide, so the
//! recorder is this binary's global default, installed once.

use std::path::{Path, PathBuf};
use std::process::Command;

use consumer::{Consumer, Inline};
use consumer_process::Coprocess;
use consumer_timeline::{ENV, Handled, Timeline, Traced, merge, reset};
use serde_json::Value;
use tracing_subscriber::prelude::*;

/// Set on the child: run `child_side` for real.
const CHILD: &str = "TIMELINE_TEST_CHILD";
const ITEMS: u32 = 10;

#[test]
fn child_side() {
    let Some(path) = std::env::var_os(ENV).filter(|_| std::env::var_os(CHILD).is_some()) else {
        return; // in the parent's own run: nothing to do
    };
    let (layer, flush) = Timeline::new(PathBuf::from(path));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();
    let got = consumer_process::serve_stdin::<u32, _>(Vec::new()).unwrap();
    assert_eq!(got, u64::from(ITEMS));
    flush.finish().unwrap();
}

fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("consumer-timeline-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_process_run_draws_two_processes_and_an_arrow_per_item() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    let dir = scratch();
    let path = dir.join("run.json");
    reset(&path).unwrap();
    let (layer, flush) = Timeline::new(&path);
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer)).unwrap();

    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_side", "--quiet", "--test-threads=1"])
        .env(CHILD, "1")
        .env(ENV, &path);
    let mut child = Coprocess::<u32>::spawn(cmd).unwrap();
    tracing::info_span!("parent.sends").in_scope(|| {
        for i in 0..ITEMS {
            child.send(i).unwrap();
        }
    });
    child.close().unwrap();

    // A thread and the in-line runner, through the flow adapters.
    let mut thread = Traced::new(consumer_thread::spawn(Handled::new(Vec::new())).into_handle());
    let mut inline = Traced::new(Inline::new(Handled::new(Vec::new())));
    let (on_thread, in_line) = (thread.stream(), inline.stream());
    tracing::info_span!("parent.adapters").in_scope(|| {
        for i in 0..ITEMS {
            thread.send(i).unwrap();
            inline.send(i).unwrap();
        }
    });
    thread.close().unwrap();
    inline.close().unwrap();
    flush.finish().unwrap();
    let summary = merge(&path).unwrap();

    // The JSON parses and holds both processes, and one flow pair per item.
    let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let events = doc["traceEvents"].as_array().unwrap();
    let pids: std::collections::BTreeSet<u64> =
        events.iter().filter_map(|e| e["pid"].as_u64()).collect();
    assert!(pids.len() >= 2, "processes: {pids:?}");
    assert!(pids.contains(&u64::from(std::process::id())));
    let ids = |ph: &str| -> Vec<String> {
        let mut v: Vec<String> = events
            .iter()
            .filter(|e| e["ph"] == ph)
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let (starts, ends) = (ids("s"), ids("f"));
    assert_eq!(starts.len(), 3 * ITEMS as usize, "{starts:?}");
    assert_eq!(starts, ends);
    assert_eq!(summary.flows, 3 * ITEMS as usize);
    assert_eq!(summary.processes, pids.len());
    let at = |ph: &str, id: &str, what: &str| {
        events
            .iter()
            .find(|e| e["ph"] == ph && e["id"] == id)
            .and_then(|e| e[what].as_u64())
    };
    let stream_of = |id: &str| id.split(':').nth(1).and_then(|s| s.parse::<u64>().ok());
    let mut count = [0; 3];
    for id in &starts {
        let stream = stream_of(id);
        if stream == Some(on_thread) {
            // Sent here, handled on the runner's thread: same process, another track.
            assert_eq!(at("s", id, "pid"), at("f", id, "pid"), "flow {id}");
            assert_ne!(at("s", id, "tid"), at("f", id, "tid"), "flow {id}");
            count[1] += 1;
        } else if stream == Some(in_line) {
            // In-line: handled in the sending thread itself.
            assert_eq!(at("s", id, "tid"), at("f", id, "tid"), "flow {id}");
            count[2] += 1;
        } else {
            // Each wire arrow leaves the parent and lands in the child.
            assert_ne!(at("s", id, "pid"), at("f", id, "pid"), "flow {id}");
            count[0] += 1;
        }
    }
    assert_eq!(count, [ITEMS; 3]);
    // The child's receive span names its sender and the trace.
    assert!(events.iter().any(|e| {
        e["name"] == "process.receive"
            && e["args"]["sender_pid"].as_u64() == Some(u64::from(std::process::id()))
            && e["args"]["traceparent"]
                .as_str()
                .is_some_and(|t| t.starts_with("00-"))
    }));

    render_png(&summary.svg, &dir.join("run.png"));
}

/// The SVG is well-formed XML and a real renderer draws it.
fn render_png(svg: &Path, png: &Path) {
    let text = std::fs::read_to_string(svg).unwrap();
    assert!(text.starts_with("<?xml") && text.trim_end().ends_with("</svg>"));
    let out = Command::new("rsvg-convert")
        .arg(svg)
        .arg("-o")
        .arg(png)
        .output()
        .expect("rsvg-convert must be installed (`cargo xtask needs` installs it)");
    assert!(
        out.status.success(),
        "rsvg-convert refused the SVG: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(png).unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
    eprintln!("timeline picture: {}", png.display());
}
