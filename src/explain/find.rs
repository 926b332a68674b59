//! Who a query names: people through their source records (key, record id, employee
//! number, work e-mail), the person of a planned entry by its id or DN, skipped rows by
//! what could be read of them, and entries no person matches by id, DN or a match
//! attribute's value.

use super::*;

/// A DN or id as compared: case aside, without spaces around its commas.
pub(super) fn dn(id: &str) -> String {
    id.split(',').map(str::trim).collect::<Vec<_>>().join(",").to_lowercase()
}

/// The entries no person matches that `query` names: by id or DN, or by the value of a
/// match attribute (the employee number, the e-mail of someone gone from HR).
pub(super) fn entries_naming(facts: &Facts<'_>, query: &str) -> Vec<EntryAnswer> {
    let wanted = dn(query);
    let mut out = Vec::new();
    for d in &facts.directories {
        let DirectoryRead::Planned { plan, live } = d.read else { continue };
        for row in plan.rows.iter().filter(|r| r.person.is_none()) {
            let Some(entry) = row.entry.as_deref().and_then(|e| live.iter().find(|x| x.id == e)) else {
                continue;
            };
            let by_value = d.config.match_rules.iter().any(|rule| {
                entry
                    .attributes
                    .get(&rule.attribute)
                    .is_some_and(|v| v.values().iter().any(|x| x.trim().eq_ignore_ascii_case(query)))
            });
            if dn(&entry.id) == wanted || by_value {
                out.push(entry_answer(facts, d, plan, row, entry));
            }
        }
    }
    out
}

/// Whether a record of `p` is named by `q`.
pub(super) fn names(p: &Person, q: &str) -> bool {
    let same = |v: &Option<String>| v.as_deref().is_some_and(|v| v.trim().eq_ignore_ascii_case(q));
    let key = q.split_once(':').is_some_and(|(source, id)| source == p.source.as_str() && id == p.id);
    p.id == q || key || same(&p.employee_number) || same(&p.work_email)
}

/// The people of the population `query` names through the sources: by key, record id,
/// employee number or work e-mail of any of their records; by index, in key order.
pub fn people_named(gathered: &Gathered, query: &str) -> Vec<usize> {
    let query = query.trim();
    // A record of any source may name them (the merged person holds one value per field).
    let mut named: std::collections::HashSet<(&str, &str)> = std::collections::HashSet::new();
    for s in &gathered.sources {
        for r in s.records.iter().flat_map(|r| &r.people) {
            if names(r, query) {
                named.insert((s.id.as_str(), r.id.as_str()));
            }
        }
    }
    let hit = |p: &MergedPerson| {
        p.key == query
            || names(&p.person, query)
            || p.records.iter().any(|r| named.contains(&(r.source.as_str(), r.id.as_str())))
    };
    gathered.population.people.iter().enumerate().filter(|(_, p)| hit(p)).map(|(i, _)| i).collect()
}

/// The people `query` names: through the sources ([`people_named`]), or as the person
/// of a planned entry whose id or DN it is.
pub(super) fn find(facts: &Facts<'_>, query: &str) -> Vec<usize> {
    let mut out = people_named(facts.gathered, query);
    let wanted_entry = dn(query);
    let mut by_entry: std::collections::HashSet<&str> = std::collections::HashSet::new();
    for d in &facts.directories {
        if let DirectoryRead::Planned { plan, .. } = d.read {
            for row in &plan.rows {
                if let (Some(entry), Some(person)) = (&row.entry, &row.person)
                    && dn(entry) == wanted_entry
                {
                    by_entry.insert(person.key.as_str());
                }
            }
        }
    }
    if !by_entry.is_empty() {
        let found: std::collections::HashSet<usize> = out.iter().copied().collect();
        for (i, p) in facts.gathered.population.people.iter().enumerate() {
            if by_entry.contains(p.key.as_str()) && !found.contains(&i) {
                out.push(i);
            }
        }
        out.sort_unstable();
    }
    out
}

/// Skipped rows whose readable part names `query`: this read's, and those of a last
/// good read standing in for a source.
pub(super) fn skipped_naming(facts: &Facts<'_>, query: &str) -> Vec<SkippedRecord> {
    let mut out = Vec::new();
    for s in &facts.gathered.sources {
        for r in s.skipped_in_plan() {
            if r.partial.as_deref().is_some_and(|p| names(p, query)) {
                out.push(r);
            }
        }
    }
    out
}

/// The record a skipped row is of, as a person key: `` of `germany:10103` ``.
pub(super) fn record_of(r: &SkippedRecord, pii: &Pii) -> String {
    r.partial
        .as_deref()
        .filter(|p| !p.id.is_empty())
        .map(|p| format!("of `{}`", pii.key(&format!("{}:{}", p.source, p.id))))
        .unwrap_or_default()
}

/// A skipped row in words.
pub(super) fn describe_skipped(r: &SkippedRecord, pii: &Pii) -> String {
    let who = r
        .partial
        .as_deref()
        .filter(|p| !p.id.is_empty())
        .map(|p| format!(" (record `{}`)", pii.key(&format!("{}:{}", p.source, p.id))))
        .unwrap_or_default();
    format!("{}{who}: skipped, {}", r.location, r.reason)
}

/// The directories whose plan holds an entry for the skipped row `r`.
pub(super) fn held_rows(facts: &Facts<'_>, r: &SkippedRecord) -> Vec<String> {
    let marker = format!("at {} was skipped", r.location);
    facts
        .directories
        .iter()
        .filter(|d| match d.read {
            DirectoryRead::Planned { plan, .. } => {
                plan.rows.iter().any(|row| row.reasons.iter().any(|x| x.contains(&marker)))
            }
            _ => false,
        })
        .map(|d| format!("`{}`", d.config.id))
        .collect()
}

/// The sources, for "no record of … has it".
pub(super) fn source_list(facts: &Facts<'_>) -> String {
    let ids: Vec<String> = facts.gathered.sources.iter().map(|s| format!("`{}`", s.id)).collect();
    if ids.is_empty() { "any source".into() } else { ids.join(", ") }
}
