//! Two-way talk, which the notes call "possible, but very tricky": a *service* is a
//! consumer of `Request`s, so one service function runs unchanged in-line, in an OS
//! thread, as a tokio task, and behind a socket (a `Server` in front of it, a
//! `Remote` as the caller's handle), and a `Client` turns sends into calls that wait
//! for the answer. Calls come from several threads at once; a request that makes the
//! service panic fails its call instead of hanging it.

use std::time::Duration;

use consumer::{Client, Consumer, Inline, Request, serve};

/// The service: how many letters in a word. A word of `!` makes it panic.
fn letters(word: String) -> usize {
    assert!(word != "!", "the service cannot count `!`");
    word.chars().filter(|c| c.is_alphabetic()).count()
}

const WORDS: [&str; 6] = ["consumer", "thread", "task", "process", "send", "close"];

/// Calls the service from two threads at once, then makes it panic.
fn exercise<S>(runner: &str, service: S) -> Result<(), Box<dyn std::error::Error>>
where
    S: Consumer<Request<String, usize>> + Clone + Send + 'static,
{
    let callers: Vec<_> = WORDS
        .chunks(3)
        .map(|words| {
            let mut client = Client::new(service.clone());
            let words: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
            std::thread::spawn(move || -> Result<usize, consumer::SendError<String>> {
                words
                    .into_iter()
                    .map(|w| client.call_timeout(w, Duration::from_secs(30)))
                    .sum()
            })
        })
        .collect();
    let mut total = 0;
    for caller in callers {
        total += caller.join().map_err(|_| "a caller panicked")??;
    }
    println!(
        "{runner}: {} calls from 2 threads, {total} letters in all",
        WORDS.len()
    );

    let mut client = Client::new(service);
    let failed = client
        .call("!".to_owned())
        .expect_err("the service panics on `!`");
    println!(
        "{runner}: the call that panicked the service: {}",
        failed.error()
    );
    // Refused at once, or accepted and dropped unanswered: which one depends on whether
    // the runner had noticed the panic yet. Either way it fails, and never hangs.
    client
        .call("late".to_owned())
        .expect_err("a panicked service takes no more calls");
    println!("{runner}: the next call fails too");
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _logging = examples::init_logging();
    // The panic is reported as an error; keep the default hook's message off stderr.
    std::panic::set_hook(Box::new(|_| {}));
    exercise("inline", Inline::new(serve(letters)).shared())?;
    exercise(
        "thread",
        consumer_thread::spawn(serve(letters)).into_handle(),
    )?;
    exercise(
        "coroutine",
        consumer_coroutine::spawn(serve(letters)).into_handle(),
    )?;
    // Across a process boundary: requests and replies travel on a Unix socket in a
    // directory only we can enter; the server could as well be another program.
    let dir = consumer_process::PrivateDir::new("service")?;
    let addr = consumer_net::Address::Unix(dir.join("letters.sock"));
    let serving = consumer_net::Server::bind(&addr)?
        .on_error(|_, _| {}) // the panic below ends its connection; no log wanted
        .serve_requests(|| serve(letters))?;
    let remote = consumer_net::Connector::new(addr).client::<String, usize>()?;
    exercise("socket", remote)?;
    serving.shutdown()?;
    Ok(())
}
