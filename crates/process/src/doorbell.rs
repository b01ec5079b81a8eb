//! The wake-up protocol between a sender's producer and its writer thread: two byte
//! counters and two sleepers, with no lock on the way of a byte.
//!
//! The producer adds bytes to the ring and then says how many it has pushed in all
//! ([`pushed`](Doorbell::pushed)); the writer thread writes them and says how many
//! it has written in all ([`wrote`](Doorbell::wrote)). Either side that finds nothing
//! to do sleeps; the other wakes it only when it is asleep. The classic lost
//! wake-up (both look before the other's store is seen) is excluded by sequentially
//! consistent stores and loads on both sides: of "I pushed" / "is the writer asleep?"
//! and "I am asleep" / "was more pushed?", one side always sees the other's store.
//! Model-checked by `tests/loom_doorbell.rs`.
//!
//! The producer rings once per `send`, so its side is made cheap with an asymmetric
//! fence where Linux offers one (`membarrier`, private expedited): the producer
//! publishes with a plain release store and a compiler fence, and the writer thread,
//! before it sleeps (rarely: after a stream, not per item), forces a full barrier on
//! every thread of the process. That gives the same guarantee as a sequentially
//! consistent store on the producer's side (one side always sees the other), at the
//! price of a syscall per sleep instead of a locked instruction per item, which
//! would wait for every store to the ring to drain. Without `membarrier` (and in the
//! loom model) both sides use sequentially consistent operations.
//!
//! Registering the process for `membarrier` takes the kernel an RCU grace period
//! (10 ms measured on the test VM) once the process has threads, so it runs once per
//! process on a short-lived thread of its own ([`prepare_asymmetric`]), never in a
//! `send`. Until it is done, and until the writer thread has said it will use it
//! (`writer.asymmetric`, set by the writer thread itself while awake: after a
//! write, or before the `membarrier` of a sleep), both sides use the sequentially consistent
//! fence: a producer that sees the flag knows every sleep of the writer from then
//! on is fenced by `membarrier`.

#![cfg_attr(not(loom), allow(unreachable_pub))]

use crate::sync::{AtomicBool, AtomicU64, Mutex, Ordering, Thread, current, fence, park};

/// See the module docs. What each side writes sits on a cache line of its own, so
/// a producer in full flow and a busy writer thread do not pull one line back and
/// forth for every item.
#[derive(Debug, Default)]
pub struct Doorbell {
    producer: Padded<Side>,
    writer: Padded<Side>,
    /// The writer thread should end once everything pushed is written.
    stop: AtomicBool,
}

/// One side's counter and sleeper.
#[derive(Debug, Default)]
struct Side {
    /// Bytes pushed (the producer's) or taken off the ring (the writer thread's:
    /// written, or dropped after a failed write), in all.
    bytes: AtomicU64,
    /// This side sleeps, or is about to.
    asleep: AtomicBool,
    /// The writer thread's: it fences its sleeps with `membarrier` from now on, so
    /// the producer may use the light fence. Set once, by the writer thread.
    asymmetric: AtomicBool,
    /// Who to wake.
    thread: Mutex<Option<Thread>>,
}

/// A value alone on its cache line (two lines: some CPUs fetch lines in pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl Doorbell {
    // The producer's side.

    /// The producer has pushed `total` bytes in all: wake the writer if it sleeps.
    #[inline]
    pub fn pushed(&self, total: u64) {
        self.producer.bytes.store(total, Ordering::Release);
        fence::light(&self.writer.asymmetric);
        if self.writer.asleep.load(Ordering::Relaxed) {
            wake(&self.writer.thread);
        }
    }

    /// Whether the writer thread sleeps (or is about to): it will not look at the
    /// ring again until rung. A hint, for choosing who writes; never for waking.
    #[inline]
    pub fn writer_asleep(&self) -> bool {
        self.writer.asleep.load(Ordering::Relaxed)
    }

    /// Bytes written (or dropped) so far.
    #[inline]
    pub fn written(&self) -> u64 {
        self.writer.bytes.load(Ordering::Acquire)
    }

    /// Sleeps until at least `total` bytes are written (or dropped).
    pub fn wait_written(&self, total: u64) {
        while self.written() < total {
            *lock(&self.producer.thread) = Some(current());
            self.producer.asleep.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if self.written() < total {
                park();
            }
            self.producer.asleep.store(false, Ordering::Relaxed);
        }
    }

    /// Tells the writer thread to end once everything pushed is written.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        wake(&self.writer.thread);
    }

    // The writer thread's side.

    /// Says which thread writes; before the first `wait_pushed`.
    pub fn writer_is(&self, thread: Thread) {
        *lock(&self.writer.thread) = Some(thread);
    }

    /// Bytes pushed so far.
    #[inline]
    pub fn pushed_total(&self) -> u64 {
        self.producer.bytes.load(Ordering::Acquire)
    }

    /// Sleeps until more than `seen` bytes were pushed (`true`), or the producer
    /// said stop and everything is written (`false`).
    pub fn wait_pushed(&self, seen: u64) -> bool {
        loop {
            if self.pushed_total() > seen {
                return true;
            }
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            self.writer.asleep.store(true, Ordering::Relaxed);
            fence::heavy(&self.writer.asymmetric);
            if self.pushed_total() == seen && !self.stop.load(Ordering::SeqCst) {
                park();
            }
            self.writer.asleep.store(false, Ordering::Relaxed);
        }
    }

    /// The writer thread, awake: once the process is registered for `membarrier`,
    /// says that its sleeps are fenced by it from now on, so that the producer
    /// drops its full fence. Cheap (two loads); call it after every write, since
    /// a writer in a long stream may not sleep for a long time.
    #[inline]
    pub fn writer_awake(&self) {
        #[cfg(not(loom))]
        fence::adopt(&self.writer.asymmetric);
    }

    /// The writer thread has taken `total` bytes off the ring in all: wake the
    /// producer if it waits.
    #[inline]
    pub fn wrote(&self, total: u64) {
        self.writer.bytes.store(total, Ordering::Release);
        fence(Ordering::SeqCst);
        if self.producer.asleep.load(Ordering::Relaxed) {
            wake(&self.producer.thread);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> crate::sync::MutexGuard<'_, T> {
    crate::sync::lock(m)
}

fn wake(who: &Mutex<Option<Thread>>) {
    if let Some(t) = lock(who).as_ref() {
        t.unpark();
    }
}

/// Starts registering the process for the asymmetric fence, once, on a thread of
/// its own (see the module docs); a no-op after the first call, and in the model.
pub(crate) fn prepare_asymmetric() {
    #[cfg(not(loom))]
    fence::prepare();
}

/// The fence pair between "I pushed" / "is the writer asleep?" and "I am asleep" /
/// "was more pushed?": on Linux an asymmetric pair (a compiler fence on the hot side,
/// `membarrier` on the cold) once the writer thread has said so; until then, elsewhere,
/// and in the model, a sequentially consistent fence on each side.
#[cfg(not(loom))]
mod fence {
    use std::sync::Once;
    use std::sync::atomic::{AtomicBool, AtomicU8, Ordering, compiler_fence, fence};

    /// The kernel's `membarrier`: registering for the private expedited command
    /// (`register`) or issuing it; whether it worked.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn membarrier(register: bool) -> bool {
        use rustix::thread::MembarrierCommand::{PrivateExpedited, RegisterPrivateExpedited};
        let command = if register {
            RegisterPrivateExpedited
        } else {
            PrivateExpedited
        };
        rustix::thread::membarrier(command).is_ok()
    }

    /// No `membarrier` here: both sides fence fully.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn membarrier(_register: bool) -> bool {
        false
    }

    /// Whether this process is registered for `membarrier`: 0 not yet, 1 yes, 2
    /// never (no kernel support, or no thread to register on).
    static REGISTERED: AtomicU8 = AtomicU8::new(0);

    /// Registers on a short-lived thread, once per process.
    pub(super) fn prepare() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let spawned = std::thread::Builder::new()
                .name("consumer-process-membarrier".to_owned())
                .spawn(|| {
                    let ok = membarrier(true);
                    REGISTERED.store(if ok { 1 } else { 2 }, Ordering::Release);
                });
            if spawned.is_err() {
                REGISTERED.store(2, Ordering::Release);
            }
        });
    }

    /// The writer thread, awake: sets `asymmetric` once the process is registered.
    /// Every later sleep of the writer then uses `membarrier` (`heavy` reads the
    /// flag it set itself), which is what a producer that sees the flag relies on.
    #[inline]
    pub(super) fn adopt(asymmetric: &AtomicBool) {
        if !asymmetric.load(Ordering::Relaxed) && REGISTERED.load(Ordering::Acquire) == 1 {
            asymmetric.store(true, Ordering::Relaxed);
        }
    }

    /// The producer's side, once per push: a compiler fence once the writer thread
    /// uses `membarrier` (`asymmetric`), else a full fence.
    #[inline(always)]
    pub(super) fn light(asymmetric: &AtomicBool) {
        if asymmetric.load(Ordering::Relaxed) {
            compiler_fence(Ordering::SeqCst);
        } else {
            fence(Ordering::SeqCst);
        }
    }

    /// The sleeper's side, once per sleep: a full barrier on every thread of the
    /// process once registered (the writer thread says so first, in `asymmetric`,
    /// which only it writes), else a full fence here, the producer fencing too.
    pub(super) fn heavy(asymmetric: &AtomicBool) {
        adopt(asymmetric);
        if !asymmetric.load(Ordering::Relaxed) || !membarrier(false) {
            fence(Ordering::SeqCst);
        }
    }
}

/// In the model: a sequentially consistent fence on each side (loom checks fences,
/// not the kernel's `membarrier`).
#[cfg(loom)]
mod fence {
    use crate::sync::{AtomicBool, Ordering, fence};

    pub(super) fn light(_: &AtomicBool) {
        fence(Ordering::SeqCst);
    }

    pub(super) fn heavy(_: &AtomicBool) {
        fence(Ordering::SeqCst);
    }
}
