//! The blocking sender's writer: holds the byte stream, writes a lone item in-line,
//! and coalesces a stream of items in a writer thread of its own.
//!
//! A producer hands over the frames of one `send`. When no write is in flight,
//! nothing is queued and the producer was away longer than the last write took
//! ([`Pace`]), it writes them itself and returns: a lone item leaves at once, with
//! no thread in the way. Otherwise the frames join a queue and the writer thread
//! (started on first need, named `consumer-process-writer`) writes everything
//! queued in one write, again and again while more piles up during the write in
//! flight: a stream of `send`s costs no syscall per item, and no timer holds
//! anything back. The queue is bounded ([`QUEUE_BYTES`]): past it the producer
//! waits for the write in flight (backpressure).
//!
//! Only one producer at a time calls in (the sender is `&mut`, a `SharedSender`
//! locks it); the writer thread is the only other party. Whoever writes takes the
//! stream out of the shared state for the duration of the write, so no lock is
//! held across a syscall.

use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

use consumer_wire::{BATCH_BYTES, Pace};

use crate::io::write_all_vectored;

/// How many bytes may wait for the writer thread while a write is in flight; a
/// producer that would go past it waits. (One item's frame may exceed it on its
/// own: it is queued whole, bounded by the frame limit.)
pub(crate) const QUEUE_BYTES: usize = 4 * BATCH_BYTES;

/// Why the link refused bytes.
#[derive(Debug)]
pub(crate) enum LinkError {
    /// This call's own in-line write failed: its items never fully left.
    Now(io::Error),
    /// An earlier queued write failed (after its `send`s returned `Ok`); this call's
    /// bytes were not taken. `unwritten` accepted items never fully left.
    Earlier { error: io::Error, unwritten: u64 },
    /// The stream is gone (closed).
    Closed,
}

struct State<W> {
    /// The byte stream; out while a write is in flight, gone after `shut`.
    out: Option<W>,
    /// Frames waiting for the writer thread.
    queue: Vec<u8>,
    /// How many items `queue` holds.
    queued: u64,
    /// The writer thread's last buffer, handed back empty to become the next queue.
    spare: Vec<u8>,
    /// The writer thread has work (set by the producer that queues, cleared by the
    /// thread when the queue is empty after a write).
    busy: bool,
    /// The writer thread should end once idle.
    stop: bool,
    pace: Pace,
    /// A queued write failed; reported once, to the next caller.
    failed: Option<(io::Error, u64)>,
}

struct Shared<W> {
    state: Mutex<State<W>>,
    /// The writer thread waits here for work.
    work: Condvar,
    /// The producer waits here for room in the queue, or for the thread to be idle.
    idle: Condvar,
}

impl<W> Shared<W> {
    fn lock(&self) -> MutexGuard<'_, State<W>> {
        // The state is consistent at every unlock, and no user code runs under it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The byte stream, and the writer thread once it is needed.
pub(crate) struct Link<W> {
    shared: Arc<Shared<W>>,
    thread: Option<JoinHandle<()>>,
}

impl<W: Write> Link<W> {
    pub(crate) fn new(out: W) -> Link<W> {
        Link {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    out: Some(out),
                    queue: Vec::new(),
                    queued: 0,
                    spare: Vec::new(),
                    busy: false,
                    stop: false,
                    pace: Pace::default(),
                    failed: None,
                }),
                work: Condvar::new(),
                idle: Condvar::new(),
            }),
            thread: None,
        }
    }

    /// Calls `f` with the stream, unless it is closed or being written to.
    pub(crate) fn with_out<R>(&self, f: impl FnOnce(&W) -> R) -> Option<R> {
        self.shared.lock().out.as_ref().map(f)
    }

    /// Waits until the writer thread is idle, so that every byte handed over was
    /// written (or failed).
    fn settle(&self) -> MutexGuard<'_, State<W>> {
        let mut st = self.shared.lock();
        while st.busy {
            st = self.shared.idle.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        st
    }

    /// Reports a failed queued write, once.
    fn check(st: &mut State<W>) -> Result<(), LinkError> {
        match st.failed.take() {
            Some((error, unwritten)) => Err(LinkError::Earlier { error, unwritten }),
            None => Ok(()),
        }
    }

    /// Writes `head` then `tail` in-line, after whatever was queued.
    pub(crate) fn write_now(&mut self, head: &[u8], tail: &[u8]) -> Result<(), LinkError> {
        let mut st = self.settle();
        Self::check(&mut st)?;
        self.write_in_line(st, head, tail)
    }

    /// The write itself, without the lock; `st` shows nothing in flight.
    fn write_in_line(
        &self,
        mut st: MutexGuard<'_, State<W>>,
        head: &[u8],
        tail: &[u8],
    ) -> Result<(), LinkError> {
        let Some(mut out) = st.out.take() else {
            return Err(LinkError::Closed);
        };
        drop(st);
        let start = Instant::now();
        let r = write_all_vectored(&mut out, head, tail).and_then(|()| out.flush());
        let end = Instant::now();
        let mut st = self.shared.lock();
        st.out = Some(out);
        st.pace.wrote(start, end);
        r.map_err(LinkError::Now)
    }

    /// Waits for every byte handed over to be written.
    pub(crate) fn flush(&mut self) -> Result<(), LinkError> {
        Self::check(&mut self.settle())
    }

    /// Ends the writer thread, once every byte handed over was written, and gives
    /// the stream back to be dropped (after a failure, the failure is dropped too:
    /// the caller has heard of it already or is past caring).
    pub(crate) fn shut(&mut self) -> Option<W> {
        let out = {
            let mut st = self.settle();
            st.stop = true;
            st.out.take()
        };
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        out
    }
}

impl<W: Write + Send + 'static> Link<W> {
    /// Hands over the frames of `items` items (`head`, then `tail`): written
    /// in-line when the link is idle and the producer alone (`alone` and the pace
    /// agree), else queued for the writer thread, waiting for room when the queue
    /// is full.
    pub(crate) fn send(
        &mut self,
        head: &[u8],
        tail: &[u8],
        items: u64,
        alone: bool,
    ) -> Result<(), LinkError> {
        let mut st = self.shared.lock();
        Self::check(&mut st)?;
        if !st.busy && alone && st.pace.in_line(Instant::now()) {
            return self.write_in_line(st, head, tail);
        }
        if self.thread.is_none() {
            drop(st);
            match self.spawn() {
                Ok(thread) => self.thread = Some(thread),
                Err(e) => {
                    tracing::debug!(error = %e, "no writer thread: writing in-line");
                    return self.write_now(head, tail);
                }
            }
            st = self.shared.lock();
        }
        while st.busy && st.queue.len() >= QUEUE_BYTES {
            st = self.shared.idle.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        Self::check(&mut st)?;
        if st.out.is_none() && !st.busy {
            return Err(LinkError::Closed);
        }
        st.queue.extend_from_slice(head);
        st.queue.extend_from_slice(tail);
        st.queued += items;
        if !st.busy {
            st.busy = true;
            drop(st);
            self.shared.work.notify_one();
        }
        Ok(())
    }

    fn spawn(&self) -> io::Result<JoinHandle<()>> {
        let shared = Arc::clone(&self.shared);
        let span = tracing::debug_span!("process.writer");
        std::thread::Builder::new()
            .name("consumer-process-writer".to_owned())
            .spawn(move || span.in_scope(|| run(&shared)))
    }
}

/// The writer thread: writes whatever is queued, until told to stop.
fn run<W: Write>(shared: &Shared<W>) {
    let mut st = shared.lock();
    loop {
        while !st.busy && !st.stop {
            st = shared.work.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        if !st.busy {
            return;
        }
        let mut batch = std::mem::take(&mut st.spare);
        std::mem::swap(&mut batch, &mut st.queue);
        let items = std::mem::take(&mut st.queued);
        let out = st.out.take();
        drop(st);
        // Room in the queue again.
        shared.idle.notify_one();
        let start = Instant::now();
        let (out, r) = write_batch(out, &batch);
        let end = Instant::now();
        st = shared.lock();
        st.out = out;
        st.pace.wrote(start, end);
        batch.clear();
        st.spare = batch;
        if let Err(e) = r {
            tracing::debug!(error = %e, items, "a queued write failed");
            let unwritten = items + std::mem::take(&mut st.queued);
            st.queue.clear();
            st.failed = Some((e, unwritten));
        }
        if st.queue.is_empty() {
            st.busy = false;
            shared.idle.notify_one();
        }
    }
}

/// One batch, written and flushed; a panicking writer is a failed write (the
/// stream is dropped: its state is unknown).
fn write_batch<W: Write>(out: Option<W>, batch: &[u8]) -> (Option<W>, io::Result<()>) {
    let Some(mut out) = out else {
        return (None, Err(io::ErrorKind::NotConnected.into()));
    };
    match catch_unwind(AssertUnwindSafe(|| {
        write_all_vectored(&mut out, batch, &[]).and_then(|()| out.flush())
    })) {
        Ok(r) => (Some(out), r),
        Err(_) => (None, Err(io::Error::other("the byte stream panicked"))),
    }
}

impl<W> Drop for Link<W> {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.shared.lock().stop = true;
            self.shared.work.notify_one();
            let _ = thread.join();
        }
    }
}
