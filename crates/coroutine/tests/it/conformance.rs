//! The runner passes the conformance suite every runner is held to, in each placement,
//! on each runtime flavour, and through the coroutine-body form.

use consumer::Consumer;
use consumer::testing::{Probe, Suite};
use consumer_coroutine::{AsAsync, Builder, Placement};
use tokio::runtime::Runtime;

fn multi_thread() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a runtime")
}

#[test]
fn blocking_pool_passes_the_suite() {
    let rt = multi_thread();
    Suite::new("coroutine/blocking-pool").run(|probe| {
        Builder::new()
            .runtime(rt.handle().clone())
            .spawn(probe)
            .expect("spawn")
            .into_handle()
    });
}

#[test]
fn in_line_passes_the_suite() {
    let rt = multi_thread();
    Suite::new("coroutine/in-line").run(|probe| {
        Builder::new()
            .runtime(rt.handle().clone())
            .placement(Placement::InLine)
            .capacity(16)
            .spawn(probe)
            .expect("spawn")
            .into_handle()
    });
}

#[test]
fn async_consumer_on_a_current_thread_runtime_passes_the_suite() {
    // The runtime runs in its own thread; the suite's producers are plain threads.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let handle = rt.handle().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let driver = std::thread::spawn(move || rt.block_on(stopped));
    // Fewer items: every item crosses threads to a single-threaded runtime, and the
    // in-line and blocking-pool suites above already run the full count.
    Suite::new("coroutine/async-current-thread")
        .items(2_000)
        .run(|probe| {
            Builder::new()
                .runtime(handle.clone())
                .spawn_async(AsAsync(probe))
                .expect("spawn")
                .into_handle()
        });
    let _ = stop.send(());
    driver.join().expect("runtime thread").expect("stop signal");
}

#[test]
fn coroutine_body_passes_the_suite() {
    let rt = multi_thread();
    Suite::new("coroutine/body").items(2_000).run(|probe| {
        Builder::new()
            .runtime(rt.handle().clone())
            .coroutine(|mut inbox| async move { body(probe, &mut inbox).await })
            .expect("spawn")
    });
}

/// The probe as a receive-style body: deliver, stop at a failure (closing the probe,
/// as a runner would), close at the end of the inbox.
async fn body(
    mut probe: Probe,
    inbox: &mut consumer_coroutine::Inbox<consumer::testing::Item>,
) -> Result<(), consumer::Error> {
    while let Some(item) = inbox.recv().await {
        if let Err(e) = probe.send(item) {
            let _ = probe.close();
            return Err(e.into_error());
        }
    }
    probe.close()
}
