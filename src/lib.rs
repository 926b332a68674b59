//! hrsync keeps directories (LDAP / Active Directory, Entra ID, SCIM 2.0 apps) in step
//! with the HR systems that say who works here, declared in a git repository of YAML.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! config ──► source ──► transform ──────────► plan ─────────► apply ──► report / state
//! (YAML)     (fetch)    normalize, merge,     (pure diff,     (write)   (job result,
//!                       map to attributes      guards)                   run state)
//!            └─────────────── run (one run) ◄── daemon (GitOps loop) ◄── cli
//! ```
//!
//! The layers, lowest first; a module uses only modules below it (a test in
//! `tests/architecture.rs` reads the imports and fails otherwise):
//!
//! ```text
//! model      ids, HR records, attribute values and comparisons, the template and
//!            filter languages: the ground floor, importing nothing of the crate
//! memory     process-wide memory settings (transparent huge pages off)
//! config     the sync repository → validated definitions (load, compile per kind)
//! tls, http  the TLS set-up and HTTP client sources and directories share
//! transform  normalize, merge by priority, map people to attribute values (pure)
//! source     HR systems, read only          directory  targets, read and write
//! digest     content hashes                 state      run state, snapshots
//! git        repository revisions and the reports branch
//! plan       the pure diff, one module per phase; guards; PII redaction; renderers
//! apply      execute a plan against a directory
//! report     job results, built from what a run did
//! run        one run: fetch, health, merge, plan, apply, state, job result
//! explain    one person's answer from a run's facts (pure)
//! daemon     the GitOps cycle, the watch loop, HTTP endpoints, notifications, the host around them
//! cli        one file per command
//! fuzz       entry points for the fuzz targets in `fuzz/`, one per parser of outside input
//! ```
//!
//! [`model`], [`transform`], [`plan`] and [`explain`] do no I/O and never read the clock: the run's
//! time comes in as data (clippy's `disallowed-methods` keeps the clock at the edge).

pub mod apply;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod digest;
pub mod directory;
pub mod explain;
pub mod fuzz;
pub mod git;
pub mod http;
pub mod memory;
pub mod model;
pub mod plan;
pub mod report;
pub mod run;
pub mod source;
pub mod state;
pub mod tls;
pub mod transform;
