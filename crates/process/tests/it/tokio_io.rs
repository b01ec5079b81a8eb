//! The async ends: same wire, same checks, interoperable with the sync ends.

use consumer::{Consumer, ErrorKind};
use consumer_process::{AsyncReceiver, AsyncSender, Flush, Postcard, Receiver, Sender};

use crate::support::rt;

#[test]
fn async_ends_deliver_in_order_over_a_unix_socket() {
    rt().block_on(async {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        let (read_half, report_half) = b.into_split();
        let (back, write_half) = a.into_split();
        let rx = tokio::spawn(
            AsyncReceiver::new(read_half)
                .report_to(report_half)
                .run::<(u32, String), _>(Vec::new()),
        );
        let mut tx = AsyncSender::new(write_half).with_report(back);
        for i in 0..10_000u32 {
            tx.send((i, i.to_string())).await.unwrap();
        }
        tx.send_all((10_000..20_000).map(|i| (i, i.to_string())))
            .await
            .unwrap();
        tx.close().await.unwrap();
        assert_eq!(rx.await.unwrap().unwrap(), 20_000);
    });
}

#[test]
fn the_async_report_carries_the_far_failure() {
    rt().block_on(async {
        let (items_w, items_r) = tokio::io::duplex(1 << 16);
        let (report_w, report_r) = tokio::io::duplex(1 << 10);
        let failing = consumer::try_from_fn(|n: u64| {
            if n == 5 {
                Err(consumer::Error::new(ErrorKind::Other, "five"))
            } else {
                Ok(())
            }
        });
        let rx = tokio::spawn(
            AsyncReceiver::new(items_r)
                .report_to(report_w)
                .run::<u64, _>(failing),
        );
        let mut tx = AsyncSender::new(items_w)
            .with_report(report_r)
            .flush_policy(Flush::Manual);
        tx.send_all(0u64..10).await.unwrap();
        let e = tx.close().await.unwrap_err();
        assert_eq!((e.kind(), e.message()), (ErrorKind::Other, Some("five")));
        assert_eq!(e.undelivered(), Some(4));
        assert_eq!(rx.await.unwrap().unwrap_err().kind(), ErrorKind::Other);
        // Send after close: the item comes back.
        assert_eq!(tx.send(1).await.unwrap_err().into_item(), Some(1));
    });
}

#[test]
fn sync_and_async_ends_speak_the_same_wire() {
    let bytes = crate::support::Bytes::default();
    let mut tx = Sender::with_codec(bytes.clone(), Postcard);
    tx.send_all(vec![vec![1u8; 70_000], vec![2u8; 3]]).unwrap();
    tx.close().unwrap();
    drop(tx);
    let bytes = bytes.take();
    let got = rt().block_on(async {
        let mut got = Vec::new();
        AsyncReceiver::with_codec(&bytes[..], Postcard)
            .run::<Vec<u8>, _>(&mut got)
            .await
            .unwrap();
        got
    });
    assert_eq!(got, [vec![1u8; 70_000], vec![2u8; 3]]);

    let bytes = rt().block_on(async {
        let mut bytes = Vec::new();
        let mut tx = AsyncSender::new(&mut bytes);
        tx.send_all([5u64, 6]).await.unwrap();
        tx.close().await.unwrap();
        drop(tx);
        bytes
    });
    let mut got = Vec::new();
    Receiver::new(&bytes[..]).run::<u64, _>(&mut got).unwrap();
    assert_eq!(got, [5, 6]);
}

#[test]
fn the_async_receiver_refuses_bad_input_like_the_sync_one() {
    let good = crate::support::Bytes::default();
    let mut tx = Sender::new(good.clone());
    tx.send_all([1u64, 2]).unwrap();
    tx.close().unwrap();
    drop(tx);
    let good = good.take();
    rt().block_on(async {
        let run = |bytes: Vec<u8>| async move {
            AsyncReceiver::new(&bytes[..])
                .run::<u64, _>(Vec::new())
                .await
                .unwrap_err()
        };
        let e = run(good[..good.len() - 2].to_vec()).await;
        assert!(e.message().unwrap().contains("truncated"), "{e}");
        let mut huge = good[..18 + "u64".len()].to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        let e = run(huge).await;
        assert!(
            e.message().unwrap().contains("exceeds the frame limit"),
            "{e}"
        );
        let e = AsyncReceiver::new(&good[..])
            .run::<i64, _>(Vec::new())
            .await
            .unwrap_err();
        assert!(e.message().unwrap().contains("fingerprint"), "{e}");
    });
}
