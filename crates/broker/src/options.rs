//! Where the broker is and how to reach it: address, credentials, TLS, and the
//! stream's names.

use std::path::PathBuf;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use async_nats::{ConnectErrorKind, ConnectOptions};
use consumer::{Error, ErrorKind};

/// A NATS server with JetStream, and the stream that carries the items.
///
/// Every producer and worker of one stream of work is built from the same `Broker`
/// (or one that names the same stream and subject). Credentials and TLS pass
/// straight to the NATS client: user and password, a token, or an nkey seed file;
/// a CA for the server's certificate and a client certificate. Over TLS the
/// credentials only leave once the handshake is done (a server that asks for TLS
/// gets the handshake first even from a client given no TLS options); with
/// [`require_tls`](Broker::require_tls), a server that does not offer TLS is an
/// error before anything is sent.
///
/// ```
/// use std::time::Duration;
/// use consumer_broker::Broker;
///
/// let broker = Broker::new("nats://127.0.0.1:4222")
///     .user_password("worker", "secret")
///     .stream("ORDERS", "orders.new")
///     .connect_timeout(Duration::from_secs(2));
/// assert_eq!(broker.subject(), "orders.new");
/// assert_eq!(broker.dead_letter_subject(), "orders.new.dead");
/// ```
#[derive(Debug, Clone)]
pub struct Broker {
    url: String,
    auth: Auth,
    ca: Option<PathBuf>,
    client_cert: Option<(PathBuf, PathBuf)>,
    require_tls: bool,
    stream: String,
    subject: String,
    connect_timeout: Duration,
}

#[derive(Clone)]
enum Auth {
    None,
    UserPassword(String, String),
    Token(String),
    NkeySeedFile(PathBuf),
}

impl std::fmt::Debug for Auth {
    // Never print a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::UserPassword(user, _) => write!(f, "UserPassword({user:?}, ..)"),
            Auth::Token(_) => f.write_str("Token(..)"),
            Auth::NkeySeedFile(path) => write!(f, "NkeySeedFile({path:?})"),
        }
    }
}

impl Broker {
    /// The server at `url` (`nats://host:port`, `tls://host:port`, or a
    /// comma-separated list), no credentials, stream `CONSUMER` on subject
    /// `consumer.items`.
    ///
    /// ```
    /// let broker = consumer_broker::Broker::new("nats://127.0.0.1:4222");
    /// assert_eq!(broker.stream_name(), "CONSUMER");
    /// ```
    pub fn new(url: impl Into<String>) -> Broker {
        Broker {
            url: url.into(),
            auth: Auth::None,
            ca: None,
            client_cert: None,
            require_tls: false,
            stream: "CONSUMER".to_owned(),
            subject: "consumer.items".to_owned(),
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// The server's address, as given.
    ///
    /// ```
    /// assert_eq!(consumer_broker::Broker::new("nats://h:1").url(), "nats://h:1");
    /// ```
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The JetStream stream (created if missing, with a two-minute de-duplication
    /// window) and the subject its items are published on. Dead letters go to
    /// `SUBJECT.dead`, kept in the stream `NAME_DEAD`.
    ///
    /// ```
    /// let b = consumer_broker::Broker::new("nats://h:1").stream("JOBS", "jobs");
    /// assert_eq!((b.stream_name(), b.subject()), ("JOBS", "jobs"));
    /// ```
    pub fn stream(mut self, name: &str, subject: &str) -> Broker {
        name.clone_into(&mut self.stream);
        subject.clone_into(&mut self.subject);
        self
    }

    /// The stream's name.
    ///
    /// ```
    /// assert_eq!(consumer_broker::Broker::new("nats://h:1").stream_name(), "CONSUMER");
    /// ```
    pub fn stream_name(&self) -> &str {
        &self.stream
    }

    /// The subject items are published on.
    ///
    /// ```
    /// assert_eq!(consumer_broker::Broker::new("nats://h:1").subject(), "consumer.items");
    /// ```
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Where a worker puts a message it cannot or must not deliver (garbage, another
    /// item type, too many failed deliveries): the item subject with `.dead`.
    ///
    /// ```
    /// let b = consumer_broker::Broker::new("nats://h:1");
    /// assert_eq!(b.dead_letter_subject(), "consumer.items.dead");
    /// ```
    pub fn dead_letter_subject(&self) -> String {
        format!("{}.dead", self.subject)
    }

    /// Authenticate with a user name and password.
    ///
    /// ```
    /// let b = consumer_broker::Broker::new("nats://h:1").user_password("u", "p");
    /// assert!(!format!("{b:?}").contains("\"p\"")); // secrets never printed
    /// ```
    pub fn user_password(mut self, user: &str, password: &str) -> Broker {
        self.auth = Auth::UserPassword(user.to_owned(), password.to_owned());
        self
    }

    /// Authenticate with a token.
    ///
    /// ```
    /// let b = consumer_broker::Broker::new("nats://h:1").token("s3cret");
    /// assert!(!format!("{b:?}").contains("s3cret"));
    /// ```
    pub fn token(mut self, token: &str) -> Broker {
        self.auth = Auth::Token(token.to_owned());
        self
    }

    /// Authenticate with the nkey whose seed is in the file at `path` (read at
    /// connect time, surrounding white space ignored).
    ///
    /// ```
    /// let b = consumer_broker::Broker::new("nats://h:1").nkey_seed_file("/etc/worker.nk");
    /// assert!(format!("{b:?}").contains("worker.nk"));
    /// ```
    pub fn nkey_seed_file(mut self, path: impl Into<PathBuf>) -> Broker {
        self.auth = Auth::NkeySeedFile(path.into());
        self
    }

    /// Trust the CA certificate(s) in this PEM file for the server's certificate (and
    /// require TLS).
    ///
    /// ```
    /// let b = consumer_broker::Broker::new("tls://h:1").ca_file("ca.pem");
    /// assert!(format!("{b:?}").contains("ca.pem"));
    /// ```
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Broker {
        self.ca = Some(path.into());
        self.require_tls = true;
        self
    }

    /// Present this client certificate and key (PEM files) to the server (and
    /// require TLS).
    ///
    /// ```
    /// let b = consumer_broker::Broker::new("tls://h:1").client_cert("me.pem", "me.key");
    /// assert!(format!("{b:?}").contains("me.key"));
    /// ```
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Broker {
        self.client_cert = Some((cert.into(), key.into()));
        self.require_tls = true;
        self
    }

    /// Refuse a server that does not offer TLS (the connection fails with
    /// [`ErrorKind::Auth`] before any credentials or items are sent).
    ///
    /// ```
    /// let b = consumer_broker::Broker::new("nats://h:1").require_tls(true);
    /// assert!(format!("{b:?}").contains("require_tls: true"));
    /// ```
    pub fn require_tls(mut self, required: bool) -> Broker {
        self.require_tls = required;
        self
    }

    /// How long the first connection may take (default 5 s). Later reconnects are
    /// bounded by the producer's send timeout and the worker's own loop.
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = consumer_broker::Broker::new("nats://h:1").connect_timeout(Duration::from_secs(1));
    /// assert!(format!("{b:?}").contains("connect_timeout: 1s"));
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Broker {
        self.connect_timeout = timeout;
        self
    }

    /// Connects, with every option applied.
    pub(crate) async fn connect(&self, name: &str) -> Result<async_nats::Client, Error> {
        let mut options = ConnectOptions::new()
            .name(name)
            .connection_timeout(self.connect_timeout)
            .require_tls(self.require_tls)
            // Reconnect without end: the producer's send timeout and the worker's
            // close bound how long anyone waits.
            .max_reconnects(None)
            .reconnect_delay_callback(|attempt| {
                Duration::from_millis((50 * attempt as u64).min(1_000))
            });
        options = match &self.auth {
            Auth::None => options,
            Auth::UserPassword(user, pass) => options.user_and_password(user.clone(), pass.clone()),
            Auth::Token(token) => options.token(token.clone()),
            Auth::NkeySeedFile(path) => {
                let seed = std::fs::read_to_string(path).map_err(|e| {
                    Error::new(
                        ErrorKind::Auth,
                        format!("cannot read the nkey seed file {}: {e}", path.display()),
                    )
                })?;
                options.nkey(seed.trim().to_owned())
            }
        };
        if let Some(ca) = &self.ca {
            options = options.add_root_certificates(ca.clone());
        }
        if let Some((cert, key)) = &self.client_cert {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        options
            .connect(self.url.as_str())
            .await
            .map_err(|e| connect_error(&self.url, self.require_tls, e))
    }

    /// The JetStream context for this connection: `timeout` bounds every API call and
    /// every publish acknowledgement.
    pub(crate) fn jetstream(client: async_nats::Client, timeout: Duration) -> jetstream::Context {
        jetstream::ContextBuilder::new()
            .timeout(timeout)
            // Our own window bounds what is in flight; the client's must not refuse first.
            .max_ack_inflight(1 << 20)
            .backpressure_on_inflight(true)
            .build(client)
    }

    /// Creates the item stream and the dead-letter stream when they are missing.
    pub(crate) async fn ensure_streams(&self, js: &jetstream::Context) -> Result<(), Error> {
        for (name, subject) in [
            (self.stream.clone(), self.subject.clone()),
            (format!("{}_DEAD", self.stream), self.dead_letter_subject()),
        ] {
            js.get_or_create_stream(stream::Config {
                name: name.clone(),
                subjects: vec![subject],
                duplicate_window: Duration::from_secs(120),
                storage: stream::StorageType::File,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Disconnected,
                    format!("cannot create or find the JetStream stream `{name}`: {e}"),
                )
            })?;
        }
        Ok(())
    }
}

/// A connection failure, said plainly: which server, and what to check.
///
/// The TLS cases are told apart by rustls's own words, which the client passes on
/// in the error's text (its kind is `Io` or `Tls` depending on where it failed).
fn connect_error(url: &str, require_tls: bool, e: async_nats::ConnectError) -> Error {
    let text = e.to_string();
    // A plain-text server answers the client's TLS hello with its INFO line, which
    // rustls reports as a record of the wrong type.
    let plain_answer = text.contains("InvalidContentType");
    let untrusted = text.contains("invalid peer certificate");
    let refused_cert = text.contains("alert") && text.contains("Certificate");
    let (kind, hint) = match e.kind() {
        _ if untrusted => (
            ErrorKind::Auth,
            "the server's TLS certificate is not trusted (check the CA file); nothing was sent",
        ),
        _ if refused_cert => (
            ErrorKind::Auth,
            "the server refused the TLS handshake: it wants a client certificate it trusts",
        ),
        ConnectErrorKind::Io | ConnectErrorKind::Tls if require_tls && plain_answer => (
            ErrorKind::Auth,
            "TLS is required but the server does not offer it; nothing was sent",
        ),
        ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
            (ErrorKind::Auth, "the server refused the credentials")
        }
        ConnectErrorKind::Tls => (ErrorKind::Auth, "the TLS handshake failed"),
        ConnectErrorKind::TimedOut => (ErrorKind::Timeout, "no answer in time"),
        ConnectErrorKind::ServerParse | ConnectErrorKind::Dns => {
            (ErrorKind::Usage, "the address is not usable")
        }
        _ => (ErrorKind::Disconnected, "the server cannot be reached"),
    };
    Error::new(
        kind,
        format!("cannot connect to NATS at {url}: {hint} ({e})"),
    )
}
