//! The trace context a sender puts on the wire: which process and stream sent, the
//! trace the stream belongs to and the span it was sent from — W3C `traceparent`'s
//! trace id and parent id, plus what pairs a message with where it was handled.
//!
//! A process has one trace id of its own, made once from its pid and the clock. A
//! receiver hands its sender's trace id to the thread that delivers each item, so a
//! consumer that sends on (a child feeding a grandchild) carries the first sender's
//! trace: every process of a tree shares one trace id.

use std::cell::Cell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The sender's trace context, as carried in a context frame.
///
/// An item is named across processes by `(pid, stream, n)`: the sender's pid, the
/// stream's number in that process, and the item's place in the stream (1, 2, ...).
/// The sender's per-item `send` event and the receiver's per-item `receive` event
/// (both at trace level) carry these, so a trace viewer can pair them.
///
/// ```
/// let cx = consumer_wire::Context { pid: 42, stream: 1, trace: 0xabc, span: 7 };
/// let tp = cx.traceparent();
/// assert_eq!(tp, "00-00000000000000000000000000000abc-0000000000000007-01");
/// assert_eq!(consumer_wire::Context::parse_traceparent(&tp), Some((0xabc, 7)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Context {
    /// The sender's process id.
    pub pid: u32,
    /// The stream's number in the sender's process (each encoder has its own).
    pub stream: u64,
    /// The trace id (W3C `trace-id`), never 0 on the wire.
    pub trace: u128,
    /// The sender's current span id (W3C `parent-id`), 0 for none.
    pub span: u64,
}

/// A context frame's body in bytes.
pub(crate) const CONTEXT_LEN: usize = 36;

impl Context {
    /// This process's context for `stream`, sent from span `span`: the trace id
    /// the delivering thread inherited from a receiver, else this process's own.
    pub(crate) fn here(stream: u64, span: u64) -> Context {
        let inherited = INHERITED.with(Cell::get);
        Context {
            pid: std::process::id(),
            stream,
            trace: if inherited != 0 {
                inherited
            } else {
                own_trace()
            },
            span,
        }
    }

    pub(crate) fn encode(&self) -> [u8; CONTEXT_LEN] {
        let mut b = [0u8; CONTEXT_LEN];
        b[..4].copy_from_slice(&self.pid.to_le_bytes());
        b[4..12].copy_from_slice(&self.stream.to_le_bytes());
        b[12..28].copy_from_slice(&self.trace.to_le_bytes());
        b[28..].copy_from_slice(&self.span.to_le_bytes());
        b
    }

    pub(crate) fn decode(body: &[u8]) -> Option<Context> {
        let b: &[u8; CONTEXT_LEN] = body.try_into().ok()?;
        Some(Context {
            pid: u32::from_le_bytes(b[..4].try_into().ok()?),
            stream: u64::from_le_bytes(b[4..12].try_into().ok()?),
            trace: u128::from_le_bytes(b[12..28].try_into().ok()?),
            span: u64::from_le_bytes(b[28..].try_into().ok()?),
        })
    }

    /// This thread's context for a message it sends now on `stream`: the trace id it
    /// inherited from the item it is handling (else this process's own) and the
    /// caller's current span. For a transport that carries the context its own way,
    /// such as a message header.
    ///
    /// ```
    /// let cx = consumer_wire::Context::current(1);
    /// assert_eq!(cx.pid, std::process::id());
    /// assert_ne!(cx.trace, 0);
    /// ```
    pub fn current(stream: u64) -> Context {
        Context::here(stream, crate::encode::current_span_id())
    }

    /// The W3C `traceparent` header value: `00-{trace id}-{parent id}-01`.
    ///
    /// ```
    /// let cx = consumer_wire::Context { pid: 1, stream: 1, trace: 1, span: 2 };
    /// assert!(cx.traceparent().starts_with("00-"));
    /// ```
    pub fn traceparent(&self) -> String {
        format!("00-{:032x}-{:016x}-01", self.trace, self.span)
    }

    /// The trace id and parent id of a W3C `traceparent` value (version 00), or
    /// `None` when it is not one.
    ///
    /// ```
    /// assert_eq!(consumer_wire::Context::parse_traceparent("junk"), None);
    /// ```
    pub fn parse_traceparent(value: &str) -> Option<(u128, u64)> {
        let mut parts = value.split('-');
        let (v, t, p, f) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if v != "00" || t.len() != 32 || p.len() != 16 || f.len() != 2 || parts.next().is_some() {
            return None;
        }
        let trace = u128::from_str_radix(t, 16).ok()?;
        let span = u64::from_str_radix(p, 16).ok()?;
        (trace != 0).then_some((trace, span))
    }

    /// Runs `f` as part of this context's trace: sends made inside carry its trace
    /// id. Receivers call it around each delivery; a transport that carries the
    /// context its own way (a message header) can too.
    ///
    /// ```
    /// let cx = consumer_wire::Context { pid: 1, stream: 1, trace: 5, span: 0 };
    /// assert_eq!(cx.in_trace(|| 3), 3);
    /// ```
    pub fn in_trace<R>(&self, f: impl FnOnce() -> R) -> R {
        let _restore = Inherit::set(self.trace);
        f()
    }
}

/// The sender's per-item event: item `msg` of `stream` was accepted.
#[cold]
#[inline(never)]
pub(crate) fn sent(stream: u64, msg: u64) {
    tracing::trace!(stream, msg, "send");
}

/// The receiver's per-item event: item `msg` of the stream `cx` names arrived.
#[cold]
#[inline(never)]
pub(crate) fn received(cx: &Context, msg: u64) {
    tracing::trace!(sender_pid = cx.pid, stream = cx.stream, msg, "receive");
}

/// A fresh stream number for this process.
pub(crate) fn next_stream() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

thread_local! {
    /// The trace id of the item this thread is delivering, 0 for none.
    static INHERITED: Cell<u128> = const { Cell::new(0) };
}

/// The thread's inherited trace id while it lives: what was there before goes back
/// when it drops, also on unwind.
pub(crate) struct Inherit(u128);

impl Inherit {
    /// Makes `trace` this thread's inherited trace id (0: none).
    pub(crate) fn set(trace: u128) -> Inherit {
        Inherit(INHERITED.with(|t| t.replace(trace)))
    }
}

/// Makes `trace` this thread's inherited trace id, until an [`Inherit`] put back.
pub(crate) fn inherit(trace: u128) {
    INHERITED.with(|t| t.set(trace));
}

impl Drop for Inherit {
    fn drop(&mut self) {
        INHERITED.with(|t| t.set(self.0));
    }
}

/// This process's own trace id: its pid and the clock at first use, never 0.
fn own_trace() -> u128 {
    static OWN: OnceLock<u128> = OnceLock::new();
    *OWN.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos());
        (nanos << 32 | u128::from(std::process::id())).max(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_inherits() {
        let cx = Context::here(3, 9);
        assert_eq!(Context::decode(&cx.encode()), Some(cx));
        assert_eq!(Context::decode(&[0; 12]), None);
        let far = Context { trace: 77, ..cx };
        assert_eq!(far.in_trace(|| Context::here(4, 0).trace), 77);
        assert_eq!(Context::here(4, 0).trace, cx.trace);
        let tp = cx.traceparent();
        assert_eq!(Context::parse_traceparent(&tp), Some((cx.trace, 9)));
        assert_eq!(Context::parse_traceparent(&tp.replace("00-", "01-")), None);
    }

    #[test]
    fn a_receiver_hands_the_senders_trace_to_its_consumer() {
        use crate::{Bincode, Decoder, Encoder, Identity, Inbound};
        let far = Context {
            trace: 99,
            ..Context::here(1, 0)
        };
        let mut enc = Encoder::new(Bincode, Identity::of::<u8>());
        far.in_trace(|| enc.item(&1u8)).unwrap();
        enc.end();
        let bytes = enc.take();
        let seen = consumer::from_fn(|_: u8| assert_eq!(Context::here(2, 0).trace, 99));
        let mut rx = Inbound::<u8, _, _>::new(seen, Bincode, Identity::of::<u8>());
        let mut dec = Decoder::new(1024, 1024);
        let t = dec.read_target();
        t.first[..bytes.len()].copy_from_slice(&bytes);
        dec.filled(bytes.len());
        assert!(rx.advance(&mut dec).unwrap());
        assert_eq!(rx.received(), 1);
        assert_ne!(Context::here(3, 0).trace, 99); // put back after the delivery
    }
}
