//! `countdown --coprocess [FIFO]`: the child's side of the `process` and `fifo`
//! runners. Serves framed items from stdin (or from the named FIFO) to a Countdown,
//! which prints to this process's own stdout.

use examples::Countdown;

pub(crate) fn serve(fifo: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    match fifo {
        None => consumer_process::serve_stdin::<u32, _>(Countdown)?,
        Some(path) => {
            consumer_process::serve_fifo::<u32, _>(std::path::Path::new(&path), Countdown)?
        }
    };
    Ok(())
}
