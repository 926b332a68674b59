//! The Markdown plan: fit for a pull request comment and a committed report.
//!
//! A summary table first (status, counts, sources, safety, why a plan is blocked or
//! failed), then one section per action with each person's reasons and field-level
//! before/after, then the unchanged rows in a collapsed list. It formats a (redacted)
//! plan; it decides nothing.
//!
//! [`render`] lists every row (the unchanged ones up to [`MAX_NOOP_ROWS`]).
//! [`render_within`] keeps to a [`Budget`] of rows and bytes, as a committed report
//! must: the head (status, plan id, counts, sources, safety, the guards' reasons) is
//! always written whole, then each action lists its first rows, the budget shared out
//! so that a small action is listed whole beside a large one, and says how many more
//! there are and which files hold them all.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::{SkippedRecord, Value};
use crate::plan::{Action, Collision, Plan, PlanStatus, Planned, Row, SourceHealth, SourceView};

/// Unchanged rows listed before the rest are only counted.
pub const MAX_NOOP_ROWS: usize = 500;

/// Skipped source rows listed at most; the job result has every one.
const MAX_SKIPPED_ROWS: usize = 50;

/// Renders a plan as Markdown, every row listed.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = write_plan(&mut out, plan, None);
    out
}

/// How much of a plan's rows [`render_within`] lists, and where the rest is.
#[derive(Clone, Debug, Default)]
pub struct Budget {
    /// Rows listed at most, over all actions (unchanged rows included).
    pub rows: usize,
    /// Bytes of the whole document at most; only a head longer than that (it is never
    /// cut) makes the document longer.
    pub bytes: usize,
    /// Per action, the files (paths relative to the document) that hold all its rows.
    pub rows_in: BTreeMap<Action, Vec<String>>,
    /// The files that hold every skipped source row.
    pub skipped_in: Vec<String>,
    /// Per action, the rows the whole plan has, when the plan given holds only its
    /// first ones (at least as many as can be listed): a committed report redacts the
    /// rows it lists, not every row at once.
    pub totals: BTreeMap<Action, usize>,
    /// The files that hold every group row.
    pub groups_in: Vec<String>,
}

/// Room kept for the lines that say what was left out, per section.
const FOOTER_RESERVE: usize = 1024;

/// Renders a plan as Markdown within `budget`: the head whole, then the first rows of
/// each action, with how many more there are and where they are.
pub fn render_within(plan: &Plan, budget: &Budget) -> String {
    let mut out = String::new();
    let _ = write_plan(&mut out, plan, Some(budget));
    out
}

/// Shares `total` among `counts` so that each gets as much as an even share of what is
/// left, smallest first: a count below its share is listed whole and leaves the rest to
/// the others.
fn share_out(counts: &[usize], total: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] > 0).collect();
    order.sort_by_key(|&i| counts[i]);
    let mut shares = vec![0; counts.len()];
    let (mut left, mut waiting) = (total, order.len());
    for i in order {
        let share = counts[i].min(left.div_ceil(waiting));
        shares[i] = share;
        left -= share;
        waiting -= 1;
    }
    shares
}

/// `files` in words: the one file, or the first and the last of several.
fn files_text(files: &[String]) -> String {
    match files {
        [] => "the JSON plan".to_owned(),
        [one] => link(one),
        [first, .., last] => format!("{} files, {} to {}", files.len(), link(first), link(last)),
    }
}

fn link(path: &str) -> String {
    let clean = path.replace(['\n', '\r', '[', ']', '(', ')', '`', '<', '>'], "");
    format!("[`{clean}`]({clean})")
}

/// The order sections are written in; the last is the unchanged rows.
const SECTIONS: [Action; 6] =
    [Action::Create, Action::Update, Action::Disable, Action::Delete, Action::Skip, Action::Noop];

fn write_plan(out: &mut String, plan: &Plan, budget: Option<&Budget>) -> std::fmt::Result {
    let s = &plan.summary;
    writeln!(out, "## hrsync plan for `{}` ({} directory)", plan.directory, plan.directory_type)?;
    writeln!(out)?;
    let status = status(plan);
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
            match budget {
                Some(b) => writeln!(
                    out,
                    "- … and {} more, all in {} (the job result lists them too)",
                    skipped.len() - MAX_SKIPPED_ROWS,
                    files_text(&b.skipped_in)
                )?,
                None => writeln!(
                    out,
                    "- … and {} more (the job result lists them all)",
                    skipped.len() - MAX_SKIPPED_ROWS
                )?,
            }
        }
        writeln!(out)?;
    }
    out.push_str(&safety(plan));
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

    let mut by_action: [Vec<&Row>; SECTIONS.len()] = Default::default();
    for row in &plan.rows {
        if let Some(i) = SECTIONS.iter().position(|a| *a == row.action) {
            by_action[i].push(row);
        }
    }
    let noop = SECTIONS.len() - 1;
    let totals: Vec<usize> = SECTIONS
        .iter()
        .zip(&by_action)
        .map(|(a, rows)| rows.len().max(budget.and_then(|b| b.totals.get(a).copied()).unwrap_or(0)))
        .collect();
    // Within a budget: the rows each section lists, rendered, chosen before anything is
    // written so that whether rows were left out is said above them.
    let listed: Option<Vec<Vec<String>>> = match budget {
        None => None,
        Some(b) => {
            let listable: Vec<usize> = by_action
                .iter()
                .enumerate()
                .map(|(i, rows)| if i == noop { rows.len().min(MAX_NOOP_ROWS) } else { rows.len() })
                .collect();
            let shares = share_out(&listable, b.rows);
            let mut rendered: Vec<Vec<String>> = Vec::with_capacity(SECTIONS.len());
            for (i, rows) in by_action.iter().enumerate() {
                let mut texts = Vec::with_capacity(shares[i]);
                for row in rows.iter().take(shares[i]) {
                    let mut text = String::new();
                    if i == noop {
                        write_noop(&mut text, row)?
                    } else {
                        write_row(&mut text, row)?
                    }
                    texts.push(text);
                }
                rendered.push(texts);
            }
            // The bytes, shared the same way: a section whose first rows are short is
            // listed whole, and leaves the rest to the others.
            let sections = listable.iter().filter(|n| **n > 0).count();
            let room = b.bytes.saturating_sub(out.len() + FOOTER_RESERVE * (sections + 1));
            let needs: Vec<usize> = rendered.iter().map(|t| t.iter().map(String::len).sum()).collect();
            let allowances = share_out(&needs, room);
            for (texts, allowance) in rendered.iter_mut().zip(allowances) {
                let mut used = 0;
                let fits = texts.iter().take_while(|t| {
                    used += t.len();
                    used <= allowance
                });
                let n = fits.count();
                texts.truncate(n);
            }
            Some(rendered)
        }
    };
    let cut =
        listed.as_ref().is_some_and(|l| l.iter().zip(&totals).any(|(shown, total)| shown.len() < *total));
    if let (Some(b), Some(l), true) = (budget, &listed, cut) {
        let shown: usize = l.iter().map(Vec::len).sum();
        writeln!(
            out,
            "This report lists {shown} of the plan's {} rows, the first of each action (at most {} rows and {} bytes in all). Every row is in the JSON Lines files (one row a line) that `plan.json` lists.",
            totals.iter().sum::<usize>(),
            b.rows,
            b.bytes
        )?;
        writeln!(out)?;
    }

    for (i, action) in SECTIONS.into_iter().enumerate() {
        let (rows, total) = (&by_action[i], totals[i]);
        if total == 0 || i == noop {
            continue;
        }
        let (title, left_out) = match action {
            Action::Create => ("Create", "to create"),
            Action::Update => ("Update", "to update"),
            Action::Disable => ("Disable", "to disable"),
            Action::Delete => ("Delete", "to delete"),
            _ => ("Skip", "skipped"),
        };
        writeln!(out, "### {title} ({total})")?;
        writeln!(out)?;
        let shown = match &listed {
            Some(l) => {
                l[i].iter().for_each(|t| out.push_str(t));
                l[i].len()
            }
            None => {
                for row in rows {
                    write_row(out, row)?;
                }
                rows.len()
            }
        };
        if shown < total {
            let files = budget.and_then(|b| b.rows_in.get(&action)).map(Vec::as_slice).unwrap_or_default();
            writeln!(
                out,
                "… and {} more {left_out}, not listed here: all {total} are in {}.",
                total - shown,
                files_text(files)
            )?;
            writeln!(out)?;
        }
    }

    let (noops, total) = (&by_action[noop], totals[noop]);
    if total > 0 {
        writeln!(out, "<details><summary>Unchanged, with a reason ({total})</summary>")?;
        writeln!(out)?;
        writeln!(out, "| person | entry | why |")?;
        writeln!(out, "|---|---|---|")?;
        let shown = match &listed {
            Some(l) => {
                l[noop].iter().for_each(|t| out.push_str(t));
                l[noop].len()
            }
            None => {
                for row in noops.iter().take(MAX_NOOP_ROWS) {
                    write_noop(out, row)?;
                }
                noops.len().min(MAX_NOOP_ROWS)
            }
        };
        if shown < total {
            match budget {
                Some(b) => {
                    let files = b.rows_in.get(&Action::Noop).map(Vec::as_slice).unwrap_or_default();
                    writeln!(out, "| … | | and {} more, all in {} |", total - shown, files_text(files))?
                }
                None => writeln!(out, "| … | | and {} more, listed in the JSON plan |", total - shown)?,
            }
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
    if let Some(groups) = &plan.groups {
        // What is left of the budget's rows and bytes, after the rows of people.
        let room = budget.map(|b| Room {
            bytes: b.bytes.saturating_sub(FOOTER_RESERVE),
            rows: b.rows.saturating_sub(out.matches("\n#### ").count()),
            files: b.groups_in.as_slice(),
        });
        write_groups(out, groups, room)?;
    }
    Ok(())
}

/// Group rows at most listed with their members in the Markdown plan (the JSON plan
/// has them all).
const MAX_GROUP_ROWS: usize = 200;
/// Members at most listed per group row and direction.
const MAX_MEMBERS_LISTED: usize = 50;

/// What a budget leaves the groups of a plan.
struct Room<'a> {
    /// The document's bytes at most.
    bytes: usize,
    /// Group rows at most.
    rows: usize,
    /// The files that hold every group row.
    files: &'a [String],
}

/// The groups part of a plan: counts, then one section per group that changes; with
/// `room`, only as many as fit in it, and where the rest are.
fn write_groups(out: &mut String, g: &crate::plan::GroupPlan, room: Option<Room<'_>>) -> std::fmt::Result {
    let s = &g.summary;
    if !out.ends_with("\n\n") {
        writeln!(out)?;
    }
    writeln!(out, "### Groups")?;
    writeln!(out)?;
    if let Some(why) = &g.not_read {
        writeln!(
            out,
            "The directory's groups could not be read ({}): this plan leaves every group alone.",
            prose(why)
        )?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "| create | update | rename | delete | skip | unchanged | members added | members removed |"
    )?;
    writeln!(out, "|---:|---:|---:|---:|---:|---:|---:|---:|")?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        s.create, s.update, s.rename, s.delete, s.skip, s.noop, s.members_added, s.members_removed
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Group safety: hrsync owns {} {}; removing more than {} % of a group's members (beyond {}) or deleting more than {} % of the groups blocks the plan.",
        g.owned,
        plural(g.owned, "group", "groups"),
        g.max_member_removal_percent,
        g.member_removals_allowed,
        g.max_delete_percent
    )?;
    writeln!(out)?;
    let member = |m: &crate::plan::Member| -> String {
        match (&m.group, &m.person, &m.id) {
            (Some(k), _, _) => format!("group {}", code(k)),
            (None, Some(p), Some(id)) => format!("{} ({})", code(p), code(id)),
            (None, Some(p), None) => format!("{} (created by this plan)", code(p)),
            (None, None, Some(id)) => code(id),
            (None, None, None) => String::new(),
        }
    };
    let total = g.summary.changes()
        + g.summary.skip
        + if g.rows.iter().any(|r| r.action == crate::plan::GroupAction::Noop) { g.summary.noop } else { 0 };
    let mut shown = 0;
    for row in g.rows.iter().take(MAX_GROUP_ROWS) {
        if room.as_ref().is_some_and(|r| out.len() >= r.bytes || shown >= r.rows) {
            break;
        }
        shown += 1;
        let action = match row.action {
            crate::plan::GroupAction::Create => "Create",
            crate::plan::GroupAction::Update => "Update",
            crate::plan::GroupAction::Delete => "Delete",
            crate::plan::GroupAction::Skip => "Skip",
            crate::plan::GroupAction::Noop => "Unchanged",
        };
        writeln!(out, "#### {action} group {}", code(&row.name))?;
        writeln!(out)?;
        writeln!(
            out,
            "- key {} · {} {} after",
            code(&row.key),
            row.members,
            plural(row.members, "member", "members")
        )?;
        if let Some(before) = &row.renamed_from {
            writeln!(out, "- renamed from {}", code(before))?;
        }
        writeln!(out, "- why: {}", row.reasons.iter().map(|r| prose(r)).collect::<Vec<_>>().join("; "))?;
        for (sign, list) in [("add", &row.add), ("remove", &row.remove), ("keep under a new DN", &row.follow)]
        {
            if list.is_empty() {
                continue;
            }
            let mut shown: Vec<String> = list.iter().take(MAX_MEMBERS_LISTED).map(member).collect();
            if list.len() > MAX_MEMBERS_LISTED {
                shown.push(format!("… and {} more (in the JSON plan)", list.len() - MAX_MEMBERS_LISTED));
            }
            writeln!(out, "- {sign} {}: {}", list.len(), shown.join(", "))?;
        }
        for w in &row.warnings {
            writeln!(out, "- ⚠ {}", prose(w))?;
        }
        writeln!(out)?;
    }
    let total = total.max(g.rows.len());
    if shown < total {
        match room {
            Some(r) => writeln!(
                out,
                "… and {} more groups, not listed here: all are in {}.",
                total - shown,
                files_text(r.files)
            )?,
            None => writeln!(out, "… and {} more groups, listed in the JSON plan.", total - shown)?,
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The mass-change check in a sentence, and the entries hrsync leaves alone.
pub(super) fn safety(plan: &Plan) -> String {
    let (s, safety) = (&plan.summary, &plan.safety);
    let pct = |n: usize| if safety.managed == 0 { 0.0 } else { n as f64 * 100.0 / safety.managed as f64 };
    let mut out = format!(
        "Safety: of {} managed {}, {} disabled or deleted ({:.1} %, limit {} %) and {} updated ({:.1} %, limit {} %).",
        safety.managed,
        plural(safety.managed, "entry", "entries"),
        safety.disables,
        pct(safety.disables),
        safety.max_disable_percent,
        safety.updates,
        pct(safety.updates),
        safety.max_update_percent,
    );
    if s.unmanaged > 0 {
        let (verb, pronoun) = if s.unmanaged == 1 { ("is", "it is") } else { ("are", "they are") };
        let _ = write!(
            out,
            " {} {} in scope {verb} not managed by hrsync; {pronoun} left alone.",
            s.unmanaged,
            plural(s.unmanaged, "entry", "entries")
        );
    }
    out
}

/// The status of a plan in words.
pub(super) fn status(plan: &Plan) -> &'static str {
    match plan.status {
        PlanStatus::NoChanges => "No changes",
        PlanStatus::Ready if plan.approved => "Ready to apply (approved)",
        PlanStatus::Ready => "Ready to apply",
        PlanStatus::Blocked => "Blocked",
        PlanStatus::Failed => "Failed",
    }
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

/// One line of the table of unchanged rows.
fn write_noop(out: &mut String, row: &Row) -> std::fmt::Result {
    let mut why = row.reasons.last().map(|r| prose(r)).unwrap_or_default();
    // An unchanged row's warnings are listed with it: the summary counts them.
    for w in &row.warnings {
        write!(why, "<br>⚠ {}", prose(w))?;
    }
    writeln!(out, "| {} | {} | {why} |", subject(row), row.entry.as_deref().map(code).unwrap_or_default())
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
    fn a_budget_is_shared_so_that_small_counts_are_whole() {
        assert_eq!(share_out(&[1_000_000, 0, 3, 10, 400], 2000), vec![1587, 0, 3, 10, 400]);
        assert_eq!(share_out(&[50, 50, 50], 100), vec![34, 33, 33]);
        assert_eq!(share_out(&[5, 7], 100), vec![5, 7], "everything fits");
        assert_eq!(share_out(&[5, 7], 0), vec![0, 0]);
        let shares = share_out(&[9, 1, 12, 4], 10);
        assert_eq!(shares.iter().sum::<usize>(), 10);
        assert_eq!(shares[1], 1);
    }

    #[test]
    fn escapes_markdown_in_values() {
        assert_eq!(md("a|b *c* <x>\nd"), "a\\|b \\*c\\* \\<x\\> d");
        assert_eq!(code("a`b"), "`` a`b ``");
        assert_eq!(code("x|y"), "`x\\|y`");
        assert_eq!(prose("included by `staff` | x\ny"), "included by `staff` \\| x y");
    }
}
