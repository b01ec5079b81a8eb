//! The sending side's sans-I/O half: frames items into a buffer. Shared by the sync
//! [`Sender`](crate::Sender) and the async sender.

use std::any::Any;

use consumer::Error;
use serde::Serialize;

use crate::codec::Codec;
use crate::wire::{self, Context, Handshake, Kind, Report};

/// Byte vectors of at least this size may be written from where they lie instead of
/// being copied into the buffer.
pub(crate) const DIRECT_BYTES: usize = 16 << 10;

/// How much a sender buffers before it writes, whatever the flush policy.
pub(crate) const BATCH_BYTES: usize = 64 << 10;

/// Frames items into `buf`: the handshake first, a context frame when the caller's
/// span changed, then one frame per item.
#[derive(Debug)]
pub(crate) struct Encoder<C> {
    pub(crate) buf: Vec<u8>,
    pub(crate) codec: C,
    pub(crate) max_frame: u32,
    pub(crate) tag: String,
    /// Handshake flags (whether a report is expected).
    pub(crate) flags: u8,
    opened: bool,
    /// The tracing context last announced to the receiver.
    context: Context,
}

impl<C: Codec> Encoder<C> {
    pub(crate) fn new(codec: C) -> Encoder<C> {
        Encoder {
            buf: Vec::with_capacity(BATCH_BYTES + 1024),
            codec,
            max_frame: wire::DEFAULT_MAX_FRAME,
            tag: String::new(),
            flags: 0,
            opened: false,
            context: Context::default(),
        }
    }

    /// The handshake, and the tracing context when it changed, go in front of the
    /// first frame of a batch.
    pub(crate) fn prepare<T: ?Sized>(&mut self) {
        if !self.opened {
            self.opened = true;
            let hs = Handshake {
                codec: C::ID,
                flags: self.flags,
                fingerprint: wire::fingerprint::<T>(&self.tag),
            };
            self.buf.extend_from_slice(&hs.encode());
        }
        if self.buf.len() <= wire::HANDSHAKE_LEN {
            let span = current_span_id();
            if span != self.context.span {
                self.context = Context {
                    pid: std::process::id(),
                    span,
                };
                wire::push_frame(&mut self.buf, Kind::Context, &self.context.encode());
            }
        }
    }

    /// Appends one item's frame; on failure the buffer is as it was.
    pub(crate) fn item<T: Serialize + 'static>(&mut self, item: &T) -> Result<(), Error> {
        self.prepare::<T>();
        let start = wire::begin_frame(&mut self.buf, Kind::Item);
        // Byte vectors skip serde's call per byte; the bytes on the wire are the same.
        let encoded = match (item as &dyn Any).downcast_ref::<Vec<u8>>() {
            Some(bytes) => self.codec.encode_bytes(bytes, &mut self.buf),
            None => self.codec.encode(item, &mut self.buf),
        };
        if let Err(e) = encoded {
            self.buf.truncate(start);
            return Err(e);
        }
        wire::end_frame(&mut self.buf, start, self.max_frame)
    }

    /// Appends the frame header of a large byte vector whose bytes the caller writes
    /// right after the buffer; `false` (buffer unchanged) when the codec cannot.
    pub(crate) fn bytes_header<T: ?Sized>(&mut self, len: usize) -> Result<bool, Error> {
        self.prepare::<T>();
        let start = wire::begin_frame(&mut self.buf, Kind::Item);
        if !self.codec.bytes_header(len, &mut self.buf) {
            self.buf.truncate(start);
            return Ok(false);
        }
        let frame = self.buf.len() - start - 4 + len;
        if frame > self.max_frame as usize {
            self.buf.truncate(start);
            return Err(wire::protocol(format!(
                "the item takes {frame} bytes, more than the frame limit of {}",
                self.max_frame
            )));
        }
        self.buf[start..start + 4].copy_from_slice(&(frame as u32).to_le_bytes());
        Ok(true)
    }

    /// Appends the end frame.
    pub(crate) fn end<T: ?Sized>(&mut self) {
        self.prepare::<T>();
        wire::push_frame(&mut self.buf, Kind::End, &[]);
    }
}

/// The receiver's report as the outcome of a sender that had `accepted` items.
pub(crate) fn outcome_of(report: Report, accepted: u64) -> Result<(), Error> {
    let undelivered = accepted.saturating_sub(report.received);
    match report.outcome {
        Ok(()) if report.received == accepted => Ok(()),
        Ok(()) => Err(wire::protocol(format!(
            "the receiver reports {} items received, {accepted} were sent",
            report.received
        ))
        .with_undelivered(undelivered)),
        Err(e) => Err(e.with_undelivered(undelivered)),
    }
}

/// The id of the span the caller is in, or 0; without cloning the span.
fn current_span_id() -> u64 {
    tracing::dispatcher::get_default(|d| d.current_span().id().map_or(0, |id| id.into_u64()))
}
