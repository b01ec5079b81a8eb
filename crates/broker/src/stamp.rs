//! What travels in a message's headers besides the item: who sent it, its place in
//! that producer's sequence, and the item type's identity and codec.

use async_nats::HeaderMap;
use consumer_wire::{Codec, Identity};

/// The producer's id (16 hex digits).
pub(crate) const PRODUCER: &str = "Consumer-Producer";
/// The item's sequence number in its producer's stream (decimal, from 0).
pub(crate) const SEQUENCE: &str = "Consumer-Sequence";
/// The item type's fingerprint (`Identity::fingerprint`, 16 hex digits).
pub(crate) const TYPE: &str = "Consumer-Type";
/// The codec's name (`Codec::NAME`).
pub(crate) const CODEC: &str = "Consumer-Codec";
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

    /// Every header a producer sets.
    pub(crate) fn headers<C: Codec>(&self, identity: &Identity) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("Nats-Msg-Id", self.msg_id().as_str());
        h.insert(PRODUCER, format!("{:016x}", self.producer).as_str());
        h.insert(SEQUENCE, self.seq.to_string().as_str());
        h.insert(TYPE, format!("{:016x}", identity.fingerprint()).as_str());
        h.insert(CODEC, C::NAME);
        h
    }

    /// Reads the stamp, after checking that the message carries this item type in
    /// this codec; the error says what is wrong, for the dead-letter log line.
    pub(crate) fn read<C: Codec>(headers: Option<&HeaderMap>, identity: &Identity) -> Result<Stamp, String> {
        let h = headers.ok_or("no headers: not sent by a consumer-broker producer")?;
        let get = |name: &str| {
            h.get(name)
                .map(|v| v.as_str())
                .ok_or_else(|| format!("no `{name}` header: not sent by a consumer-broker producer"))
        };
        let codec = get(CODEC)?;
        if codec != C::NAME {
            return Err(format!("encoded with {codec}, this worker decodes {}", C::NAME));
        }
        let fingerprint = get(TYPE)?;
        let want = format!("{:016x}", identity.fingerprint());
        if fingerprint != want {
            return Err(format!(
                "another item type (fingerprint {fingerprint}); this worker takes {identity} ({want})"
            ));
        }
        let producer = u64::from_str_radix(get(PRODUCER)?, 16)
            .map_err(|_| format!("a malformed `{PRODUCER}` header"))?;
        let seq = get(SEQUENCE)?
            .parse()
            .map_err(|_| format!("a malformed `{SEQUENCE}` header"))?;
        Ok(Stamp { producer, seq })
    }
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
        let s = Stamp { producer: 0xabc, seq: 7 };
        let h = s.headers::<Bincode>(&id);
        assert_eq!(Stamp::read::<Bincode>(Some(&h), &id), Ok(s));
        assert_eq!(s.msg_id(), "0000000000000abc-7");
        let other = Stamp::read::<Bincode>(Some(&h), &Identity::of::<String>()).unwrap_err();
        assert!(other.contains("another item type"), "{other}");
        assert!(Stamp::read::<Bincode>(None, &id).unwrap_err().contains("no headers"));
    }
}
