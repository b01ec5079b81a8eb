//! Request/reply across a connection: many calls in flight, errors and panics of the
//! service, timeouts, and a service process killed with calls waiting.

use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use consumer::{Client, Consumer, ErrorKind, Request, serve};
use consumer_process::{Remote, serve_requests};

const PATIENCE: Duration = Duration::from_secs(10);

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
    let far = thread::spawn(move || serve_requests(there.try_clone()?, there, service));
    let reader = here.try_clone().unwrap();
    (Client::new(Remote::over(reader, here).unwrap()), far)
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
    let far = thread::spawn(move || serve_requests(there.try_clone()?, there, serve(|n: u32| n)));
    let reader = here.try_clone().unwrap();
    let mut client = Client::new(Remote::<u32, String>::over(reader, here).unwrap());
    let e = client.call_timeout(1, PATIENCE).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    assert!(e.to_string().contains("fingerprint"), "{e}");
    drop(client);
    let _ = far.join().unwrap();
}
