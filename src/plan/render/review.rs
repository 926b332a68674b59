//! Plan-only review of a change to the config: the plans of the changed revision set
//! against the plans of its base, both computed against the same live directories at
//! the same time, told as what the change itself does ("gives 12 people an account,
//! changes `mail` for 340 people"), in Markdown that fits a pull request comment.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use super::markdown::{code, planned, prose, subject};
use crate::plan::pii::{Pii, redact};
use crate::plan::{Action, GroupAction, GroupRow, Member, Plan, PlanStatus, Planned, Row};

/// GitHub refuses comments over 65,536 characters; stay well below.
pub const MAX_CHARS: usize = 60_000;

/// A directory of the change that could not be planned, and why.
#[derive(Clone, Debug)]
pub struct Unplanned {
    /// The directory.
    pub directory: String,
    /// Why (unreachable, unreadable …), without personal data.
    pub reason: String,
}

/// How many warnings and skipped rows a review lists per directory.
const MAX_LISTED: usize = 50;

/// The review of `head` (the change) against `base`: per directory, the verdict of the
/// change's own plan (its status, the guard's figures against their limits, the plan id
/// and the approval to give when it is blocked), what the change does compared with the
/// base, its warnings and skipped rows, and each affected person with the reason of their
/// row. Also whether the change does anything at all.
pub fn review(base: &[Plan], head: &[Plan], unplanned: &[Unplanned], pii: &Pii) -> (String, bool) {
    let mut out = String::from("## hrsync: what this change does\n\n");
    let mut differs = !unplanned.is_empty();
    let ids: BTreeSet<&str> = base
        .iter()
        .chain(head)
        .map(|p| p.directory.as_str())
        .chain(unplanned.iter().map(|u| u.directory.as_str()))
        .collect();
    writeln!(out, "| directory | with this change | on the base | what the change does |").ok();
    writeln!(out, "|---|---|---|---|").ok();
    let mut sections = Vec::new();
    for id in &ids {
        let b = base.iter().find(|p| p.directory.as_str() == *id);
        let h = head.iter().find(|p| p.directory.as_str() == *id);
        let failed = unplanned.iter().find(|u| u.directory == *id);
        let verdict = match (h, failed) {
            (Some(h), _) => status(h),
            (None, Some(_)) => "**failed** (cannot be planned)".to_owned(),
            (None, None) => "removed".to_owned(),
        };
        let on_base = b.map(status).unwrap_or_else(|| "—".to_owned());
        let (effect, delta) = match (b, h) {
            (None, Some(h)) => {
                let s = &h.summary;
                let text = format!(
                    "a new directory: creates {}, updates {}, disables {}, deletes {}",
                    s.create, s.update, s.disable, s.delete
                );
                (text, None)
            }
            (Some(_), None) if failed.is_none() => {
                ("removed: hrsync stops managing it and leaves its entries as they are".to_owned(), None)
            }
            (Some(b), Some(h)) => {
                let delta = compare(b, h);
                if delta.is_empty() {
                    ("no effect: the plan is the same as on the base".to_owned(), None)
                } else {
                    (delta.sentence(), Some(delta))
                }
            }
            _ => ("—".to_owned(), None),
        };
        differs |= delta.is_some() || b.is_none() != h.is_none();
        writeln!(out, "| {} | {verdict} | {on_base} | {effect} |", code(id)).ok();
        let noteworthy = h.is_some_and(|h| {
            matches!(h.status, PlanStatus::Blocked | PlanStatus::Failed) || has_warnings_or_skips(h)
        });
        if failed.is_some() || delta.is_some() || noteworthy {
            sections.push((*id, b, h, failed, delta));
        }
    }
    writeln!(out).ok();
    // Room kept for the line that says how many people were left out.
    let budget = MAX_CHARS - 400;
    for (id, b, h, failed, delta) in sections {
        if out.len() > budget {
            writeln!(out, "\n{}: not detailed, to keep this comment short.", code(id)).ok();
            continue;
        }
        writeln!(out, "### {}\n", code(id)).ok();
        if let Some(f) = failed {
            writeln!(
                out,
                "> [!CAUTION]\n> **This directory cannot be planned with this change**: {}\n",
                prose(&f.reason)
            )
            .ok();
        }
        let Some(h) = h else { continue };
        verdict(&mut out, h);
        let rh = redact(h, pii);
        listed(&mut out, &rh);
        let (Some(delta), Some(b)) = (delta, b) else { continue };
        let rb = redact(b, pii);
        group_table(&mut out, &delta.groups, &rb, &rh, budget);
        let total = delta.people.len();
        if total == 0 {
            continue;
        }
        writeln!(
            out,
            "<details><summary>{} this change affects, with the reason of each row</summary>\n",
            capitalized(&people(total))
        )
        .ok();
        writeln!(out, "| Person | On the base | With this change | Why |\n|---|---|---|---|").ok();
        for (n, person) in delta.people.iter().enumerate() {
            let row = person.head.map(|i| &rh.rows[i]).or(person.base.map(|i| &rb.rows[i]));
            let Some(row) = row else { continue };
            let side = |plan: &Plan, i: Option<usize>| -> String {
                let Some(row) = i.map(|i| &plan.rows[i]) else { return "nothing to do".to_owned() };
                let mut text = row.action.as_str().to_owned();
                for attr in &person.attributes {
                    let after = changes(row).get(attr.as_str()).copied();
                    let shown = match after {
                        Some(Some(p)) => planned(p),
                        Some(None) => "(removed)".to_owned(),
                        None => "(unchanged)".to_owned(),
                    };
                    write!(text, "<br>{}: {shown}", code(attr)).ok();
                }
                text
            };
            let why = row.reasons.iter().map(|r| prose(r)).collect::<Vec<_>>().join("; ");
            let line = format!(
                "| {} | {} | {} | {why} |\n",
                subject(row),
                side(&rb, person.base),
                side(&rh, person.head)
            );
            if out.len() + line.len() > budget {
                let more = if total - n == 1 {
                    "1 more person".to_owned()
                } else {
                    format!("{} more people", total - n)
                };
                writeln!(out, "\n… and {more}, not listed to keep this comment short.").ok();
                break;
            }
            out.push_str(&line);
        }
        writeln!(out, "\n</details>\n").ok();
    }
    (out, differs)
}

/// The review of a change whose config is not valid: its diagnostics, each with file
/// and line, as the validation printed them.
pub fn invalid(revision: &str, diagnostics: &str) -> String {
    let mut out = String::from("## hrsync: this change cannot be planned\n\n");
    writeln!(
        out,
        "> [!CAUTION]\n> The config at {} is not valid; fix these and push again:\n",
        code(revision)
    )
    .ok();
    let text: String = diagnostics.chars().take(MAX_CHARS - 400).collect();
    writeln!(out, "```text\n{}\n```", text.replace("```", "` ` `").trim_end()).ok();
    out
}

/// A plan's status for the table, with its id.
fn status(p: &Plan) -> String {
    let word = match p.status {
        PlanStatus::NoChanges => "no changes",
        PlanStatus::Ready if p.approved => "ready (approved)",
        PlanStatus::Ready => "ready",
        PlanStatus::Blocked => "**blocked**",
        PlanStatus::Failed => "**failed**",
    };
    format!("{word} · plan {}", code(p.id.as_str()))
}

/// The verdict of the change's own plan: its figures against the limits, and what it
/// takes to apply a blocked one.
fn verdict(out: &mut String, h: &Plan) {
    let s = &h.safety;
    let pct = |n: usize| if s.managed == 0 { 0.0 } else { n as f64 * 100.0 / s.managed as f64 };
    writeln!(
        out,
        "With this change: {} · of {} managed entries, {} disabled or deleted ({:.1} %, limit {} %) and {} updated ({:.1} %, limit {} %).\n",
        status(h),
        s.managed,
        s.disables,
        pct(s.disables),
        s.max_disable_percent,
        s.updates,
        pct(s.updates),
        s.max_update_percent
    )
    .ok();
    if let Some(g) = &h.groups {
        let s = &g.summary;
        writeln!(
            out,
            "Groups: of {} owned, creates {}, changes {} ({} renamed; {} members added, {} removed), deletes {}, skips {}.\n",
            g.owned, s.create, s.update, s.rename, s.members_added, s.members_removed, s.delete, s.skip
        )
        .ok();
    }
    match h.status {
        PlanStatus::Blocked => {
            writeln!(
                out,
                "> [!WARNING]\n> **Blocked by the safety limits**: merged as it is, this plan is not applied."
            )
            .ok();
            for r in &h.blocked_by {
                writeln!(out, "> - {}", prose(r)).ok();
            }
            writeln!(
                out,
                ">\n> If these changes are intended, approve this exact plan in a reviewed commit: add `{}` to `approvals` in `hrsync.yaml`. An approval that survives new HR data and the next days is an allowance: `allowances: [{{ directory: {}, max_disables: {}, max_updates: {}, until: YYYY-MM-DD, reason: … }}]`.\n",
                h.id,
                h.directory,
                h.safety.disables,
                h.safety.updates
            )
            .ok();
        }
        PlanStatus::Failed => {
            writeln!(out, "> [!CAUTION]\n> **Nothing would be written to this directory:**").ok();
            for r in &h.blocked_by {
                writeln!(out, "> - {}", prose(r)).ok();
            }
            writeln!(out).ok();
        }
        PlanStatus::Ready if h.approved => {
            let by = h.approved_by.as_ref().map(|b| b.describe()).unwrap_or_else(|| "approved".to_owned());
            writeln!(out, "Beyond the safety limits, {}:", prose(&by)).ok();
            for r in &h.blocked_by {
                writeln!(out, "- {}", prose(r)).ok();
            }
            writeln!(out).ok();
        }
        _ => {}
    }
}

/// Whether a plan has warnings or skipped rows for a review to list.
fn has_warnings_or_skips(p: &Plan) -> bool {
    p.rows.iter().any(|r| !r.warnings.is_empty()) || p.sources.iter().any(|s| !s.skipped.is_empty())
}

/// The warnings and skipped rows of a (redacted) plan, a bounded number of each.
fn listed(out: &mut String, plan: &Plan) {
    let warned: Vec<&Row> = plan.rows.iter().filter(|r| !r.warnings.is_empty()).collect();
    if !warned.is_empty() {
        writeln!(out, "Warnings ({}):\n", warned.len()).ok();
        for row in warned.iter().take(MAX_LISTED) {
            for w in &row.warnings {
                writeln!(out, "- {}: {}", subject(row), prose(w)).ok();
            }
        }
        if warned.len() > MAX_LISTED {
            writeln!(
                out,
                "- … and {} more rows with warnings (the plan lists them all)",
                warned.len() - MAX_LISTED
            )
            .ok();
        }
        writeln!(out).ok();
    }
    let skipped: Vec<String> = plan
        .sources
        .iter()
        .flat_map(|src| src.skipped.iter().map(move |r| format!("`{}` {}", src.id, prose(&r.to_string()))))
        .collect();
    if !skipped.is_empty() {
        writeln!(
            out,
            "Skipped rows of the sources ({}), whose people are held as they are:\n",
            skipped.len()
        )
        .ok();
        for line in skipped.iter().take(MAX_LISTED) {
            writeln!(out, "- {line}").ok();
        }
        if skipped.len() > MAX_LISTED {
            writeln!(out, "- … and {} more (the job result lists them all)", skipped.len() - MAX_LISTED).ok();
        }
        writeln!(out).ok();
    }
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn people(n: usize) -> String {
    if n == 1 { "1 person".to_owned() } else { format!("{n} people") }
}

/// What a change does to one directory's plan.
#[derive(Debug, Default)]
struct Delta {
    /// Per action: how many more (positive) or fewer people get it.
    actions: BTreeMap<&'static str, (usize, usize)>,
    /// Per attribute: for how many people the planned value differs.
    attributes: BTreeMap<String, usize>,
    people: Vec<PersonDelta>,
    /// Groups whose row differs: (base row, head row), by index into each plan's
    /// group rows.
    groups: Vec<(Option<usize>, Option<usize>)>,
}

#[derive(Debug)]
struct PersonDelta {
    base: Option<usize>,
    head: Option<usize>,
    attributes: Vec<String>,
}

impl Delta {
    fn is_empty(&self) -> bool {
        self.people.is_empty() && self.groups.is_empty()
    }

    fn sentence(&self) -> String {
        let mut parts = Vec::new();
        for (action, (more, fewer)) in &self.actions {
            let (verb, noun) = match *action {
                "create" => ("gives", "an account"),
                "disable" => ("disables the account of", ""),
                "delete" => ("deletes the account of", ""),
                _ => ("leaves out", ""),
            };
            if *more > 0 {
                parts.push(format!("{verb} {} {noun}", people(*more)).trim_end().to_owned());
            }
            if *fewer > 0 {
                parts.push(format!("no longer {verb} {} {noun}", people(*fewer)).trim_end().to_owned());
            }
        }
        let mut attrs: Vec<(&String, &usize)> = self.attributes.iter().collect();
        attrs.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (attr, n) in attrs {
            parts.push(format!("changes {} for {}", code(attr), people(*n)));
        }
        match self.groups.len() {
            0 => {}
            1 => parts.push("changes 1 group".to_owned()),
            n => parts.push(format!("changes {n} groups")),
        }
        match parts.len() {
            0 => "changes only the order or reasons of the plan".to_owned(),
            1 => parts.remove(0),
            _ => {
                let last = parts.pop().unwrap_or_default();
                format!("{} and {last}", parts.join(", "))
            }
        }
    }
}

fn key(row: &Row) -> String {
    match (&row.person, &row.entry) {
        (Some(p), _) => p.key.clone(),
        (None, Some(e)) => format!("entry:{e}"),
        (None, None) => String::new(),
    }
}

/// The planned value per attribute of a row that writes attributes.
fn changes(row: &Row) -> HashMap<&str, Option<&Planned>> {
    match row.action {
        Action::Create | Action::Update => {
            row.changes.iter().map(|c| (c.attribute.as_str(), c.after.as_ref())).collect()
        }
        _ => HashMap::new(),
    }
}

fn compare(base: &Plan, head: &Plan) -> Delta {
    let index = |plan: &Plan| -> BTreeMap<String, usize> {
        plan.rows.iter().enumerate().map(|(i, r)| (key(r), i)).collect()
    };
    let (bi, hi) = (index(base), index(head));
    let keys: BTreeSet<&String> = bi.keys().chain(hi.keys()).collect();
    let mut delta = Delta::default();
    for k in keys {
        let (b, h) = (bi.get(k).copied(), hi.get(k).copied());
        let (br, hr) = (b.map(|i| &base.rows[i]), h.map(|i| &head.rows[i]));
        let action = |r: Option<&Row>| r.map_or(Action::Noop, |r| r.action);
        let (ba, ha) = (action(br), action(hr));
        let (bc, hc) = (br.map(changes).unwrap_or_default(), hr.map(changes).unwrap_or_default());
        let mut attributes: Vec<String> = bc
            .keys()
            .chain(hc.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|a| bc.get(*a) != hc.get(*a))
            .map(|a| (*a).to_owned())
            .collect();
        attributes.dedup();
        let enabled_differs = br.and_then(|r| r.enabled) != hr.and_then(|r| r.enabled);
        if ba == ha && attributes.is_empty() && !enabled_differs {
            continue;
        }
        if ba != ha {
            for (a, more) in [(ha, true), (ba, false)] {
                let name = match a {
                    Action::Create => "create",
                    Action::Disable => "disable",
                    Action::Delete => "delete",
                    Action::Skip => "skip",
                    Action::Update | Action::Noop => continue,
                };
                let slot = delta.actions.entry(name).or_default();
                if more { slot.0 += 1 } else { slot.1 += 1 }
            }
        }
        // A new account's attributes are counted with the account, not as changes.
        if !(ba != ha && (ha == Action::Create || ba == Action::Create)) {
            for a in &attributes {
                *delta.attributes.entry(a.clone()).or_default() += 1;
            }
        }
        delta.people.push(PersonDelta { base: b, head: h, attributes });
    }
    delta.groups = compare_groups(base, head);
    delta
}

/// The group rows that differ between `base` and `head`, by group key: another action,
/// name, or members added or removed.
fn compare_groups(base: &Plan, head: &Plan) -> Vec<(Option<usize>, Option<usize>)> {
    let rows = |p: &Plan| -> BTreeMap<String, usize> {
        p.groups.iter().flat_map(|g| g.rows.iter().enumerate().map(|(i, r)| (r.key.clone(), i))).collect()
    };
    let (bi, hi) = (rows(base), rows(head));
    let same = |a: Option<&GroupRow>, b: Option<&GroupRow>| match (a, b) {
        (Some(a), Some(b)) => {
            a.action == b.action
                && a.name == b.name
                && a.add == b.add
                && a.remove == b.remove
                && a.follow == b.follow
        }
        (None, None) => true,
        (Some(r), None) | (None, Some(r)) => !r.action.writes() && r.action != GroupAction::Skip,
    };
    bi.keys()
        .chain(hi.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|k| (bi.get(k).copied(), hi.get(k).copied()))
        .filter(|(b, h)| !same(group_row(base, *b), group_row(head, *h)))
        .collect()
}

/// Group row `i` of `p`.
fn group_row(p: &Plan, i: Option<usize>) -> Option<&GroupRow> {
    i.and_then(|i| p.groups.as_ref()?.rows.get(i))
}

/// A group row in a few words: its action, rename and member counts.
fn group_side(row: Option<&GroupRow>) -> String {
    let Some(r) = row else { return "nothing to do".to_owned() };
    let mut text = r.action.as_str().to_owned();
    if let Some(before) = &r.renamed_from {
        write!(text, "<br>renamed from {}", code(before)).ok();
    }
    let who = |ms: &[Member]| -> String {
        let mut names: Vec<String> = ms
            .iter()
            .take(MAX_LISTED)
            .map(|m| {
                m.group.as_deref().or(m.person.as_deref()).or(m.id.as_deref()).map(code).unwrap_or_default()
            })
            .collect();
        if ms.len() > MAX_LISTED {
            names.push(format!("… {} more", ms.len() - MAX_LISTED));
        }
        names.join(", ")
    };
    if !r.add.is_empty() {
        write!(text, "<br>+{}: {}", r.add.len(), who(&r.add)).ok();
    }
    if !r.remove.is_empty() {
        write!(text, "<br>−{}: {}", r.remove.len(), who(&r.remove)).ok();
    }
    text
}

/// The groups a change affects, as a table of the (redacted) plans.
fn group_table(
    out: &mut String,
    groups: &[(Option<usize>, Option<usize>)],
    rb: &Plan,
    rh: &Plan,
    budget: usize,
) {
    if groups.is_empty() {
        return;
    }
    let n = groups.len();
    writeln!(
        out,
        "<details><summary>{} this change affects, with the reason of each</summary>\n",
        if n == 1 { "1 group".to_owned() } else { format!("{n} groups") }
    )
    .ok();
    writeln!(out, "| Group | On the base | With this change | Why |\n|---|---|---|---|").ok();
    for (k, (b, h)) in groups.iter().enumerate() {
        let (br, hr) = (group_row(rb, *b), group_row(rh, *h));
        let Some(any) = hr.or(br) else { continue };
        let why = any.reasons.iter().map(|r| prose(r)).collect::<Vec<_>>().join("; ");
        let line =
            format!("| group {} | {} | {} | {why} |\n", code(&any.name), group_side(br), group_side(hr));
        if out.len() + line.len() > budget {
            writeln!(out, "\n… and {} more groups, not listed to keep this comment short.", n - k).ok();
            break;
        }
        out.push_str(&line);
    }
    writeln!(out, "\n</details>\n").ok();
}
