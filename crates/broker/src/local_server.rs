//! A `nats-server` of our own on loopback: the countdown's embedded default and the
//! tests' broker.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use consumer::{Error, ErrorKind};

/// The command that installs the server on Debian and Ubuntu.
pub const INSTALL_HINT: &str = "apt-get install nats-server (or, as root: cargo xtask needs)";

/// `sh -c WATCHDOG nats-server ARGS...`: starts the server in the background, waits
/// for its own stdin to reach end of file, then SIGKILLs and reaps the server, and
/// removes the store (`$STORE`) unless the last line it read was `keep` (a restart).
const WATCHDOG: &str = r#""$0" "$@" </dev/null & pid=$!; exec 2>/dev/null; last=; while read -r line; do last=$line; done; kill -9 $pid 2>/dev/null; wait $pid; [ "$last" = keep ] || rm -rf "$STORE""#;

/// How long a server may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// A `nats-server -js` child on 127.0.0.1, on a port it picks, with its store in a
/// fresh temporary directory; killed, reaped and cleaned up on drop.
///
/// Readiness is the server's own log line (`Server is ready`), waited for with a
/// timeout; the port is read from its `Listening for client connections` line. The
/// program is `$CONSUMER_NATS_SERVER`, else `nats-server` on the `PATH`, else
/// `/usr/sbin/nats-server`; when none is there, [`start`](LocalServer::start)
/// fails with the install command ([`INSTALL_HINT`]).
///
/// ```
/// use consumer_broker::LocalServer;
///
/// let server = LocalServer::start()?;
/// assert!(server.url().starts_with("nats://127.0.0.1:"));
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug)]
pub struct LocalServer {
    /// The watchdog shell and the pipe whose end tells it to kill the server.
    child: Option<(Child, ChildStdin)>,
    dir: PathBuf,
    port: u16,
    args: Vec<String>,
}

impl LocalServer {
    /// Starts a server with JetStream and no authentication.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when `nats-server` is missing (the message names the
    /// install command) or does not become ready in time.
    pub fn start() -> Result<LocalServer, Error> {
        LocalServer::with_args::<&str>(&[])
    }

    /// Starts a server with these extra arguments (`--user`, `--pass`, `--auth`,
    /// `--tls`, ...).
    ///
    /// # Errors
    ///
    /// As [`start`](LocalServer::start).
    ///
    /// ```
    /// use consumer_broker::{Broker, LocalServer, Producer};
    ///
    /// let server = LocalServer::with_args(&["--user", "ann", "--pass", "right"])?;
    /// let wrong = Broker::new(server.url()).user_password("ann", "wrong");
    /// let e = Producer::<u32>::connect(&wrong).unwrap_err();
    /// assert_eq!(e.kind(), consumer::ErrorKind::Auth);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn with_args<S: AsRef<str>>(args: &[S]) -> Result<LocalServer, Error> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "consumer-broker-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| io_error("cannot create the server's store", e))?;
        let mut server = LocalServer {
            child: None,
            dir,
            port: 0,
            args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
        };
        server.spawn()?;
        Ok(server)
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    ///
    /// ```
    /// # let server = consumer_broker::LocalServer::start()?;
    /// assert_eq!(server.url(), format!("nats://127.0.0.1:{}", server.port()));
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The port the server picked.
    ///
    /// ```
    /// # let server = consumer_broker::LocalServer::start()?;
    /// assert!(server.port() > 0);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory of the server's store.
    ///
    /// ```
    /// # let server = consumer_broker::LocalServer::start()?;
    /// assert!(server.store_dir().is_dir());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn store_dir(&self) -> &Path {
        &self.dir
    }

    /// Kills the server with SIGKILL (no clean shutdown) and reaps it.
    ///
    /// ```
    /// # let mut server = consumer_broker::LocalServer::start()?;
    /// server.kill();
    /// server.restart()?; // same port, same store
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn kill(&mut self) {
        if let Some((mut child, mut stdin)) = self.child.take() {
            let _ = stdin.write_all(b"keep\n"); // the store outlives the kill
            drop(stdin); // the watchdog's cue: SIGKILL the server, reap it, exit
            let _ = child.wait();
        }
    }

    /// Starts the server again (killing it first if it runs) on the same port and
    /// store: clients reconnect to it and JetStream finds what it had stored.
    ///
    /// # Errors
    ///
    /// As [`start`](LocalServer::start).
    pub fn restart(&mut self) -> Result<(), Error> {
        self.kill();
        self.spawn()
    }

    fn spawn(&mut self) -> Result<(), Error> {
        let program = nats_server().ok_or_else(|| {
            Error::new(
                ErrorKind::Io,
                format!("nats-server is not installed; install it with: {INSTALL_HINT}"),
            )
        })?;
        let port = if self.port == 0 {
            "-1".to_owned()
        } else {
            self.port.to_string()
        };
        // The server runs under a small shell that kills it when our end of its stdin
        // closes: on `kill`, on drop, and when this process dies without either
        // (`exit` on a closed stdout, a signal), so no server outlives us.
        let mut child = Command::new("sh")
            .args(["-c", WATCHDOG])
            .env("STORE", &self.dir)
            .arg(&program)
            .args(["-js", "-a", "127.0.0.1", "-p", &port, "-sd"])
            .arg(self.dir.join("store"))
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| io_error(&format!("cannot start {}", program.display()), e))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let stdin = child.stdin.take().expect("stdin is piped");
        self.child = Some((child, stdin));
        let (lines, seen) = mpsc::channel();
        std::thread::Builder::new()
            .name("nats-server-log".into())
            .spawn(move || {
                // Read every line, so the server never blocks on a full pipe.
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let _ = lines.send(line);
                }
            })
            .map_err(|e| io_error("cannot start the log reader", e))?;
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut log = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match seen.recv_timeout(left) {
                Ok(line) => {
                    if let Some(at) = line.split("Listening for client connections on ").nth(1) {
                        self.port = at
                            .trim()
                            .rsplit(':')
                            .next()
                            .and_then(|p| p.parse().ok())
                            .unwrap_or(0);
                    }
                    if line.contains("Server is ready") && self.port != 0 {
                        return Ok(());
                    }
                    log.push(line);
                }
                Err(_) => {
                    self.kill();
                    let tail = log
                        .iter()
                        .rev()
                        .take(5)
                        .rev()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("\n");
                    return Err(Error::new(
                        ErrorKind::Io,
                        format!(
                            "nats-server did not become ready within {READY_TIMEOUT:?}; its last lines:\n{tail}"
                        ),
                    ));
                }
            }
        }
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where `nats-server` is, if anywhere: `$CONSUMER_NATS_SERVER`, else the `PATH`,
/// else `/usr/sbin` and `/usr/local/bin`. The countdown asks before it offers the
/// broker runner.
///
/// ```
/// match consumer_broker::nats_server() {
///     Some(path) => println!("using {}", path.display()),
///     None => println!("install it: {}", consumer_broker::INSTALL_HINT),
/// }
/// ```
pub fn nats_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CONSUMER_NATS_SERVER") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/bin")])
        .map(|dir| dir.join("nats-server"))
        .find(|p| p.is_file())
}

fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{what}: {e}"))
}
