//! What several of the test modules share: a tokio runtime, and a consumer that
//! forwards to a shared sender while holding what must outlive it.

use std::io::Write;
use std::sync::{Arc, Mutex};

use consumer::testing::{Holding, Item};
use consumer_process::SharedSender;

#[cfg(feature = "tokio")]
pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A consumer of the suite's items that forwards them to a shared sender, holding `H`
/// while any clone lives.
pub(crate) type Forward<W, H> = Holding<SharedSender<Item, W>, H>;

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
