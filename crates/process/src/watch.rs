//! Watching a child without reaping it: whether it has ended and how, the drop
//! deadline past which it is killed, and an exit watcher that makes "has it ended?"
//! free to ask before every write.
//!
//! The exit watcher is a small thread per child (`consumer-process-watch`, 64 KiB of
//! stack) blocked in `poll` on the child's pidfd: when the child exits it raises a
//! flag, and the parent's writes read the flag instead of asking the kernel
//! (`waitid`, about 170 ns here: 7 % of a lone item's round trip). Where there is
//! no pidfd (Linux before 5.3) or no thread, every look is a `waitid`, as before.
//! The thread ends when the child exits, whoever reaps it.

use std::io;
use std::os::fd::AsFd;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consumer::{Error, ErrorKind};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::{Pid, Signal, WaitIdOptions, WaitIdStatus};

/// While blocked on the child's socket, how often to look whether the child is still
/// alive. Only matters when a grandchild keeps the socket open after the child died.
pub(crate) const WATCH_EVERY: Duration = Duration::from_millis(10);

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the parent knows about a child without reaping it.
#[derive(Debug)]
pub(crate) struct Watch {
    pid: Pid,
    /// Set when the handle is dropped: past it, the child is killed.
    pub(crate) deadline: Mutex<Option<Instant>>,
    pub(crate) grace: Mutex<Duration>,
    killed: AtomicBool,
    /// How the child ended, once it has been reaped (`waitid` no longer knows it).
    pub(crate) reaped: Mutex<Option<ExitStatus>>,
    /// What the exit watcher knows: [`WATCHING`], [`EXITED`] or [`UNWATCHED`].
    exit: Arc<AtomicU8>,
}

/// The exit watcher waits on the child's pidfd; the child runs.
const WATCHING: u8 = 0;
/// The child has exited (it may not be reaped yet).
const EXITED: u8 = 1;
/// No exit watcher (no pidfd, or no thread): look with `waitid`.
const UNWATCHED: u8 = 2;

impl Watch {
    /// Starts watching `child` (not yet reaped) with a drop grace period of `grace`.
    pub(crate) fn start(child: &Child, grace: Duration) -> Arc<Watch> {
        let pid = Pid::from_child(child);
        Arc::new(Watch {
            pid,
            deadline: Mutex::new(None),
            grace: Mutex::new(grace),
            killed: AtomicBool::new(false),
            reaped: Mutex::new(None),
            exit: watch_exit(pid),
        })
    }

    /// Whether the child has exited, as cheaply as it can be known: while the exit
    /// watcher runs, its flag (no syscall: this is asked before every write); else
    /// a look with `waitid`.
    pub(crate) fn has_ended(&self) -> bool {
        match self.exit.load(Ordering::Acquire) {
            WATCHING => false,
            EXITED => true,
            _ => self.gone(),
        }
    }

    /// Has the child ended? Looks without reaping (`waitid` with `WNOWAIT`), and
    /// kills the child once the drop deadline has passed.
    pub(crate) fn ended(&self) -> Option<WaitIdStatus> {
        let flags = WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT;
        if let Ok(Some(status)) =
            rustix::process::waitid(rustix::process::WaitId::Pid(self.pid), flags)
        {
            return Some(status);
        }
        let due = lock(&self.deadline).is_some_and(|d| Instant::now() >= d);
        if due && !self.killed.swap(true, Ordering::Relaxed) {
            tracing::debug!(
                pid = self.pid.as_raw_nonzero().get(),
                "grace period over; killing the child"
            );
            let _ = rustix::process::kill_process(self.pid, Signal::KILL);
        }
        None
    }

    /// Waits until `fd` is ready for `events` or a slice of time passed.
    pub(crate) fn wait_for(&self, fd: &impl AsFd, events: PollFlags) -> io::Result<PollFlags> {
        let mut fds = [PollFd::new(fd, events)];
        let slice = Timespec::try_from(WATCH_EVERY).expect("a small duration");
        match rustix::event::poll(&mut fds, Some(&slice)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => Ok(fds[0].revents()),
            Err(e) => Err(e.into()),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid.as_raw_nonzero().get().unsigned_abs()
    }

    /// [`ended_error`](Watch::ended_error), giving a child whose stream broke a
    /// moment (at most `patience`) to finish dying, so the error can say how it ended.
    pub(crate) fn ended_error_within(&self, patience: Duration) -> Option<Error> {
        let until = Instant::now() + patience;
        loop {
            let ended = self.ended_error();
            if ended.is_some() || Instant::now() >= until {
                return ended;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Has the child ended, reaped or not? (The reaped check comes first: after it,
    /// the pid may be reused.)
    pub(crate) fn gone(&self) -> bool {
        lock(&self.reaped).is_some() || self.ended().is_some()
    }

    /// How the child ended, as an error (a clean exit is
    /// [`Disconnected`](ErrorKind::Disconnected): it left before its stream ended);
    /// `None` while it runs.
    pub(crate) fn ended_error(&self) -> Option<Error> {
        // Once reaped, the pid is no longer ours to ask about: it may be reused.
        if let Some(status) = *lock(&self.reaped) {
            return Some(exit_error(self.pid(), status).unwrap_or_else(|| {
                Error::new(
                    ErrorKind::Disconnected,
                    format!("child {} exited (status 0)", self.pid()),
                )
            }));
        }
        self.ended().map(|status| waitid_error(self.pid(), &status))
    }
}

/// How a child ended, as an error: `None` for success.
pub(crate) fn exit_error(pid: u32, status: ExitStatus) -> Option<Error> {
    use std::os::unix::process::ExitStatusExt;
    if status.success() {
        return None;
    }
    let message = match (status.code(), status.signal()) {
        (Some(code), _) => format!("child {pid} exited with status {code}"),
        (None, Some(sig)) => format!("child {pid} was killed by signal {sig}{}", signal_name(sig)),
        (None, None) => format!("child {pid} ended: {status}"),
    };
    Some(Error::new(ErrorKind::Exit, message))
}

pub(crate) fn waitid_error(pid: u32, status: &WaitIdStatus) -> Error {
    match (status.exit_status(), status.terminating_signal()) {
        (Some(0), _) => Error::new(
            ErrorKind::Disconnected,
            format!("child {pid} exited (status 0) before the stream ended"),
        ),
        (Some(code), _) => Error::new(
            ErrorKind::Exit,
            format!("child {pid} exited with status {code}"),
        ),
        (None, Some(sig)) => Error::new(
            ErrorKind::Exit,
            format!("child {pid} was killed by signal {sig}{}", signal_name(sig)),
        ),
        (None, None) => Error::new(ErrorKind::Exit, format!("child {pid} ended")),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => " (SIGHUP)",
        2 => " (SIGINT)",
        3 => " (SIGQUIT)",
        4 => " (SIGILL)",
        6 => " (SIGABRT)",
        7 => " (SIGBUS)",
        8 => " (SIGFPE)",
        9 => " (SIGKILL)",
        11 => " (SIGSEGV)",
        13 => " (SIGPIPE)",
        15 => " (SIGTERM)",
        _ => "",
    }
}

/// Starts the exit watcher for `pid`: the flag it will raise, [`UNWATCHED`] if it
/// could not start.
fn watch_exit(pid: Pid) -> Arc<AtomicU8> {
    let exit = Arc::new(AtomicU8::new(WATCHING));
    let Ok(fd) = pidfd(pid) else {
        exit.store(UNWATCHED, Ordering::Relaxed);
        return exit;
    };
    let flag = Arc::clone(&exit);
    let spawned = std::thread::Builder::new()
        .name("consumer-process-watch".to_owned())
        .stack_size(64 << 10)
        .spawn(move || {
            let mut fds = [PollFd::new(&fd, PollFlags::IN)];
            let seen = loop {
                match rustix::event::poll(&mut fds, None) {
                    Ok(_) if fds[0].revents().intersects(PollFlags::IN | PollFlags::HUP) => {
                        break EXITED;
                    }
                    Ok(0) | Err(rustix::io::Errno::INTR) => {}
                    // Cannot wait here (an error, or an event that is not the
                    // exit): the writes look for themselves.
                    Ok(_) | Err(_) => break UNWATCHED,
                }
            };
            flag.store(seen, Ordering::Release);
        });
    if spawned.is_err() {
        exit.store(UNWATCHED, Ordering::Relaxed);
    }
    exit
}

/// The child's pidfd (Linux 5.3 and later).
#[cfg(target_os = "linux")]
fn pidfd(pid: Pid) -> io::Result<std::os::fd::OwnedFd> {
    Ok(rustix::process::pidfd_open(
        pid,
        rustix::process::PidfdFlags::empty(),
    )?)
}

/// No pidfds here: every look is a `waitid`.
#[cfg(not(target_os = "linux"))]
fn pidfd(_: Pid) -> io::Result<std::os::fd::OwnedFd> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use std::process::{Command, Stdio};

    use super::*;

    /// Waits (bounded) until the watcher has seen the child's exit.
    fn seen_exit(watch: &Watch) -> bool {
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            if watch.exit.load(Ordering::Acquire) == EXITED {
                return true;
            }
            std::thread::yield_now();
        }
        false
    }

    #[test]
    fn the_exit_watcher_raises_its_flag_when_the_child_exits() {
        // `cat` runs until its stdin closes.
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
        let watch = Watch::start(&child, Duration::from_secs(1));
        assert_eq!(
            watch.exit.load(Ordering::Acquire),
            WATCHING,
            "pidfds work here"
        );
        assert!(!watch.has_ended());
        drop(child.stdin.take());
        assert!(seen_exit(&watch), "the watcher saw the exit");
        assert!(watch.has_ended());
        // Reaping does not confuse it.
        assert!(child.wait().unwrap().success());
        assert!(watch.has_ended());
    }

    #[test]
    fn a_killed_child_is_seen_too() {
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
        let watch = Watch::start(&child, Duration::from_secs(1));
        child.kill().unwrap();
        assert!(seen_exit(&watch));
        let e = watch.ended_error().expect("it ended");
        assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
        child.wait().unwrap();
    }
}
