//! Mutual authentication for the streams coprocesses talk over.
//!
//! The notes warn that their coprocesses "would not be used where any end-point was
//! untrusted". This crate is the gate in front of every socket: before a single
//! byte of data is decoded, both ends prove they hold the same secret [`AuthKey`],
//! with a mutual HMAC-SHA-256 challenge-response — the design of Python
//! multiprocessing's `authkey`, without its old mistakes (no pickle before
//! authentication, both sides challenge, the role and both nonces inside the MAC,
//! constant-time comparison, a deadline for the whole exchange).
//!
//! ```text
//! client                                              server
//!   HELLO     magic | version | client nonce      ──▶  37 bytes, read exactly
//!   ◀──  CHALLENGE  magic | version | server nonce | HMAC(k, label|"server"|nonces)
//!   PROOF     HMAC(k, label|"client"|nonces)      ──▶  32 bytes
//!   ◀──  VERDICT    accepted / rejected (1 byte)
//! ```
//!
//! # Example
//!
//! ```
//! use std::net::{TcpListener, TcpStream};
//! use consumer_auth::{Auth, AuthKey};
//!
//! let key = AuthKey::generate()?;
//! let listener = TcpListener::bind("127.0.0.1:0")?;
//! let addr = listener.local_addr()?;
//! let server = Auth::new(key.clone());
//! let t = std::thread::spawn(move || -> Result<(), consumer::Error> {
//!     let (mut conn, _) = listener.accept()?;
//!     server.accept(&mut conn) // only now may `conn` reach a decoder
//! });
//! let mut conn = TcpStream::connect(addr)?;
//! Auth::new(key).connect(&mut conn)?;
//! t.join().unwrap()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What it guarantees
//!
//! - A peer without the key learns nothing that helps it and gets nothing through:
//!   it is refused ([`ErrorKind::Auth`](consumer::ErrorKind::Auth)) after at most 37
//!   bytes read from it, all of fixed size.
//! - A recorded handshake cannot be replayed (fresh nonces on both sides) and a
//!   server's proof cannot be reflected back as a client's (the role is in the MAC).
//! - A silent or slow peer is dropped when the deadline passes
//!   ([`ErrorKind::Timeout`](consumer::ErrorKind::Timeout)).
//!
//! # What it does not do
//!
//! No encryption: after the handshake the bytes travel in clear and are not
//! integrity-protected, so an attacker on the path can read them, and one who can
//! also rewrite them could hijack the connection. Use it on networks you control, or
//! under TLS or an SSH tunnel; a TLS transport can take this crate's place in front of
//! the same decoder later. The key is compared, never sent, but it is only as strong as
//! its entropy: [`AuthKey::generate`] makes a good one.

#![forbid(unsafe_code)]

mod drive;
mod key;
mod protocol;

pub use drive::{Auth, Stream};
pub use key::{AuthKey, MIN_KEY_LEN};
