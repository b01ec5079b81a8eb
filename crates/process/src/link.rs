//! The blocking sender's writer: holds the byte stream, writes a lone item in-line,
//! and coalesces a stream of items in a writer thread of its own.
//!
//! A producer hands over the frames of one `send`. When nothing is waiting to be
//! written, no write is in flight and the producer is not in a streak of coming
//! back sooner than the last write took ([`Pace`]), it writes them itself and
//! returns: a lone item leaves at once, with no thread in the way. Otherwise the
//! frames go into a ring (a single-producer, single-consumer byte queue of atomic
//! words: no lock on the way of a byte, see [`ring`]) and the writer
//! thread (started on first need, named `consumer-process-writer`) copies
//! everything in the ring out and writes it in one write, again and again while
//! more piles up during the write in flight: a stream of `send`s costs no syscall
//! and no lock per item, and no timer holds anything back. A small item arrives as
//! the words of its frame ([`SmallFrame`]) and goes into the ring as words.
//! A large frame (a byte vector of at least [`DIRECT_BYTES`], or anything of at
//! least [`BATCH_BYTES`]) is written in-line from where it lies, once what was
//! queued before it is out: copying it would cost more than its syscall. The ring
//! is bounded ([`QUEUE_BYTES`]): past it the producer waits for the writer
//! (backpressure).
//!
//! After a write the writer thread looks at the ring a few more times, yielding the
//! CPU in between, before it sleeps: a producer in full flow finds it awake and does
//! not need to wake it. After a write that carried a single item it does not look
//! again: nothing piled up while that write was in flight, so there is no stream to
//! wait for (a request-reply loop looks like this), and [`Pace`] asks for a longer
//! streak before the next hand-over. After a write that carried several, a writer
//! that finds less than [`FLOW_BYTES`] waiting gives its core away once before
//! taking it, so that the next write carries more. Who wakes whom is the
//! [`Doorbell`]'s protocol, model-checked.
//!
//! Only one producer at a time calls in (the sender is `&mut`, a `SharedSender`
//! locks it); the writer thread is the only other party. The byte stream sits in a
//! mutex held by whoever writes, for the duration of the write.

use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use consumer_wire::{BATCH_BYTES, DIRECT_BYTES, Pace, SmallFrame};
use parking_lot::Mutex;

use crate::doorbell::Doorbell;
use crate::io::write_all_vectored;
use crate::ring;

/// The ring's storage: how many bytes may wait for the writer thread, less the one
/// word the ring keeps free; a producer that would go past it waits.
pub(crate) const QUEUE_BYTES: usize = 4 * BATCH_BYTES;

/// Frames up to this size take [`Link::send`]'s in-line path into the ring; the
/// room it looks for before it reads the writer thread's count again.
const SMALL_BYTES: usize = 32;

/// How many times the writer thread looks for more work, yielding in between,
/// before it sleeps.
const LOOKS: u32 = 64;

/// In a stream (the last write carried more than one item), the writer thread
/// that finds less than this in the ring gives its core away once before taking
/// it: a write costs about the same for a hundred small items as for a thousand,
/// and on a busy machine the producer may be the one waiting for the core.
const FLOW_BYTES: u64 = 8192;

/// Why the link refused bytes.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// This call's own in-line write failed: its items never fully left.
    Now(io::Error),
    /// An earlier queued write failed (after its `send`s returned `Ok`); this call's
    /// bytes were not taken. `unwritten` accepted items may not have fully left.
    Earlier { error: io::Error, unwritten: u64 },
    /// The stream is gone (closed).
    Closed,
}

/// A counter alone on its cache line: one side writes it, the other reads it once
/// a batch.
#[derive(Default)]
#[repr(align(128))]
struct Padded(AtomicU64);

impl std::ops::Deref for Padded {
    type Target = AtomicU64;
    fn deref(&self) -> &AtomicU64 {
        &self.0
    }
}

/// The byte stream and how long its writes take; held by whoever writes.
struct Out<W> {
    w: Option<W>,
    pace: Pace,
}

struct Shared<W> {
    out: Mutex<Out<W>>,
    bell: Doorbell,
    /// Items whose bytes the producer pushed, in all (published before `pushed`).
    items_pushed: Padded,
    /// Items whose bytes the writer thread wrote, in all (a lower bound).
    items_written: Padded,
    /// A queued write failed: the writer thread drops what follows.
    failed: AtomicBool,
    failure: Mutex<Option<io::Error>>,
}

/// The byte stream, the ring, and the writer thread once it is needed.
pub(crate) struct Link<W> {
    shared: Arc<Shared<W>>,
    ring: ring::Writer,
    /// The ring's other end, until the writer thread takes it.
    reader: Option<ring::Reader>,
    thread: Option<JoinHandle<()>>,
    /// The writer thread's count of bytes taken off the ring, as last seen: room
    /// is known up to it without looking at the writer's cache line.
    taken: u64,
    /// Items pushed into the ring, in all.
    items: u64,
}

impl<W: Write> Link<W> {
    pub(crate) fn new(out: W) -> Link<W> {
        let (ring, reader) = ring::ring(QUEUE_BYTES);
        Link {
            shared: Arc::new(Shared {
                out: Mutex::new(Out {
                    w: Some(out),
                    pace: Pace::default(),
                }),
                bell: Doorbell::default(),
                items_pushed: Padded::default(),
                items_written: Padded::default(),
                failed: AtomicBool::new(false),
                failure: Mutex::new(None),
            }),
            ring,
            reader: Some(reader),
            thread: None,
            taken: 0,
            items: 0,
        }
    }

    /// Calls `f` with the stream, unless it is closed (waits for a write in flight).
    pub(crate) fn with_out<R>(&self, f: impl FnOnce(&W) -> R) -> Option<R> {
        self.shared.out.lock().w.as_ref().map(f)
    }

    /// Everything pushed is written (or dropped after a failure).
    fn settled(&self) -> bool {
        self.shared.bell.written() == self.ring.pushed()
    }

    /// Waits until everything pushed is written (or dropped).
    fn settle(&self) {
        self.shared.bell.wait_written(self.ring.pushed());
    }

    /// Reports a failed queued write, once.
    #[inline]
    fn check(&self) -> Result<(), LinkError> {
        if !self.shared.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        self.failure()
    }

    #[cold]
    #[inline(never)]
    fn failure(&self) -> Result<(), LinkError> {
        match self.shared.failure.lock().take() {
            Some(error) => Err(LinkError::Earlier {
                error,
                unwritten: self.items - self.shared.items_written.load(Ordering::Acquire),
            }),
            // Reported already; the sender is failed and says so itself.
            None => Err(LinkError::Closed),
        }
    }

    /// Writes `head` then `tail` in-line, after whatever was queued.
    pub(crate) fn write_now(&mut self, head: &[u8], tail: &[u8]) -> Result<(), LinkError> {
        self.settle();
        self.check()?;
        self.write_in_line(head, tail)
    }

    /// The write itself, in the caller's thread; nothing is queued.
    fn write_in_line(&self, head: &[u8], tail: &[u8]) -> Result<(), LinkError> {
        let mut out = self.shared.out.lock();
        let Out { w, pace } = &mut *out;
        let Some(w) = w.as_mut() else {
            return Err(LinkError::Closed);
        };
        let start = Instant::now();
        let r = write_all_vectored(w, head, tail).and_then(|()| w.flush());
        pace.wrote(start, Instant::now());
        r.map_err(LinkError::Now)
    }

    /// Waits for every byte handed over to be written.
    pub(crate) fn flush(&mut self) -> Result<(), LinkError> {
        self.settle();
        self.check()
    }

    /// Ends the writer thread, once every byte handed over was written, and gives
    /// the stream back to be dropped.
    pub(crate) fn shut(&mut self) -> Option<W> {
        self.settle();
        self.end_thread();
        self.shared.out.lock().w.take()
    }

    fn end_thread(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.bell.stop();
            let _ = thread.join();
        }
    }
}

impl<W: Write + Send + 'static> Link<W> {
    /// Hands over the frames of `items` items (`head`, then `tail`): written
    /// in-line when the link is idle and the producer alone (`alone` and the pace
    /// agree) or the frame is large, else pushed to the ring for the writer thread,
    /// waiting for room when the ring is full.
    #[inline]
    pub(crate) fn send(
        &mut self,
        head: &[u8],
        tail: &[u8],
        items: u64,
        alone: bool,
    ) -> Result<(), LinkError> {
        if tail.is_empty() && self.flowing(head.len()) {
            self.ring.store(head);
            self.published(items);
            return Ok(());
        }
        self.send_slow(head, tail, items, alone)
    }

    /// [`send`](Link::send) of one small item's frame, held in words: in full
    /// flow, its words go to the ring without ever being bytes.
    #[inline]
    pub(crate) fn send_small(&mut self, frame: &SmallFrame, alone: bool) -> Result<(), LinkError> {
        if self.flowing(frame.len()) {
            self.ring.store_words(&frame.words(), frame.len());
            self.published(1);
            return Ok(());
        }
        let bytes = frame.to_bytes();
        self.send_slow(&bytes[..frame.len()], &[], 1, alone)
    }

    /// Whether a frame of `len` bytes goes straight to the ring: a stream in full
    /// flow, that is a small frame, the writer thread awake (it is looking at the
    /// ring, so no in-line write), room in the ring. Everything else is out of
    /// line.
    #[inline]
    fn flowing(&mut self, len: usize) -> bool {
        len <= SMALL_BYTES
            && self.thread.is_some()
            && !self.shared.bell.writer_asleep()
            && !self.shared.failed.load(Ordering::Acquire)
            && self.room() >= len as u64
    }

    /// Room in the ring, looking at the writer thread's count only when the last
    /// look does not show enough for a small frame.
    #[inline]
    fn room(&mut self) -> u64 {
        let free = self.ring.free(self.taken);
        if free >= SMALL_BYTES as u64 {
            return free;
        }
        self.taken = self.shared.bell.written();
        self.ring.free(self.taken)
    }

    /// Counts `items` more items as pushed and rings the doorbell with the ring's
    /// count: the bytes stored are the writer thread's to take.
    #[inline]
    fn published(&mut self, items: u64) {
        // The items pushed before this push, then the bytes: the writer thread
        // reads them the other way round, so every item it counts has its bytes
        // below the byte count it reads next. It counts this push's items with
        // the next push, never early. (Storing the count after the bytes instead
        // measured 15 % slower on the default row.)
        self.shared
            .items_pushed
            .store(self.items, Ordering::Release);
        self.items += items;
        self.shared.bell.pushed(self.ring.pushed());
    }

    /// [`send`](Link::send)'s general case.
    #[inline(never)]
    fn send_slow(
        &mut self,
        head: &[u8],
        tail: &[u8],
        items: u64,
        alone: bool,
    ) -> Result<(), LinkError> {
        self.check()?;
        let len = head.len() + tail.len();
        if tail.len() >= DIRECT_BYTES || len >= BATCH_BYTES {
            // Large: from where it lies, after what is queued.
            return self.write_now(head, tail);
        }
        let writer_awake = self.thread.is_some() && !self.shared.bell.writer_asleep();
        if alone && !writer_awake && self.settled() {
            // Idle: a lone item goes now, unless items come faster than writes end.
            // (An awake writer thread is looking at the ring: a stream is on.)
            let now = Instant::now();
            if let Some(mut out) = self.shared.out.try_lock() {
                if out.pace.in_line(now) {
                    drop(out);
                    return self.write_in_line(head, tail);
                }
            }
        }
        if self.thread.is_none() {
            self.spawn();
            if self.thread.is_none() {
                return self.write_now(head, tail);
            }
        }
        self.push(head)?;
        if !tail.is_empty() {
            self.push(tail)?;
        }
        self.published(items);
        Ok(())
    }

    /// Copies `bytes` into the ring, waiting for room as needed.
    fn push(&mut self, mut bytes: &[u8]) -> Result<(), LinkError> {
        while !bytes.is_empty() {
            self.taken = self.shared.bell.written();
            let k = (self.ring.free(self.taken) as usize).min(bytes.len());
            self.ring.store(&bytes[..k]);
            bytes = &bytes[k..];
            if !bytes.is_empty() {
                // Full: let the writer see what is there, and wait for room.
                self.shared.bell.pushed(self.ring.pushed());
                self.shared.bell.wait_written(self.taken + 1);
                self.check()?;
            }
        }
        Ok(())
    }

    fn spawn(&mut self) {
        let Some(reader) = self.reader.take() else {
            return;
        };
        crate::doorbell::prepare_asymmetric();
        let shared = Arc::clone(&self.shared);
        let span = tracing::debug_span!("process.writer");
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("consumer-process-writer".to_owned())
            .spawn(move || {
                shared.bell.writer_is(crate::sync::current());
                let _ = tx.send(());
                span.in_scope(|| run(&shared, reader));
            });
        match spawned {
            Ok(thread) => {
                // The doorbell knows the writer before the first push rings it.
                let _ = rx.recv();
                self.thread = Some(thread);
            }
            // No thread: every write is in-line, as with `Flush::WhenIdle`.
            Err(e) => tracing::warn!(error = %e, "no writer thread: writing in-line"),
        }
    }
}

/// The writer thread: writes whatever is in the ring, until told to stop.
fn run<W: Write>(shared: &Shared<W>, mut ring: ring::Reader) {
    // The bytes of one write, copied out of the ring.
    let mut batch = Vec::new();
    let mut looks = 0;
    // Whether the last write carried a stream (see `FLOW_BYTES`).
    let mut stream = false;
    loop {
        // While the ring is empty, look at the pushed count only (not at the item
        // count: one line the producer writes per push, not two).
        let pushed = shared.bell.pushed_total();
        if pushed == ring.taken() {
            if looks < LOOKS {
                // Look again soon: a producer in full flow will have pushed more.
                looks += 1;
                std::thread::yield_now();
                continue;
            }
            looks = 0;
            stream = false;
            // The doorbell's count before the ring's: a push after this is rung.
            let seen = shared.bell.pushed_total();
            if seen > ring.taken() || shared.bell.wait_pushed(seen) {
                continue;
            }
            return;
        }
        if stream && pushed - ring.taken() < FLOW_BYTES {
            std::thread::yield_now();
        }
        // The items' count, then the bytes' (see `published`): the bytes of every
        // item counted here lie below `pushed`, so `items_written` is never ahead
        // of what was written.
        let items = shared.items_pushed.load(Ordering::Acquire);
        let pushed = shared.bell.pushed_total();
        batch.clear();
        ring.read_into(pushed, &mut batch);
        // A write that coalesced nothing (one item: the producer sent nothing
        // more since the last) means no stream to wait for: sleep as soon as the
        // ring is empty, so that the producer's next `send` asks `Pace` again.
        looks = 0;
        if !shared.failed.load(Ordering::Relaxed) {
            match write_batch(&shared.out, &batch) {
                Ok(thin) => {
                    shared.items_written.store(items, Ordering::Release);
                    if thin {
                        looks = LOOKS;
                    }
                    stream = !thin;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "a queued write failed");
                    *shared.failure.lock() = Some(e);
                    shared.failed.store(true, Ordering::Release);
                }
            }
        }
        shared.bell.wrote(ring.taken());
        shared.bell.writer_awake();
    }
}

/// One batch, written and flushed: whether it coalesced nothing, one frame alone
/// (see [`Pace::coalesced`]). A panicking stream is a failed write (and is
/// dropped: its state is unknown).
fn write_batch<W: Write>(out: &Mutex<Out<W>>, bytes: &[u8]) -> io::Result<bool> {
    let mut out = out.lock();
    let Out { w, pace } = &mut *out;
    let Some(stream) = w.as_mut() else {
        return Err(io::ErrorKind::NotConnected.into());
    };
    let start = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| {
        stream.write_all(bytes).and_then(|()| stream.flush())
    }));
    pace.wrote(start, Instant::now());
    // Told from the bytes: the item count the writer thread read may lag a batch
    // behind them (see `published`).
    let thin = pace.coalesced(one_frame(bytes));
    r.unwrap_or_else(|_| {
        *w = None;
        Err(io::Error::other("the byte stream panicked"))
    })
    .map(|()| thin)
}

/// Whether `bytes` are exactly one whole frame (its length prefix says so).
fn one_frame(bytes: &[u8]) -> bool {
    bytes.get(..4).is_some_and(|len| {
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes"));
        4 + len as usize == bytes.len()
    })
}

impl<W> Drop for Link<W> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.bell.stop();
            let _ = thread.join();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::one_frame;

    #[test]
    fn one_frame_is_told_from_the_length_prefix() {
        assert!(one_frame(&[2, 0, 0, 0, 1, 7]));
        assert!(
            !one_frame(&[2, 0, 0, 0, 1, 7, 2, 0, 0, 0, 1, 8]),
            "two frames"
        );
        assert!(!one_frame(&[9, 0, 0, 0, 1, 7]), "a frame's first part");
        assert!(!one_frame(&[2, 0, 0]));
        assert!(!one_frame(b"CnSm\x03\x00"), "a handshake");
    }
}
