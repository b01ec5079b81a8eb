//! The one step where a server turns an accepted socket into the stream its
//! handshake and wire run on: as it is, or wrapped in TLS. It runs under the
//! handshake deadline and the limit on unauthenticated connections, before
//! authentication; a transport that wraps the socket is one more [`Accept`] variant
//! and one more arm in [`Accept::wrap`], and nothing else in the server changes.

use std::time::Duration;

use consumer::{Error, ErrorKind};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::ServerTls;
use crate::tls_tokio::EndAtEof;
use crate::tokio_conn::AsyncConn;

/// Any stream a server can serve: what [`Accept::wrap`] gives.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for S {}

/// An accepted connection's stream, whatever wraps the socket.
pub(crate) type Stream = Box<dyn Io>;

/// How a server wraps each accepted socket before authentication.
#[derive(Clone, Debug, Default)]
pub(crate) enum Accept {
    /// The socket as it is. A TCP peer whose first bytes are a TLS record is
    /// refused with an error that names TLS (the [`AsyncConn`]'s check).
    #[default]
    Plain,
    /// A TLS handshake first (`Server::tls`, TCP only).
    Tls(ServerTls),
}

impl Accept {
    /// Wraps `conn` for this server's transport (for TLS: the TLS handshake, which
    /// refuses a client in clear). Runs under the server's handshake deadline.
    pub(crate) async fn wrap(&self, conn: AsyncConn) -> Result<Stream, Error> {
        match self {
            Accept::Plain => Ok(Box::new(conn)),
            Accept::Tls(tls) => {
                let (sock, peer) = conn.into_tcp().ok_or_else(|| {
                    Error::new(ErrorKind::Usage, "TLS is for TCP connections only")
                })?;
                let s = crate::tls_tokio::accept(sock, tls, &peer).await?;
                Ok(Box::new(EndAtEof(s)))
            }
        }
    }

    /// Whether this step authenticates the peer by itself (mutual TLS), so that a
    /// TCP server may run without a key.
    pub(crate) fn authenticates(&self) -> bool {
        matches!(self, Accept::Tls(tls) if tls.is_mutual())
    }

    /// The error for a handshake deadline `after` passed while [`wrap`](Accept::wrap)
    /// was still running, with `peer`.
    pub(crate) fn timed_out(&self, after: Duration, peer: &str) -> Error {
        match self {
            Accept::Plain => Error::new(
                ErrorKind::Timeout,
                format!("the handshake was not done within {after:?}"),
            ),
            Accept::Tls(_) => {
                crate::tls::with_context(crate::tls::timed_out(after), &format!("with {peer}"))
            }
        }
    }
}
