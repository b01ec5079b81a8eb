//! Two separately built programs exchanging a struct: this one (`orders_producer`)
//! spawns `orders_consumer`, a sibling example built on its own with its own
//! `Order` type, and feeds it orders over the child's stdin. Then it tries a newer
//! `Order` with one more field: the consumer refuses it at the handshake, and the
//! refusal names both programs' types.
//!
//! Run with `cargo build -p examples --examples && target/debug/examples/orders_producer`.

use std::error::Error;
use std::process::Command;

use consumer::Consumer;
use consumer_process::Coprocess;

/// This program's types, under a module path the consumer knows nothing of.
mod shop {
    pub(crate) mod model {
        /// An order as the consumer also defines it: the same shape.
        #[derive(serde::Serialize, serde::Deserialize)]
        pub(crate) struct Order {
            pub(crate) id: u64,
            pub(crate) item: String,
            pub(crate) qty: u32,
        }

        /// The next version, with a note: serde still calls it `Order`.
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(rename = "Order")]
        pub(crate) struct OrderV2 {
            pub(crate) id: u64,
            pub(crate) item: String,
            pub(crate) qty: u32,
            pub(crate) note: String,
        }
    }
}

use shop::model::{Order, OrderV2};

/// The consumer program: built next to this one.
fn consumer_program() -> Result<Command, Box<dyn Error>> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name(format!("orders_consumer{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        return Err(format!(
            "{} is not built: run `cargo build -p examples --examples`",
            path.display()
        )
        .into());
    }
    Ok(Command::new(path))
}

fn main() -> Result<(), Box<dyn Error>> {
    let _logging = examples::init_logging();
    let mut child = Coprocess::<Order>::spawn(consumer_program()?)?;
    child.send_all([
        Order {
            id: 1,
            item: "apple".into(),
            qty: 2,
        },
        Order {
            id: 2,
            item: "pear".into(),
            qty: 5,
        },
        Order {
            id: 3,
            item: "fig".into(),
            qty: 1,
        },
    ])?;
    child.close()?; // returns once the consumer has them all and has closed
    println!("producer: 3 orders delivered");

    let mut newer = Coprocess::<OrderV2>::spawn(consumer_program()?)?;
    let order = OrderV2 {
        id: 4,
        item: "plum".into(),
        qty: 3,
        note: "ripe".into(),
    };
    // The refusal may fail the send or only the close: either way it says why.
    let refused = match newer.send(order) {
        Err(e) => e.into_error(),
        Ok(()) => newer
            .close()
            .expect_err("the consumer refuses a changed Order"),
    };
    println!(
        "producer: OrderV2 refused: {}",
        refused.message().unwrap_or_default()
    );
    Ok(())
}
