//! What several of the test modules share: a tokio runtime, and a consumer that
//! forwards to a shared sender while holding what must outlive it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use consumer::testing::Item;
use consumer::{Consumer, Error, SendError};
use consumer_process::SharedSender;

#[cfg(feature = "tokio")]
pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// What a [`Forward`] holds for as long as any clone lives, and does once the
/// sender has closed.
pub(crate) trait Held {
    fn after_close(&self) {}
}

/// A consumer of the suite's items that forwards them to a shared sender, holding `H`
/// while any clone lives.
pub(crate) struct Forward<W: Write, H> {
    // Field order matters: the sender goes before what it holds.
    pub(crate) tx: SharedSender<Item, W>,
    pub(crate) held: Arc<H>,
}

impl<W: Write + Send + 'static, H> Clone for Forward<W, H> {
    fn clone(&self) -> Self {
        Forward {
            tx: self.tx.clone(),
            held: Arc::clone(&self.held),
        }
    }
}

impl<W: Write + Send + 'static, H: Held> Consumer<Item> for Forward<W, H> {
    fn send(&mut self, item: Item) -> Result<(), SendError<Item>> {
        self.tx.send(item)
    }
    fn send_all<I: IntoIterator<Item = Item>>(&mut self, items: I) -> Result<(), SendError<Item>> {
        self.tx.send_all(items)
    }
    fn flush(&mut self) -> Result<(), Error> {
        self.tx.flush()
    }
    fn close(&mut self) -> Result<(), Error> {
        let r = self.tx.close();
        self.held.after_close();
        r
    }
}

/// An in-memory byte stream a sender can own (a sender's stream is `Send +
/// 'static`: it may go to its writer thread); clones share the bytes.
#[derive(Clone, Default)]
pub(crate) struct Bytes(Arc<Mutex<Vec<u8>>>);

impl Bytes {
    /// The bytes written so far.
    pub(crate) fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

impl Write for Bytes {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
