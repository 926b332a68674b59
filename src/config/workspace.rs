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
    /// Allowances for mass changes, in file order.
    pub allowances: Vec<Allowance>,
}

/// A bounded, expiring permission for a mass change (`allowances` in `hrsync.yaml`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowance {
    /// Its place in `allowances` (0-based).
    pub index: usize,
    /// The line of `hrsync.yaml` it starts on, to find the commit that added it.
    pub line: usize,
    /// The directory.
    pub directory: crate::model::DirectoryId,
    /// The most disables plus deletes; `None`: the directory's limits apply.
    pub max_disables: Option<u64>,
    /// The most updates; `None`: the directory's limits apply.
    pub max_updates: Option<u64>,
    /// The last day it holds, in the workspace time zone.
    pub until: jiff::civil::Date,
    /// Why.
    pub reason: String,
}

impl Allowance {
    /// Whether it has expired on `today`.
    pub fn expired(&self, today: jiff::civil::Date) -> bool {
        today > self.until
    }
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
