//! The open connections of a server: their tasks, to wait for at shutdown, and the
//! stop signal every one of them watches (see `guard.rs`).

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

/// The registry. No user code runs, and nothing awaits, under its lock.
#[derive(Debug)]
pub(crate) struct Live {
    tasks: Mutex<JoinSet<()>>,
    stop: watch::Sender<bool>,
    panics: AtomicU64,
}

impl Live {
    pub(crate) fn new() -> Live {
        Live {
            tasks: Mutex::new(JoinSet::new()),
            stop: watch::Sender::new(false),
            panics: AtomicU64::new(0),
        }
    }

    /// The stop signal, for a connection to watch.
    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Runs a connection's task (on the current runtime); forgets the ones that
    /// have ended, so the registry holds only open connections.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(ended) = tasks.try_join_next() {
            self.count(ended);
        }
        tasks.spawn(task);
    }

    fn count(&self, ended: Result<(), tokio::task::JoinError>) {
        if matches!(ended, Err(e) if e.is_panic()) {
            self.panics.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Tells every connection to end now: reads and writes fail, so each consumer is
    /// closed with what it received.
    pub(crate) fn stop(&self) {
        self.stop.send_replace(true);
    }

    /// Lets the open connections end by themselves for up to `grace`, then stops
    /// the rest and waits for them: how many tasks panicked, ever.
    pub(crate) async fn drain(&self, grace: Duration) -> u64 {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        if !grace.is_zero() {
            let ended = async {
                while let Some(ended) = tasks.join_next().await {
                    self.count(ended);
                }
            };
            let _ = tokio::time::timeout(grace, ended).await;
        }
        self.stop();
        while let Some(ended) = tasks.join_next().await {
            self.count(ended);
        }
        self.panics.load(Ordering::Relaxed)
    }
}
