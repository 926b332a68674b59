//! Plan-only review of a change to the config: the plans of the changed revision set
//! against the plans of its base, both computed against the same live directories at
//! the same time, told as what the change itself does ("gives 12 people an account,
//! changes `mail` for 340 people"), in Markdown that fits a pull request comment.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use super::markdown::{code, planned, subject};
use crate::plan::pii::{Pii, redact};
use crate::plan::{Action, Plan, Planned, Row};

/// GitHub refuses comments over 65,536 characters; stay well below.
pub const MAX_CHARS: usize = 60_000;

/// The review of `head` (the change) against `base`, and whether the change does
/// anything at all.
pub fn review(base: &[Plan], head: &[Plan], pii: &Pii) -> (String, bool) {
    let mut out = String::from("## hrsync: what this change does\n\n");
    let mut differs = false;
    let ids: BTreeSet<&str> = base.iter().chain(head).map(|p| p.directory.as_str()).collect();
    let mut details = Vec::new();
    for id in ids {
        let b = base.iter().find(|p| p.directory.as_str() == id);
        let h = head.iter().find(|p| p.directory.as_str() == id);
        match (b, h) {
            (None, Some(h)) => {
                differs = true;
                let s = &h.summary;
                writeln!(
                    out,
                    "- {}: a new directory; its first plan creates {}, updates {}, disables {}, deletes {}.",
                    code(id),
                    s.create,
                    s.update,
                    s.disable,
                    s.delete
                )
                .ok();
            }
            (Some(_), None) => {
                differs = true;
                writeln!(
                    out,
                    "- {}: removed; hrsync stops managing it and leaves its entries as they are.",
                    code(id)
                )
                .ok();
            }
            (Some(b), Some(h)) => {
                let delta = compare(b, h);
                if delta.is_empty() {
                    writeln!(out, "- {}: no effect; the plan is the same as on the base.", code(id)).ok();
                } else {
                    differs = true;
                    writeln!(out, "- {}: this change {}.", code(id), delta.sentence()).ok();
                    details.push((id, b, h, delta));
                }
            }
            (None, None) => {}
        }
    }
    // Room kept for the line that says how many people were left out.
    let budget = MAX_CHARS - 200;
    for (id, b, h, delta) in details {
        let total = delta.people.len();
        let header =
            format!("\n### {}\n\n| Person | On the base | With this change |\n|---|---|---|\n", code(id));
        if out.len() + header.len() > budget {
            writeln!(
                out,
                "\n{}: the {} are not listed, to keep this comment short.",
                code(id),
                people(total)
            )
            .ok();
            continue;
        }
        out.push_str(&header);
        let (rb, rh) = (redact(b, pii), redact(h, pii));
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
            let line =
                format!("| {} | {} | {} |\n", subject(row), side(&rb, person.base), side(&rh, person.head));
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
    }
    (out, differs)
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
}

#[derive(Debug)]
struct PersonDelta {
    base: Option<usize>,
    head: Option<usize>,
    attributes: Vec<String>,
}

impl Delta {
    fn is_empty(&self) -> bool {
        self.people.is_empty()
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
    delta
}
