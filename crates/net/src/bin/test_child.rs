//! Test helper: a service process the integration tests spawn and kill
//! (`tests/it/remote.rs`).
//!
//! `net-test-child hold-requests PATH`: listens on the Unix socket PATH for
//! `u64 -> u64` requests, never answers them, and prints `listening` once it
//! listens.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let served = match (args.first().map(String::as_str), args.get(1)) {
        (Some("hold-requests"), Some(path)) => {
            let addr = consumer_net::Address::Unix(path.into());
            consumer_net::Server::bind(&addr)
                .and_then(|s| s.serve_requests(Vec::<consumer::Request<u64, u64>>::new))
                .and_then(|serving| {
                    println!("listening");
                    let _ = std::io::stdout().flush();
                    serving.wait()
                })
        }
        other => {
            eprintln!("net-test-child: unknown mode {other:?}");
            return ExitCode::from(64);
        }
    };
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(1),
    }
}
