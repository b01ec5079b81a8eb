//! What the tests share: the per-key order checker, the child role (this test binary
//! re-run as a worker process), and a time bound.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, SendError};
use consumer_process::Coprocess;

/// A producer's item: (producer, sequence number).
pub(crate) type Item = (u32, u64);

/// Keys per producer: an item's key is `(producer, seq % KEYS)`.
pub(crate) const KEYS: u64 = 8;

pub(crate) fn key(&(p, seq): &Item) -> (u32, u64) {
    (p, seq % KEYS)
}

/// Runs `f` in a thread and fails the test if it takes longer than `secs`.
pub(crate) fn within<R: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> R + Send + 'static,
) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(Ok(r)) => r,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{what} did not finish within {secs} s"),
    }
}

/// What one worker (one generation of it) received: per key, the sequence numbers
/// in arrival order, checked increasing; and how often it was closed.
#[derive(Debug, Default, Clone)]
pub(crate) struct Seen {
    pub(crate) worker: usize,
    pub(crate) per_key: BTreeMap<(u32, u64), Vec<u64>>,
    pub(crate) closes: u32,
}

impl Seen {
    pub(crate) fn items(&self) -> u64 {
        self.per_key.values().map(|v| v.len() as u64).sum()
    }
}

/// A worker's consumer: records every item by key (rejecting a key's items out of
/// order), optionally panicking at its `panic_at`th item, and publishes what it saw
/// into `out` as it goes (so a worker that panics is still accounted for).
pub(crate) struct Checker {
    seen: Arc<Mutex<Seen>>,
    count: u64,
    panic_at: Option<u64>,
}

impl Checker {
    /// A checker for `worker`, registered in `all`.
    pub(crate) fn new(
        worker: usize,
        all: &Arc<Mutex<Vec<Arc<Mutex<Seen>>>>>,
        panic_at: Option<u64>,
    ) -> Checker {
        let seen = Arc::new(Mutex::new(Seen {
            worker,
            ..Seen::default()
        }));
        all.lock().unwrap().push(seen.clone());
        Checker {
            seen,
            count: 0,
            panic_at,
        }
    }
}

impl Consumer<Item> for Checker {
    fn send(&mut self, item: Item) -> Result<(), SendError<Item>> {
        self.count += 1;
        record(&mut self.seen.lock().unwrap(), item)?;
        if self.panic_at == Some(self.count) {
            panic!("checker panics at its item {}", self.count);
        }
        Ok(())
    }
    fn close(&mut self) -> Result<(), Error> {
        self.seen.lock().unwrap().closes += 1;
        Ok(())
    }
}

fn record(seen: &mut Seen, item: Item) -> Result<(), SendError<Item>> {
    let seqs = seen.per_key.entry(key(&item)).or_default();
    if seqs.last().is_some_and(|&last| last >= item.1) {
        return Err(SendError::new(
            item,
            Error::new(
                ErrorKind::Other,
                format!("key {:?} out of order at {item:?}", key(&item)),
            ),
        ));
    }
    seqs.push(item.1);
    Ok(())
}

/// Checks, across every generation of every worker (in the order they were made):
/// each key went to one worker position only, its items increasing across
/// generations (a gap allowed only where `gaps`), no duplicate; returns the total.
pub(crate) fn check_keys(seen: &[Seen], gaps: bool) -> u64 {
    let mut owner: BTreeMap<(u32, u64), usize> = BTreeMap::new();
    let mut all: BTreeMap<(u32, u64), Vec<u64>> = BTreeMap::new();
    for s in seen {
        for (k, seqs) in &s.per_key {
            let o = *owner.entry(*k).or_insert(s.worker);
            assert_eq!(
                o, s.worker,
                "key {k:?} went to workers {o} and {}",
                s.worker
            );
            all.entry(*k).or_default().extend(seqs);
        }
    }
    for (k, seqs) in &all {
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "key {k:?}: out of order or duplicated"
        );
        if !gaps {
            let want: Vec<u64> = (0..seqs.len() as u64).map(|i| k.1 + i * KEYS).collect();
            assert_eq!(seqs, &want, "key {k:?}: items missing");
        }
    }
    all.values().map(|v| v.len() as u64).sum()
}

// ---- the child role: this test binary, re-run as a worker process ----

const ROLE: &str = "CONSUMER_POOL_TEST_CHILD";

/// A worker process: this test binary re-run with only [`child_role`] selected, which
/// serves its stdin to a checker that writes what it saw to `out` (a file per child).
/// `mode`: `checker`, `log` (every item written at once, for a child that gets
/// killed) or `exit` (exits with status 3 before reading anything).
pub(crate) fn child(
    mode: &str,
    worker: usize,
    out: &Path,
    pids: &Arc<Mutex<Vec<u32>>>,
) -> Result<Coprocess<Item>, Error> {
    let exe = std::env::current_exe().map_err(Error::from)?;
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        "support::child_role",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .env(ROLE, format!("{mode} {}", out.display()))
    .env("CONSUMER_POOL_WORKER", worker.to_string())
    .stdout(Stdio::null());
    let c = Coprocess::spawn(cmd)?;
    pids.lock().unwrap().extend(c.pid());
    Ok(c)
}

/// A fresh directory for the children's reports.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("consumer-pool-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// What the children wrote, one `Seen` per child (worker number from the file name).
/// A file: `worker W`, then one `P SEQ` line per item, then `closed` if it was.
pub(crate) fn children_seen(dir: &Path) -> Vec<(u32, Seen)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read scratch dir") {
        let path = entry.expect("entry").path();
        let pid: u32 = path.file_name().unwrap().to_str().unwrap().parse().unwrap();
        let text = std::fs::read_to_string(&path).expect("read child's report");
        let mut seen = Seen::default();
        for line in text.lines() {
            let mut words = line.split(' ');
            match (words.next(), words.next()) {
                (Some("worker"), Some(w)) => seen.worker = w.parse().unwrap(),
                (Some("closed"), None) => seen.closes += 1,
                (Some(p), Some(seq)) => {
                    let item = (p.parse().unwrap(), seq.parse().unwrap());
                    record(&mut seen, item).expect("the child checked its order");
                }
                _ => panic!("bad line {line:?} in {}", path.display()),
            }
        }
        out.push((pid, seen));
    }
    out.sort_by_key(|(pid, _)| *pid);
    out
}

/// The child's consumer: items as text lines into its own file, named by its pid.
struct Report {
    file: std::io::BufWriter<std::fs::File>,
    log: bool,
    last: BTreeMap<(u32, u64), u64>,
}

impl Consumer<Item> for Report {
    fn send(&mut self, item: Item) -> Result<(), SendError<Item>> {
        if let Some(&last) = self.last.get(&key(&item))
            && last >= item.1
        {
            return Err(SendError::new(
                item,
                Error::new(ErrorKind::Other, "out of order"),
            ));
        }
        self.last.insert(key(&item), item.1);
        let write = writeln!(self.file, "{} {}", item.0, item.1);
        let write = write.and_then(|()| if self.log { self.file.flush() } else { Ok(()) });
        write.map_err(|e| SendError::new(item, Error::from(e)))
    }
    fn close(&mut self) -> Result<(), Error> {
        writeln!(self.file, "closed")?;
        self.file.flush()?;
        Ok(())
    }
}

/// The child's side. In an ordinary test run (no role in the environment) it does
/// nothing.
#[test]
fn child_role() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    let (mode, dir) = role.split_once(' ').expect("mode and directory");
    if mode == "exit" {
        std::process::exit(3);
    }
    let worker = std::env::var("CONSUMER_POOL_WORKER").unwrap_or_default();
    let path = Path::new(dir).join(std::process::id().to_string());
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("report file"));
    writeln!(file, "worker {worker}").expect("write");
    let report = Report {
        file,
        log: mode == "log",
        last: BTreeMap::new(),
    };
    let code = match consumer_process::serve_stdin::<Item, _>(report) {
        Ok(_) => 0,
        Err(_) => 1,
    };
    std::process::exit(code);
}
