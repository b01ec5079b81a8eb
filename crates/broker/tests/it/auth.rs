//! Credentials and TLS: clear errors, nothing sent.

use consumer::ErrorKind;
use consumer_broker::{Broker, LocalServer, Producer, Worker, WorkerOptions};

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
    let right = Broker::new(server.url()).user_password("ann", "right");
    Producer::<u32>::connect(&right).unwrap();
}

#[test]
fn a_token_passes_through() {
    let server = LocalServer::with_args(&["--auth", "s3cret-token"]).unwrap();
    let e = Producer::<u32>::connect(&Broker::new(server.url()).token("nope")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth, "{e}");
    Producer::<u32>::connect(&Broker::new(server.url()).token("s3cret-token")).unwrap();
}

#[test]
fn tls_required_but_not_offered_is_a_clear_error() {
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
