//! `RUST_LOG` and `--timeline FILE` for every example: [`init_logging`].

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::Command;

use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// Installs the examples' subscriber; call it first thing in `main` and keep the
/// guard until `main` ends.
///
/// - **Logs:** `RUST_LOG` (tracing-subscriber's env filter syntax, e.g.
///   `RUST_LOG=debug` or `RUST_LOG=consumer_process=trace`) picks what is printed to
///   stderr; without it, warnings and errors are.
/// - **Timeline:** with `--timeline FILE` among the arguments, the program runs
///   itself again with [`consumer_timeline::ENV`] set to `FILE` (so every process
///   it starts records too, whatever its arguments), waits for it, and merges the
///   parts into `FILE` (Chrome/Perfetto trace JSON) and `FILE` with `.svg`. A
///   process started with that variable set records its spans and events and
///   appends them when the guard drops.
///
/// ```no_run
/// // First thing in `main`:
/// let _logging = examples::init_logging();
/// ```
#[must_use = "the guard writes this process's timeline part when it drops"]
pub fn init_logging() -> Logging {
    if std::env::var_os(consumer_timeline::ENV).is_none()
        && let Some((file, args)) = timeline_arg()
    {
        std::process::exit(record(&file, &args));
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(filter);
    let (timeline, flush) = match std::env::var_os(consumer_timeline::ENV) {
        Some(path) => {
            let (layer, flush) = consumer_timeline::Timeline::new(PathBuf::from(path));
            (Some(layer), Some(flush))
        }
        None => (None, None),
    };
    // A second call (a test that runs two mains) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(timeline)
        .try_init();
    Logging { _flush: flush }
}

/// What [`init_logging`] returns: while it lives, this process records; when it
/// drops, a timeline part is written.
#[derive(Debug)]
pub struct Logging {
    _flush: Option<consumer_timeline::Flush>,
}

/// `--timeline FILE` and the other arguments, if it is there.
fn timeline_arg() -> Option<(PathBuf, Vec<OsString>)> {
    let mut args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let at = args.iter().position(|a| a == "--timeline")?;
    let Some(file) = args.get(at + 1).cloned() else {
        eprintln!("--timeline needs a file");
        std::process::exit(2);
    };
    args.drain(at..at + 2);
    Some((PathBuf::from(file), args))
}

/// Runs this program again with the timeline on, then merges: its exit code.
fn record(file: &std::path::Path, args: &[OsString]) -> i32 {
    let run = || -> Result<i32, Box<dyn std::error::Error>> {
        consumer_timeline::reset(file)?;
        let status = Command::new(std::env::current_exe()?)
            .args(args)
            .env(consumer_timeline::ENV, file)
            .status()?;
        let summary = consumer_timeline::merge(file)?;
        eprintln!(
            "timeline: {} and {} ({} processes, {} arrows)",
            file.display(),
            summary.svg.display(),
            summary.processes,
            summary.flows
        );
        Ok(status.code().unwrap_or(2))
    };
    run().unwrap_or_else(|e| {
        eprintln!("timeline: {e}");
        2
    })
}
