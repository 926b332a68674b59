//! hrsync keeps directories (LDAP / Active Directory, Entra ID, SCIM 2.0 apps) in step
//! with the HR systems that say who works here, declared in a git repository of YAML.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! config ──► source ──► transform ──────────────► plan ──► apply ──► report / state
//! (YAML)     (fetch)    normalize, filter,        (pure     (write)   (job result,
//!                       merge, map                 diff)               run state)
//! ```
//!
//! [`config`] loads and validates the sync repository (from a folder or a git revision
//! via [`git`]); [`source`] reads HR systems; [`transform`] normalizes, filters and
//! merges people; [`plan`] computes, purely, what to do to each [`directory`];
//! [`apply`] executes a plan; [`run`] ties the stages together with the run [`state`]
//! and produces the job result of [`report`]. [`cli`] is the command line.

pub mod apply;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod digest;
pub mod directory;
pub mod git;
pub mod http;
pub mod model;
pub mod plan;
pub mod report;
pub mod run;
pub mod source;
pub mod state;
pub mod tls;
pub mod transform;
