//! Auto-trait promises of the public types (tokio's `tests/async_send_sync.rs`).

use consumer_primitives::{
    BoundedSemaphore, Event, Queue, RLock, RLockGuard, Semaphore, SemaphoreGuard,
};

fn send_sync<T: Send + Sync>() {}

#[test]
fn shared_types_are_send_and_sync() {
    send_sync::<RLock>();
    send_sync::<Semaphore>();
    send_sync::<BoundedSemaphore>();
    send_sync::<SemaphoreGuard<'static>>();
    send_sync::<Event>();
    send_sync::<Queue<String>>();
}

/// An `RLockGuard` must not leave its thread: that is what keeps releases with the
/// owner. (`RLockGuard` has a `compile_fail` doc test for the `Send` half.)
#[test]
fn rlock_guard_is_not_send() {
    trait AmbiguousIfSend<A> {
        fn some_item() {}
    }
    impl<T: ?Sized> AmbiguousIfSend<()> for T {}
    impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}
    // Compiles only if exactly one impl applies, i.e. the guard is not `Send`.
    <RLockGuard<'static> as AmbiguousIfSend<_>>::some_item();
}
