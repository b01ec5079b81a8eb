//! The thread runner passes the conformance suite every runner is held to, with the
//! default mailbox, a one-slot mailbox (every send contends), and an unbounded one.

use consumer::testing::Suite;
use consumer_thread::Builder;

#[test]
fn default_runner_passes_the_suite() {
    Suite::new("thread").run(|probe| consumer_thread::spawn(probe).into_handle());
}

#[test]
fn one_slot_mailbox_passes_the_suite() {
    Suite::new("thread capacity(1)").items(2_000).run(|probe| {
        let runner = Builder::new().capacity(1).spawn(probe).expect("spawn");
        runner.into_handle()
    });
}

#[test]
fn unbounded_mailbox_passes_the_suite() {
    Suite::new("thread unbounded").items(2_000).run(|probe| {
        let runner = Builder::new().unbounded().spawn(probe).expect("spawn");
        runner.into_handle()
    });
}
