//! hrsync keeps directories in step with HR systems.
pub mod config;
pub mod model;
pub mod plan;
pub mod repo;
pub mod transform;
