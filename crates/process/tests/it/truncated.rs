//! A stream that stops without its end frame is an error: the receiver ends with
//! `Disconnected`, its consumer's close still runs once, and a child serving such a
//! stream exits non-zero. Bytes cut at a frame boundary, and a real writer process
//! killed between two writes; blocking and async receivers alike.

use std::io::{BufRead, BufReader};
use std::process::{ChildStdout, Stdio};

use consumer::testing::{Probe, ProbeLog};
use consumer::{Consumer, ErrorKind};
use consumer_process::{Receiver, Sender};

use crate::child::child;

/// The receiver's outcome was `Disconnected`, after the consumer got `0..n` and was
/// closed once.
fn assert_cut(outcome: Result<u64, consumer::Error>, log: &ProbeLog, n: u64) {
    let e = outcome.expect_err("a stream without its end frame is not a success");
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
    if n > 0 {
        assert!(e.to_string().contains("end frame"), "{e}");
    }
    let want: Vec<(u32, u64)> = (0..n).map(|seq| (0, seq)).collect();
    let got: Vec<(u32, u64)> = log.items().iter().map(|&(p, seq)| (p, seq)).collect();
    assert_eq!(got, want, "every whole frame is delivered");
    assert_eq!(log.closes(), 1, "the consumer's close still runs, once");
}

/// `n` of the suite's items and no end frame: what a sender that died between two
/// writes leaves behind (the whole stream, cut before its 5-byte end frame).
fn probe_stream(n: u64) -> Vec<u8> {
    let bytes = crate::support::Bytes::default();
    let mut tx = Sender::new(bytes.clone());
    tx.send_all((0..n).map(|seq| (0u32, seq))).unwrap();
    tx.close().unwrap();
    let mut stream = bytes.take();
    assert_eq!(stream[stream.len() - 5..], [1, 0, 0, 0, 3], "the end frame");
    stream.truncate(stream.len() - 5);
    stream
}

#[test]
fn bytes_cut_at_a_frame_boundary_are_disconnected_and_close_once() {
    for n in [0, 1, 100] {
        let (probe, log) = Probe::new();
        let outcome = Receiver::new(&probe_stream(n)[..]).run(probe);
        assert_cut(outcome, &log, n);
    }
}

#[cfg(feature = "tokio")]
#[test]
fn the_async_receiver_says_the_same_of_a_cut_stream() {
    use consumer_process::AsyncReceiver;
    crate::support::rt().block_on(async {
        for n in [0, 1, 100] {
            let (probe, log) = Probe::new();
            let bytes = probe_stream(n);
            let outcome = AsyncReceiver::new(&bytes[..]).run(probe).await;
            assert_cut(outcome, &log, n);
        }
    });
}

/// A writer child that sends `n` `(u32, u64)` items on its stdout without the end
/// frame, then is killed with `SIGKILL` between two writes and reaped; returns its
/// stdout, where those frames wait to be read (they fit in a pipe's buffer).
fn killed_writer(n: u64) -> ChildStdout {
    let mut writer = child(&["cut", &n.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the writer");
    // It says when its frames are out: a real signal, not a sleep.
    let mut line = String::new();
    BufReader::new(writer.stderr.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "written");
    writer.kill().unwrap();
    let status = writer.wait().unwrap();
    assert!(!status.success(), "killed: {status}");
    writer.stdout.take().unwrap()
}

#[test]
fn a_child_serving_a_stream_whose_writer_was_killed_exits_non_zero() {
    let verdict = child(&["verdict"])
        .stdin(Stdio::from(killed_writer(1_000)))
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the reader");
    let out = verdict.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "err Disconnected"
    );
    assert_eq!(out.status.code(), Some(1), "{}", out.status);
}

#[test]
fn a_receiver_here_says_a_killed_writer_disconnected() {
    let (probe, log) = Probe::new();
    let outcome = Receiver::new(killed_writer(1_000)).run(probe);
    assert_cut(outcome, &log, 1_000);
}

#[cfg(feature = "tokio")]
#[test]
fn an_async_receiver_says_a_killed_writer_disconnected() {
    use consumer_process::AsyncReceiver;
    use std::os::fd::OwnedFd;
    let stdout = OwnedFd::from(killed_writer(1_000));
    crate::support::rt().block_on(async {
        let pipe = tokio::net::unix::pipe::Receiver::from_owned_fd(stdout).expect("a tokio pipe");
        let (probe, log) = Probe::new();
        let outcome = AsyncReceiver::new(pipe).run(probe).await;
        assert_cut(outcome, &log, 1_000);
    });
}
