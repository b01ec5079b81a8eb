//! Error paths and composition, checked directly.

use consumer::{Consumer, ConsumerExt, Error, ErrorKind, Inline, from_fn, try_from_fn};

#[test]
fn inline_close_runs_once_and_send_after_close_hands_back() {
    let closes = std::cell::Cell::new(0);
    let mut c = Inline::new(from_fn(|_: u8| {}).on_close(|| {
        closes.set(closes.get() + 1);
        Ok(())
    }));
    c.close().unwrap();
    c.close().unwrap();
    let e = c.send(9).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Closed);
    assert_eq!(e.to_string(), "send failed: consumer is closed");
    assert_eq!(e.into_item(), Some(9));
    drop(c);
    assert_eq!(closes.get(), 1);
}

#[test]
fn dropping_an_open_inline_closes_it_and_into_inner_does_not() {
    let closed = std::cell::Cell::new(false);
    drop(Inline::new(from_fn(|_: u8| {}).on_close(|| {
        closed.set(true);
        Ok(())
    })));
    assert!(closed.get());

    let mut c = Inline::new(Vec::new());
    c.send(1).unwrap();
    assert_eq!(c.into_inner(), [1]);
}

#[test]
fn a_failing_consumer_stops_the_inline_runner_but_still_closes() {
    let mut closed = 0;
    {
        let mut c = Inline::new(
            try_from_fn(|n: u8| {
                if n == 2 {
                    Err(Error::new(ErrorKind::Other, "two"))
                } else {
                    Ok(())
                }
            })
            .on_close(|| {
                closed += 1;
                Ok(())
            }),
        );
        c.send(1).unwrap();
        let e = c.send(2).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Other);
        assert!(e.item().is_none(), "the consumer took the item");
        let e = c.send(3).unwrap_err();
        assert_eq!(e.into_item(), Some(3));
        assert_eq!(c.close().unwrap_err().message(), Some("two"));
        assert_eq!(c.close().unwrap_err().message(), Some("two"));
    }
    assert_eq!(closed, 1);
}

#[test]
fn a_pipeline_closes_from_the_front_in_order() {
    let log = Inline::new(Vec::new()).shared();
    let stage = |name: &'static str, log: &consumer::Shared<Vec<String>>| {
        let mut on_item = log.clone();
        let mut on_close = log.clone();
        from_fn(move |n: u32| {
            on_item.send(format!("{name} {n}")).unwrap();
        })
        .on_close(move || on_close.send(format!("{name} closed")).map_err(Error::from))
    };
    // front → middle → back, chained with adapters; closing the front closes all.
    let back = Inline::new(stage("back", &log)).shared();
    let mut to_back = back.clone();
    let middle = Inline::new(
        from_fn(move |n: u32| to_back.send(n * 2).unwrap()).on_close({
            let mut back = back.clone();
            let mut log = log.clone();
            move || {
                log.send("middle closed".into()).map_err(Error::from)?;
                back.close()
            }
        }),
    );
    let mut front = middle.map(|n: u32| n + 1);
    front.send(1).unwrap();
    front.close().unwrap();
    assert_eq!(
        log.with(|v| v.clone()),
        ["back 4", "middle closed", "back closed"]
    );
}

#[test]
fn trait_objects_work() {
    let mut many: Vec<Box<dyn Consumer<u8> + Send>> = vec![
        Box::new(Vec::new()),
        Box::new(Inline::new(Vec::new())),
        Box::new(from_fn(|_: u8| {})),
    ];
    for c in &mut many {
        c.send(1).unwrap();
        c.close().unwrap();
    }
}

#[test]
fn error_display_is_lowercase_without_period_and_debug_needs_no_debug_item() {
    struct NotDebug;
    let e = consumer::SendError::closed(NotDebug);
    assert_eq!(
        format!("{e:?}"),
        "SendError { item: \"Some(..)\", error: Error { kind: Closed } }"
    );
    let e = Error::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
    assert_eq!(e.kind(), ErrorKind::Disconnected);
    assert!(std::error::Error::source(&e).is_some());
}

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[test]
fn public_types_are_send_and_sync_where_they_should_be() {
    assert_send_sync::<Error>();
    assert_send_sync::<consumer::SendError<u8>>();
    assert_send_sync::<consumer::Shared<Vec<u8>>>();
    assert_send::<consumer::Broadcast<u8>>();
    assert_send::<Inline<Vec<u8>>>();
}
