//! `spawn_self` before the role check: refused in the first grandchild with a
//! usage error naming the fix, never an endless chain of processes.

use std::process::Stdio;

use crate::child::{child, within};

/// Runs `process-test-child runaway` with `depth` (if any) as its spawn_self marker;
/// its stderr, shared by every generation it starts, once they have all ended.
fn runaway(marker: Option<&'static str>) -> (bool, String) {
    within("runaway", move || {
        let mut cmd = child(&["runaway"]);
        cmd.env_remove("CONSUMER_PROCESS_SPAWNED_SELF");
        if let Some(m) = marker {
            cmd.env("CONSUMER_PROCESS_SPAWNED_SELF", m);
        }
        let out = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run the child");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
}

#[test]
fn spawn_self_with_the_arguments_it_was_started_with_is_refused_in_the_grandchild() {
    let (ok, stderr) = runaway(None);
    assert!(!ok, "{stderr}");
    // The child started one grandchild; that one refused, and nothing further ran.
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("refused")).count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("refused Usage: invalid use: spawn_self refused"),
        "{stderr}"
    );
    assert!(stderr.contains("same arguments [\"runaway\"]"), "{stderr}");
    assert!(stderr.contains("check the role flag"), "{stderr}");
}

#[test]
fn spawn_self_eight_generations_deep_is_refused_whatever_the_arguments() {
    // A marker from another program and arguments: only the depth counts.
    let (ok, stderr) = runaway(Some("8 0123456789abcdef"));
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("8 generations"), "{stderr}");
    assert!(stderr.contains("check the role flag"), "{stderr}");
}
