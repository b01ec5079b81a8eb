//! The countdown across a network: `--listen` in the background, `--connect` against
//! it with the right key, a wrong key, no key, and raw garbage; the listener must
//! print one Countdown transcript per good connection, log one line per bad one, and
//! keep serving. Then the same over mutual TLS (certificates made at run time with
//! the `openssl` program): a client with its certificate is served, a plain client
//! with the key is refused with an error that names TLS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
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

/// A listener started with `args` and `env`: the process, the address it says it
/// listens on, its stdout after that line, and its log, line by line as it comes.
fn start(
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<(
    Listener,
    String,
    BufReader<ChildStdout>,
    mpsc::Receiver<String>,
)> {
    let mut cmd = Command::new(example_bin("countdown"));
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut listener = Listener(cmd.spawn()?);
    let mut stdout = BufReader::new(listener.0.stdout.take().expect("piped"));
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
    let stdout = first.join().map_err(|_| "reader thread")?;
    Ok((listener, addr, stdout, log_rx))
}

/// Waits for `n` log lines (a real signal, with a timeout), stops the listener, and
/// returns everything it logged and printed.
fn stop(
    listener: Listener,
    mut stdout: BufReader<ChildStdout>,
    log_rx: &mpsc::Receiver<String>,
    n: usize,
) -> Result<(Vec<String>, String)> {
    let mut lines = Vec::new();
    while lines.len() < n {
        match log_rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    drop(listener);
    lines.extend(log_rx.iter());
    let mut served = String::new();
    stdout.read_to_string(&mut served)?;
    Ok((lines, served))
}

pub(crate) fn check(transcript: &str) -> Result {
    check_key(transcript)?;
    check_tls(transcript)
}

fn check_key(transcript: &str) -> Result {
    eprintln!("-- example countdown --listen 127.0.0.1:0 / --connect");
    let t = std::time::Instant::now();
    let (listener, addr, stdout, log_rx) = start(&["--listen", "127.0.0.1:0"], &[(VAR, KEY)])?;

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

    // Two bad connections, two log lines: wait for them before stopping the
    // listener, then make sure no third one comes.
    let (lines, served) = stop(listener, stdout, &log_rx, 2)?;
    let log = lines.join("\n");
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

/// Mutual TLS, no key: a client with its certificate gets the transcript; a plain
/// client (with a key) is refused, both sides naming TLS.
fn check_tls(transcript: &str) -> Result {
    eprintln!("-- example countdown --listen / --connect over mutual TLS");
    let t = std::time::Instant::now();
    let dir = Certs::new()?;
    let path = |name: &str| dir.0.join(name).to_string_lossy().into_owned();
    let (server_crt, server_key, ca) = (path("server.crt"), path("server.key"), path("ca.crt"));
    let (client_crt, client_key) = (path("client.crt"), path("client.key"));
    let (listener, addr, stdout, log_rx) = start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--tls-cert",
            &server_crt,
            "--tls-key",
            &server_key,
            "--tls-ca",
            &ca,
        ],
        &[],
    )?;
    let (status, out, err) = run_example(
        "countdown",
        &[
            "--connect",
            &addr,
            "--tls-ca",
            &ca,
            "--tls-cert",
            &client_crt,
            "--tls-key",
            &client_key,
            "--tls-name",
            "localhost",
        ],
        &[],
    )?;
    if !status.success() || !out.is_empty() {
        return Err(format!("--connect over mutual TLS: {status}\n{out}{err}").into());
    }
    let (status, _, err) = run_example("countdown", &["--connect", &addr], &[(VAR, KEY)])?;
    if status.success() || !err.contains("TLS") {
        return Err(
            format!("a plain --connect to a TLS listener should fail naming TLS: {err}").into(),
        );
    }
    let (lines, served) = stop(listener, stdout, &log_rx, 1)?;
    let log = lines.join("\n");
    if served != transcript {
        return Err(format!(
            "the TLS listener should print one transcript, printed:\n{served}\n--- stderr\n{log}"
        )
        .into());
    }
    if lines.len() != 1 || !lines[0].contains("TLS") {
        return Err(format!("the TLS listener should log one line naming TLS:\n{log}").into());
    }
    eprintln!("   ok in {:.1?}", t.elapsed());
    Ok(())
}

/// A CA, a server certificate for `localhost` and a client certificate it signed,
/// made with `openssl` in a directory of their own, removed on drop.
struct Certs(PathBuf);

impl Certs {
    fn new() -> Result<Certs> {
        let dir = std::env::temp_dir().join(format!("xtask-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir)?;
        let certs = Certs(dir);
        let d = &certs.0;
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "1",
                "-subj",
                "/CN=xtask-ca",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        )?;
        for (name, ext) in [
            (
                "server",
                "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n",
            ),
            (
                "client",
                "subjectAltName=DNS:client.consumer\nextendedKeyUsage=clientAuth\n",
            ),
        ] {
            let (key, csr, crt, extfile) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.crt"),
                format!("{name}.ext"),
            );
            std::fs::write(
                d.join(&extfile),
                format!("basicConstraints=CA:FALSE\n{ext}"),
            )?;
            openssl(
                d,
                &[
                    "req",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-keyout",
                    &key,
                    "-out",
                    &csr,
                    "-subj",
                    &format!("/CN={name}"),
                ],
            )?;
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    "ca.crt",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "1",
                    "-out",
                    &crt,
                    "-extfile",
                    &extfile,
                ],
            )?;
        }
        Ok(certs)
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `openssl ARGS` in `dir`; its output only if it fails.
fn openssl(dir: &Path, args: &[&str]) -> Result {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run openssl (`cargo xtask needs` installs it): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "openssl {}: {}\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(())
}
