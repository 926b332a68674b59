//! One GitOps cycle: plan every directory of the config read at a revision, commit each
//! plan to the reports branch before applying it, apply, and commit the job result, the
//! status and the run state.
//!
//! A plan is committed as [`report::plan`](crate::report::plan) lays it out: a capped
//! `plan.md`, a small `plan.json` index and the rows in parts of bounded size, whose
//! folder the commit replaces whole. The same plan gives the same bytes, so a plan that
//! did not change makes no commit.
//!
//! The run state goes to the reports branch with the result (`state.json`, which names
//! no one), and a cycle starts by taking the branch's state over when it is newer than
//! this machine's (a higher serial), so a daemon on a fresh machine carries on.
//!
//! Commits are skipped when they would change nothing: a plan without changes is not
//! committed again over a plan without changes (a failed or blocked plan always is; a
//! quiet plan goes with the result's commit if one is made, so every `Plan-Id` is in
//! git), and `result.json` is committed with
//! `status.json` (which holds no times) only for a run that wrote something or changed
//! the status. An unchanged interval run therefore commits nothing.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use crate::config::DirectoryConfig;
use crate::git::GitError;
use crate::git::reports::{ReportCommit, ReportsBranch};
use crate::plan::Plan;
use crate::plan::pii::Pii;
use crate::report::JobResult;
use crate::report::plan::{self as plan_report, Limits};
use crate::run::{JobOptions, Run, RunError};
use crate::state::{RunState, StateStore};

/// What one cycle did.
#[derive(Debug)]
pub struct Cycle {
    /// The job result, as `hrsync run` prints it.
    pub result: JobResult,
    /// The commits made to the reports branch, with their subjects.
    pub commits: Vec<(git2::Oid, String)>,
}

/// Why a cycle could not run.
#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    /// The reports branch cannot be written.
    #[error("cannot write the reports branch")]
    Reports(#[source] GitError),
    /// A report could not be written as JSON.
    #[error("cannot write a report as JSON")]
    Json(#[from] serde_json::Error),
    /// The run failed as a whole.
    #[error(transparent)]
    Run(#[from] RunError),
}

impl CycleError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            CycleError::Reports(_) => "reports_branch",
            CycleError::Json(_) => "report_json",
            CycleError::Run(e) => e.label(),
        }
    }
}

/// Runs one cycle of `run` (whose config was read at `revision`), committing to the
/// reports branch of the git repository that holds `sync_dir`, plans within `limits`
/// (the daemon's are [`Limits::default`]). `publish` is called after each commit (a
/// remote repository's daemon pushes the branch there), so a plan is published before
/// it is applied.
pub async fn cycle(
    run: &Run,
    sync_dir: &Path,
    revision: &str,
    pii: Pii,
    limits: &Limits,
    publish: &(dyn Fn() -> Result<(), GitError> + Send + Sync),
) -> Result<Cycle, CycleError> {
    let reports_config = &run.config.workspace.reports;
    let reports = ReportsBranch::open(sync_dir, &reports_config.branch, &reports_config.path)
        .map_err(CycleError::Reports)?;
    take_over_state(&reports, &run.store)?;
    let reports = Arc::new(Mutex::new(reports));
    let commits: Arc<Mutex<Vec<(git2::Oid, String)>>> = Arc::default();
    let time = run.now.as_second();
    let options =
        JobOptions { source: None, dry_run: false, approvals: Default::default(), pii: pii.clone() };
    // The files of plans not committed because nothing changed.
    let quiet: Arc<Mutex<QuietPlans>> = Arc::default();
    let result = {
        let reports = reports.clone();
        let commits = commits.clone();
        let quiet = quiet.clone();
        let pii = pii.clone();
        let mut on_plan = move |directory: &DirectoryConfig, plan: &Plan| -> Result<(), String> {
            let reports = reports.lock().map_err(|_| "reports lock poisoned".to_owned())?;
            let made =
                commit_plan(&reports, directory, plan, &pii, limits, revision, time).map_err(
                    |e| match e {
                        // The git error alone, as the reason of the directory's result.
                        CycleError::Reports(git) => crate::model::error_chain(&git),
                        other => crate::model::error_chain(&other),
                    },
                )?;
            match made {
                Planned::Committed(oid, subject) => {
                    publish()
                        .map_err(|e| format!("cannot publish the plan: {}", crate::model::error_chain(&e)))?;
                    commits.lock().map(|mut c| c.push((oid, subject))).unwrap_or(());
                }
                Planned::Quiet { files, replace } => quiet
                    .lock()
                    .map(|mut q| {
                        q.files.extend(files);
                        q.replace.extend(replace);
                    })
                    .unwrap_or(()),
            }
            Ok(())
        };
        run.job_with(&options, &mut on_plan).await?
    };
    let reports =
        reports.lock().map_err(|_| CycleError::Reports(GitError::Git(git2::Error::from_str("lock"))))?;
    let quiet = quiet.lock().map(|q| q.clone()).unwrap_or_default();
    let made = commit_result(&reports, run, &result, quiet, revision, time)?;
    if made.is_some() {
        publish().map_err(CycleError::Reports)?;
    }
    let mut commits = commits.lock().map(|c| c.clone()).unwrap_or_default();
    commits.extend(made);
    Ok(Cycle { result, commits })
}

/// Commits the plan of one directory (`plan.md`, `plan.json` and the parts), unless the
/// plan has no changes and neither had the one committed before.
fn commit_plan(
    reports: &ReportsBranch,
    directory: &DirectoryConfig,
    plan: &Plan,
    pii: &Pii,
    limits: &Limits,
    revision: &str,
    time: i64,
) -> Result<Planned, CycleError> {
    let dir = directory.id.as_str();
    let json_path = format!("{dir}/plan.json");
    // Only the summary and status of the committed plan matter (an older hrsync
    // committed the whole plan there, megabytes of it).
    #[derive(serde::Deserialize)]
    struct Committed {
        summary: crate::plan::Summary,
        status: crate::plan::PlanStatus,
    }
    let report = plan_report::render(plan, pii, limits)?;
    // A quiet plan after a quiet one of the same status is not committed again (its id
    // changes with the date alone); a failed or blocked plan always is, so the previous
    // plan never stands as if it were current. Its files are kept for the result's
    // commit, if one is made, so that its Plan-Id is in git.
    let previous_quiet = reports
        .read(&json_path)
        .and_then(|b| serde_json::from_slice::<Committed>(&b).ok())
        .is_some_and(|p| p.summary.changes() == 0 && p.status == plan.status);
    if !plan.has_changes() && previous_quiet && plan.status == crate::plan::PlanStatus::NoChanges {
        return Ok(Planned::Quiet { files: report.files, replace: vec![report.parts_folder] });
    }
    let s = &plan.summary;
    let subject = format!(
        "Plan for `{dir}`: {} to create, {} to update, {} to disable, {} to delete ({})",
        s.create,
        s.update,
        s.disable,
        s.delete,
        plan.status.as_str()
    );
    let commit = ReportCommit {
        files: report.files,
        replace: vec![report.parts_folder],
        subject: subject.clone(),
        trailers: vec![("Config-Revision", revision.to_owned()), ("Plan-Id", plan.id.to_string())],
        time,
    };
    Ok(match reports.commit(&commit).map_err(CycleError::Reports)? {
        Some(oid) => Planned::Committed(oid, subject),
        None => Planned::Quiet { files: Vec::new(), replace: Vec::new() },
    })
}

/// What became of a directory's plan on the reports branch.
enum Planned {
    /// Committed, with the commit's subject.
    Committed(git2::Oid, String),
    /// Not committed (nothing changed since the last quiet plan): its files, and the
    /// folders they replace.
    Quiet {
        /// The files.
        files: Vec<ReportFile>,
        /// The folders replaced whole (its parts).
        replace: Vec<String>,
    },
}

/// The files of plans not committed on their own, for the result's commit.
#[derive(Clone, Default)]
struct QuietPlans {
    files: Vec<ReportFile>,
    replace: Vec<String>,
}

/// A file of the reports branch: its path below the reports folder, and its bytes.
type ReportFile = (String, Vec<u8>);

/// The run state committed to the reports branch.
const STATE: &str = "state.json";

/// Takes the run state committed to the reports branch over when this machine has none
/// or an older one (a lower serial: another machine ran since). A committed state that
/// cannot be read is left aside with a warning: the local one goes on.
fn take_over_state(reports: &ReportsBranch, store: &StateStore) -> Result<(), CycleError> {
    let Some(bytes) = reports.read(STATE) else { return Ok(()) };
    let committed: RunState = match serde_json::from_slice(&bytes) {
        Ok(state) => state,
        Err(e) => {
            tracing::warn!(error = %e, "the run state on the reports branch cannot be read; going on with this machine's");
            return Ok(());
        }
    };
    let local = store.load().map_err(RunError::from)?;
    if committed.is_newer_than(&local) {
        tracing::info!(
            serial = committed.serial,
            local_serial = local.serial,
            "taking over the run state committed to the reports branch"
        );
        store.save(&committed).map_err(RunError::from)?;
    }
    Ok(())
}

/// Commits `status.json` (no times: it changes only when something does),
/// `result.json` and the run state (`state.json`, with the next serial), when the run
/// wrote something, the status changed, or the state changed in more than its times.
fn commit_result(
    reports: &ReportsBranch,
    run: &Run,
    result: &JobResult,
    quiet_plans: QuietPlans,
    revision: &str,
    time: i64,
) -> Result<Option<(git2::Oid, String)>, CycleError> {
    let config = &run.config;
    let full = serde_json::to_value(result)?;
    let mut status = full.clone();
    if let Some(obj) = status.as_object_mut() {
        obj.remove("started_at");
        obj.insert("workspace".into(), Json::from(config.workspace.name.clone()));
        for (_, d) in obj.get_mut("directories").and_then(Json::as_object_mut).into_iter().flatten() {
            if let Some(d) = d.as_object_mut() {
                d.remove("plan");
            }
        }
        for (_, s) in obj.get_mut("sources").and_then(Json::as_object_mut).into_iter().flatten() {
            if let Some(s) = s.as_object_mut() {
                s.remove("last_sync_at");
            }
        }
    }
    // A plan that was not applied (mode plan, blocked, failed) reports what it would
    // write: that is no write, and an unchanged one must not commit every interval.
    let wrote = result
        .directories
        .values()
        .any(|d| d.applied && d.created + d.updated + d.disabled + d.deleted + d.failed > 0);
    let status = pretty(&status)?;
    let mut state = run.store.load().map_err(RunError::from)?;
    let committed: Option<RunState> = reports.read(STATE).and_then(|b| serde_json::from_slice(&b).ok());
    let state_changed = committed.as_ref().is_none_or(|c| c.without_times() != state.without_times());
    if !wrote && !state_changed && reports.read("status.json").as_deref() == Some(status.as_slice()) {
        // Nothing was written and nothing about the state changed: no commit.
        return Ok(None);
    }
    state.advance_serial(committed.as_ref());
    let state_json = serde_json::to_value(&state)?;
    // Plans not committed on their own go with the result that names them.
    let QuietPlans { mut files, replace } = quiet_plans;
    files.extend([
        ("status.json".to_owned(), status),
        ("result.json".to_owned(), pretty(&full)?),
        (STATE.to_owned(), pretty(&state_json)?),
    ]);
    let subject = format!("Run {}: {}", result.started_at, result.status.as_str());
    let mut trailers = vec![("Config-Revision", revision.to_owned())];
    for d in result.directories.values() {
        if let Some(id) = &d.plan {
            trailers.push(("Plan-Id", id.to_string()));
        }
    }
    let commit = ReportCommit { files, replace, subject: subject.clone(), trailers, time };
    let made = reports.commit(&commit).map_err(CycleError::Reports)?;
    // The state as committed, serial included, so the next run does not take it over.
    run.store.save(&state).map_err(RunError::from)?;
    Ok(made.map(|oid| (oid, subject)))
}

/// `value` as pretty JSON with a final newline, as committed.
fn pretty(value: &impl serde::Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}
