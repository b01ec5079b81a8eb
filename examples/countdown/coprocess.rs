//! `countdown --coprocess [FIFO]`: the child's side of the `process` and `fifo`
//! runners. Serves framed items from stdin (or from the named FIFO) to a Countdown,
//! which prints to this process's own stdout, its header naming this child and its
//! parent.

use examples::{Announced, Countdown};

pub(crate) fn serve(fifo: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let parent = std::os::unix::process::parent_id();
    let countdown =
        |runner: &str| Announced::new(runner, Countdown).note(format!("a child of pid {parent}"));
    match fifo {
        None => consumer_process::serve_stdin::<u32, _>(countdown("process"))?,
        Some(path) => {
            consumer_process::serve_fifo::<u32, _>(std::path::Path::new(&path), countdown("fifo"))?
        }
    };
    Ok(())
}
