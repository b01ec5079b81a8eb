//! The consumer program of the `orders_producer` example: reads `Order`s from its
//! stdin and prints them. Its `Order` is its own, under its own module path; only
//! the shape (the names serde sees, the fields and their types) must agree.

use consumer_process::serve_stdin;

mod intake {
    /// An order as this program knows it.
    #[derive(serde::Deserialize)]
    pub(crate) struct Order {
        pub(crate) id: u64,
        pub(crate) item: String,
        pub(crate) qty: u32,
    }
}

fn main() -> std::process::ExitCode {
    let _logging = examples::init_logging();
    let print = consumer::from_fn(|o: intake::Order| {
        println!("consumer: order {}: {} × {}", o.id, o.qty, o.item);
    });
    match serve_stdin::<intake::Order, _>(print) {
        Ok(_) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("consumer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
