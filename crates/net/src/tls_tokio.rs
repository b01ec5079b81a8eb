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

/// `AsyncWrite` for a wrapper whose writes all go to one field: `[generics] Type,
/// field`. One forwarding for every such wrapper here (`EndAtEof`, `ReadAhead`,
/// `AsyncConn`, `AsyncConnWriter`).
macro_rules! forward_async_write {
    ([$($gen:tt)*] $ty:ty, $field:tt) => {
        impl<$($gen)*> ::tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                buf: &[u8],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut self.get_mut().$field).poll_write(cx, buf)
            }

            fn poll_write_vectored(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
                bufs: &[::std::io::IoSlice<'_>],
            ) -> ::std::task::Poll<::std::io::Result<usize>> {
                ::std::pin::Pin::new(&mut self.get_mut().$field).poll_write_vectored(cx, bufs)
            }

            fn is_write_vectored(&self) -> bool {
                self.$field.is_write_vectored()
            }

            fn poll_flush(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut self.get_mut().$field).poll_flush(cx)
            }

            fn poll_shutdown(
                self: ::std::pin::Pin<&mut Self>,
                cx: &mut ::std::task::Context<'_>,
            ) -> ::std::task::Poll<::std::io::Result<()>> {
                ::std::pin::Pin::new(&mut self.get_mut().$field).poll_shutdown(cx)
            }
        }
    };
}
pub(crate) use forward_async_write;

/// The server's TLS handshake, run by [`Accept::Tls`](crate::accept::Accept): wraps
/// an accepted TCP stream in TLS before authentication. The server's handshake
/// deadline bounds it (and names TLS when it passes here: `Accept::timed_out`).
/// `peer` names the peer in errors. A client that opens with the consumer wire in
/// clear is told so in a report (see [`plain_refusal`]).
pub(crate) async fn accept(
    mut stream: TcpStream,
    tls: &ServerTls,
    peer: &str,
) -> Result<tokio_rustls::server::TlsStream<ReadAhead<TcpStream>>, Error> {
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
        .accept(ReadAhead::new(stream))
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

forward_async_write!([S: AsyncWrite + Unpin] EndAtEof<S>, 0);

/// How much [`ReadAhead`] reads from the socket at once: four full TLS records.
const READ_AHEAD: usize = 4 * (16 * 1024 + 256);

/// A socket read in large pieces for rustls, which asks for 4 KiB at a time (a
/// system call each, 16 for a 64 KiB item): one read of up to [`READ_AHEAD`]
/// bytes, then rustls's reads from memory. The buffer exists only while bytes
/// flow: it is made on the first read and given back once the socket has nothing
/// more and the buffer is drained, so an idle connection holds none. Writes pass
/// through.
#[derive(Debug)]
pub(crate) struct ReadAhead<S> {
    inner: S,
    buf: Vec<u8>,
    /// `buf[pos..end]` holds bytes read and not yet taken.
    pos: usize,
    end: usize,
}

impl<S> ReadAhead<S> {
    fn new(inner: S) -> ReadAhead<S> {
        ReadAhead {
            inner,
            buf: Vec::new(),
            pos: 0,
            end: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos == this.end {
            if out.remaining() >= READ_AHEAD {
                // As large as ours: no reason to go through the buffer.
                return Pin::new(&mut this.inner).poll_read(cx, out);
            }
            if this.buf.is_empty() {
                this.buf = vec![0; READ_AHEAD];
            }
            let mut into = ReadBuf::new(&mut this.buf);
            match Pin::new(&mut this.inner).poll_read(cx, &mut into) {
                Poll::Ready(Ok(())) => (this.pos, this.end) = (0, into.filled().len()),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => {
                    // Nothing more for now: an idle connection holds no buffer.
                    this.buf = Vec::new();
                    return Poll::Pending;
                }
            }
        }
        let n = out.remaining().min(this.end - this.pos);
        out.put_slice(&this.buf[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

forward_async_write!([S: AsyncWrite + Unpin] ReadAhead<S>, inner);

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_ahead_gives_every_byte_in_order_and_holds_no_buffer_when_idle() {
        let (mut far, near) = tokio::io::duplex(1 << 20);
        let mut r = ReadAhead::new(near);
        let sent: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        far.write_all(&sent).await.unwrap();
        let mut got = Vec::new();
        let mut chunk = [0u8; 4096];
        while got.len() < sent.len() {
            let n = r.read(&mut chunk).await.unwrap();
            got.extend_from_slice(&chunk[..n]);
        }
        assert_eq!(got, sent);
        // Drained, and the socket has nothing: the next read waits, without a buffer.
        let pending = std::future::poll_fn(|cx| {
            let mut buf = ReadBuf::new(&mut chunk);
            Poll::Ready(Pin::new(&mut r).poll_read(cx, &mut buf).is_pending())
        })
        .await;
        assert!(pending);
        assert!(r.buf.is_empty());
        // Writes pass through; the end of the stream reads as the end.
        r.write_all(b"back").await.unwrap();
        let mut back = [0u8; 4];
        far.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"back");
        drop(far);
        assert_eq!(r.read(&mut chunk).await.unwrap(), 0);
    }
}
