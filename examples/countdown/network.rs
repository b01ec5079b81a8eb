//! `countdown --listen ADDR` and `countdown --connect ADDR`: the Countdown across
//! machines. The listener serves every authenticated connection to a Countdown of
//! its own; the connector sends 10 down to 1 and closes, and its `close` returns once
//! the far Countdown has said `Kaboom!`.
//!
//! ADDR is `HOST:PORT` (TCP) or `unix:PATH`. TCP needs a key: the environment
//! variable `CONSUMER_AUTHKEY` or `--key-file FILE`, the same on both ends (at least
//! 16 bytes; `head -c 32 /dev/urandom | base64 > key` makes a good one). A Unix
//! socket's directory must be private to you; a key is optional there.
//!
//! The listener stops on SIGINT (Ctrl-C) or SIGTERM: it stops accepting, lets the
//! open connections finish for up to 5 seconds, closes the rest, and reports what it
//! served on stderr.

use std::time::Duration;

use consumer_auth::AuthKey;
use consumer_net::{Address, Connector, Server};
use examples::Countdown;

/// The environment variable the key is read from.
pub(crate) const KEY_VAR: &str = "CONSUMER_AUTHKEY";

/// The key from `--key-file`, else from `CONSUMER_AUTHKEY`; none if neither is given.
pub(crate) fn key(file: Option<&str>) -> Result<Option<AuthKey>, consumer::Error> {
    match file {
        Some(f) => AuthKey::from_file(std::path::Path::new(f)).map(Some),
        None if std::env::var_os(KEY_VAR).is_some() => AuthKey::from_env(KEY_VAR).map(Some),
        None => Ok(None),
    }
}

/// The key TCP needs, or an error that says how to give one.
fn required(addr: &Address, key: Option<AuthKey>) -> Result<Option<AuthKey>, String> {
    match (addr, key) {
        (Address::Tcp(_), None) => Err(format!(
            "{addr} is TCP, which needs a key: set {KEY_VAR} or pass --key-file FILE"
        )),
        (_, key) => Ok(key),
    }
}

/// Serves until SIGINT or SIGTERM, then stops gracefully. Prints `listening on
/// ADDR` first (with the port picked for port 0), one line on stderr for every
/// connection that fails or is refused, and a last line with the server's counts.
pub(crate) fn listen(addr: &str, key: Option<AuthKey>) -> Result<(), Box<dyn std::error::Error>> {
    let addr: Address = addr.parse()?;
    let key = required(&addr, key)?;
    let mut server = Server::bind(&addr)?.on_error(|peer, e| eprintln!("countdown: {peer}: {e}"));
    if let Some(key) = key {
        server = server.key(key);
    }
    let serving = server.serve(|| Countdown)?;
    // The handlers are in place before anyone learns where to connect.
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut int, mut term) = {
        let _in = signals.enter();
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    examples::say!("listening on {}", serving.local_addr());
    let name = signals.block_on(async {
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    });
    eprintln!("countdown: {name}: no new connections; draining the open ones (5 s at most)");
    let open = serving.stats().open;
    let s = serving.shutdown_within(Duration::from_secs(5))?;
    eprintln!(
        "countdown: stopped: {} served, {} failed, {} refused; {open} open at the signal",
        s.served, s.failed, s.refused
    );
    Ok(())
}

/// Sends 10 down to 1 to the listener at `addr` and closes.
pub(crate) fn connect(addr: &str, key: Option<AuthKey>) -> Result<(), Box<dyn std::error::Error>> {
    let addr: Address = addr.parse()?;
    let mut connector = Connector::new(addr.clone());
    if let Some(key) = required(&addr, key)? {
        connector = connector.key(key);
    }
    crate::runners::drive(connector.sender::<u32>()?)
}
