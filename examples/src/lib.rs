//! What the examples share: above all the notes' `Countdown`, defined once here and
//! run unchanged by every runner.

use consumer::{Consumer, Error, SendError};

/// The notes' countdown: `send(n)` prints `T-minus n`, `close()` prints `Kaboom!`.
///
/// ```
/// use consumer::Consumer;
/// use examples::Countdown;
///
/// let mut c = Countdown;
/// c.send(3)?; // T-minus 3
/// c.close()?; // Kaboom!
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Countdown;

impl Consumer<u32> for Countdown {
    fn send(&mut self, n: u32) -> Result<(), SendError<u32>> {
        println!("T-minus {n}");
        Ok(())
    }

    fn close(&mut self) -> Result<(), Error> {
        println!("Kaboom!");
        Ok(())
    }
}

/// The items the countdown demo sends: 10 down to 1.
///
/// ```
/// assert_eq!(examples::countdown_items().collect::<Vec<_>>(), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
/// ```
pub fn countdown_items() -> impl Iterator<Item = u32> {
    (1..=10).rev()
}
