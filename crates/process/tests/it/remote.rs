//! Request/reply across a connection: many calls in flight, errors and panics of the
//! service, timeouts, and a service process killed with calls waiting.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use consumer::{Client, Consumer, ErrorKind, Request, serve};
use consumer_auth::AuthKey;
use consumer_process::{Address, Conn, Connector, PrivateDir, Remote, Server, serve_requests};

use crate::support::KillOnDrop;

const PATIENCE: Duration = Duration::from_secs(10);
const CHILD: &str = env!("CARGO_BIN_EXE_process-test-child");

/// The thread serving the far end; its outcome is `serve_requests`'s.
type Far = thread::JoinHandle<Result<u64, consumer::Error>>;

/// A client over a socket pair, the service in a thread here.
fn pair<Q, R, S>(service: S) -> (Client<Remote<Q, R>>, Far)
where
    Q: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    R: serde::Serialize + serde::de::DeserializeOwned + Send + 'static,
    S: Consumer<Request<Q, R>> + Send + 'static,
{
    let (here, there) = UnixStream::pair().unwrap();
    let far = thread::spawn(move || serve_requests(Conn::from(there), service));
    (Client::new(Remote::over(Conn::from(here)).unwrap()), far)
}

#[test]
fn many_calls_in_flight_from_many_threads_get_their_own_answers() {
    // The service queues requests to a worker that answers them in batches, last
    // first: replies come back out of order, and each finds its caller.
    let (queue, requests) = mpsc::channel::<Request<(u32, u64), (u32, u64)>>();
    let worker = thread::spawn(move || {
        let mut batch = Vec::new();
        while let Ok(r) = requests.recv() {
            batch.push(r);
            batch.extend(requests.try_iter());
            for r in batch.drain(..).rev() {
                r.answer(|(t, n)| (t, n * 2));
            }
        }
    });
    let (client, far) = pair(queue);
    let callers: Vec<_> = (0..4u32)
        .map(|t| {
            let mut client = client.clone();
            thread::spawn(move || {
                let pending: Vec<_> = (0..500u64).map(|n| client.start((t, n)).unwrap()).collect();
                for (n, mut p) in pending.into_iter().enumerate() {
                    assert_eq!(p.wait_timeout(PATIENCE).unwrap(), (t, n as u64 * 2));
                }
            })
        })
        .collect();
    for c in callers {
        c.join().unwrap();
    }
    let mut client = client;
    client.close().unwrap();
    assert_eq!(far.join().unwrap().unwrap(), 2000);
    worker.join().unwrap();
}

#[test]
fn a_service_error_or_panic_fails_its_call_and_later_calls_fail_too() {
    let (mut client, far) = pair(serve(|n: u32| {
        assert_ne!(n, 0, "zero");
        n + 1
    }));
    assert_eq!(client.call(1).unwrap(), 2);
    let e = client.call(0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Panicked, "{e}");
    // The service is gone; the connection ends; later calls fail, never hang.
    let e = client.call_timeout(5, PATIENCE).unwrap_err();
    assert_ne!(e.kind(), ErrorKind::Timeout, "{e}");
    assert_eq!(far.join().unwrap().unwrap_err().kind(), ErrorKind::Panicked);
}

#[test]
fn an_unanswered_call_times_out_and_the_connection_stays_usable() {
    // Hold request 0 without answering it; answer the rest.
    let (queue, requests) = mpsc::channel::<Request<u8, u8>>();
    let worker = thread::spawn(move || {
        let mut held = Vec::new();
        for r in requests {
            if *r.body() == 0 {
                held.push(r);
            } else {
                r.answer(|n| n);
            }
        }
    });
    let (mut client, far) = pair(queue);
    let e = client
        .call_timeout(0, Duration::from_millis(50))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(client.call_timeout(9, PATIENCE).unwrap(), 9);
    client.close().unwrap();
    far.join().unwrap().unwrap();
    worker.join().unwrap();
}

#[test]
fn a_reply_type_mismatch_is_a_clear_error() {
    let (here, there) = UnixStream::pair().unwrap();
    let far = thread::spawn(move || serve_requests(Conn::from(there), serve(|n: u32| n)));
    let mut client = Client::new(Remote::<u32, String>::over(Conn::from(here)).unwrap());
    let e = client.call_timeout(1, PATIENCE).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    assert!(e.to_string().contains("fingerprint"), "{e}");
    drop(client);
    let _ = far.join().unwrap();
}

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
