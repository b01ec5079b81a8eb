use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use consumer::ErrorKind;
use consumer_auth::{Auth, AuthKey};

use super::{key, server};

#[test]
fn same_key_authenticates_both_ways_over_unix_and_tcp() {
    let (mut c, s) = server(key(1), Duration::from_secs(10));
    Auth::new(key(1)).connect(&mut c).unwrap();
    s.join().unwrap().unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let s = std::thread::spawn(move || Auth::new(key(2)).accept(&mut listener.accept().unwrap().0));
    Auth::new(key(2))
        .connect(&mut TcpStream::connect(addr).unwrap())
        .unwrap();
    s.join().unwrap().unwrap();
}

#[test]
fn a_wrong_key_fails_on_both_sides_with_clear_errors() {
    let (mut c, s) = server(key(1), Duration::from_secs(10));
    let e = Auth::new(key(9)).connect(&mut c).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Auth);
    assert!(
        e.to_string().contains("server does not hold our key"),
        "{e}"
    );
    drop(c);
    let e = s.join().unwrap().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Disconnected, "{e}");
}

#[test]
fn keys_are_checked_when_made() {
    assert_eq!(
        AuthKey::new(vec![0; 15]).unwrap_err().kind(),
        ErrorKind::Usage
    );
    let dir = std::env::temp_dir().join(format!("consumer-auth-test-{}", std::process::id()));
    std::fs::write(&dir, b"0123456789abcdef\n").unwrap();
    let from_file = AuthKey::from_file(&dir).unwrap();
    std::fs::remove_file(&dir).unwrap();
    assert_eq!(
        from_file,
        AuthKey::new(b"0123456789abcdef".to_vec()).unwrap()
    );
    let e = AuthKey::from_file(&dir).unwrap_err();
    assert!(e.to_string().contains("cannot read key file"), "{e}");
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread")]
async fn async_ends_agree_and_refuse_a_wrong_key() {
    let auth = Auth::new(key(3));
    let (mut a, mut b) = tokio::io::duplex(256);
    let (s, c) = tokio::join!(auth.accept_async(&mut b), auth.connect_async(&mut a));
    s.unwrap();
    c.unwrap();

    let wrong = Auth::new(key(4));
    let (mut a, mut b) = tokio::io::duplex(256);
    let client = async {
        let r = wrong.connect_async(&mut a).await;
        drop(a);
        r
    };
    let (s, c) = tokio::join!(auth.accept_async(&mut b), client);
    assert_eq!(c.unwrap_err().kind(), ErrorKind::Auth);
    assert!(s.is_err());
}

#[cfg(feature = "tokio")]
#[tokio::test(flavor = "current_thread")]
async fn a_silent_async_peer_times_out() {
    let auth = Auth::new(key(5)).timeout(Duration::from_millis(50));
    let (_a, mut b) = tokio::io::duplex(256);
    assert_eq!(
        auth.accept_async(&mut b).await.unwrap_err().kind(),
        ErrorKind::Timeout
    );
}
