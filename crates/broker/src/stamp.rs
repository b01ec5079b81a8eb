//! What travels in a message's headers besides the item: who sent it, its place in
//! that producer's sequence, and the item type's identity and codec.

use async_nats::HeaderMap;
use consumer_wire::{Codec, Context, Identity};

/// The message id: the producer's id (16 hex digits), `-`, the item's sequence
/// number in its producer's stream (decimal, from 0).
pub(crate) const MSG_ID: &str = "Nats-Msg-Id";
/// The codec's name (`Codec::NAME`), a space, the item type's fingerprint
/// (`Identity::fingerprint`, 16 hex digits).
pub(crate) const TYPE: &str = "Consumer-Type";
/// The sender's trace context (W3C `traceparent`), set when a `tracing` subscriber
/// is installed: the worker handles the item inside that trace.
pub(crate) const TRACEPARENT: &str = "traceparent";
/// On a dead letter: why the worker gave up on it.
pub(crate) const REASON: &str = "Consumer-Dead-Reason";

/// A message's place: producer and sequence. `Nats-Msg-Id` is built from both, so
/// the broker stores a retried publish once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Stamp {
    pub(crate) producer: u64,
    pub(crate) seq: u64,
}

impl Stamp {
    /// The message id the broker de-duplicates on.
    pub(crate) fn msg_id(&self) -> String {
        format!("{:016x}-{}", self.producer, self.seq)
    }

    /// Every header a producer sets; `kind` is [`type_header`]'s, `traceparent`
    /// the sender's trace context when there is one.
    pub(crate) fn headers(&self, kind: &str, traceparent: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(MSG_ID, self.msg_id().as_str());
        h.insert(TYPE, kind);
        if let Some(tp) = traceparent {
            h.insert(TRACEPARENT, tp);
        }
        h
    }

    /// Reads the stamp, after checking that the message carries this item type in
    /// this codec; the error says what is wrong, for the dead-letter log line.
    pub(crate) fn read<C: Codec>(
        headers: Option<&HeaderMap>,
        identity: &Identity,
    ) -> Result<Stamp, String> {
        let h = headers.ok_or("no headers: not sent by a consumer-broker producer")?;
        let get = |name: &str| {
            h.get(name).map(|v| v.as_str()).ok_or_else(|| {
                format!("no `{name}` header: not sent by a consumer-broker producer")
            })
        };
        let kind = get(TYPE)?;
        let want = type_header::<C>(identity);
        if kind != want {
            return Err(match kind.split_once(' ') {
                Some((codec, _)) if codec != C::NAME => {
                    format!("encoded with {codec}, this worker decodes {}", C::NAME)
                }
                _ => {
                    format!("another item type (`{kind}`); this worker takes {identity} (`{want}`)")
                }
            });
        }
        let malformed = || format!("a malformed `{MSG_ID}` header");
        let (producer, seq) = get(MSG_ID)?.split_once('-').ok_or_else(malformed)?;
        let producer = u64::from_str_radix(producer, 16).map_err(|_| malformed())?;
        let seq = seq.parse().map_err(|_| malformed())?;
        Ok(Stamp { producer, seq })
    }
}

/// The trace context a message carries, if any: its `traceparent` header, with the
/// producer as the stream.
pub(crate) fn trace_context(headers: Option<&HeaderMap>, stamp: Stamp) -> Option<Context> {
    let tp = headers?.get(TRACEPARENT)?.as_str();
    let (trace, span) = Context::parse_traceparent(tp)?;
    Some(Context {
        pid: 0,
        stream: stamp.producer,
        trace,
        span,
    })
}

/// The `Consumer-Type` header for items of this identity in this codec.
pub(crate) fn type_header<C: Codec>(identity: &Identity) -> String {
    format!("{} {:016x}", C::NAME, identity.fingerprint())
}

/// A fresh producer id: the clock, the process id and the address-space layout,
/// mixed by the standard library's randomly keyed hasher.
pub(crate) fn fresh_producer_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use consumer_wire::Bincode;

    #[test]
    fn a_stamp_reads_back_and_another_type_is_named() {
        let id = Identity::of::<u32>();
        let s = Stamp {
            producer: 0xabc,
            seq: 7,
        };
        let h = s.headers(&type_header::<Bincode>(&id), None);
        assert_eq!(Stamp::read::<Bincode>(Some(&h), &id), Ok(s));
        assert_eq!(s.msg_id(), "0000000000000abc-7");
        let other = Stamp::read::<Bincode>(Some(&h), &Identity::of::<String>()).unwrap_err();
        assert!(other.contains("another item type"), "{other}");
        assert!(
            Stamp::read::<Bincode>(None, &id)
                .unwrap_err()
                .contains("no headers")
        );
    }
}
