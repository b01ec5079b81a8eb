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
mod trace;

use consumer_broker::{Broker, LocalServer};

/// A fresh server and a broker on it, on a stream named for the test.
fn server(test: &str) -> (LocalServer, Broker) {
    let server = LocalServer::start().unwrap_or_else(|e| panic!("{e}"));
    let broker = Broker::new(server.url()).stream(&test.to_uppercase(), &format!("{test}.items"));
    (server, broker)
}
