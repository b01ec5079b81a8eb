//! The blocking driver's I/O: reads into a [`Decoder`], vectored writes. The async
//! twins are in `tokio_io.rs`; every decision about the bytes is the wire's.

use std::io::{self, Read, Write};

use consumer::Error;
use consumer_wire::{Decoder, Heard};

/// An I/O error, its message saying what was being done.
pub(crate) fn io_error(what: &str, e: io::Error) -> Error {
    let message = format!("{what}: {e}");
    Error::from(e).with_message(message)
}

/// One read into the decoder's target (vectored when it offers two places); the
/// number of bytes, 0 at the end of the stream.
pub(crate) fn read_into(dec: &mut Decoder, r: &mut impl Read) -> Result<usize, Error> {
    let n = dec.frame_number() + 1;
    let target = dec.read_target();
    let got = loop {
        let r = if target.then.is_empty() {
            r.read(target.first)
        } else {
            r.read_vectored(&mut [
                io::IoSliceMut::new(target.first),
                io::IoSliceMut::new(target.then),
            ])
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_error(&format!("frame {n}"), e)),
            Ok(k) => break k,
        }
    };
    dec.filled(got);
    Ok(got)
}

/// Reads until the decoder has a frame (`true`) or the stream ends between frames
/// (`false`).
pub(crate) fn fill(dec: &mut Decoder, r: &mut impl Read) -> Result<bool, Error> {
    loop {
        if dec.poll()? {
            return Ok(true);
        }
        if read_into(dec, r)? == 0 {
            dec.end_of_input()?;
            return Ok(false);
        }
    }
}

/// Reads one frame of a report channel and says what it was.
pub(crate) fn hear(dec: &mut Decoder, r: &mut impl Read) -> Heard {
    let n = dec.frame_number() + 1;
    let frame = match fill(dec, r) {
        Ok(true) => dec.take().map(Some),
        Ok(false) => Ok(None),
        Err(e) => Err(e),
    };
    Heard::from_frame(n, frame)
}

/// `write_all` of two slices, with vectored writes.
pub(crate) fn write_all_vectored(out: &mut impl Write, head: &[u8], tail: &[u8]) -> io::Result<()> {
    let mut slices = [io::IoSlice::new(head), io::IoSlice::new(tail)];
    let mut bufs = &mut slices[..];
    io::IoSlice::advance_slices(&mut bufs, 0);
    while !bufs.is_empty() {
        match out.write_vectored(bufs) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut bufs, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
