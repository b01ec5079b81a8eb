//! What the examples share: above all the notes' `Countdown`, defined once here and
//! run unchanged by every runner; [`Announced`], which makes a consumer say where it
//! runs; [`say!`], which prints a line and ends the program quietly once nobody
//! reads its output (`countdown | head -3`); and [`init_logging`], which every
//! example calls first: `RUST_LOG` for logs, `--timeline FILE` for a picture.

use std::fmt;
use std::io::{ErrorKind, Write};

use consumer::{Consumer, Error, SendError};

mod logging;
mod progress;

pub use logging::{Logging, init_logging};
pub use progress::Progress;

/// `println!` for a program whose reader may go away: prints the line, and when stdout
/// is a closed pipe ends the process with status 0, as a Unix filter does.
///
/// ```
/// examples::say!("T-minus {}", 3);
/// ```
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::say_line(::std::format_args!($($arg)*))
    };
}

/// What [`say!`] calls: writes `line` and a newline to stdout.
///
/// # Panics
///
/// On a write error other than a closed pipe (as `println!` does).
pub fn say_line(line: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::BrokenPipe => quiet_end(),
        Err(e) => panic!("failed printing to stdout: {e}"),
    }
}

/// Ends the process with status 0: the reader of our output has gone, so there is
/// nobody left to tell anything.
pub fn quiet_end() -> ! {
    std::process::exit(0)
}

/// Is stdout a pipe whose reader has gone? Then an error that followed (a child that
/// ended when its own output broke) is the same quiet end, not a failure to report.
///
/// ```
/// # let _ =
/// examples::stdout_closed();
/// ```
pub fn stdout_closed() -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let out = std::io::stdout();
    let mut fds = [PollFd::new(&out, PollFlags::OUT)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&now)).is_ok() && fds[0].revents().contains(PollFlags::ERR)
}

/// Where this code runs: the process, the thread and, inside a tokio task, the task.
///
/// ```
/// assert!(examples::here().starts_with(&format!("pid {}, thread ", std::process::id())));
/// ```
pub fn here() -> String {
    let thread = std::thread::current();
    let mut s = match thread.name() {
        Some(name) => format!("pid {}, thread {name:?}", std::process::id()),
        None => format!("pid {}, thread {:?}", std::process::id(), thread.id()),
    };
    if let Some(task) = tokio::task::try_id() {
        s.push_str(&format!(", tokio task {task}"));
    }
    s
}

/// The notes' countdown: `send(n)` prints `T-minus n`, `close()` prints `Kaboom!`.
///
/// ```
/// use consumer::Consumer;
/// use examples::Countdown;
///
/// let mut c = Countdown;
/// c.send(3)?; // T-minus 3
/// c.close()?; // Kaboom!
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Countdown;

impl Consumer<u32> for Countdown {
    fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
        say!("T-minus {n}");
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        say!("Kaboom!");
        Ok(())
    }
}

/// A consumer that first prints a header naming where it runs, `== RUNNER: `[`here()`]` ==`
/// (and a note if given), said from inside its first `send` or `close`: from wherever
/// the runner runs it.
///
/// ```
/// use consumer::Consumer;
/// use examples::{Announced, Countdown};
///
/// let mut c = Announced::new("inline", Countdown).note("a doc test");
/// c.send(1)?; // == inline: pid 4242, thread "main", a doc test ==, then T-minus 1
/// c.close()?; // Kaboom!
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Announced<C> {
    runner: String,
    note: Option<String>,
    inner: C,
    announced: bool,
}

impl<C> Announced<C> {
    /// `inner`, announced as run by `runner`.
    pub fn new(runner: impl Into<String>, inner: C) -> Announced<C> {
        Announced {
            runner: runner.into(),
            note: None,
            inner,
            announced: false,
        }
    }

    /// Adds what only the caller knows to the header (the socket it serves on).
    pub fn note(mut self, note: impl Into<String>) -> Announced<C> {
        self.note = Some(note.into());
        self
    }

    fn announce(&mut self) {
        if !self.announced {
            self.announced = true;
            match &self.note {
                Some(note) => say!("== {}: {}, {note} ==", self.runner, here()),
                None => say!("== {}: {} ==", self.runner, here()),
            }
        }
    }
}

impl<T, C: Consumer<T>> Consumer<T> for Announced<C> {
    fn send(&mut self, item: T) -> Result<(), SendError<T>> {
        self.announce();
        self.inner.send(item)
    }

    fn close(&mut self) -> Result<(), Error> {
        self.announce();
        self.inner.close()
    }

    fn name(&self) -> &str {
        self.inner.name()
    }
}

/// The items the countdown demo sends: 10 down to 1.
///
/// ```
/// assert_eq!(examples::countdown_items().collect::<Vec<_>>(), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
/// ```
pub fn countdown_items() -> impl Iterator<Item = u32> {
    (1..=10).rev()
}
