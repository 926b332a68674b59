//! Guards: whether a plan may be applied (DESIGN §4.8). Every guard hrsync has lives
//! here, and every caller goes through it:
//!
//! - [`absence`]: entries no person matches become leavers only when every source was
//!   read in full, healthy, and skipped no row of people;
//! - [`health`]: a source read that cannot be trusted (incomplete, empty, shrunk below
//!   `min_source_share`) makes the source unhealthy, and a plan with an unhealthy
//!   source fails;
//! - [`mass`]: changes beyond the mass-change limits block a plan unless this exact plan
//!   id is approved, or an allowance of the directory holds today and the plan stays
//!   within its figures;
//! - [`check`]: a blocked or failed plan is refused before anything is written, so what
//!   blocks a plan and what refuses it cannot drift apart;
//! - [`saved`]: a saved plan is applied only while the live state it was computed
//!   against is unchanged (its id is the plan's id now).
//!
//! Guards must not change rows or counts, nor apply anything: they read the summary the
//! rows add up to and say what the plan's status is.

pub mod absence;
pub mod health;
pub mod mass;
pub mod saved;

use std::collections::BTreeSet;

use jiff::civil::Date;

use super::{ApprovedBy, Plan, PlanStatus, SafetyCheck, SourceHealth, SourceStatus, Summary};
use crate::config::Allowance;
use crate::model::PlanId;

/// Why a plan was not applied at all.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The plan exceeds a safety limit and is not approved.
    #[error(
        "plan {id} for `{directory}` is blocked by the safety limits ({reasons}); if the changes are intended, approve this exact plan with `hrsync apply --approve {id}` or add it to `approvals` in hrsync.yaml"
    )]
    Blocked {
        /// Plan id.
        id: PlanId,
        /// Directory.
        directory: String,
        /// Which limits.
        reasons: String,
    },
    /// A source was unhealthy.
    #[error("plan {id} for `{directory}` cannot be applied: {reasons}")]
    Failed {
        /// Plan id.
        id: PlanId,
        /// Directory.
        directory: String,
        /// Why.
        reasons: String,
    },
}

impl GuardError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            GuardError::Blocked { .. } => "blocked",
            GuardError::Failed { .. } => "failed",
        }
    }
}

/// What the guards decided about a plan.
pub(super) struct Verdict {
    /// Whether it can be applied.
    pub(super) status: PlanStatus,
    /// Why it is blocked or failed (or, approved, which limits it exceeds).
    pub(super) blocked_by: Vec<String>,
    /// What approved it, when it exceeds a limit and is approved.
    pub(super) approved_by: Option<ApprovedBy>,
}

/// The approvals a plan beyond the limits may have: its id among `ids`, or one of
/// `allowances` (of its directory) that holds `today` and whose figures it stays within.
pub(super) struct Approvals<'a> {
    /// Approved plan ids.
    pub(super) ids: &'a BTreeSet<PlanId>,
    /// The directory's allowances.
    pub(super) allowances: &'a [&'a Allowance],
    /// The plan's day, in the workspace time zone.
    pub(super) today: Date,
}

/// The status of plan `id`: failed if a source is unhealthy, else blocked if it exceeds
/// a limit and is not in `approvals`, else whether it changes anything. `absence` is why
/// entries no one matches are not leavers in this plan, if they are not: a shrunk read
/// cannot be accepted then, as the plan would not show the disables the drop means.
/// `starts_timers` says whether the plan starts a leaver's timer: a shrunk read whose
/// plan neither writes nor starts one means nothing to this directory, and does not
/// block it.
#[allow(clippy::too_many_arguments)] // one input of each phase the guards weigh
pub(super) fn verdict(
    sources: &[SourceStatus],
    safety: &SafetyCheck,
    summary: &Summary,
    approvals: &Approvals<'_>,
    id: &PlanId,
    absence: Option<&str>,
    starts_timers: bool,
    groups: Option<&crate::plan::GroupPlan>,
) -> Verdict {
    let group_changes = groups.map_or(0, |g| g.summary.changes());
    let changes = summary.changes() + group_changes;
    let quiet = changes == 0 && !starts_timers;
    let mut failed: Vec<String> = Vec::new();
    for s in sources {
        match (&s.health, absence) {
            (SourceHealth::Unhealthy { reason }, _) => {
                failed.push(format!("{}: {reason}", health::unhealthy_words(s.id.as_str())));
            }
            (SourceHealth::Shrunk { reason }, Some(blocker)) => failed.push(format!(
                "source `{}` {reason}, but the drop cannot be approved in this run because {blocker}: its disables would not show",
                s.id
            )),
            _ => {}
        }
    }
    let shrunk: Vec<String> = sources
        .iter()
        .filter_map(|s| match &s.health {
            SourceHealth::Shrunk { reason } if !quiet => Some(format!("source `{}` {reason}", s.id)),
            _ => None,
        })
        .collect();
    let (disables, updates) = mass::limits_exceeded(safety);
    let group_limits = groups.map(crate::plan::groups::limits_exceeded).unwrap_or_default();
    let exceeded: Vec<String> =
        shrunk.iter().chain(&disables).chain(&updates).chain(&group_limits).cloned().collect();

    // An allowance holds a plan whose disables (a shrunk source's included) and updates
    // stay within its figures; a kind it gives no figure for keeps its own limits.
    let fits = |a: &Allowance| {
        let disables_fit = match a.max_disables {
            Some(max) => safety.disables as u64 <= max,
            None => disables.is_empty() && shrunk.is_empty(),
        };
        let updates_fit = match a.max_updates {
            Some(max) => safety.updates as u64 <= max,
            None => updates.is_empty(),
        };
        // Allowances give figures for people, not groups: beyond a group limit, only
        // the plan's id approves.
        !a.expired(approvals.today) && disables_fit && updates_fit && group_limits.is_empty()
    };
    let approved_by = if exceeded.is_empty() {
        None
    } else if approvals.ids.contains(id) {
        Some(ApprovedBy::PlanId)
    } else {
        approvals.allowances.iter().find(|a| fits(a)).map(|a| ApprovedBy::Allowance {
            index: a.index,
            reason: a.reason.clone(),
            until: a.until,
            max_disables: a.max_disables,
            max_updates: a.max_updates,
            commit: None,
        })
    };
    let approved = approved_by.is_some();
    let (status, blocked_by) = if !failed.is_empty() {
        (PlanStatus::Failed, failed)
    } else if !exceeded.is_empty() && !approved {
        (PlanStatus::Blocked, exceeded)
    } else if changes == 0 {
        (PlanStatus::NoChanges, Vec::new())
    } else {
        (PlanStatus::Ready, if approved { exceeded } else { Vec::new() })
    };
    let approved_by = if status == PlanStatus::Ready { approved_by } else { None };
    Verdict { status, blocked_by, approved_by }
}

/// Refuses plans that must not be applied.
pub fn check(plan: &Plan) -> Result<(), GuardError> {
    match plan.status {
        PlanStatus::Blocked => Err(GuardError::Blocked {
            id: plan.id.clone(),
            directory: plan.directory.to_string(),
            reasons: plan.blocked_by.join("; "),
        }),
        PlanStatus::Failed => Err(GuardError::Failed {
            id: plan.id.clone(),
            directory: plan.directory.to_string(),
            reasons: plan.blocked_by.join("; "),
        }),
        PlanStatus::Ready | PlanStatus::NoChanges => Ok(()),
    }
}
