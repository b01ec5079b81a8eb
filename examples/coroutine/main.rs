//! The notes' receiving coroutine, `n = (yield)`, as an async body with an inbox.
//!
//! ```text
//! cargo run --example coroutine
//! ```
//!
//! Python's version needs a `c.next()` to prime it before the first `send`; here the
//! inbox buffers from the start, so there is no priming step. `close()` ends the
//! inbox; the code after the loop is the `except GeneratorExit:` cleanup, and
//! `close()` returns only after it has run.

use examples::countdown_items;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _logging = examples::init_logging();
    let countdown = consumer_coroutine::coroutine(|mut inbox| async move {
        println!("Receiving countdown");
        while let Some(n) = inbox.recv().await {
            // n = (yield)
            println!("T-minus {n}");
        }
        // GeneratorExit
        println!("Kaboom!");
    });
    // No countdown.next() here: the first send goes straight in.
    countdown.send_all(countdown_items())?;
    countdown.close()?;
    println!("close returned after the cleanup");
    // Like a closed generator, it takes nothing more, and hands the item back.
    let refused = countdown.send(0).unwrap_err();
    println!(
        "send after close: {} (got {:?} back)",
        refused.error(),
        refused.item()
    );
    Ok(())
}
