//! The in-line runner passes the conformance suite every runner is held to.

use consumer::testing::Suite;
use consumer::{ConsumerExt, Inline};

#[test]
fn inline_shared_passes_the_suite() {
    Suite::new("inline").run(|probe| Inline::new(probe).shared());
}

#[test]
fn adapters_keep_the_contract() {
    // An identity `inspect` in front of the probe changes nothing the suite can see.
    Suite::new("inline+inspect")
        .items(2_000)
        .run(|probe| Inline::new(probe.inspect(|_| {})).shared());
}
