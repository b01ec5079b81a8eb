//! The sender's byte ring under loom, with the doorbell's counts as the link uses
//! them: whatever the interleaving and whichever value of a word the reader
//! loads, the writer thread gets every byte pushed, in order and intact, across a
//! lap of the ring — so a word partly filled and stored again, and the zeroes a
//! store writes past its bytes, never reach it wrong. A producer that stored into
//! room not yet taken off would show as a wrong byte here.
#![cfg(loom)]

use consumer_process::__loom::{Doorbell, ring};
use loom::sync::Arc;
use loom::thread;

/// Pushes `chunks` (each at most 8 bytes) through a ring of two words (8 bytes of
/// room) and returns what the writer thread read.
fn through_ring(chunks: &'static [&'static [u8]]) -> Vec<u8> {
    let (mut tx, mut rx) = ring(16);
    let bell = Arc::new(Doorbell::default());
    let w = {
        let bell = Arc::clone(&bell);
        thread::spawn(move || {
            bell.writer_is(thread::current());
            let mut got = Vec::new();
            while bell.wait_pushed(rx.taken()) {
                rx.read_into(bell.pushed_total(), &mut got);
                bell.wrote(rx.taken());
            }
            got
        })
    };
    for chunk in chunks {
        // As the link does: wait for the writer thread to take more than the
        // count that showed too little room.
        loop {
            let taken = bell.written();
            if tx.free(taken) >= chunk.len() as u64 {
                break;
            }
            bell.wait_written(taken + 1);
        }
        tx.store(chunk);
        bell.pushed(tx.pushed());
    }
    bell.wait_written(tx.pushed());
    bell.stop();
    w.join().unwrap()
}

#[test]
fn bytes_cross_laps_in_order_whatever_the_interleaving() {
    loom::model(|| {
        // A full ring, a read that stops mid-word, then a lap over that word.
        let got = through_ring(&[b"abcde", b"fgh", b"ijklmnop", b"qrs"]);
        assert_eq!(got, b"abcdefghijklmnopqrs");
    });
}

#[test]
fn a_word_stored_twice_reads_right_either_way() {
    loom::model(|| {
        let got = through_ring(&[b"ab", b"c", b"defghi"]);
        assert_eq!(got, b"abcdefghi");
    });
}
