//! A service in a supervised child: `Remote::spawn` and `serve_stdin_requests`.
//! Calls in flight from many threads, a service panic, the child killed mid-call,
//! a stubborn child dropped, and the child always reaped.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use consumer::{Client, Consumer, ErrorKind, Request};
use consumer_process::Remote;

use crate::child::{assert_reaped, child, kill9, within};

const PATIENCE: Duration = Duration::from_secs(10);

fn service(args: &[&str]) -> Remote<u64, u64> {
    Remote::spawn(child(args)).expect("spawn the service")
}

#[test]
fn calls_in_flight_from_many_threads_get_their_answers_and_close_reaps() {
    within("service calls", || {
        let remote = service(&["service"]);
        let pid = remote.pid().unwrap();
        let client = Client::new(remote);
        let callers: Vec<_> = (0..4u64)
            .map(|t| {
                let mut client = client.clone();
                thread::spawn(move || {
                    let pending: Vec<_> = (0..200u64)
                        .map(|n| client.start(t * 1_000 + n + 100).unwrap())
                        .collect();
                    for (n, mut p) in pending.into_iter().enumerate() {
                        let want = (t * 1_000 + n as u64 + 100) * 2;
                        assert_eq!(p.wait_timeout(PATIENCE).unwrap(), want);
                    }
                })
            })
            .collect();
        for c in callers {
            c.join().unwrap();
        }
        let mut client = client;
        client.close().expect("a clean service");
        assert_reaped(pid);
    });
}

#[test]
fn a_service_panic_fails_its_call_and_close_reports_the_exit() {
    within("service panic", || {
        let mut client = Client::new(service(&["service"]));
        assert_eq!(client.call(1).unwrap(), 2);
        let e = client.call(13).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Panicked, "{e}");
        assert!(e.to_string().contains("panicked"), "{e}");
        // The service is gone; later calls fail, never hang, and hand the body back.
        let e = client.call_timeout(5, PATIENCE).unwrap_err();
        assert_ne!(e.kind(), ErrorKind::Timeout, "{e}");
        let e = client.close().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
        assert!(e.to_string().contains("status 1"), "{e}");
    });
}

#[test]
fn a_service_killed_mid_call_fails_the_calls_promptly_and_is_reaped() {
    within("service killed", || {
        let mut cmd = child(&["hold-service"]);
        let (out_r, out_w) = std::io::pipe().unwrap();
        cmd.stdout(out_w);
        let remote = Remote::<u64, u64>::spawn(cmd).unwrap();
        let pid = remote.pid().unwrap();
        let mut client = Client::new(remote);
        let pending: Vec<_> = (0..3).map(|n| client.start(n).unwrap()).collect();
        // The child says when it holds all three: a real signal, not a sleep.
        let mut lines = BufReader::new(out_r).lines();
        for n in 1..=3 {
            assert_eq!(lines.next().unwrap().unwrap(), format!("held {n}"));
        }
        kill9(pid);
        for mut p in pending {
            let e = p.wait_timeout(PATIENCE).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
            assert!(e.to_string().contains("signal 9 (SIGKILL)"), "{e}");
        }
        // A later send hands the request back.
        let mut remote = client.into_inner();
        let (request, _reply) = Request::<u64, u64>::new(4);
        let e = remote.send(request).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::Exit | ErrorKind::Disconnected),
            "{}",
            e.error()
        );
        assert_eq!(e.into_item().map(|r| *r.body()), Some(4));
        let e = remote.close().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
        assert!(e.to_string().contains("signal 9 (SIGKILL)"), "{e}");
        assert_reaped(pid);
    });
}

#[test]
fn dropping_a_stubborn_service_kills_and_reaps_it_after_the_grace_period() {
    within("stubborn service", || {
        let remote = service(&["stubborn"]).grace(Duration::from_millis(100));
        let pid = remote.pid().unwrap();
        drop(remote);
        assert_reaped(pid);
    });
}

#[test]
fn serve_stdin_requests_without_a_socket_is_a_usage_error() {
    let status = Command::new(env!("CARGO_BIN_EXE_process-test-child"))
        .arg("service")
        .stdin(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "{status}");
}

#[test]
fn call_timeout_bounds_a_request_write_blocked_by_a_child_that_stopped_reading() {
    within("blocked request write", || {
        // A child that never reads its stdin: the request fills the socket.
        let mut cmd = Command::new("sleep");
        cmd.arg("30");
        let remote = Remote::<Vec<u8>, u8>::spawn(cmd)
            .expect("spawn")
            .grace(Duration::from_millis(100));
        let pid = remote.pid().unwrap();
        let mut client = Client::new(remote);
        let e = client
            .call_timeout(vec![7; 4 << 20], Duration::from_millis(100))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
        assert!(e.to_string().contains("still being written"), "{e}");
        // The connection is ended: a later call fails at once, saying why, and
        // hands its request back.
        let e = client.call_timeout(vec![1], PATIENCE).unwrap_err();
        assert!(e.to_string().contains("connection was ended"), "{e}");
        assert_eq!(e.into_item(), Some(vec![1]));
        drop(client);
        assert_reaped(pid);
    });
}
