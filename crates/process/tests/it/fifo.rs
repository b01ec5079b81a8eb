//! Named FIFOs: a child fed through one, and the suite under the one-way profile.

use std::io::Read;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use consumer::testing::{Profile, Suite};
use consumer::{Consumer, ErrorKind};
use consumer_process::{Coprocess, PrivateDir, make_fifo};

use crate::child::{child, fault_arg, relayed};

const CHILD: &str = env!("CARGO_BIN_EXE_process-test-child");

#[test]
fn a_child_is_fed_through_a_fifo() {
    let dir = PrivateDir::new("fifo").unwrap();
    let path = dir.join("items");
    make_fifo(&path).unwrap();
    let (mut out_r, out_w) = std::io::pipe().unwrap();
    let mut cmd = Command::new(CHILD);
    cmd.arg("fifo").arg(&path).stdout(out_w);
    let mut c = Coprocess::<u64>::spawn_fifo(cmd, &path).unwrap();
    c.send_all(0..100_000).unwrap();
    c.close().unwrap();
    let mut printed = String::new();
    out_r.read_to_string(&mut printed).unwrap();
    assert_eq!(printed.trim(), "100000");
    // A FIFO that exists is not made twice.
    assert_eq!(make_fifo(&path).unwrap_err().kind(), ErrorKind::Io);
}

#[test]
fn a_child_that_never_opens_the_fifo_fails_the_spawn() {
    let dir = PrivateDir::new("never").unwrap();
    let path = dir.join("items");
    make_fifo(&path).unwrap();
    let mut cmd = Command::new(CHILD);
    cmd.args(["exit", "5"]).stdin(std::process::Stdio::null());
    let e = Coprocess::<u64>::spawn_fifo(cmd, &path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
    assert!(e.message().unwrap().contains("status 5"), "{e}");
}

#[test]
fn passes_the_one_way_suite_with_a_real_child_behind_a_fifo() {
    // A FIFO has no way back: the child's failure is its exit status, so the suite
    // runs under the one-way profile, which says so and checks the weaker form.
    let dir = PrivateDir::new("fifo-suite").unwrap();
    let n = AtomicU64::new(0);
    Suite::new("process-fifo")
        .items(2_000)
        .profile(Profile::one_way())
        .run(|probe| {
            let path = dir.join(format!("f{}", n.fetch_add(1, Ordering::Relaxed)));
            make_fifo(&path).expect("mkfifo");
            let mut cmd = child(&["probe-fifo"]);
            cmd.arg(&path).arg(fault_arg(probe.fault()));
            relayed(&probe, cmd, |cmd| Coprocess::spawn_fifo(cmd, &path))
        });
}
