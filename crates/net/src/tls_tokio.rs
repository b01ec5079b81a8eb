//! TLS for tokio streams (tokio-rustls): the server's handshake (under the server's
//! handshake deadline), the connector's (within its own), and the stream shapes
//! `AsyncConn` and the server's TLS streams are made of.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use consumer::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::tls::{
    ClientTls, DRAIN, FIRST, PlainCheck, ServerTls, hung_up, plain_client, plain_refusal,
    timed_out, tls_error, with_context,
};

/// The server's TLS handshake, run by [`Accept::Tls`](crate::accept::Accept): wraps
/// an accepted TCP stream in TLS before authentication. The server's handshake
/// deadline bounds it (and names TLS when it passes here: `Accept::timed_out`).
/// `peer` names the peer in errors. A client that opens with the consumer wire in
/// clear is told so in a report (see [`plain_refusal`]).
pub(crate) async fn accept(
    mut stream: TcpStream,
    tls: &ServerTls,
    peer: &str,
) -> Result<tokio_rustls::server::TlsStream<TcpStream>, Error> {
    let acceptor = TlsAcceptor::from(Arc::clone(&tls.config));
    let whom = format!("with {peer}");
    let mut first = [0u8; FIRST];
    let n = match stream.peek(&mut first).await {
        Ok(n) => n,
        Err(e) => return Err(with_context(handshake_failure(e), &whom)),
    };
    if let Some(refusal) = plain_refusal(&first[..n]) {
        if stream.write_all(&refusal).await.is_ok() {
            // Read the client's rest (bounded by the deadline and `DRAIN`) so that
            // closing does not reset the connection before the client has read the
            // refusal.
            let _ = stream.shutdown().await;
            let _ = tokio::io::copy(&mut (&mut stream).take(DRAIN), &mut tokio::io::sink()).await;
        }
        return Err(with_context(plain_client(), &whom));
    }
    acceptor
        .accept(stream)
        .await
        .map_err(|e| with_context(handshake_failure(e), &whom))
}

/// Connects TLS over `stream` as a client of `addr` (`HOST:PORT`), the whole
/// handshake within `timeout`.
pub(crate) async fn connect<S>(
    stream: S,
    tls: &ClientTls,
    addr: &str,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let connector = TlsConnector::from(tls.config());
    let name = tls.name_for(addr)?;
    let whom = format!("with {addr}");
    let handshake = async {
        let mut s = connector.connect(name, stream).await?;
        until_accepted(&mut s).await?;
        Ok::<_, io::Error>(s)
    };
    match tokio::time::timeout(timeout, handshake).await {
        Err(_) => Err(with_context(timed_out(timeout), &whom)),
        Ok(Err(e)) => Err(with_context(handshake_failure(e), &whom)),
        Ok(Ok(s)) => Ok(s),
    }
}

/// Reads until the server has accepted us (see [`accepted`](crate::tls::accepted)):
/// its session tickets, or its alert as an error. Our servers say nothing first, so
/// plaintext here breaks the protocol.
async fn until_accepted<S>(s: &mut tokio_rustls::client::TlsStream<S>) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    std::future::poll_fn(|cx| {
        if crate::tls::client_accepted(s.get_ref().1) {
            return Poll::Ready(Ok(()));
        }
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        match Pin::new(&mut *s).poll_read(cx, &mut buf) {
            // Tickets make no plaintext: they are in, or we wait for more.
            Poll::Pending if crate::tls::client_accepted(s.get_ref().1) => Poll::Ready(Ok(())),
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                Poll::Ready(Err(io::ErrorKind::UnexpectedEof.into()))
            }
            Poll::Ready(Ok(())) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "TLS: the server sent data before the client spoke",
            ))),
        }
    })
    .await
}

/// A failed async handshake: tokio-rustls carries rustls's error inside an I/O
/// error.
fn handshake_failure(e: io::Error) -> Error {
    if let Some(tls) = e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
        return tls_error(tls);
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => hung_up(),
        _ => Error::from(e),
    }
}

/// Reads `inner` through a [`PlainCheck`].
pub(crate) fn poll_read_checked<R: AsyncRead + Unpin>(
    check: &mut PlainCheck,
    inner: &mut R,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let before = buf.filled().len();
    ready!(Pin::new(inner).poll_read(cx, buf))?;
    check.check(&buf.filled()[before..])?;
    Poll::Ready(Ok(()))
}

/// A TLS stream whose peer's close without a close_notify reads as the end of the
/// stream, as on a plain socket: the wire frames its own end (see
/// `docs/decisions/0014-tls.md`).
#[derive(Debug)]
pub(crate) struct EndAtEof<S>(pub(crate) S);

impl<S: AsyncRead + Unpin> AsyncRead for EndAtEof<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match ready!(Pin::new(&mut self.get_mut().0).poll_read(cx, buf)) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(())),
            other => Poll::Ready(other),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EndAtEof<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}
