//! Request/reply across sockets: over TCP with a key, and a service process killed
//! with calls waiting.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use consumer::{Client, ErrorKind, serve};
use consumer_auth::AuthKey;
use consumer_net::{Address, Connector, Server};
use consumer_process::PrivateDir;

use crate::support::KillOnDrop;

const PATIENCE: Duration = Duration::from_secs(10);
const CHILD: &str = env!("CARGO_BIN_EXE_net-test-child");

#[test]
fn calls_over_tcp_with_a_key() {
    let key = AuthKey::generate().unwrap();
    let serving = Server::bind(&"127.0.0.1:0".parse().unwrap())
        .unwrap()
        .key(key.clone())
        .serve_requests(|| serve(|s: String| s.to_uppercase()))
        .unwrap();
    let connector = Connector::new(serving.local_addr().clone()).key(key);
    for _ in 0..3 {
        let mut client = Client::new(connector.client::<String, String>().unwrap());
        assert_eq!(client.call("ping".into()).unwrap(), "PING");
        client.close().unwrap();
    }
    serving.shutdown().unwrap();
}

#[test]
fn a_service_process_killed_with_calls_in_flight_fails_them_promptly() {
    let dir = PrivateDir::new("killed").unwrap();
    let path = dir.join("service.sock");
    let mut child = KillOnDrop(
        Command::new(CHILD)
            .arg("hold-requests")
            .arg(&path)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // The child says when it listens: a real signal, not a sleep.
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "listening");
    let mut client = Client::new(
        Connector::new(Address::Unix(path))
            .client::<u64, u64>()
            .unwrap(),
    );
    let pending: Vec<_> = (0..3).map(|n| client.start(n).unwrap()).collect();
    child.kill();
    for mut p in pending {
        let e = p.wait_timeout(PATIENCE).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    }
    let e = client.call(4).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    assert_eq!(e.into_item(), Some(4), "the body comes back");
}
