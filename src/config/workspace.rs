//! The validated workspace of `hrsync.yaml`: time zones, schedule, safety defaults,
//! reports and approvals.
//!
//! Runtime types only, every value already checked and defaulted; they are built by
//! `config::compile` and read by the rest of hrsync. Nothing here parses YAML or reports
//! problems.

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::secret::SecretRef;
use super::spec::{PiiSpec, SafetySpec};
use crate::model::PlanId;

/// The workspace settings of `hrsync.yaml`.
#[derive(Debug)]
pub struct Workspace {
    /// Its name.
    pub name: String,
    /// The default time zone for effective dates.
    pub timezone: TimeZone,
    /// Time zones by legal entity.
    pub legal_entity_zones: BTreeMap<String, TimeZone>,
    /// Time zones by work location.
    pub location_zones: BTreeMap<String, TimeZone>,
    /// The daemon's schedule.
    pub schedule: Option<Schedule>,
    /// Default safety limits.
    pub safety: SafetySpec,
    /// Report settings.
    pub reports: Reports,
    /// Approved plan ids.
    pub approvals: BTreeSet<PlanId>,
}

/// When the daemon re-plans.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Time between runs.
    pub interval: SignedDuration,
    /// The first run.
    pub start: Option<Timestamp>,
}

/// Report settings.
#[derive(Clone, Debug)]
pub struct Reports {
    /// Branch for report commits.
    pub branch: String,
    /// Folder inside that branch.
    pub path: String,
    /// Personal data policy.
    pub pii: PiiSpec,
    /// Key of the keyed hash for `pii: hashed`.
    pub pii_key: Option<SecretRef>,
}
