//! Job results (DESIGN §5): what a run did, per source and per directory; and the
//! plan as the daemon commits it ([`plan`]).
//!
//! Per source, the `employees`, `employments` and `org_units` buckets count the HR
//! records reconciled into hrsync's view of that source (new, changed, skipped rows)
//! compared with its last good read. Per directory, the counts are the writes of the
//! plan. For one source the source's counts sit at the top level; for all sources they
//! are nested under `sources.<id>`.

pub mod job;
pub mod plan;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::Mode;
use crate::model::PlanId;
use crate::model::SkippedRecord;
use crate::model::{DirectoryId, SourceId};
use crate::plan::PlanStatus;

/// How a job, a source or a directory ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Everything synced.
    Completed,
    /// Synced, with skipped rows or failed items; what synced stays synced.
    Warning,
    /// Not synced: a source was unhealthy, a plan was blocked, a directory unreachable.
    Failed,
}

impl JobStatus {
    /// The spelling in job results.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Completed => "completed",
            JobStatus::Warning => "warning",
            JobStatus::Failed => "failed",
        }
    }
}

/// Counts of one bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// New records since the last good read.
    pub created: usize,
    /// Changed records.
    pub updated: usize,
    /// Rows skipped with a reason.
    pub skipped: usize,
}

/// Records fetched, reported by dry runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Fetched {
    /// People.
    pub employees: usize,
    /// Employments.
    pub employments: usize,
    /// Org units.
    pub org_units: usize,
    /// Legal entities, where the source knows them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_entities: Option<usize>,
    /// Work locations, where the source knows them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_locations: Option<usize>,
}

/// What a run did with one source.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SourceResult {
    /// How it ended (absent in a one-source result, where the top level says it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
    /// The source was not read.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// People.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employees: Option<Bucket>,
    /// Employments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employments: Option<Bucket>,
    /// Org units.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_units: Option<Bucket>,
    /// Legal entities the read named (HR connectors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_entities: Option<usize>,
    /// Work locations the read named (HR connectors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_locations: Option<usize>,
    /// Records fetched (dry runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched: Option<Fetched>,
    /// Errors while fetching or reconciling.
    pub errors: Vec<String>,
    /// What the read could not see (fields no record carried), and what to grant.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The rows skipped, with where and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_records: Vec<SkippedRecord>,
    /// Start of the last successful sync, after this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_at: Option<Timestamp>,
}

/// What a run did with one directory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DirectoryResult {
    /// How it ended.
    pub status: JobStatus,
    /// The directory's mode.
    pub mode: Mode,
    /// The directory was not planned.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
    /// Why it was skipped, or why it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The plan's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanId>,
    /// The plan's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_status: Option<PlanStatus>,
    /// What let a plan beyond the safety limits through: its id, or an allowance (with
    /// the commit that added it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<crate::plan::ApprovedBy>,
    /// Whether the plan was applied.
    pub applied: bool,
    /// Entries created (planned, when not applied).
    pub created: usize,
    /// Entries updated.
    pub updated: usize,
    /// Entries disabled.
    pub disabled: usize,
    /// Entries deleted.
    pub deleted: usize,
    /// Rows skipped by the plan.
    pub skipped_rows: usize,
    /// Items that failed.
    pub failed: usize,
    /// Per-item errors.
    pub errors: Vec<String>,
    /// Gaps in items that worked (a manager left for the next run, a unique value the
    /// directory refused at write time and the next candidate taken), per item.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Groups (planned, when not applied), for a directory that keeps groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<GroupsResult>,
}

/// The groups part of a directory's job result.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct GroupsResult {
    /// Groups created.
    pub created: usize,
    /// Groups changed (renamed, members added or removed).
    pub updated: usize,
    /// Groups deleted.
    pub deleted: usize,
    /// Members added.
    pub members_added: usize,
    /// Members removed.
    pub members_removed: usize,
    /// Group rows skipped by the plan.
    pub skipped: usize,
    /// Group rows that failed.
    pub failed: usize,
}

impl DirectoryResult {
    /// A directory that was not planned.
    pub fn skipped(mode: Mode, reason: impl Into<String>) -> Self {
        DirectoryResult { skipped: true, ..Self::empty(mode, JobStatus::Completed, reason.into()) }
    }

    /// A directory that could not be planned (unreachable, unreadable).
    pub fn failed(mode: Mode, reason: impl Into<String>) -> Self {
        Self::empty(mode, JobStatus::Failed, reason.into())
    }

    fn empty(mode: Mode, status: JobStatus, reason: String) -> Self {
        DirectoryResult {
            status,
            mode,
            skipped: false,
            reason: Some(reason),
            plan: None,
            plan_status: None,
            approved_by: None,
            applied: false,
            created: 0,
            updated: 0,
            disabled: 0,
            deleted: 0,
            skipped_rows: 0,
            failed: 0,
            errors: Vec::new(),
            warnings: Vec::new(),
            groups: None,
        }
    }
}

/// The sources part of a job result.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Sources {
    /// `--source ID`: that source's result, flat.
    One {
        /// The source.
        source: SourceId,
        /// Its result.
        #[serde(flatten)]
        result: Box<SourceResult>,
    },
    /// Every source, nested by id.
    All {
        /// Results by source.
        sources: BTreeMap<SourceId, SourceResult>,
    },
}

/// The job result of `hrsync run`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JobResult {
    /// How the job ended: the worst of its sources and directories.
    pub status: JobStatus,
    /// Nothing was written anywhere.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// When the run started (what `last_sync_at` becomes on success).
    pub started_at: Timestamp,
    /// Per source.
    #[serde(flatten)]
    pub sources: Sources,
    /// Per directory.
    pub directories: BTreeMap<DirectoryId, DirectoryResult>,
}
