//! Run any consumer as a tokio task, and write coroutines that receive.
//!
//! TODO crate docs
#![forbid(unsafe_code)]

mod async_consumer;
mod block;
mod builder;
mod inbox;
mod run;
mod task;

pub use async_consumer::{AsAsync, AsyncConsumer};
pub use builder::{Builder, DEFAULT_CAPACITY, Placement};
pub use inbox::Inbox;
pub use run::BodyResult;
pub use task::Task;

use std::future::Future;

use consumer::{Consumer, Error};

/// Runs `consumer` as a tokio task with the default [`Builder`].
pub fn spawn<T, C>(consumer: C) -> Result<Task<T>, Error>
where
    T: Send + 'static,
    C: Consumer<T> + Send + 'static,
{
    Builder::new().spawn(consumer)
}

/// A coroutine that receives.
pub fn coroutine<T, F, Fut>(body: F) -> Result<Task<T>, Error>
where
    T: Send + 'static,
    F: FnOnce(Inbox<T>) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: BodyResult,
{
    Builder::new().coroutine(body)
}
