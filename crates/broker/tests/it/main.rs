//! consumer-broker's integration tests, one binary. Each test starts its own
//! `nats-server` on a port the server picks, with a temporary store; none skips:
//! without `nats-server` they fail with the install command.

mod auth;
mod flow;
mod garbage;
mod kill;
mod ordered;
mod restart;
mod suite;
mod tls;
mod trace;

use std::path::{Path, PathBuf};

use consumer::Consumer;
use consumer_broker::{Broker, LocalServer, Producer, Worker, WorkerOptions};

/// A fresh server and a broker on it, on a stream named for the test.
fn server(test: &str) -> (LocalServer, Broker) {
    let server = LocalServer::start().unwrap_or_else(|e| panic!("{e}"));
    let broker = Broker::new(server.url()).stream(&test.to_uppercase(), &format!("{test}.items"));
    (server, broker)
}

/// A temporary directory for a test's files (certificates, keys, server
/// configuration), removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "consumer-broker-test-{}-{test}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn dir(&self) -> &Path {
        &self.0
    }

    /// Writes `name` here and returns its path.
    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A server started with this configuration file (`-c`).
    fn server_with_config(&self, conf: &str) -> LocalServer {
        let conf = self.file("nats-server.conf", conf);
        LocalServer::with_args(&["-c".as_ref(), conf.as_os_str()].map(|a| a.to_string_lossy()))
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Ten items through a producer and a worker on this broker: the connection's
/// options work end to end.
fn round_trip(broker: &Broker) {
    let mut producer = Producer::<u32>::connect(broker).unwrap_or_else(|e| panic!("{e}"));
    producer.send_all(0..10).unwrap();
    producer.close().unwrap();
    let mut got = Vec::new();
    Worker::<u32>::connect(broker, WorkerOptions::new())
        .unwrap_or_else(|e| panic!("{e}"))
        .run(&mut got)
        .unwrap();
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}
