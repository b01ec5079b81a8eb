//! The conformance suite: one entry point that holds a runner to the whole contract.

use std::fmt::{self, Debug};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use super::probe::{Event, Fault, Item, Probe, ProbeLog};
use crate::{Consumer, ErrorKind, SendError};

/// Configures and runs the conformance suite against one runner.
///
/// The runner is given as a function that starts a [`Probe`] and returns a handle:
/// a `Clone + Send` consumer through which the suite sends, closes and drops. Every
/// check starts a fresh probe, so the function is called many times.
///
/// A check that fails panics with the runner's and the check's names. A check that
/// does not finish within the timeout aborts the process with a message saying which
/// one hung: a broken runner fails the build instead of stalling it.
///
/// # Examples
///
/// The in-line runner, shared between threads:
///
/// ```
/// use std::time::Duration;
/// use consumer::Inline;
/// use consumer::testing::Suite;
///
/// Suite::new("inline")
///     .producers(2)
///     .items(1_000)
///     .timeout(Duration::from_secs(30))
///     .run(|probe| Inline::new(probe).shared());
/// ```
#[derive(Debug, Clone)]
pub struct Suite {
    runner: String,
    producers: u32,
    items: u64,
    timeout: Duration,
    profile: Profile,
}

/// A rule of the [lifecycle contract](crate::Consumer#the-lifecycle-contract) that a
/// transport may be unable to keep, so that a [`Profile`] can waive it.
///
/// Waiving a rule never skips a check: the checks that rely on it run a weaker
/// form instead, described on each rule.
///
/// ```
/// use consumer::testing::Rule;
///
/// assert_eq!(Rule::FailureReportedAsIs.to_string(), "failure-reported-as-is");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// A failure of the consumer — a panic or an error in its `send` or `close` —
    /// comes back through the handle as what it was ([`Panicked`](ErrorKind::Panicked),
    /// or the consumer's own error kind), with the number of accepted items it never
    /// got; later sends fail with that same kind.
    ///
    /// Needs a way back from the consumer to the producer. Waived (a one-way FIFO, a
    /// file), the suite still checks that the failure is reported — `close` returns
    /// an error of some kind, twice alike; every send after a failed one fails too,
    /// handing its item back — that the consumer got the items up to the failing one
    /// and nothing after, that its `close` ran as often as the contract says, that
    /// nothing was delivered that was not accepted, and, where a count of
    /// undelivered items is given, that it adds up.
    ///
    /// So a runner that hides a failure fails even the one-way profile:
    ///
    /// ```should_panic
    /// use consumer::{Consumer, Error, Inline, SendError, Shared};
    /// use consumer::testing::{Item, Probe, Profile, Suite};
    ///
    /// #[derive(Clone)]
    /// struct Hides(Shared<Probe>);
    /// impl Consumer<Item> for Hides {
    ///     fn send(&mut self, item: Item) -> Result<(), SendError<Item>> { self.0.send(item) }
    ///     fn close(&mut self) -> Result<(), Error> {
    ///         let _ = self.0.close(); // the failure, swallowed
    ///         Ok(())
    ///     }
    /// }
    /// Suite::new("hides")
    ///     .items(10)
    ///     .profile(Profile::one_way())
    ///     .run(|probe| Hides(Inline::new(probe).shared()));
    /// ```
    FailureReportedAsIs,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rule::FailureReportedAsIs => "failure-reported-as-is",
        })
    }
}

/// Which rules of the contract a runner is held to: all of them
/// ([`full`](Profile::full), the default), or all but those it declares it cannot
/// keep, each with the reason.
///
/// A profile is explicit: the suite prints every waiver, with its reason, before it
/// runs, and the waivers show in the suite's `Debug` output. Waive only what the
/// transport makes impossible, and say why in words a reader of the test log
/// understands.
///
/// ```
/// use consumer::testing::{Profile, Rule};
///
/// assert!(Profile::full().keeps(Rule::FailureReportedAsIs));
/// let fifo = Profile::one_way();
/// assert!(!fifo.keeps(Rule::FailureReportedAsIs));
/// let (rule, why) = fifo.waived().next().unwrap();
/// assert_eq!(rule, Rule::FailureReportedAsIs);
/// assert!(why.contains("no way back"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    waived: Vec<(Rule, String)>,
}

impl Profile {
    /// The whole contract, nothing waived.
    ///
    /// ```
    /// assert_eq!(consumer::testing::Profile::full().waived().count(), 0);
    /// ```
    pub fn full() -> Profile {
        Profile::default()
    }

    /// A one-way transport (a FIFO, a file): nothing comes back from the consumer,
    /// so [`Rule::FailureReportedAsIs`] is waived.
    ///
    /// ```
    /// use consumer::testing::{Profile, Rule};
    ///
    /// assert!(!Profile::one_way().keeps(Rule::FailureReportedAsIs));
    /// ```
    pub fn one_way() -> Profile {
        Profile::full().waive(
            Rule::FailureReportedAsIs,
            "a one-way transport has no way back: the far consumer's failure shows as a \
             broken link or the far process's exit status, not as its own kind and count",
        )
    }

    /// This profile, with `rule` waived for `reason`.
    ///
    /// ```
    /// use consumer::testing::{Profile, Rule};
    ///
    /// let p = Profile::full().waive(Rule::FailureReportedAsIs, "writes to a log file");
    /// assert_eq!(p.waived().collect::<Vec<_>>(), [(Rule::FailureReportedAsIs, "writes to a log file")]);
    /// ```
    pub fn waive(mut self, rule: Rule, reason: &str) -> Profile {
        self.waived.retain(|(r, _)| *r != rule);
        self.waived.push((rule, reason.to_owned()));
        self
    }

    /// Is `rule` held?
    ///
    /// ```
    /// use consumer::testing::{Profile, Rule};
    ///
    /// assert!(Profile::full().keeps(Rule::FailureReportedAsIs));
    /// ```
    pub fn keeps(&self, rule: Rule) -> bool {
        self.waived.iter().all(|(r, _)| *r != rule)
    }

    /// The waived rules, each with its reason.
    ///
    /// ```
    /// use consumer::testing::Profile;
    ///
    /// for (rule, why) in Profile::one_way().waived() {
    ///     println!("{rule}: {why}");
    /// }
    /// ```
    pub fn waived(&self) -> impl Iterator<Item = (Rule, &str)> {
        self.waived.iter().map(|(r, why)| (*r, why.as_str()))
    }
}

impl Suite {
    /// The suite for the runner called `runner`, with 4 producers, 10,000 items per
    /// producer, and a 60-second timeout per check.
    ///
    /// ```
    /// use consumer::testing::Suite;
    ///
    /// let suite = Suite::new("mine");
    /// let defaults = r#"Suite { runner: "mine", producers: 4, items: 10000, timeout: 60s, profile: Profile { waived: [] } }"#;
    /// assert_eq!(format!("{suite:?}"), defaults);
    /// ```
    pub fn new(runner: &str) -> Suite {
        Suite {
            runner: runner.to_owned(),
            producers: 4,
            items: 10_000,
            timeout: Duration::from_secs(60),
            profile: Profile::full(),
        }
    }

    /// How many threads send at once in the multi-producer checks (at least 2).
    ///
    /// ```
    /// use consumer::testing::Suite;
    ///
    /// let suite = Suite::new("mine").producers(1);
    /// assert!(format!("{suite:?}").contains("producers: 2")); // raised to the minimum
    /// ```
    pub fn producers(mut self, n: u32) -> Suite {
        self.producers = n.max(2);
        self
    }

    /// How many items each producer sends (at least 10).
    ///
    /// ```
    /// use consumer::testing::Suite;
    ///
    /// let suite = Suite::new("mine").items(3);
    /// assert!(format!("{suite:?}").contains("items: 10")); // raised to the minimum
    /// ```
    pub fn items(mut self, n: u64) -> Suite {
        self.items = n.max(10);
        self
    }

    /// How long one check may take before the process is aborted as hung.
    ///
    /// ```
    /// use std::time::Duration;
    /// use consumer::testing::Suite;
    ///
    /// let suite = Suite::new("mine").timeout(Duration::from_secs(5));
    /// assert!(format!("{suite:?}").contains("timeout: 5s"));
    /// ```
    pub fn timeout(mut self, t: Duration) -> Suite {
        self.timeout = t;
        self
    }

    /// The rules this runner is held to (default: [`Profile::full`]). Every waiver is
    /// printed, with its reason, when the suite runs.
    ///
    /// ```
    /// use consumer::Inline;
    /// use consumer::testing::{Profile, Suite};
    ///
    /// // An in-line runner keeps the whole contract, so it passes a weaker profile too.
    /// Suite::new("inline, as if one-way")
    ///     .items(100)
    ///     .profile(Profile::one_way())
    ///     .run(|probe| Inline::new(probe).shared());
    /// ```
    pub fn profile(mut self, profile: Profile) -> Suite {
        self.profile = profile;
        self
    }

    /// Does this suite hold the runner to `rule`?
    fn holds(&self, rule: Rule) -> bool {
        self.profile.keeps(rule)
    }

    /// Runs every check against the runner that `start` stands for.
    ///
    /// A check that fails panics. Here a runner that forgets to pass `close` on:
    ///
    /// ```should_panic
    /// use consumer::{Consumer, SendError};
    /// use consumer::testing::{Item, Probe, Suite};
    ///
    /// #[derive(Clone)]
    /// struct NoClose(Probe);
    /// impl Consumer<Item> for NoClose {
    ///     fn send(&mut self, item: Item) -> Result<(), SendError<Item>> { self.0.send(item) }
    /// }
    /// Suite::new("no-close").items(10).run(NoClose);
    /// ```
    pub fn run<H, F>(&self, mut start: F)
    where
        F: FnMut(Probe) -> H,
        H: Consumer<Item> + Clone + Send + 'static,
    {
        type Check<F> = fn(&Suite, &mut F);
        let checks: [(&str, Check<F>); 12] = [
            (
                "delivers_in_order_then_closes",
                delivers_in_order_then_closes,
            ),
            ("send_all_delivers_in_order", send_all_delivers_in_order),
            ("close_twice_is_harmless", close_twice_is_harmless),
            (
                "send_after_close_hands_the_item_back",
                send_after_close_hands_the_item_back,
            ),
            (
                "many_producers_keep_their_order",
                many_producers_keep_their_order,
            ),
            (
                "close_racing_senders_loses_nothing",
                close_racing_senders_loses_nothing,
            ),
            (
                "dropping_the_last_handle_closes",
                dropping_the_last_handle_closes,
            ),
            (
                "dropping_a_clone_does_not_close",
                dropping_a_clone_does_not_close,
            ),
            ("panic_in_send_is_reported", panic_in_send_is_reported),
            ("error_in_send_is_reported", error_in_send_is_reported),
            ("panic_in_close_is_reported", panic_in_close_is_reported),
            ("error_in_close_is_reported", error_in_close_is_reported),
        ];
        for (rule, why) in self.profile.waived() {
            eprintln!(
                "conformance: runner `{}` waives rule `{rule}` (weaker checks run instead): {why}",
                self.runner
            );
        }
        for (name, check) in checks {
            self.case(name, || check(self, &mut start));
        }
    }

    /// Runs one check under a watchdog, naming the runner and check in any failure.
    fn case(&self, check: &str, f: impl FnOnce()) {
        let (done, watch) = mpsc::channel::<()>();
        let (runner, timeout, name) = (self.runner.clone(), self.timeout, check.to_owned());
        let watchdog = thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watch.recv_timeout(timeout) {
                eprintln!(
                    "conformance: runner `{runner}` hung in check `{name}` for {timeout:?}; aborting"
                );
                std::process::abort();
            }
        });
        let outcome = catch_unwind(AssertUnwindSafe(f));
        drop(done);
        let _ = watchdog.join();
        if let Err(payload) = outcome {
            let msg = crate::Error::from_panic(payload.as_ref(), 0);
            eprintln!(
                "conformance: runner `{}` failed check `{check}`: {}",
                self.runner,
                msg.message().unwrap_or("")
            );
            resume_unwind(payload);
        }
    }
}

/// Runs the whole suite with the default configuration; see [`Suite`].
///
/// ```
/// use consumer::Inline;
///
/// consumer::testing::check("inline", |probe| Inline::new(probe).shared());
/// ```
pub fn check<H, F>(runner: &str, start: F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item> + Clone + Send + 'static,
{
    Suite::new(runner).run(start);
}

fn expect_ok<T, E: Debug>(what: &str, r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{what} failed: {e:?}"))
}

fn sequence(producer: u32, n: u64) -> Vec<Event> {
    (0..n).map(|seq| Event::Item((producer, seq))).collect()
}

fn assert_delivered_then_closed(log: &ProbeLog, producer: u32, n: u64) {
    let mut want = sequence(producer, n);
    want.push(Event::Close);
    let got = log.events();
    assert!(
        got == want,
        "expected items 0..{n} then one close; got {} events: {:?}",
        got.len(),
        summary(&got)
    );
}

/// The first and last few events, for failure messages.
fn summary(events: &[Event]) -> String {
    if events.len() <= 8 {
        return format!("{events:?}");
    }
    format!("{:?} .. {:?}", &events[..4], &events[events.len() - 4..])
}

fn delivers_in_order_then_closes<H, F>(s: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item>,
{
    let (probe, log) = Probe::new();
    let mut h = start(probe);
    for seq in 0..s.items {
        expect_ok("send", h.send((0, seq)));
    }
    expect_ok("flush", h.flush());
    expect_ok("close", h.close());
    // Checked at once: close must not return before the consumer's close has run.
    assert_delivered_then_closed(&log, 0, s.items);
}

fn send_all_delivers_in_order<H, F>(s: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item>,
{
    let (probe, log) = Probe::new();
    let mut h = start(probe);
    expect_ok("send_all", h.send_all((0..s.items / 2).map(|seq| (0, seq))));
    expect_ok(
        "send_all",
        h.send_all((s.items / 2..s.items).map(|seq| (0, seq))),
    );
    expect_ok("close", h.close());
    assert_delivered_then_closed(&log, 0, s.items);
}

fn close_twice_is_harmless<H, F>(_: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item> + Clone,
{
    let (probe, log) = Probe::new();
    let mut h = start(probe);
    let mut other = h.clone();
    expect_ok("send", h.send((0, 0)));
    expect_ok("first close", h.close());
    expect_ok("second close", h.close());
    expect_ok("close through a clone", other.close());
    assert_delivered_then_closed(&log, 0, 1);
}

fn send_after_close_hands_the_item_back<H, F>(_: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item> + Clone,
{
    let (probe, log) = Probe::new();
    let mut h = start(probe);
    let mut other = h.clone();
    expect_ok("close", h.close());
    for (who, handle) in [("the closed handle", &mut h), ("a clone", &mut other)] {
        let e = handle.send((0, 7)).expect_err("send after close must fail");
        assert_eq!(
            e.kind(),
            ErrorKind::Closed,
            "send after close through {who}: {e}"
        );
        assert_eq!(
            e.into_item(),
            Some((0, 7)),
            "send after close through {who} must hand the item back"
        );
    }
    assert_eq!(log.events(), [Event::Close]);
}

fn many_producers_keep_their_order<H, F>(s: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item> + Clone + Send + 'static,
{
    let (probe, log) = Probe::new();
    let mut h = start(probe);
    let workers: Vec<_> = (0..s.producers)
        .map(|p| {
            let mut c = h.clone();
            let n = s.items;
            thread::spawn(move || {
                for seq in 0..n {
                    expect_ok("send", c.send((p, seq)));
                }
            })
        })
        .collect();
    for w in workers {
        if let Err(p) = w.join() {
            resume_unwind(p);
        }
    }
    expect_ok("close", h.close());
    let delivered = delivered_per_producer(&log, s.producers);
    assert!(
        delivered.iter().all(|&n| n == s.items),
        "items lost: delivered per producer {delivered:?}"
    );
}

/// Checks that each producer's items arrived in order without gaps or repeats, then
/// one close, last; returns how many items each producer got through.
fn delivered_per_producer(log: &ProbeLog, producers: u32) -> Vec<u64> {
    let events = log.events();
    assert_eq!(events.last(), Some(&Event::Close), "close must come last");
    assert_eq!(log.closes(), 1);
    let mut next = vec![0u64; producers as usize];
    for (p, seq) in log.items() {
        assert_eq!(
            seq, next[p as usize],
            "producer {p}'s items out of order or duplicated"
        );
        next[p as usize] += 1;
    }
    next
}

fn close_racing_senders_loses_nothing<H, F>(s: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item> + Clone + Send + 'static,
{
    let (probe, log) = Probe::new();
    let mut h = start(probe);
    let (started, first_sent) = mpsc::channel();
    let workers: Vec<_> = (0..s.producers)
        .map(|p| {
            let mut c = h.clone();
            let started = started.clone();
            let n = s.items * 10;
            thread::spawn(move || -> u64 {
                for seq in 0..n {
                    if let Err(e) = c.send((p, seq)) {
                        assert_eq!(e.kind(), ErrorKind::Closed, "a send racing close: {e}");
                        assert_eq!(
                            e.into_item(),
                            Some((p, seq)),
                            "a send racing close must hand the item back"
                        );
                        return seq;
                    }
                    if seq == 0 {
                        let _ = started.send(());
                    }
                }
                n
            })
        })
        .collect();
    drop(started);
    for _ in 0..s.producers {
        expect_ok("waiting for the producers to start", first_sent.recv());
    }
    expect_ok("close", h.close());
    let accepted: Vec<u64> = workers
        .into_iter()
        .map(|w| w.join().unwrap_or_else(|p| resume_unwind(p)))
        .collect();
    assert_eq!(
        delivered_per_producer(&log, s.producers),
        accepted,
        "every send that returned Ok must be delivered, and only those"
    );
}

fn dropping_the_last_handle_closes<H, F>(s: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item> + Clone,
{
    let (probe, log) = Probe::new();
    let mut h = start(probe);
    let n = s.items.min(1_000);
    for seq in 0..n {
        expect_ok("send", h.send((0, seq)));
    }
    let clone = h.clone();
    drop(h);
    drop(clone);
    // Checked at once: dropping the last handle waits for the drain and the close.
    assert_delivered_then_closed(&log, 0, n);
}

fn dropping_a_clone_does_not_close<H, F>(_: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item> + Clone,
{
    let (probe, log) = Probe::new();
    let mut h = start(probe);
    drop(h.clone());
    expect_ok("send after a clone was dropped", h.send((0, 0)));
    expect_ok("close", h.close());
    assert_delivered_then_closed(&log, 0, 1);
}

/// What a single producer saw while sending `0..n` to a consumer that fails midway.
struct Tally {
    ok: u64,
    lost: u64,
}

/// Sends `0..n` through a consumer that fails midway. `kind`: the kind every failed
/// send must report, when the profile holds the runner to it.
fn send_through_failure<H: Consumer<Item>>(h: &mut H, n: u64, kind: Option<ErrorKind>) -> Tally {
    let mut tally = Tally { ok: 0, lost: 0 };
    let mut failed = false;
    for seq in 0..n {
        match h.send((0, seq)) {
            Ok(()) => {
                assert!(
                    !failed,
                    "a send succeeded after an earlier send reported the failure"
                );
                tally.ok += 1;
            }
            Err(e) => {
                failed = true;
                if let Some(kind) = kind {
                    check_failure_kind(&e, kind);
                }
                match e.into_item() {
                    Some(item) => {
                        assert_eq!(item, (0, seq), "the error handed back the wrong item")
                    }
                    None => tally.lost += 1,
                }
            }
        }
    }
    assert!(
        tally.lost <= 1,
        "only the item in the consumer's hands may be lost, not {}",
        tally.lost
    );
    tally
}

fn check_failure_kind(e: &SendError<Item>, kind: ErrorKind) {
    assert_eq!(
        e.kind(),
        kind,
        "a send after the consumer failed: {}",
        e.error()
    );
}

/// Shared by the panic and error checks: everything accepted is either delivered or
/// counted as undelivered. Under a profile that waives
/// [`Rule::FailureReportedAsIs`], the kinds are not checked, and the count only if
/// one is given.
fn failure_is_accounted<H, F>(
    s: &Suite,
    start: &mut F,
    fault: Fault,
    kind: ErrorKind,
    closes: usize,
) where
    F: FnMut(Probe) -> H,
    H: Consumer<Item>,
{
    let as_is = s.holds(Rule::FailureReportedAsIs);
    let n = s.items.min(1_000);
    let at = n / 2;
    let (probe, log) = Probe::with_fault(fault_at(fault, at));
    let mut h = start(probe);
    let tally = send_through_failure(&mut h, n, as_is.then_some(kind));
    let e = h.close().expect_err("close after a failure must report it");
    if as_is {
        assert_eq!(e.kind(), kind, "close after the failure: {e}");
    }
    let undelivered = e.undelivered();
    assert!(
        undelivered.is_some() || !as_is,
        "close must count undelivered items: {e}"
    );
    let received = log.items();
    let want: Vec<Item> = (0..=at).map(|seq| (0, seq)).collect();
    assert_eq!(
        received, want,
        "the consumer must get items up to the failing one, then nothing"
    );
    match undelivered {
        Some(undelivered) => assert_eq!(
            tally.ok + tally.lost,
            received.len() as u64 + undelivered,
            "accepted items ({} ok + {} lost) must equal delivered ({}) + undelivered ({undelivered})",
            tally.ok,
            tally.lost,
            received.len()
        ),
        None => assert!(
            received.len() as u64 <= tally.ok + tally.lost,
            "delivered ({}) more than accepted ({} ok + {} lost)",
            received.len(),
            tally.ok,
            tally.lost
        ),
    }
    assert_eq!(
        log.closes(),
        closes,
        "after a {kind:?} failure the consumer's close runs {closes} time(s)"
    );
    let again = h
        .close()
        .expect_err("a second close returns the same outcome");
    assert_eq!(again.kind(), e.kind(), "a second close: {again}");
    assert_eq!(log.closes(), closes);
}

fn fault_at(fault: Fault, at: u64) -> Fault {
    match fault {
        Fault::PanicAt(_) => Fault::PanicAt(at),
        Fault::FailAt(_) => Fault::FailAt(at),
        other => other,
    }
}

fn panic_in_send_is_reported<H, F>(s: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item>,
{
    failure_is_accounted(s, start, Fault::PanicAt(0), ErrorKind::Panicked, 0);
}

fn error_in_send_is_reported<H, F>(s: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item>,
{
    failure_is_accounted(s, start, Fault::FailAt(0), ErrorKind::Other, 1);
}

fn failing_close<H, F>(s: &Suite, start: &mut F, fault: Fault, kind: ErrorKind)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item>,
{
    let (probe, log) = Probe::with_fault(fault);
    let mut h = start(probe);
    for seq in 0..10 {
        expect_ok("send", h.send((0, seq)));
    }
    let e = h.close().expect_err("a failing close must be reported");
    if s.holds(Rule::FailureReportedAsIs) {
        assert_eq!(e.kind(), kind, "{e}");
    }
    assert_delivered_then_closed(&log, 0, 10);
    let again = h
        .close()
        .expect_err("a second close returns the same outcome");
    assert_eq!(again.kind(), e.kind(), "a second close: {again}");
    assert_eq!(log.closes(), 1, "the consumer's close runs once");
}

fn panic_in_close_is_reported<H, F>(s: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item>,
{
    failing_close(s, start, Fault::PanicOnClose, ErrorKind::Panicked);
}

fn error_in_close_is_reported<H, F>(s: &Suite, start: &mut F)
where
    F: FnMut(Probe) -> H,
    H: Consumer<Item>,
{
    failing_close(s, start, Fault::FailOnClose, ErrorKind::Other);
}
