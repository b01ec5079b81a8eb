//! What several of the test modules share: a tokio runtime, and a consumer that
//! forwards to a shared sender while holding what must outlive it.

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
