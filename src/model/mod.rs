//! The ground floor: the data every stage shares, importing nothing else of the crate.
//!
//! - [`ids`]: validated identifiers ([`SourceId`], [`DirectoryId`], [`FilterId`],
//!   [`PlanId`]);
//! - [`record`]: the normalized HR records ([`Person`], [`Employment`], [`OrgUnit`]) and
//!   the names of a person's fields ([`PersonField`], [`FieldRef`]);
//! - [`value`]: attribute values and how they compare ([`Value`], [`Attributes`],
//!   [`Compare`], [`Key`]);
//! - [`error`]: errors in words, with their causes;
//! - [`template`] and [`filter`]: the two small languages the config compiles into
//!   (directory field templates, filter rules).
//!
//! Everything here is data and pure functions on it: no I/O, no clock, no knowledge of
//! config files, sources or directories. A type two layers use lives here.

pub mod error;
pub mod filter;
pub mod ids;
pub mod record;
pub mod template;
pub mod value;

pub use error::error_chain;
pub use ids::{DirectoryId, FilterId, GroupDefId, InvalidId, InvalidPlanId, PlanId, SourceId, is_valid_id};
pub use record::*;
pub use value::{
    Attributes, Compare, Key, KeyIndex, Names, Slot, Value, canonical, eq_ignore_case, same_text,
};
