//! The checks that state facts: where the person's records are, the values each gave,
//! the filters, the overrides, the dates, the match, the fields and the last apply.

use super::*;

/// A value of `field` under the policy: identifiers keep their ends, other personal
/// values their first letters, the rest as they are.
pub(super) fn shown(pii: &Pii, field: &crate::model::FieldRef, v: &str) -> String {
    use crate::model::FieldRef;
    match field {
        FieldRef::Person(PersonField::Id | PersonField::EmployeeNumber | PersonField::Manager) => pii.id(v),
        f if f.is_personal() => pii.value(v),
        _ => v.to_owned(),
    }
}

/// Where the person's records are.
pub(super) fn sources_step(facts: &Facts<'_>, records: &[(&RecordRef, Option<&Person>)]) -> Step {
    let pii = facts.pii;
    let mut found = Vec::new();
    let mut facts_out = Vec::new();
    for &(r, record) in records {
        let run = facts.gathered.sources.iter().find(|s| s.id == r.source);
        let place = record.map_or_else(|| "(no location)".into(), |x| x.location.to_string());
        found.push(format!("`{}` record {} at {place} (priority {})", r.source, pii.id(&r.id), r.priority));
        if let Some(run) = run {
            match &run.outcome {
                SourceOutcome::Read => {}
                SourceOutcome::Failed(why) | SourceOutcome::Shrunk(why) | SourceOutcome::Skipped(why) => {
                    facts_out.push(format!(
                        "`{}` was not read healthily this time ({}): its last good read stands in",
                        r.source,
                        pii.message(why, None)
                    ))
                }
                SourceOutcome::NotSelected if facts.offline => {
                    facts_out.push(format!("`{}`: its last good read (--offline)", r.source))
                }
                SourceOutcome::NotSelected | SourceOutcome::Disabled => {}
            }
        }
    }
    let text = format!("found in {}", found.join(" and "));
    let mark = if facts_out.is_empty() { Mark::Ok } else { Mark::Note };
    Step { check: Check::Sources, directory: None, verdict: mark, text, facts: facts_out }
}

/// Where record `r` was read (file and line, or the API's item).
/// The source records merged into `p`, each with the record itself when its source's
/// records hold it: one pass over each of those sources' records.
pub(super) fn records_of<'f>(
    facts: &'f Facts<'_>,
    p: &'f MergedPerson,
) -> Vec<(&'f RecordRef, Option<&'f Person>)> {
    let mut found: std::collections::HashMap<(&str, &str), &Person> = std::collections::HashMap::new();
    let wanted: std::collections::HashSet<(&str, &str)> =
        p.records.iter().map(|r| (r.source.as_str(), r.id.as_str())).collect();
    for s in facts.gathered.sources.iter().filter(|s| p.records.iter().any(|r| r.source == s.id)) {
        for x in s.records.iter().flat_map(|r| &r.people) {
            if wanted.contains(&(s.id.as_str(), x.id.as_str())) {
                found.entry((s.id.as_str(), x.id.as_str())).or_insert(x.as_ref());
            }
        }
    }
    p.records.iter().map(|r| (r, found.get(&(r.source.as_str(), r.id.as_str())).copied())).collect()
}

/// The values each source gave for the fields, and which one won.
pub(super) fn values_step(
    facts: &Facts<'_>,
    p: &MergedPerson,
    records: &[(&RecordRef, Option<&Person>)],
) -> Step {
    let pii = facts.pii;
    let records: Vec<(&RecordRef, &Person)> = records.iter().filter_map(|(r, x)| Some((*r, (*x)?))).collect();
    let show = |field: PersonField, v: &str| shown(pii, &crate::model::FieldRef::Person(field), v);
    let mut lines = Vec::new();
    let mut differ = 0;
    for &field in PersonField::ALL.iter().filter(|f| **f != PersonField::Id) {
        let text_of = |x: &Person| {
            x.get(field).map(|v| {
                let mut s = String::new();
                v.write_to(&mut s);
                s
            })
        };
        let given: Vec<(&crate::transform::merge::RecordRef, String)> =
            records.iter().filter_map(|(r, x)| Some((*r, text_of(x)?))).collect();
        let Some(won) = text_of(&p.person) else {
            if !given.is_empty() {
                lines.push(format!("{field}: no value kept"));
            }
            continue;
        };
        let owner = p.owner(field);
        let mut line = format!("{field}: {} from `{owner}`", show(field, &won));
        let others: Vec<String> = given
            .iter()
            .filter(|(_, v)| *v != won)
            .map(|(r, v)| {
                let place = records
                    .iter()
                    .find(|(x, _)| x == r)
                    .map(|(_, x)| format!(" at {}", x.location))
                    .unwrap_or_default();
                format!("`{}`{place} gave {} (priority {})", r.source, show(field, v), r.priority)
            })
            .collect();
        if !others.is_empty() {
            differ += 1;
            let _ = write!(line, "; {}", others.join(", "));
        }
        lines.push(line);
    }
    // Custom attributes, as the merged person holds them (personal: masked as values).
    for (name, value) in &p.person.custom {
        lines.push(format!("custom.{name}: {}", pii.value(value)));
    }
    let text = match (records.len(), differ) {
        (0 | 1, _) => "one record: its values are the person's".to_owned(),
        (n, 0) => format!("{n} records agree on every field they give"),
        (n, d) => format!("{n} records differ on {d} field(s): the higher priority wins each"),
    };
    Step { check: Check::Values, directory: None, verdict: Mark::Ok, text, facts: lines }
}

/// The sources' filters' decision.
pub(super) fn filter_step(facts: &Facts<'_>, p: &MergedPerson) -> Step {
    let (mark, text) = match &p.decision {
        Decision::Included => (Mark::Ok, "included by the source filters".to_owned()),
        excluded => (Mark::Stop, excluded.to_string()),
    };
    let mut more = Vec::new();
    for d in &facts.directories {
        if !p.decision.is_included() || d.config.filters.is_empty() {
            continue;
        }
        match decision_in(facts, d.config, p) {
            Decision::Included => more.push(format!("`{}`: included by its filters", d.config.id)),
            excluded => more.push(format!("`{}`: {excluded}", d.config.id)),
        }
    }
    Step { check: Check::Filter, directory: None, verdict: mark, text, facts: more }
}

/// Whether `p` is in `d`'s scope: the sources' filters' decision, then the directory's.
pub(super) fn decision_in(facts: &Facts<'_>, d: &DirectoryConfig, p: &MergedPerson) -> Decision {
    match &p.decision {
        Decision::Included => filter::decide(d.filters.iter().filter_map(|f| facts.config.filters.get(f)), p),
        excluded => excluded.clone(),
    }
}

/// What HR gives for a field made from templates (not a `unique` one, picked at
/// creation, nor the manager reference).
pub(super) fn hr_value(f: &crate::config::Field, p: &MergedPerson) -> Option<String> {
    match &f.source {
        FieldSource::Templates { candidates, unique: false } => {
            map::first_value(candidates, p).map(|(v, _)| v)
        }
        _ => None,
    }
}

/// Overrides naming the person.
pub(super) fn overrides_step(facts: &Facts<'_>, p: &MergedPerson) -> Step {
    let today = facts.now.to_zoned(facts.config.workspace.timezone.clone()).date();
    let named: Vec<String> =
        crate::plan::overrides_naming(&facts.config.overrides, p, today).map(|o| o.describe()).collect();
    let hides = crate::plan::overrides_naming(&facts.config.overrides, p, today)
        .any(|o| matches!(o.kind, OverrideKind::Hide { .. } | OverrideKind::KeepDisabled));
    match named.len() {
        0 => Step {
            check: Check::Overrides,
            directory: None,
            verdict: Mark::Ok,
            text: "no override in overrides.yaml names them".into(),
            facts: Vec::new(),
        },
        _ => Step {
            check: Check::Overrides,
            directory: None,
            verdict: if hides { Mark::Stop } else { Mark::Note },
            text: named[0].clone(),
            facts: named[1..].to_vec(),
        },
    }
}

/// The dates, in the zone the plan reads them in.
pub(super) fn dates_step(p: &MergedPerson, today: jiff::civil::Date, zone: &str, zone_by: &str) -> Step {
    let person = &p.person;
    let mut lines = vec![format!("today is {today} in {zone} (the zone {zone_by})")];
    match person.start_date {
        Some(start) if start > today => {
            lines.push(format!("starts {start}, in {} days", (start - today).get_days()))
        }
        Some(start) => lines.push(format!("started {start}")),
        None => lines.push("no start date".into()),
    }
    if let Some(end) = person.end_date {
        if end < today {
            lines.push(format!("end date {end}: has left"));
        } else {
            lines.push(format!("end date {end}: leaves after that day"));
        }
    }
    if let Some(status) = person.employment_status {
        lines.push(format!("employment status {}", status.as_str()));
    }
    Step { check: Check::Dates, directory: None, verdict: Mark::Ok, text: lines.remove(0), facts: lines }
}

/// The match step: which key found which entry, or why none or several.
pub(super) fn match_step(facts: &Facts<'_>, d: &DirectoryFacts<'_>, p: &MergedPerson, row: &Row) -> Step {
    let pii = facts.pii;
    let reason = row
        .reasons
        .iter()
        .find(|r| {
            r.starts_with("matched by")
                || r.starts_with("no entry matched")
                || r.starts_with("ambiguous")
                || r.starts_with("owned by another")
        })
        .map(|r| r.to_string())
        .unwrap_or_else(|| "not matched".into());
    let mut lines = Vec::new();
    for rule in &d.config.match_rules {
        let value = p.get(&rule.person).map(|v| v.to_text());
        lines.push(match value {
            Some(v) => format!("{} → {}: {}", rule.person, rule.attribute, shown(pii, &rule.person, &v)),
            None => format!("{} → {}: no value", rule.person, rule.attribute),
        });
    }
    let (mark, text) = match &row.entry {
        Some(e) if reason.starts_with("matched by") => {
            (Mark::Ok, format!("{reason}: entry {}", pii.entry(e)))
        }
        Some(e) => (Mark::Ok, format!("entry {}: {reason}", pii.entry(e))),
        None if reason.starts_with("ambiguous") || reason.starts_with("owned") => (Mark::Stop, reason),
        None => (Mark::Note, reason),
    };
    Step { check: Check::Match, directory: Some(d.config.id.clone()), verdict: mark, text, facts: lines }
}

/// Each mapped field, before and after, with its mode.
pub(super) fn fields_step(
    facts: &Facts<'_>,
    d: &DirectoryFacts<'_>,
    p: &MergedPerson,
    row: &Row,
    entry: Option<&Entry>,
) -> Step {
    let pii = facts.pii;
    let show = |personal: bool, v: &str| if personal { pii.value(v) } else { v.to_owned() };
    let show_value = |personal: bool, v: &crate::model::Value| {
        v.values().iter().map(|x| show(personal, x)).collect::<Vec<_>>().join(", ")
    };
    let mut lines = Vec::new();
    for f in &d.config.fields {
        let mode = match f.mode {
            FieldMode::Continuous => "continuous",
            FieldMode::ImportOnce => "import-once",
            FieldMode::Ignore => "ignored",
        };
        if f.mode == FieldMode::Ignore {
            lines.push(format!("{} ({mode}): never written", f.attribute));
            continue;
        }
        let before = entry.and_then(|e| e.attributes.get(&f.attribute));
        let change = row.changes.iter().find(|c| c.attribute == f.attribute);
        let planned = |c: &crate::plan::Change| match &c.after {
            Some(Planned::Value(v)) => show_value(f.personal, v),
            Some(Planned::EntryOf { entry_of }) => format!("the new entry of `{}`", pii.key(entry_of)),
            None => "(removed)".into(),
        };
        let line = match (change, entry) {
            (Some(c), None) => format!("{} ({mode}): {}", f.attribute, planned(c)),
            (Some(c), Some(_)) => format!(
                "{} ({mode}): {} → {}",
                f.attribute,
                c.before.as_ref().map_or_else(|| "(none)".to_owned(), |v| show_value(f.personal, v)),
                planned(c)
            ),
            (None, None) => format!("{} ({mode}): no value", f.attribute),
            (None, Some(_)) => {
                let held = before.map_or_else(|| "(none)".to_owned(), |v| show_value(f.personal, v));
                match (f.mode, hr_value(f, p)) {
                    (FieldMode::ImportOnce, Some(hr)) if !same_text(f.compare, Some(&hr), before) => {
                        format!(
                            "{} ({mode}): the entry keeps {held}; HR says {}: HR changes are not applied after creation",
                            f.attribute,
                            show(f.personal, &hr)
                        )
                    }
                    (FieldMode::ImportOnce, _) => {
                        format!("{} ({mode}): {held}, set at creation", f.attribute)
                    }
                    _ => format!("{} ({mode}): {held}, in step", f.attribute),
                }
            }
        };
        lines.push(line);
    }
    let changed = row.changes.len();
    let text = match (row.action, entry) {
        (Action::Create, _) => format!("{changed} attribute(s) of the new entry"),
        (_, None) => "no entry".into(),
        (_, Some(_)) if changed == 0 => "every mapped field is in step (or import-once)".into(),
        (_, Some(_)) => format!("{changed} attribute(s) differ from HR"),
    };
    Step { check: Check::Fields, directory: Some(d.config.id.clone()), verdict: Mark::Ok, text, facts: lines }
}

/// The last apply of the directory, and the person's failure in it if they had one.
pub(super) fn last_apply_step(
    facts: &Facts<'_>,
    d: &DirectoryFacts<'_>,
    p: &MergedPerson,
) -> Option<(Step, Option<String>)> {
    let id = &d.config.id;
    let pii = facts.pii;
    let state = facts.state.directories.get(id);
    let last = facts.last.directories.get(id);
    let mut lines = Vec::new();
    if let Some(err) = state.and_then(|s| s.last_error.as_deref()) {
        lines.push(format!("the last run of `{id}` failed: {}", pii.message(err, None)));
    }
    let at = state.and_then(|s| s.last_applied_at);
    let (mark, text, failed) = match (last, at) {
        (Some(last), _) => match last.of_person(&p.key) {
            Some(item) => {
                let (what, why) = match &item.status {
                    crate::apply::ItemStatus::Failed(why) => {
                        ("failed", Some(pii.message(why, item.entry.as_deref())))
                    }
                    crate::apply::ItemStatus::NotAttempted(why) => {
                        ("was not attempted", Some(pii.message(why, item.entry.as_deref())))
                    }
                    crate::apply::ItemStatus::Done => ("worked", None),
                };
                for w in &item.warnings {
                    lines.push(format!("warning: {}", pii.message(w, item.entry.as_deref())));
                }
                let text = format!(
                    "their {} {what} in the apply of {} (plan {}){}",
                    item.action.as_str(),
                    last.at,
                    last.plan,
                    why.as_ref().map(|w| format!(": {w}")).unwrap_or_default()
                );
                (if why.is_some() { Mark::Stop } else { Mark::Note }, text, why)
            }
            None => (
                Mark::Ok,
                format!("the apply of {} (plan {}) did not fail for them", last.at, last.plan),
                None,
            ),
        },
        (None, Some(at)) => {
            (Mark::Ok, format!("last applied {at}; no outcome of it is recorded per person"), None)
        }
        (None, None) => (Mark::Note, format!("nothing was applied to `{id}` yet"), None),
    };
    Some((
        Step { check: Check::LastApply, directory: Some(id.clone()), verdict: mark, text, facts: lines },
        failed,
    ))
}

/// The person's name as people read it.
pub(super) fn display_name(p: &Person) -> Option<String> {
    let first = p.preferred_name.as_ref().or(p.first_name.as_ref());
    match (first, &p.last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(n), None) | (None, Some(n)) => Some(n.clone()),
        (None, None) => p.display_name.clone(),
    }
}
