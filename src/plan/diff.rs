//! The pure planner: population + live entries + date → [`Plan`].
//!
//! In order: decide scope (source and directory filters), match people to entries by
//! the match key chain (ambiguity both ways is a skip), classify each person (joiner,
//! active, leaver) in their own time zone, render desired attributes, order creates so
//! managers come first, compare target-aware, apply the leaver timeline, then the two
//! guards (source health, mass change) and the plan id. Each step's decision is written
//! into the row as a reason.
//!
//! This module owns what a plan depends on ([`PlanInput`], [`SourceStatus`]), the
//! planner's state, which every phase reads, and the order of the phases; each phase
//! lives in a module of its own: [`super::matching`], [`super::lifecycle`],
//! [`super::desired`], [`super::rows`], [`super::guard`] and [`super::id`]. It must not
//! decide anything itself beyond scope and ownership, which every phase needs first:
//! a rule added here instead of in its phase is a rule no one looks for there.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::desired::manager_cycles;
use super::guard::{self, Verdict};
use super::id::plan_id;
use super::lifecycle::{self, Fate};
use super::rows::{self, Rows, Shared};
use super::{Plan, SourceView};
use crate::config::{Config, DirectoryConfig, Override, OverrideKind};
use crate::directory::Entry;
use crate::model::PlanId;
use crate::model::filter::{self, Decision, Filter};
use crate::model::template::Vars;
use crate::model::{FieldRef, PersonField, RecordKind, RecordLocation, SkippedRecord, SourceId};
use crate::transform::merge::{MergedPerson, Population};

/// How a source took part in this run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum SourceHealth {
    /// Read in full in this run.
    Healthy,
    /// Changes read in this run, merged into the last good read.
    Delta,
    /// Not read in this run; its last good read was used.
    Snapshot {
        /// Why it was not read.
        reason: String,
    },
    /// Turned off in its config: not read.
    Disabled,
    /// Its read cannot be trusted: nothing is written.
    Unhealthy {
        /// Why.
        reason: String,
    },
    /// Read in full, but fewer people than `min_source_share` of the last good read:
    /// the plan is made from this read and blocked until its id is approved, which
    /// accepts the drop.
    Shrunk {
        /// How much it shrank.
        reason: String,
    },
}

/// A source's part in a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceStatus {
    /// The source.
    pub id: SourceId,
    /// How it took part.
    pub health: SourceHealth,
    /// People it provided.
    pub people: usize,
    /// The rows its read skipped, with what could be read of them: a skipped person's
    /// entry is held as it is, and while a read skips people, entries no one matches are
    /// not taken for leavers (`safety.hold_leavers_on_skipped_rows`).
    pub skipped: Vec<SkippedRecord>,
}

/// Everything a plan depends on.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// The config.
    pub config: &'a Config,
    /// The directory to plan.
    pub directory: &'a DirectoryConfig,
    /// Everyone the sources describe.
    pub population: &'a Population,
    /// A hash of the source records the population was merged from.
    pub inputs_hash: &'a str,
    /// How each source took part.
    pub sources: &'a [SourceStatus],
    /// The entries in the directory's scope.
    pub live: &'a [Entry],
    /// The groups in the directory's group scope, when it keeps groups (`None`: it
    /// keeps none, or they were not read).
    pub groups: Option<&'a [crate::directory::Group]>,
    /// The sources' org units: names and the tree, for groups per org unit.
    pub org_units: &'a [crate::model::OrgUnit],
    /// Values of unique attributes held outside the scope, which new entries must not
    /// take either (see `Directory::held_elsewhere`), by attribute.
    pub held_elsewhere: &'a crate::directory::HeldElsewhere,
    /// The run's clock.
    pub now: Timestamp,
    /// Leaver timers from the last applied plan.
    pub timers: &'a BTreeMap<String, Date>,
    /// Approved plan ids (the repository's and the command line's).
    pub approvals: &'a BTreeSet<PlanId>,
    /// List the rows of entries that are up to date too (they are counted either way).
    pub list_unchanged: bool,
    /// List the up-to-date rows of these people (person keys, sorted) even without
    /// `list_unchanged`: `hrsync explain` asks for the rows of whom it explains only.
    pub list_people: &'a [String],
}

/// Computes the plan.
pub fn diff(input: &PlanInput<'_>) -> Plan {
    // A read's skipped rows are a set: the plan lists, hashes and holds them in the order
    // of where they are, whatever order the source reported them in.
    let sorted = |s: &SourceStatus| s.skipped.is_sorted_by(|a, b| skipped_order(a, b).is_le());
    if input.sources.iter().all(sorted) {
        return Planner::new(input).plan();
    }
    let sources: Vec<SourceStatus> = input
        .sources
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.skipped.sort_by(skipped_order);
            s
        })
        .collect();
    Planner::new(&PlanInput { sources: &sources, ..*input }).plan()
}

/// Skipped rows by where they are, then by what they are.
fn skipped_order(a: &SkippedRecord, b: &SkippedRecord) -> std::cmp::Ordering {
    fn key(r: &SkippedRecord) -> (&RecordLocation, RecordKind, &str, Option<(&SourceId, &str)>) {
        (&r.location, r.kind, &r.reason, r.partial.as_deref().map(|p| (&p.source, p.id.as_str())))
    }
    key(a).cmp(&key(b))
}

/// The state the phases share, one slot per person (`people`) or per live entry.
pub(super) struct Planner<'a> {
    pub(super) input: &'a PlanInput<'a>,
    pub(super) people: &'a [MergedPerson],
    pub(super) dir: &'a DirectoryConfig,
    pub(super) workspace_today: Date,
    pub(super) today: Vec<Date>,
    /// The people their sources include and the directory's filters exclude, with the
    /// decision: a few of many, so not a decision for each person
    /// ([`Planner::decision`]).
    pub(super) excluded_here: rustc_hash::FxHashMap<usize, Decision>,
    pub(super) managed: Vec<bool>,
    pub(super) fates: Vec<Fate>,
    pub(super) match_reason: Vec<Arc<str>>,
    pub(super) claimed: Vec<bool>,
    /// Per live entry: why it is held as it is (a skipped row of its person).
    pub(super) held: Vec<Option<Arc<str>>>,
    pub(super) cycles: HashMap<usize, usize>,
    pub(super) absence_blocker: Option<String>,
    pub(super) shared: Shared,
    pub(super) included: HashMap<SourceId, Arc<str>>,
    /// Per person: the overrides of `overrides.yaml` that name them and hold today for
    /// this directory.
    /// (Sparse: overrides name a few people of many.)
    pub(super) overrides: rustc_hash::FxHashMap<usize, Vec<&'a Override>>,
}

impl<'a> Planner<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let dir = input.directory;
        let ws = &input.config.workspace;
        let workspace_today = input.now.to_zoned(ws.timezone.clone()).date();
        let people = &input.population.people[..];
        let today = lifecycle::local_dates(input, people, workspace_today);

        let dir_filters: Vec<&Filter> =
            dir.filters.iter().filter_map(|id| input.config.filters.get(id)).collect();
        let excluded_here: Vec<(usize, Decision)> = people
            .par_iter()
            .enumerate()
            .filter(|(_, p)| p.decision.is_included())
            .filter_map(|(i, p)| {
                let decision = filter::decide(dir_filters.iter().copied(), p);
                (!decision.is_included()).then_some((i, decision))
            })
            .collect();
        let managed = input
            .live
            .par_iter()
            .map_init(
                || 0,
                |hint, e| match &dir.marker {
                    None => true,
                    Some(m) => m.marks(e.attributes.get_hinted(&m.attribute, hint)),
                },
            )
            .collect();

        let overrides = overrides_of(input, people, workspace_today);
        Planner {
            input,
            people,
            dir,
            workspace_today,
            today,
            excluded_here: excluded_here.into_iter().collect(),
            managed,
            fates: Vec::new(),
            match_reason: Vec::new(),
            claimed: vec![false; input.live.len()],
            held: vec![None; input.live.len()],
            cycles: manager_cycles(people),
            absence_blocker: guard::absence::blocker(input.sources, dir.safety.hold_leavers_on_skipped_rows),
            shared: Shared::new(dir),
            included: rows::scope_reasons(input.config, dir),
            overrides,
        }
    }

    /// Whether person `i` is in scope of this directory: their sources' decision, then
    /// the directory's filters'.
    pub(super) fn decision(&self, i: usize) -> &Decision {
        self.excluded_here.get(&i).unwrap_or(&self.people[i].decision)
    }

    /// The override of person `i` that `pick` selects, if any.
    pub(super) fn override_of<T>(&self, i: usize, pick: impl Fn(&'a Override) -> Option<T>) -> Option<T> {
        self.overrides.get(&i)?.iter().find_map(|o| pick(o))
    }

    fn plan(mut self) -> Plan {
        self.match_people();
        self.hide_entries();
        self.decide_fates();
        let unique = self.assign_unique_values();
        let rows = self.rows(&unique);
        let groups = self.group_plan(&rows.rows);
        self.finish(rows, groups)
    }

    fn finish(self, rows: Rows, groups: Option<super::GroupPlan>) -> Plan {
        let Rows { rows, timers, unmanaged, unlisted } = rows;
        let summary = rows::summarize(&rows, unmanaged, unlisted);
        let managed = self.managed.iter().filter(|m| **m).count();
        let safety = guard::mass::safety_check(&self.dir.safety, managed, &summary);
        let id = plan_id(self.input, self.workspace_today, &timers);
        let starts_timers = timers.keys().any(|k| !self.input.timers.contains_key(k));
        let allowances: Vec<&crate::config::Allowance> =
            (self.input.config.workspace.allowances.iter()).filter(|a| a.directory == self.dir.id).collect();
        let approvals = guard::Approvals {
            ids: self.input.approvals,
            allowances: &allowances,
            today: self.workspace_today,
        };
        let Verdict { status, blocked_by, approved_by } = guard::verdict(
            self.input.sources,
            &safety,
            &summary,
            &approvals,
            &id,
            self.absence_blocker.as_deref(),
            starts_timers,
            groups.as_ref(),
        );

        Plan {
            format: super::FORMAT,
            id,
            directory: self.dir.id.clone(),
            directory_type: self.dir.kind.type_name().to_owned(),
            mode: self.dir.mode,
            as_of: self.workspace_today,
            timezone: self.input.config.workspace.timezone.iana_name().unwrap_or("UTC").to_owned(),
            status,
            blocked_by,
            approved: approved_by.is_some(),
            approved_by,
            summary,
            safety,
            sources: self
                .input
                .sources
                .iter()
                .map(|s| SourceView {
                    id: s.id.clone(),
                    health: s.health.clone(),
                    people: s.people,
                    skipped: s.skipped.clone(),
                })
                .collect(),
            rows,
            groups,
            timers,
        }
    }
}

/// The overrides naming each person that hold on `today` for the directory planned:
/// not expired, and a pin only where it pins this directory's attribute.
fn overrides_of<'a>(
    input: &PlanInput<'a>,
    people: &[MergedPerson],
    today: Date,
) -> rustc_hash::FxHashMap<usize, Vec<&'a Override>> {
    let mut out: rustc_hash::FxHashMap<usize, Vec<&'a Override>> = rustc_hash::FxHashMap::default();
    let dir = input.directory;
    for o in input.config.overrides.iter().filter(|o| !o.expired(today)) {
        if let OverrideKind::Pin { directory, attribute, .. } = &o.kind
            && (directory.as_ref().is_some_and(|d| *d != dir.id)
                || !dir.fields.iter().any(|f| f.attribute == *attribute))
        {
            continue;
        }
        let named: Vec<usize> = (0..people.len()).filter(|i| names(o, &people[*i])).collect();
        // An override is for one person: one that names several (a work email two
        // people share) decides for none of them.
        if named.len() > 1 {
            tracing::warn!(place = %o.place(), people = named.len(), "an override names several people and is applied to none of them");
            continue;
        }
        for i in named {
            out.entry(i).or_default().push(o);
        }
    }
    out
}

/// The overrides of `overrides` that name `p` and hold on `today` (`preview`, and the
/// check for overrides that name nobody).
pub fn overrides_naming<'o>(
    overrides: &'o [Override],
    p: &MergedPerson,
    today: Date,
) -> impl Iterator<Item = &'o Override> {
    overrides.iter().filter(move |o| !o.expired(today) && names(o, p))
}

/// The overrides of `overrides` that hold on `today` and name nobody of `people`: most
/// often a mistyped key (the run warns of them, and `validate --online`).
pub fn overrides_naming_nobody<'o>(
    overrides: &'o [Override],
    people: &[MergedPerson],
    today: Date,
) -> Vec<&'o Override> {
    overrides.iter().filter(|o| !o.expired(today) && !people.iter().any(|p| names(o, p))).collect()
}

/// Whether override `o` names person `p`: a record of its source (any, without one)
/// whose field holds its value, without regard to case or surrounding space.
pub(super) fn names(o: &Override, p: &MergedPerson) -> bool {
    let of_source = |source: &SourceId| o.source.as_ref().is_none_or(|s| s == source);
    if !p.records.iter().any(|r| of_source(&r.source)) {
        return false;
    }
    let same = |v: &str| v.trim().eq_ignore_ascii_case(&o.value);
    match &o.field {
        FieldRef::Person(PersonField::Id) => p.records.iter().any(|r| of_source(&r.source) && same(&r.id)),
        // With `source`, the value must be that source's (the merged value may come
        // from another).
        FieldRef::Person(f) if o.source.is_some() => {
            of_source(p.owner(*f)) && p.get(&o.field).is_some_and(|v| same(&v.to_text()))
        }
        field => p.get(field).is_some_and(|v| same(&v.to_text())),
    }
}
