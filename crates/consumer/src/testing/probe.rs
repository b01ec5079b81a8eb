//! The probe: a consumer that records what reaches it and fails on request.

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::{Consumer, Error, ErrorKind, SendError};

/// The conformance suite's item: `(producer, sequence number)`.
///
/// ```
/// use consumer::Consumer;
/// use consumer::testing::{Item, Probe};
///
/// let item: Item = (3, 0); // producer 3's first item
/// let (mut probe, log) = Probe::new();
/// probe.send(item)?;
/// assert_eq!(log.items(), [item]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type Item = (u32, u64);

/// What reached a [`Probe`].
///
/// ```
/// use consumer::Consumer;
/// use consumer::testing::{Event, Probe};
///
/// let (mut probe, log) = Probe::new();
/// probe.send((0, 0))?;
/// probe.close()?;
/// assert_eq!(log.events(), [Event::Item((0, 0)), Event::Close]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `send` was called with this item (recorded before any fault fires).
    Item(Item),
    /// `close` was called (recorded before any fault fires).
    Close,
}

/// A fault a [`Probe`] injects, so the suite can check what a runner does with it.
///
/// ```
/// use consumer::Consumer;
/// use consumer::testing::{Fault, Probe};
///
/// let (mut probe, log) = Probe::with_fault(Fault::PanicAt(2));
/// let sent = std::panic::catch_unwind(move || probe.send_all([(0, 1), (0, 2), (0, 3)]));
/// assert!(sent.is_err());
/// assert_eq!(log.items(), [(0, 1), (0, 2)]); // recorded, then the panic
/// ```
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
///
/// ```
/// use consumer::Consumer;
/// use consumer::testing::Probe;
///
/// let (mut probe, log) = Probe::new();
/// let reader = log.clone();
/// std::thread::spawn(move || probe.send((0, 0))).join().unwrap()?;
/// assert_eq!(reader.items(), [(0, 0)]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct ProbeLog(Arc<Mutex<Vec<Event>>>);

impl ProbeLog {
    /// Every event so far, in order.
    ///
    /// ```
    /// use consumer::Consumer;
    /// use consumer::testing::{Event, Probe};
    ///
    /// let (mut probe, log) = Probe::new();
    /// probe.close()?;
    /// assert_eq!(log.events(), [Event::Close]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn events(&self) -> Vec<Event> {
        self.lock().clone()
    }

    /// The items so far, in order.
    ///
    /// ```
    /// use consumer::Consumer;
    /// use consumer::testing::Probe;
    ///
    /// let (mut probe, log) = Probe::new();
    /// probe.send_all([(0, 0), (1, 0)])?;
    /// probe.close()?;
    /// assert_eq!(log.items(), [(0, 0), (1, 0)]); // the close is left out
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
    ///
    /// ```
    /// use consumer::Consumer;
    /// use consumer::testing::Probe;
    ///
    /// let (mut probe, log) = Probe::new();
    /// probe.close()?;
    /// probe.close()?;
    /// assert_eq!(log.closes(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn closes(&self) -> usize {
        self.lock().iter().filter(|e| **e == Event::Close).count()
    }

    /// Records an event, as the probe does; for harnesses that relay a probe's events
    /// from elsewhere (another process, say).
    ///
    /// ```
    /// use consumer::testing::{Event, ProbeLog};
    ///
    /// let log = ProbeLog::default();
    /// log.record(Event::Item((0, 7)));
    /// assert_eq!(log.items(), [(0, 7)]);
    /// ```
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
    ///
    /// ```
    /// use consumer::testing::Probe;
    ///
    /// let (probe, log) = Probe::new();
    /// assert_eq!(probe.fault(), None);
    /// assert!(log.events().is_empty());
    /// ```
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
    ///
    /// ```
    /// use consumer::{Consumer, ErrorKind};
    /// use consumer::testing::{Fault, Probe};
    ///
    /// let (mut probe, log) = Probe::with_fault(Fault::FailAt(1));
    /// assert!(probe.send((0, 0)).is_ok());
    /// assert_eq!(probe.send((0, 1)).unwrap_err().kind(), ErrorKind::Other);
    /// assert_eq!(log.items(), [(0, 0), (0, 1)]);
    /// ```
    pub fn with_fault(fault: Fault) -> (Probe, ProbeLog) {
        let (mut probe, log) = Probe::new();
        probe.fault = Some(fault);
        (probe, log)
    }

    /// The fault this probe injects; a harness that runs the probe's twin elsewhere
    /// passes it on.
    ///
    /// ```
    /// use consumer::testing::{Fault, Probe};
    ///
    /// let (probe, _log) = Probe::with_fault(Fault::PanicOnClose);
    /// assert_eq!(probe.fault(), Some(Fault::PanicOnClose));
    /// ```
    pub fn fault(&self) -> Option<Fault> {
        self.fault
    }

    /// Where this probe records.
    ///
    /// ```
    /// use consumer::Consumer;
    /// use consumer::testing::Probe;
    ///
    /// let (mut probe, _log) = Probe::new();
    /// probe.send((1, 0))?;
    /// assert_eq!(probe.log().items(), [(1, 0)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
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
