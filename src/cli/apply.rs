//! `hrsync apply`: apply the plans of the directories in mode `apply` (a saved plan only
//! while the live state it was computed against is unchanged).
//!
//! Each directory's plan is shown as its summary (counts, status, plan id, the guards'
//! figures and reasons), whatever its size; the whole plan only when asked, on stdout
//! (`--show-plan`) or in a file (`--out FILE`). Then the line that says what was
//! applied, and the failed items and warnings on stderr.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{Global, PiiArg, approvals, error_line, open_run, pii, warning_line};
use crate::config::Mode;
use crate::plan::guard;
use crate::plan::guard::saved::SavedPlan;
use crate::plan::render::{self, Format, summary};
use crate::run::PlanOptions;

/// How `hrsync apply` shows the plans it applies.
pub(super) struct ApplyOutput<'a> {
    /// `--pii`.
    pub pii: Option<PiiArg>,
    /// `--show-plan`: each whole plan on stdout instead of its summary.
    pub show_plan: bool,
    /// `--out FILE`: each whole plan written there too.
    pub out: Option<&'a Path>,
}

/// Reads the plans of a file written by `hrsync plan --format json` (an array) or a
/// report's `plan.json` (one plan's index): their directories and ids.
fn read_saved_plans(path: &Path) -> Result<Vec<SavedPlan>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON written by `hrsync plan --format json`", path.display()))?;
    let plans = if value.is_array() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|p| vec![p])
    };
    plans.with_context(|| format!("{} is not a plan written by `hrsync plan --format json`", path.display()))
}

/// `hrsync apply`: plans and applies every directory in mode `apply` (or the saved
/// plans, refused when stale).
pub(super) async fn apply(
    g: &Global,
    saved: Option<&Path>,
    approve: &[String],
    directory: Option<&str>,
    output: ApplyOutput<'_>,
) -> Result<ExitCode> {
    let run = open_run(g).await?;
    let _lock = run.store.lock()?;
    let pii = pii(&run, output.pii)?;
    let saved = saved.map(read_saved_plans).transpose()?;
    // Made before anything is written, so a file that cannot be written stops the apply.
    let mut out_file = output
        .out
        .map(|path| {
            std::fs::File::create(path)
                .map(std::io::BufWriter::new)
                .with_context(|| format!("cannot write {}", path.display()))
        })
        .transpose()?;
    let mut plans_written = 0;
    let approvals = approvals(approve)?;
    let mut state = run.store.load()?;
    let previous = state.clone();
    let gathered = run.gather(None, &state).await?;
    let mut ok = true;
    let selected = match (&saved, directory) {
        (Some(plans), None) => plans
            .iter()
            .map(|p| run.directories(Some(p.directory.as_str())).map(|mut d| d.remove(0)))
            .collect::<Result<Vec<_>, _>>()?,
        _ => run.directories(directory)?,
    };
    // The sources' reads become their last good reads only when every directory that
    // writes applied the plan made from them (as `run` and the daemon do).
    let mut all_applied = run
        .config
        .directories
        .iter()
        .filter(|c| c.mode == Mode::Apply)
        .all(|c| selected.iter().any(|d| d.id == c.id));
    for d in selected {
        match d.mode {
            Mode::Off => {
                println!("`{}`: mode is off, skipped\n", d.id);
                continue;
            }
            Mode::Plan => {
                error_line(
                    g,
                    &format!(
                        "directory `{}` is in mode `plan` (simulation): set `mode: apply` in {} to write to it",
                        d.id, d.file
                    ),
                );
                ok = false;
                continue;
            }
            Mode::Apply => {}
        }
        let planned = run
            .plan(
                &gathered,
                d,
                &previous,
                &PlanOptions { approvals: approvals.clone(), ..PlanOptions::default() },
            )
            .await;
        // A directory that cannot be planned fails alone: what was applied to the
        // directories before it is still recorded below.
        let plan = match planned.plan {
            Ok(plan) => plan,
            Err(e) => {
                let reason = crate::model::error_chain(&e);
                error_line(g, &format!("cannot plan directory `{}`: {reason}", d.id));
                state.record_directory_error(&d.id, Some(reason));
                ok = false;
                all_applied = false;
                continue;
            }
        };
        state.record_timers(&d.id, &plan.timers, run.timer_secret.as_ref())?;
        state.record_directory_error(&d.id, None);
        if let Some(saved) = &saved {
            match guard::saved::check(saved, &plan) {
                Ok(()) => {}
                Err(e) => {
                    error_line(g, &e.to_string());
                    ok = false;
                    all_applied = false;
                    continue;
                }
            }
        }
        if output.show_plan || out_file.is_some() {
            let markdown = render::render(&plan, Format::Markdown, &pii)?;
            if output.show_plan {
                print!("{markdown}");
            }
            if let (Some(file), Some(path)) = (&mut out_file, output.out) {
                let separator = if plans_written > 0 { "\n" } else { "" };
                // What was applied before must still be recorded: this directory alone
                // is left out.
                if let Err(e) = write!(file, "{separator}{markdown}").and_then(|()| file.flush()) {
                    eprintln!("error: cannot write {}: {e}; `{}` is not applied", path.display(), d.id);
                    ok = false;
                    all_applied = false;
                    continue;
                }
                plans_written += 1;
            }
        }
        if !output.show_plan {
            print!("{}", summary::render(&plan));
        }
        match run.apply(&plan, planned.directory.as_ref(), &mut state).await {
            Err(e) => {
                error_line(g, &e.to_string());
                state.record_directory_error(&d.id, Some(crate::model::error_chain(&e)));
                ok = false;
                all_applied = false;
            }
            Ok(applied) => {
                println!(
                    "\nApplied to `{}`: {} created, {} updated, {} disabled, {} deleted, {} failed.\n",
                    d.id, applied.created, applied.updated, applied.disabled, applied.deleted, applied.failed
                );
                if plan.groups.is_some() {
                    let a = &applied.groups;
                    println!(
                        "Groups of `{}`: {} created, {} changed ({} members added, {} removed), {} deleted, {} failed.\n",
                        d.id, a.created, a.updated, a.members_added, a.members_removed, a.deleted, a.failed
                    );
                }
                for failure in
                    applied.items.iter().filter_map(|i| crate::report::job::describe_failure(i, &pii))
                {
                    error_line(g, &failure);
                }
                for item in &applied.groups.items {
                    if let crate::apply::ItemStatus::Failed(r) | crate::apply::ItemStatus::NotAttempted(r) =
                        &item.status
                    {
                        error_line(
                            g,
                            &format!(
                                "{} group `{}`: {}",
                                item.action.as_str(),
                                item.name,
                                pii.message(r, item.group.as_deref())
                            ),
                        );
                    }
                }
                let mut warnings = 0;
                for warning in
                    applied.items.iter().flat_map(|i| crate::report::job::describe_warnings(i, &pii))
                {
                    warning_line(g, &warning);
                    warnings += 1;
                }
                if warnings > 0 {
                    println!(
                        "{warnings} {} (on stderr).\n",
                        if warnings == 1 { "warning" } else { "warnings" }
                    );
                }
                ok &= applied.failed == 0;
            }
        }
    }
    run.record_sources(&gathered, &previous, &mut state, all_applied, false)?;
    run.store.save(&state)?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
