//! Dispatch: least-loaded spreads even a short batch; a batch that fails mid-chunk
//! accounts for every item it took.

use std::sync::{Arc, Mutex};

use consumer::{Consumer, Error, ErrorKind, SendError};
use consumer_pool::{Dispatch, Pool, Restart};

use crate::support::{Checker, Item, within};

fn spread(send: impl FnOnce(&mut Pool<Item>)) -> Vec<u64> {
    let all = Arc::new(Mutex::new(Vec::new()));
    let registry = all.clone();
    let mut pool = Pool::builder(2)
        .build(move |i| Ok(consumer_thread::spawn(Checker::new(i, &registry, None))))
        .expect("pool");
    send(&mut pool);
    pool.close().expect("close");
    let all = all.lock().unwrap();
    all.iter().map(|s| s.lock().unwrap().items()).collect()
}

#[test]
fn least_loaded_shares_a_short_batch_of_costly_items() {
    within(30, "a short batch", || {
        let got = spread(|pool| pool.send_all((0..24).map(|s| (0, s))).expect("send_all"));
        assert_eq!(got, [12, 12]);
    });
}

#[test]
fn least_loaded_shares_single_sends() {
    within(30, "single sends", || {
        let got = spread(|pool| (0..100).for_each(|s| pool.send((0, s)).expect("send")));
        assert_eq!(got, [50, 50]);
    });
}

/// An in-line worker that refuses one item (handing it back) and records the rest.
struct Refuses {
    at: u64,
    got: Arc<Mutex<Vec<Item>>>,
}

impl Consumer<Item> for Refuses {
    fn send(&mut self, item: Item) -> Result<(), SendError<Item>> {
        if item.1 == self.at {
            return Err(SendError::new(
                item,
                Error::new(ErrorKind::Other, "refused"),
            ));
        }
        self.got.lock().unwrap().push(item);
        Ok(())
    }
}

#[test]
fn a_batch_that_fails_mid_chunk_counts_what_it_dropped() {
    for dispatch in [
        Dispatch::least_loaded(),
        Dispatch::by_key(|i: &Item| i.1 % 5),
    ] {
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let mut pool = Pool::builder(3)
            .dispatch(dispatch.clone())
            .restart(Restart::never())
            .build(move |_| {
                Ok(Refuses {
                    at: 100,
                    got: g.clone(),
                })
            })
            .expect("pool");
        let mut items = (0..1_000u64).map(|s| (0, s));
        let e = pool
            .send_all(items.by_ref())
            .expect_err("item 100 is refused");
        assert_eq!(e.kind(), ErrorKind::Other, "{dispatch:?}: {e}");
        assert_eq!(
            e.item(),
            Some(&(0, 100)),
            "{dispatch:?}: the refused item comes back"
        );
        let dropped = e.error().undelivered().unwrap_or(0);
        let delivered = got.lock().unwrap().len() as u64;
        let left = items.count() as u64;
        assert_eq!(
            delivered + 1 + dropped + left,
            1_000,
            "{dispatch:?}: delivered {delivered}, 1 back, {dropped} dropped, {left} left"
        );
        assert_eq!(pool.counts().accepted, delivered, "{dispatch:?}");
        let closed = pool.close().expect_err("the pool failed");
        assert_eq!(closed.kind(), ErrorKind::Other);
    }
}

#[test]
fn a_panic_in_the_producers_iterator_is_the_producers_not_the_workers() {
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    let mut pool = Pool::builder(1)
        .restart(Restart::never())
        .build(move |_| {
            Ok(Refuses {
                at: u64::MAX,
                got: g.clone(),
            })
        })
        .expect("pool");
    let mut s = consumer_pool::Supervised::new(Restart::never(), {
        let g = got.clone();
        move |_| {
            Ok(Refuses {
                at: u64::MAX,
                got: g.clone(),
            })
        }
    })
    .expect("supervised");
    let bad = || {
        (0..10u64).map(|i| {
            if i == 5 {
                panic!("the producer's bug")
            } else {
                (0, i)
            }
        })
    };
    for target in [&mut pool as &mut dyn Consumer<Item>, &mut s] {
        let mut bad = bad();
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| target.send_batch(&mut bad)));
        assert!(caught.is_err(), "the panic reaches the producer");
        target.send((1, 0)).expect("the worker is unharmed");
        target.close().expect("close");
    }
    // The pool gathers a chunk before dispatching it: the items taken before the
    // panic were never accepted. The supervised worker was fed them one by one.
    assert_eq!((pool.counts().accepted, pool.counts().restarts), (1, 0));
    assert_eq!((s.counts().accepted, s.counts().restarts), (6, 0));
    assert_eq!(got.lock().unwrap().len(), 7);
}
