//! `hrsync run`: the sync job (read every source, plan and apply every directory), its
//! job result on stdout.

use std::process::ExitCode;

use anyhow::Result;

use super::{Global, PiiArg, approvals, open_run, pii};
use crate::report::JobStatus;
use crate::run::JobOptions;

/// Runs the job; with `dry_run`, reads and plans but writes nothing anywhere. People in
/// the job result (failed items, warnings) are shown as `pii_arg` says, else as
/// `reports.pii` says.
pub(super) async fn run(
    g: &Global,
    source: Option<String>,
    dry_run: bool,
    approve: &[String],
    pii_arg: Option<PiiArg>,
) -> Result<ExitCode> {
    let approvals = approvals(approve)?;
    let run = open_run(g).await?;
    let _lock = if dry_run { None } else { Some(run.store.lock()?) };
    let pii = pii(&run, pii_arg)?;
    let options = JobOptions { source, dry_run, approvals, pii };
    let result = run.job(&options).await?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(if result.status == JobStatus::Failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
