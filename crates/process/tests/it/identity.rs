//! Item types across separately built programs: the same shape under another module
//! path is accepted; a changed shape is refused at the handshake, over a real
//! socket, before any item reaches the consumer, the error naming both sides' types.

use std::os::unix::net::UnixStream;

use consumer::{Consumer, ErrorKind};
use consumer_process::{Identity, Receiver, Sender};

mod producer {
    #[derive(serde::Serialize, serde::Deserialize)]
    pub(super) struct Order {
        pub(super) id: u64,
        pub(super) qty: u32,
    }

    #[derive(serde::Serialize, serde::Deserialize)]
    #[serde(rename = "Order")]
    pub(super) struct OrderV2 {
        pub(super) id: u64,
        pub(super) qty: u32,
        pub(super) note: String,
    }
}

mod consumer_side {
    #[derive(Debug, PartialEq, serde::Deserialize)]
    pub(super) struct Order {
        pub(super) id: u64,
        pub(super) qty: u32,
    }
}

/// Sends `items` over one end of a socket pair (waiting for the report on it) and
/// reads them as `consumer_side::Order` on the other: both outcomes and what arrived.
fn exchange<T>(
    items: Vec<T>,
    pin: Option<(Identity, Identity)>,
) -> (
    Result<(), consumer::Error>,
    Result<u64, consumer::Error>,
    Vec<consumer_side::Order>,
)
where
    T: serde::Serialize + serde::Deserialize<'static> + Send + 'static,
{
    let (here, there) = UnixStream::pair().expect("socket pair");
    let (ours, theirs) = match pin {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let sender = std::thread::spawn(move || {
        let back = here.try_clone().expect("clone");
        let mut tx = Sender::<T, _>::new(here).with_report(back);
        if let Some(id) = ours {
            tx = tx.identity(id);
        }
        // A refused stream may fail a send or only the close: the close says why.
        let _ = tx.send_all(items);
        tx.close()
    });
    let mut got = Vec::new();
    let back = there.try_clone().expect("clone");
    let mut rx = Receiver::new(there).report_to(back);
    if let Some(id) = theirs {
        rx = rx.identity(id);
    }
    let received = rx.run::<consumer_side::Order, _>(&mut got);
    (sender.join().expect("sender thread"), received, got)
}

#[test]
fn the_same_shape_under_another_module_path_is_exchanged() {
    let orders = (1..=3).map(|id| producer::Order { id, qty: 10 }).collect();
    let (sent, received, got) = exchange(orders, None);
    sent.expect("sender");
    assert_eq!(received.expect("receiver"), 3);
    assert_eq!(got[2], consumer_side::Order { id: 3, qty: 10 });
}

#[test]
fn an_added_field_is_refused_before_any_item_naming_both_types() {
    let orders = vec![producer::OrderV2 {
        id: 1,
        qty: 2,
        note: "rush".into(),
    }];
    let (sent, received, got) = exchange(orders, None);
    assert!(got.is_empty(), "no item may reach the consumer");
    let e = received.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol);
    let m = e.message().expect("a message");
    assert!(
        m.contains(
            "handshake: the peer sends `Order { id: u64, qty: u32, note: String }`, \
             this end expects `Order { id: u64, qty: u32 }`"
        ),
        "{m}"
    );
    // The sender hears the same refusal in the report.
    let e = sent.unwrap_err();
    assert!(e.to_string().contains("note: String"), "{e}");
}

#[test]
fn pins_decide_whatever_the_shapes() {
    let v1 = || Identity::named("orders.Order", 1);
    // A pinned sender of another shape is accepted by a receiver with the same pin:
    // the pin is the user's word, the shape is not looked at.
    let orders = (1..=2).map(|id| producer::Order { id, qty: 1 }).collect();
    let (sent, received, _) = exchange(orders, Some((v1(), v1())));
    sent.expect("sender");
    assert_eq!(received.expect("receiver"), 2);
    let orders = vec![producer::Order { id: 1, qty: 1 }];
    let (_, received, got) = exchange(orders, Some((v1(), Identity::named("orders.Order", 2))));
    assert!(got.is_empty());
    let m = received.unwrap_err().to_string();
    assert!(
        m.contains("the peer sends `orders.Order v1`, this end expects `orders.Order v2`"),
        "{m}"
    );
}
