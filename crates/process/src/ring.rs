//! The sender's byte ring: one producer, one reader (the writer thread), no lock
//! and no `unsafe` — the bytes live in atomic words.
//!
//! The ring holds the bytes; the two counts that say which of them are there live
//! in the [`Doorbell`](crate::doorbell::Doorbell), which rings with them: bytes
//! pushed in all (the producer's, a release store after the words) and bytes
//! taken off in all (the reader's, a release store after it has copied them out).
//! The producer stores each word it fills, or partly fills, with a relaxed store;
//! the reader, after an acquire load of the pushed count, copies the bytes below
//! it out of the words. A word the producer has partly filled may be stored again
//! with more bytes while the reader copies it: the bytes below the published count
//! are the same in every value stored, so the reader gets them whichever value it
//! loads.
//!
//! A store writes a whole word, so the bytes of its last word beyond the push are
//! zeroes written over the previous lap's bytes there: the ring keeps one word
//! free ([`Writer::free`] counts a word less than the storage), so those bytes have
//! always been taken off. Model-checked by `tests/loom_ring.rs`.
//!
//! Against a ring of bytes (the `rtrb` crate, until 2026-11-30), a small frame
//! costs one or two word stores instead of reserving a chunk, a byte loop and a
//! commit, and the counts are the doorbell's instead of a second pair: about 13
//! instead of 17–19 ns of the producer's CPU time per `u64` item (decision 0010).
//! The reader pays a copy out of the words into its own buffer, which the system
//! call then reads on the reader's core.

#![cfg_attr(not(loom), allow(unreachable_pub))]

use std::sync::Arc;

use consumer_wire::lanes_of;

use crate::sync::{AtomicU64, Ordering};

/// Makes a ring of `bytes` bytes of storage (rounded up to a power of two words,
/// at least two), and its two ends. A ring of 64 bytes holds 56: the producer
/// checks [`Writer::free`] against the reader's published count, stores, and
/// publishes [`Writer::pushed`]; the reader reads up to that count with
/// [`Reader::read_into`] and publishes [`Reader::taken`]. (The module is private:
/// its tests below and the loom model show it at work.)
pub fn ring(bytes: usize) -> (Writer, Reader) {
    let words: Arc<[AtomicU64]> = (0..bytes.div_ceil(8).max(2).next_power_of_two())
        .map(|_| AtomicU64::new(0))
        .collect();
    let writer = Writer {
        words: Arc::clone(&words),
        pushed: 0,
        word: 0,
    };
    (writer, Reader { words, taken: 0 })
}

/// The producer's end.
#[derive(Debug)]
pub struct Writer {
    words: Arc<[AtomicU64]>,
    /// Bytes stored, in all.
    pushed: u64,
    /// The word at `pushed`, as stored so far (its bytes below `pushed % 8`).
    word: u64,
}

impl Writer {
    /// Bytes stored, in all: what the caller publishes after a store.
    #[inline]
    pub fn pushed(&self) -> u64 {
        self.pushed
    }

    /// How many more bytes fit, when the reader has taken `taken` off in all.
    #[inline]
    pub fn free(&self, taken: u64) -> u64 {
        (self.words.len() as u64 - 1) * 8 - (self.pushed - taken)
    }

    /// Stores `bytes`, which must fit ([`free`](Writer::free)); the caller then
    /// publishes [`pushed`](Writer::pushed) with a release store.
    #[inline]
    pub fn store(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.store_lanes(u64::from_le_bytes(chunk.try_into().expect("8 bytes")), 8);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.store_lanes(lanes_of(rest), rest.len() as u64);
        }
    }

    /// Stores the first `len` bytes of `words` (lanes, little-endian; the lanes
    /// beyond `len` zero), which must fit: a small frame that never was bytes.
    #[inline]
    pub fn store_words(&mut self, words: &[u64], len: usize) {
        let mut left = len as u64;
        for &word in words {
            if left == 0 {
                break;
            }
            let n = left.min(8);
            self.store_lanes(word, n);
            left -= n;
        }
    }

    /// Stores `n` (1 to 8) bytes, the low lanes of `lanes` (the others zero), at
    /// the producer's position: into the word there and, if they do not all fit,
    /// the next one.
    #[inline]
    fn store_lanes(&mut self, lanes: u64, n: u64) {
        let mask = self.words.len() - 1;
        let at = self.pushed % 8;
        let index = (self.pushed / 8) as usize & mask;
        self.word |= lanes << (8 * at);
        self.words[index].store(self.word, Ordering::Relaxed);
        self.pushed += n;
        if at + n >= 8 {
            // The word is full; what did not fit starts the next one.
            self.word = if at == 0 { 0 } else { lanes >> (64 - 8 * at) };
            if at + n > 8 {
                self.words[(index + 1) & mask].store(self.word, Ordering::Relaxed);
            }
        }
    }
}

/// The reader's end.
#[derive(Debug)]
pub struct Reader {
    words: Arc<[AtomicU64]>,
    /// Bytes taken off, in all.
    taken: u64,
}

impl Reader {
    /// Bytes taken off, in all: what the caller publishes after a read.
    pub fn taken(&self) -> u64 {
        self.taken
    }

    /// Appends the bytes from where the last read ended up to `pushed` (the
    /// producer's published count, loaded with acquire) to `out`, and counts them
    /// as taken off; returns how many.
    pub fn read_into(&mut self, pushed: u64, out: &mut Vec<u8>) -> usize {
        let mask = self.words.len() - 1;
        let word = |at: u64| {
            self.words[(at / 8) as usize & mask]
                .load(Ordering::Relaxed)
                .to_le_bytes()
        };
        let mut at = self.taken;
        out.reserve((pushed - at) as usize);
        if !at.is_multiple_of(8) && at < pushed {
            // The rest of a word begun in the last read.
            let from = (at % 8) as usize;
            let to = 8.min(from + (pushed - at) as usize);
            out.extend_from_slice(&word(at)[from..to]);
            at += (to - from) as u64;
        }
        while pushed - at >= 8 {
            out.extend_from_slice(&word(at));
            at += 8;
        }
        if at < pushed {
            out.extend_from_slice(&word(at)[..(pushed - at) as usize]);
        }
        let n = (pushed - self.taken) as usize;
        self.taken = pushed;
        n
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_out_in_order_across_laps_and_odd_sizes() {
        let (mut w, mut r) = ring(40);
        assert_eq!(w.free(0), 56); // 8 words, one kept free
        let (mut expect, mut got, mut next) = (Vec::new(), Vec::new(), 0u8);
        for round in 0..2000usize {
            let want = round % 23;
            let k = want.min(w.free(r.taken()) as usize);
            let chunk: Vec<u8> = (0..k)
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            w.store(&chunk);
            expect.extend_from_slice(&chunk);
            if round % 3 != 0 {
                r.read_into(w.pushed(), &mut got);
            }
        }
        r.read_into(w.pushed(), &mut got);
        assert_eq!(got, expect);
        assert!(got.len() > 10_000);
    }

    #[test]
    fn words_and_bytes_interleave_across_laps() {
        let (mut w, mut r) = ring(40);
        let (mut expect, mut got) = (Vec::new(), Vec::new());
        for round in 0..3000usize {
            let len = 1 + round % 21;
            if (w.free(r.taken()) as usize) < len {
                r.read_into(w.pushed(), &mut got);
            }
            let bytes: Vec<u8> = (0..len).map(|i| (round * 7 + i) as u8 | 1).collect();
            if round % 2 == 0 {
                w.store(&bytes);
            } else {
                let mut words = [0u64; 3];
                for (i, &b) in bytes.iter().enumerate() {
                    words[i / 8] |= u64::from(b) << (8 * (i % 8));
                }
                w.store_words(&words, len);
            }
            expect.extend_from_slice(&bytes);
        }
        r.read_into(w.pushed(), &mut got);
        assert_eq!(got, expect);
    }

    #[test]
    fn a_full_ring_frees_a_word_and_each_read_takes_what_was_pushed() {
        let (mut w, mut r) = ring(16);
        assert_eq!(w.free(0), 8);
        w.store(b"abcde");
        assert_eq!(w.free(0), 3);
        w.store(b"wxy");
        assert_eq!(w.free(0), 0);
        let mut out = Vec::new();
        assert_eq!(r.read_into(6, &mut out), 6);
        assert_eq!(r.read_into(8, &mut out), 2);
        assert_eq!(out, b"abcdewxy");
        assert_eq!(w.free(r.taken()), 8);
        w.store(b"12345678");
        out.clear();
        assert_eq!(r.read_into(w.pushed(), &mut out), 8);
        assert_eq!(out, b"12345678");
    }

    #[test]
    fn every_length_from_every_offset() {
        for offset in 0..8 {
            for len in 0..=20 {
                let (mut w, mut r) = ring(64);
                let mut out = Vec::new();
                w.store(&vec![0xAA; offset]);
                r.read_into(w.pushed(), &mut out);
                let bytes: Vec<u8> = (1..=len as u8).collect();
                w.store(&bytes);
                out.clear();
                r.read_into(w.pushed(), &mut out);
                assert_eq!(out, bytes, "offset {offset}, length {len}");
            }
        }
    }
}
