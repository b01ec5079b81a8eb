//! What the bench targets share (a subdirectory module, so not a bench target of its
//! own; `crates/net`'s benchmarks include it too): the raw baselines' framing, the very bytes our sender writes for `u64`
//! items, written and parsed by hand; and our side's small-item send loop.

use std::hint::black_box;
use std::io::{Read, Write};

use consumer::Consumer;
use consumer_process::{Codec, Flush, Sender};

/// How our side sends the items.
#[derive(Clone, Copy)]
pub(crate) enum Mode {
    /// One `send_all`.
    Batch,
    /// One `send` at a time, flush policy manual, a flush at the end.
    Manual,
    /// One `send` at a time with the default policy, no flush call.
    Default,
}

/// Ours: sends the items `0..n` as `mode` says; the caller closes.
pub(crate) fn send_small<W: Write + Send + 'static, C: Codec>(
    mut tx: Sender<u64, W, C>,
    n: u64,
    mode: Mode,
) -> Sender<u64, W, C> {
    match mode {
        Mode::Batch => tx.send_all(0..n).unwrap(),
        Mode::Manual | Mode::Default => {
            if let Mode::Manual = mode {
                tx = tx.flush_policy(Flush::Manual);
            }
            for i in 0..n {
                tx.send(i).unwrap();
            }
            if let Mode::Manual = mode {
                tx.flush().unwrap();
            }
        }
    }
    tx
}

/// bincode's variable-length `u64`, written by hand for the raw baseline.
pub(crate) fn varint(n: u64, out: &mut [u8; 9]) -> usize {
    if n < 251 {
        out[0] = n as u8;
        1
    } else if n <= u64::from(u16::MAX) {
        out[0] = 251;
        out[1..3].copy_from_slice(&(n as u16).to_le_bytes());
        3
    } else if n <= u64::from(u32::MAX) {
        out[0] = 252;
        out[1..5].copy_from_slice(&(n as u32).to_le_bytes());
        5
    } else {
        out[0] = 253;
        out[1..9].copy_from_slice(&n.to_le_bytes());
        9
    }
}

fn unvarint(b: &[u8]) -> u64 {
    match b[0] {
        251 => u64::from(u16::from_le_bytes([b[1], b[2]])),
        252 => u64::from(u32::from_le_bytes(b[1..5].try_into().unwrap())),
        253 => u64::from_le_bytes(b[1..9].try_into().unwrap()),
        n => u64::from(n),
    }
}

/// The stream's end frame.
pub(crate) const END: [u8; 5] = [1, 0, 0, 0, 3];

/// Writes a 16-byte handshake, the items `0..n` one frame each (length, kind 1, the
/// varint), and the end frame, through `w` (a `BufWriter`; the caller flushes).
pub(crate) fn write_frames(w: &mut impl Write, n: u64) {
    w.write_all(&[0u8; 16]).unwrap();
    let mut b = [0u8; 9];
    for i in 0..n {
        let k = varint(i, &mut b);
        w.write_all(&(k as u32 + 1).to_le_bytes()).unwrap();
        w.write_all(&[1]).unwrap();
        w.write_all(&b[..k]).unwrap();
    }
    w.write_all(&END).unwrap();
}

/// Reads what [`write_frames`] writes, up to the end frame or the end of the
/// stream, and sums the items (kept alive).
pub(crate) fn read_frames(mut r: impl Read) -> u64 {
    let mut hs = [0u8; 16];
    r.read_exact(&mut hs).unwrap();
    let (mut sum, mut body) = (0u64, [0u8; 16]);
    loop {
        let mut len = [0u8; 4];
        if r.read_exact(&mut len).is_err() {
            break;
        }
        let len = u32::from_le_bytes(len) as usize;
        r.read_exact(&mut body[..len]).unwrap();
        match body[0] {
            1 => sum = sum.wrapping_add(unvarint(&body[1..len])),
            _ => break,
        }
    }
    black_box(sum)
}
