//! The async ends under the conformance suite: async to async, async to blocking and
//! blocking to async, each over a Unix socket pair with the report coming back.
//!
//! `AsyncSender` is not a `Consumer` (its calls are `async`), so the suite drives it
//! through [`BlockOn`], a test-only adapter that runs each call to completion on a
//! runtime it owns. The library has no such adapter on purpose: blocking on a
//! runtime is the caller's decision.

use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use consumer::testing::{Item, Probe, Suite};
use consumer::{Consumer, Error, SendError};
use consumer_process::{AsyncReceiver, AsyncSender, Receiver, Sender};
use tokio::io::AsyncWrite;
use tokio::runtime::Runtime;

use consumer::testing::Held;

use crate::support::{Forward, rt};

/// Where the receiving end runs, so its end can be awaited.
enum Far {
    Task(tokio::task::JoinHandle<Result<u64, Error>>),
    Thread(thread::JoinHandle<Result<u64, Error>>),
}

/// What every clone of a [`BlockOn`] shares; the last one's drop closes.
struct Shared<W: AsyncWrite + Unpin> {
    tx: Mutex<AsyncSender<Item, W>>,
    far: Mutex<Option<Far>>,
    // Dropped last: the sender and the far task need it until then.
    rt: Runtime,
}

impl<W: AsyncWrite + Unpin> Shared<W> {
    fn tx(&self) -> MutexGuard<'_, AsyncSender<Item, W>> {
        self.tx.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes the sender, then waits for the receiving end to finish.
    fn close(&self) -> Result<(), Error> {
        let outcome = self.rt.block_on(self.tx().close());
        let far = self.far.lock().unwrap().take();
        match far {
            Some(Far::Task(t)) => drop(self.rt.block_on(t)),
            Some(Far::Thread(t)) => drop(t.join()),
            None => {}
        }
        outcome
    }
}

impl<W: AsyncWrite + Unpin> Drop for Shared<W> {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// An [`AsyncSender`] made a `Clone` consumer: each call is `block_on` on the
/// adapter's own runtime, under a lock that keeps one producer's frames together.
struct BlockOn<W: AsyncWrite + Unpin>(Arc<Shared<W>>);

impl<W: AsyncWrite + Unpin> Clone for BlockOn<W> {
    fn clone(&self) -> Self {
        BlockOn(Arc::clone(&self.0))
    }
}

impl<W: AsyncWrite + Unpin> Consumer<Item> for BlockOn<W> {
    fn send(&mut self, item: Item) -> Result<(), SendError<Item>> {
        self.0.rt.block_on(self.0.tx().send(item))
    }
    fn send_all<I: IntoIterator<Item = Item>>(&mut self, items: I) -> Result<(), SendError<Item>> {
        self.0.rt.block_on(self.0.tx().send_all(items))
    }
    fn flush(&mut self) -> Result<(), Error> {
        self.0.rt.block_on(self.0.tx().flush())
    }
    fn close(&mut self) -> Result<(), Error> {
        self.0.close()
    }
}

type AsyncWriteHalf = tokio::net::unix::OwnedWriteHalf;

/// An async sender over one end of a socket pair, its report read from the same
/// socket; the other end is `far`'s, started with the runtime.
fn block_on(far: impl FnOnce(&Runtime, UnixStream) -> Far) -> BlockOn<AsyncWriteHalf> {
    let rt = rt();
    let (here, there) = UnixStream::pair().expect("socket pair");
    let far = far(&rt, there);
    let tx = {
        let _in = rt.enter();
        here.set_nonblocking(true).expect("non-blocking");
        let (back, out) = tokio::net::UnixStream::from_std(here)
            .expect("to tokio")
            .into_split();
        AsyncSender::new(out).with_report(back)
    };
    BlockOn(Arc::new(Shared {
        tx: Mutex::new(tx),
        far: Mutex::new(Some(far)),
        rt,
    }))
}

/// An [`AsyncReceiver`] on `rt`, serving `probe` over `sock`, reporting on it too.
fn async_receiver(rt: &Runtime, sock: UnixStream, probe: Probe) -> Far {
    let _in = rt.enter();
    sock.set_nonblocking(true).expect("non-blocking");
    let (input, back) = tokio::net::UnixStream::from_std(sock)
        .expect("to tokio")
        .into_split();
    Far::Task(
        rt.spawn(
            AsyncReceiver::new(input)
                .report_to(back)
                .run::<Item, _>(probe),
        ),
    )
}

#[test]
fn async_sender_to_async_receiver_passes_the_suite() {
    Suite::new("process-async")
        .items(2_000)
        .run(|probe| block_on(|rt, sock| async_receiver(rt, sock, probe)));
}

#[test]
fn async_sender_to_blocking_receiver_passes_the_suite() {
    Suite::new("process-async-to-blocking")
        .items(2_000)
        .run(|probe| {
            block_on(|_, sock| {
                Far::Thread(thread::spawn(move || {
                    let back = sock.try_clone()?;
                    Receiver::new(sock).report_to(back).run::<Item, _>(probe)
                }))
            })
        });
}

/// Keeps the runtime of the async receiver alive while a blocking sender lives.
struct Holds {
    _rt: Runtime,
}
impl Held for Holds {}

#[test]
fn blocking_sender_to_async_receiver_passes_the_suite() {
    Suite::new("process-blocking-to-async")
        .items(2_000)
        .run(|probe| {
            let rt = rt();
            let (here, there) = UnixStream::pair().expect("socket pair");
            // The task ends by itself once the stream ends; the report says when.
            drop(async_receiver(&rt, there, probe));
            let back = here.try_clone().expect("clone");
            Forward {
                inner: Sender::new(here).with_report(back).shared(),
                held: Arc::new(Holds { _rt: rt }),
            }
        });
}
