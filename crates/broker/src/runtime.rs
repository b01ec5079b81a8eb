//! The small tokio runtime behind the blocking API of producers and workers.

use std::future::Future;

use consumer::{Error, ErrorKind};

/// One runtime per producer or worker: a single I/O thread keeps the connection
/// alive (pings, reconnects, acknowledgements) between the caller's blocking calls.
pub(crate) struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    pub(crate) fn new(name: &str) -> Result<Runtime, Error> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name(name)
            .enable_all()
            .build()
            .map(|rt| Runtime(Some(rt)))
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot start the broker runtime: {e}"),
                )
            })
    }

    /// Runs `f` to completion on the calling thread.
    ///
    /// # Panics
    ///
    /// Inside an async task (tokio forbids blocking a runtime's thread).
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.0
            .as_ref()
            .expect("the runtime lives until drop")
            .block_on(f)
    }

    /// Runs `f` as a task on the runtime's thread.
    pub(crate) fn spawn<F>(&self, f: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        drop(
            self.0
                .as_ref()
                .expect("the runtime lives until drop")
                .spawn(f),
        );
    }

    /// Is the caller inside some tokio runtime, where it must not block?
    pub(crate) fn inside_async(&self) -> bool {
        tokio::runtime::Handle::try_current().is_ok()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Never block here: a handle may be dropped inside some async task.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}
