//! The notes' Countdown, one consumer run by every runner in turn.
//!
//! ```text
//! cargo run --release --example countdown                    # every runner
//! cargo run --release --example countdown -- --runner inline # one of them
//! ```
//!
//! Each runner module turns a `Countdown` into a handle, sends 10 down to 1, and
//! closes. The transcript is the same whichever runner runs it.

mod coprocess;
mod runners;

use std::process::ExitCode;

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("countdown: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    let mut runner = "all".to_owned();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runner" => runner = it.next().ok_or("--runner needs a name")?,
            "--coprocess" => return coprocess::serve(it.next()),
            "-h" | "--help" => {
                println!(
                    "usage: countdown [--runner all|{}]",
                    runners::names().join("|")
                );
                println!(
                    "       countdown --coprocess [FIFO]   (serve framed items from stdin or FIFO)"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`; try --help").into()),
        }
    }
    if runner == "all" {
        for (name, run) in runners::RUNNERS {
            println!("== {name} ==");
            run()?;
        }
        return Ok(());
    }
    let (_, run) = runners::RUNNERS
        .iter()
        .find(|(name, _)| *name == runner)
        .ok_or_else(|| {
            format!(
                "unknown runner `{runner}`; valid runners: all, {}",
                runners::names().join(", ")
            )
        })?;
    run()
}
