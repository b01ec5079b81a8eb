//! The probe: a consumer that records what reaches it and fails on request.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::{Consumer, Error, ErrorKind, SendError};

/// The conformance suite's item: `(producer, sequence number)`.
pub type Item = (u32, u64);

/// What reached a [`Probe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `send` was called with this item (recorded before any fault fires).
    Item(Item),
    /// `close` was called (recorded before any fault fires).
    Close,
}

/// A fault a [`Probe`] injects, so the suite can check what a runner does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Panic in `send` when the item's sequence number is this.
    PanicAt(u64),
    /// Return an error (kind [`Other`](ErrorKind::Other), item taken) from `send` at this
    /// sequence number.
    FailAt(u64),
    /// Panic in `close`.
    PanicOnClose,
    /// Return an error from `close`.
    FailOnClose,
}

/// The shared record of a [`Probe`]'s events; clone it to read them from anywhere.
#[derive(Clone, Default)]
pub struct ProbeLog(Arc<Mutex<Vec<Event>>>);

impl ProbeLog {
    /// Every event so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }

    /// The items so far, in order.
    pub fn items(&self) -> Vec<Item> {
        self.lock()
            .iter()
            .filter_map(|e| match e {
                Event::Item(i) => Some(*i),
                Event::Close => None,
            })
            .collect()
    }

    /// How many times `close` was called.
    pub fn closes(&self) -> usize {
        self.lock().iter().filter(|e| **e == Event::Close).count()
    }

    /// Records an event, as the probe does; for harnesses that relay a probe's events
    /// from elsewhere (another process, say).
    pub fn record(&self, event: Event) {
        self.lock().push(event);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Event>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for ProbeLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let events = self.lock();
        write!(f, "ProbeLog({} events)", events.len())
    }
}

/// A consumer of [`Item`]s that records every call in its [`ProbeLog`] and injects its
/// [`Fault`], if any.
///
/// ```
/// use consumer::Consumer;
/// use consumer::testing::{Event, Probe};
///
/// let (mut probe, log) = Probe::new();
/// probe.send((0, 1))?;
/// probe.close()?;
/// assert_eq!(log.events(), [Event::Item((0, 1)), Event::Close]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Probe {
    log: ProbeLog,
    fault: Option<Fault>,
}

impl Probe {
    /// A probe without a fault, and its log.
    pub fn new() -> (Probe, ProbeLog) {
        let log = ProbeLog::default();
        (
            Probe {
                log: log.clone(),
                fault: None,
            },
            log,
        )
    }

    /// A probe that injects `fault`, and its log.
    pub fn with_fault(fault: Fault) -> (Probe, ProbeLog) {
        let (mut probe, log) = Probe::new();
        probe.fault = Some(fault);
        (probe, log)
    }

    /// The fault this probe injects; a harness that runs the probe's twin elsewhere
    /// passes it on.
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// Where this probe records.
    pub fn log(&self) -> &ProbeLog {
        &self.log
    }
}

impl Consumer<Item> for Probe {
    fn send(&mut self, item: Item) -> Result<(), SendError<Item>> {
        self.log.record(Event::Item(item));
        match self.fault {
            Some(Fault::PanicAt(seq)) if item.1 == seq => panic!("probe panics at item {seq}"),
            Some(Fault::FailAt(seq)) if item.1 == seq => Err(SendError::lost(Error::new(
                ErrorKind::Other,
                format!("probe fails at item {seq}"),
            ))),
            _ => Ok(()),
        }
    }

    fn close(&mut self) -> Result<(), Error> {
        self.log.record(Event::Close);
        match self.fault {
            Some(Fault::PanicOnClose) => panic!("probe panics on close"),
            Some(Fault::FailOnClose) => Err(Error::new(ErrorKind::Other, "probe fails on close")),
            _ => Ok(()),
        }
    }
}
