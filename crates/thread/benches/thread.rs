//! Benchmarks of the thread runner against a raw crossbeam channel.

fn main() {}
