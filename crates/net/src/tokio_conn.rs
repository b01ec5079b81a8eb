//! The async side of sockets, connections: `AsyncConn` and its
//! halves, `Connector::connect_async` / `sender_async` — the same addresses,
//! fail-closed rule, authentication, wire and reports as the blocking side.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use consumer::Error;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf, ReadHalf, WriteHalf};
use tokio::net::{TcpStream, UnixStream, tcp, unix};

use crate::conn::{tcp_peer, unix_peer};
use crate::connect::connect_error;
use crate::tls::PlainCheck;
use crate::tls_tokio::{EndAtEof, forward_async_write, poll_read_checked};
use crate::{Address, Connector};
use consumer_process::AsyncSender;

/// An enum of two streams that is a stream itself: each call goes to the variant's.
/// One forwarding for every two-way shape here ([`Socket`], [`Layer`]).
macro_rules! either_stream {
    ($(#[$doc:meta])* $name:ident { $a:ident, $b:ident }) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub(super) enum $name<A, B> {
            $a(A),
            $b(B),
        }

        impl<A: AsyncRead + Unpin, B: AsyncRead + Unpin> AsyncRead for $name<A, B> {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $name::$a(s) => Pin::new(s).poll_read(cx, buf),
                    $name::$b(s) => Pin::new(s).poll_read(cx, buf),
                }
            }
        }

        impl<A: AsyncWrite + Unpin, B: AsyncWrite + Unpin> AsyncWrite for $name<A, B> {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $name::$a(s) => Pin::new(s).poll_write(cx, buf),
                    $name::$b(s) => Pin::new(s).poll_write(cx, buf),
                }
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                match self.get_mut() {
                    $name::$a(s) => Pin::new(s).poll_write_vectored(cx, bufs),
                    $name::$b(s) => Pin::new(s).poll_write_vectored(cx, bufs),
                }
            }

            fn is_write_vectored(&self) -> bool {
                match self {
                    $name::$a(s) => s.is_write_vectored(),
                    $name::$b(s) => s.is_write_vectored(),
                }
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $name::$a(s) => Pin::new(s).poll_flush(cx),
                    $name::$b(s) => Pin::new(s).poll_flush(cx),
                }
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                match self.get_mut() {
                    $name::$a(s) => Pin::new(s).poll_shutdown(cx),
                    $name::$b(s) => Pin::new(s).poll_shutdown(cx),
                }
            }
        }
    };
}

either_stream! {
    /// One of two socket types, TCP or Unix: the shape of every async socket here.
    Socket { Tcp, Unix }
}

either_stream! {
    /// A plain stream or a TLS one: the shape of an async connection and its halves.
    Layer { Plain, Tls }
}

/// A TLS connection over TCP, either side's.
type Tls = EndAtEof<Box<tokio_rustls::TlsStream<TcpStream>>>;

/// One async connection, over TCP or a Unix socket: the async twin of
/// [`Conn`](crate::Conn), what [`Connector::connect_async`] gives and what an
/// [`AsyncServing`](crate::AsyncServing) server reads from.
///
/// It is a tokio [`AsyncRead`] + [`AsyncWrite`]; [`into_split`](AsyncConn::into_split)
/// parts it into an [`AsyncConnReader`] and an [`AsyncConnWriter`] that tasks can
/// own separately (no lock between them; a TLS connection's halves share one
/// short lock). TCP connections have `TCP_NODELAY` set. A plain TCP connection whose
/// first read is a TLS record fails with an error that names TLS.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use consumer_net::AsyncConn;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (a, b) = tokio::net::UnixStream::pair()?;
/// let (mut a, mut b) = (AsyncConn::from(a), AsyncConn::from(b));
/// a.write_all(b"hi").await?;
/// let mut got = [0; 2];
/// b.read_exact(&mut got).await?;
/// assert_eq!(&got, b"hi");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct AsyncConn {
    stream: Layer<Socket<TcpStream, UnixStream>, Tls>,
    peer: String,
    check: PlainCheck,
}

impl AsyncConn {
    /// Who is at the other end, for logs: `IP:PORT` for TCP, `unix` or the peer's
    /// path for a Unix socket.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let (a, _b) = tokio::net::UnixStream::pair()?;
    /// assert_eq!(consumer_net::AsyncConn::from(a).peer(), "unix");
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Parts the connection into a reading and a writing half (tokio's owned
    /// halves; dropping the writer shuts the writing direction down).
    ///
    /// ```
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// use consumer_net::AsyncConn;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// let (a, b) = tokio::net::UnixStream::pair()?;
    /// let (mut reader, mut writer) = AsyncConn::from(a).into_split();
    /// let (mut b_reader, mut b_writer) = AsyncConn::from(b).into_split();
    /// writer.write_all(b"ping").await?;
    /// b_writer.write_all(b"pong").await?;
    /// let (mut got, mut back) = ([0; 4], [0; 4]);
    /// b_reader.read_exact(&mut got).await?;
    /// reader.read_exact(&mut back).await?;
    /// assert_eq!((&got, &back), (b"ping", b"pong"));
    /// # Ok::<(), std::io::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn into_split(self) -> (AsyncConnReader, AsyncConnWriter) {
        let (r, w) = match self.stream {
            Layer::Plain(Socket::Tcp(s)) => {
                let (r, w) = s.into_split();
                (Layer::Plain(Socket::Tcp(r)), Layer::Plain(Socket::Tcp(w)))
            }
            Layer::Plain(Socket::Unix(s)) => {
                let (r, w) = s.into_split();
                (Layer::Plain(Socket::Unix(r)), Layer::Plain(Socket::Unix(w)))
            }
            Layer::Tls(s) => {
                let (r, w) = tokio::io::split(s);
                (Layer::Tls(r), Layer::Tls(w))
            }
        };
        (
            AsyncConnReader {
                half: r,
                check: self.check,
            },
            AsyncConnWriter(w),
        )
    }

    /// The TCP socket of a plain TCP connection and its peer's name, for the TLS
    /// handshake.
    pub(super) fn into_tcp(self) -> Option<(TcpStream, String)> {
        match self.stream {
            Layer::Plain(Socket::Tcp(s)) => Some((s, self.peer)),
            _ => None,
        }
    }

    /// A connection over TLS, after its handshake.
    pub(super) fn tls(stream: tokio_rustls::TlsStream<TcpStream>, peer: String) -> AsyncConn {
        AsyncConn {
            stream: Layer::Tls(EndAtEof(Box::new(stream))),
            peer,
            check: PlainCheck::none(),
        }
    }
}

impl From<TcpStream> for AsyncConn {
    fn from(s: TcpStream) -> AsyncConn {
        // As for `Conn`: senders buffer on purpose, Nagle would only add latency.
        let _ = s.set_nodelay(true);
        AsyncConn {
            peer: tcp_peer(s.peer_addr()),
            stream: Layer::Plain(Socket::Tcp(s)),
            check: PlainCheck::tcp(),
        }
    }
}

impl From<UnixStream> for AsyncConn {
    fn from(s: UnixStream) -> AsyncConn {
        AsyncConn {
            peer: unix_peer(s.peer_addr().ok().as_ref().and_then(|a| a.as_pathname())),
            stream: Layer::Plain(Socket::Unix(s)),
            check: PlainCheck::none(),
        }
    }
}

impl AsyncRead for AsyncConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        poll_read_checked(&mut this.check, &mut this.stream, cx, buf)
    }
}

forward_async_write!([] AsyncConn, stream);

/// The reading half of an [`AsyncConn`] (see [`AsyncConn::into_split`]): where an
/// [`AsyncSender`] made by [`Connector::sender_async`] reads the server's report.
///
/// ```
/// use tokio::io::AsyncReadExt;
/// use consumer_net::AsyncConn;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (a, b) = tokio::net::UnixStream::pair()?;
/// let (mut reader, _writer) = AsyncConn::from(a).into_split();
/// drop(b);
/// assert_eq!(reader.read(&mut [0; 4]).await?, 0); // the peer is gone
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct AsyncConnReader {
    half: Layer<Socket<tcp::OwnedReadHalf, unix::OwnedReadHalf>, ReadHalf<Tls>>,
    check: PlainCheck,
}

impl AsyncRead for AsyncConnReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        poll_read_checked(&mut this.check, &mut this.half, cx, buf)
    }
}

/// The writing half of an [`AsyncConn`] (see [`AsyncConn::into_split`]): what an
/// [`AsyncSender`] made by [`Connector::sender_async`] writes its frames to.
///
/// ```
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use consumer_net::AsyncConn;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let (a, mut b) = tokio::net::UnixStream::pair()?;
/// let (_reader, mut writer) = AsyncConn::from(a).into_split();
/// writer.write_all(b"bye").await?;
/// writer.shutdown().await?;
/// let mut got = Vec::new();
/// b.read_to_end(&mut got).await?;
/// assert_eq!(got, b"bye");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct AsyncConnWriter(
    Layer<Socket<tcp::OwnedWriteHalf, unix::OwnedWriteHalf>, WriteHalf<Tls>>,
);

forward_async_write!([] AsyncConnWriter, 0);

impl Connector {
    /// [`connect`](Connector::connect) on a tokio runtime: connects and
    /// authenticates ([`Auth::connect_async`](consumer_auth::Auth::connect_async), under the same
    /// [`auth_timeout`](Connector::auth_timeout)), and gives the raw connection.
    ///
    /// # Errors
    ///
    /// As [`connect`](Connector::connect): [`Usage`](consumer::ErrorKind::Usage) for TCP
    /// without a key or TLS (fail closed), an I/O error connecting,
    /// [`Auth`](consumer::ErrorKind::Auth), [`Protocol`](consumer::ErrorKind::Protocol)
    /// or [`Timeout`](consumer::ErrorKind::Timeout) in the TLS handshake or authenticating.
    ///
    /// ```
    /// use consumer::ErrorKind;
    /// use consumer_net::Connector;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// // TCP without a key fails closed, before any connection is made.
    /// let e = Connector::new("127.0.0.1:9".parse()?).connect_async().await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Usage);
    /// # Ok::<(), consumer::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn connect_async(&self) -> Result<AsyncConn, Error> {
        let (addr, auth) = self.checked()?;
        let mut conn = match addr {
            Address::Tcp(a) => {
                let sock = TcpStream::connect(a.as_str())
                    .await
                    .map_err(|e| connect_error(addr, e))?;
                match self.tls_settings() {
                    Some((tls, timeout)) => {
                        let _ = sock.set_nodelay(true);
                        let peer = tcp_peer(sock.peer_addr());
                        let s = crate::tls_tokio::connect(sock, tls, a, timeout).await?;
                        AsyncConn::tls(s.into(), peer)
                    }
                    None => AsyncConn::from(sock),
                }
            }
            Address::Unix(p) => AsyncConn::from(
                UnixStream::connect(p)
                    .await
                    .map_err(|e| connect_error(addr, e))?,
            ),
        };
        if let Some(auth) = auth {
            auth.connect_async(&mut conn).await?;
        }
        Ok(conn)
    }

    /// [`sender`](Connector::sender) on a tokio runtime: an [`AsyncSender`] over the
    /// connection's writing half, reading the server's report on its reading half, so
    /// `close().await` returns the far consumer's real outcome.
    ///
    /// # Errors
    ///
    /// As [`connect_async`](Connector::connect_async).
    ///
    /// ```
    /// use consumer_net::{Connector, PrivateDir, Server};
    ///
    /// let dir = PrivateDir::new("sender-async")?;
    /// let addr = consumer_net::Address::Unix(dir.join("sock"));
    /// // A blocking server: the two sides mix freely.
    /// let total = consumer::Inline::new(Vec::<u64>::new()).shared();
    /// let serving = Server::bind(&addr)?.serve_shared(total.clone())?;
    /// tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
    ///     let mut tx = Connector::new(addr.clone()).sender_async::<u64>().await?;
    ///     tx.send_all([3, 2, 1]).await?;
    ///     tx.close().await // the items are delivered
    /// })?;
    /// serving.shutdown()?;
    /// assert_eq!(total.with(Vec::clone), [3, 2, 1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub async fn sender_async<T: Serialize + serde::Deserialize<'static> + 'static>(
        &self,
    ) -> Result<AsyncSender<T, AsyncConnWriter>, Error> {
        let (reader, writer) = self.connect_async().await?.into_split();
        let tx = AsyncSender::new(writer).with_report(reader);
        Ok(match &self.identity {
            Some(id) => tx.identity(id.clone()),
            None => tx,
        })
    }
}
