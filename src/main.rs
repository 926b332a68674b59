//! The hrsync command line.
fn main() {}
