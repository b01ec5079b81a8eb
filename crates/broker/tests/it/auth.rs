//! Credentials: user and password, token, nkey seed file; each end to end, the
//! wrong ones refused clearly with nothing sent. (TLS: `tls.rs`.)

use consumer::ErrorKind;
use consumer_broker::{Broker, LocalServer, Producer, Worker, WorkerOptions};

use super::{Scratch, round_trip};

/// A user nkey (the NATS documentation's example pair) and another user's seed.
const NKEY_PUBLIC: &str = "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4";
const NKEY_SEED: &str = "SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY";
const OTHER_SEED: &str = "SUANQDPB2RUOE4ETUA26CNX7FUKE5ZZKFCQIIW63OX225F2CO7UEXTM7ZY";

#[test]
fn wrong_credentials_are_refused_clearly() {
    let server = LocalServer::with_args(&["--user", "ann", "--pass", "right"]).unwrap();
    let wrong = Broker::new(server.url()).user_password("ann", "wrong");
    let e = Producer::<u32>::connect(&wrong).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(e.to_string().contains("refused the credentials"), "{e}");
    let e = Worker::<u32>::connect(&Broker::new(server.url()), WorkerOptions::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "no credentials at all: {e}");
    // The right ones pass.
    round_trip(&Broker::new(server.url()).user_password("ann", "right"));
}

#[test]
fn a_token_passes_through() {
    let server = LocalServer::with_args(&["--auth", "s3cret-token"]).unwrap();
    let e = Producer::<u32>::connect(&Broker::new(server.url()).token("nope")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    round_trip(&Broker::new(server.url()).token("s3cret-token"));
}

#[test]
fn an_nkey_seed_file_passes_through() {
    let scratch = Scratch::new("nkey");
    let server = scratch.server_with_config(&format!(
        "authorization {{\n  users = [ {{ nkey: {NKEY_PUBLIC} }} ]\n}}\n"
    ));
    let seed = scratch.file("user.nk", &format!("{NKEY_SEED}\n"));
    round_trip(&Broker::new(server.url()).nkey_seed_file(&seed));
    // Another user's key, and a file that holds no seed at all.
    for (name, text) in [("other.nk", OTHER_SEED), ("garbage.nk", "not a seed")] {
        let file = scratch.file(name, text);
        let e =
            Producer::<u32>::connect(&Broker::new(server.url()).nkey_seed_file(&file)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Auth, "{name}: {e}");
    }
}

#[test]
fn tls_required_but_not_offered_is_a_clear_error_with_nothing_sent() {
    let server = LocalServer::start().unwrap();
    let broker = Broker::new(server.url())
        .user_password("ann", "secret")
        .require_tls(true);
    let e = Producer::<u32>::connect(&broker).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(e.to_string().contains("TLS is required"), "{e}");
}

#[test]
fn a_missing_nkey_seed_file_is_named() {
    let broker = Broker::new("nats://127.0.0.1:1").nkey_seed_file("/nonexistent/worker.nk");
    let e = Producer::<u32>::connect(&broker).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    assert!(e.to_string().contains("worker.nk"), "{e}");
}
