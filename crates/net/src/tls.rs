//! TLS on TCP (rustls, the `ring` provider): the two configurations, the
//! handshakes with a deadline on the whole of them, and the errors that name TLS.
//!
//! A [`ServerTls`] (certificate chain and key; optionally a CA that client
//! certificates must chain to: mutual TLS) goes to [`Server::tls`](crate::Server::tls);
//! a [`ClientTls`] (the CA roots that the server's certificate must chain to;
//! optionally a client certificate; the server's name) to
//! [`Connector::tls`](crate::Connector::tls). The HMAC key, when there is one,
//! runs inside TLS; mutual TLS may stand instead of it (see
//! `docs/decisions/0014-tls.md`).
//!
//! **Fail closed.** TLS on one side only is an error on both sides, never a
//! fall-back to clear text: a TLS server refuses a plain client's first bytes (and
//! says so in an alert the plain client reports as "the peer speaks TLS"), a plain
//! TCP connection refuses a first read that is a TLS record, and a TLS client
//! refuses a server that answers in clear or hangs up during the handshake. The
//! handshake has a deadline for the whole of it: the server's
//! `handshake_timeout` (TLS and authentication together), the connector's
//! `auth_timeout`.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use consumer::{Error, ErrorKind};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::accept::Accept;
use crate::tls_stream::TlsStream;
use crate::{Address, Conn};

/// The one crypto provider compiled in: ring.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A server's TLS settings: its certificate chain and private key and, for mutual
/// TLS, the CA that every client's certificate must chain to.
///
/// Give it to [`Server::tls`](crate::Server::tls). A server with
/// [`client_ca`](ServerTls::client_ca) authenticates its clients by certificate, and
/// may then run over TCP without a key; without it the server proves itself to its
/// clients and encrypts, and the clients still authenticate with the key.
///
/// ```no_run
/// use consumer_net::ServerTls;
///
/// let tls = ServerTls::from_pem_files("server.crt", "server.key")?
///     .client_ca_file("clients-ca.crt")?; // mutual TLS
/// # drop(tls);
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Clone)]
pub struct ServerTls {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    client_ca: Option<Arc<RootCertStore>>,
    pub(crate) config: Arc<ServerConfig>,
}

impl ServerTls {
    /// From PEM text: `chain` holds the server's certificate first, then any
    /// intermediates; `key` its private key (PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for PEM without a certificate or a key, or a key
    /// that rustls refuses.
    ///
    /// ```
    /// let cert = rcgen::generate_simple_self_signed(["localhost".to_owned()])?;
    /// let tls = consumer_net::ServerTls::from_pem(
    ///     cert.cert.pem().as_bytes(),
    ///     cert.signing_key.serialize_pem().as_bytes(),
    /// )?;
    /// assert!(!tls.is_mutual());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_pem(chain: &[u8], key: &[u8]) -> Result<ServerTls, Error> {
        let chain = certificates(chain, "the server's certificate chain")?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| pem_error("the server's private key", &e))?;
        ServerTls::build(chain, Arc::new(key), None)
    }

    /// As [`from_pem`](ServerTls::from_pem), reading the two files.
    ///
    /// # Errors
    ///
    /// An I/O error reading a file, then as [`from_pem`](ServerTls::from_pem).
    pub fn from_pem_files(
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<ServerTls, Error> {
        ServerTls::from_pem(&read(chain.as_ref())?, &read(key.as_ref())?)
    }

    /// Requires every client to present a certificate that chains to one of the CA
    /// certificates in `ca` (PEM): mutual TLS. A client without one, or with one
    /// from another CA, fails the handshake.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for PEM without a usable CA certificate.
    pub fn client_ca(self, ca: &[u8]) -> Result<ServerTls, Error> {
        let roots = roots(ca, "the client CA")?;
        ServerTls::build(self.chain, self.key, Some(Arc::new(roots)))
    }

    /// As [`client_ca`](ServerTls::client_ca), reading the file.
    ///
    /// # Errors
    ///
    /// An I/O error reading the file, then as [`client_ca`](ServerTls::client_ca).
    pub fn client_ca_file(self, ca: impl AsRef<Path>) -> Result<ServerTls, Error> {
        let ca = read(ca.as_ref())?;
        self.client_ca(&ca)
    }

    /// Whether clients must present a certificate (mutual TLS).
    pub fn is_mutual(&self) -> bool {
        self.client_ca.is_some()
    }

    fn build(
        chain: Vec<CertificateDer<'static>>,
        key: Arc<PrivateKeyDer<'static>>,
        client_ca: Option<Arc<RootCertStore>>,
    ) -> Result<ServerTls, Error> {
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error("the server's TLS", &e))?;
        let builder = match &client_ca {
            Some(roots) => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::clone(roots), provider())
                        .build()
                        .map_err(|e| config_error("the client CA", &e))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(|e| config_error("the server's certificate and key", &e))?;
        Ok(ServerTls {
            chain,
            key,
            client_ca,
            config: Arc::new(config),
        })
    }
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("certificates", &self.chain.len())
            .field("mutual", &self.is_mutual())
            .finish_non_exhaustive()
    }
}

/// A client's TLS settings: the CA certificates the server's certificate must chain
/// to, optionally a certificate of its own (for a server that requires mutual TLS),
/// and the name to check the server's certificate against.
///
/// Give it to [`Connector::tls`](crate::Connector::tls). Only the roots given are
/// trusted (no system store): a private CA is the common case for a consumer's
/// servers.
///
/// ```no_run
/// use consumer_net::ClientTls;
///
/// let tls = ClientTls::from_ca_file("ca.crt")?
///     .client_cert_files("client.crt", "client.key")? // for mutual TLS
///     .server_name("consumer.internal")?; // default: the address's host
/// # drop(tls);
/// # Ok::<(), consumer::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientTls {
    roots: Arc<RootCertStore>,
    identity: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    name: Option<ServerName<'static>>,
    config: Arc<ClientConfig>,
}

impl ClientTls {
    /// Trusts the CA certificates in `ca` (PEM), and only those.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for PEM without a usable CA certificate.
    ///
    /// ```
    /// let ca = rcgen::generate_simple_self_signed(["localhost".to_owned()])?;
    /// let tls = consumer_net::ClientTls::from_ca(ca.cert.pem().as_bytes())?;
    /// # drop(tls);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_ca(ca: &[u8]) -> Result<ClientTls, Error> {
        ClientTls::build(Arc::new(roots(ca, "the CA")?), None, None)
    }

    /// As [`from_ca`](ClientTls::from_ca), reading the file.
    ///
    /// # Errors
    ///
    /// An I/O error reading the file, then as [`from_ca`](ClientTls::from_ca).
    pub fn from_ca_file(ca: impl AsRef<Path>) -> Result<ClientTls, Error> {
        ClientTls::from_ca(&read(ca.as_ref())?)
    }

    /// Presents this certificate chain and key to a server that asks for one
    /// (mutual TLS).
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for PEM without a certificate or a key, or a key
    /// that rustls refuses.
    pub fn client_cert(self, chain: &[u8], key: &[u8]) -> Result<ClientTls, Error> {
        let chain = certificates(chain, "the client's certificate chain")?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| pem_error("the client's private key", &e))?;
        ClientTls::build(self.roots, Some((chain, Arc::new(key))), self.name)
    }

    /// As [`client_cert`](ClientTls::client_cert), reading the two files.
    ///
    /// # Errors
    ///
    /// An I/O error reading a file, then as [`client_cert`](ClientTls::client_cert).
    pub fn client_cert_files(
        self,
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<ClientTls, Error> {
        let (chain, key) = (read(chain.as_ref())?, read(key.as_ref())?);
        self.client_cert(&chain, &key)
    }

    /// The name (DNS name or IP address) the server's certificate must carry. By
    /// default, the host part of the address connected to.
    ///
    /// # Errors
    ///
    /// [`Usage`](ErrorKind::Usage) for a name that is neither.
    pub fn server_name(mut self, name: &str) -> Result<ClientTls, Error> {
        self.name = Some(server_name(name)?);
        Ok(self)
    }

    fn build(
        roots: Arc<RootCertStore>,
        identity: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
        name: Option<ServerName<'static>>,
    ) -> Result<ClientTls, Error> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| config_error("the client's TLS", &e))?
            .with_root_certificates(Arc::clone(&roots));
        let config = match &identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain.clone(), key.clone_key())
                .map_err(|e| config_error("the client's certificate and key", &e))?,
            None => builder.with_no_client_auth(),
        };
        Ok(ClientTls {
            roots,
            identity,
            name,
            config: Arc::new(config),
        })
    }

    /// The name to check the server's certificate against when connecting to `addr`.
    pub(crate) fn name_for(&self, addr: &str) -> Result<ServerName<'static>, Error> {
        match &self.name {
            Some(name) => Ok(name.clone()),
            None => {
                let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
                server_name(host.trim_start_matches('[').trim_end_matches(']'))
            }
        }
    }

    pub(crate) fn config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.config)
    }
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("roots", &self.roots.len())
            .field("client_cert", &self.identity.is_some())
            .field("server_name", &self.name)
            .finish_non_exhaustive()
    }
}

fn server_name(name: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(name.to_owned()).map_err(|e| {
        Error::new(
            ErrorKind::Usage,
            format!("`{name}` is no server name for TLS (a DNS name or an IP address): {e}"),
        )
    })
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| {
        Error::new(ErrorKind::Io, format!("reading {}: {e}", path.display())).with_source(e)
    })
}

fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(what, &e))?;
    if chain.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("{what}: no certificate in the PEM text"),
        ));
    }
    Ok(chain)
}

fn roots(pem: &[u8], what: &str) -> Result<RootCertStore, Error> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(pem, what)? {
        roots.add(cert).map_err(|e| config_error(what, &e))?;
    }
    Ok(roots)
}

fn pem_error(what: &str, e: &rustls::pki_types::pem::Error) -> Error {
    Error::new(ErrorKind::Usage, format!("{what}: bad PEM: {e}"))
}

fn config_error(what: &str, e: &dyn std::fmt::Display) -> Error {
    Error::new(ErrorKind::Usage, format!("{what}: refused by TLS: {e}"))
}

/// Connects TLS over `sock` as a client, the whole handshake within `timeout`.
pub(crate) fn connect(
    sock: TcpStream,
    tls: &ClientTls,
    addr: &str,
    timeout: Duration,
) -> Result<Conn, Error> {
    let name = tls.name_for(addr)?;
    let client = rustls::ClientConnection::new(tls.config(), name)
        .map_err(|e| failed(e, "starting the TLS handshake"))?;
    let peer = crate::conn::tcp_peer(sock.peer_addr());
    let _ = sock.set_nodelay(true);
    let mut tls = rustls::Connection::from(client);
    handshake(&mut tls, &sock, timeout).map_err(|e| with_context(e, &format!("with {addr}")))?;
    Ok(Conn::tls(TlsStream::new(tls, sock)?, peer))
}

/// At most this much of a refused plain client's stream is read and dropped.
pub(crate) const DRAIN: u64 = 1 << 20;

/// How many first bytes a TLS server looks at before its handshake.
pub(crate) const FIRST: usize = 8;

/// What a TLS server answers a client that opened with the consumer wire's
/// handshake in clear (a plain sender with no key): a report that refuses it, which
/// that sender's `close` returns, since a TLS alert would reach it only as a broken
/// report channel. Nothing else is ever said in clear; every other non-TLS opening
/// gets rustls's alert. `None`: let the handshake go on.
pub(crate) fn plain_refusal(first: &[u8]) -> Option<Vec<u8>> {
    if first.len() < 2 || first[0] == 22 || consumer_wire::Handshake::parse(first).is_err() {
        return None;
    }
    let refused = Error::new(
        ErrorKind::Protocol,
        "TLS: this server speaks TLS only, and this client sent in clear text (configure \
         TLS on the client: `Connector::tls`)",
    );
    Some(
        consumer_wire::Report {
            received: 0,
            outcome: Err(refused),
        }
        .frame(),
    )
}

/// The server's side of [`plain_refusal`].
pub(crate) fn plain_client() -> Error {
    Error::new(
        ErrorKind::Protocol,
        "the client sent the consumer wire in clear text to this TLS server (refused)",
    )
}

/// A handshake's failure, said with whom it was.
pub(crate) fn with_context(e: Error, whom: &str) -> Error {
    let why = e.message().map_or_else(|| e.to_string(), str::to_owned);
    Error::new(e.kind(), format!("TLS handshake {whom}: {why}"))
}

/// Drives the handshake to its end on a blocking socket: every read and write waits
/// at most what is left of `timeout`.
fn handshake(
    tls: &mut rustls::Connection,
    sock: &TcpStream,
    timeout: Duration,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    let outcome = (|| {
        let mut sock = sock;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out(timeout));
            }
            sock.set_read_timeout(Some(left)).map_err(Error::from)?;
            sock.set_write_timeout(Some(left)).map_err(Error::from)?;
            if tls.wants_write() {
                tls.write_tls(&mut sock)
                    .map_err(|e| io_failure(e, timeout))?;
                continue;
            }
            if !tls.is_handshaking() && accepted(tls) {
                return Ok(());
            }
            if tls
                .read_tls(&mut sock)
                .map_err(|e| io_failure(e, timeout))?
                == 0
            {
                return Err(hung_up());
            }
            if let Err(e) = tls.process_new_packets() {
                // The last gasp: tell the peer why (an alert), within the deadline.
                while tls.wants_write() && tls.write_tls(&mut sock).is_ok() {}
                return Err(tls_error(&e));
            }
        }
    })();
    let _ = sock.set_read_timeout(None);
    let _ = sock.set_write_timeout(None);
    outcome
}

/// Whether a client knows the server has accepted it. In TLS 1.3 the server checks
/// the client's certificate (or its lack of one) after the client's handshake has
/// ended; a refusal comes as an alert, an acceptance with the session tickets the
/// server sends at once. Waiting for them makes a refusal an error of the
/// handshake, not of the first read after it. (A server is always ready.)
fn accepted(tls: &rustls::Connection) -> bool {
    match tls {
        rustls::Connection::Client(c) => client_accepted(c),
        rustls::Connection::Server(_) => true,
    }
}

/// [`accepted`] for a client's connection.
pub(crate) fn client_accepted(c: &rustls::ClientConnection) -> bool {
    c.protocol_version() != Some(rustls::ProtocolVersion::TLSv1_3) || c.tls13_tickets_received() > 0
}

pub(crate) fn timed_out(timeout: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        format!("no TLS handshake within {timeout:?} (is the peer speaking TLS?)"),
    )
}

pub(crate) fn hung_up() -> Error {
    Error::new(
        ErrorKind::Disconnected,
        "the peer hung up during the TLS handshake (does it speak TLS? is its certificate \
         or ours refused?)",
    )
}

pub(crate) fn io_failure(e: io::Error, timeout: Duration) -> Error {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => timed_out(timeout),
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => hung_up(),
        _ => Error::from(e),
    }
}

fn failed(e: rustls::Error, doing: &str) -> Error {
    Error::new(ErrorKind::Usage, format!("{doing}: {e}"))
}

/// What a rustls error means for us, in words that name TLS and the likely cause.
pub(crate) fn tls_error(e: &rustls::Error) -> Error {
    use rustls::{AlertDescription as A, Error as E, InvalidMessage as M};
    let (kind, why) = match e {
        E::InvalidMessage(
            M::InvalidContentType | M::UnknownProtocolVersion | M::MessageTooLarge,
        ) => (
            ErrorKind::Protocol,
            "the peer does not speak TLS (its bytes are no TLS records): is TLS on at both ends?"
                .to_owned(),
        ),
        E::AlertReceived(
            A::BadCertificate
            | A::UnknownCA
            | A::CertificateRequired
            | A::CertificateUnknown
            | A::CertificateExpired
            | A::CertificateRevoked
            | A::AccessDenied
            | A::UnsupportedCertificate,
        ) => (
            ErrorKind::Auth,
            format!("the peer refused our certificate, or our lack of one ({e})"),
        ),
        E::InvalidCertificate(_) => (
            ErrorKind::Auth,
            format!("the peer's certificate is not trusted ({e})"),
        ),
        E::NoCertificatesPresented => (
            ErrorKind::Auth,
            "the client presented no certificate, and this server requires one (mutual TLS)"
                .to_owned(),
        ),
        _ => (ErrorKind::Protocol, e.to_string()),
    };
    Error::new(kind, format!("TLS: {why}"))
}

/// The first bytes a plain TCP connection reads, checked: a TLS record there means
/// the peer speaks TLS and this side does not — refused, never read as clear text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlainCheck {
    pending: bool,
}

impl PlainCheck {
    /// Checks the first read of a TCP connection.
    pub(crate) fn tcp() -> PlainCheck {
        PlainCheck { pending: true }
    }

    /// Checks nothing (Unix sockets, TLS itself).
    pub(crate) fn none() -> PlainCheck {
        PlainCheck { pending: false }
    }

    /// Whether the check is over (or was never due).
    pub(crate) fn done(&self) -> bool {
        !self.pending
    }

    /// Looks at the bytes of a read (`got`), once: a TLS handshake or alert record
    /// header is an error that names TLS.
    pub(crate) fn check(&mut self, got: &[u8]) -> io::Result<()> {
        if !self.pending || got.is_empty() {
            return Ok(());
        }
        self.pending = false;
        // Content type 22 (handshake: a ClientHello) or 21 (alert: a TLS server
        // refusing our clear text), then major version 3.
        let tls = matches!(got[0], 21 | 22) && got.get(1).is_none_or(|&v| v == 3);
        if !tls {
            return Ok(());
        }
        let what = if got[0] == 22 {
            "the peer started a TLS handshake, and this side is not configured for TLS"
        } else {
            "the peer answered with a TLS alert: it expects TLS, and this side is not configured for it"
        };
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("TLS: {what}"),
        ))
    }
}

/// The other end of [`PlainCheck`]: reads a plain stream through the check.
pub(crate) fn read_checked(
    check: &mut PlainCheck,
    r: &mut impl Read,
    buf: &mut [u8],
) -> io::Result<usize> {
    let n = r.read(buf)?;
    check.check(&buf[..n])?;
    Ok(n)
}

/// Sends what is queued, for a last word (an alert, a close_notify).
pub(crate) fn flush_queued(tls: &mut rustls::Connection, out: &mut impl Write) -> io::Result<()> {
    while tls.wants_write() {
        tls.write_tls(out)?;
    }
    Ok(())
}

/// TLS on a Unix socket is a usage error (the server's other checks are in
/// `Server::into_parts`).
pub(crate) fn check_server(addr: &Address, accept: &Accept) -> Result<(), Error> {
    match (addr, accept) {
        (Address::Unix(_), Accept::Tls(_)) => Err(Error::new(
            ErrorKind::Usage,
            format!(
                "TLS is for TCP; {addr} is a Unix socket (its private directory is the access control)"
            ),
        )),
        _ => Ok(()),
    }
}

impl crate::Server {
    /// Serves TLS (TCP only): every connection's first exchange is a TLS handshake
    /// with `tls`'s certificate, before authentication and before any byte reaches
    /// a decoder; one [`handshake_timeout`](crate::Server::handshake_timeout) covers
    /// the TLS handshake and authentication together. A client
    /// without TLS is refused with an error that names TLS (and told so in an
    /// alert), never read in clear.
    ///
    /// With [`client_ca`](ServerTls::client_ca) (mutual TLS) clients are
    /// authenticated by certificate, and a TCP server needs no
    /// [`key`](crate::Server::key); a key given as well is checked inside TLS. Without
    /// client certificates, TLS proves the server and encrypts, and the key (or
    /// `unauthenticated()`) is still required (see `docs/decisions/0014-tls.md`).
    ///
    /// ```
    /// use consumer::Consumer;
    /// use consumer_net::{ClientTls, Connector, Server, ServerTls};
    ///
    /// let cert = rcgen::generate_simple_self_signed(["localhost".to_owned()])?;
    /// let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    /// let key = consumer_auth::AuthKey::generate()?;
    /// let serving = Server::bind(&"127.0.0.1:0".parse()?)?
    ///     .tls(ServerTls::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?)
    ///     .key(key.clone())
    ///     .serve(Vec::<u32>::new)?;
    /// let mut tx = Connector::new(serving.local_addr().clone())
    ///     .tls(ClientTls::from_ca(cert_pem.as_bytes())?.server_name("localhost")?)
    ///     .key(key)
    ///     .sender::<u32>()?;
    /// tx.send_all([3, 2, 1])?;
    /// tx.close()?; // delivered, encrypted on the way
    /// serving.shutdown()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls(mut self, tls: ServerTls) -> crate::Server {
        self.accept = Accept::Tls(tls);
        self
    }
}
