//! The handshake against honest peers, wrong keys and attackers.

mod attacks;
mod honest;

use std::os::unix::net::UnixStream;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use consumer::Error;
use consumer_auth::{Auth, AuthKey};

fn key(byte: u8) -> AuthKey {
    AuthKey::new(vec![byte; 32]).unwrap()
}

/// A server running `accept` with `key` on one end of a fresh socket pair.
fn server(key: AuthKey, timeout: Duration) -> (UnixStream, JoinHandle<Result<(), Error>>) {
    let (client_end, mut server_end) = UnixStream::pair().unwrap();
    let t = thread::spawn(move || Auth::new(key).timeout(timeout).accept(&mut server_end));
    (client_end, t)
}
