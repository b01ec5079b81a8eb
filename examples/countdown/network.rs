//! `countdown --listen ADDR` and `countdown --connect ADDR`: the Countdown across
//! machines. The listener serves every authenticated connection to a Countdown of
//! its own; the connector sends 10 down to 1 and closes, and its `close` returns once
//! the far Countdown has said `Kaboom!`.
//!
//! ADDR is `HOST:PORT` (TCP) or `unix:PATH`. TCP needs a key: the environment
//! variable `CONSUMER_AUTHKEY` or `--key-file FILE`, the same on both ends (at least
//! 16 bytes; `head -c 32 /dev/urandom | base64 > key` makes a good one). A Unix
//! socket's directory must be private to you; a key is optional there.
//!
//! TLS (TCP only): `--listen` with `--tls-cert F --tls-key F` serves TLS, and with
//! `--tls-ca F` too requires client certificates from that CA (mutual TLS, which
//! stands instead of the key); `--connect` with `--tls-ca F` (the CA that signed the
//! server's certificate; `--tls-name NAME` when the address is not the name in it)
//! connects over TLS, presenting `--tls-cert F --tls-key F` if given. A key given as
//! well is checked inside TLS.
//!
//! The listener stops on SIGINT (Ctrl-C) or SIGTERM: it stops accepting, lets the
//! open connections finish for up to 5 seconds, closes the rest, and reports what it
//! served on stderr.

use std::time::Duration;

use consumer_auth::AuthKey;
use consumer_net::{Address, ClientTls, Connector, Server, ServerTls};
use examples::Countdown;

/// The environment variable the key is read from.
pub(crate) const KEY_VAR: &str = "CONSUMER_AUTHKEY";

/// The key from `--key-file`, else from `CONSUMER_AUTHKEY`; none if neither is given.
pub(crate) fn key(file: Option<&str>) -> Result<Option<AuthKey>, consumer::Error> {
    match file {
        Some(f) => AuthKey::from_file(std::path::Path::new(f)).map(Some),
        None if std::env::var_os(KEY_VAR).is_some() => AuthKey::from_env(KEY_VAR).map(Some),
        None => Ok(None),
    }
}

/// The `--tls-*` options, as files.
#[derive(Debug, Default)]
pub(crate) struct TlsFiles {
    pub(crate) cert: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) ca: Option<String>,
    pub(crate) name: Option<String>,
}

impl TlsFiles {
    pub(crate) fn any(&self) -> bool {
        self.cert.is_some() || self.key.is_some() || self.ca.is_some() || self.name.is_some()
    }

    /// The certificate and key, both or neither.
    fn pair(&self) -> Result<Option<(&str, &str)>, String> {
        match (&self.cert, &self.key) {
            (Some(c), Some(k)) => Ok(Some((c, k))),
            (None, None) => Ok(None),
            _ => Err("--tls-cert and --tls-key go together".to_owned()),
        }
    }

    /// The listener's TLS: none without options; a certificate and key required.
    fn server(&self) -> Result<Option<ServerTls>, Box<dyn std::error::Error>> {
        if !self.any() {
            return Ok(None);
        }
        if self.name.is_some() {
            return Err("--tls-name goes with --connect".into());
        }
        let (cert, key) = self
            .pair()?
            .ok_or("--listen with TLS needs --tls-cert and --tls-key")?;
        let mut tls = ServerTls::from_pem_files(cert, key)?;
        if let Some(ca) = &self.ca {
            tls = tls.client_ca_file(ca)?;
        }
        Ok(Some(tls))
    }

    /// The connector's TLS: none without options; the CA required.
    fn client(&self) -> Result<Option<ClientTls>, Box<dyn std::error::Error>> {
        if !self.any() {
            return Ok(None);
        }
        let ca = self
            .ca
            .as_ref()
            .ok_or("--connect with TLS needs --tls-ca")?;
        let mut tls = ClientTls::from_ca_file(ca)?;
        if let Some((cert, key)) = self.pair()? {
            tls = tls.client_cert_files(cert, key)?;
        }
        if let Some(name) = &self.name {
            tls = tls.server_name(name)?;
        }
        Ok(Some(tls))
    }
}

/// The key TCP needs (unless TLS stands instead: `secured`), or an error that says
/// how to give one.
fn required(
    addr: &Address,
    key: Option<AuthKey>,
    secured: bool,
) -> Result<Option<AuthKey>, String> {
    match (addr, key) {
        (Address::Tcp(_), None) if !secured => Err(format!(
            "{addr} is TCP, which needs a key: set {KEY_VAR} or pass --key-file FILE \
             (or use TLS: --tls-ca for --connect, client certificates for --listen)"
        )),
        (_, key) => Ok(key),
    }
}

/// Serves until SIGINT or SIGTERM, then stops gracefully. Prints `listening on
/// ADDR` first (with the port picked for port 0), one line on stderr for every
/// connection that fails or is refused, and a last line with the server's counts.
pub(crate) fn listen(
    addr: &str,
    key: Option<AuthKey>,
    tls: &TlsFiles,
) -> Result<(), Box<dyn std::error::Error>> {
    let addr: Address = addr.parse()?;
    let tls = tls.server()?;
    let key = required(&addr, key, tls.as_ref().is_some_and(ServerTls::is_mutual))?;
    let mut server = Server::bind(&addr)?.on_error(|peer, e| eprintln!("countdown: {peer}: {e}"));
    if let Some(key) = key {
        server = server.key(key);
    }
    if let Some(tls) = tls {
        server = server.tls(tls);
    }
    let serving = server.serve(|| Countdown)?;
    // The handlers are in place before anyone learns where to connect.
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut int, mut term) = {
        let _in = signals.enter();
        use tokio::signal::unix::{SignalKind, signal};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    examples::say!("listening on {}", serving.local_addr());
    let name = signals.block_on(async {
        tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    });
    eprintln!("countdown: {name}: no new connections; draining the open ones (5 s at most)");
    let open = serving.stats().open;
    let s = serving.shutdown_within(Duration::from_secs(5))?;
    eprintln!(
        "countdown: stopped: {} served, {} failed, {} refused; {open} open at the signal",
        s.served, s.failed, s.refused
    );
    Ok(())
}

/// Sends 10 down to 1 to the listener at `addr` and closes.
pub(crate) fn connect(
    addr: &str,
    key: Option<AuthKey>,
    tls: &TlsFiles,
) -> Result<(), Box<dyn std::error::Error>> {
    let addr: Address = addr.parse()?;
    let mut connector = Connector::new(addr.clone());
    let tls = tls.client()?;
    if let Some(key) = required(&addr, key, tls.is_some())? {
        connector = connector.key(key);
    }
    if let Some(tls) = tls {
        connector = connector.tls(tls);
    }
    crate::runners::drive(connector.sender::<u32>()?)
}
