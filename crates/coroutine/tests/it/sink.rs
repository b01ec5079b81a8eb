//! A handle as a `futures_sink::Sink`.

use std::future::poll_fn;
use std::pin::Pin;

use consumer::{ErrorKind, Inline};
use consumer_coroutine::{Builder, Placement};
use futures_sink::Sink;

use crate::support::multi_thread;

/// `SinkExt::send`, without the futures crate: wait for room, then send.
async fn feed<S: Sink<u32> + Unpin>(sink: &mut S, n: u32) -> Result<(), S::Error> {
    poll_fn(|cx| Pin::new(&mut *sink).poll_ready(cx)).await?;
    Pin::new(&mut *sink).start_send(n)
}

#[test]
fn a_sink_delivers_in_order_through_a_full_mailbox_and_closes() {
    let rt = multi_thread();
    let seen = Inline::new(Vec::new()).shared();
    let task = Builder::new()
        .runtime(rt.handle().clone())
        .capacity(1)
        .placement(Placement::InLine)
        .spawn(seen.clone())
        .unwrap();
    rt.block_on(async {
        let mut sink = task.sink();
        for n in 0..10_000 {
            feed(&mut sink, n).await.unwrap();
        }
        poll_fn(|cx| Pin::new(&mut sink).poll_flush(cx))
            .await
            .unwrap();
        poll_fn(|cx| Pin::new(&mut sink).poll_close(cx))
            .await
            .unwrap();
        let e = feed(&mut sink, 0).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed);
    });
    assert_eq!(seen.with(|v| v.clone()), (0..10_000).collect::<Vec<_>>());
    assert!(seen.is_finished());
    // Closing through the sink closed the run for every clone.
    let task = task;
    assert_eq!(task.send(1).unwrap_err().kind(), ErrorKind::Closed);
}

#[test]
fn start_send_without_poll_ready_is_a_usage_error() {
    let task = consumer_coroutine::spawn(Vec::<u32>::new());
    let mut sink = task.sink();
    let e = Pin::new(&mut sink).start_send(1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage);
}
