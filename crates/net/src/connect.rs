//! The calling side: connect, authenticate, and get a sender or a remote service.

use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use consumer::{Error, ErrorKind};
use consumer_auth::{Auth, AuthKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Address, ClientTls, Conn};
use consumer_process::{Identity, Remote, Sender};

/// How long authentication may take, by default, on either side.
pub(crate) const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to a [`Server`](crate::Server): over TCP (a shared key required, unless
/// you say otherwise) or a Unix socket (a key optional: the socket's directory is
/// private already).
///
/// With a key, both ends prove they hold it before a single frame is sent
/// ([`consumer_auth`]'s mutual HMAC-SHA-256 challenge-response); a wrong key is an
/// [`Auth`](ErrorKind::Auth) error at once, a silent server a
/// [`Timeout`](ErrorKind::Timeout) after 10 seconds ([`auth_timeout`](Connector::auth_timeout)).
/// With the `tokio` feature, `connect_async` and `sender_async` do the same on a
/// tokio runtime.
///
/// # Examples
///
/// ```
/// use consumer::Consumer;
/// use consumer_net::{Connector, Server};
/// use consumer_auth::AuthKey;
///
/// let key = AuthKey::generate()?;
/// let server = Server::bind(&"127.0.0.1:0".parse()?)?.key(key.clone());
/// let serving = server.serve(Vec::<u32>::new)?;
///
/// let mut tx = Connector::new(serving.local_addr().clone()).key(key).sender::<u32>()?;
/// tx.send_all([3, 2, 1])?;
/// tx.close()?; // returns once the server's consumer has them all and has closed
/// serving.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Connector {
    addr: Address,
    key: Option<AuthKey>,
    unauthenticated: bool,
    auth_timeout: Duration,
    tls: Option<ClientTls>,
    pub(crate) identity: Option<Identity>,
}

impl Connector {
    /// Connects to `addr`; set a [`key`](Connector::key) for TCP.
    pub fn new(addr: Address) -> Connector {
        Connector {
            addr,
            key: None,
            unauthenticated: false,
            auth_timeout: AUTH_TIMEOUT,
            tls: None,
            identity: None,
        }
    }

    /// Pins the item type's identity on the streams this connector makes (see
    /// [`Identity::named`]); the [`Server`](crate::Server) must pin the same. For a
    /// [`client`](Connector::client) it pins the request stream, and the reply
    /// stream as its `name.reply` (see
    /// [`stream_identities`](consumer_process::stream_identities)).
    ///
    /// ```
    /// use consumer_net::{Connector, Identity};
    ///
    /// let c = Connector::new("/tmp/s.sock".parse()?).identity(Identity::named("orders", 2));
    /// # drop(c);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn identity(mut self, identity: Identity) -> Connector {
        self.identity = Some(identity);
        self
    }

    /// Authenticates with `key` (the server must hold the same one).
    ///
    /// ```
    /// let key = consumer_auth::AuthKey::new(b"a key of sixteen+".to_vec())?;
    /// let c = consumer_net::Connector::new("10.0.0.7:7000".parse()?).key(key);
    /// # drop(c);
    /// # Ok::<(), consumer::Error>(())
    /// ```
    pub fn key(mut self, key: AuthKey) -> Connector {
        self.key = Some(key);
        self
    }

    /// Allows a TCP connection without a key. Anyone who can reach the port can
    /// then feed the server, and anyone on the path can read the items: for tests
    /// and closed networks only.
    pub fn unauthenticated(mut self) -> Connector {
        self.unauthenticated = true;
        self
    }

    /// Connects over TLS (TCP only): the server must present a certificate that
    /// chains to `tls`'s roots and carries its server name; with a client
    /// certificate, this side proves itself to a server that asks (mutual TLS).
    ///
    /// TLS authenticates the server and encrypts the items, so a TCP connector with
    /// TLS needs no [`key`](Connector::key); a key given as well runs inside TLS
    /// (see `docs/decisions/0014-tls.md`). A server without TLS is refused with an
    /// error that names TLS, never spoken to in clear.
    ///
    /// ```
    /// use consumer_net::{ClientTls, Connector};
    ///
    /// let ca = rcgen::generate_simple_self_signed(["localhost".to_owned()])?;
    /// let tls = ClientTls::from_ca(ca.cert.pem().as_bytes())?;
    /// let c = Connector::new("localhost:7000".parse()?).tls(tls);
    /// # drop(c);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls(mut self, tls: ClientTls) -> Connector {
        self.tls = Some(tls);
        self
    }

    /// How long authentication may take (default 10 s). The TLS handshake, when
    /// there is one, has a deadline of the same length before it.
    pub fn auth_timeout(mut self, timeout: Duration) -> Connector {
        self.auth_timeout = timeout;
        self
    }

    /// Connects and authenticates: the raw connection, for your own protocol on top.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for TCP without a key or TLS (fail closed), or TLS
    /// on a Unix socket; an I/O error connecting; [`Auth`](ErrorKind::Auth),
    /// [`Protocol`](ErrorKind::Protocol) or [`Timeout`](ErrorKind::Timeout) in the TLS
    /// handshake or authenticating.
    pub fn connect(&self) -> Result<Conn, Error> {
        let (addr, auth) = self.checked()?;
        let mut conn = match addr {
            Address::Tcp(a) => {
                let sock = TcpStream::connect(a.as_str()).map_err(|e| connect_error(addr, e))?;
                match &self.tls {
                    Some(tls) => crate::tls::connect(sock, tls, a, self.auth_timeout)?,
                    None => Conn::from(sock),
                }
            }
            Address::Unix(p) => {
                Conn::from(UnixStream::connect(p).map_err(|e| connect_error(addr, e))?)
            }
        };
        if let Some(auth) = auth {
            auth.connect(&mut conn)?;
        }
        Ok(conn)
    }

    /// Fails closed (TCP without a key or TLS and not
    /// [`unauthenticated`](Connector::unauthenticated), or TLS on a Unix socket, is a
    /// [`Usage`](ErrorKind::Usage) error); otherwise where to connect and how to
    /// authenticate, if at all.
    pub(super) fn checked(&self) -> Result<(&Address, Option<Auth>), Error> {
        match &self.addr {
            Address::Tcp(a)
                if self.key.is_none() && self.tls.is_none() && !self.unauthenticated =>
            {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!(
                        "refusing to connect to {a} over TCP without a key or TLS: give one, \
                         or call `unauthenticated()` to send in the clear to anyone"
                    ),
                ));
            }
            Address::Unix(_) if self.tls.is_some() => {
                return Err(Error::new(
                    ErrorKind::Usage,
                    format!("TLS is for TCP; {} is a Unix socket", self.addr),
                ));
            }
            _ => {}
        }
        let auth = self
            .key
            .as_ref()
            .map(|key| Auth::new(key.clone()).timeout(self.auth_timeout));
        Ok((&self.addr, auth))
    }

    /// The TLS settings and the handshake's deadline, for the async connector.
    pub(super) fn tls_settings(&self) -> Option<(&ClientTls, Duration)> {
        self.tls.as_ref().map(|tls| (tls, self.auth_timeout))
    }

    /// Connects and returns a [`Sender`] of items to the server's consumer, with the
    /// server's report coming back on the same connection: `close` returns the far
    /// consumer's real outcome.
    pub fn sender<T: Serialize + Deserialize<'static> + 'static>(
        &self,
    ) -> Result<Sender<T, Conn>, Error> {
        let conn = self.connect()?;
        let back = conn.try_clone()?;
        let tx = Sender::new(conn).with_report(back);
        Ok(match &self.identity {
            Some(id) => tx.identity(id.clone()),
            None => tx,
        })
    }

    /// Connects and returns the server's service as a [`Remote`]: wrap it in a
    /// [`consumer::Client`] to `call` it.
    pub fn client<Q, R>(&self) -> Result<Remote<Q, R>, Error>
    where
        Q: Serialize + Deserialize<'static> + Send + 'static,
        R: DeserializeOwned + Send + 'static,
    {
        let conn = self.connect()?;
        // A call's deadline bounds a blocked request write too: see `shut_with`.
        let shut = conn.try_clone()?;
        let remote = Remote::over_pinned(conn.try_clone()?, conn, self.identity.clone())?;
        Ok(remote.shut_with(move || shut.shutdown()))
    }
}

pub(super) fn connect_error(addr: &Address, e: std::io::Error) -> Error {
    let kind = match e.kind() {
        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound => {
            ErrorKind::Disconnected
        }
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("connecting to {addr}: {e}")).with_source(e)
}
