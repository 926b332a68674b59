//! Guards: whether a plan may be applied (DESIGN §4.8). Every guard hrsync has lives
//! here, and every caller goes through it:
//!
//! - [`absence`]: entries no person matches become leavers only when every source was
//!   read in full, healthy, and skipped no row of people;
//! - [`health`]: a source read that cannot be trusted (incomplete, empty, shrunk below
//!   `min_source_share`) makes the source unhealthy, and a plan with an unhealthy
//!   source fails;
//! - [`mass`]: changes beyond the mass-change limits block a plan unless this exact plan
//!   id is approved;
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

use super::{Plan, PlanStatus, SafetyCheck, SourceHealth, SourceStatus, Summary};
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
    /// Whether it exceeds a limit and its id is approved.
    pub(super) approved: bool,
}

/// The status of plan `id`: failed if a source is unhealthy, else blocked if it exceeds
/// a limit and is not in `approvals`, else whether it changes anything. `absence` is why
/// entries no one matches are not leavers in this plan, if they are not: a shrunk read
/// cannot be accepted then, as the plan would not show the disables the drop means.
/// `starts_timers` says whether the plan starts a leaver's timer: a shrunk read whose
/// plan neither writes nor starts one means nothing to this directory, and does not
/// block it.
pub(super) fn verdict(
    sources: &[SourceStatus],
    safety: &SafetyCheck,
    summary: &Summary,
    approvals: &BTreeSet<PlanId>,
    id: &PlanId,
    absence: Option<&str>,
    starts_timers: bool,
) -> Verdict {
    let quiet = summary.changes() == 0 && !starts_timers;
    let mut failed: Vec<String> = Vec::new();
    for s in sources {
        match (&s.health, absence) {
            (SourceHealth::Unhealthy { reason }, _) => {
                failed.push(format!("source `{}` is unhealthy: {reason}", s.id));
            }
            (SourceHealth::Shrunk { reason }, Some(blocker)) => failed.push(format!(
                "source `{}` {reason}, but the drop cannot be approved in this run because {blocker}: its disables would not show",
                s.id
            )),
            _ => {}
        }
    }
    let mut exceeded: Vec<String> = sources
        .iter()
        .filter_map(|s| match &s.health {
            SourceHealth::Shrunk { reason } if !quiet => Some(format!("source `{}` {reason}", s.id)),
            _ => None,
        })
        .collect();
    exceeded.extend(mass::mass_change(safety));

    let approved = !exceeded.is_empty() && approvals.contains(id);
    let (status, blocked_by) = if !failed.is_empty() {
        (PlanStatus::Failed, failed)
    } else if !exceeded.is_empty() && !approved {
        (PlanStatus::Blocked, exceeded)
    } else if summary.changes() == 0 {
        (PlanStatus::NoChanges, Vec::new())
    } else {
        (PlanStatus::Ready, if approved { exceeded } else { Vec::new() })
    };
    Verdict { status, blocked_by, approved }
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
