//! The open connections of a server, for both servers: a second handle on each, to
//! end it at shutdown, and the threads or tasks serving them, to wait for.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::Conn;

/// A thread or a task serving one connection.
pub(super) trait Worker {
    fn is_finished(&self) -> bool;
}

impl Worker for std::thread::JoinHandle<()> {
    fn is_finished(&self) -> bool {
        std::thread::JoinHandle::is_finished(self)
    }
}

#[cfg(feature = "tokio")]
impl Worker for tokio::task::JoinHandle<()> {
    fn is_finished(&self) -> bool {
        tokio::task::JoinHandle::is_finished(self)
    }
}

/// The registry, behind its lock. No user code runs, and nothing awaits, under it.
pub(super) struct Live<W>(Mutex<Registry<W>>);

pub(super) struct Registry<W> {
    /// Set at shutdown: a connection accepted afterwards is not served.
    stopped: bool,
    next: u64,
    conns: HashMap<u64, Conn>,
    workers: Vec<W>,
}

impl<W: Worker> Live<W> {
    pub(super) fn new() -> Live<W> {
        Live(Mutex::new(Registry {
            stopped: false,
            next: 0,
            conns: HashMap::new(),
            workers: Vec::new(),
        }))
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Registry<W>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets a connection that has ended.
    pub(super) fn remove(&self, id: u64) {
        self.lock().conns.remove(&id);
    }

    /// Ends every open connection and refuses new ones; the workers to wait for.
    pub(super) fn stop(&self) -> Vec<W> {
        let mut r = self.lock();
        r.stopped = true;
        for conn in r.conns.values() {
            conn.shutdown();
        }
        std::mem::take(&mut r.workers)
    }
}

impl<W: Worker> Registry<W> {
    /// Registers a connection by a second handle on it: its id, or `None` once the
    /// server is stopping. Forgets the workers that have finished.
    pub(super) fn add(&mut self, handle: Conn) -> Option<u64> {
        if self.stopped {
            return None;
        }
        self.workers.retain(|w| !w.is_finished());
        let id = self.next;
        self.next += 1;
        self.conns.insert(id, handle);
        Some(id)
    }

    /// The worker serving a registered connection.
    pub(super) fn push(&mut self, worker: W) {
        self.workers.push(worker);
    }

    /// Takes a connection back out (its worker could not start).
    pub(super) fn take(&mut self, id: u64) -> Option<Conn> {
        self.conns.remove(&id)
    }
}
