//! Record a stream to a file, replay it into any consumer on any runner.
//!
//! ```text
//! cargo run --example record_replay                 # a recording in a temporary file
//! cargo run --example record_replay -- FILE.wire    # keep the recording
//! cargo run --example record_replay -- --items 1000000   # long: a progress line
//! ```
//!
//! The wire is a file format: a `consumer_process::Sender` over a `File` writes the
//! handshake (item type, codec), the items' frames and the end frame; a
//! `consumer_process::Receiver` over the file reads them back into a consumer and
//! closes it, exactly as it would from a pipe. Here the recording of 10 down to 1
//! is replayed twice — into a Countdown on an OS thread, then on a tokio task — and
//! then without its end, which replays what it holds and fails as `Disconnected`,
//! never as a silent success. Any consumer works as the target; a file recorded for another
//! item type is refused at the handshake.

use std::fs::File;

use consumer::{Consumer, ConsumerExt, ErrorKind};
use consumer_process::{Receiver, Sender};
use examples::{Countdown, Progress, say};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _logging = examples::init_logging();
    let (mut file, mut items) = (None, 10u32);
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        if a == "--items" {
            let n = args.next().ok_or("--items needs a number")?;
            items = n
                .to_str()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| format!("--items wants a number, not {n:?}"))?;
        } else {
            file = Some(std::path::PathBuf::from(a));
        }
    }
    let keep = file.is_some();
    let path = file.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("record_replay-{}.wire", std::process::id()))
    });
    // Recording, then two replays: a long run shows its progress on stderr.
    let mut progress =
        Progress::new("record_replay", "items", Some(3 * u64::from(items))).beside_output();

    // Record: the process sender, over a file instead of a pipe.
    let mut recorder = Sender::new(File::create(&path)?);
    recorder.send_all((1..=items).rev().inspect(|_| progress.add(1)))?;
    recorder.close()?;
    let bytes = std::fs::read(&path)?;
    say!("recorded {items} items in {} bytes", bytes.len());

    // Replay into a Countdown on an OS thread: the runner's handle is the consumer.
    say!("== replay on a thread ==");
    let thread = consumer_thread::spawn(Countdown).into_handle();
    let n = Receiver::new(File::open(&path)?)
        .run::<u32, _>(thread.inspect(|_: &u32| progress.add(1)))?;
    say!("replayed {n} items");

    // And on a tokio task.
    say!("== replay on a tokio task ==");
    let task = consumer_coroutine::spawn(Countdown);
    let n =
        Receiver::new(File::open(&path)?).run::<u32, _>(task.inspect(|_: &u32| progress.add(1)))?;
    say!("replayed {n} items");
    drop(progress);

    // A recording cut short (here: its end frame, 5 bytes, is missing, as when the
    // recorder died): what it holds, then an error. Cut inside a frame, the error
    // is a `Protocol` one naming the truncated frame.
    say!("== replay of a recording without its end ==");
    let mut got = Vec::new();
    let cut = &bytes[..bytes.len() - 5];
    let e = Receiver::new(cut)
        .run::<u32, _>(&mut got)
        .expect_err("a cut recording cannot succeed");
    assert_eq!(e.kind(), ErrorKind::Disconnected);
    say!("got {got:?}, then: {e}");

    if !keep {
        std::fs::remove_file(&path)?;
    }
    Ok(())
}
