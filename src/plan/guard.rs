//! Guards: whether a plan may be applied (DESIGN §4.8).
//!
//! This module owns the two guards: a source whose read cannot be trusted fails the
//! plan, and changes beyond the mass-change limits block it unless this exact plan id
//! is approved. It also owns [`check`], which refuses a blocked or failed plan before
//! anything is written, so that what blocks a plan and what refuses it cannot drift
//! apart. It must not change rows or counts, nor apply anything: it reads the summary
//! the rows add up to and says what the plan's status is.

use std::collections::BTreeSet;

use super::{Plan, PlanStatus, SafetyCheck, SourceHealth, SourceStatus, Summary};
use crate::config::SafetySpec;
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

/// What the guards decided about a plan.
pub(super) struct Verdict {
    /// Whether it can be applied.
    pub(super) status: PlanStatus,
    /// Why it is blocked or failed (or, approved, which limits it exceeds).
    pub(super) blocked_by: Vec<String>,
    /// Whether it exceeds a limit and its id is approved.
    pub(super) approved: bool,
}

/// The mass-change check of a plan with `summary`, against `limits`.
pub(super) fn safety_check(limits: &SafetySpec, managed: usize, summary: &Summary) -> SafetyCheck {
    SafetyCheck {
        managed,
        disables: summary.disable + summary.delete,
        updates: summary.update,
        max_disable_percent: limits.max_disable_percent,
        max_update_percent: limits.max_update_percent,
        max_disable_count: limits.max_disable_count,
        max_update_count: limits.max_update_count,
    }
}

/// The status of plan `id`: failed if a source is unhealthy, else blocked if it exceeds
/// a limit and is not in `approvals`, else whether it changes anything.
pub(super) fn verdict(
    sources: &[SourceStatus],
    safety: &SafetyCheck,
    summary: &Summary,
    approvals: &BTreeSet<PlanId>,
    id: &PlanId,
) -> Verdict {
    let mut failed: Vec<String> = Vec::new();
    for s in sources {
        if let SourceHealth::Unhealthy { reason } = &s.health {
            failed.push(format!("source `{}` is unhealthy: {reason}", s.id));
        }
    }
    let exceeded = mass_change(safety);

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

/// Why the plan exceeds the mass-change limits, if it does.
fn mass_change(s: &SafetyCheck) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: &str,
                     n: usize,
                     (percent_name, max_percent): (&str, f64),
                     (count_name, max_count): (&str, Option<u64>)| {
        if s.managed > 0 {
            let share = n as f64 * 100.0 / s.managed as f64;
            if share > max_percent {
                out.push(format!(
                    "{n} {what} are {share:.1} % of {} managed entries, above {percent_name} {max_percent}",
                    s.managed
                ));
            }
        }
        if let Some(max) = max_count
            && n as u64 > max
        {
            out.push(format!("{n} {what} are above {count_name} {max}"));
        }
    };
    check(
        "disables and deletes",
        s.disables,
        ("max_disable_percent", s.max_disable_percent),
        ("max_disable_count", s.max_disable_count),
    );
    check(
        "updates",
        s.updates,
        ("max_update_percent", s.max_update_percent),
        ("max_update_count", s.max_update_count),
    );
    out
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
