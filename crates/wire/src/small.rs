//! Small frames held in words, for drivers that store words.
//!
//! A sender that hands its frames to a ring of atomic words (`consumer-process`'s
//! writer thread) would otherwise encode a small item into a byte buffer and read
//! it back a word at a time. Those word loads span the encoder's smaller stores
//! (the length, the kind byte, each of the codec's writes), so the CPU cannot
//! forward the stores to them and every item waits for its own stores to reach
//! the cache. Here the codec writes into the lanes of two words instead
//! ([`SmallBody`], through [`Codec::encode_small`](crate::Codec::encode_small)),
//! and [`SmallFrame`] puts the frame header in front of them, in registers: the
//! bytes are the same as the byte buffer's.

use crate::frame::Kind;

/// The largest body a [`SmallBody`] holds, in bytes.
pub const SMALL_BODY: usize = 16;

/// Up to [`SMALL_BODY`] bytes of an item's encoding, as the lanes of two words
/// (byte `i` in lane `i % 8` of word `i / 8`, little-endian).
///
/// ```
/// let mut body = consumer_wire::SmallBody::default();
/// assert!(body.push(&[1, 2, 3]));
/// assert!(!body.push(&[0; 14]), "19 bytes do not fit");
/// assert_eq!(body.len(), 3);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmallBody {
    words: [u64; 2],
    len: usize,
}

impl SmallBody {
    /// Appends `bytes`: `false`, and nothing appended, when they do not fit.
    #[inline(always)]
    pub fn push(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() > SMALL_BODY - self.len {
            return false;
        }
        if bytes.is_empty() {
            return true;
        }
        let (head, rest) = bytes.split_at(bytes.len().min(8));
        self.push_lanes(lanes_of(head), head.len());
        if !rest.is_empty() {
            self.push_lanes(lanes_of(rest), rest.len());
        }
        true
    }

    /// Appends `n` (1 to 8) bytes, the low lanes of `lanes`; they fit.
    #[inline(always)]
    fn push_lanes(&mut self, lanes: u64, n: usize) {
        let at = self.len;
        if at < 8 {
            self.words[0] |= lanes << (8 * at);
            if at + n > 8 {
                self.words[1] = lanes >> (64 - 8 * at);
            }
        } else {
            self.words[1] |= lanes << (8 * (at - 8));
        }
        self.len += n;
    }

    /// Bytes held.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is held.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// One whole frame of at most 5 + [`SMALL_BODY`] bytes (length, kind, body), as
/// the lanes of three words: what [`Encoder::item_small`](crate::Encoder::item_small)
/// returns.
///
/// Why words: a frame encoded into a byte buffer is written with several small
/// stores (the length, the kind byte, each of the codec's writes). A driver that
/// then reads it back a word at a time, to store words, makes the CPU wait for
/// those stores to reach the cache, since it cannot forward several stores to one
/// wider load: a stall for every item. Built in registers, the frame never goes
/// through memory on the way.
///
/// ```
/// use consumer_wire::{SmallBody, SmallFrame};
///
/// let mut body = SmallBody::default();
/// body.push(&[7]);
/// let frame = SmallFrame::item(&body);
/// assert_eq!(frame.len(), 6);
/// assert_eq!(&frame.to_bytes()[..6], &[2, 0, 0, 0, 1, 7]); // length 2, kind 1 (item), 7
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmallFrame {
    words: [u64; 3],
    len: usize,
}

impl SmallFrame {
    /// The item frame of `body`.
    #[inline(always)]
    pub fn item(body: &SmallBody) -> Self {
        // The length counts the kind byte and the body; 5 header bytes, so the
        // body's lanes move up by 5.
        let header = (body.len as u64 + 1) | (Kind::Item as u64) << 32;
        let [lo, hi] = body.words;
        SmallFrame {
            words: [header | lo << 40, lo >> 24 | hi << 40, hi >> 24],
            len: 5 + body.len,
        }
    }

    /// The frame's words; the bytes beyond [`len`](SmallFrame::len) are zero.
    #[inline(always)]
    pub fn words(&self) -> [u64; 3] {
        self.words
    }

    /// The frame's length in bytes.
    #[inline(always)]
    #[allow(clippy::len_without_is_empty)] // a frame is never empty
    pub fn len(&self) -> usize {
        self.len
    }

    /// The words' bytes; the frame is the first [`len`](SmallFrame::len).
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut out = [0u8; 24];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.words) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        out
    }
}

/// Up to 8 bytes as the low lanes of a word, the others zero: fixed-size reads
/// (overlapping when the length is not a power of two), no copy loop.
///
/// ```
/// assert_eq!(consumer_wire::lanes_of(&[1, 2, 3]), 0x03_02_01);
/// assert_eq!(consumer_wire::lanes_of(&[]), 0);
/// ```
#[inline(always)]
pub fn lanes_of(b: &[u8]) -> u64 {
    let n = b.len();
    let u16_at = |i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u32_at = |i: usize| u64::from(u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]));
    match n {
        0 => 0,
        1 => u64::from(b[0]),
        2..=3 => u16_at(0) | u16_at(n - 2) << (8 * (n - 2)),
        4..=7 => u32_at(0) | u32_at(n - 4) << (8 * (n - 4)),
        _ => u64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every split of every body up to the limit: the words hold the bytes a
    /// byte buffer would.
    #[test]
    fn a_small_frame_holds_the_bytes_of_the_byte_buffer() {
        let bytes: Vec<u8> = (1..=SMALL_BODY as u8).collect();
        for len in 0..=SMALL_BODY {
            for cut in 0..=len {
                for cut2 in cut..=len {
                    let mut body = SmallBody::default();
                    for part in [&bytes[..cut], &bytes[cut..cut2], &bytes[cut2..len]] {
                        assert!(body.push(part));
                    }
                    let frame = SmallFrame::item(&body);
                    let mut expected = ((len + 1) as u32).to_le_bytes().to_vec();
                    expected.push(Kind::Item as u8);
                    expected.extend_from_slice(&bytes[..len]);
                    assert_eq!(frame.len(), expected.len());
                    let all = frame.to_bytes();
                    assert_eq!(&all[..frame.len()], &expected[..], "len {len} cut {cut}");
                    assert!(all[frame.len()..].iter().all(|&b| b == 0));
                }
            }
        }
    }

    #[test]
    fn a_push_that_does_not_fit_changes_nothing() {
        let mut body = SmallBody::default();
        assert!(body.push(&[9; 10]));
        let before = body;
        assert!(!body.push(&[1; 7]));
        assert_eq!(body, before);
        assert!(body.push(&[1; 6]));
        assert_eq!(body.len(), SMALL_BODY);
    }
}
