//! The process runner against raw pipes, in the same run (see `benchkit`).
//!
//! - small items (`u64`): sender → pipe → receiver thread, against a raw loop that
//!   writes the very same length-prefixed bytes through a `BufWriter` and parses
//!   them back through a `BufReader` (`send` per item with the default policy
//!   among them);
//! - bulk bytes (64 KiB `Vec<u8>` items) against a raw pipe write/read loop;
//! - one lone item's round trip to a child and back, against a raw
//!   write-and-flush loop to a raw echo child over the same transport: our
//!   `Sender` with default settings over a pipe against the raw pipe echo, a
//!   `Coprocess` (a Unix socket) against the raw socket echo; and, across
//!   transports, the `Coprocess` against the pipe echo.

use std::hint::black_box;
use std::io::{BufRead, BufReader, BufWriter, Read, Write, pipe};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use benchkit::{Compare, Unit};
use consumer::Consumer;
use consumer_process::{Codec, Coprocess, Flush, Postcard, Receiver, Sender};

mod common;

use common::Mode;

const CHILD: &str = env!("CARGO_BIN_EXE_process-test-child");

/// The raw framed loop: the same bytes our sender writes, through a `BufWriter`.
fn raw_framed(n: u64) -> Duration {
    let (r, w) = pipe().unwrap();
    let rx = thread::spawn(move || common::read_frames(BufReader::with_capacity(64 << 10, r)));
    let t = Instant::now();
    let mut w = BufWriter::with_capacity(64 << 10, w);
    common::write_frames(&mut w, n);
    drop(w);
    rx.join().unwrap();
    t.elapsed()
}

/// The raw loop with a write per frame: what "every item leaves at once" costs.
fn raw_framed_each(n: u64) -> Duration {
    let (r, mut w) = pipe().unwrap();
    let rx = thread::spawn(move || {
        let mut r = BufReader::with_capacity(64 << 10, r);
        let mut sink = Vec::new();
        r.read_to_end(&mut sink).unwrap();
        black_box(sink.len())
    });
    let t = Instant::now();
    w.write_all(&[0u8; 16]).unwrap();
    let mut b = [0u8; 9];
    let mut frame = Vec::with_capacity(16);
    for i in 0..n {
        let k = common::varint(i, &mut b);
        frame.clear();
        frame.extend_from_slice(&(k as u32 + 1).to_le_bytes());
        frame.push(1);
        frame.extend_from_slice(&b[..k]);
        w.write_all(&frame).unwrap();
    }
    w.write_all(&common::END).unwrap();
    drop(w);
    rx.join().unwrap();
    t.elapsed()
}

/// Our sender with `policy`, one `send` per item, no flush call.
fn ours_each(n: u64, policy: Flush) -> Duration {
    let (r, w) = pipe().unwrap();
    let rx = thread::spawn(move || {
        Receiver::new(r).run::<u64, _>(consumer::from_fn(|x: u64| {
            black_box(x);
        }))
    });
    let t = Instant::now();
    let mut tx = Sender::new(w).flush_policy(policy);
    for i in 0..n {
        tx.send(i).unwrap();
    }
    tx.close().unwrap();
    drop(tx);
    rx.join().unwrap().unwrap();
    t.elapsed()
}

fn ours_small<C: Codec>(codec: C, n: u64, mode: Mode) -> Duration {
    let (r, w) = pipe().unwrap();
    let c2 = codec.clone();
    let rx = thread::spawn(move || {
        let mut sum = 0u64;
        let count = consumer::from_fn(|x: u64| sum = sum.wrapping_add(x));
        Receiver::with_codec(r, c2).run::<u64, _>(count).unwrap();
        black_box(sum)
    });
    let t = Instant::now();
    let mut tx = common::send_small(Sender::with_codec(w, codec), n, mode);
    tx.close().unwrap();
    drop(tx);
    rx.join().unwrap();
    t.elapsed()
}

fn small_items() {
    Compare::new("process/u64/send-manual-flush")
        .work(2_000_000)
        .target(0.6)
        .run(
            |n| ours_small(consumer_process::Bincode, n, Mode::Manual),
            raw_framed,
        );
    Compare::new("process/u64/send_all")
        .work(2_000_000)
        .target(0.6)
        .run(
            |n| ours_small(consumer_process::Bincode, n, Mode::Batch),
            raw_framed,
        );
    Compare::new("process/u64/send-manual-flush/postcard")
        .work(2_000_000)
        .run(|n| ours_small(Postcard, n, Mode::Manual), raw_framed);
    default_row();
    // `Flush::WhenIdle`: a write per `send`, against a raw write per frame.
    Compare::new("process/u64/send-when-idle-vs-raw-write-each")
        .work(200_000)
        .target(0.8)
        .run(|n| ours_each(n, Flush::WhenIdle), raw_framed_each);
}

/// The default policy (`Flush::Auto`), one `send` per item and no flush call:
/// coalesced while a write is in flight, against the buffered raw loop.
fn default_row() {
    Compare::new("process/u64/send-default-vs-bufwriter")
        .work(2_000_000)
        .target(0.5)
        .run(
            |n| ours_small(consumer_process::Bincode, n, Mode::Default),
            raw_framed,
        );
}

const BULK: usize = 64 << 10;

/// A pipe with a 1 MiB buffer (Linux's default is 64 KiB): both sides of the bulk
/// comparison use one, as a bulk transport should.
fn big_pipe() -> (std::io::PipeReader, std::io::PipeWriter) {
    let (r, w) = pipe().unwrap();
    rustix::pipe::fcntl_setpipe_size(&w, 1 << 20).unwrap();
    (r, w)
}

fn raw_bulk(n: u64) -> Duration {
    let (mut r, mut w) = big_pipe();
    let rx = thread::spawn(move || {
        let mut buf = vec![0u8; BULK];
        let mut total = 0usize;
        loop {
            match r.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => total += k,
                Err(e) => panic!("{e}"),
            }
        }
        black_box(total)
    });
    let item = vec![7u8; BULK];
    let t = Instant::now();
    for _ in 0..n {
        w.write_all(&item).unwrap();
    }
    drop(w);
    rx.join().unwrap();
    t.elapsed()
}

fn ours_bulk<C: Codec>(codec: C, n: u64, policy: Flush) -> Duration {
    const POOL: u64 = 32;
    let (r, w) = big_pipe();
    let c2 = codec.clone();
    // Buffers are recycled, as a bulk producer would: the receiver's consumer hands
    // each item back to the producer, which sends it again. Neither side allocates
    // in the steady state, so the comparison is of moving bytes, not of `malloc`.
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let rx = thread::spawn(move || {
        let recycle = consumer::from_fn(move |v: Vec<u8>| {
            let _ = back_tx.send(v);
        });
        Receiver::with_codec(r, c2)
            .run::<Vec<u8>, _>(recycle)
            .unwrap();
    });
    let mut pool: Vec<Vec<u8>> = (0..POOL.min(n)).map(|_| vec![7u8; BULK]).collect();
    let t = Instant::now();
    let mut tx = Sender::with_codec(w, codec).flush_policy(policy);
    for _ in 0..n {
        let item = pool.pop().unwrap_or_else(|| back_rx.recv().unwrap());
        tx.send(item).unwrap();
    }
    tx.close().unwrap();
    drop(tx);
    rx.join().unwrap();
    t.elapsed()
}

fn bulk() {
    Compare::new("process/bytes-64KiB")
        .unit(Unit::Bytes(BULK as u64))
        .work(2_000)
        .target(0.8)
        .run(
            |n| ours_bulk(consumer_process::Bincode, n, Flush::Auto),
            raw_bulk,
        );
    Compare::new("process/bytes-64KiB/manual")
        .unit(Unit::Bytes(BULK as u64))
        .work(2_000)
        .run(
            |n| ours_bulk(consumer_process::Bincode, n, Flush::Manual),
            raw_bulk,
        );
    Compare::new("process/bytes-64KiB/postcard")
        .unit(Unit::Bytes(BULK as u64))
        .work(2_000)
        .run(|n| ours_bulk(Postcard, n, Flush::Auto), raw_bulk);
}

fn ours_round_trips(n: u64) -> Duration {
    let (out_r, out_w) = pipe().unwrap();
    let mut cmd = Command::new(CHILD);
    cmd.arg("echo").stdout(out_w);
    let mut child = Coprocess::<u64>::spawn(cmd).unwrap();
    let elapsed = timed_round_trips(n, &mut child, out_r);
    child.close().unwrap();
    elapsed
}

/// `n` round trips timed: an item sent through `to`, its 8-byte echo read back.
fn timed_round_trips(n: u64, to: &mut impl Consumer<u64>, back: impl Read) -> Duration {
    let mut back = BufReader::new(back);
    let mut b = [0u8; 8];
    let t = Instant::now();
    for i in 0..n {
        to.send(i).unwrap();
        back.read_exact(&mut b).unwrap();
    }
    t.elapsed()
}

/// Ours over a pipe, as the raw pipe echo goes: a `Sender` with default settings on
/// the child's stdin, the child serving it (`serve_stdin`, here over a pipe).
fn ours_round_trips_pipe(n: u64) -> Duration {
    let mut child = Command::new(CHILD)
        .arg("echo")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut tx = Sender::new(child.stdin.take().unwrap());
    let elapsed = timed_round_trips(n, &mut tx, child.stdout.take().unwrap());
    tx.close().unwrap();
    drop(tx);
    assert!(child.wait().unwrap().success());
    elapsed
}

/// The raw round trip: 8 bytes written and flushed to a raw echo child over a pipe
/// (`socket`: over a Unix socket pair, the transport a `Coprocess` uses), 8 back.
fn raw_round_trips(n: u64, socket: bool) -> Duration {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let stdin = if socket {
        Stdio::from(std::os::fd::OwnedFd::from(theirs))
    } else {
        Stdio::piped()
    };
    let mut child = Command::new(CHILD)
        .arg("raw-echo")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut to: Box<dyn Write> = match child.stdin.take() {
        Some(pipe) => Box::new(pipe),
        None => Box::new(ours),
    };
    let mut back = BufReader::new(child.stdout.take().unwrap());
    let mut b = [0u8; 8];
    let t = Instant::now();
    for i in 0..n {
        to.write_all(&i.to_le_bytes()).unwrap();
        to.flush().unwrap();
        back.read_exact(&mut b).unwrap();
    }
    let elapsed = t.elapsed();
    drop(to);
    let _ = back.fill_buf();
    child.wait().unwrap();
    elapsed
}

fn latency() {
    // Like for like: our default `send` and the raw write per frame, both over a
    // pipe, each to a child that echoes 8 bytes back over a pipe.
    Compare::new("process/lone-item-round-trip")
        .unit(Unit::Latency)
        .work(20_000)
        .target(0.8)
        .run(ours_round_trips_pipe, |n| raw_round_trips(n, false));
    // A `Coprocess` over the transport it uses, a Unix socket.
    Compare::new("process/lone-item-round-trip/coprocess-vs-raw-socket")
        .unit(Unit::Latency)
        .work(20_000)
        .target(0.8)
        .run(ours_round_trips, |n| raw_round_trips(n, true));
    // Across transports: the `Coprocess` (a socket) against the pipe echo. What
    // this adds to the row above is the socket's wake-up against the pipe's.
    Compare::new("process/lone-item-round-trip/coprocess-vs-raw-pipe")
        .unit(Unit::Latency)
        .work(20_000)
        .run(ours_round_trips, |n| raw_round_trips(n, false));
}

fn main() {
    // `ONLY=small|bulk|latency` runs one group, `ONLY=default` the default
    // policy's row alone, when tuning.
    match std::env::var("ONLY").as_deref() {
        Ok("small") => return small_items(),
        Ok("bulk") => return bulk(),
        Ok("latency") => return latency(),
        Ok("default") => return default_row(),
        _ => {}
    }
    small_items();
    bulk();
    latency();
}
