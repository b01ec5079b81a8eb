//! Real child processes: the suite, exit statuses, kill -9, grandchildren, zombies.

use std::io::{BufRead, BufReader, pipe};
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use consumer::testing::{Event, Fault, Item, Probe, ProbeLog, Suite};
use consumer::{Consumer, ErrorKind};
use consumer_process::{ChildPipe, Coprocess};

use consumer::testing::{Held, Holding};

use crate::support::Forward;

const CHILD: &str = env!("CARGO_BIN_EXE_process-test-child");

pub(crate) fn child(args: &[&str]) -> Command {
    let mut cmd = Command::new(CHILD);
    cmd.args(args);
    cmd
}

/// Joins the thread relaying the child's events when the last handle goes.
pub(crate) struct RelayGuard(Mutex<Option<JoinHandle<()>>>);

impl RelayGuard {
    fn join(&self) {
        if let Some(h) = self.0.lock().unwrap().take() {
            h.join().expect("relay thread");
        }
    }
}

impl Drop for RelayGuard {
    fn drop(&mut self) {
        self.join();
    }
}

impl Held for RelayGuard {
    fn after_close(&self) -> Result<(), consumer::Error> {
        self.join();
        Ok(())
    }
}

/// A probe running in a real child: the child prints its events, a thread here
/// records them in the probe's log. Closing (or dropping the last clone) waits for
/// the relay to reach the child's end of output, so the log is complete.
pub(crate) type RealChild = Forward<ChildPipe, RelayGuard>;

pub(crate) fn fault_arg(fault: Option<Fault>) -> String {
    match fault {
        None => "none".into(),
        Some(Fault::PanicAt(n)) => format!("panic-at:{n}"),
        Some(Fault::FailAt(n)) => format!("fail-at:{n}"),
        Some(Fault::PanicOnClose) => "panic-on-close".into(),
        Some(Fault::FailOnClose) => "fail-on-close".into(),
    }
}

fn parse_event(line: &str) -> Event {
    let mut words = line.split(' ');
    match (words.next(), words.next(), words.next()) {
        (Some("item"), Some(p), Some(seq)) => {
            Event::Item((p.parse().unwrap(), seq.parse().unwrap()))
        }
        (Some("close"), None, None) => Event::Close,
        _ => panic!("the child printed {line:?}"),
    }
}

/// `cmd`, started by `spawn`, runs a probe that prints its events on stdout; a
/// thread here records them in `probe`'s log.
pub(crate) fn relayed(
    probe: &Probe,
    mut cmd: Command,
    spawn: impl FnOnce(Command) -> Result<Coprocess<Item>, consumer::Error>,
) -> RealChild {
    let (out_r, out_w) = pipe().expect("pipe");
    cmd.stdout(out_w);
    let tx = spawn(cmd).expect("spawn").shared();
    let log: ProbeLog = probe.log().clone();
    let relay = thread::spawn(move || {
        for line in BufReader::new(out_r).lines() {
            log.record(parse_event(&line.expect("child stdout")));
        }
    });
    Holding {
        inner: tx,
        held: Arc::new(RelayGuard(Mutex::new(Some(relay)))),
    }
}

fn real_child(probe: Probe) -> RealChild {
    let cmd = child(&["probe", &fault_arg(probe.fault())]);
    relayed(&probe, cmd, Coprocess::spawn)
}

#[test]
fn passes_the_suite_with_a_real_child() {
    // Fewer items than in-process: every item is also printed and parsed back.
    Suite::new("process-child").items(2_000).run(real_child);
}

/// Runs `f` on another thread and fails the test if it does not finish in time: a
/// watchdog, not a timed assertion.
pub(crate) fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what} hung"))
}

/// Blocks until process `pid` (our child) has ended, without reaping it.
fn wait_until_dead(pid: u32) {
    use rustix::process::{Pid, WaitId, WaitIdOptions, waitid};
    let pid = Pid::from_raw(pid as i32).unwrap();
    waitid(
        WaitId::Pid(pid),
        WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
    )
    .expect("waitid");
}

pub(crate) fn kill9(pid: u32) {
    use rustix::process::{Pid, Signal, kill_process};
    kill_process(Pid::from_raw(pid as i32).unwrap(), Signal::KILL).expect("kill");
}

#[test]
fn close_returns_the_real_exit_status() {
    within("exit statuses", || {
        let mut ok = Coprocess::<u64>::spawn(child(&["sink"])).unwrap();
        ok.send_all(0..100).unwrap();
        ok.close().expect("a clean child");

        let mut three = Coprocess::<u64>::spawn(child(&["exit", "3"])).unwrap();
        three.send(1).unwrap();
        let e = three.close().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
        assert!(e.message().unwrap().contains("exited with status 3"), "{e}");
        // Close twice: the same outcome.
        assert_eq!(three.close().unwrap_err().message(), e.message());

        let mut aborts = Coprocess::<u64>::spawn(child(&["abort"])).unwrap();
        aborts.send(1).unwrap();
        let e = aborts.close().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Exit, "{e}");
        assert!(e.message().unwrap().contains("signal 6 (SIGABRT)"), "{e}");
    });
}

#[test]
fn a_child_built_for_another_type_refuses_at_once() {
    within("type mismatch", || {
        let mut c = Coprocess::<String>::spawn(child(&["sink"])).unwrap();
        // The child refuses the handshake and says why; the first write that
        // notices gets it, else close does.
        let e = match c.send("hello".into()) {
            Ok(()) => c.close().unwrap_err(),
            Err(e) => e.into_error(),
        };
        assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
        assert!(e.message().unwrap().contains("fingerprint"), "{e}");
    });
}

#[test]
fn kill_9_mid_stream_fails_the_next_send() {
    within("kill -9", || {
        let mut c = Coprocess::<u64>::spawn(child(&["sink"])).unwrap();
        c.send_all(0..1_000).unwrap();
        let pid = c.pid().unwrap();
        kill9(pid);
        wait_until_dead(pid);
        let e = c.send(1_000).expect_err("the child is dead");
        assert_eq!(e.kind(), ErrorKind::Exit, "{}", e.error());
        assert!(
            e.error().message().unwrap().contains("signal 9 (SIGKILL)"),
            "{}",
            e.error()
        );
        assert_eq!(e.into_item(), Some(1_000));
        assert_eq!(c.close().unwrap_err().kind(), ErrorKind::Exit);
    });
}

#[test]
fn a_grandchild_holding_the_pipe_does_not_hide_the_death() {
    within("grandchild", || {
        let (out_r, out_w) = pipe().unwrap();
        let mut cmd = child(&["grandchild"]);
        cmd.stdout(out_w);
        let mut c = Coprocess::<u64>::spawn(cmd).unwrap();
        let mut line = String::new();
        BufReader::new(out_r).read_line(&mut line).unwrap();
        let grandchild: u32 = line.trim().parse().expect("the grandchild's pid");
        c.send_all(0..100).unwrap();
        let pid = c.pid().unwrap();
        kill9(pid);
        wait_until_dead(pid);
        // The socket is still open in the grandchild; sends must fail anyway, and
        // keep failing even with more than a socket buffer's worth. The first may
        // still be accepted into the sender's ring while its writer thread finishes
        // the batch above; the writer then finds the death and the sends fail.
        let e = (100..1u64 << 20)
            .find_map(|n| c.send(n).err())
            .expect("the child is dead: a send fails");
        assert_eq!(e.kind(), ErrorKind::Exit, "{}", e.error());
        let big = vec![7u64; 1 << 20];
        assert!(c.send_all(big).is_err());
        assert_eq!(c.close().unwrap_err().kind(), ErrorKind::Exit);
        kill9(grandchild);
    });
}

#[test]
fn dropping_a_stubborn_child_kills_and_reaps_it_after_the_grace_period() {
    within("stubborn child", || {
        let c = Coprocess::<u64>::spawn(child(&["stubborn"]))
            .unwrap()
            .grace(Duration::from_millis(100));
        let pid = c.pid().unwrap();
        drop(c);
        assert_reaped(pid);
    });
}

/// `pid` is neither running nor a zombie waiting for us.
pub(crate) fn assert_reaped(pid: u32) {
    use rustix::process::{Pid, WaitId, WaitIdOptions, waitid};
    let r = waitid(
        WaitId::Pid(Pid::from_raw(pid as i32).unwrap()),
        WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
    );
    assert_eq!(
        r.err(),
        Some(rustix::io::Errno::CHILD),
        "child {pid} not reaped"
    );
}

/// Our children that are zombies right now.
fn zombies() -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        if let (Some("Z"), Some(ppid)) = (f.next(), f.next()) {
            if ppid == me {
                found.push(head.split(' ').next().unwrap().parse().unwrap());
            }
        }
    }
    found
}

#[test]
fn a_thousand_spawn_close_cycles_leave_no_zombie() {
    within("spawn/close cycles", || {
        let mut pids = Vec::new();
        for i in 0..1_000u64 {
            let mut c = Coprocess::<u64>::spawn(child(&["sink"])).unwrap();
            c.send(i).unwrap();
            pids.push(c.pid().unwrap());
            if i % 2 == 0 {
                c.close().unwrap();
            } // else: dropped, which closes too
        }
        // Other tests of this binary run children at the same time; only ours count.
        let ours: Vec<u32> = zombies().into_iter().filter(|z| pids.contains(z)).collect();
        assert!(ours.is_empty(), "zombies left: {ours:?}");
        for pid in pids.iter().rev().take(10) {
            assert_reaped(*pid);
        }
    });
}
