//! Pure transformations of HR records: normalize raw rows, filter (with reasons),
//! merge by priority, and map people to directory attributes with templates.
//!
//! Nothing here does I/O, reads the clock or touches a directory: the run's date comes
//! in as a parameter, so the same inputs always give the same output.

pub mod map;
pub mod merge;
pub mod normalize;
