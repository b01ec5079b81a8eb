//! A service in a supervised child: [`Remote::spawn`] on this side,
//! [`serve_stdin_requests`] on the child's.
//!
//! The plumbing is the two halves already there: the child is started and watched
//! as a [`Coprocess`](crate::Coprocess) is (socket-pair stdin, `waitid`, kill after
//! the grace period on drop, always reaped), and the calls travel as a [`Remote`]'s
//! do (requests one way, replies the other, on the same socket).

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

use consumer::{Consumer, Error, ErrorKind, Request};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::child::{ShutOnDrop, SocketChild};
use crate::io::io_error;
use crate::remote::{BoxWrite, Remote, serve_requests};
use crate::sender::Sender;
use crate::watch::lock;

impl<Q, R> Remote<Q, R>
where
    Q: Serialize + serde::Deserialize<'static> + Send + 'static,
    R: DeserializeOwned + Send + 'static,
{
    /// Starts `cmd` as a service: the child serves its stdin with
    /// [`serve_stdin_requests`], and the returned handle calls it. The command's own
    /// stdin setting is replaced; its stdout and stderr stay its own.
    ///
    /// The child is supervised like a [`Coprocess`](crate::Coprocess):
    ///
    /// - A child that dies fails every waiting call promptly — with
    ///   [`Exit`](ErrorKind::Exit) naming its status or signal, or
    ///   [`Disconnected`](ErrorKind::Disconnected) — and every later send too, the
    ///   request handed back. A grandchild holding the socket does not hide the
    ///   death.
    /// - `close` ends the request stream, waits for the replies still due and for
    ///   the child, reaps it and returns its outcome: a non-zero exit or a signal as
    ///   an [`Exit`](ErrorKind::Exit) error, else `Ok`.
    /// - Dropping the last handle closes the same way but waits at most the grace
    ///   period ([`DEFAULT_GRACE`](crate::DEFAULT_GRACE), see
    ///   [`grace`](Remote::grace)), then kills the child with `SIGKILL`. Either way
    ///   it is reaped: no zombies.
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the command or the reply reader cannot start.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::process::Command;
    /// use consumer::Client;
    /// use consumer_process::Remote;
    ///
    /// let mut cmd = Command::new("my-service");
    /// cmd.arg("--serve");
    /// let mut squares = Client::new(Remote::<u64, u64>::spawn(cmd)?);
    /// assert_eq!(squares.call(12)?, 144);
    /// squares.close()?; // the child's outcome
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn(cmd: Command) -> Result<Remote<Q, R>, Error> {
        let (pipe, reader, peer) = SocketChild::start(cmd, true)?.split();
        let watch = peer.watch();
        // A call's deadline bounds a blocked request write too: at the deadline the
        // socket is shut both ways, the write fails and the child sees its end.
        let shut = reader.shutter()?;
        let requests = Sender::new(Box::new(pipe) as BoxWrite)
            .with_peer(Box::new(peer))
            .shared();
        Ok(Remote::start(reader, requests, Some(watch), None)?
            .shut_with(move || drop(shut.shutdown(std::net::Shutdown::Both))))
    }

    /// Starts this very program again with `args` as a service, like
    /// [`Coprocess::spawn_self`](crate::Coprocess::spawn_self).
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the program's path is unknown or it cannot start.
    ///
    /// ```no_run
    /// use consumer::{Client, serve};
    /// use consumer_process::{Remote, serve_stdin_requests};
    ///
    /// fn main() -> Result<(), Box<dyn std::error::Error>> {
    ///     if std::env::args().any(|a| a == "--service") {
    ///         serve_stdin_requests(serve(|n: u64| n * n))?;
    ///         return Ok(());
    ///     }
    ///     let mut squares = Client::new(Remote::<u64, u64>::spawn_self(["--service"])?);
    ///     assert_eq!(squares.call(12)?, 144);
    ///     squares.close()?;
    ///     Ok(())
    /// }
    /// ```
    pub fn spawn_self<I, S>(args: I) -> Result<Remote<Q, R>, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Remote::spawn(crate::child::this_program(args)?)
    }
}

impl<Q, R> Remote<Q, R> {
    /// The serving child's process id, for a handle made by
    /// [`spawn`](Remote::spawn); `None` for one made [`over`](Remote::over) streams.
    ///
    /// ```no_run
    /// let service = consumer_process::Remote::<u64, u64>::spawn_self(["--service"])?;
    /// println!("serving in {:?}", service.pid());
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn pid(&self) -> Option<u32> {
        self.shared.child.as_ref().map(|w| w.pid())
    }

    /// How long dropping the last handle waits for the serving child before killing
    /// it (default [`DEFAULT_GRACE`](crate::DEFAULT_GRACE)). No effect on a handle
    /// made [`over`](Remote::over) streams.
    ///
    /// ```no_run
    /// use std::time::Duration;
    ///
    /// let service = consumer_process::Remote::<u64, u64>::spawn_self(["--service"])?
    ///     .grace(Duration::from_millis(500));
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn grace(self, grace: Duration) -> Self {
        if let Some(watch) = &self.shared.child {
            *lock(&watch.grace) = grace;
        }
        self
    }
}

/// The child's side of [`Remote::spawn`]: serves the requests arriving on stdin to
/// `service` and sends the replies back over the same socket, as
/// [`serve_requests`] does over two streams. Returns how many requests arrived.
///
/// Whatever the service prints goes to the process's own stdout: the replies never
/// travel there.
///
/// # Errors
///
/// [`Usage`](ErrorKind::Usage) when stdin is not a socket (the process was not
/// started by [`Remote::spawn`]); else those of [`serve_requests`].
///
/// # Examples
///
/// See [`Remote::spawn_self`].
pub fn serve_stdin_requests<Q, R, S>(service: S) -> Result<u64, Error>
where
    Q: DeserializeOwned + 'static,
    R: Serialize + serde::Deserialize<'static> + Send + 'static,
    S: Consumer<Request<Q, R>>,
{
    let io = |e: io::Error| io_error("taking stdin", e);
    let fd = io::stdin().as_fd().try_clone_to_owned().map_err(io)?;
    let is_socket = rustix::fs::fstat(&fd).is_ok_and(|st| {
        rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket
    });
    if !is_socket {
        return Err(Error::new(
            ErrorKind::Usage,
            "serve_stdin_requests needs a socket as stdin (start the process with \
             Remote::spawn): the replies go back over it",
        ));
    }
    let sock = UnixStream::from(fd);
    let back = sock.try_clone().map_err(io)?;
    serve_requests(ShutOnDrop(sock), back, service)
}
