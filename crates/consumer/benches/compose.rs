//! Does a batch survive composition? `send_all` of `n` u64 into a batching consumer
//! through wrappers (ours) against the same `send_all` on the consumer itself (the
//! baseline), in paired rounds (see `benchkit`). Target: ratio ≥ 0.9.
//!
//! The consumer, [`Mailbox`], is the thread runner's fast path in miniature: a bounded
//! crossbeam channel to a thread that adds up what it gets, one message per item for
//! `send`, one per 256 items for a batch. Timed to the end of the receiving thread.
//! Its batch path costs about a nanosecond per item, so what a wrapper adds per item
//! (through `dyn`, one indirect `next` call) shows in full: a heavier consumer (a real
//! runner) hides more of it. See docs/decisions/0008-batches-through-composition.md.
//!
//! - `compose/u64/box-dyn`: through `Box<dyn Consumer<u64> + Send>`.
//! - `compose/u64/map`: through `.map(..)`; the baseline applies the same closure.
//! - `compose/u64/box-dyn-map-inline`: `Box<dyn>` of `Inline` of `.map(..)`; the
//!   baseline applies the same closure.
//! - `compose/u64/per-item-fallback`: what a wrapper did before `send_batch` (one
//!   `send` per item), for scale: the ratio the batch path saves.

use std::hint::black_box;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use benchkit::Compare;
use consumer::{Consumer, ConsumerExt, Inline, SendError};
use crossbeam_channel::{Sender, bounded};

/// Items per batch message, as the thread runner's `BATCH`.
const BATCH: usize = 256;

enum Msg {
    One(u64),
    Batch(Vec<u64>),
}

/// Sends into a channel to a summing thread: one message per `send`, one per
/// [`BATCH`] items on the batch path.
struct Mailbox {
    tx: Sender<Msg>,
}

impl Mailbox {
    fn batches(&mut self, items: impl Iterator<Item = u64>) -> Result<(), SendError<u64>> {
        let mut items = items.peekable();
        while items.peek().is_some() {
            let batch: Vec<u64> = items.by_ref().take(BATCH).collect();
            self.tx
                .send(Msg::Batch(batch))
                .expect("the summing thread lives");
        }
        Ok(())
    }
}

impl Consumer<u64> for Mailbox {
    fn send(&mut self, n: u64) -> Result<(), SendError<u64>> {
        self.tx.send(Msg::One(n)).expect("the summing thread lives");
        Ok(())
    }
    fn send_all<I: IntoIterator<Item = u64>>(&mut self, items: I) -> Result<(), SendError<u64>> {
        self.batches(items.into_iter())
    }
    fn send_batch(&mut self, items: &mut dyn Iterator<Item = u64>) -> Result<(), SendError<u64>> {
        self.batches(items)
    }
}

/// A mailbox and the thread that sums what reaches it.
fn mailbox() -> (Mailbox, JoinHandle<u64>) {
    let (tx, rx) = bounded::<Msg>(1024);
    let sum = thread::spawn(move || {
        rx.iter().fold(0u64, |s, m| match m {
            Msg::One(n) => s.wrapping_add(n),
            Msg::Batch(b) => b.into_iter().fold(s, u64::wrapping_add),
        })
    });
    (Mailbox { tx }, sum)
}

/// Wraps a fresh mailbox with `wrap`, has `deliver` send `0..n` into it, and times
/// that up to the last item summed.
fn timed<W>(
    n: u64,
    wrap: impl FnOnce(Mailbox) -> W,
    deliver: impl FnOnce(&mut W, u64),
) -> Duration {
    let (mailbox, sum) = mailbox();
    let mut c = wrap(mailbox);
    let t = Instant::now();
    deliver(&mut c, n);
    drop(c); // the channel ends: the summing thread finishes
    let total = sum.join().expect("summing thread");
    let elapsed = t.elapsed();
    assert_eq!(total, (0..n).fold(0, u64::wrapping_add));
    black_box(total);
    elapsed
}

fn direct(n: u64) -> Duration {
    timed(n, |m| m, |c, n| c.send_all(0..n).expect("send_all"))
}

/// The baseline of the `map` rows: the same closure, applied by the caller.
fn direct_mapped(n: u64) -> Duration {
    timed(
        n,
        |m| m,
        |c, n| {
            c.send_all((0..n).map(|x: u64| black_box(x)))
                .expect("send_all")
        },
    )
}

type Boxed = Box<dyn Consumer<u64> + Send>;

fn main() {
    const N: u64 = 1_000_000;
    Compare::new("compose/u64/box-dyn").work(N).target(0.9).run(
        |n| {
            timed(
                n,
                |m| Box::new(m) as Boxed,
                |c, n| c.send_all(0..n).expect("send_all"),
            )
        },
        direct,
    );
    Compare::new("compose/u64/map").work(N).target(0.9).run(
        |n| {
            timed(
                n,
                |m| m.map(|x: u64| black_box(x)),
                |c, n| c.send_all(0..n).expect("send_all"),
            )
        },
        direct_mapped,
    );
    Compare::new("compose/u64/box-dyn-map-inline")
        .work(N)
        .target(0.9)
        .run(
            |n| {
                timed(
                    n,
                    |m| Box::new(Inline::new(m.map(|x: u64| black_box(x)))) as Boxed,
                    |c, n| c.send_all(0..n).expect("send_all"),
                )
            },
            direct_mapped,
        );
    Compare::new("compose/u64/per-item-fallback").work(N).run(
        |n| {
            timed(
                n,
                |m| Box::new(m) as Boxed,
                |c, n| (0..n).try_for_each(|i| c.send(i)).expect("send"),
            )
        },
        direct,
    );
}
