//! The facts an answer is made from, read as `hrsync plan` reads them: every source (or,
//! offline, their last good reads), every directory planned with all its rows and its
//! entries kept, the run state and the last apply's outcomes. Reads only; the command
//! line and the daemon's `/explain` both answer through [`answer`].

use crate::config::{DirectoryConfig, Mode};
use crate::model::error_chain;
use crate::plan::pii::Pii;
use crate::run::{DirectoryPlan, PlanOptions, Run, RunError, outcomes};

use super::{DirectoryFacts, DirectoryRead, Explanation, Facts};

/// Answers `query` about `run`'s sync repository (only `directory`, when given).
pub async fn answer(
    run: &Run,
    query: &str,
    directory: Option<&str>,
    offline: bool,
    pii: &Pii,
) -> Result<Explanation, RunError> {
    let state = run.store.load()?;
    let gathered =
        if offline { run.gather_last_good(&state).await? } else { run.gather(None, &state).await? };
    let options = PlanOptions { list_unchanged: true, keep_live: true, ..PlanOptions::default() };
    let mut planned: Vec<(&DirectoryConfig, Option<DirectoryPlan<'_>>)> = Vec::new();
    for d in run.directories(directory)? {
        let plan = if d.mode == Mode::Off || offline {
            None
        } else {
            Some(run.plan(&gathered, d, &state, &options).await)
        };
        planned.push((d, plan));
    }
    // The outcomes only answer questions: a file that cannot be read is no outcome.
    let last = outcomes::load(&run.store).unwrap_or_else(|e| {
        tracing::warn!(error = %error_chain(&e), "cannot read the outcomes of the last apply");
        outcomes::LastApplies::default()
    });
    let directories = planned
        .iter()
        .map(|(config, planned)| {
            let read = match planned {
                Some(DirectoryPlan { plan: Ok(plan), live, .. }) => DirectoryRead::Planned { plan, live },
                Some(DirectoryPlan { plan: Err(e), .. }) => DirectoryRead::Failed(error_chain(e)),
                None if config.mode == Mode::Off => DirectoryRead::Off,
                None => DirectoryRead::NotRead,
            };
            DirectoryFacts { config, read }
        })
        .collect();
    let facts = Facts {
        config: &run.config,
        gathered: &gathered,
        directories,
        state: &state,
        last: &last,
        now: run.now,
        pii,
        offline,
    };
    Ok(super::explain(&facts, query))
}
