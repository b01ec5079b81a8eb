//! The thread runner passes the conformance suite every runner is held to.

use consumer::testing::Suite;

#[test]
fn thread_runner_passes_the_suite() {
    Suite::new("thread").run(|probe| consumer_thread::spawn(probe).into_handle());
}
