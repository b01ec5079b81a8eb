//! Batches survive composition: a `send_all` through `&mut C`, `Box<C>`,
//! `Box<dyn Consumer<T> + Send>`, `Inline`, `Shared`, the adapters and chains of them
//! reaches the consumer at the end as one batch, and a failure mid-batch keeps the
//! `send_all` contract (the failing item back, exactly the earlier items delivered,
//! the later ones still in the iterator).

use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use consumer::{Consumer, ConsumerExt, Error, ErrorKind, Inline, SendError, from_fn};

/// What a [`Counting`] consumer saw.
#[derive(Debug, Default)]
struct Log {
    /// The items it accepted, in order.
    items: Vec<u32>,
    /// Calls of its batch path (`send_batch`).
    batches: usize,
    /// Calls of its per-item path (`send`).
    sends: usize,
    /// Calls of its `close`.
    closes: usize,
}

/// Records which path each item took; refuses the item `refuse`.
struct Counting {
    log: Arc<Mutex<Log>>,
    refuse: Option<u32>,
}

impl Counting {
    fn accept(&self, log: &mut Log, n: u32) -> Result<(), SendError<u32>> {
        if Some(n) == self.refuse {
            return Err(SendError::new(n, Error::new(ErrorKind::Other, "refused")));
        }
        log.items.push(n);
        Ok(())
    }
}

impl Consumer<u32> for Counting {
    fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
        let mut log = self.log.lock().unwrap();
        log.sends += 1;
        self.accept(&mut log, n)
    }

    fn send_batch(&mut self, items: &mut dyn Iterator<Item = u32>) -> Result<(), SendError<u32>> {
        let mut log = self.log.lock().unwrap();
        log.batches += 1;
        for n in items {
            self.accept(&mut log, n)?;
        }
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        self.log.lock().unwrap().closes += 1;
        Ok(())
    }
}

/// One wrapping of the counting consumer: it is given the consumer and the items, and
/// calls `send_all` on its wrapper.
type Send = fn(Counting, &mut Range<u32>) -> Result<(), SendError<u32>>;

/// `send_all` on `C` itself: `(&mut c).send_all(..)` would auto-deref to the
/// referent's impl, so this is how to reach the impl for `&mut C`.
fn send_all_to<C: Consumer<u32>>(mut c: C, items: &mut Range<u32>) -> Result<(), SendError<u32>> {
    c.send_all(items)
}

/// Every wrapping under test, with whether its error can hand the item back (`map`
/// and `filter_map` transform it, so theirs cannot).
fn cases() -> Vec<(&'static str, bool, Send)> {
    vec![
        ("direct", true, |mut c, items| c.send_all(items)),
        ("&mut C", true, |mut c, items| send_all_to(&mut c, items)),
        ("Box<C>", true, |c, items| Box::new(c).send_all(items)),
        ("Box<dyn>", true, |c, items| {
            let mut b: Box<dyn Consumer<u32> + std::marker::Send> = Box::new(c);
            b.send_all(items)
        }),
        ("&mut dyn (send_batch)", true, |mut c, items| {
            // `d.send_all` would resolve to the unsized `dyn` itself: `send_batch` is
            // the call for a `&mut dyn Consumer`.
            let d: &mut dyn Consumer<u32> = &mut c;
            d.send_batch(items)
        }),
        ("Inline", true, |c, items| Inline::new(c).send_all(items)),
        ("Shared", true, |c, items| {
            Inline::new(c).shared().clone().send_all(items)
        }),
        ("map", false, |c, items| c.map(|n: u32| n).send_all(items)),
        ("filter", true, |c, items| {
            c.filter(|_: &u32| true).send_all(items)
        }),
        ("filter_map", false, |c, items| {
            c.filter_map(Some).send_all(items)
        }),
        ("inspect", true, |c, items| {
            c.inspect(|_: &u32| {}).send_all(items)
        }),
        ("Box<dyn> of Shared of map of filter", false, |c, items| {
            let chain = Inline::new(c.filter(|_: &u32| true).map(|n: u32| n)).shared();
            let mut b: Box<dyn Consumer<u32> + std::marker::Send> = Box::new(chain);
            b.send_all(items)
        }),
        ("&mut Box<dyn> of inspect of Box<dyn>", true, |c, items| {
            let inner: Box<dyn Consumer<u32> + std::marker::Send> = Box::new(c);
            let mut b: Box<dyn Consumer<u32> + std::marker::Send> =
                Box::new(inner.inspect(|_: &u32| {}));
            send_all_to(&mut b, items)
        }),
        (
            "map of Box<dyn> of filter_map of Inline",
            false,
            |c, items| {
                let inner: Box<dyn Consumer<u32> + std::marker::Send> =
                    Box::new(Inline::new(c).filter_map(|n: u32| n.checked_add(0)));
                inner.map(|n: u32| n).send_all(items)
            },
        ),
    ]
}

fn counting(refuse: Option<u32>) -> (Counting, Arc<Mutex<Log>>) {
    let log = Arc::new(Mutex::new(Log::default()));
    let c = Counting {
        log: Arc::clone(&log),
        refuse,
    };
    (c, log)
}

#[test]
fn a_batch_arrives_as_one_batch_in_order_through_every_wrapper() {
    for (name, _, send) in cases() {
        let (c, log) = counting(None);
        let mut items = 0..1_000;
        send(c, &mut items).unwrap_or_else(|e| panic!("{name}: {e}"));
        let log = log.lock().unwrap();
        assert_eq!(
            (log.batches, log.sends),
            (1, 0),
            "{name}: batch path, per-item path"
        );
        assert_eq!(
            log.items,
            (0..1_000).collect::<Vec<_>>(),
            "{name}: in order"
        );
        assert_eq!(items.len(), 0, "{name}: every item taken");
    }
}

#[test]
fn a_failure_mid_batch_hands_the_item_back_after_exactly_the_earlier_items() {
    for (name, keeps_item, send) in cases() {
        let (c, log) = counting(Some(4));
        let mut items = 0..10;
        let e = send(c, &mut items).expect_err(name);
        assert_eq!(e.kind(), ErrorKind::Other, "{name}: {e}");
        let back = e.into_item();
        if keeps_item {
            assert_eq!(back, Some(4), "{name}: the failing item comes back");
        } else {
            assert_eq!(back, None, "{name}: the item was transformed");
        }
        let log = log.lock().unwrap();
        assert_eq!((log.batches, log.sends), (1, 0), "{name}: one batch");
        assert_eq!(log.items, [0, 1, 2, 3], "{name}: exactly the earlier items");
        assert_eq!(
            items.collect::<Vec<_>>(),
            [5, 6, 7, 8, 9],
            "{name}: the later items are still in the iterator"
        );
    }
}

#[test]
fn a_filter_in_the_chain_still_delivers_one_batch_of_what_passes() {
    let (c, log) = counting(Some(6));
    let mut b: Box<dyn Consumer<u32> + std::marker::Send> =
        Box::new(c.filter(|n: &u32| n.is_multiple_of(2)));
    let mut items = 0..10;
    assert_eq!(b.send_all(&mut items).unwrap_err().into_item(), Some(6));
    let log = log.lock().unwrap();
    assert_eq!((log.batches, log.sends), (1, 0));
    assert_eq!(log.items, [0, 2, 4]);
    assert_eq!(items.collect::<Vec<_>>(), [7, 8, 9]);
}

#[test]
fn inline_after_a_failed_batch_refuses_with_the_item_back_and_still_closes() {
    let (c, log) = counting(Some(2));
    let mut inline = Inline::new(c);
    assert_eq!(inline.send_all(0..5).unwrap_err().into_item(), Some(2));
    let e = inline.send_all(7..9).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Other);
    assert_eq!(
        e.into_item(),
        Some(7),
        "refused: the batch's first item back"
    );
    assert!(
        inline.send_all(0..0).is_ok(),
        "an empty batch has nothing to refuse"
    );
    assert_eq!(inline.close().unwrap_err().kind(), ErrorKind::Other);
    let log = log.lock().unwrap();
    assert_eq!(log.items, [0, 1]);
    assert_eq!(
        (log.batches, log.sends, log.closes),
        (1, 0, 1),
        "its close still ran"
    );
}

#[test]
fn a_panic_in_the_consumer_mid_batch_is_reported_and_the_item_is_lost() {
    let mut c = Inline::new(from_fn(|n: u32| assert_ne!(n, 3, "three")));
    let mut b: Box<dyn Consumer<u32> + std::marker::Send> = Box::new(&mut c);
    let mut items = 0..10;
    let e = b.send_all(&mut items).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Panicked);
    assert!(e.item().is_none(), "the consumer had taken it");
    assert_eq!(items.next(), Some(4), "items after it stay in the iterator");
    assert_eq!(b.send_all(5..6).unwrap_err().into_item(), Some(5));
}

#[test]
fn a_panic_in_the_producers_iterator_unwinds_into_the_producer_not_the_consumer() {
    let (c, log) = counting(None);
    let shared = Inline::new(c).shared();
    let mut b: Box<dyn Consumer<u32> + std::marker::Send> = Box::new(shared.clone());
    let items = (0..10).map(|n| if n == 3 { panic!("producer") } else { n });
    let unwound = catch_unwind(AssertUnwindSafe(|| b.send_all(items)));
    let payload = unwound.expect_err("the producer's panic reaches the producer");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"producer"));
    assert!(
        !shared.is_finished(),
        "the consumer did not panic: it stays open"
    );
    b.send_all(3..5).unwrap();
    b.close().unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log.items, [0, 1, 2, 3, 4]);
    assert_eq!((log.batches, log.sends, log.closes), (2, 0, 1));
}

/// Overrides only the generic `send_all`, as the runner crates' handles did before
/// `send_batch` existed.
struct SendAllOnly(Arc<Mutex<Log>>);

impl Consumer<u32> for SendAllOnly {
    fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
        let mut log = self.0.lock().unwrap();
        log.sends += 1;
        log.items.push(n);
        Ok(())
    }
    fn send_all<I: IntoIterator<Item = u32>>(&mut self, items: I) -> Result<(), SendError<u32>> {
        let mut log = self.0.lock().unwrap();
        log.batches += 1;
        log.items.extend(items);
        Ok(())
    }
}

#[test]
fn an_override_of_send_all_alone_batches_through_sized_wrappers_but_not_through_a_pointer() {
    let log = Arc::new(Mutex::new(Log::default()));
    let mut c = Inline::new(SendAllOnly(Arc::clone(&log)).map(|n: u32| n)).shared();
    c.send_all(0..10).unwrap();
    {
        let log = log.lock().unwrap();
        assert_eq!((log.batches, log.sends), (1, 0));
    }

    // `Box<C>` and `&mut C` take `C: ?Sized`: only `send_batch` reaches through them,
    // so such a consumer must override it to batch there (docs/decisions/0008).
    let log = Arc::new(Mutex::new(Log::default()));
    let mut b = Box::new(SendAllOnly(Arc::clone(&log)));
    b.send_all(0..10).unwrap();
    let log = log.lock().unwrap();
    assert_eq!((log.batches, log.sends), (0, 10));
    assert_eq!(log.items, (0..10).collect::<Vec<_>>());
}
