//! The notes' Countdown, one consumer run by every runner in turn.
//!
//! ```text
//! cargo run --release --example countdown                    # every runner
//! cargo run --release --example countdown -- --runner inline # one of them
//! cargo run --release --example countdown -- --from 1000000  # long: a progress line
//! ```
//!
//! Each runner module turns a `Countdown` into a handle, sends 10 down to 1, and
//! closes. The transcript is the same whichever runner runs it; only its header
//! differs, naming where the Countdown ran. `countdown | head -3` ends quietly: once
//! nobody reads, each process exits with status 0 (`examples::say!`).
//!
//! Across machines (see `network.rs`):
//!
//! ```text
//! CONSUMER_AUTHKEY=... countdown --listen 0.0.0.0:7000     # on one machine
//! CONSUMER_AUTHKEY=... countdown --connect host:7000       # on another
//! countdown --nats nats://host:4222 --produce              # into a NATS stream
//! countdown --nats nats://host:4222 --work                 # on others (broker.rs)
//! countdown --listen 0.0.0.0:7000 --tls-cert S.crt --tls-key S.key --tls-ca CA.crt
//! countdown --connect host:7000 --tls-ca CA.crt --tls-cert C.crt --tls-key C.key
//! ```

mod broker;
mod coprocess;
mod network;
mod runners;

use std::process::ExitCode;

use examples::say;

fn main() -> ExitCode {
    let _logging = examples::init_logging();
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        // A child that ended on a closed pipe fails the parent's send; the reader has
        // gone, so that is the same quiet end.
        Err(_) if examples::stdout_closed() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("countdown: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Vec<String>) -> Result<(), Box<dyn std::error::Error>> {
    let mut runner = "all".to_owned();
    let (mut listen, mut connect, mut key_file) = (None, None, None);
    let (mut nats, mut nats_role) = (None, None);
    let mut tls = network::TlsFiles::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--runner" => runner = it.next().ok_or("--runner needs a name")?,
            "--from" => {
                let n = it.next().ok_or("--from needs a number")?;
                let n: u32 = n
                    .parse()
                    .map_err(|_| format!("--from wants a number of items, not {n:?}"))?;
                let _ = runners::FROM.set(n);
            }
            "--coprocess" => return coprocess::serve(it.next()),
            "--listen" => listen = Some(it.next().ok_or("--listen needs an address")?),
            "--connect" => connect = Some(it.next().ok_or("--connect needs an address")?),
            "--key-file" => key_file = Some(it.next().ok_or("--key-file needs a path")?),
            "--nats" => nats = Some(it.next().ok_or("--nats needs a URL")?),
            "--produce" | "--work" => nats_role = Some(arg),
            "--tls-cert" => tls.cert = Some(it.next().ok_or("--tls-cert needs a path")?),
            "--tls-key" => tls.key = Some(it.next().ok_or("--tls-key needs a path")?),
            "--tls-ca" => tls.ca = Some(it.next().ok_or("--tls-ca needs a path")?),
            "--tls-name" => tls.name = Some(it.next().ok_or("--tls-name needs a name")?),
            "-h" | "--help" => {
                say!(
                    "usage: countdown [--runner all|{}] [--from N]",
                    runners::names().join("|")
                );
                say!(
                    "       countdown --coprocess [FIFO]   (serve framed items from stdin or FIFO)"
                );
                say!(
                    "       countdown --listen ADDR [--key-file F]    (serve Countdowns; ADDR is HOST:PORT or unix:PATH)"
                );
                say!("       countdown --connect ADDR [--key-file F]   (send 10..1 to a listener)");
                say!(
                    "       countdown --nats URL --produce|--work      (store 10..1 in NATS JetStream / handle them)"
                );
                say!(
                    "       any of these --timeline F.json  (also write F.json, a Perfetto trace, and F.svg)"
                );
                say!(
                    "       TCP needs a key: ${} or --key-file, the same on both ends",
                    network::KEY_VAR
                );
                say!(
                    "       TLS: --listen ... --tls-cert F --tls-key F [--tls-ca F (mutual TLS: no key needed)]"
                );
                say!(
                    "            --connect ... --tls-ca F [--tls-cert F --tls-key F] [--tls-name NAME]"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument `{other}`; try --help").into()),
        }
    }
    match (nats, nats_role.as_deref()) {
        (Some(url), Some("--produce")) => return broker::produce(&url),
        (Some(url), Some(_)) => return broker::work(&url),
        (Some(_), None) => return Err("--nats goes with --produce or --work".into()),
        (None, Some(role)) => return Err(format!("{role} needs --nats URL").into()),
        (None, None) => {}
    }
    match (listen, connect) {
        (Some(_), Some(_)) => return Err("--listen and --connect exclude each other".into()),
        (Some(addr), None) => {
            return network::listen(&addr, network::key(key_file.as_deref())?, &tls);
        }
        (None, Some(addr)) => {
            return network::connect(&addr, network::key(key_file.as_deref())?, &tls);
        }
        (None, None) if key_file.is_some() => {
            return Err("--key-file goes with --listen or --connect".into());
        }
        (None, None) if tls.any() => {
            return Err("--tls-* options go with --listen or --connect".into());
        }
        (None, None) => {}
    }
    if runner == "all" {
        for (name, run) in runners::RUNNERS {
            if *name == "broker" && !broker::available() {
                continue;
            }
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
