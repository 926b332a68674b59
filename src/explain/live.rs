//! The facts an answer is made from, read as `hrsync plan` reads them: every source (or,
//! offline, their last good reads), every directory planned with all its rows and its
//! entries kept, the run state and the last apply's outcomes. Reads only; the command
//! line and the daemon's `/explain` both answer through [`answer`].

use crate::config::{DirectoryConfig, Mode};
use crate::model::error_chain;
use crate::plan::pii::Pii;
use crate::run::{DirectoryPlan, PlanOptions, Run, RunError, outcomes};

use super::{DirectoryFacts, DirectoryRead, Explanation, Facts};
use crate::git::reports::ReportsBranch;
use crate::plan::Plan;

/// `directory`'s last plan as committed to the reports branch of the repository holding
/// the sync repository (the local branch, else `origin`'s), with the time of the
/// branch's tip; `None`, with a warning when it is there but cannot be read back.
fn committed_plan(run: &Run, directory: &DirectoryConfig) -> Option<(Plan, Option<i64>)> {
    let reports = &run.config.workspace.reports;
    let branch = ReportsBranch::read_only(run.files.root(), &reports.branch, &reports.path)?;
    let read = |path: &str| branch.read(path);
    match crate::report::plan::read_back(&read, directory.id.as_str()) {
        Ok(plan) => plan.map(|p| (p, branch.tip_time())),
        Err(e) => {
            tracing::warn!(directory = %directory.id, error = %error_chain(&e), "cannot read the committed plan back");
            None
        }
    }
}

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
    // Only the rows of the people asked about, when the sources name them; every row
    // when the query may be an entry's id or DN (or names no one): a million up-to-date
    // rows are not kept to answer about one person.
    let mut keys: Vec<String> = super::people_named(&gathered, query)
        .into_iter()
        .map(|i| gathered.population.people[i].key.clone())
        .collect();
    keys.sort_unstable();
    let options = PlanOptions {
        list_unchanged: keys.is_empty(),
        list_people: keys,
        keep_live: true,
        ..PlanOptions::default()
    };
    let mut planned: Vec<(&DirectoryConfig, Option<DirectoryPlan<'_>>)> = Vec::new();
    for d in run.directories(directory)? {
        let plan = if d.mode == Mode::Off || offline {
            None
        } else {
            Some(run.plan(&gathered, d, &state, &options).await)
        };
        planned.push((d, plan));
    }
    // Offline, each directory's last plan as committed to the reports branch stands in.
    let reports_pii = if offline {
        run.pii(None)
            .inspect_err(|e| tracing::warn!(error = %error_chain(e), "cannot read the reports' policy: the committed plans are not read"))
            .ok()
    } else {
        None
    };
    let mut committed: Vec<Option<(Plan, Option<i64>)>> = Vec::new();
    for (d, _) in &planned {
        committed.push(if offline && d.mode != Mode::Off { committed_plan(run, d) } else { None });
    }
    // The outcomes only answer questions: a file that cannot be read is no outcome.
    let last = outcomes::load(&run.store).unwrap_or_else(|e| {
        tracing::warn!(error = %error_chain(&e), "cannot read the outcomes of the last apply");
        outcomes::LastApplies::default()
    });
    let directories = planned
        .iter()
        .zip(&committed)
        .map(|((config, planned), committed)| {
            let read = match (planned, committed, &reports_pii) {
                (Some(DirectoryPlan { plan: Ok(plan), live, .. }), _, _) => {
                    DirectoryRead::Planned { plan, live }
                }
                (Some(DirectoryPlan { plan: Err(e), .. }), _, _) => DirectoryRead::Failed(error_chain(e)),
                (None, _, _) if config.mode == Mode::Off => DirectoryRead::Off,
                (None, Some((plan, at)), Some(reports)) => {
                    DirectoryRead::Committed { plan, at: *at, reports }
                }
                (None, _, _) => DirectoryRead::NotRead,
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
