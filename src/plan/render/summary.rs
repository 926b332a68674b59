//! The summary of a plan, for a terminal: what `hrsync apply` prints before it applies.
//!
//! A few lines whatever the plan's size: the directory, the status, the plan id, the
//! counts per action, the mass-change check and, for a blocked or failed plan, why. It
//! names no one (counts, ids and hrsync's own reasons only), so it needs no redaction;
//! the rows are in `hrsync plan` and in `hrsync apply --show-plan`.

use std::fmt::Write as _;

use super::markdown::{safety, status};
use crate::plan::{Plan, PlanStatus};

/// Renders the summary of a plan, ending with a newline.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_summary(&mut out, plan);
    out
}

fn write_summary(out: &mut String, plan: &Plan) -> std::fmt::Result {
    let s = &plan.summary;
    writeln!(
        out,
        "Plan for `{}` ({} directory): {} · plan {} · as of {} ({}) · mode {}",
        plan.directory,
        plan.directory_type,
        status(plan),
        plan.id,
        plan.as_of,
        plan.timezone,
        plan.mode.as_str()
    )?;
    write!(
        out,
        "{} to create, {} to update, {} to disable, {} to delete, {} skipped, {} unchanged with a reason, {} up to date",
        s.create,
        s.update,
        s.disable,
        s.delete,
        s.skip,
        s.noop.saturating_sub(s.unlisted),
        s.unlisted
    )?;
    if s.warnings > 0 {
        write!(out, "; {} {} with warnings", s.warnings, if s.warnings == 1 { "row" } else { "rows" })?;
    }
    writeln!(out, ".")?;
    if let Some(g) = &plan.groups {
        let s = &g.summary;
        writeln!(
            out,
            "Groups: {} to create, {} to change ({} renamed; {} members added, {} removed), {} to delete, {} skipped.",
            s.create, s.update, s.rename, s.members_added, s.members_removed, s.delete, s.skip
        )?;
    }
    writeln!(out, "{}", safety(plan))?;
    let skipped: usize = plan.sources.iter().map(|src| src.skipped.len()).sum();
    if skipped > 0 {
        writeln!(
            out,
            "{skipped} source {} skipped (never read into the plan; `hrsync plan` lists them).",
            if skipped == 1 { "row" } else { "rows" }
        )?;
    }
    let why = match plan.status {
        PlanStatus::Blocked => Some("Blocked by the safety limits:"),
        PlanStatus::Failed => Some("Nothing will be written to this directory:"),
        PlanStatus::Ready if plan.approved => Some("Approved beyond the safety limits by plan id:"),
        _ => None,
    };
    if let Some(why) = why {
        writeln!(out, "{why}")?;
        for b in &plan.blocked_by {
            writeln!(out, "- {}", b.replace(['\n', '\r'], " "))?;
        }
    }
    Ok(())
}
