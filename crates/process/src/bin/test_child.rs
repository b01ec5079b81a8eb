//! Test helper: a coprocess the integration tests spawn (`tests/it/child.rs`).
//!
//! `process-test-child MODE [ARG]`:
//! - `probe FAULT`: serves `(u32, u64)` items to a probe that prints each event on
//!   stdout (`item P SEQ`, `close`) and injects FAULT (`none`, `panic-at:N`,
//!   `fail-at:N`, `panic-on-close`, `fail-on-close`), for the conformance suite;
//! - `sink`: serves `u64` items, printing nothing;
//! - `probe-fifo PATH FAULT`: as `probe`, but serves the FIFO at PATH (one-way: no
//!   report goes back; a failure is the exit status);
//! - `fifo PATH`: serves `u64` items from the FIFO at PATH, then prints how many;
//! - `verdict`: serves `(u32, u64)` items from stdin, then prints `ok N` or `err KIND` on
//!   stdout and exits 0 or 1;
//! - `cut N`: writes a stream of N `(u32, u64)` items `(0, 0..N)` on stdout without its end frame,
//!   prints `written` on stderr, then waits to be killed (a writer that dies between
//!   two writes);
//! - `exit CODE`: serves `u64` items, then exits with CODE;
//! - `abort`: serves `u64` items, then aborts (SIGABRT);
//! - `grandchild`: starts `hold` sharing its stdin, prints the grandchild's pid,
//!   then serves `u64` items;
//! - `echo`: serves `u64` items, writing each back on stdout (8 bytes, little-endian),
//!   for the latency benchmark; `raw-echo` does the same with raw 8-byte reads;
//! - `service`: serves `u64` requests on its stdin socket, answering `n * 2`,
//!   panicking on 13;
//! - `hold-service`: serves `u64` requests without answering them, printing
//!   `held N` on stdout after the Nth;
//! - `hold`: holds its stdin open for a minute without reading;
//! - `stubborn`: never reads and never exits by itself;
//! - `runaway`: the mistake of calling `spawn_self` before the role check — spawns
//!   itself (`runaway`) and sends it one `u64`; prints `refused KIND: MESSAGE` on
//!   stderr when `spawn_self` refuses.

use std::io::Write;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, SendError};
use consumer_process::serve_stdin;

/// Prints every event, then injects its fault: the twin of `consumer::testing::Probe`.
struct EchoProbe {
    fault: String,
}

impl Consumer<(u32, u64)> for EchoProbe {
    fn send(&mut self, (p, seq): (u32, u64)) -> Result<(), SendError<(u32, u64)>> {
        println!("item {p} {seq}");
        if self.fault == format!("panic-at:{seq}") {
            panic!("probe panics at item {seq}");
        }
        if self.fault == format!("fail-at:{seq}") {
            return Err(SendError::lost(Error::new(
                ErrorKind::Other,
                format!("probe fails at item {seq}"),
            )));
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        println!("close");
        let _ = std::io::stdout().flush();
        match self.fault.as_str() {
            "panic-on-close" => panic!("probe panics on close"),
            "fail-on-close" => Err(Error::new(ErrorKind::Other, "probe fails on close")),
            _ => Ok(()),
        }
    }
}

fn sink() -> Vec<u64> {
    Vec::new()
}

fn main() -> ExitCode {
    // The probe's panics are expected; keep the test output clean.
    std::panic::set_hook(Box::new(|_| {}));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = args.get(1).cloned().unwrap_or_default();
    let served = match args.first().map(String::as_str) {
        Some("probe") => serve_stdin(EchoProbe { fault: arg }).map(drop),
        Some("probe-fifo") => {
            let fault = args.get(2).cloned().unwrap_or_default();
            consumer_process::serve_fifo(std::path::Path::new(&arg), EchoProbe { fault }).map(drop)
        }
        Some("sink") => serve_stdin(sink()).map(drop),
        Some("verdict") => {
            let got = serve_stdin(Vec::<(u32, u64)>::new());
            match &got {
                Ok(n) => println!("ok {n}"),
                Err(e) => println!("err {:?}", e.kind()),
            }
            got.map(drop)
        }
        Some("cut") => {
            let n: u64 = arg.parse().unwrap_or(10);
            let mut tx = consumer_process::Sender::new(std::io::stdout());
            let written = tx
                .send_all((0..n).map(|seq| (0u32, seq)))
                .map_err(|e| e.into_error())
                .and_then(|()| tx.flush());
            // Never closed: the stream has no end frame. Then die by the parent's hand.
            std::mem::forget(tx);
            eprintln!("written");
            if written.is_ok() {
                std::thread::sleep(Duration::from_secs(60));
            }
            written
        }
        Some("fifo") => {
            let got = consumer_process::serve_fifo(std::path::Path::new(&arg), sink());
            // The parent checks the count on our stdout.
            got.map(|n| println!("{n}"))
        }
        Some("exit") => {
            let _ = serve_stdin(sink());
            return ExitCode::from(arg.parse::<u8>().unwrap_or(1));
        }
        Some("abort") => {
            let _ = serve_stdin(sink());
            std::process::abort();
        }
        Some("grandchild") => {
            let exe = std::env::current_exe().expect("own path");
            // Never waited for on purpose: the test kills this child mid-stream, the
            // grandchild is adopted (and reaped) by init, and the test kills it too.
            #[allow(clippy::zombie_processes)]
            let held = Command::new(exe)
                .arg("hold")
                .stdout(Stdio::null())
                .spawn()
                .expect("start the grandchild");
            println!("{}", held.id());
            serve_stdin(sink()).map(drop)
        }
        Some("echo") => {
            let echo = consumer::from_fn(|n: u64| {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(&n.to_le_bytes()).and_then(|()| out.flush());
            });
            serve_stdin(echo).map(drop)
        }
        Some("raw-echo") => {
            use std::io::Read;
            let (mut input, mut out) = (std::io::stdin().lock(), std::io::stdout().lock());
            let mut b = [0u8; 8];
            while input.read_exact(&mut b).is_ok() {
                if out.write_all(&b).and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
            Ok(())
        }
        Some("service") => consumer_process::serve_stdin_requests(consumer::serve(|n: u64| {
            assert_ne!(n, 13, "the service panics on 13");
            n * 2
        }))
        .map(drop),
        Some("hold-service") => {
            let mut held: Vec<consumer::Request<u64, u64>> = Vec::new();
            consumer_process::serve_stdin_requests(consumer::from_fn(move |r| {
                held.push(r);
                println!("held {}", held.len());
                let _ = std::io::stdout().flush();
            }))
            .map(drop)
        }
        Some("runaway") => match consumer_process::Coprocess::<u64>::spawn_self(["runaway"]) {
            Ok(mut child) => child
                .send(1)
                .map_err(SendError::into_error)
                .and_then(|()| child.close()),
            Err(e) => {
                eprintln!("refused {:?}: {e}", e.kind());
                Err(e)
            }
        },
        Some("hold") | Some("stubborn") => {
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        }
        other => {
            eprintln!("process-test-child: unknown mode {other:?}");
            return ExitCode::from(64);
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}
