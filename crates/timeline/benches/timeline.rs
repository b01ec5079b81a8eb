//! What the timeline layer costs per item: the process sender → pipe → receiver
//! loop recorded by the layer (both threads, every per-item event), against the
//! same loop with no subscriber at all (see `benchkit`). The per-item overhead is
//! the difference of the two times per item, printed after the ratio.

use std::io::pipe;
use std::thread;
use std::time::{Duration, Instant};

use benchkit::{Compare, Unit};
use consumer::Consumer;
use consumer_process::{Receiver, Sender};
use consumer_timeline::Timeline;
use tracing_subscriber::prelude::*;

/// Sends `n` items through a pipe to a receiver thread, each side under `dispatch`.
fn run(n: u64, dispatch: Option<tracing::Dispatch>) -> Duration {
    let (r, w) = pipe().unwrap();
    let d = dispatch.clone();
    let rx = thread::spawn(move || {
        let recv = || {
            Receiver::new(r).run::<u64, _>(consumer::from_fn(|x: u64| {
                std::hint::black_box(x);
            }))
        };
        match d {
            Some(d) => tracing::dispatcher::with_default(&d, recv),
            None => recv(),
        }
    });
    let send = || {
        let mut tx = Sender::new(w);
        for i in 0..n {
            tx.send(i).unwrap();
        }
        tx.close().unwrap();
    };
    let t = Instant::now();
    match &dispatch {
        Some(d) => tracing::dispatcher::with_default(d, send),
        None => send(),
    }
    assert_eq!(rx.join().unwrap().unwrap(), n);
    t.elapsed()
}

fn main() {
    let path = std::env::temp_dir().join(format!("timeline-bench-{}.json", std::process::id()));
    let with_layer = |n: u64| {
        let (layer, flush) = Timeline::new(&path);
        let d = tracing::Dispatch::new(tracing_subscriber::registry().with(layer));
        let t = run(n, Some(d));
        drop(flush); // outside the timing: the part is written at the end of a run
        std::fs::remove_file(format!("{}.parts", path.display())).ok();
        t
    };
    let report = Compare::new("timeline/process-u64/layer-on-vs-off")
        .unit(Unit::Items)
        .work(20_000)
        .run(with_layer, |n| run(n, None));
    println!(
        "bench timeline/process-u64/overhead-per-item {:.2} µs",
        (report.ours - report.baseline) * 1e6
    );
}
