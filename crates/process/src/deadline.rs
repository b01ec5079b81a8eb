//! What bounds a call whose request write blocks (the service stopped reading and
//! the socket is full): a watchdog that ends the connection from outside when a
//! request is still being written at its caller's deadline.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Ends a connection from outside (shuts its socket down, say), so that a blocked
/// write returns.
pub(crate) type Shut = Box<dyn Fn() + Send + Sync>;

/// Watches the writes that carry a deadline; one thread, started at the first.
pub(crate) struct Watchdog {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    changed: Condvar,
    shut: Shut,
}

#[derive(Default)]
struct State {
    next: u64,
    armed: BTreeMap<u64, Instant>,
    /// The connection was shut at a deadline.
    fired: bool,
    running: bool,
    /// The watchdog's owner is gone: the thread ends.
    gone: bool,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        // No user code runs under this lock but `shut`, outside it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self) {
        let mut s = self.state();
        loop {
            if s.gone || s.fired {
                return;
            }
            let Some(&due) = s.armed.values().min() else {
                s = self.changed.wait(s).unwrap_or_else(|p| p.into_inner());
                continue;
            };
            let now = Instant::now();
            if now >= due {
                s.fired = true;
                drop(s);
                (self.shut)();
                return;
            }
            s = self
                .changed
                .wait_timeout(s, due - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Watchdog {
    pub(crate) fn new(shut: Shut) -> Watchdog {
        Watchdog {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
                shut,
            }),
        }
    }

    /// Whether it has shut the connection.
    pub(crate) fn fired(&self) -> bool {
        self.inner.state().fired
    }

    /// Watches one write until the guard drops: at `deadline` the connection is
    /// shut. `None` if the watchdog's thread cannot start (the write is then not
    /// bounded, as without a watchdog).
    pub(crate) fn arm(&self, deadline: Instant) -> Option<Armed<'_>> {
        let mut s = self.inner.state();
        if !s.running {
            let inner = Arc::clone(&self.inner);
            std::thread::Builder::new()
                .name("consumer-deadline".into())
                .spawn(move || inner.run())
                .ok()?;
            s.running = true;
        }
        let token = s.next;
        s.next += 1;
        s.armed.insert(token, deadline);
        self.inner.changed.notify_one();
        Some(Armed { dog: self, token })
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.inner.state().gone = true;
        self.inner.changed.notify_one();
    }
}

/// One watched write.
pub(crate) struct Armed<'a> {
    dog: &'a Watchdog,
    token: u64,
}

impl Armed<'_> {
    /// Whether the connection was shut at a deadline.
    pub(crate) fn fired(&self) -> bool {
        self.dog.fired()
    }
}

impl Drop for Armed<'_> {
    fn drop(&mut self) {
        self.dog.inner.state().armed.remove(&self.token);
    }
}
