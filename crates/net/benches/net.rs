//! Sockets against raw socket loops, in the same run (see `benchkit`).
//!
//! Each comparison runs over a Unix socket (in a `PrivateDir`, no key: the directory
//! is the access control) and over TCP loopback (ours authenticated with a key):
//!
//! - small items (`u64`): `Connector::sender` → `Server::serve` with a counting
//!   consumer, against a raw loop that writes the very same length-prefixed bytes
//!   through a `BufWriter` on the same kind of socket, to a raw reader thread that
//!   parses them. Both sides connect (and ours authenticates) before the clock
//!   starts; the clock stops when the far side has every item: our `close` waits for
//!   the server's report, the raw writer for a one-byte acknowledgement.
//! - one call's round trip: `Client::new(Remote)` `call` against `serve_requests`
//!   answering `n + 1`, against a raw echo of the same 8-byte payload framed the
//!   same way (write the frame, flush, read the reply frame). Connecting and
//!   authenticating happen before the clock starts.
//!
//! Two diagnostic lines split the gaps: ours through the server against our own
//! `Receiver` on a bare socket pair, and a call against a raw echo whose replies a
//! reader thread hands to the caller, as a `Remote`'s does. Figures and reading:
//! `docs/decisions/0005-wire-format.md`, "Sockets (issue 7)".

use std::hint::black_box;
use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::thread;
use std::time::{Duration, Instant};

use benchkit::{Compare, Unit};
use consumer::{Client, Consumer, Error, SendError};
use consumer_auth::AuthKey;
use consumer_net::{Address, Conn, Connector, PrivateDir, Server};
use consumer_process::{Receiver, Sender};

// The raw baselines' framing and our send loop, shared with the process benchmarks.
#[path = "../../process/benches/common/mod.rs"]
mod common;

use common::Mode;

/// A byte stream of either kind, for the raw loops.
trait Stream: Read + Write + Send + 'static {
    fn dup(&self) -> Self;
    /// Ends our direction for every handle (the far end reads the end of stream).
    fn end(&self);
}

impl Stream for UnixStream {
    fn dup(&self) -> Self {
        self.try_clone().unwrap()
    }
    fn end(&self) {
        self.shutdown(std::net::Shutdown::Write).unwrap();
    }
}

impl Stream for TcpStream {
    fn dup(&self) -> Self {
        self.try_clone().unwrap()
    }
    fn end(&self) {
        self.shutdown(std::net::Shutdown::Write).unwrap();
    }
}

/// The raw side's listener, next to ours, on the same kind of socket.
enum RawListener {
    Unix(UnixListener, std::path::PathBuf),
    Tcp(TcpListener),
}

impl RawListener {
    /// A connected pair, (client, accepted), with `TCP_NODELAY` as our `Conn` has it.
    fn pair_unix(&self) -> (UnixStream, UnixStream) {
        let Self::Unix(l, path) = self else {
            unreachable!()
        };
        let c = UnixStream::connect(path).unwrap();
        (c, l.accept().unwrap().0)
    }

    fn pair_tcp(&self) -> (TcpStream, TcpStream) {
        let Self::Tcp(l) = self else { unreachable!() };
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let s = l.accept().unwrap().0;
        c.set_nodelay(true).unwrap();
        s.set_nodelay(true).unwrap();
        (c, s)
    }
}

/// One transport: our server's address and connector, and a raw listener of the
/// same kind.
struct Net {
    name: &'static str,
    connector: Connector,
    server: Server,
    raw: RawListener,
}

fn unix(dir: &PrivateDir) -> Net {
    let addr = Address::Unix(dir.join("ours.sock"));
    let raw_path = dir.join("raw.sock");
    // Left by an earlier group's listener.
    let _ = std::fs::remove_file(&raw_path);
    let raw = RawListener::Unix(UnixListener::bind(&raw_path).unwrap(), raw_path);
    Net {
        name: "unix",
        connector: Connector::new(addr.clone()),
        server: Server::bind(&addr).unwrap(),
        raw,
    }
}

fn tcp() -> Net {
    let key = AuthKey::generate().unwrap();
    let server = Server::bind(&"127.0.0.1:0".parse().unwrap())
        .unwrap()
        .key(key.clone());
    Net {
        name: "tcp",
        connector: Connector::new(server.local_addr().clone()).key(key),
        server,
        raw: RawListener::Tcp(TcpListener::bind("127.0.0.1:0").unwrap()),
    }
}

/// Sums what it is sent; the sum is kept alive at close.
struct Count(u64);

impl Consumer<u64> for Count {
    fn send(&mut self, x: u64) -> Result<(), SendError<u64>> {
        self.0 = self.0.wrapping_add(x);
        Ok(())
    }
    fn close(&mut self) -> Result<(), Error> {
        black_box(self.0);
        Ok(())
    }
}

/// Ours: a fresh connection per round (connected and authenticated before the
/// clock), `n` items, and `close`, which returns once the server's consumer has them
/// all and has reported so.
fn ours_small(connector: &Connector, n: u64, mode: Mode) -> Duration {
    let tx = connector.sender::<u64>().unwrap();
    let t = Instant::now();
    let mut tx = common::send_small(tx, n, mode);
    tx.close().unwrap();
    t.elapsed()
}

/// The raw framed loop over a connected pair: the same bytes our sender writes,
/// through a `BufWriter`; a reader thread parses them and acknowledges the end
/// frame with one byte.
fn raw_small<S: Stream>((client, accepted): (S, S), n: u64) -> Duration {
    let rx = thread::spawn(move || {
        let mut ack = accepted.dup();
        let mut r = BufReader::with_capacity(64 << 10, accepted);
        common::read_frames(&mut r);
        ack.write_all(&[1]).unwrap();
    });
    let mut back = client.dup();
    let t = Instant::now();
    let mut w = BufWriter::with_capacity(64 << 10, client);
    common::write_frames(&mut w, n);
    w.flush().unwrap();
    back.read_exact(&mut [0u8; 1]).unwrap();
    let elapsed = t.elapsed();
    rx.join().unwrap();
    elapsed
}

fn raw_small_on(raw: &RawListener, n: u64) -> Duration {
    match raw {
        RawListener::Unix(..) => raw_small(raw.pair_unix(), n),
        RawListener::Tcp(_) => raw_small(raw.pair_tcp(), n),
    }
}

fn small_items(net: Net) {
    let serving = net.server.serve(|| Count(0)).unwrap();
    let name = net.name;
    for (what, mode, target) in [
        ("send-manual-flush", Mode::Manual, 0.6),
        ("send_all", Mode::Batch, 0.6),
        // The default policy, one `send` per item and no flush call.
        ("send-default-vs-bufwriter", Mode::Default, 0.5),
    ] {
        Compare::new(&format!("net/{name}/u64/{what}"))
            .work(2_000_000)
            .target(target)
            .run(
                |n| ours_small(&net.connector, n, mode),
                |n| raw_small_on(&net.raw, n),
            );
    }
    if name == "unix" {
        // What the server and the connector add over a bare `Receiver` on a socket
        // pair (ours against ours): accepting, the connection thread, the report.
        Compare::new("net/unix/u64/server-vs-socketpair")
            .work(2_000_000)
            .run(|n| ours_small(&net.connector, n, Mode::Manual), ours_pair);
    }
    serving.shutdown().unwrap();
}

/// Our sender and receiver straight on a Unix socket pair, no server.
fn ours_pair(n: u64) -> Duration {
    let (a, b) = UnixStream::pair().unwrap();
    let rx = thread::spawn(move || Receiver::new(Conn::from(b)).run::<u64, _>(Count(0)));
    let t = Instant::now();
    let mut tx = common::send_small(Sender::new(Conn::from(a)), n, Mode::Manual);
    tx.close().unwrap();
    drop(tx);
    rx.join().unwrap().unwrap();
    t.elapsed()
}

/// Ours: `n` calls, one at a time, on a connection made (and authenticated) before
/// the clock starts.
fn ours_calls(connector: &Connector, n: u64) -> Duration {
    let mut client = Client::new(connector.client::<u64, u64>().unwrap());
    let t = Instant::now();
    for i in 0..n {
        let r: u64 = client.call(i).unwrap();
        debug_assert_eq!(r, i + 1);
        black_box(r);
    }
    let elapsed = t.elapsed();
    client.close().unwrap();
    elapsed
}

/// One frame of an 8-byte payload: length, kind 1, the payload.
fn frame(n: u64) -> [u8; 13] {
    let mut f = [0u8; 13];
    f[..4].copy_from_slice(&9u32.to_le_bytes());
    f[4] = 1;
    f[5..].copy_from_slice(&n.to_le_bytes());
    f
}

fn read_frame(r: &mut impl Read) -> Option<u64> {
    let mut f = [0u8; 13];
    r.read_exact(&mut f).ok()?;
    assert_eq!(u32::from_le_bytes(f[..4].try_into().unwrap()), 9);
    Some(u64::from_le_bytes(f[5..].try_into().unwrap()))
}

/// The raw far side of a round trip: answers each frame's `n` with `n + 1`, framed
/// the same way, until the end of stream.
fn spawn_echo<S: Stream>(accepted: S) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut w = BufWriter::new(accepted.dup());
        let mut r = BufReader::new(accepted);
        while let Some(x) = read_frame(&mut r) {
            w.write_all(&frame(x + 1)).unwrap();
            w.flush().unwrap();
        }
    })
}

/// The raw round trip over a connected pair: write the frame, flush, read the reply
/// frame; the far thread answers `n + 1` the same way.
fn raw_calls<S: Stream>((client, accepted): (S, S), n: u64) -> Duration {
    let echo = spawn_echo(accepted);
    let mut r = BufReader::new(client.dup());
    let mut w = BufWriter::new(client);
    let t = Instant::now();
    for i in 0..n {
        w.write_all(&frame(i)).unwrap();
        w.flush().unwrap();
        let r = read_frame(&mut r).unwrap();
        debug_assert_eq!(r, i + 1);
        black_box(r);
    }
    let elapsed = t.elapsed();
    drop(w);
    drop(r);
    echo.join().unwrap();
    elapsed
}

/// The raw round trip with our thread layout on the calling side: a reader thread
/// reads each reply frame and hands it to the caller through a channel, as a
/// `Remote`'s reader thread hands replies to `Client::call`.
fn raw_calls_handoff<S: Stream>((client, accepted): (S, S), n: u64) -> Duration {
    let echo = spawn_echo(accepted);
    let (to_caller, replies) = std::sync::mpsc::sync_channel::<u64>(1);
    let mut r = BufReader::new(client.dup());
    let reader = thread::spawn(move || {
        while let Some(x) = read_frame(&mut r) {
            if to_caller.send(x).is_err() {
                break;
            }
        }
    });
    let mut w = BufWriter::new(client);
    let t = Instant::now();
    for i in 0..n {
        w.write_all(&frame(i)).unwrap();
        w.flush().unwrap();
        let r = replies.recv().unwrap();
        debug_assert_eq!(r, i + 1);
        black_box(r);
    }
    let elapsed = t.elapsed();
    w.get_ref().end();
    drop(w);
    echo.join().unwrap();
    reader.join().unwrap();
    elapsed
}

fn raw_calls_on(raw: &RawListener, n: u64, handoff: bool) -> Duration {
    match (raw, handoff) {
        (RawListener::Unix(..), false) => raw_calls(raw.pair_unix(), n),
        (RawListener::Unix(..), true) => raw_calls_handoff(raw.pair_unix(), n),
        (RawListener::Tcp(_), false) => raw_calls(raw.pair_tcp(), n),
        (RawListener::Tcp(_), true) => raw_calls_handoff(raw.pair_tcp(), n),
    }
}

fn latency(net: Net) {
    let serving = net
        .server
        .serve_requests(|| consumer::serve(|n: u64| n + 1))
        .unwrap();
    Compare::new(&format!("net/{}/call", net.name))
        .unit(Unit::Latency)
        .work(10_000)
        .target(0.8)
        .run(
            |n| ours_calls(&net.connector, n),
            |n| raw_calls_on(&net.raw, n, false),
        );
    // Against a raw loop that also hands each reply over from a reader thread: what
    // is left is our protocol, not the thread layout.
    Compare::new(&format!("net/{}/call/vs-raw-reader-thread", net.name))
        .unit(Unit::Latency)
        .work(10_000)
        .run(
            |n| ours_calls(&net.connector, n),
            |n| raw_calls_on(&net.raw, n, true),
        );
    serving.shutdown().unwrap();
}

fn main() {
    // `ONLY=small|latency` runs one group, when tuning.
    let only = std::env::var("ONLY").ok();
    let dir = PrivateDir::new("bench-net").unwrap();
    if only.as_deref() != Some("latency") {
        small_items(unix(&dir));
        small_items(tcp());
    }
    if only.as_deref() != Some("small") {
        latency(unix(&dir));
        latency(tcp());
    }
}
