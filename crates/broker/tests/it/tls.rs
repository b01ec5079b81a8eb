//! TLS through to a real `nats-server` (`tls { ... verify: true }`, written by the
//! test): mutual TLS end to end; a client without the CA or without its
//! certificate refused clearly; and, against a listener of our own that records
//! what a client sends, credentials never leave in clear text when TLS is asked for.
//! Certificates are made at run time with rcgen.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use consumer::ErrorKind;
use consumer_broker::{Broker, LocalServer, Producer};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};

use super::{Scratch, round_trip};

/// A CA, and a server and a client certificate it signed, as PEM files.
struct Pki {
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    client: (PathBuf, PathBuf),
}

impl Pki {
    fn new(dir: &Path, name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.distinguished_name.push(DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let write = |file: &str, pem: String| {
            let path = dir.join(format!("{name}-{file}"));
            std::fs::write(&path, pem).unwrap();
            path
        };
        let leaf = |who: &str, names: &[&str]| {
            let key = KeyPair::generate().unwrap();
            let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
            let cert = CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &ca)
                .unwrap();
            (
                write(&format!("{who}.pem"), cert.pem()),
                write(&format!("{who}.key"), key.serialize_pem()),
            )
        };
        let server = leaf("server", &["localhost", "127.0.0.1"]);
        let client = leaf("client", &["client.consumer"]);
        Pki {
            ca: write("ca.pem", ca.as_ref().pem()),
            server,
            client,
        }
    }

    /// A `nats-server` requiring TLS and a client certificate from this CA.
    fn mutual_server(&self, scratch: &Scratch) -> LocalServer {
        let conf = format!(
            "tls {{\n  cert_file: {:?}\n  key_file: {:?}\n  ca_file: {:?}\n  verify: true\n  timeout: 5\n}}\n",
            self.server.0, self.server.1, self.ca
        );
        scratch.server_with_config(&conf)
    }

    fn client(&self, broker: Broker) -> Broker {
        broker
            .ca_file(&self.ca)
            .client_cert(&self.client.0, &self.client.1)
    }
}

#[test]
fn mutual_tls_carries_items_end_to_end() {
    let scratch = Scratch::new("mtls");
    let pki = Pki::new(scratch.dir(), "mtls");
    let server = pki.mutual_server(&scratch);
    let broker = pki.client(Broker::new(server.url()));
    round_trip(&broker);
}

#[test]
fn a_tls_client_without_its_certificate_is_refused_clearly() {
    let scratch = Scratch::new("nocert");
    let pki = Pki::new(scratch.dir(), "nocert");
    let server = pki.mutual_server(&scratch);
    let e = Producer::<u32>::connect(&Broker::new(server.url()).ca_file(&pki.ca)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(e.to_string().contains("certificate"), "{e}");
}

#[test]
fn a_server_certificate_from_another_ca_is_refused_before_credentials_leave() {
    let scratch = Scratch::new("otherca");
    let pki = Pki::new(scratch.dir(), "right");
    let other = Pki::new(scratch.dir(), "other");
    let server = pki.mutual_server(&scratch);
    // Trusts another CA, and a plain `nats://` client with no TLS options at all:
    // the server's INFO asks for TLS, the client upgrades first, and the handshake
    // fails on the certificate before CONNECT (the credentials) is written.
    for broker in [
        other.client(Broker::new(server.url())),
        Broker::new(server.url()).user_password("ann", "secret"),
    ] {
        let e = Producer::<u32>::connect(&broker).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
        assert!(e.to_string().contains("not trusted"), "{e}");
    }
}

#[test]
fn tls_offered_to_a_plain_server_is_a_clear_error() {
    let server = LocalServer::start().unwrap();
    let scratch = Scratch::new("plain");
    let pki = Pki::new(scratch.dir(), "plain");
    let e = Producer::<u32>::connect(&pki.client(Broker::new(server.url()))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(e.to_string().contains("does not offer"), "{e}");
}

/// What a client configured with a password sends to a listener that speaks the
/// first line of NATS (`INFO`, saying whether TLS is required) and nothing more.
fn first_bytes_sent(server_requires_tls: bool, broker: impl FnOnce(String) -> Broker) -> Vec<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("nats://{}", listener.local_addr().unwrap());
    let broker = broker(url).connect_timeout(Duration::from_secs(2));
    let client = std::thread::spawn(move || Producer::<u32>::connect(&broker));
    let (mut conn, _) = listener.accept().unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let info = format!(
        "INFO {{\"server_id\":\"fake\",\"version\":\"2.9.10\",\"proto\":1,\"host\":\"127.0.0.1\",\"port\":4222,\"headers\":true,\"max_payload\":1048576,\"tls_required\":{server_requires_tls}}}\r\n"
    );
    conn.write_all(info.as_bytes()).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // Until the client gives up (its connect timeout) or has said enough.
    while got.len() < 64 * 1024 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    drop(conn);
    assert!(
        client.join().unwrap().is_err(),
        "a fake server accepts no one"
    );
    got
}

#[test]
fn credentials_never_cross_in_clear_text_when_tls_is_asked_for() {
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    // The server asks for TLS (the client has no TLS options), or the client does
    // (the server says nothing of TLS): either way the first byte is a TLS record
    // and the password is nowhere.
    for (server_requires, client_requires) in [(true, false), (false, true)] {
        let sent = first_bytes_sent(server_requires, |url| {
            Broker::new(url)
                .user_password("ann", "pa55word")
                .require_tls(client_requires)
        });
        assert_eq!(sent.first(), Some(&0x16), "a TLS handshake record first");
        assert!(!contains(&sent, b"pa55word"), "the password in clear text");
        assert!(!contains(&sent, b"CONNECT"), "CONNECT in clear text");
    }
    // The control: no TLS on either side, and the same listener sees CONNECT.
    let sent = first_bytes_sent(false, |url| {
        Broker::new(url).user_password("ann", "pa55word")
    });
    assert!(contains(&sent, b"CONNECT"), "the control sees CONNECT");
}
