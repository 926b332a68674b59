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

mod find;
mod live;
mod render;
mod steps;
mod verdict;

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

pub use find::people_named;
use find::*;
pub use live::answer;
pub use render::text;
use steps::*;
use verdict::*;

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
