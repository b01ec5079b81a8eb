use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use consumer::ErrorKind;
use consumer_primitives::{BoundedSemaphore, Semaphore};

use crate::{PATIENCE, SHORT};

/// Any semaphore's guard, boxed so one test drives both kinds.
trait Permit {}
impl Permit for consumer_primitives::SemaphoreGuard<'_> {}

/// Counts threads inside a section and remembers the most seen at once.
#[derive(Default)]
struct Occupancy {
    now: AtomicUsize,
    most: AtomicUsize,
}

impl Occupancy {
    fn inside(&self, f: impl FnOnce()) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(n, Ordering::SeqCst);
        f();
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Property: however threads acquire (blocking, try, timeout), no more than the
/// permits are ever out at once, and every permit comes back.
fn never_more_than_its_permits<S: Send + Sync + 'static>(
    sem: S,
    permits: usize,
    acquire: fn(&S, usize) -> Option<Box<dyn Permit + '_>>,
    available: fn(&S) -> usize,
) {
    const THREADS: usize = 6;
    const ROUNDS: usize = 2_000;
    let sem = Arc::new(sem);
    let seen = Arc::new(Occupancy::default());
    let taken = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (sem, seen, taken) = (Arc::clone(&sem), Arc::clone(&seen), Arc::clone(&taken));
            thread::spawn(move || {
                for round in 0..ROUNDS {
                    if let Some(permit) = acquire(&sem, t * ROUNDS + round) {
                        seen.inside(thread::yield_now);
                        taken.fetch_add(1, Ordering::Relaxed);
                        drop(permit);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let most = seen.most.load(Ordering::SeqCst);
    assert!(
        most <= permits,
        "{most} holders at once with {permits} permits"
    );
    assert!(most >= 1 && taken.load(Ordering::Relaxed) > 0);
    assert_eq!(available(&sem), permits, "every permit came back");
}

#[test]
fn a_semaphore_never_hands_out_more_than_its_permits() {
    never_more_than_its_permits(
        Semaphore::new(3),
        3,
        |s, i| match i % 3 {
            0 => Some(Box::new(s.acquire())),
            1 => s.try_acquire().map(|g| Box::new(g) as Box<dyn Permit>),
            _ => s
                .acquire_timeout(PATIENCE)
                .map(|g| Box::new(g) as Box<dyn Permit>),
        },
        Semaphore::available_permits,
    );
}

#[test]
fn a_bounded_semaphore_never_hands_out_more_than_its_permits() {
    never_more_than_its_permits(
        BoundedSemaphore::new(2),
        2,
        |s, i| match i % 2 {
            0 => Some(Box::new(s.acquire())),
            _ => s.try_acquire().map(|g| Box::new(g) as Box<dyn Permit>),
        },
        BoundedSemaphore::available_permits,
    );
}

#[test]
fn acquire_timeout_gives_up_after_the_timeout() {
    let s = Semaphore::new(0);
    let t = Instant::now();
    assert!(s.acquire_timeout(SHORT).is_none());
    assert!(t.elapsed() >= SHORT, "gave up after {:?}", t.elapsed());
    let b = BoundedSemaphore::new(1);
    let _held = b.acquire();
    assert!(b.acquire_timeout(SHORT).is_none());
}

#[test]
fn a_release_wakes_a_waiter() {
    let s = Arc::new(Semaphore::new(0));
    let ready = Arc::new(Barrier::new(2));
    let waiter = {
        let (s, ready) = (Arc::clone(&s), Arc::clone(&ready));
        thread::spawn(move || {
            ready.wait();
            s.acquire_timeout(PATIENCE).map(|g| g.keep()).is_some()
        })
    };
    ready.wait();
    s.release().unwrap();
    assert!(
        waiter.join().unwrap(),
        "the released permit must reach the waiter"
    );
    assert_eq!(s.available_permits(), 0, "the waiter kept it");
}

#[test]
fn a_semaphore_counts_releases_without_acquires() {
    let s = Semaphore::new(0);
    for _ in 0..3 {
        s.release().unwrap();
    }
    assert_eq!(s.available_permits(), 3);
    let _all = [s.acquire(), s.acquire(), s.acquire()];
    assert!(s.try_acquire().is_none());
}

#[test]
fn a_semaphore_refuses_to_overflow() {
    let s = Semaphore::new(usize::MAX);
    let e = s.release().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert_eq!(s.available_permits(), usize::MAX);
}

#[test]
fn releasing_a_bounded_semaphore_above_its_initial_value_is_an_error() {
    let s = BoundedSemaphore::new(2);
    let e = s.release().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Usage, "{e}");
    assert!(e.to_string().contains("above its initial value 2"), "{e}");
    assert_eq!(
        s.available_permits(),
        2,
        "a refused release changes nothing"
    );

    s.acquire().keep();
    s.release().unwrap();
    assert!(s.release().is_err());
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn a_guard_given_back_after_an_extra_release_keeps_the_bound() {
    let s = BoundedSemaphore::new(1);
    let g = s.acquire();
    s.release().unwrap(); // Python allows this: 0 → 1
    drop(g); // would be 2: refused, the count stays at the bound
    assert_eq!(s.available_permits(), 1);
}

#[test]
fn a_panicking_holder_gives_its_permit_back() {
    let s = Arc::new(BoundedSemaphore::new(1));
    let holder = {
        let s = Arc::clone(&s);
        thread::spawn(move || {
            let _permit = s.acquire();
            panic!("holder panics");
        })
    };
    assert!(holder.join().is_err());
    assert_eq!(s.available_permits(), 1);
}

#[test]
fn debug_names_the_kind_of_semaphore() {
    assert_eq!(
        format!("{:?}", Semaphore::new(3)),
        "Semaphore { available: 3 }"
    );
    assert_eq!(
        format!("{:?}", BoundedSemaphore::new(3)),
        "BoundedSemaphore { available: 3, bound: 3 }"
    );
}
