//! The server soak (`cargo xtask soak` runs it, in release mode): the figures of
//! issue 11, measured on loopback and printed. Not a test: it takes a minute and
//! its figures depend on the machine. Exits non-zero when a bound is missed.
//!
//! - **Crowd**: 10,000 idle connections (half authenticated, half that never send a
//!   byte), held by a child process (`net-soak crowd ...`) so that this process's
//!   memory and descriptors are the server's own; meanwhile a good client's
//!   countdown must be served in under 100 ms. For the blocking and the async API.
//! - **Cycles**: 2,000 connect/authenticate/send/close cycles on each API, none waiting more
//!   than 100 ms to connect.
//! - **Hostile**: a peer trickling its hello, a silent authenticated peer, a client
//!   that never reads its replies: dropped at their deadlines, or held at the
//!   bound with memory flat.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use consumer::{Client, Consumer, serve};
use consumer_auth::{Auth, AuthKey};
use consumer_net::{Address, Connector, Server, Stats};

const CROWD: usize = 10_000;
const CYCLES: usize = 2_000;
const MEMORY_BOUND_MIB: f64 = 100.0;
const SERVE_BOUND: Duration = Duration::from_millis(100);

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

fn key() -> AuthKey {
    AuthKey::new(vec![7; 32]).expect("a valid key")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        None => soak(&[]),
        Some("only") => soak(&args[1..]),
        Some("crowd") => crowd(&args[1..]),
        Some(other) => Err(format!("unknown mode {other:?}").into()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("net-soak: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Raises the soft descriptor limit to the hard one; the new soft limit.
fn raise_nofile() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    limit.current = limit.maximum;
    let _ = setrlimit(Resource::Nofile, limit);
    getrlimit(Resource::Nofile).current.unwrap_or(u64::MAX)
}

/// This process's resident memory, MiB.
fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

/// This process's open descriptors.
fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

fn tcp_addr(addr: &Address) -> String {
    match addr {
        Address::Tcp(a) => a.clone(),
        other => other.to_string(),
    }
}

/// The bounds of the figures, checked as they are printed.
#[derive(Default)]
struct Verdict(Vec<String>);

impl Verdict {
    fn check(&mut self, ok: bool, what: String) {
        println!("{} {what}", if ok { "  ok " } else { "  MISSED" });
        if !ok {
            self.0.push(what);
        }
    }
}

/// Every part, or only those named (`crowd`, `cycles`, `hostile`).
fn soak(only: &[String]) -> Result {
    let nofile = raise_nofile();
    println!("net-soak: descriptor limit {nofile}; loopback; figures below\n");
    let part = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    let mut verdict = Verdict::default();
    if part("crowd") {
        for api in ["blocking", "async"] {
            held_crowd(api, &mut verdict)?;
        }
    }
    if part("cycles") {
        for api in ["blocking", "async"] {
            cycles(api, &mut verdict)?;
        }
    }
    if part("hostile") {
        hostile(&mut verdict)?;
    }
    if verdict.0.is_empty() {
        println!("\nnet-soak: every bound held");
        Ok(())
    } else {
        Err(format!(
            "{} bound(s) missed: {}",
            verdict.0.len(),
            verdict.0.join("; ")
        )
        .into())
    }
}

/// A server of either API on loopback, and what it counts.
enum Running {
    Blocking(consumer_net::Serving),
    Async(consumer_net::AsyncServing, tokio::runtime::Runtime),
}

impl Running {
    fn start(api: &str, server: Server, requests: bool) -> Result<Running> {
        Ok(match (api, requests) {
            ("blocking", false) => Running::Blocking(server.serve(Vec::<u32>::new)?),
            ("blocking", true) => Running::Blocking(
                server.serve_requests(|| serve(|n: u64| vec![n as u8; 64 << 10]))?,
            ),
            (_, requests) => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                let serving = {
                    let _in = rt.enter();
                    if requests {
                        server.serve_requests_async(|| serve(|n: u64| vec![n as u8; 64 << 10]))?
                    } else {
                        server.serve_async(Vec::<u32>::new)?
                    }
                };
                Running::Async(serving, rt)
            }
        })
    }

    fn addr(&self) -> Address {
        match self {
            Running::Blocking(s) => s.local_addr().clone(),
            Running::Async(s, _) => s.local_addr().clone(),
        }
    }

    fn stats(&self) -> Stats {
        match self {
            Running::Blocking(s) => s.stats(),
            Running::Async(s, _) => s.stats(),
        }
    }

    fn shutdown(self) -> Result {
        match self {
            Running::Blocking(s) => s.shutdown()?,
            Running::Async(s, rt) => rt.block_on(s.shutdown())?,
        }
        Ok(())
    }
}

fn quiet(server: Server) -> Server {
    server.on_error(|_, _| {})
}

/// A good client's countdown, 10 down to 1: how long until its close returned.
fn countdown(addr: &Address) -> Result<Duration> {
    let t = Instant::now();
    let mut tx = Connector::new(addr.clone()).key(key()).sender::<u32>()?;
    tx.send_all((1..=10).rev())?;
    tx.close()?;
    Ok(t.elapsed())
}

fn held_crowd(api: &str, verdict: &mut Verdict) -> Result {
    println!("== {api} API: {CROWD} idle connections, half authenticated, half silent");
    let server = quiet(Server::bind(&"127.0.0.1:0".parse()?)?.key(key()))
        .max_connections(CROWD + 100)
        .max_unauthenticated(CROWD / 2 + 100)
        .handshake_timeout(Duration::from_secs(300))
        .idle_timeout(Some(Duration::from_secs(300)))
        .workers(2);
    let running = Running::start(api, server, false)?;
    let addr = running.addr();
    let (before_mib, before_fds) = (rss_mib(), fds());
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "crowd",
            &tcp_addr(&addr),
            &(CROWD / 2).to_string(),
            &(CROWD / 2).to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let t = Instant::now();
    let mut line = String::new();
    BufReader::new(child.stdout.take().ok_or("no stdout")?).read_line(&mut line)?;
    if !line.starts_with("held") {
        return Err(format!("the crowd failed: {line:?}").into());
    }
    let opened = t.elapsed();
    println!("   the crowd: {}", line.trim());
    // The server has admitted them all once it counts them open.
    let deadline = Instant::now() + Duration::from_secs(30);
    while running.stats().open < CROWD as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stats = running.stats();
    let (mib, open_fds) = (rss_mib(), fds());
    let served = (0..5)
        .map(|_| countdown(&addr))
        .collect::<Result<Vec<_>>>()?;
    let worst = served.iter().max().copied().unwrap_or_default();
    println!(
        "   opened in {opened:.2?}; server: {} open ({} authenticated), {} refused",
        stats.open, stats.authenticated, stats.refused
    );
    println!(
        "   memory {before_mib:.1} MiB before, {mib:.1} MiB held ({:.2} KiB a connection); \
         descriptors {before_fds} before, {open_fds} held",
        (mib - before_mib) * 1024.0 / CROWD as f64
    );
    println!("   a good client's countdown while they are held: {served:.1?}");
    verdict.check(
        stats.open == CROWD as u64,
        format!("{api}: all {CROWD} held open ({})", stats.open),
    );
    verdict.check(
        mib <= MEMORY_BOUND_MIB,
        format!("{api}: memory {mib:.1} MiB <= {MEMORY_BOUND_MIB} MiB"),
    );
    verdict.check(
        open_fds <= before_fds + CROWD + 16,
        format!(
            "{api}: descriptors {open_fds} <= one per connection plus {}",
            before_fds + 16
        ),
    );
    verdict.check(
        worst < SERVE_BOUND,
        format!("{api}: countdown served in {worst:.1?} < {SERVE_BOUND:?}"),
    );
    drop(child.stdin.take()); // the crowd leaves
    child.wait()?;
    running.shutdown()?;
    Ok(())
}

/// The child: holds `auth` authenticated and `silent` silent connections to ADDR,
/// says `held N`, and leaves when its stdin closes.
fn crowd(args: &[String]) -> Result {
    let [addr, auth, silent] = args else {
        return Err("usage: net-soak crowd ADDR AUTHENTICATED SILENT".into());
    };
    raise_nofile();
    let (auth, silent): (usize, usize) = (auth.parse()?, silent.parse()?);
    let mut held = Vec::with_capacity(auth + silent);
    let mut slowest = Duration::ZERO;
    for _ in 0..silent {
        let t = Instant::now();
        held.push(TcpStream::connect(addr.as_str())?);
        slowest = slowest.max(t.elapsed());
    }
    let proof = Auth::new(key());
    for _ in 0..auth {
        let mut s = TcpStream::connect(addr.as_str())?;
        s.set_nodelay(true)?;
        proof.connect(&mut s)?;
        held.push(s);
    }
    println!("held {} (slowest silent connect {slowest:.2?})", held.len());
    std::io::stdout().flush()?;
    let mut rest = Vec::new();
    std::io::stdin().read_to_end(&mut rest)?;
    Ok(())
}

fn cycles(api: &str, verdict: &mut Verdict) -> Result {
    println!("== {CYCLES} connect/authenticate/send/close cycles ({api} API)");
    let server = quiet(Server::bind(&"127.0.0.1:0".parse()?)?.key(key())).workers(2);
    let running = Running::start(api, server, false)?;
    let addr = running.addr();
    let mib = rss_mib();
    let mut connects = Vec::with_capacity(CYCLES);
    let t = Instant::now();
    for n in 0..CYCLES {
        let c = Instant::now();
        let mut tx = Connector::new(addr.clone()).key(key()).sender::<u32>()?;
        connects.push(c.elapsed());
        tx.send(n as u32)?;
        tx.close()?;
    }
    let total = t.elapsed();
    connects.sort();
    let p99 = connects[CYCLES * 99 / 100];
    let worst = connects[CYCLES - 1];
    println!(
        "   {CYCLES} cycles in {total:.2?}; connect+auth median {:.2?}, p99 {p99:.2?}, worst {worst:.2?}; memory {mib:.1} -> {:.1} MiB",
        connects[CYCLES / 2],
        rss_mib()
    );
    let stats = running.stats();
    verdict.check(
        stats.served == CYCLES as u64 || stats.served + stats.open >= CYCLES as u64,
        format!(
            "cycles ({api}): {} served, {} failed",
            stats.served, stats.failed
        ),
    );
    verdict.check(
        worst < SERVE_BOUND,
        format!("cycles ({api}): worst connect {worst:.2?} < {SERVE_BOUND:?}"),
    );
    running.shutdown()
}

/// Waits for the server to hang up on `s`: how long that took.
fn hang_up_after(mut s: TcpStream, from: Instant) -> Duration {
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return from.elapsed(),
            Ok(_) => {}
        }
    }
}

fn hostile(verdict: &mut Verdict) -> Result {
    let deadline = Duration::from_secs(1);
    for api in ["blocking", "async"] {
        println!(
            "== hostile peers ({api} API): handshake and idle deadlines {deadline:?}, 16 requests in flight"
        );
        let server = quiet(Server::bind(&"127.0.0.1:0".parse()?)?.key(key()))
            .handshake_timeout(deadline)
            .idle_timeout(Some(deadline))
            .max_in_flight(16)
            .workers(2);
        let running = Running::start(api, server, true)?;
        let addr = tcp_addr(&running.addr());

        // A hello at 2 bytes a second.
        let trickle = TcpStream::connect(addr.as_str())?;
        let mut writer = trickle.try_clone()?;
        let t = Instant::now();
        std::thread::spawn(move || {
            while writer.write_all(b"CN").is_ok() {
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        let trickled = hang_up_after(trickle, t);

        // Authenticated, then silent.
        let mut silent = TcpStream::connect(addr.as_str())?;
        Auth::new(key()).connect(&mut silent)?;
        let t = Instant::now();
        let idled = hang_up_after(silent, t);
        println!(
            "   trickling hello dropped after {trickled:.2?}; silent authenticated peer after {idled:.2?}"
        );
        verdict.check(
            trickled < deadline + Duration::from_millis(500),
            format!("{api}: trickler dropped at its deadline ({trickled:.2?})"),
        );
        verdict.check(
            idled < deadline + Duration::from_millis(500),
            format!("{api}: silent peer dropped at the idle deadline ({idled:.2?})"),
        );

        // Requests for 64 KiB replies, never read.
        let mut greedy = TcpStream::connect(addr.as_str())?;
        Auth::new(key()).connect(&mut greedy)?;
        let keep = greedy.try_clone()?;
        std::thread::spawn(move || {
            let mut requests = consumer_process::Sender::<(u64, u64), _>::new(greedy);
            for id in 0.. {
                if requests.send((id, id)).is_err() {
                    break;
                }
            }
        });
        let mut samples = Vec::new();
        for _ in 0..12 {
            std::thread::sleep(Duration::from_millis(250));
            samples.push(rss_mib());
        }
        let (first, last) = (samples[3], samples[samples.len() - 1]);
        let peak = samples.iter().copied().fold(0.0, f64::max);
        let mut client = Client::new(
            Connector::new(running.addr())
                .key(key())
                .client::<u64, Vec<u8>>()?,
        );
        let t = Instant::now();
        client.call(1)?;
        let other = t.elapsed();
        client.close()?;
        println!(
            "   a client that never reads: memory over 3 s {:.1?} MiB (peak {peak:.1}); another client's call meanwhile {other:.2?}",
            samples
        );
        verdict.check(
            (last - first).abs() < 8.0 && peak < MEMORY_BOUND_MIB,
            format!(
                "{api}: memory flat under a client that never reads ({first:.1} -> {last:.1} MiB)"
            ),
        );
        verdict.check(
            other < SERVE_BOUND,
            format!("{api}: another client served in {other:.2?}"),
        );
        drop(keep);
        running.shutdown()?;
    }
    Ok(())
}
