//! What a server holds at most, how long it waits, and what it counts: the
//! [`Limits`] its builder sets and the [`Stats`] its handles report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The bounds of one server, set on the [`Server`](crate::Server) builder. Every
/// default fits the common descriptor limit of 1024 with room to spare.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    /// Connections open at once, authenticated or not; beyond it a new one is
    /// refused at once.
    pub(crate) connections: usize,
    /// Connections still in their handshake; beyond it a new one is refused at once,
    /// and the established ones keep being served.
    pub(crate) unauthenticated: usize,
    /// The deadline of the whole handshake (the transport's, then authentication),
    /// however the peer paces its bytes.
    pub(crate) handshake: Duration,
    /// How long an authenticated connection may send nothing while nothing is owed
    /// to it; `None`: forever.
    pub(crate) idle: Option<Duration>,
    /// Requests of one connection read but not yet answered on the wire; at the
    /// bound the server stops reading that connection (and only that one).
    pub(crate) in_flight: usize,
    /// Worker threads of the runtime a blocking [`Server`](crate::Server) owns.
    pub(crate) workers: usize,
}

/// Default of [`Server::max_connections`](crate::Server::max_connections).
pub(crate) const CONNECTIONS: usize = 512;
/// Default of [`Server::max_unauthenticated`](crate::Server::max_unauthenticated).
pub(crate) const UNAUTHENTICATED: usize = 64;
/// Default of [`Server::idle_timeout`](crate::Server::idle_timeout).
pub(crate) const IDLE: Duration = Duration::from_secs(300);
/// Default of [`Server::max_in_flight`](crate::Server::max_in_flight).
pub(crate) const IN_FLIGHT: usize = 64;

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            connections: CONNECTIONS,
            unauthenticated: UNAUTHENTICATED,
            handshake: crate::connect::AUTH_TIMEOUT,
            idle: Some(IDLE),
            in_flight: IN_FLIGHT,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)),
        }
    }
}

/// A snapshot of a server's counts ([`Serving::stats`](crate::Serving::stats),
/// [`AsyncServing::stats`](crate::AsyncServing::stats)): all totals since it started,
/// except `open`.
///
/// ```
/// use consumer_net::{Address, PrivateDir, Server};
///
/// let dir = PrivateDir::new("stats")?;
/// let serving = Server::bind(&Address::Unix(dir.join("sock")))?.serve(Vec::<u8>::new)?;
/// let stats = serving.stats();
/// assert_eq!((stats.open, stats.refused, stats.authenticated), (0, 0, 0));
/// serving.shutdown()?;
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections open now (in their handshake or served).
    pub open: u64,
    /// Connections refused at once, over a limit.
    pub refused: u64,
    /// Connections that passed the handshake.
    pub authenticated: u64,
    /// Connections dropped in their handshake: a wrong key, bad bytes, its deadline.
    pub handshake_failures: u64,
    /// Authenticated connections dropped at the idle deadline.
    pub idle_drops: u64,
    /// Authenticated connections whose stream ended well.
    pub served: u64,
    /// Authenticated connections that ended in an error (idle drops included).
    pub failed: u64,
}

/// The live counters behind [`Stats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) open: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) authenticated: AtomicU64,
    pub(crate) handshake_failures: AtomicU64,
    pub(crate) idle_drops: AtomicU64,
    pub(crate) served: AtomicU64,
    pub(crate) failed: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Stats {
            open: get(&self.open),
            refused: get(&self.refused),
            authenticated: get(&self.authenticated),
            handshake_failures: get(&self.handshake_failures),
            idle_drops: get(&self.idle_drops),
            served: get(&self.served),
            failed: get(&self.failed),
        }
    }
}
