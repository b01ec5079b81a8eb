//! The wire every cross-process transport speaks, without any I/O: bytes in, bytes
//! out. `consumer-process` drives it over pipes, FIFOs and child processes,
//! `consumer-net` over sockets; both with a blocking and a tokio driver around the
//! same state machines, so nothing is written twice.
//!
//! ```text
//!  producer ─send─▶ Outbound ─ Encoder ─▶ bytes ══ any transport ══▶ Decoder ─▶ Inbound ─▶ consumer
//!                     ▲                                                            │
//!                     └───────────── Report (outcome, count) ◀── bytes ◀───────────┘
//! ```
//!
//! # The format
//!
//! ```text
//! handshake (once): "CnSm" | version u16 (3) | codec u8 | flags u8 | fingerprint u64
//!                     | description length u16 (at most 1024) | description (UTF-8)
//! frame:              length u32 | kind u8 | body (length - 1 bytes)
//!   kind 1 Item      body = the codec's encoding of one item
//!   kind 2 Context   body = sender pid u32 | stream u64 | trace id u128 | span id u64 (0: none)
//!   kind 3 End       body = empty: the sender closed
//!   kind 4 Report    body = items received u64 | status u8 | message (UTF-8)
//! ```
//!
//! All integers little-endian. A peer that receives an unknown kind stops with a
//! protocol error. Every length is checked against the limit ([`DEFAULT_MAX_FRAME`],
//! at most [`MAX_FRAME_CEILING`]) before anything is allocated, and a body grows
//! only as its bytes arrive, so a lying length costs at most what the peer sent.
//! A stream that stops without its end frame is
//! [`Disconnected`](consumer::ErrorKind::Disconnected), never a success.
//!
//! Items are encoded by a [`Codec`]: [`Bincode`] (bincode 2.0.1, pinned, always
//! decoding with a limit) by default, or [`Postcard`]. The handshake carries the
//! item type's [`Identity`], so a peer built for another type refuses at once.
//! Request/reply needs no frame kinds of its own: it is two item streams
//! ([`Feed`], [`WireAnswer`]).
//!
//! A driver that stores words rather than bytes (the blocking sender's ring of
//! atomic words) asks for a small item's frame as words,
//! [`Encoder::item_small`] → [`SmallFrame`]: the same bytes, never written to a
//! buffer and read back (see [`SmallFrame`] for why that matters).
//!
//! # An example
//!
//! A sender's bytes, decoded and delivered by hand, as a driver would:
//!
//! ```
//! use consumer_wire::{Bincode, Decoder, Identity, Inbound, Outbound};
//!
//! let mut tx = Outbound::new(Bincode, Identity::of::<String>());
//! for word in ["ten", "nine"] {
//!     tx.encoder().item(&word.to_owned())?;
//!     tx.accepted_one();
//! }
//! tx.encoder().end();
//! let bytes = tx.encoder().take();
//!
//! let mut got = Vec::new();
//! let mut rx = Inbound::<String, _, _>::new(&mut got, Bincode, Identity::of::<String>());
//! let mut dec = Decoder::new(consumer_wire::DEFAULT_MAX_FRAME, 4096);
//! dec.read_target().first[..bytes.len()].copy_from_slice(&bytes);
//! dec.filled(bytes.len());
//! rx.handshake(&dec.handshake()?.expect("the handshake is in"))?;
//! while rx.step(&mut dec)? {}
//! assert_eq!(rx.finish(Ok(())).0?, 2);
//! assert_eq!(got, ["ten", "nine"]);
//! # Ok::<(), consumer::Error>(())
//! ```
//!
//! # What this crate does not do
//!
//! - No I/O, no threads, no tokio: drivers live in `consumer-process` and
//!   `consumer-net`.
//! - No authentication or encryption: that is the transport's job (`consumer-auth`).
#![forbid(unsafe_code)]

mod call;
mod codec;
mod context;
mod decode;
mod encode;
mod frame;
mod identity;
mod receive;
mod small;
mod trace;

pub use call::{Feed, WireAnswer, unsendable};
pub use codec::{Bincode, Codec, Postcard};
pub use context::Context;
pub use decode::{Decoder, REPORT_MAX, ReadTarget};
pub use encode::{BATCH_BYTES, DIRECT_BYTES, Encoder, Heard, Outbound, Pace, as_bytes, outcome_of};
pub use frame::{
    DEFAULT_MAX_FRAME, DESCRIPTION_MAX, FLAG_REPORT, Frame, HANDSHAKE_LEN, Handshake,
    MAX_FRAME_CEILING, Report, error_from_wire, error_to_wire, protocol_error,
};
pub use identity::Identity;
pub use receive::Inbound;
pub use small::{SMALL_BODY, SmallBody, SmallFrame, lanes_of};
