//! The timeline across two processes: a parent sends ten items to a child it
//! started (this test binary again, running only `child_side`), both record with
//! the layer, the parent merges; the JSON and the SVG are checked, and the SVG is
//! rendered to a PNG by `rsvg-convert` (`cargo xtask needs` installs it: a missing
//! renderer fails the test).
//!
//! One test does it all: tracing's callsite interest is process-wide, so the
//! recorder is this binary's global default, installed once.

use std::path::{Path, PathBuf};
use std::process::Command;

use consumer::Consumer;
use consumer_process::Coprocess;
use consumer_timeline::{ENV, Timeline, merge, reset};
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
    assert_eq!(starts.len(), ITEMS as usize, "{starts:?}");
    assert_eq!(starts, ends);
    assert_eq!(summary.flows, ITEMS as usize);
    assert_eq!(summary.processes, pids.len());
    // Each arrow leaves the parent and lands in the child.
    let pid_of = |ph: &str, id: &str| {
        events
            .iter()
            .find(|e| e["ph"] == ph && e["id"] == id)
            .and_then(|e| e["pid"].as_u64())
    };
    for id in &starts {
        assert_ne!(pid_of("s", id), pid_of("f", id), "flow {id}");
    }
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
