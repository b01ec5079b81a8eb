//! Addresses and connections: one type for TCP and Unix sockets.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use consumer::{Error, ErrorKind};

use crate::tls::{PlainCheck, read_checked};
use crate::tls_stream::TlsStream;

/// Where a [`Server`](crate::Server) listens and a [`Connector`](crate::Connector)
/// connects: a TCP address or a Unix socket's path.
///
/// Parsed from text as the command line gives it: `unix:PATH`, or anything with a
/// `/` in it, is a Unix socket; `tcp:HOST:PORT`, or `HOST:PORT`, is TCP.
///
/// ```
/// use consumer_net::Address;
///
/// let tcp: Address = "127.0.0.1:7000".parse()?;
/// assert_eq!(tcp, Address::Tcp("127.0.0.1:7000".into()));
/// let unix: Address = "/run/user/1000/countdown/sock".parse()?;
/// assert!(matches!(unix, Address::Unix(_)));
/// assert!("no-port".parse::<Address>().is_err());
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// A TCP address, `HOST:PORT` (a name is resolved when connecting or binding).
    Tcp(String),
    /// A Unix domain socket's path, in a directory only its owner can enter.
    Unix(PathBuf),
}

impl FromStr for Address {
    type Err = Error;

    fn from_str(s: &str) -> Result<Address, Error> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Usage,
                format!("bad address `{s}`: {why} (use HOST:PORT or unix:PATH)"),
            )
        };
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(bad("no path"));
            }
            return Ok(Address::Unix(PathBuf::from(path)));
        }
        if s.contains('/') {
            return Ok(Address::Unix(PathBuf::from(s)));
        }
        let hostport = s.strip_prefix("tcp:").unwrap_or(s);
        match hostport.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(Address::Tcp(hostport.to_owned()))
            }
            _ => Err(bad("no port")),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Tcp(a) => f.write_str(a),
            Address::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// One connection, over TCP or a Unix socket: what a [`Connector`](crate::Connector)
/// gives and a [`Server`](crate::Server) hands to each connection's consumer.
///
/// Reads and writes go straight to the socket (senders and receivers buffer on
/// their own); TCP connections have `TCP_NODELAY` set, so a lone frame leaves at
/// once. Over TLS ([`Connector::tls`](crate::Connector::tls),
/// [`Server::tls`](crate::Server::tls)) each write is encrypted and sent before it
/// returns. A plain TCP connection whose first read is a TLS record fails with an
/// error that names TLS: the peer expects TLS and this side does not speak it. A connection can be cloned ([`try_clone`](Conn::try_clone)) to read on
/// one handle while writing on another.
///
/// ```
/// use std::io::{Read, Write};
/// use consumer_net::Conn;
///
/// let (a, b) = std::os::unix::net::UnixStream::pair()?;
/// let (mut a, mut b) = (Conn::from(a), Conn::from(b));
/// a.write_all(b"hi")?;
/// let mut got = [0; 2];
/// b.read_exact(&mut got)?;
/// assert_eq!(&got, b"hi");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Conn {
    stream: Stream,
    peer: String,
    check: PlainCheck,
}

#[derive(Debug)]
enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
    Tls(TlsStream),
}

impl Conn {
    /// Who is at the other end, for logs: `IP:PORT` for TCP, `unix` or the peer's
    /// path for a Unix socket.
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// assert_eq!(consumer_net::Conn::from(a).peer(), "unix");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// A second handle on the same connection.
    ///
    /// ```
    /// let (a, _b) = std::os::unix::net::UnixStream::pair()?;
    /// let a = consumer_net::Conn::from(a);
    /// let reader = a.try_clone()?;
    /// # drop(reader);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_clone(&self) -> Result<Conn, Error> {
        let stream = match &self.stream {
            Stream::Tcp(s) => Stream::Tcp(s.try_clone()?),
            Stream::Unix(s) => Stream::Unix(s.try_clone()?),
            Stream::Tls(s) => Stream::Tls(s.clone()),
        };
        Ok(Conn {
            stream,
            peer: self.peer.clone(),
            check: self.check,
        })
    }

    /// A connection over TLS, after its handshake.
    pub(crate) fn tls(stream: TlsStream, peer: String) -> Conn {
        Conn {
            stream: Stream::Tls(stream),
            peer,
            check: PlainCheck::none(),
        }
    }

    /// Shuts both directions down: the peer reads the end of the stream, and a read
    /// blocked on any handle of this connection returns.
    ///
    /// ```
    /// use std::io::Read;
    ///
    /// let (a, b) = std::os::unix::net::UnixStream::pair()?;
    /// consumer_net::Conn::from(a).shutdown();
    /// assert_eq!((&b).read(&mut [0; 4])?, 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn shutdown(&self) {
        // Already shut or reset: nothing left to do.
        let _ = match &self.stream {
            Stream::Tcp(s) => s.shutdown(Shutdown::Both),
            Stream::Unix(s) => s.shutdown(Shutdown::Both),
            Stream::Tls(s) => {
                s.shutdown();
                Ok(())
            }
        };
    }

    pub(crate) fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
        match &self.stream {
            Stream::Tcp(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            Stream::Unix(s) => {
                s.set_read_timeout(timeout)?;
                s.set_write_timeout(timeout)
            }
            Stream::Tls(s) => s.set_timeouts(timeout),
        }
    }
}

impl From<TcpStream> for Conn {
    fn from(s: TcpStream) -> Conn {
        // Senders buffer and flush on purpose; Nagle would only add latency. A socket
        // that refuses the option still works.
        let _ = s.set_nodelay(true);
        let peer = tcp_peer(s.peer_addr());
        Conn {
            stream: Stream::Tcp(s),
            peer,
            check: PlainCheck::tcp(),
        }
    }
}

impl From<UnixStream> for Conn {
    fn from(s: UnixStream) -> Conn {
        let peer = unix_peer(s.peer_addr().ok().as_ref().and_then(|a| a.as_pathname()));
        Conn {
            stream: Stream::Unix(s),
            peer,
            check: PlainCheck::none(),
        }
    }
}

/// A TCP peer's name for logs: `IP:PORT`, or `tcp` when the socket cannot say.
pub(super) fn tcp_peer(addr: io::Result<std::net::SocketAddr>) -> String {
    addr.map_or_else(|_| "tcp".to_owned(), |a| a.to_string())
}

/// A Unix peer's name for logs: its path if it has one, else `unix`.
pub(super) fn unix_peer(path: Option<&std::path::Path>) -> String {
    path.map_or_else(|| "unix".to_owned(), |p| p.display().to_string())
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Tcp(s) => read_checked(&mut self.check, s, buf),
            Stream::Unix(s) => s.read(buf),
            Stream::Tls(s) => (&*s).read(buf),
        }
    }

    fn read_vectored(&mut self, bufs: &mut [io::IoSliceMut<'_>]) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Tcp(s) if !self.check.done() => {
                let Some(buf) = bufs.iter_mut().find(|b| !b.is_empty()) else {
                    return Ok(0);
                };
                read_checked(&mut self.check, s, buf)
            }
            Stream::Tcp(s) => s.read_vectored(bufs),
            Stream::Unix(s) => s.read_vectored(bufs),
            Stream::Tls(s) => (&*s).read_vectored(bufs),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
            Stream::Tls(s) => (&*s).write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match &mut self.stream {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
            Stream::Tls(s) => (&*s).write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl consumer_auth::Stream for Conn {
    fn set_timeouts(&self, timeout: Option<Duration>) -> io::Result<()> {
        Conn::set_timeouts(self, timeout)
    }
}
