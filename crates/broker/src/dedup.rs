//! Handled-once: which (producer, sequence) pairs a group of workers has handled.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use crate::stamp::Stamp;

/// The record that makes workers hand each item to their consumers once, not just
/// deliver it at least once: de-duplication by producer and sequence.
///
/// JetStream delivers at least once: an item whose acknowledgement was lost (a
/// broker restart, an ack wait that ran out) comes again. Workers that share one
/// `Dedup` (clones share the record) skip an item that one of them has handled or
/// is handling. Per producer it keeps a watermark below which everything was
/// handled, plus the handled sequence numbers above it; as a producer's items
/// arrive in order, that set stays small.
///
/// The record lives in this process: a worker process that dies takes it along,
/// and the item it was handling may be handled again elsewhere. Handled-once
/// across processes needs the consumer's own effect to record the stamp.
///
/// ```
/// use consumer_broker::{Dedup, WorkerOptions};
///
/// let dedup = Dedup::new();
/// let a = WorkerOptions::new().dedup(dedup.clone());
/// let b = WorkerOptions::new().dedup(dedup.clone()); // the same record
/// assert_eq!(dedup.handled(), 0);
/// # let _ = (a, b);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Dedup(Arc<Mutex<HashMap<u64, Seen>>>);

#[derive(Debug, Default)]
struct Seen {
    /// Every sequence below this was handled.
    below: u64,
    /// Handled sequences at or above `below`.
    done: BTreeSet<u64>,
    /// Sequences a worker is handling now.
    busy: BTreeSet<u64>,
}

impl Dedup {
    /// An empty record.
    ///
    /// ```
    /// assert_eq!(consumer_broker::Dedup::new().handled(), 0);
    /// ```
    pub fn new() -> Dedup {
        Dedup::default()
    }

    /// How many distinct items were handled.
    ///
    /// ```
    /// assert_eq!(consumer_broker::Dedup::new().handled(), 0);
    /// ```
    pub fn handled(&self) -> u64 {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.values().map(|s| s.below + s.done.len() as u64).sum()
    }

    /// Claims `stamp` for handling: `false` when it was handled or is being handled.
    pub(crate) fn claim(&self, stamp: Stamp) -> bool {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = map.entry(stamp.producer).or_default();
        if stamp.seq < seen.below || seen.done.contains(&stamp.seq) {
            return false;
        }
        seen.busy.insert(stamp.seq)
    }

    /// Ends a claim: handled (`true`) or given back for another try.
    pub(crate) fn finish(&self, stamp: Stamp, handled: bool) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let seen = map.entry(stamp.producer).or_default();
        seen.busy.remove(&stamp.seq);
        if handled {
            seen.done.insert(stamp.seq);
            while seen.done.remove(&seen.below) {
                seen.below += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_claimed_once_and_a_failed_one_again() {
        let d = Dedup::new();
        let s = |seq| Stamp { producer: 1, seq };
        assert!(d.claim(s(0)));
        assert!(!d.claim(s(0)), "busy");
        d.finish(s(0), true);
        assert!(!d.claim(s(0)), "handled");
        assert!(d.claim(s(2)));
        d.finish(s(2), false);
        assert!(d.claim(s(2)), "given back");
        d.finish(s(2), true);
        assert!(d.claim(s(1)));
        d.finish(s(1), true);
        assert_eq!(d.handled(), 3);
    }
}
