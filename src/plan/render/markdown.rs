//! The Markdown plan: fit for a pull request comment and a committed report.
//!
//! A summary table first (status, counts, sources, safety), then one section per action
//! with each person's reasons and field-level before/after, then the unchanged rows in
//! a collapsed list. It formats a (redacted) plan; it decides nothing.

use std::fmt::Write as _;

use crate::model::{SkippedRecord, Value};
use crate::plan::{Action, Collision, Plan, PlanStatus, Planned, Row, SourceHealth, SourceView};

/// Unchanged rows listed before the rest are only counted.
const MAX_NOOP_ROWS: usize = 500;

/// Skipped source rows listed at most; the job result has every one.
const MAX_SKIPPED_ROWS: usize = 50;

/// Renders a plan as Markdown.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_plan(&mut out, plan);
    out
}

fn write_plan(out: &mut String, plan: &Plan) -> std::fmt::Result {
    let s = &plan.summary;
    writeln!(out, "## hrsync plan for `{}` ({} directory)", plan.directory, plan.directory_type)?;
    writeln!(out)?;
    let status = match plan.status {
        PlanStatus::NoChanges => "No changes",
        PlanStatus::Ready if plan.approved => "Ready to apply (approved)",
        PlanStatus::Ready => "Ready to apply",
        PlanStatus::Blocked => "Blocked",
        PlanStatus::Failed => "Failed",
    };
    writeln!(
        out,
        "**{status}** · plan `{}` · as of {} ({}) · mode `{}`",
        plan.id,
        plan.as_of,
        plan.timezone,
        plan.mode.as_str()
    )?;
    writeln!(out)?;
    writeln!(out, "| create | update | disable | delete | skip | unchanged | warnings |")?;
    writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} |",
        s.create, s.update, s.disable, s.delete, s.skip, s.noop, s.warnings
    )?;
    writeln!(out)?;

    let sources: Vec<String> = plan
        .sources
        .iter()
        .map(|src| {
            let health = match &src.health {
                SourceHealth::Healthy => "healthy".to_owned(),
                SourceHealth::Delta => "changes only".to_owned(),
                SourceHealth::Snapshot { reason } => format!("last good read: {}", prose(reason)),
                SourceHealth::Disabled => "disabled".to_owned(),
                SourceHealth::Unhealthy { reason } => format!("**unhealthy**: {}", prose(reason)),
                SourceHealth::Shrunk { reason } => format!("**shrunk**: {}", prose(reason)),
            };
            format!(
                "`{}` {} {} ({health})",
                src.id,
                src.people,
                if src.people == 1 { "person" } else { "people" }
            )
        })
        .collect();
    writeln!(out, "Sources: {}", if sources.is_empty() { "none".to_owned() } else { sources.join(" · ") })?;
    writeln!(out)?;
    let skipped: Vec<(&SourceView, &SkippedRecord)> =
        plan.sources.iter().flat_map(|src| src.skipped.iter().map(move |r| (src, r))).collect();
    if !skipped.is_empty() {
        writeln!(
            out,
            "Skipped {} {} (never read into the plan; a skipped person's entry is held as it is):",
            skipped.len(),
            plural(skipped.len(), "row", "rows")
        )?;
        writeln!(out)?;
        for (src, r) in skipped.iter().take(MAX_SKIPPED_ROWS) {
            writeln!(out, "- `{}` {}", src.id, prose(&r.to_string()))?;
        }
        if skipped.len() > MAX_SKIPPED_ROWS {
            writeln!(
                out,
                "- … and {} more (the job result lists them all)",
                skipped.len() - MAX_SKIPPED_ROWS
            )?;
        }
        writeln!(out)?;
    }
    let safety = &plan.safety;
    let pct = |n: usize| if safety.managed == 0 { 0.0 } else { n as f64 * 100.0 / safety.managed as f64 };
    write!(
        out,
        "Safety: of {} managed {}, {} disabled or deleted ({:.1} %, limit {} %) and {} updated ({:.1} %, limit {} %).",
        safety.managed,
        plural(safety.managed, "entry", "entries"),
        safety.disables,
        pct(safety.disables),
        safety.max_disable_percent,
        safety.updates,
        pct(safety.updates),
        safety.max_update_percent,
    )?;
    if s.unmanaged > 0 {
        let (verb, pronoun) = if s.unmanaged == 1 { ("is", "it is") } else { ("are", "they are") };
        write!(
            out,
            " {} {} in scope {verb} not managed by hrsync; {pronoun} left alone.",
            s.unmanaged,
            plural(s.unmanaged, "entry", "entries")
        )?;
    }
    writeln!(out)?;
    writeln!(out)?;

    match plan.status {
        PlanStatus::Blocked => {
            writeln!(out, "> [!WARNING]")?;
            writeln!(out, "> **This plan is blocked by the safety limits** and will not be applied:")?;
            for b in &plan.blocked_by {
                writeln!(out, "> - {}", prose(b))?;
            }
            writeln!(out, ">")?;
            writeln!(
                out,
                "> If these changes are intended, approve this exact plan: run `hrsync apply --approve {}`, or add `{}` to `approvals` in `hrsync.yaml` through a reviewed commit.",
                plan.id, plan.id
            )?;
            writeln!(out)?;
        }
        PlanStatus::Failed => {
            writeln!(out, "> [!CAUTION]")?;
            writeln!(out, "> **Nothing will be written to this directory:**")?;
            for b in &plan.blocked_by {
                writeln!(out, "> - {}", prose(b))?;
            }
            writeln!(out)?;
        }
        PlanStatus::Ready if plan.approved => {
            let by = plan.approved_by.as_ref().map(|b| b.describe()).unwrap_or_else(|| "approved".to_owned());
            writeln!(out, "Beyond the safety limits, {}:", prose(&by))?;
            for b in &plan.blocked_by {
                writeln!(out, "- {}", prose(b))?;
            }
            writeln!(out)?;
        }
        _ => {}
    }

    for action in [Action::Create, Action::Update, Action::Disable, Action::Delete, Action::Skip] {
        let rows: Vec<&Row> = plan.rows.iter().filter(|r| r.action == action).collect();
        if rows.is_empty() {
            continue;
        }
        let title = match action {
            Action::Create => "Create",
            Action::Update => "Update",
            Action::Disable => "Disable",
            Action::Delete => "Delete",
            _ => "Skip",
        };
        writeln!(out, "### {title} ({})", rows.len())?;
        writeln!(out)?;
        for row in rows {
            write_row(out, row)?;
        }
    }

    // Rows with warnings first, so that a long list never hides one.
    let mut noops: Vec<&Row> = plan.rows.iter().filter(|r| r.action == Action::Noop).collect();
    noops.sort_by_key(|r| r.warnings.is_empty());
    if !noops.is_empty() {
        writeln!(out, "<details><summary>Unchanged, with a reason ({})</summary>", noops.len())?;
        writeln!(out)?;
        writeln!(out, "| person | entry | why |")?;
        writeln!(out, "|---|---|---|")?;
        for row in noops.iter().take(MAX_NOOP_ROWS) {
            let mut why = row.reasons.last().map(|r| prose(r)).unwrap_or_default();
            for w in &row.warnings {
                write!(why, "<br>⚠ {}", prose(w))?;
            }
            writeln!(
                out,
                "| {} | {} | {why} |",
                subject(row),
                row.entry.as_deref().map(code).unwrap_or_default()
            )?;
        }
        if noops.len() > MAX_NOOP_ROWS {
            writeln!(out, "| … | | and {} more, listed in the JSON plan |", noops.len() - MAX_NOOP_ROWS)?;
        }
        writeln!(out)?;
        writeln!(out, "</details>")?;
        writeln!(out)?;
    }
    if s.unlisted > 0 {
        writeln!(
            out,
            "{} {} up to date and not listed; `hrsync plan --unchanged` lists {}.",
            s.unlisted,
            if s.unlisted == 1 { "entry is" } else { "entries are" },
            if s.unlisted == 1 { "it" } else { "them" }
        )?;
    }
    Ok(())
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

pub(super) fn subject(row: &Row) -> String {
    match &row.person {
        Some(p) => {
            let mut s = code(&p.key);
            if let Some(name) = &p.name {
                write!(s, " {}", md(name)).ok();
            }
            s
        }
        None => "(no person)".to_owned(),
    }
}

fn write_row(out: &mut String, row: &Row) -> std::fmt::Result {
    let mut heading = subject(row);
    if let Some(entry) = &row.entry {
        write!(heading, " → entry {}", code(entry))?;
    }
    writeln!(out, "#### {heading}")?;
    writeln!(out)?;
    for r in &row.reasons {
        writeln!(out, "- {}", prose(r))?;
    }
    match &row.collides_with {
        Some(Collision::Person(key)) => writeln!(out, "- collides with the create of {}", code(key))?,
        Some(Collision::Entry(id)) => writeln!(out, "- collides with entry {}", code(id))?,
        None => {}
    }
    for w in &row.warnings {
        writeln!(out, "- ⚠ {}", prose(w))?;
    }
    writeln!(out)?;
    if row.changes.is_empty() && row.enabled.is_none() {
        return Ok(());
    }
    writeln!(out, "| attribute | before | after | mode | from |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for c in &row.changes {
        let from: Vec<String> = c.from.iter().map(|s| s.to_string()).collect();
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            code(&c.attribute),
            c.before.as_ref().map(value).unwrap_or_else(|| "—".into()),
            c.after.as_ref().map(planned).unwrap_or_else(|| "—".into()),
            c.mode.as_str(),
            from.join(", ")
        )?;
    }
    if let Some(e) = &row.enabled {
        let state = |b: bool| if b { "enabled" } else { "disabled" };
        writeln!(out, "| (account) | {} | {} | | |", e.before.map(state).unwrap_or("—"), state(e.after))?;
    }
    writeln!(out)
}

fn value(v: &Value) -> String {
    match v {
        Value::One(s) => md(s),
        Value::Many(vs) => vs.iter().map(|s| md(s)).collect::<Vec<_>>().join(", "),
    }
}

pub(super) fn planned(p: &Planned) -> String {
    match p {
        Planned::Value(v) => value(v),
        Planned::EntryOf { entry_of } => format!("entry of {}, created above", code(entry_of)),
    }
}

pub(super) fn code(s: &str) -> String {
    let clean = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    if clean.contains('`') { format!("`` {clean} ``") } else { format!("`{clean}`") }
}

/// hrsync's own prose (reasons, warnings): its code spans stay, table pipes, HTML and
/// line breaks are neutralized. Values never go through here: see [`md`].
pub(super) fn prose(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '|' | '<' | '>' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A value from HR or a directory, inert inside a Markdown table cell or list item.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            '|' | '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '`' => out.push('\''),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markdown_in_values() {
        assert_eq!(md("a|b *c* <x>\nd"), "a\\|b \\*c\\* \\<x\\> d");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("x|y"), "`x\\|y`");
        assert_eq!(prose("included by `staff` | x\ny"), "included by `staff` \\| x y");
    }
}
