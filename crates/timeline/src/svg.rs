//! The same timeline as a picture: one row per track (thread or task), grouped by
//! process, slices placed on one time axis, a mark per event and an arrow per flow.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use serde_json::Value;

const LABEL: f64 = 260.0;
const PLOT: f64 = 1100.0;
const ROW: f64 = 15.0;
const HEAD: f64 = 20.0;
const TOP: f64 = 48.0;
const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#e15759",
];

/// A slice on a track, its nesting depth found while laying out.
struct Slice<'a> {
    name: &'a str,
    ts: f64,
    dur: f64,
    depth: usize,
}

/// Draws `events` (Chrome trace events) as an SVG document.
pub(crate) fn draw(events: &[Value]) -> String {
    let mut procs: BTreeMap<u64, String> = BTreeMap::new();
    let mut names: HashMap<(u64, u64), String> = HashMap::new();
    let mut tracks: BTreeMap<(u64, u64), Vec<Slice<'_>>> = BTreeMap::new();
    for e in events {
        let (Some(pid), tid) = (e["pid"].as_u64(), e["tid"].as_u64().unwrap_or(0)) else {
            continue;
        };
        let label = e["args"]["name"].as_str().unwrap_or_default().to_owned();
        match e["ph"].as_str() {
            Some("M") if e["name"] == "process_name" => {
                procs.insert(pid, label);
            }
            Some("M") if e["name"] == "thread_name" => {
                names.insert((pid, tid), label);
            }
            Some("X") => tracks.entry((pid, tid)).or_default().push(Slice {
                name: e["name"].as_str().unwrap_or("?"),
                ts: e["ts"].as_f64().unwrap_or(0.0),
                dur: e["dur"].as_f64().unwrap_or(0.0),
                depth: 0,
            }),
            _ => {}
        }
    }
    let all = tracks.values().flatten();
    let t0 = all.clone().map(|s| s.ts).fold(f64::INFINITY, f64::min);
    let t1 = all.map(|s| s.ts + s.dur).fold(f64::NEG_INFINITY, f64::max);
    let (t0, span) = if t0.is_finite() && t1 > t0 {
        (t0, t1 - t0)
    } else {
        (0.0, 1.0)
    };
    let x = |ts: f64| LABEL + (ts - t0) / span * PLOT;

    // Rows: a heading per process, then its tracks, each as deep as its nesting.
    let mut out = String::new();
    let mut y = TOP;
    let mut row_of: HashMap<(u64, u64), f64> = HashMap::new();
    let mut body = String::new();
    let mut last_pid = None;
    for (&(pid, tid), slices) in &mut tracks {
        if last_pid != Some(pid) {
            last_pid = Some(pid);
            let title = procs
                .get(&pid)
                .cloned()
                .unwrap_or_else(|| format!("pid {pid}"));
            let _ = writeln!(
                body,
                r##"<rect x="0" y="{y}" width="{w}" height="{HEAD}" fill="#e8e8e8"/><text x="6" y="{ty}" font-weight="bold">{}</text>"##,
                esc(&title),
                w = LABEL + PLOT + 20.0,
                ty = y + 14.0
            );
            y += HEAD + 2.0;
        }
        slices.sort_by(|a, b| a.ts.total_cmp(&b.ts).then(b.dur.total_cmp(&a.dur)));
        let mut open: Vec<f64> = Vec::new();
        for s in slices.iter_mut() {
            while open.last().is_some_and(|&end| end <= s.ts) {
                open.pop();
            }
            s.depth = open.len();
            open.push(s.ts + s.dur);
        }
        let depth = slices.iter().map(|s| s.depth).max().unwrap_or(0) + 1;
        let name = names
            .get(&(pid, tid))
            .cloned()
            .unwrap_or_else(|| format!("track {tid}"));
        let _ = writeln!(
            body,
            r##"<text x="14" y="{}">{}</text><line x1="{LABEL}" y1="{ly}" x2="{x2}" y2="{ly}" stroke="#ddd"/>"##,
            y + 11.0,
            esc(&fit(&name)),
            ly = y + depth as f64 * ROW + 2.0,
            x2 = LABEL + PLOT
        );
        row_of.insert((pid, tid), y);
        for s in slices.iter() {
            let (sx, sy) = (x(s.ts), y + s.depth as f64 * ROW);
            let w = (s.dur / span * PLOT).max(1.0);
            let colour = PALETTE[(fnv(s.name) % PALETTE.len() as u64) as usize];
            if s.dur <= 1.0 {
                // An event: a mark.
                let _ = writeln!(
                    body,
                    r##"<rect x="{:.2}" y="{sy}" width="2" height="{}" fill="#333"><title>{}</title></rect>"##,
                    sx - 1.0,
                    ROW - 2.0,
                    esc(s.name)
                );
                continue;
            }
            let _ = writeln!(
                body,
                r##"<rect x="{sx:.2}" y="{sy}" width="{w:.2}" height="{}" fill="{colour}" fill-opacity="0.85"><title>{} ({:.1} µs)</title></rect>"##,
                ROW - 2.0,
                esc(s.name),
                s.dur
            );
            if w > 7.0 * s.name.len() as f64 {
                let _ = writeln!(
                    body,
                    r##"<text x="{:.2}" y="{}" fill="white" font-size="10">{}</text>"##,
                    sx + 3.0,
                    sy + 10.0,
                    esc(s.name)
                );
            }
        }
        y += depth as f64 * ROW + 6.0;
    }

    // Flows: from each send to where it was received.
    let mut starts: HashMap<&str, (f64, f64)> = HashMap::new();
    let mut arrows = String::new();
    let at = |e: &Value| -> Option<(f64, f64)> {
        let row = row_of.get(&(e["pid"].as_u64()?, e["tid"].as_u64().unwrap_or(0)))?;
        Some((x(e["ts"].as_f64()?), row + ROW / 2.0))
    };
    for e in events.iter().filter(|e| e["ph"] == "s") {
        if let (Some(id), Some(p)) = (e["id"].as_str(), at(e)) {
            starts.insert(id, p);
        }
    }
    for e in events.iter().filter(|e| e["ph"] == "f") {
        let (Some(id), Some((x2, y2))) = (e["id"].as_str(), at(e)) else {
            continue;
        };
        if let Some(&(x1, y1)) = starts.get(id) {
            let _ = writeln!(
                arrows,
                r##"<line x1="{x1:.2}" y1="{y1:.2}" x2="{x2:.2}" y2="{y2:.2}" stroke="#c0392b" stroke-width="1" marker-end="url(#arrow)"><title>item {}</title></line>"##,
                esc(id)
            );
        }
    }

    let height = y + 30.0;
    let width = LABEL + PLOT + 20.0;
    let _ = writeln!(
        out,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#c0392b"/></marker></defs>
<rect width="100%" height="100%" fill="white"/>
<text x="6" y="16" font-size="13" font-weight="bold">timeline: {} processes, {} tracks, {:.3} ms</text>"##,
        procs.len().max(
            tracks
                .keys()
                .map(|k| k.0)
                .collect::<std::collections::HashSet<_>>()
                .len()
        ),
        tracks.len(),
        span / 1000.0
    );
    for i in 0..=10 {
        let tx = LABEL + PLOT * f64::from(i) / 10.0;
        let _ = writeln!(
            out,
            r##"<line x1="{tx}" y1="{}" x2="{tx}" y2="{}" stroke="#f0f0f0"/><text x="{tx}" y="{}" text-anchor="middle" fill="#666">{:.2} ms</text>"##,
            TOP - 8.0,
            y,
            TOP - 12.0,
            span * f64::from(i) / 10.0 / 1000.0
        );
    }
    out.push_str(&body);
    out.push_str(&arrows);
    out.push_str("</svg>\n");
    out
}

/// A label cut to fit the label column.
fn fit(s: &str) -> String {
    const MAX: usize = 38;
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let head: String = s.chars().take(MAX - 1).collect();
    format!("{head}…")
}

/// Text and attribute escaping for XML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
