//! The notes' `threading` slides, mapped onto `std::thread` — no wrapper needed:
//!
//! | Python (`threading`)                     | Rust (`std::thread`)                          |
//! |------------------------------------------|-----------------------------------------------|
//! | `class CountdownThread(Thread): run()`   | a struct with a `run(self)`, given to `spawn` |
//! | `Thread(target=countdown, args=(10,))`   | `thread::spawn(move \|\| countdown(10))`       |
//! | `t.start()`                              | `spawn` starts it at once                     |
//! | `t.join()`                               | `handle.join()` (also returns the result)     |
//! | `t.isAlive()`                            | `!handle.is_finished()`                       |
//! | `t.getName()` / `Thread(name=...)`       | `handle.thread().name()` / `Builder::name`    |
//! | `t.setDaemon(True)`                      | every Rust thread: the process ends when `main` returns |
//! | non-daemon (Python waits for it at exit) | join it before `main` returns                 |
//!
//! The notes' countdowns sleep 5 seconds between lines; these do not.

use std::sync::mpsc;
use std::thread;

use consumer::Consumer;
use examples::Countdown;

/// The notes' `CountdownThread`: the class's state is the struct, `run()` is a
/// method, and `start()` is `thread::spawn` (or a `Builder`, for a name).
struct CountdownThread {
    count: u32,
}

impl CountdownThread {
    /// Counts down with the workspace's one `Countdown` consumer.
    fn run(self) -> u32 {
        let mut c = Countdown;
        for n in (1..=self.count).rev() {
            c.send(n).expect("Countdown's send cannot fail");
        }
        c.close().expect("Countdown's close cannot fail");
        self.count
    }
}

/// The notes' `countdown` function, for a function thread.
fn countdown(count: u32) {
    let me = thread::current();
    let name = me.name().unwrap_or("unnamed");
    for n in (1..=count).rev() {
        println!("{name}: counting down {n}");
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _logging = examples::init_logging();
    println!("== a thread class: CountdownThread(3).start(), then join()");
    let t1 = thread::spawn(move || CountdownThread { count: 3 }.run());
    let counted = t1.join().map_err(|_| "CountdownThread panicked")?;
    println!("joined; run() returned {counted}");

    println!("== a function as a thread, with a name");
    let t2 = thread::Builder::new()
        .name("countdown-fn".into())
        .spawn(|| countdown(3))?;
    let name = t2.thread().name().unwrap_or("unnamed").to_owned();
    t2.join().map_err(|_| "countdown panicked")?;
    // Printed after the join, so it cannot interleave with the thread's own lines.
    println!("name: {name}");

    println!("== is_alive(): is_finished() on the handle");
    let (release, wait) = mpsc::channel::<()>();
    let t3 = thread::Builder::new()
        .name("worker".into())
        .spawn(move || wait.recv().ok())?;
    println!("worker alive before release: {}", !t3.is_finished());
    drop(release);
    t3.join().map_err(|_| "worker panicked")?;
    println!("worker joined");

    println!("== two at once: their lines interleave");
    let both: Vec<_> = ["left", "right"]
        .into_iter()
        .map(|name| {
            thread::Builder::new()
                .name(name.into())
                .spawn(|| countdown(3))
        })
        .collect::<Result<_, _>>()?;
    for t in both {
        t.join().map_err(|_| "countdown panicked")?;
    }
    println!("both joined");

    println!("== a daemon thread: never joined; it ends with the process");
    let (started, wait_started) = mpsc::channel();
    thread::Builder::new()
        .name("daemon".into())
        .spawn(move || {
            let _ = started.send(());
            // A background task that never finishes: parks for ever.
            loop {
                thread::park();
            }
        })?;
    wait_started.recv()?;
    println!("daemon started; main returns without joining it");
    Ok(())
}
