//! A progress line for the examples that run for long: [`Progress`].

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The first line waits this long: a short run never shows one.
const FIRST: Duration = Duration::from_secs(1);
/// At most this often after that.
const EVERY: Duration = Duration::from_millis(250);

/// One progress line on stderr, redrawn in place (`\r`), at most four times a
/// second and only after the first second; cleared when the work is done (dropped).
///
/// Shown only when stderr is a terminal, so logs, pipes and the output checks of
/// `cargo xtask examples` never see it; `PROGRESS=1` shows it anyway (one line per
/// redraw, then), `PROGRESS=0` never. A program that prints between redraws calls
/// [`clear`](Progress::clear) first; one that prints a line per item asks for
/// [`beside_output`](Progress::beside_output) (shown only while stdout goes elsewhere:
/// `countdown --from 1000000 > out.txt`).
///
/// ```
/// use std::time::Duration;
///
/// let mut p = examples::Progress::new("countdown", "items", Some(1_000));
/// p.add(250);
/// assert_eq!(p.line(Duration::from_secs(2)), "countdown: 250 of 1000 items (25 %), 125 items/s");
/// let mut open = examples::Progress::new("replay", "items", None);
/// open.add(3);
/// assert_eq!(open.line(Duration::from_secs(1)), "replay: 3 items, 3 items/s");
/// ```
#[derive(Debug)]
pub struct Progress {
    what: String,
    unit: &'static str,
    total: Option<u64>,
    done: u64,
    started: Instant,
    next: Instant,
    show: Show,
    drawn: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Show {
    Never,
    InPlace,
    Lines,
}

impl Progress {
    /// Progress of `what`, counted in `unit`s, out of `total` when it is known.
    pub fn new(what: impl Into<String>, unit: &'static str, total: Option<u64>) -> Progress {
        let show = match std::env::var("PROGRESS").as_deref() {
            Ok("0") => Show::Never,
            Ok("1") if !std::io::stderr().is_terminal() => Show::Lines,
            _ if std::io::stderr().is_terminal() => Show::InPlace,
            _ => Show::Never,
        };
        let started = Instant::now();
        Progress {
            what: what.into(),
            unit,
            total,
            done: 0,
            started,
            next: started + FIRST,
            show,
            drawn: false,
        }
    }

    /// Shows the line only when stdout is not a terminal too: for programs whose
    /// output is a line per item, which a line redrawn in place would garble.
    ///
    /// ```
    /// let p = examples::Progress::new("countdown", "items", None).beside_output();
    /// # drop(p);
    /// ```
    pub fn beside_output(mut self) -> Progress {
        if self.show == Show::InPlace && std::io::stdout().is_terminal() {
            self.show = Show::Never;
        }
        self
    }

    /// Erases the line drawn in place, before the program prints; the next redraw
    /// comes at its usual time.
    ///
    /// ```
    /// let mut p = examples::Progress::new("speedup", "blocks", Some(10));
    /// p.clear();
    /// examples::say!("a result");
    /// ```
    pub fn clear(&mut self) {
        if self.drawn && self.show == Show::InPlace {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
            self.drawn = false;
        }
    }

    /// Counts `n` more done, and redraws the line when it is time.
    pub fn add(&mut self, n: u64) {
        self.done += n;
        if self.show == Show::Never {
            return;
        }
        let now = Instant::now();
        if now < self.next {
            return;
        }
        self.next = now + EVERY;
        let line = self.line(now - self.started);
        let mut err = std::io::stderr().lock();
        // A progress line that cannot be written is not worth failing the work for.
        let _ = match self.show {
            Show::InPlace => write!(err, "\r\x1b[K{line}"),
            _ => writeln!(err, "{line}"),
        };
        let _ = err.flush();
        self.drawn = true;
    }

    /// The line as it reads after `elapsed`.
    pub fn line(&self, elapsed: Duration) -> String {
        let rate = self.done as f64 / elapsed.as_secs_f64().max(1e-9);
        let rate = if rate >= 1e6 {
            format!("{:.1} M", rate / 1e6)
        } else if rate >= 1e4 {
            format!("{:.0} k", rate / 1e3)
        } else {
            format!("{rate:.0} ")
        };
        let (what, done, unit) = (&self.what, self.done, self.unit);
        match self.total {
            Some(t) if t > 0 => format!(
                "{what}: {done} of {t} {unit} ({:.0} %), {rate}{unit}/s",
                done as f64 * 100.0 / t as f64
            ),
            _ => format!("{what}: {done} {unit}, {rate}{unit}/s"),
        }
    }
}

impl Drop for Progress {
    /// Clears the line drawn in place, so the next output starts on a clean line.
    fn drop(&mut self) {
        self.clear();
    }
}
