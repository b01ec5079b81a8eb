//! The one step where a server turns an accepted socket into the stream its
//! handshake and wire run on. Plain today; a transport that wraps the socket (TLS)
//! is one more [`Accept`] variant and one more arm in [`Accept::wrap`], and nothing
//! else in the server changes: it runs under the handshake deadline and the limit
//! on unauthenticated connections, before authentication.

use consumer::Error;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::tokio_conn::AsyncConn;

/// Any stream a server can serve: what [`Accept::wrap`] gives.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for S {}

/// An accepted connection's stream, whatever wraps the socket.
pub(crate) type Stream = Box<dyn Io>;

/// How a server wraps each accepted socket before authentication.
#[derive(Clone, Debug, Default)]
pub(crate) enum Accept {
    /// The socket as it is.
    #[default]
    Plain,
}

impl Accept {
    /// Wraps `conn` for this server's transport (for TLS: the TLS handshake). Runs
    /// under the server's handshake deadline.
    pub(crate) async fn wrap(&self, conn: AsyncConn) -> Result<Stream, Error> {
        match self {
            Accept::Plain => Ok(Box::new(conn)),
        }
    }
}
