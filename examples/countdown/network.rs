//! `countdown --listen ADDR` and `countdown --connect ADDR`: the Countdown across
//! machines. The listener serves every authenticated connection to a Countdown of
//! its own; the connector sends 10 down to 1 and closes, and its `close` returns once
//! the far Countdown has said `Kaboom!`.
//!
//! ADDR is `HOST:PORT` (TCP) or `unix:PATH`. TCP needs a key: the environment
//! variable `CONSUMER_AUTHKEY` or `--key-file FILE`, the same on both ends (at least
//! 16 bytes; `head -c 32 /dev/urandom | base64 > key` makes a good one). A Unix
//! socket's directory must be private to you; a key is optional there.

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

/// Serves until killed. Prints `listening on ADDR` first (with the port picked for
/// port 0), and one line on stderr for every connection that fails.
pub(crate) fn listen(addr: &str, key: Option<AuthKey>) -> Result<(), Box<dyn std::error::Error>> {
    let addr: Address = addr.parse()?;
    let key = required(&addr, key)?;
    let mut server = Server::bind(&addr)?.on_error(|peer, e| eprintln!("countdown: {peer}: {e}"));
    if let Some(key) = key {
        server = server.key(key);
    }
    let serving = server.serve(|| Countdown)?;
    examples::say!("listening on {}", serving.local_addr());
    serving.wait()?;
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
