//! `hrsync explain`: the answer to "why does this person (not) have an account", from the
//! facts a run already has — the source records, the skipped rows, the merge, the filter
//! decisions, the overrides, the dates, each directory's plan row and live entry, and the
//! last apply — in the order a support engineer checks them, with a one-line answer on
//! top.
//!
//! [`answer`] reads the sources and directories as `plan` does, through [`crate::run`],
//! and hands everything in as [`Facts`]; the answer itself ([`explain`]) is pure: it
//! reads, writes and looks at the clock for nothing. Personal values go through the
//! [`Pii`] policy the caller chose; reasons, rules and dates are written as plans write
//! them.

mod live;
mod render;

use std::fmt::Write as _;

use jiff::Timestamp;
use serde::Serialize;

use crate::config::{Config, DirectoryConfig, FieldMode, FieldSource, Mode, OverrideKind};
use crate::directory::Entry;
use crate::model::filter::{self, Decision};
use crate::model::template::Vars as _;
use crate::model::{DirectoryId, Person, PersonField, SkippedRecord, same_text};
use crate::plan::pii::Pii;
use crate::plan::{Action, Plan, PlanStatus, Planned, Row};
use crate::run::outcomes::LastApplies;
use crate::run::{Gathered, SourceOutcome};
use crate::state::RunState;
use crate::transform::map;
use crate::transform::merge::{MergedPerson, RecordRef};

pub use live::answer;
pub use render::text;

/// What `explain` answers from.
pub struct Facts<'a> {
    /// The config.
    pub config: &'a Config,
    /// The sources' records, merged.
    pub gathered: &'a Gathered,
    /// Each directory asked about, in config order.
    pub directories: Vec<DirectoryFacts<'a>>,
    /// The run state.
    pub state: &'a RunState,
    /// The last apply of each directory.
    pub last: &'a LastApplies,
    /// The time the answer is for.
    pub now: Timestamp,
    /// How personal values are shown.
    pub pii: &'a Pii,
    /// Whether the sources are the last good reads and the directories were not read.
    pub offline: bool,
}

/// One directory's part of the facts.
pub struct DirectoryFacts<'a> {
    /// Its config.
    pub config: &'a DirectoryConfig,
    /// What was read and planned.
    pub read: DirectoryRead<'a>,
}

/// What is known of a directory.
pub enum DirectoryRead<'a> {
    /// Read and planned, every row listed (`--unchanged`).
    Planned {
        /// The plan.
        plan: &'a Plan,
        /// The entries read.
        live: &'a [Entry],
    },
    /// Not read (`--offline`): its last plan as committed to the reports branch, with
    /// the time of that commit. Its values and keys are as the reports' policy left
    /// them, which `reports` is, and it lists no entry that was up to date.
    Committed {
        /// The plan read back.
        plan: &'a Plan,
        /// When the reports branch's tip was committed, in seconds.
        at: Option<i64>,
        /// The reports' personal data policy, to find the person's row by their key.
        reports: &'a Pii,
    },
    /// It could not be read or planned, for this reason.
    Failed(String),
    /// Not read: `--offline`.
    NotRead,
    /// Its mode is `off`.
    Off,
}

/// The answer about one query.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// What was asked (masked as a value under the policy).
    pub query: String,
    /// The answer in one line.
    pub answer: String,
    /// The kind of answer.
    pub verdict: Verdict,
    /// Whether the sources are the last good reads and the directories were not read.
    pub offline: bool,
    /// Each person the query names.
    pub people: Vec<PersonAnswer>,
    /// Skipped rows that name the query (with what could be read of them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_rows: Vec<String>,
    /// Entries the query names that no person of the sources matches (a leaver gone
    /// from every source), when it names no person.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<EntryAnswer>,
}

/// The answer about an entry no person matches.
#[derive(Clone, Debug, Serialize)]
pub struct EntryAnswer {
    /// Its directory.
    pub directory: DirectoryId,
    /// Its id or DN (masked under the policy).
    pub entry: String,
    /// The answer in one line.
    pub answer: String,
    /// The kind of answer.
    pub verdict: Verdict,
    /// The match, plan and last apply checks.
    pub steps: Vec<Step>,
}

/// The answer about one person.
#[derive(Clone, Debug, Serialize)]
pub struct PersonAnswer {
    /// Their key, `<source>:<record id>` of the first record.
    pub person: String,
    /// Their employee number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// Their name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The answer in one line.
    pub answer: String,
    /// The kind of answer.
    pub verdict: Verdict,
    /// Every check, in order.
    pub steps: Vec<Step>,
}

/// One check.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    /// What was checked.
    pub check: Check,
    /// The directory it is about, for the checks of one directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectoryId>,
    /// Whether it holds the person back.
    pub verdict: Mark,
    /// The fact, in words.
    pub text: String,
    /// The facts behind it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
}

/// The checks, in the order they are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Which sources hold the person, where.
    Sources,
    /// The values each source gave, and which won.
    Values,
    /// The filters' decision.
    Filter,
    /// Overrides that name the person.
    Overrides,
    /// Effective dates in the person's zone.
    Dates,
    /// The match to an entry.
    Match,
    /// The planned action.
    Plan,
    /// Each mapped field, before and after, with its mode.
    Fields,
    /// The last apply.
    LastApply,
}

impl Check {
    /// The check's title.
    pub fn title(self) -> &'static str {
        match self {
            Check::Sources => "Sources",
            Check::Values => "Values",
            Check::Filter => "Filter",
            Check::Overrides => "Overrides",
            Check::Dates => "Dates",
            Check::Match => "Match",
            Check::Plan => "Plan",
            Check::Fields => "Fields",
            Check::LastApply => "Last apply",
        }
    }
}

/// What a check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// Nothing holds the person back here.
    Ok,
    /// Worth knowing; not what decides.
    Note,
    /// This is what holds the person back (or changes them).
    Stop,
}

/// The kinds of answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No source holds anyone the query names.
    NotInAnySource,
    /// The person's row was skipped by the source.
    SkippedRow,
    /// Several people's records conflict.
    Ambiguous,
    /// A filter excludes the person.
    FilteredOut,
    /// An override hides the person.
    Hidden,
    /// An override keeps the person's entry disabled.
    KeptDisabled,
    /// A joiner whose entry is made on a later day.
    FutureJoiner,
    /// A pending joiner without a start date.
    PendingWithoutStartDate,
    /// A leaver who has no entry.
    LeftWithoutEntry,
    /// The entry will be created.
    Create,
    /// The entry will be updated.
    Update,
    /// The entry is as HR says.
    InSync,
    /// The entry will be disabled.
    Disable,
    /// The entry will be deleted.
    Delete,
    /// A leaver whose entry is disabled (or deleted) on a later day.
    LeaverWaiting,
    /// A leaver whose entry is disabled and stays so.
    LeaverDone,
    /// The entry is not hrsync's: it is left alone.
    NotManaged,
    /// The row is skipped for another reason.
    Skipped,
    /// The last apply failed for the person.
    FailedLastApply,
    /// The directory could not be planned (or was not read, or is off).
    NotPlanned,
    /// The query names several people.
    SeveralPeople,
}

/// The most people one answer explains.
const MAX_PEOPLE: usize = 20;

/// Answers `query` — a person key, a source record id, an employee number, a work e-mail
/// or a directory entry's id or DN — from `facts`.
pub fn explain(facts: &Facts<'_>, query: &str) -> Explanation {
    let query = query.trim();
    let people = find(facts, query);
    let skipped = skipped_naming(facts, query);
    let skipped_rows: Vec<String> = skipped.iter().map(|r| describe_skipped(r, facts.pii)).collect();
    // A query that names a crowd (one shared address of a whole team) is answered for
    // the first few, in key order; the first line gives the count.
    let answers: Vec<PersonAnswer> =
        people.iter().take(MAX_PEOPLE).map(|&i| person_answer(facts, i)).collect();
    let entries: Vec<EntryAnswer> =
        if answers.is_empty() { entries_naming(facts, query) } else { Vec::new() };
    // An e-mail or name is masked as a value, a key or number as an identifier.
    let shown = if query.contains('@') || query.contains(' ') {
        facts.pii.value(query)
    } else {
        facts.pii.key(query)
    };
    let (answer, verdict) = match answers.as_slice() {
        [] if !skipped.is_empty() => {
            let r = &skipped[0];
            let held = held_rows(facts, r);
            let tail = if held.is_empty() {
                "no entry is made or changed for it until the row can be read".to_owned()
            } else {
                format!("their entry is left as it is in {} until the row can be read", held.join(", "))
            };
            (
                format!(
                    "The HR row {} at {} was skipped: {}; {tail}.",
                    record_of(r, facts.pii),
                    r.location,
                    r.reason
                ),
                Verdict::SkippedRow,
            )
        }
        [] if !entries.is_empty() => {
            (format!("No source holds this person any more: {}", entries[0].answer), entries[0].verdict)
        }
        [] if facts.offline && facts.gathered.sources.iter().all(|s| s.records.is_none()) => (
            format!(
                "{shown} cannot be looked up offline: no source has a last good read in this state directory yet; run without --offline."
            ),
            Verdict::NotPlanned,
        ),
        [] => (
            format!(
                "{shown} is in no source: no record of {} has this key, record id, employee number or work e-mail, and no planned entry has this id.",
                source_list(facts)
            ),
            Verdict::NotInAnySource,
        ),
        [one] => (one.answer.clone(), one.verdict),
        many => (
            format!(
                "{} people match {shown}: {}{}. Ask by person key for one of them.",
                people.len(),
                many.iter().map(|p| format!("`{}`, {}", p.person, p.answer)).collect::<Vec<_>>().join("; "),
                if people.len() > many.len() {
                    format!("; and {} more", people.len() - many.len())
                } else {
                    String::new()
                }
            ),
            Verdict::SeveralPeople,
        ),
    };
    Explanation {
        query: shown,
        answer,
        verdict,
        offline: facts.offline,
        people: answers,
        skipped_rows,
        entries,
    }
}

/// A value of `field` under the policy: identifiers keep their ends, other personal
/// values their first letters, the rest as they are.
fn shown(pii: &Pii, field: &crate::model::FieldRef, v: &str) -> String {
    use crate::model::FieldRef;
    match field {
        FieldRef::Person(PersonField::Id | PersonField::EmployeeNumber | PersonField::Manager) => pii.id(v),
        f if f.is_personal() => pii.value(v),
        _ => v.to_owned(),
    }
}

/// A DN or id as compared: case aside, without spaces around its commas.
fn dn(id: &str) -> String {
    id.split(',').map(str::trim).collect::<Vec<_>>().join(",").to_lowercase()
}

/// The entries no person matches that `query` names: by id or DN, or by the value of a
/// match attribute (the employee number, the e-mail of someone gone from HR).
fn entries_naming(facts: &Facts<'_>, query: &str) -> Vec<EntryAnswer> {
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

/// What happens to `entry`, which no person matches.
fn entry_answer(
    facts: &Facts<'_>,
    d: &DirectoryFacts<'_>,
    plan: &Plan,
    row: &Row,
    entry: &Entry,
) -> EntryAnswer {
    let id = &d.config.id;
    let pii = facts.pii;
    let shown = pii.entry(&entry.id);
    let reasons: Vec<String> = row.reasons.iter().map(|r| r.to_string()).collect();
    let last_reason = reasons.last().cloned().unwrap_or_default();
    let gone = reasons.iter().find(|r| r.starts_with("left")).cloned().unwrap_or_else(|| last_reason.clone());
    let when = when_applied(plan, d.config);
    let (verdict, answer) = match (row.action, &row.due) {
        (Action::Noop, Some(due)) => (
            Verdict::LeaverWaiting,
            format!(
                "their entry {shown} in `{id}` stays as it is until {}, when it is {} ({}).",
                due.on,
                past(due.action),
                due.why
            ),
        ),
        (Action::Disable, due) => {
            let then = due.as_ref().map(|d| format!("; deleted on {} ({})", d.on, d.why)).unwrap_or_default();
            (Verdict::Disable, format!("their entry {shown} in `{id}` will be disabled{when}: {gone}{then}."))
        }
        (Action::Delete, _) => {
            (Verdict::Delete, format!("their entry {shown} in `{id}` will be deleted{when}: {gone}."))
        }
        (Action::Skip, _) => {
            (Verdict::Skipped, format!("their entry {shown} in `{id}` is left as it is: {last_reason}."))
        }
        (Action::Noop, None) if reasons.iter().any(|r| r.contains("not managed by hrsync")) => {
            (Verdict::NotManaged, format!("the entry {shown} in `{id}` is left alone: {last_reason}."))
        }
        _ => (Verdict::LeaverDone, format!("their entry {shown} in `{id}`: {last_reason}.")),
    };
    let mut facts_out = reasons;
    if let Some(due) = &row.due {
        facts_out.push(format!("on {}: {} ({})", due.on, due.action.as_str(), due.why));
    }
    let mut steps = vec![
        Step {
            check: Check::Match,
            directory: Some(id.clone()),
            verdict: Mark::Stop,
            text: format!("no person of the sources matches the entry {shown}"),
            facts: Vec::new(),
        },
        Step {
            check: Check::Plan,
            directory: Some(id.clone()),
            verdict: if row.action.writes() || row.due.is_some() { Mark::Stop } else { Mark::Ok },
            text: format!("{}: {}", row.action.as_str(), plan_state(plan, d.config)),
            facts: facts_out,
        },
    ];
    if let Some(last) = facts.last.directories.get(id)
        && let Some(item) =
            last.items.iter().find(|i| i.person.is_none() && i.entry.as_deref() == Some(&entry.id))
        && let crate::apply::ItemStatus::Failed(why) | crate::apply::ItemStatus::NotAttempted(why) =
            &item.status
    {
        steps.push(Step {
            check: Check::LastApply,
            directory: Some(id.clone()),
            verdict: Mark::Stop,
            text: format!(
                "its {} failed in the apply of {}: {}",
                item.action.as_str(),
                last.at,
                pii.message(why, Some(&entry.id))
            ),
            facts: Vec::new(),
        });
    }
    EntryAnswer { directory: id.clone(), entry: shown, answer, verdict, steps }
}

/// Whether a plan's writes happen in the next apply, in words (" by the next apply").
fn when_applied(plan: &Plan, d: &DirectoryConfig) -> String {
    match (plan.status, d.mode) {
        (PlanStatus::Blocked, _) => format!(
            " once the plan is approved: it is blocked by the safety limits ({})",
            plan.blocked_by.join("; ")
        ),
        (_, Mode::Apply) => " by the next apply".to_owned(),
        (_, mode) => format!(" once `{}` is in mode apply (it is in mode {})", d.id, mode.as_str()),
    }
}

/// The sources, for "no record of … has it".
fn source_list(facts: &Facts<'_>) -> String {
    let ids: Vec<String> = facts.gathered.sources.iter().map(|s| format!("`{}`", s.id)).collect();
    if ids.is_empty() { "any source".into() } else { ids.join(", ") }
}

/// Whether a record of `p` is named by `q`.
fn names(p: &Person, q: &str) -> bool {
    let same = |v: &Option<String>| v.as_deref().is_some_and(|v| v.trim().eq_ignore_ascii_case(q));
    p.id == q || format!("{}:{}", p.source, p.id) == q || same(&p.employee_number) || same(&p.work_email)
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
fn find(facts: &Facts<'_>, query: &str) -> Vec<usize> {
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
fn skipped_naming(facts: &Facts<'_>, query: &str) -> Vec<SkippedRecord> {
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
fn record_of(r: &SkippedRecord, pii: &Pii) -> String {
    r.partial
        .as_deref()
        .filter(|p| !p.id.is_empty())
        .map(|p| format!("of `{}`", pii.key(&format!("{}:{}", p.source, p.id))))
        .unwrap_or_default()
}

/// A skipped row in words.
fn describe_skipped(r: &SkippedRecord, pii: &Pii) -> String {
    let who = r
        .partial
        .as_deref()
        .filter(|p| !p.id.is_empty())
        .map(|p| format!(" (record `{}`)", pii.key(&format!("{}:{}", p.source, p.id))))
        .unwrap_or_default();
    format!("{}{who}: skipped, {}", r.location, r.reason)
}

/// The directories whose plan holds an entry for the skipped row `r`.
fn held_rows(facts: &Facts<'_>, r: &SkippedRecord) -> Vec<String> {
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

/// Everything about person `i`.
fn person_answer(facts: &Facts<'_>, i: usize) -> PersonAnswer {
    let p = &facts.gathered.population.people[i];
    let pii = facts.pii;
    let records = records_of(facts, p);
    let mut steps =
        vec![sources_step(facts, &records), values_step(facts, p, &records), filter_step(facts, p)];
    steps.push(overrides_step(facts, p));
    let (zone, zone_by) = crate::plan::time_zone_of(facts.config, &p.person);
    let today = facts.now.to_zoned(zone.clone()).date();
    steps.push(dates_step(p, today, zone.iana_name().unwrap_or("UTC"), &zone_by));
    let mut per_directory: Vec<(Verdict, String)> = Vec::new();
    let mut off: Vec<(Verdict, String)> = Vec::new();
    for d in &facts.directories {
        let (verdict, answer, mut dir_steps) = directory_steps(facts, d, p);
        steps.append(&mut dir_steps);
        // A directory in mode off answers only when every directory is off.
        if matches!(d.read, DirectoryRead::Off) {
            off.push((verdict, answer))
        } else {
            per_directory.push((verdict, answer))
        }
    }
    if per_directory.is_empty() {
        per_directory = off;
    }
    let (verdict, answer) = headline(p, &per_directory, pii);
    PersonAnswer {
        person: pii.key(&p.key),
        employee_number: p.person.employee_number.as_deref().map(|n| pii.id(n)),
        name: display_name(&p.person).map(|n| pii.value(&n)),
        answer,
        verdict,
        steps,
    }
}

/// The person's name as people read it.
fn display_name(p: &Person) -> Option<String> {
    let first = p.preferred_name.as_ref().or(p.first_name.as_ref());
    match (first, &p.last_name) {
        (Some(f), Some(l)) => Some(format!("{f} {l}")),
        (Some(n), None) | (None, Some(n)) => Some(n.clone()),
        (None, None) => p.display_name.clone(),
    }
}

/// The one line about the person: the first directory's answer that holds them back or
/// changes them, else the first directory's.
fn headline(p: &MergedPerson, per_directory: &[(Verdict, String)], pii: &Pii) -> (Verdict, String) {
    let who = display_name(&p.person).map_or_else(|| format!("`{}`", pii.key(&p.key)), |n| pii.value(&n));
    let pick =
        per_directory.iter().find(|(v, _)| !matches!(v, Verdict::InSync)).or_else(|| per_directory.first());
    match pick {
        Some((verdict, answer)) => (*verdict, format!("{who}: {answer}")),
        None => (Verdict::NotPlanned, format!("{who}: no directory is configured, so no entry is planned.")),
    }
}

/// Where the person's records are.
fn sources_step(facts: &Facts<'_>, records: &[(&RecordRef, Option<&Person>)]) -> Step {
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
fn records_of<'f>(facts: &'f Facts<'_>, p: &'f MergedPerson) -> Vec<(&'f RecordRef, Option<&'f Person>)> {
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
fn values_step(facts: &Facts<'_>, p: &MergedPerson, records: &[(&RecordRef, Option<&Person>)]) -> Step {
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
fn filter_step(facts: &Facts<'_>, p: &MergedPerson) -> Step {
    let (mark, text) = match &p.decision {
        Decision::Included => (Mark::Ok, "included by the source filters".to_owned()),
        excluded => (Mark::Stop, excluded.to_string()),
    };
    let mut more = Vec::new();
    for d in &facts.directories {
        if !p.decision.is_included() || d.config.filters.is_empty() {
            continue;
        }
        let filters = d.config.filters.iter().filter_map(|f| facts.config.filters.get(f));
        match filter::decide(filters, p) {
            Decision::Included => more.push(format!("`{}`: included by its filters", d.config.id)),
            excluded => more.push(format!("`{}`: {excluded}", d.config.id)),
        }
    }
    Step { check: Check::Filter, directory: None, verdict: mark, text, facts: more }
}

/// Overrides naming the person.
fn overrides_step(facts: &Facts<'_>, p: &MergedPerson) -> Step {
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
fn dates_step(p: &MergedPerson, today: jiff::civil::Date, zone: &str, zone_by: &str) -> Step {
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

/// One directory's checks, with its verdict and answer.
fn directory_steps(
    facts: &Facts<'_>,
    d: &DirectoryFacts<'_>,
    p: &MergedPerson,
) -> (Verdict, String, Vec<Step>) {
    let id = &d.config.id;
    let step = |check, verdict, text: String, facts: Vec<String>| Step {
        check,
        directory: Some(id.clone()),
        verdict,
        text,
        facts,
    };
    let mut steps = Vec::new();
    let last = last_apply_step(facts, d, p);
    let (plan, live, committed) = match &d.read {
        DirectoryRead::Planned { plan, live } => (*plan, *live, None),
        DirectoryRead::Committed { plan, at, reports } => (*plan, &[][..], Some((*at, *reports))),
        DirectoryRead::Failed(why) => {
            let why = facts.pii.message(why, None);
            steps.push(step(
                Check::Plan,
                Mark::Stop,
                format!("`{id}` could not be planned: {why}"),
                Vec::new(),
            ));
            steps.extend(last.map(|(s, _)| s));
            return (Verdict::NotPlanned, format!("`{id}` could not be read or planned: {why}."), steps);
        }
        DirectoryRead::NotRead => {
            steps.push(step(
                Check::Plan,
                Mark::Note,
                format!("`{id}` was not read (--offline): no plan row"),
                Vec::new(),
            ));
            let failed = last.as_ref().and_then(|(_, f)| f.clone());
            steps.extend(last.map(|(s, _)| s));
            let (verdict, answer) = match failed {
                Some(why) => {
                    (Verdict::FailedLastApply, format!("the last apply to `{id}` failed for them: {why}."))
                }
                None => (
                    Verdict::NotPlanned,
                    format!("`{id}` was not read (--offline): run without --offline for its plan."),
                ),
            };
            return (verdict, answer, steps);
        }
        DirectoryRead::Off => {
            steps.push(step(Check::Plan, Mark::Stop, format!("`{id}` is in mode off"), Vec::new()));
            return (
                Verdict::NotPlanned,
                format!("`{id}` is in mode off: nothing is planned for it."),
                steps,
            );
        }
    };
    // A committed plan names people as its policy does: the person's key masked (or
    // hashed) the same way, its tag perhaps lengthened where two would read alike.
    let ours = |key: &str| match committed {
        None => key == p.key,
        Some((_, reports)) => {
            let masked = reports.key(&p.key);
            key == p.key || key == masked || key.starts_with(&masked)
        }
    };
    let Some(row) = plan.rows.iter().find(|r| r.person.as_ref().is_some_and(|v| ours(&v.key))) else {
        let (text, answer) = match committed {
            Some((at, _)) => {
                let when = at
                    .and_then(|t| jiff::Timestamp::from_second(t).ok())
                    .map(|t| format!(", committed {t}"))
                    .unwrap_or_default();
                (
                    format!(
                        "the last committed plan of `{id}` (plan {}{when}) has no row for them: it lists no entry that was up to date",
                        plan.id
                    ),
                    format!(
                        "the last committed plan of `{id}` (plan {}) has no row for them: their entry was up to date then, or the plan made none for them (--offline reads no directory).",
                        plan.id
                    ),
                )
            }
            None => (
                format!("the plan of `{id}` has no row for them"),
                format!("the plan of `{id}` has no row for them."),
            ),
        };
        steps.push(step(Check::Plan, Mark::Note, text, Vec::new()));
        steps.extend(last.map(|(s, _)| s));
        return (Verdict::NotPlanned, answer, steps);
    };
    let entry = row.entry.as_deref().and_then(|e| live.iter().find(|x| x.id == e));
    steps.push(match_step(facts, d, p, row));
    let (verdict, answer) = classify(facts, d, p, row, plan);
    // A committed plan that the last apply applied: its writes for the person are done,
    // unless the apply says they failed.
    let (verdict, answer) = match facts.last.directories.get(id) {
        Some(last)
            if committed.is_some()
                && last.plan == plan.id
                && row.action.writes()
                && last.of_person(&p.key).is_none() =>
        {
            let done = match row.action {
                Action::Create => "created in",
                Action::Update => "updated in",
                Action::Disable => "disabled in",
                _ => "deleted from",
            };
            let verdict = if matches!(row.action, Action::Create | Action::Update) {
                Verdict::InSync
            } else {
                Verdict::LeaverDone
            };
            (verdict, format!("{done} `{id}` by the apply of {} (plan {}).", last.at, plan.id))
        }
        _ => (verdict, answer),
    };
    let plan_mark = match verdict {
        Verdict::InSync | Verdict::LeaverDone => Mark::Ok,
        Verdict::Create | Verdict::Update => Mark::Note,
        _ => Mark::Stop,
    };
    let mut reasons: Vec<String> = row.reasons.iter().map(|r| r.to_string()).collect();
    reasons.extend(
        row.warnings.iter().map(|w| format!("warning: {}", facts.pii.message(w, row.entry.as_deref()))),
    );
    if let Some(due) = &row.due {
        reasons.push(format!("on {}: {} ({})", due.on, due.action.as_str(), due.why));
    }
    let from = match committed {
        Some((at, _)) => format!(
            " (the last committed plan, as of {}{}; --offline)",
            plan.as_of,
            at.and_then(|t| jiff::Timestamp::from_second(t).ok())
                .map(|t| format!(", committed {t}"))
                .unwrap_or_default()
        ),
        None => String::new(),
    };
    steps.push(step(
        Check::Plan,
        plan_mark,
        format!("{}: {}{from}", row.action.as_str(), plan_state(plan, d.config)),
        reasons,
    ));
    steps.push(fields_step(facts, d, p, row, entry));
    let (verdict, answer) = match last {
        Some((s, failed)) => {
            steps.push(s);
            match failed {
                Some(why) if row.action.writes() => (
                    Verdict::FailedLastApply,
                    format!(
                        "the last apply to `{id}` failed for them ({why}); the next apply tries again: {answer}"
                    ),
                ),
                _ => (verdict, answer),
            }
        }
        None => (verdict, answer),
    };
    (verdict, answer, steps)
}

/// Whether the plan will be applied, in words.
fn plan_state(plan: &Plan, d: &DirectoryConfig) -> String {
    let status = match plan.status {
        PlanStatus::Blocked => {
            format!("the plan is blocked by the safety limits ({})", plan.blocked_by.join("; "))
        }
        PlanStatus::Failed => "the plan failed".into(),
        PlanStatus::Ready | PlanStatus::NoChanges => format!("plan {}", plan.id),
    };
    format!("{status}; `{}` is in mode {}", d.id, d.mode.as_str())
}

/// The match step: which key found which entry, or why none or several.
fn match_step(facts: &Facts<'_>, d: &DirectoryFacts<'_>, p: &MergedPerson, row: &Row) -> Step {
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

/// The verdict and answer of a directory's row.
fn classify(
    facts: &Facts<'_>,
    d: &DirectoryFacts<'_>,
    p: &MergedPerson,
    row: &Row,
    plan: &Plan,
) -> (Verdict, String) {
    let id = &d.config.id;
    let today = facts.now.to_zoned(facts.config.workspace.timezone.clone()).date();
    let hidden = crate::plan::overrides_naming(&facts.config.overrides, p, today)
        .find(|o| matches!(o.kind, OverrideKind::Hide { .. }));
    let kept_disabled = crate::plan::overrides_naming(&facts.config.overrides, p, today)
        .find(|o| o.kind == OverrideKind::KeepDisabled);
    let last_reason = row.reasons.last().map(|r| r.to_string()).unwrap_or_default();
    let excluded = match &p.decision {
        Decision::Included => {
            let filters = d.config.filters.iter().filter_map(|f| facts.config.filters.get(f));
            match filter::decide(filters, p) {
                Decision::Included => None,
                e => Some(e),
            }
        }
        e => Some(e.clone()),
    };
    let when = || when_applied(plan, d.config);
    match row.action {
        Action::Skip => {
            if let Some(r) = row.reasons.iter().find(|r| r.starts_with("ambiguous")) {
                (Verdict::Ambiguous, format!("not synced to `{id}`: {r}."))
            } else if let Some(r) = row.reasons.iter().find(|r| r.starts_with("held:")) {
                (Verdict::SkippedRow, format!("their entry in `{id}` is left as it is: {r}."))
            } else if let Some(o) = hidden {
                (
                    Verdict::Hidden,
                    format!("hidden from `{id}` by {}; the entry is left as it is.", o.describe()),
                )
            } else {
                (Verdict::Skipped, format!("skipped in `{id}`: {last_reason}."))
            }
        }
        Action::Create => match (&row.due, row.enabled) {
            (Some(due), Some(e)) if !e.after => (
                Verdict::Create,
                format!(
                    "will be created in `{id}`{}, disabled (pre-provisioned), and enabled on {} ({}).",
                    when(),
                    due.on,
                    due.why
                ),
            ),
            (None, Some(e)) if !e.after => {
                let why = kept_disabled.map_or_else(|| last_reason.clone(), |o| o.describe());
                (Verdict::Create, format!("will be created in `{id}`{}, disabled ({why}).", when()))
            }
            _ => (Verdict::Create, format!("will be created in `{id}`{} ({last_reason}).", when())),
        },
        Action::Update => {
            let fields: Vec<&str> = row.changes.iter().map(|c| c.attribute.as_str()).collect();
            let what = if fields.is_empty() { "enabled".to_owned() } else { fields.join(", ") };
            (Verdict::Update, format!("will be updated in `{id}`{}: {what}.", when()))
        }
        Action::Disable => {
            let then =
                row.due.as_ref().map(|d| format!("; deleted on {} ({})", d.on, d.why)).unwrap_or_default();
            (Verdict::Disable, format!("will be disabled in `{id}`{}: {}{then}.", when(), leaver_reason(row)))
        }
        Action::Delete => {
            (Verdict::Delete, format!("will be deleted from `{id}`{}: {}.", when(), leaver_reason(row)))
        }
        Action::Noop => match (&row.entry, &row.due) {
            (None, _) if hidden.is_some() => {
                let o = hidden.map(|o| o.describe()).unwrap_or_default();
                (Verdict::Hidden, format!("no entry in `{id}`: hidden by {o}."))
            }
            (None, _) if last_reason.starts_with("left") => {
                (Verdict::LeftWithoutEntry, format!("no entry in `{id}`: {last_reason}."))
            }
            (None, _) if excluded.is_some() => {
                let e = excluded.map(|e| e.to_string()).unwrap_or_default();
                (Verdict::FilteredOut, format!("no entry in `{id}`: {e}."))
            }
            (None, Some(due)) if due.action == Action::Create => {
                (Verdict::FutureJoiner, format!("will be created in `{id}` on {}, {}.", due.on, due.why))
            }
            // A committed plan's rows carry no due date: the reason says it.
            (None, None) if last_reason.starts_with("future joiner") => {
                (Verdict::FutureJoiner, format!("no entry in `{id}` yet: {last_reason}."))
            }
            (None, _) if last_reason.starts_with("pending joiner without a start date") => {
                (Verdict::PendingWithoutStartDate, format!("no entry in `{id}` yet: {last_reason}."))
            }
            (None, _) => (Verdict::Skipped, format!("no entry in `{id}`: {last_reason}.")),
            (Some(_), _) if row.reasons.iter().any(|r| r.contains("not managed by hrsync")) => {
                (Verdict::NotManaged, format!("their entry in `{id}` is left alone: {last_reason}."))
            }
            (Some(_), Some(due)) => (
                Verdict::LeaverWaiting,
                format!(
                    "a leaver: their entry in `{id}` stays as it is until {}, when it is {} ({}).",
                    due.on,
                    past(due.action),
                    due.why
                ),
            ),
            (Some(_), None)
                if row.reasons.iter().any(|r| r.starts_with("left") || r.starts_with("out of scope")) =>
            {
                (Verdict::LeaverDone, format!("a leaver: their entry in `{id}` is {last_reason}."))
            }
            (Some(_), None) if hidden.is_some() => {
                let o = hidden.map(|o| o.describe()).unwrap_or_default();
                (Verdict::Hidden, format!("their entry in `{id}` is left as it is: hidden by {o}."))
            }
            (Some(_), None) if kept_disabled.is_some() => {
                let o = kept_disabled.map(|o| o.describe()).unwrap_or_default();
                (Verdict::KeptDisabled, format!("their entry in `{id}` stays disabled: {o}."))
            }
            (Some(_), None) => {
                let kept = import_once_differences(d.config, p, row, facts);
                let leaves = leaving_later(d.config, p, facts).map(|l| format!(" {l}")).unwrap_or_default();
                if kept.is_empty() {
                    (Verdict::InSync, format!("in step in `{id}`: the entry matches HR.{leaves}"))
                } else {
                    (
                        Verdict::InSync,
                        format!(
                            "in step in `{id}`; {} import-once: HR changes are not applied after creation.{leaves}",
                            kept.join(", ")
                        ),
                    )
                }
            }
        },
    }
}

/// For someone whose end date is still ahead, when their entry leaves: "Their end date
/// is 2026-12-05: the entry is disabled on 2026-12-06 …". An override that delays the
/// leaver is named in the overrides step and moves the day.
fn leaving_later(d: &DirectoryConfig, p: &MergedPerson, facts: &Facts<'_>) -> Option<String> {
    use crate::config::LeaverAction;
    use jiff::ToSpan as _;
    let end = p.person.end_date?;
    let (zone, _) = crate::plan::time_zone_of(facts.config, &p.person);
    if end < facts.now.to_zoned(zone).date() || d.leavers.action == LeaverAction::Ignore {
        return None;
    }
    let gone = end.tomorrow().ok()?;
    let on = gone.checked_add((d.leavers.grace_days as i64).days()).ok()?;
    let what = if d.leavers.action == LeaverAction::Delete { "deleted" } else { "disabled" };
    Some(format!(
        "Their end date is {end}: the entry is {what} on {on}, after a grace period of {} days (leavers.grace_days).",
        d.leavers.grace_days
    ))
}

/// The leaver reason of a row, for its answer.
fn leaver_reason(row: &Row) -> String {
    row.reasons
        .iter()
        .find(|r| r.starts_with("left") || r.starts_with("out of scope") || r.starts_with("override"))
        .map(|r| r.to_string())
        .unwrap_or_else(|| row.reasons.last().map(|r| r.to_string()).unwrap_or_default())
}

/// An action as what the entry becomes.
fn past(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update => "enabled",
        Action::Disable => "disabled",
        Action::Delete => "deleted",
        Action::Skip | Action::Noop => "left as it is",
    }
}

/// The import-once fields whose HR value differs from the entry's: "title is".
fn import_once_differences(
    d: &DirectoryConfig,
    p: &MergedPerson,
    row: &Row,
    facts: &Facts<'_>,
) -> Vec<String> {
    let DirectoryRead::Planned { live, .. } =
        facts.directories.iter().find(|x| x.config.id == d.id).map_or(&DirectoryRead::NotRead, |x| &x.read)
    else {
        return Vec::new();
    };
    let Some(entry) = row.entry.as_deref().and_then(|e| live.iter().find(|x| x.id == e)) else {
        return Vec::new();
    };
    d.fields
        .iter()
        .filter(|f| f.mode == FieldMode::ImportOnce)
        .filter(|f| match &f.source {
            FieldSource::Templates { candidates, unique: false } => {
                let hr = map::first_value(candidates, p).map(|(v, _)| v);
                !same_text(f.compare, hr.as_deref(), entry.attributes.get(&f.attribute))
            }
            _ => false,
        })
        .map(|f| format!("`{}` is", f.attribute))
        .collect()
}

/// Each mapped field, before and after, with its mode.
fn fields_step(
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
                let hr = match &f.source {
                    FieldSource::Templates { candidates, unique: false } => {
                        map::first_value(candidates, p).map(|(v, _)| v)
                    }
                    _ => None,
                };
                match (f.mode, &f.source, hr) {
                    (FieldMode::ImportOnce, _, Some(hr)) if !same_text(f.compare, Some(&hr), before) => {
                        format!(
                            "{} ({mode}): the entry keeps {held}; HR says {}: HR changes are not applied after creation",
                            f.attribute,
                            show(f.personal, &hr)
                        )
                    }
                    (FieldMode::ImportOnce, _, _) => {
                        format!("{} ({mode}): {held}, set at creation", f.attribute)
                    }
                    (_, FieldSource::Manager, _) => format!("{} ({mode}): {held}, in step", f.attribute),
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
fn last_apply_step(
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
