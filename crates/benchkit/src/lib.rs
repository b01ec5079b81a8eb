//! Paired benchmark rounds: our code against its raw baseline, in the same run.
//!
//! The machines we measure on are small and noisy: two cores, other work running.
//! Absolute figures swing from run to run; the ratio between two things measured
//! side by side swings far less. So every benchmark here is a [`Compare`]: it runs
//! *ours* and the *baseline* in interleaved rounds (alternating which goes first),
//! takes the ratio of each round's pair, and reports the median of those ratios.
//!
//! Why not criterion or divan: both measure one function at a time and report its
//! absolute time; comparing two of them means two separate measurements taken
//! minutes apart, under different load. What we promise is a ratio to a baseline,
//! and only pairing the two in the same rounds makes that ratio stable on a shared
//! 2-core machine. This crate is that pairing and nothing else (no dependencies).
//!
//! A ratio is always *speed*: baseline time ÷ our time for the same work. Above 1 we
//! are faster; 0.9 means we reach 90 % of the baseline's speed.
//!
//! Each benchmark prints one line that `cargo xtask bench` collects:
//!
//! ```text
//! bench thread/u64/1-producer  ours 41.2 M items/s  baseline 44.0 M items/s  ratio 0.94 (target 0.90: met)
//! ```
//!
//! # Examples
//!
//! ```
//! use std::time::{Duration, Instant};
//! use benchkit::{Compare, Unit};
//!
//! fn sum(n: u64) -> Duration {
//!     let t = Instant::now();
//!     std::hint::black_box((0..n).sum::<u64>());
//!     t.elapsed()
//! }
//! let report = Compare::new("doc/sum").unit(Unit::Items).work(1_000).rounds(3).run(sum, sum);
//! assert!(report.ratio > 0.0);
//! ```
//!
//! Benchmarks are `harness = false` bench targets that call [`Compare::run`] from
//! `main`; set `BENCH_ROUNDS` to change the number of rounds everywhere, `BENCH_QUICK=1`
//! for a smoke run with a tenth of the work.

use std::time::Duration;

/// What one unit of work is, for printing rates.
///
/// Only the printed line changes; the [`Report`] is in seconds per unit either way:
///
/// ```
/// use std::time::Duration;
/// use benchkit::{Compare, Unit};
///
/// let op = |n: u64| Duration::from_micros(2 * n); // 2 µs per round trip
/// let report = Compare::new("doc/latency").unit(Unit::Latency).work(10).rounds(1).run(op, op);
/// assert!((report.ours - 2e-6).abs() < 1e-12); // printed as "2.00 µs"
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unit {
    /// Items per second.
    Items,
    /// Bytes per second, each unit of work being this many bytes.
    Bytes(u64),
    /// Time per operation (a round trip, say).
    Latency,
}

/// The outcome of one comparison.
///
/// ```
/// use std::time::Duration;
/// use benchkit::Compare;
///
/// let ours = |n: u64| Duration::from_nanos(n);
/// let baseline = |n: u64| Duration::from_nanos(3 * n);
/// let r = Compare::new("doc/report").work(100).rounds(3).run(ours, baseline);
/// assert_eq!(r.name, "doc/report");
/// assert!((r.ours - 1e-9).abs() < 1e-15 && (r.baseline - 3e-9).abs() < 1e-15);
/// assert!((r.ratio - 3.0).abs() < 1e-9); // we are 3× as fast
/// ```
#[derive(Debug, Clone)]
pub struct Report {
    /// The benchmark's name.
    pub name: String,
    /// Median time of one unit of work, ours, in seconds (a float: one unit can take
    /// well under a nanosecond).
    pub ours: f64,
    /// Median time of one unit of work, the baseline, in seconds.
    pub baseline: f64,
    /// Median of the per-round ratios baseline time ÷ our time (above 1: we are faster).
    pub ratio: f64,
}

/// One benchmark: ours against the baseline, in paired rounds.
///
/// Every setter at once:
///
/// ```
/// use std::time::Duration;
/// use benchkit::{Compare, Unit};
///
/// let same = |n: u64| Duration::from_nanos(n);
/// let report = Compare::new("doc/all")
///     .unit(Unit::Bytes(4096))
///     .work(50)
///     .rounds(5)
///     .target(0.9)
///     .run(same, same);
/// assert_eq!(report.ratio, 1.0); // the line ends "ratio 1.00 (target 0.90: met)"
/// ```
#[derive(Debug, Clone)]
pub struct Compare {
    name: String,
    unit: Unit,
    work: u64,
    rounds: usize,
    target: Option<f64>,
}

impl Compare {
    /// A comparison named `name` (use `crate/what/variant`), by default 1,000,000 units
    /// of work per round, 9 rounds, items per second.
    ///
    /// ```
    /// use std::time::Duration;
    /// use benchkit::Compare;
    ///
    /// let mut calls = Vec::new();
    /// let tick = |_: u64| Duration::from_nanos(1);
    /// Compare::new("doc/defaults").run(|n| { calls.push(n); tick(n) }, tick);
    /// assert_eq!(calls, [1_000_000; 10]); // a warm-up round, then 9 measured
    /// ```
    pub fn new(name: &str) -> Compare {
        let rounds = std::env::var("BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(9);
        Compare {
            name: name.to_owned(),
            unit: Unit::Items,
            work: 1_000_000,
            rounds,
            target: None,
        }
    }

    /// How to print a rate.
    ///
    /// ```
    /// use benchkit::{Compare, Unit};
    ///
    /// let c = Compare::new("doc/unit").unit(Unit::Bytes(1024));
    /// assert!(format!("{c:?}").contains("unit: Bytes(1024)"));
    /// ```
    pub fn unit(mut self, unit: Unit) -> Compare {
        self.unit = unit;
        self
    }

    /// Units of work per round, handed to each closure.
    ///
    /// ```
    /// use std::time::Duration;
    /// use benchkit::Compare;
    ///
    /// let mut seen = Vec::new();
    /// let c = Compare::new("doc/work").work(500).rounds(1);
    /// c.run(|n| { seen.push(n); Duration::from_nanos(n) }, Duration::from_nanos);
    /// assert_eq!(seen, [500, 500]); // warm-up, then the measured round
    /// ```
    pub fn work(mut self, n: u64) -> Compare {
        let quick = std::env::var_os("BENCH_QUICK").is_some_and(|v| v == "1");
        self.work = if quick { (n / 10).max(1) } else { n.max(1) };
        self
    }

    /// Rounds of each (at least 1); a warm-up round of each comes first, unmeasured.
    ///
    /// ```
    /// use std::time::Duration;
    /// use benchkit::Compare;
    ///
    /// let mut calls = 0;
    /// let c = Compare::new("doc/rounds").work(1).rounds(4);
    /// c.run(|n| { calls += 1; Duration::from_nanos(n) }, Duration::from_nanos);
    /// assert_eq!(calls, 5); // one warm-up, then 4 rounds
    /// ```
    pub fn rounds(mut self, r: usize) -> Compare {
        if std::env::var_os("BENCH_ROUNDS").is_none() {
            self.rounds = r.max(1);
        }
        self
    }

    /// The ratio we aim for; the line says whether the median met it.
    ///
    /// ```
    /// use benchkit::Compare;
    ///
    /// let c = Compare::new("doc/target").target(0.9);
    /// assert!(format!("{c:?}").contains("target: Some(0.9)"));
    /// ```
    pub fn target(mut self, ratio: f64) -> Compare {
        self.target = Some(ratio);
        self
    }

    /// Runs both, interleaved, and prints the line. Each closure is given the amount of
    /// work to do and returns how long the measured part took (so it can leave setup
    /// and teardown out).
    ///
    /// ```
    /// use std::time::Duration;
    /// use benchkit::Compare;
    ///
    /// let ours = |n: u64| Duration::from_nanos(n); // measure the work, return its time
    /// let baseline = |n: u64| Duration::from_nanos(2 * n);
    /// let r = Compare::new("doc/run").work(10).rounds(3).run(ours, baseline);
    /// assert!((r.ratio - 2.0).abs() < 1e-9); // the baseline takes twice as long
    /// ```
    pub fn run(
        &self,
        mut ours: impl FnMut(u64) -> Duration,
        mut baseline: impl FnMut(u64) -> Duration,
    ) -> Report {
        ours(self.work);
        baseline(self.work);
        let (mut t_ours, mut t_base, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..self.rounds {
            let (a, b) = if round % 2 == 0 {
                let a = ours(self.work);
                (a, baseline(self.work))
            } else {
                let b = baseline(self.work);
                (ours(self.work), b)
            };
            t_ours.push(a);
            t_base.push(b);
            ratios.push(b.as_secs_f64() / a.as_secs_f64().max(1e-12));
        }
        let per_unit = |d: Vec<Duration>| {
            let mut secs: Vec<f64> = d.iter().map(Duration::as_secs_f64).collect();
            median(&mut secs) / self.work as f64
        };
        let report = Report {
            name: self.name.clone(),
            ours: per_unit(t_ours),
            baseline: per_unit(t_base),
            ratio: median(&mut ratios),
        };
        println!("{}", self.line(&report));
        report
    }

    fn line(&self, r: &Report) -> String {
        let verdict = match self.target {
            Some(t) if r.ratio >= t => format!(" (target {t:.2}: met)"),
            Some(t) => format!(" (target {t:.2}: NOT met)"),
            None => String::new(),
        };
        format!(
            "bench {:<40} ours {:>16}  baseline {:>16}  ratio {:.2}{verdict}",
            r.name,
            rate(self.unit, r.ours),
            rate(self.unit, r.baseline),
            r.ratio
        )
    }
}

/// The median of `xs` (sorted in place); the mean of the middle two for an even
/// count. `xs` must not be empty.
///
/// ```
/// assert_eq!(benchkit::median(&mut [3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(benchkit::median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(xs: &mut [f64]) -> f64 {
    xs.sort_by(f64::total_cmp);
    let m = xs.len() / 2;
    if xs.len() % 2 == 1 {
        xs[m]
    } else {
        (xs[m - 1] + xs[m]) / 2.0
    }
}

/// One unit's time, printed as the unit's rate.
fn rate(unit: Unit, per_unit_secs: f64) -> String {
    let secs = per_unit_secs.max(1e-15);
    match unit {
        Unit::Items => scaled(1.0 / secs, "items/s"),
        Unit::Bytes(b) => scaled(b as f64 / secs, "B/s"),
        Unit::Latency => {
            if secs < 1e-6 {
                format!("{:.0} ns", secs * 1e9)
            } else if secs < 1e-3 {
                format!("{:.2} µs", secs * 1e6)
            } else {
                format!("{:.2} ms", secs * 1e3)
            }
        }
    }
}

fn scaled(x: f64, what: &str) -> String {
    let (v, p) = if x >= 1e9 {
        (x / 1e9, "G")
    } else if x >= 1e6 {
        (x / 1e6, "M")
    } else if x >= 1e3 {
        (x / 1e3, "k")
    } else {
        (x, "")
    };
    if p.is_empty() || what == "B/s" {
        format!("{v:.2} {p}{what}")
    } else {
        format!("{v:.2} {p} {what}")
    }
}

/// Does the benchmark `name` match the filters on the command line (`cargo bench -p
/// consumer-thread --bench thread -- round-trip`: every argument that is not a flag
/// is a filter, matched as a substring)? No filter runs every benchmark.
///
/// ```
/// // Under `cargo test` the arguments are the test harness's own; with none that
/// // is not a flag, every name is wanted.
/// let _ = benchkit::wanted("thread/u64/round-trip");
/// ```
pub fn wanted(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn rates_print_with_units() {
        assert_eq!(rate(Unit::Items, 25e-9), "40.00 M items/s");
        assert_eq!(rate(Unit::Bytes(65536), 16e-6), "4.10 GB/s");
        assert_eq!(rate(Unit::Latency, 12e-6), "12.00 µs");
    }

    #[test]
    fn ratio_is_baseline_time_over_ours() {
        let slow = |n: u64| Duration::from_nanos(2 * n);
        let fast = |n: u64| Duration::from_nanos(n);
        let r = Compare::new("t").work(100).rounds(3).run(slow, fast);
        assert!((r.ratio - 0.5).abs() < 1e-9, "{}", r.ratio);
    }
}
