//! Child processes: a consumer in a child, fed over its stdin; and the child's side.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consumer::{Consumer, Error, ErrorKind};
use rustix::event::PollFlags;
use serde::de::DeserializeOwned;

use consumer_wire::{Bincode, Codec, Decoder, Heard};

use crate::io::{hear, io_error};
use crate::receiver::Receiver;
use crate::sender::{Peer, Sender, SharedSender};
use crate::watch::{WATCH_EVERY, Watch, exit_error, lock, waitid_error};

/// How long a dropped [`Coprocess`] waits for its child to finish before killing it
/// with `SIGKILL`; see [`grace`](Coprocess::grace).
///
/// ```
/// assert_eq!(consumer_process::DEFAULT_GRACE, std::time::Duration::from_secs(2));
/// ```
pub const DEFAULT_GRACE: Duration = Duration::from_secs(2);

/// A consumer running in a child process, fed over the child's stdin: the handle is
/// a [`Sender`] whose far end is the child.
///
/// [`spawn`](Coprocess::spawn) starts a command with a socket pair as its stdin (its
/// stdout and stderr stay its own, so whatever it prints appears where the parent's
/// output goes). The child runs [`serve_stdin`] — or anything that speaks the wire
/// format — and reports its outcome back over the same socket.
///
/// - `send` errors promptly once the child is gone: the sender looks at the child
///   before every write and while a write waits, so a grandchild still holding the
///   socket cannot make it hang. The error says how the child ended
///   ([`Exit`](ErrorKind::Exit): status or signal) or, when the child reported
///   first, what its consumer said.
/// - `close` sends the end of the stream, waits for the child's report and for the
///   child itself, and returns the real outcome: the far consumer's error or panic,
///   else a non-zero exit or a signal as an [`Exit`](ErrorKind::Exit) error, else
///   `Ok`. It waits as long as the child takes.
/// - Dropping the handle closes it the same way but waits at most the grace period
///   ([`DEFAULT_GRACE`], see [`grace`](Coprocess::grace)), then kills the child with
///   `SIGKILL`. Either way the child is reaped: no zombies.
///
/// # Examples
///
/// A program that runs one of its own consumers in a copy of itself:
///
/// ```no_run
/// use consumer::Consumer;
/// use consumer_process::{Coprocess, serve_stdin};
///
/// fn main() -> Result<(), Box<dyn std::error::Error>> {
///     if std::env::args().any(|a| a == "--coprocess") {
///         serve_stdin::<u32, _>(consumer::from_fn(|n: u32| println!("T-minus {n}")))?;
///         return Ok(());
///     }
///     let mut child = Coprocess::<u32>::spawn_self(["--coprocess"])?;
///     child.send_all((1..=10).rev())?;
///     child.close()?; // the child's outcome
///     Ok(())
/// }
/// ```
///
/// A `Coprocess` is a [`Sender`]: pin its item type with
/// [`identity`](Sender::identity) before the first send, and the child's
/// [`Receiver::identity`] to the same [`Identity::named`](crate::Identity::named).
pub type Coprocess<T, C = Bincode> = Sender<T, ChildPipe, C>;

impl<T: serde::Deserialize<'static> + 'static> Coprocess<T> {
    /// Starts `cmd` with its stdin connected to the returned handle, encoding with
    /// [`Bincode`]. The command's own stdin setting is replaced.
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the command cannot be started.
    ///
    /// ```no_run
    /// use std::process::Command;
    /// use consumer::Consumer;
    /// use consumer_process::Coprocess;
    ///
    /// let mut cmd = Command::new("my-consumer");
    /// cmd.arg("--serve");
    /// let mut child = Coprocess::<String>::spawn(cmd)?;
    /// child.send("hello".to_owned())?;
    /// child.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn(cmd: Command) -> Result<Coprocess<T>, Error> {
        Coprocess::spawn_with_codec(cmd, Bincode)
    }

    /// Starts `cmd`, which must open the named FIFO at `fifo` for reading (with
    /// [`serve_fifo`], say), and feeds it through the FIFO, encoding with
    /// [`Bincode`]. Create the FIFO first with [`make_fifo`], in a directory only you
    /// can enter.
    ///
    /// A FIFO is one-way: the child cannot report back, so `close` returns the
    /// child's exit status only, and a failure of its consumer shows as a broken
    /// pipe or a non-zero exit. Opening waits for the child to open its end, and
    /// fails if the child ends first. A dead child fails the next send, as with
    /// [`spawn`](Coprocess::spawn).
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the command cannot start or the FIFO cannot be
    /// opened; [`Exit`](ErrorKind::Exit) when the child ends before opening it.
    ///
    /// ```no_run
    /// use std::process::Command;
    /// use consumer::Consumer;
    /// use consumer_process::{Coprocess, make_fifo};
    ///
    /// let path = std::path::Path::new("/run/user/1000/app/items");
    /// make_fifo(path)?;
    /// let mut cmd = Command::new("my-consumer");
    /// cmd.arg(path);
    /// let mut child = Coprocess::<u32>::spawn_fifo(cmd, path)?;
    /// child.send(1)?;
    /// child.close()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn_fifo(cmd: Command, fifo: &std::path::Path) -> Result<Coprocess<T>, Error> {
        Coprocess::spawn_fifo_with_codec(cmd, fifo, Bincode)
    }

    /// Starts this very program again with `args`: the coprocess runs one of the
    /// program's own consumers, like Python multiprocessing's "spawn" start method.
    ///
    /// Check the role first: a program that calls `spawn_self` before looking for its
    /// role flag starts a child that does the same, without end. `spawn_self` refuses
    /// that — in a process that `spawn_self` started with these same arguments, and
    /// eight generations deep whatever the arguments — so the mistake ends in the
    /// first grandchild with a [`Usage`](ErrorKind::Usage) error naming the fix. (A
    /// child that really means to start its own copy passes a different argument.)
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the program's path is unknown or it cannot start;
    /// [`Usage`](ErrorKind::Usage) when it would re-spawn itself without end.
    ///
    /// ```no_run
    /// let child = consumer_process::Coprocess::<u32>::spawn_self(["--coprocess"])?;
    /// println!("child {:?}", child.pid());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn spawn_self<I, S>(args: I) -> Result<Coprocess<T>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Coprocess::spawn(this_program(args)?)
    }
}

/// This very program, to be run again with `args`, refused when that would re-spawn
/// without end (see [`SPAWNED_SELF`]).
pub(crate) fn this_program<I, S>(args: I) -> Result<Command, Error>
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let exe =
        std::env::current_exe().map_err(|e| io_error("finding this program to re-run it", e))?;
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().into()).collect();
    let print = fingerprint(&exe, &args);
    let depth = match std::env::var(SPAWNED_SELF) {
        Ok(v) => {
            let (depth, parent_print) = v.split_once(' ').unwrap_or((&v, ""));
            if parent_print == format!("{print:016x}") {
                return Err(runaway(format!(
                    "this process was itself started by spawn_self with the same arguments \
                     {args:?}, so its child would do the same, without end"
                )));
            }
            depth.parse::<u32>().unwrap_or(0)
        }
        Err(_) => 0,
    };
    if depth >= MAX_SPAWN_SELF_DEPTH {
        return Err(runaway(format!(
            "{depth} generations of this program have already started each other"
        )));
    }
    let mut cmd = Command::new(exe);
    cmd.args(&args)
        .env(SPAWNED_SELF, format!("{} {print:016x}", depth + 1));
    Ok(cmd)
}

/// The environment variable `spawn_self` sets on its child: `DEPTH FINGERPRINT`, how
/// many `spawn_self` generations lead to it and a hash of the program and arguments
/// it was started with. A process that calls `spawn_self` with the very program and
/// arguments it was started with has not checked its role (`--coprocess`) first: its
/// child would do the same, without end. That call, and any at depth
/// [`MAX_SPAWN_SELF_DEPTH`], fail with [`ErrorKind::Usage`] instead.
const SPAWNED_SELF: &str = "CONSUMER_PROCESS_SPAWNED_SELF";

/// How many generations of `spawn_self` may stack up, whatever their arguments.
const MAX_SPAWN_SELF_DEPTH: u32 = 8;

fn runaway(why: String) -> Error {
    Error::new(
        ErrorKind::Usage,
        format!(
            "spawn_self refused: {why}; check the role flag (say `--coprocess`) before \
             calling spawn_self, and serve stdin when it is set"
        ),
    )
}

/// FNV-1a over the program's path and each argument (each ended by a 0 byte, which
/// neither can contain): stable across runs and builds, unlike std's hasher.
fn fingerprint(exe: &std::path::Path, args: &[std::ffi::OsString]) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let parts = std::iter::once(exe.as_os_str()).chain(args.iter().map(|a| a.as_os_str()));
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in parts.flat_map(|p| p.as_bytes().iter().copied().chain([0])) {
        h = (h ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl<T: serde::Deserialize<'static> + 'static, C: Codec> Sender<T, ChildPipe, C> {
    /// Like [`spawn`](Coprocess::spawn), with another codec.
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the command cannot be started.
    ///
    /// ```no_run
    /// use consumer_process::{Coprocess, Postcard};
    ///
    /// let cmd = std::process::Command::new("my-consumer");
    /// let child: Coprocess<u32, Postcard> = Coprocess::spawn_with_codec(cmd, Postcard)?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn spawn_with_codec(cmd: Command, codec: C) -> Result<Self, Error> {
        let (pipe, reader, mut peer) = SocketChild::start(cmd, false)?.split();
        peer.back = Some((reader, Decoder::for_reports()));
        Ok(Sender::with_codec(pipe, codec).with_peer(Box::new(peer)))
    }

    /// Like [`spawn_fifo`](Coprocess::spawn_fifo), with another codec.
    ///
    /// A FIFO is one-way: the child cannot report back, so `close` returns the
    /// child's exit status only, and a failure of its consumer shows as a broken
    /// pipe or a non-zero exit. Opening waits for the child to open its end, and
    /// fails if the child ends first.
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the command cannot start or the FIFO cannot be
    /// opened; [`Exit`](ErrorKind::Exit) when the child ends before opening it.
    ///
    /// ```no_run
    /// use consumer_process::{Coprocess, Postcard};
    ///
    /// let path = std::path::Path::new("/run/user/1000/app/items");
    /// let cmd = std::process::Command::new("my-consumer");
    /// let child: Coprocess<u32, Postcard> = Coprocess::spawn_fifo_with_codec(cmd, path, Postcard)?;
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn spawn_fifo_with_codec(
        cmd: Command,
        fifo: &std::path::Path,
        codec: C,
    ) -> Result<Self, Error> {
        let (mut child, watch, span) = start(cmd)?;
        let opened = loop {
            use rustix::fs::{Mode, OFlags};
            let flags = OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
            match rustix::fs::open(fifo, flags, Mode::empty()) {
                Ok(fd) => break Ok(fd),
                // No reader yet: is the child still on its way?
                Err(rustix::io::Errno::NXIO) => {}
                Err(e) => break Err(io("opening the FIFO")(e.into())),
            }
            if let Some(status) = watch.ended() {
                break Err(waitid_error(watch.pid(), &status));
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let fd = match opened {
            Ok(fd) => fd,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        let peer = ChildPeer {
            back: None,
            child: Some(child),
            watch: Arc::clone(&watch),
            span,
        };
        let pipe = ChildPipe {
            fd: File::from(fd),
            watch,
            duplex: false,
        };
        Ok(Sender::with_codec(pipe, codec).with_peer(Box::new(peer)))
    }

    /// How long dropping this handle waits for the child before killing it (default
    /// [`DEFAULT_GRACE`]). `close` itself waits as long as the child takes.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use consumer_process::Coprocess;
    ///
    /// let child = Coprocess::<u32>::spawn_self(["--coprocess"])?
    ///     .grace(Duration::from_millis(500));
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn grace(self, grace: Duration) -> Self {
        self.with_writer(|pipe| *lock(&pipe.watch.grace) = grace);
        self
    }
}

impl<T, C: Codec> Sender<T, ChildPipe, C> {
    /// The child's process id; `None` once the handle is closed.
    ///
    /// ```no_run
    /// let child = consumer_process::Coprocess::<u32>::spawn_self(["--coprocess"])?;
    /// println!("serving in {:?}", child.pid());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn pid(&self) -> Option<u32> {
        self.peer_pid()
    }
}

impl<T, C: Codec> SharedSender<T, ChildPipe, C> {
    /// The child's process id; `None` once the handle is closed.
    ///
    /// ```no_run
    /// let child = consumer_process::Coprocess::<u32>::spawn_self(["--coprocess"])?.shared();
    /// println!("serving in {:?}", child.pid());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn pid(&self) -> Option<u32> {
        self.lock().pid()
    }
}

fn io(what: &'static str) -> impl Fn(io::Error) -> Error {
    move |e| io_error(what, e)
}

/// Starts the child and what watches it.
fn start(mut cmd: Command) -> Result<(Child, Arc<Watch>, tracing::Span), Error> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let child = cmd.spawn().map_err(io("starting the child"))?;
    // Our copies of the child's ends of pipes go with the command: from here on,
    // only the child (and whoever it shares them with) holds them.
    drop(cmd);
    let watch = Watch::start(&child, DEFAULT_GRACE);
    let span = tracing::info_span!(
        "process",
        runner = "process",
        consumer = %program,
        pid = child.id(),
    );
    span.in_scope(|| tracing::debug!("child started"));
    Ok((child, watch, span))
}

/// A child started with one end of a socket pair as its stdin, and the parent's
/// views of the other end: a watched writer, a watched reader.
pub(crate) struct SocketChild {
    pub(crate) pipe: ChildPipe,
    pub(crate) reader: ChildReader,
    pub(crate) child: Child,
    pub(crate) watch: Arc<Watch>,
    pub(crate) span: tracing::Span,
}

impl SocketChild {
    /// The parent's ends: the pipe to write to, the socket's reading half, and the
    /// child's supervision (with no report channel: set `back` for one).
    pub(crate) fn split(self) -> (ChildPipe, ChildReader, ChildPeer) {
        let peer = ChildPeer {
            back: None,
            child: Some(self.child),
            watch: self.watch,
            span: self.span,
        };
        (self.pipe, self.reader, peer)
    }

    /// Starts `cmd` on a socket pair. `duplex`: the child writes a stream of its
    /// own back (replies), so readable data on the socket is not an early report.
    pub(crate) fn start(mut cmd: Command, duplex: bool) -> Result<SocketChild, Error> {
        let (ours, theirs) = UnixStream::pair().map_err(io("creating the child's socket"))?;
        cmd.stdin(Stdio::from(OwnedFd::from(theirs)));
        let (child, watch, span) = start(cmd)?;
        ours.set_nonblocking(true)
            .map_err(io("setting up the child's socket"))?;
        let back = ours
            .try_clone()
            .map_err(io("setting up the child's socket"))?;
        Ok(SocketChild {
            pipe: ChildPipe {
                fd: File::from(OwnedFd::from(ours)),
                watch: Arc::clone(&watch),
                duplex,
            },
            reader: ChildReader {
                sock: back,
                watch: Arc::clone(&watch),
            },
            child,
            watch,
            span,
        })
    }
}

/// The parent's end of a child's stdin: a non-blocking Unix socket whose writes
/// watch the child.
///
/// Before each write, and while a write waits for room, it looks whether the child
/// has ended, and whether the child has sent its report early (its consumer failed):
/// either makes the write fail at once with `BrokenPipe`. The look before a write
/// reads a flag that a watcher thread raises when the child exits (no syscall per
/// write; see `watch.rs`).
pub struct ChildPipe {
    /// A socket (stdin) or a FIFO, in non-blocking mode.
    fd: File,
    watch: Arc<Watch>,
    /// The child answers on the same socket (a service): incoming bytes are its
    /// replies, not an early report.
    duplex: bool,
}

impl ChildPipe {
    /// The child's process id.
    ///
    /// ```no_run
    /// let child = consumer_process::Coprocess::<u8>::spawn_self(["--coprocess"])?;
    /// println!("serving in {:?}", child.pid());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn pid(&self) -> u32 {
        self.watch.pid()
    }
}

fn broken(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, why.to_owned())
}

impl Write for ChildPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.watched(|mut fd| fd.write(buf))
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.watched(|mut fd| fd.write_vectored(bufs))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ChildPipe {
    /// One write, watching the child: fails with `BrokenPipe` when the child has
    /// ended or reported early, and waits (without hanging on a dead child) while
    /// there is no room.
    fn watched(&self, mut write: impl FnMut(&File) -> io::Result<usize>) -> io::Result<usize> {
        if self.watch.has_ended() {
            return Err(broken("the child has ended"));
        }
        loop {
            match write(&self.fd) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
            let events = if self.duplex {
                PollFlags::OUT
            } else {
                PollFlags::OUT | PollFlags::IN
            };
            let ready = self.watch.wait_for(&self.fd, events)?;
            if ready.contains(PollFlags::IN) {
                return Err(broken("the child reported before the stream ended"));
            }
            if self.watch.ended().is_some() {
                return Err(broken("the child has ended"));
            }
        }
    }
}

impl fmt::Debug for ChildPipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildPipe")
            .field("pid", &self.pid())
            .finish()
    }
}

/// Reads what the child sends back (its report, or a service's replies); the end of
/// the child is the end of the stream, even when a grandchild still holds the
/// socket.
pub(crate) struct ChildReader {
    sock: UnixStream,
    watch: Arc<Watch>,
}

impl ChildReader {
    /// A second handle on the child's socket, to shut it down from outside.
    pub(crate) fn shutter(&self) -> Result<UnixStream, Error> {
        self.sock
            .try_clone()
            .map_err(io("setting up the child's socket"))
    }
}

impl Read for ChildReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match (&self.sock).read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => return other,
            }
            if self.watch.gone() {
                // Whatever the child wrote before it ended is readable by now.
                return match (&self.sock).read(buf) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(0),
                    other => other,
                };
            }
            self.watch.wait_for(&self.sock, PollFlags::IN)?;
        }
    }
}

/// The child behind a [`Coprocess`]: its report, its exit, its reaping.
pub(crate) struct ChildPeer {
    pub(crate) back: Option<(ChildReader, Decoder)>,
    pub(crate) child: Option<Child>,
    pub(crate) watch: Arc<Watch>,
    pub(crate) span: tracing::Span,
}

impl ChildPeer {
    /// What watches the child.
    pub(crate) fn watch(&self) -> Arc<Watch> {
        Arc::clone(&self.watch)
    }

    /// Waits for the child (killing it past the drop deadline, if one is set) and
    /// reaps it.
    fn reap(&mut self) -> Option<io::Result<ExitStatus>> {
        let mut child = self.child.take()?;
        let reaped = self.wait(&mut child);
        if let Ok(status) = &reaped {
            *lock(&self.watch.reaped) = Some(*status);
        }
        Some(reaped)
    }

    fn wait(&self, child: &mut Child) -> io::Result<ExitStatus> {
        if lock(&self.watch.deadline).is_none() {
            return child.wait();
        }
        let mut nap = Duration::from_millis(1);
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status);
            }
            // `ended` kills the child once the deadline has passed.
            if self.watch.ended().is_none() {
                std::thread::sleep(nap);
                nap = (nap * 2).min(WATCH_EVERY);
            }
        }
    }
}

impl Peer for ChildPeer {
    fn reports(&self) -> bool {
        self.back.is_some()
    }

    fn report(&mut self) -> Heard {
        match self.back.as_mut() {
            Some((reader, dec)) => hear(dec, reader),
            None => Heard::Nothing,
        }
    }

    fn gone(&mut self) -> Option<Error> {
        // The socket broke; the child is ending or has ended. Give it a moment to
        // finish dying, so the error can say how it ended.
        let until = Instant::now() + Duration::from_millis(200);
        loop {
            if let Some(status) = self.watch.ended() {
                let e = waitid_error(self.watch.pid(), &status);
                self.span
                    .in_scope(|| tracing::debug!(error = %e, "child gone"));
                return Some(e);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn finish(&mut self, outcome: Result<(), Error>) -> Result<(), Error> {
        drop(self.back.take());
        let span = self.span.clone();
        let _entered = span.enter();
        let status = match self.reap() {
            None => return outcome,
            Some(Ok(status)) => status,
            Some(Err(e)) => {
                return outcome.and(Err(io_error("waiting for the child", e)));
            }
        };
        tracing::debug!(%status, "child reaped");
        // The far consumer's own outcome says most; else the exit status.
        match (outcome, exit_error(self.watch.pid(), status)) {
            (Err(e), _) if e.kind() != ErrorKind::Disconnected => Err(e),
            (_, Some(exit)) => Err(exit),
            (outcome, None) => outcome,
        }
    }

    fn pid(&self) -> Option<u32> {
        Some(self.watch.pid())
    }

    fn dropping(&mut self) {
        let grace = *lock(&self.watch.grace);
        *lock(&self.watch.deadline) = Some(Instant::now() + grace);
    }
}

impl Drop for ChildPeer {
    fn drop(&mut self) {
        // Normally `finish` has reaped the child; this is the safety net.
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Creates a named FIFO at `path`, readable and writable by the owner only.
///
/// # Errors
///
/// [`Io`](ErrorKind::Io), e.g. when `path` exists.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("fifo-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// consumer_process::make_fifo(&dir.join("items"))?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn make_fifo(path: &std::path::Path) -> Result<(), Error> {
    use rustix::fs::{CWD, Mode};
    rustix::fs::mkfifoat(CWD, path, Mode::RUSR | Mode::WUSR)
        .map_err(|e| io("creating the FIFO")(e.into()))
}

/// The child's side of [`Coprocess::spawn_fifo`]: opens the FIFO at `path` for
/// reading (waiting for the writer), serves its items to `consumer` and closes it.
///
/// # Errors
///
/// Those of [`Receiver::run`], and [`Io`](ErrorKind::Io) when the FIFO cannot be
/// opened.
///
/// ```no_run
/// let path = std::path::Path::new("/run/user/1000/app/items");
/// consumer_process::serve_fifo::<u32, _>(path, consumer::from_fn(|n: u32| println!("{n}")))?;
/// # Ok::<(), consumer::Error>(())
/// ```
pub fn serve_fifo<T, K>(path: &std::path::Path, consumer: K) -> Result<u64, Error>
where
    T: DeserializeOwned + 'static,
    K: Consumer<T>,
{
    let fifo = File::open(path).map_err(io("opening the FIFO"))?;
    Receiver::new(fifo).run(consumer)
}

/// A socket stdin whose reading half is shut when the receiver lets go of it, so the
/// parent's writes fail at once instead of filling the socket.
pub(crate) struct ShutOnDrop(pub(crate) UnixStream);

impl Read for ShutOnDrop {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }

    fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        self.0.read_vectored(bufs)
    }
}

impl Drop for ShutOnDrop {
    fn drop(&mut self) {
        let _ = self.0.shutdown(std::net::Shutdown::Read);
    }
}

/// The child's side of a [`Coprocess`]: serves the items arriving on stdin to
/// `consumer`, closes it at the end, and reports the outcome back to the parent.
///
/// Returns how many items were delivered. When stdin is a socket (as a [`Coprocess`]
/// sets it up) the outcome goes back over it; when it is a pipe or a file (`prog
/// --coprocess < items.bin`), there is no one to tell and only the return value says.
/// Whatever the consumer prints goes to the process's own stdout.
///
/// # Errors
///
/// Those of [`Receiver::run`].
///
/// # Examples
///
/// ```no_run
/// let n = consumer_process::serve_stdin::<u32, _>(consumer::from_fn(|n: u32| println!("{n}")))?;
/// eprintln!("{n} items");
/// # Ok::<(), consumer::Error>(())
/// ```
pub fn serve_stdin<T, K>(consumer: K) -> Result<u64, Error>
where
    T: DeserializeOwned + 'static,
    K: Consumer<T>,
{
    serve_stdin_with_codec(consumer, Bincode)
}

/// Like [`serve_stdin`], with another codec.
///
/// # Errors
///
/// Those of [`Receiver::run`].
///
/// ```no_run
/// use consumer_process::{Postcard, serve_stdin_with_codec};
///
/// serve_stdin_with_codec::<u32, _, _>(consumer::from_fn(|n: u32| println!("{n}")), Postcard)?;
/// # Ok::<(), consumer::Error>(())
/// ```
pub fn serve_stdin_with_codec<T, K, C>(consumer: K, codec: C) -> Result<u64, Error>
where
    T: DeserializeOwned + 'static,
    K: Consumer<T>,
    C: Codec,
{
    let io = io("taking stdin");
    let fd = io::stdin().as_fd().try_clone_to_owned().map_err(&io)?;
    let is_socket = rustix::fs::fstat(&fd).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket
    });
    if is_socket {
        let sock = UnixStream::from(fd);
        let back = sock.try_clone().map_err(&io)?;
        Receiver::with_codec(ShutOnDrop(sock), codec)
            .report_to(back)
            .run(consumer)
    } else {
        Receiver::with_codec(File::from(fd), codec).run(consumer)
    }
}
