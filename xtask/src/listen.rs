//! The countdown across a network: `--listen` in the background, `--connect` against
//! it with the right key, a wrong key, no key, and raw garbage; the listener must
//! print one Countdown transcript per good connection, log one line per bad one, and
//! keep serving.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::cmd::Result;
use crate::examples::{example_bin, run_example};

const KEY: &str = "xtask-test-key-0123456789abcdef";
const WRONG_KEY: &str = "xtask-wrong-key-0123456789abcdef";
const VAR: &str = "CONSUMER_AUTHKEY";

/// Kills and reaps the listener however the check ends.
struct Listener(Child);

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn check(transcript: &str) -> Result {
    eprintln!("-- example countdown --listen 127.0.0.1:0 / --connect");
    let t = std::time::Instant::now();
    let mut listener = Listener(
        Command::new(example_bin("countdown"))
            .args(["--listen", "127.0.0.1:0"])
            .env(VAR, KEY)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?,
    );
    let mut stdout = BufReader::new(listener.0.stdout.take().expect("piped"));
    // The listener's log, line by line as it comes.
    let stderr = BufReader::new(listener.0.stderr.take().expect("piped"));
    let (log_tx, log_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(std::io::Result::ok) {
            if log_tx.send(line).is_err() {
                break;
            }
        }
    });

    // The listener says where it listens: a real signal, with a timeout.
    let (tx, rx) = mpsc::channel();
    let first = std::thread::spawn(move || {
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let _ = tx.send(line);
        stdout
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .map_err(|_| "the listener did not say where it listens within 30 s")?;
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("the listener's first line is {line:?}"))?
        .to_owned();
    let mut stdout = first.join().map_err(|_| "reader thread")?;

    // Garbage with a huge length prefix: refused, logged, the listener goes on.
    let mut junk = TcpStream::connect(&addr)?;
    junk.write_all(&[0xff; 64])?;
    let _ = junk.read_to_end(&mut Vec::new());

    let connect = |env: &[(&str, &str)]| run_example("countdown", &["--connect", &addr], env);
    let (status, out, err) = connect(&[(VAR, KEY)])?;
    if !status.success() || !out.is_empty() {
        return Err(format!("--connect with the key: {status}\n{out}{err}").into());
    }
    let (status, _, err) = connect(&[(VAR, WRONG_KEY)])?;
    if status.success() || !err.contains("authentication failed") {
        return Err(format!("--connect with a wrong key should fail clearly: {err}").into());
    }
    let (status, _, err) = connect(&[])?;
    if status.success() || !err.contains("needs a key") {
        return Err(format!("--connect without a key should fail clearly: {err}").into());
    }
    let (status, out, err) = connect(&[(VAR, KEY)])?;
    if !status.success() {
        return Err(format!("a second --connect: {status}\n{out}{err}").into());
    }

    // Two bad connections, two log lines: wait for them (a real signal, with a
    // timeout) before stopping the listener, then make sure no third one comes.
    let mut lines = Vec::new();
    while lines.len() < 2 {
        match log_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    drop(listener);
    lines.extend(log_rx.iter());
    let log = lines.join("\n");
    let mut served = String::new();
    stdout.read_to_string(&mut served)?;
    if served != transcript.repeat(2) {
        return Err(format!(
            "the listener should print two transcripts, printed:\n{served}\n--- stderr\n{log}"
        )
        .into());
    }
    let one_line_each =
        lines.len() == 2 && lines.iter().all(|l| l.starts_with("countdown: 127.0.0.1:"));
    if !one_line_each {
        return Err(format!(
            "the listener should log one line for the garbage and one for the wrong key:\n{log}"
        )
        .into());
    }
    eprintln!("   ok in {:.1?}", t.elapsed());
    Ok(())
}
