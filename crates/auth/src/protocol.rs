//! The handshake as a sans-I/O state machine: it says what to write and how many bytes
//! to read next, and never touches a socket, so the blocking and the async drivers share
//! every decision.
//!
//! ```text
//! client                                              server
//!   HELLO   = magic "CNSA" | version | client nonce (32)   ──▶   (37 bytes, read exactly)
//!   ◀──  CHALLENGE = magic | version | server nonce (32) | MAC(server)   (69 bytes)
//!   PROOF   = MAC(client)                                  ──▶   (32 bytes)
//!   ◀──  VERDICT = 1 (accepted) or 0 (rejected)                    (1 byte)
//!
//! MAC(role) = HMAC-SHA-256(key, "consumer-auth-v1" | role | client nonce | server nonce)
//! ```
//!
//! Both nonces are fresh randomness, so a recorded handshake is useless later
//! (replay); the role is inside the MAC, so a server's proof cannot be sent back to it
//! as a client's (reflection). MACs are compared in constant time. Every read has a
//! fixed, small size: nothing the peer says can make us allocate.

use consumer::{Error, ErrorKind};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::AuthKey;

pub(crate) const MAGIC: &[u8; 4] = b"CNSA";
pub(crate) const VERSION: u8 = 1;
const LABEL: &[u8] = b"consumer-auth-v1";
const NONCE: usize = 32;
const MAC: usize = 32;
pub(crate) const HELLO_LEN: usize = 4 + 1 + NONCE;
pub(crate) const CHALLENGE_LEN: usize = 4 + 1 + NONCE + MAC;
const ACCEPTED: u8 = 1;
const REJECTED: u8 = 0;

type Nonce = [u8; NONCE];

/// What a driver does next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Write these bytes, then call `next` with nothing.
    Write(Vec<u8>),
    /// Read exactly this many bytes and pass them to `next`.
    Read(usize),
    /// Authenticated both ways.
    Done,
}

fn nonce() -> Result<Nonce, Error> {
    let mut n = [0; NONCE];
    getrandom::fill(&mut n)
        .map_err(|e| Error::new(ErrorKind::Io, format!("no randomness: {e}")))?;
    Ok(n)
}

fn mac(key: &AuthKey, role: &[u8], client: &Nonce, server: &Nonce) -> Hmac<Sha256> {
    let mut m =
        <Hmac<Sha256> as Mac>::new_from_slice(key.bytes()).expect("HMAC takes a key of any length");
    m.update(LABEL);
    m.update(role);
    m.update(client);
    m.update(server);
    m
}

fn auth_error(message: &str) -> Error {
    Error::new(ErrorKind::Auth, message)
}

fn check_header(bytes: &[u8], what: &str) -> Result<(), Error> {
    if &bytes[..4] != MAGIC {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!("{what}: not a consumer-auth peer (bad magic)"),
        ));
    }
    if bytes[4] != VERSION {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!(
                "{what}: auth protocol version {} (we speak {VERSION})",
                bytes[4]
            ),
        ));
    }
    Ok(())
}

/// The connecting side.
pub(crate) struct Client<'k> {
    key: &'k AuthKey,
    state: ClientState,
}

enum ClientState {
    SendHello(Nonce),
    AwaitChallenge(Nonce),
    SendProof(Vec<u8>),
    AwaitVerdict,
    Done,
}

impl<'k> Client<'k> {
    pub(crate) fn new(key: &'k AuthKey) -> Result<Client<'k>, Error> {
        Ok(Client {
            key,
            state: ClientState::SendHello(nonce()?),
        })
    }

    pub(crate) fn next(&mut self, input: &[u8]) -> Result<Step, Error> {
        match std::mem::replace(&mut self.state, ClientState::Done) {
            ClientState::SendHello(mine) => {
                let mut hello = Vec::with_capacity(HELLO_LEN);
                hello.extend_from_slice(MAGIC);
                hello.push(VERSION);
                hello.extend_from_slice(&mine);
                self.state = ClientState::AwaitChallenge(mine);
                Ok(Step::Write(hello))
            }
            ClientState::AwaitChallenge(mine) if input.is_empty() => {
                self.state = ClientState::AwaitChallenge(mine);
                Ok(Step::Read(CHALLENGE_LEN))
            }
            ClientState::AwaitChallenge(mine) => {
                check_header(input, "server")?;
                let theirs: Nonce = input[5..5 + NONCE].try_into().expect("fixed length");
                mac(self.key, b"server", &mine, &theirs)
                    .verify_slice(&input[5 + NONCE..])
                    .map_err(|_| {
                        auth_error("the server does not hold our key (wrong key on one side?)")
                    })?;
                let proof = mac(self.key, b"client", &mine, &theirs)
                    .finalize()
                    .into_bytes()
                    .to_vec();
                self.state = ClientState::SendProof(proof);
                self.next(&[])
            }
            ClientState::SendProof(proof) => {
                self.state = ClientState::AwaitVerdict;
                Ok(Step::Write(proof))
            }
            ClientState::AwaitVerdict if input.is_empty() => {
                self.state = ClientState::AwaitVerdict;
                Ok(Step::Read(1))
            }
            ClientState::AwaitVerdict => match input[0] {
                ACCEPTED => Ok(Step::Done),
                _ => Err(auth_error("the server rejected our key")),
            },
            ClientState::Done => Ok(Step::Done),
        }
    }
}

/// The accepting side.
pub(crate) struct Server<'k> {
    key: &'k AuthKey,
    state: ServerState,
}

enum ServerState {
    AwaitHello,
    AwaitProof { client: Nonce, server: Nonce },
    Reject(Error),
    Accept,
    Failed(Error),
    Done,
}

impl<'k> Server<'k> {
    pub(crate) fn new(key: &'k AuthKey) -> Server<'k> {
        Server {
            key,
            state: ServerState::AwaitHello,
        }
    }

    pub(crate) fn next(&mut self, input: &[u8]) -> Result<Step, Error> {
        match std::mem::replace(&mut self.state, ServerState::Done) {
            ServerState::AwaitHello if input.is_empty() => {
                self.state = ServerState::AwaitHello;
                Ok(Step::Read(HELLO_LEN))
            }
            ServerState::AwaitHello => {
                check_header(input, "client")?;
                let client: Nonce = input[5..].try_into().expect("fixed length");
                let server = nonce()?;
                let mut challenge = Vec::with_capacity(CHALLENGE_LEN);
                challenge.extend_from_slice(MAGIC);
                challenge.push(VERSION);
                challenge.extend_from_slice(&server);
                challenge.extend_from_slice(
                    &mac(self.key, b"server", &client, &server)
                        .finalize()
                        .into_bytes(),
                );
                self.state = ServerState::AwaitProof { client, server };
                Ok(Step::Write(challenge))
            }
            ServerState::AwaitProof { client, server } if input.is_empty() => {
                self.state = ServerState::AwaitProof { client, server };
                Ok(Step::Read(MAC))
            }
            ServerState::AwaitProof { client, server } => {
                match mac(self.key, b"client", &client, &server).verify_slice(input) {
                    Ok(()) => self.state = ServerState::Accept,
                    Err(_) => {
                        self.state =
                            ServerState::Reject(auth_error("the client does not hold our key"));
                    }
                }
                self.next(&[])
            }
            ServerState::Accept => {
                self.state = ServerState::Done;
                Ok(Step::Write(vec![ACCEPTED]))
            }
            ServerState::Reject(e) => {
                self.state = ServerState::Failed(e);
                Ok(Step::Write(vec![REJECTED]))
            }
            ServerState::Failed(e) => Err(e),
            ServerState::Done => Ok(Step::Done),
        }
    }
}
