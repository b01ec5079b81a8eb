//! Drivers that run the handshake over real streams, blocking or async, under one
//! deadline for the whole exchange.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use consumer::{Error, ErrorKind};

use crate::AuthKey;
use crate::protocol::{Client, Server, Step};

/// A byte stream whose reads and writes can be given a timeout: what
/// [`Auth`](crate::Auth) needs to drop a silent peer.
///
/// Implemented for [`TcpStream`] and [`UnixStream`]:
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use std::time::Duration;
/// use consumer_auth::Stream;
///
/// let (a, _b) = UnixStream::pair()?;
/// a.set_timeouts(Some(Duration::from_secs(1)))?;
/// assert_eq!(a.read_timeout()?, Some(Duration::from_secs(1)));
/// assert_eq!(a.write_timeout()?, Some(Duration::from_secs(1)));
/// # Ok::<(), std::io::Error>(())
/// ```
pub trait Stream: Read + Write {
    /// Sets the read and write timeouts (`None`: block forever).
    ///
    /// ```
    /// use std::net::{TcpListener, TcpStream};
    /// use std::time::Duration;
    /// use consumer_auth::Stream;
    ///
    /// let listener = TcpListener::bind("127.0.0.1:0")?;
    /// let conn = TcpStream::connect(listener.local_addr()?)?;
    /// conn.set_timeouts(Some(Duration::from_millis(500)))?;
    /// conn.set_timeouts(None)?;
    /// assert_eq!(conn.read_timeout()?, None);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    fn set_timeouts(&self, timeout: Option<Duration>) -> std::io::Result<()>;
}

impl Stream for TcpStream {
    fn set_timeouts(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(timeout)?;
        self.set_write_timeout(timeout)
    }
}

impl Stream for UnixStream {
    fn set_timeouts(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.set_read_timeout(timeout)?;
        self.set_write_timeout(timeout)
    }
}

/// Mutual authentication with a shared key, for either end of a stream.
///
/// Both ends prove they hold the key without sending it; either end that does not is
/// refused before a single byte of its data is read. The whole exchange must finish
/// within the [`timeout`](Auth::timeout) (10 s by default), so a silent or slow peer
/// is dropped. See the [crate docs](crate) for the protocol and what it does not give.
///
/// # Examples
///
/// ```
/// use std::os::unix::net::UnixStream;
/// use consumer_auth::{Auth, AuthKey};
///
/// let key = AuthKey::new(b"0123456789abcdef".to_vec())?;
/// let (mut a, mut b) = UnixStream::pair()?;
/// let server = Auth::new(key.clone());
/// let t = std::thread::spawn(move || server.accept(&mut b));
/// Auth::new(key).connect(&mut a)?;
/// t.join().unwrap()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Auth {
    key: AuthKey,
    timeout: Duration,
}

impl Auth {
    /// Authenticates with `key`, within 10 seconds.
    ///
    /// ```
    /// use consumer_auth::{Auth, AuthKey};
    ///
    /// let auth = Auth::new(AuthKey::new(b"0123456789abcdef".to_vec())?);
    /// assert_eq!(format!("{auth:?}"), "Auth { key: AuthKey(16 bytes), timeout: 10s }");
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn new(key: AuthKey) -> Auth {
        Auth {
            key,
            timeout: Duration::from_secs(10),
        }
    }

    /// How long the whole exchange may take.
    ///
    /// A peer that says nothing is dropped when the time is up:
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use std::time::Duration;
    /// use consumer::ErrorKind;
    /// use consumer_auth::{Auth, AuthKey};
    ///
    /// let (mut a, _silent) = UnixStream::pair()?;
    /// let auth = Auth::new(AuthKey::generate()?).timeout(Duration::from_millis(50));
    /// assert_eq!(auth.connect(&mut a).unwrap_err().kind(), ErrorKind::Timeout);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Auth {
        self.timeout = timeout;
        self
    }

    /// Authenticates the peer that connected to us (and ourselves to it). On success
    /// the stream's timeouts are cleared; on failure the verdict has been sent and the
    /// stream should be dropped.
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use consumer_auth::{Auth, AuthKey};
    ///
    /// let key = AuthKey::generate()?;
    /// let (mut ours, mut theirs) = UnixStream::pair()?;
    /// let client = Auth::new(key.clone());
    /// let t = std::thread::spawn(move || client.connect(&mut theirs));
    /// Auth::new(key).accept(&mut ours)?;
    /// t.join().unwrap()?;
    /// assert_eq!(ours.read_timeout()?, None); // cleared: the stream is ready for data
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn accept<S: Stream>(&self, stream: &mut S) -> Result<(), Error> {
        let mut server = Server::new(&self.key);
        self.drive(stream, |input| server.next(input))
    }

    /// Authenticates us to the server we connected to (and it to us).
    ///
    /// A server with another key is refused:
    ///
    /// ```
    /// use std::os::unix::net::UnixStream;
    /// use consumer::ErrorKind;
    /// use consumer_auth::{Auth, AuthKey};
    ///
    /// let (mut a, mut b) = UnixStream::pair()?;
    /// let server = Auth::new(AuthKey::new(b"the server's key!".to_vec())?);
    /// let t = std::thread::spawn(move || server.accept(&mut b));
    /// let e = Auth::new(AuthKey::generate()?).connect(&mut a).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Auth);
    /// drop(a); // hang up: the server's accept fails too
    /// assert!(t.join().unwrap().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn connect<S: Stream>(&self, stream: &mut S) -> Result<(), Error> {
        let mut client = Client::new(&self.key)?;
        self.drive(stream, |input| client.next(input))
    }

    fn drive<S: Stream>(
        &self,
        stream: &mut S,
        mut next: impl FnMut(&[u8]) -> Result<Step, Error>,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + self.timeout;
        let mut buf = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out(self.timeout));
            }
            stream.set_timeouts(Some(left)).map_err(io_error)?;
            match next(&buf)? {
                Step::Write(bytes) => {
                    buf.clear();
                    stream
                        .write_all(&bytes)
                        .and_then(|()| stream.flush())
                        .map_err(|e| self.io(e))?;
                }
                Step::Read(n) => {
                    buf.resize(n, 0);
                    stream.read_exact(&mut buf).map_err(|e| self.io(e))?;
                }
                Step::Done => return stream.set_timeouts(None).map_err(io_error),
            }
        }
    }

    fn io(&self, e: std::io::Error) -> Error {
        match e.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                timed_out(self.timeout)
            }
            _ => io_error(e),
        }
    }

    #[cfg(feature = "tokio")]
    /// [`accept`](Auth::accept) for tokio streams.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), consumer::Error> {
    /// use consumer_auth::{Auth, AuthKey};
    ///
    /// let auth = Auth::new(AuthKey::generate()?);
    /// let (mut a, mut b) = tokio::io::duplex(128);
    /// let (server, client) = tokio::join!(auth.accept_async(&mut b), auth.connect_async(&mut a));
    /// server?;
    /// client?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept_async<S>(&self, stream: &mut S) -> Result<(), Error>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let mut server = Server::new(&self.key);
        self.drive_async(stream, |input| server.next(input)).await
    }

    #[cfg(feature = "tokio")]
    /// [`connect`](Auth::connect) for tokio streams.
    ///
    /// A server with another key is refused:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), consumer::Error> {
    /// use consumer::ErrorKind;
    /// use consumer_auth::{Auth, AuthKey};
    ///
    /// let (mut a, mut b) = tokio::io::duplex(128);
    /// let server = Auth::new(AuthKey::generate()?);
    /// let client = async move {
    ///     let refused = Auth::new(AuthKey::generate()?).connect_async(&mut a).await;
    ///     drop(a); // hang up, so the server stops waiting
    ///     refused
    /// };
    /// let (served, refused) = tokio::join!(server.accept_async(&mut b), client);
    /// assert_eq!(refused.unwrap_err().kind(), ErrorKind::Auth);
    /// assert!(served.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_async<S>(&self, stream: &mut S) -> Result<(), Error>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let mut client = Client::new(&self.key)?;
        self.drive_async(stream, |input| client.next(input)).await
    }

    #[cfg(feature = "tokio")]
    async fn drive_async<S>(
        &self,
        stream: &mut S,
        mut next: impl FnMut(&[u8]) -> Result<Step, Error>,
    ) -> Result<(), Error>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let exchange = async {
            let mut buf = Vec::new();
            loop {
                match next(&buf)? {
                    Step::Write(bytes) => {
                        buf.clear();
                        stream.write_all(&bytes).await.map_err(io_error)?;
                        stream.flush().await.map_err(io_error)?;
                    }
                    Step::Read(n) => {
                        buf.resize(n, 0);
                        stream.read_exact(&mut buf).await.map_err(io_error)?;
                    }
                    Step::Done => return Ok(()),
                }
            }
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| Err(timed_out(self.timeout)))
    }
}

fn timed_out(timeout: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("authentication did not finish within {timeout:?}"),
    )
}

fn io_error(e: std::io::Error) -> Error {
    let what = if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the peer hung up during authentication (it may hold another key)".to_owned()
    } else {
        format!("during authentication: {e}")
    };
    Error::from(e).with_message(what)
}
