//! Plan benchmark.
fn main() {}
