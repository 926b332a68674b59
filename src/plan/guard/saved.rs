//! The saved-plan guard: `hrsync apply --plan FILE` applies a plan reviewed earlier only
//! while it is still the plan: hrsync plans again, and the plan ids (content hashes of
//! everything a plan depends on) must be equal.
//!
//! Only a saved plan's directory and id matter, so a saved plan is read as a
//! [`SavedPlan`]: from a whole plan (`hrsync plan --format json`) or from the index a
//! report commits as `plan.json`, which holds the plan without its rows.

use serde::Deserialize;

use crate::model::{DirectoryId, PlanId};
use crate::plan::Plan;

/// What the guard needs of a saved plan: whose it is and its id.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SavedPlan {
    /// The directory.
    pub directory: DirectoryId,
    /// The plan's id.
    pub id: PlanId,
}

impl From<&Plan> for SavedPlan {
    fn from(plan: &Plan) -> SavedPlan {
        SavedPlan { directory: plan.directory.clone(), id: plan.id.clone() }
    }
}

/// Why a saved plan is not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    /// The saved file has no plan for the directory.
    #[error("the saved plan has no plan for directory `{0}`")]
    Missing(DirectoryId),
    /// The live state changed since the saved plan was made.
    #[error(
        "`{directory}`: refused: the saved plan {saved} was computed against a state that has changed (the plan now is {now}). Review the new plan with `hrsync plan` and apply again."
    )]
    Stale {
        /// The directory.
        directory: DirectoryId,
        /// The saved plan's id.
        saved: PlanId,
        /// The id of the plan made now.
        now: PlanId,
    },
}

impl SavedPlanError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            SavedPlanError::Missing(_) => "saved_plan_missing",
            SavedPlanError::Stale { .. } => "saved_plan_stale",
        }
    }
}

/// Whether `fresh`, the plan made now, is the one saved in `saved` for its directory.
pub fn check(saved: &[SavedPlan], fresh: &Plan) -> Result<(), SavedPlanError> {
    let Some(wanted) = saved.iter().find(|p| p.directory == fresh.directory) else {
        return Err(SavedPlanError::Missing(fresh.directory.clone()));
    };
    if wanted.id == fresh.id {
        Ok(())
    } else {
        Err(SavedPlanError::Stale {
            directory: fresh.directory.clone(),
            saved: wanted.id.clone(),
            now: fresh.id.clone(),
        })
    }
}
