//! The GitOps cycle: read the config at a revision of the tracked branch, plan every
//! directory, commit each plan to the reports branch before applying it, apply, and
//! commit the job result and the status.
//!
//! What is built: one cycle (`hrsync daemon --once`). Watching the repository, the
//! schedule, webhooks and the HTTP endpoints are not built yet, and say so.
//!
//! Commits are skipped when they would change nothing: a plan without changes is not
//! committed again over a plan without changes, and `result.json` is committed with
//! `status.json` (which holds no times) only for a run that wrote something or changed
//! the status. An unchanged interval run therefore commits nothing.

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::Value as Json;

use crate::config::{Config, DirectoryConfig};
use crate::git::GitError;
use crate::git::reports::{ReportCommit, ReportsBranch};
use crate::plan::Plan;
use crate::plan::pii::{self, Pii};
use crate::plan::render::{self, Format};
use crate::report::JobResult;
use crate::run::{JobOptions, Run, RunError};

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
    /// The run failed as a whole.
    #[error(transparent)]
    Run(#[from] RunError),
}

/// Runs one cycle of `run` (whose config was read at `revision`), committing to the
/// reports branch of the git repository that holds `sync_dir`.
pub async fn cycle(run: &Run, sync_dir: &Path, revision: &str, pii: Pii) -> Result<Cycle, CycleError> {
    let reports_config = &run.config.workspace.reports;
    let reports = ReportsBranch::open(sync_dir, &reports_config.branch, &reports_config.path)
        .map_err(CycleError::Reports)?;
    let reports = Arc::new(Mutex::new(reports));
    let commits: Arc<Mutex<Vec<(git2::Oid, String)>>> = Arc::default();
    let time = run.now.as_second();
    let options =
        JobOptions { source: None, dry_run: false, approvals: Default::default(), pii: pii.clone() };
    let result = {
        let reports = reports.clone();
        let commits = commits.clone();
        let pii = pii.clone();
        let mut on_plan = move |directory: &DirectoryConfig, plan: &Plan| -> Result<(), String> {
            let reports = reports.lock().map_err(|_| "reports lock poisoned".to_owned())?;
            commit_plan(&reports, directory, plan, &pii, revision, time)
                .map(|made| commits.lock().map(|mut c| c.extend(made)).unwrap_or(()))
                .map_err(|e| crate::apply::error_chain(&e))
        };
        run.job_with(&options, &mut on_plan).await?
    };
    let reports =
        reports.lock().map_err(|_| CycleError::Reports(GitError::Git(git2::Error::from_str("lock"))))?;
    let made = commit_result(&reports, &run.config, &result, revision, time).map_err(CycleError::Reports)?;
    let mut commits = commits.lock().map(|c| c.clone()).unwrap_or_default();
    commits.extend(made);
    Ok(Cycle { result, commits })
}

/// Commits `plan.md` and `plan.json` of one directory, unless the plan has no changes
/// and neither had the one committed before.
fn commit_plan(
    reports: &ReportsBranch,
    directory: &DirectoryConfig,
    plan: &Plan,
    pii: &Pii,
    revision: &str,
    time: i64,
) -> Result<Option<(git2::Oid, String)>, GitError> {
    let dir = directory.id.as_str();
    let json_path = format!("{dir}/plan.json");
    let previous_quiet = reports
        .read(&json_path)
        .and_then(|b| serde_json::from_slice::<Plan>(&b).ok())
        .is_some_and(|p| !p.has_changes());
    if !plan.has_changes() && previous_quiet {
        return Ok(None);
    }
    let redacted = pii::redact(plan, pii);
    let mut json = serde_json::to_vec_pretty(&redacted).unwrap_or_default();
    json.push(b'\n');
    let markdown = render::render(plan, Format::Markdown, pii).into_bytes();
    let s = &plan.summary;
    let subject = format!(
        "Plan for `{dir}`: {} to create, {} to update, {} to disable, {} to delete ({})",
        s.create,
        s.update,
        s.disable,
        s.delete,
        serde_json::to_value(plan.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    );
    let commit = ReportCommit {
        files: vec![(format!("{dir}/plan.md"), markdown), (json_path, json)],
        subject: subject.clone(),
        trailers: vec![("Config-Revision", revision.to_owned()), ("Plan-Id", plan.id.clone())],
        time,
    };
    Ok(reports.commit(&commit)?.map(|oid| (oid, subject)))
}

/// Commits `status.json` (no times: it changes only when something does) and
/// `result.json`, when the run wrote something or the status changed.
fn commit_result(
    reports: &ReportsBranch,
    config: &Config,
    result: &JobResult,
    revision: &str,
    time: i64,
) -> Result<Option<(git2::Oid, String)>, GitError> {
    let full = serde_json::to_value(result).unwrap_or(Json::Null);
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
    let wrote =
        result.directories.values().any(|d| d.created + d.updated + d.disabled + d.deleted + d.failed > 0);
    let status = pretty(&status);
    if !wrote && reports.read("status.json").as_deref() == Some(status.as_slice()) {
        // Nothing was written and nothing about the state changed: no commit.
        return Ok(None);
    }
    let files = vec![("status.json".to_owned(), status), ("result.json".to_owned(), pretty(&full))];
    let status_word = serde_json::to_value(result.status).ok().and_then(|v| v.as_str().map(str::to_owned));
    let subject = format!("Run {}: {}", result.started_at, status_word.unwrap_or_default());
    let mut trailers = vec![("Config-Revision", revision.to_owned())];
    for d in result.directories.values() {
        if let Some(id) = &d.plan {
            trailers.push(("Plan-Id", id.clone()));
        }
    }
    let commit = ReportCommit { files, subject: subject.clone(), trailers, time };
    Ok(reports.commit(&commit)?.map(|oid| (oid, subject)))
}

fn pretty(value: &Json) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
