//! The pure planner: population + live entries + date → [`Plan`].
//!
//! In order: decide scope (source and directory filters), match people to entries by
//! the match key chain (ambiguity both ways is a skip), classify each person (joiner,
//! active, leaver) in their own time zone, render desired attributes, order creates so
//! managers come first, compare target-aware, apply the leaver timeline, then the two
//! guards (source health, mass change) and the plan id. Each step's decision is written
//! into the row as a reason.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use super::{
    Action, Change, EnabledChange, PersonView, Plan, PlanStatus, Planned, Row, SafetyCheck, SourceView,
    Summary,
};
use crate::config::{Config, DirectoryConfig, FieldMode, FieldSource, LeaverAction};
use crate::digest::ContentHash;
use crate::directory::Entry;
use crate::model::PlanId;
use crate::model::filter::{self, Decision, Filter};
use crate::model::template::Vars;
use crate::model::{Compare, SourceId};
use crate::model::{EmploymentStatus, FieldValue, PersonField};
use crate::model::{Key, Slot, Value, same_text};
use crate::transform::merge::{ManagerLink, MergedPerson, Population};

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
    /// The run's clock.
    pub now: Timestamp,
    /// Leaver timers from the last applied plan.
    pub timers: &'a BTreeMap<String, Date>,
    /// Approved plan ids (the repository's and the command line's).
    pub approvals: &'a BTreeSet<PlanId>,
    /// List the rows of entries that are up to date too (they are counted either way).
    pub list_unchanged: bool,
}

/// What a person's entry will be, decided before attributes are rendered.
#[derive(Clone, Debug)]
enum Fate {
    /// Left out of this plan.
    Skip(String),
    /// No entry, and none is needed now.
    Nothing(String),
    /// A new entry.
    Create { enabled: bool, why: String },
    /// An existing entry.
    Exists(usize),
}

/// Why someone is a leaver, and since when.
struct Leaving {
    since: Date,
    why: String,
    /// The date was observed by hrsync (no end date): it lives in a timer.
    observed: bool,
}

/// A manager reference as the plan can express it.
enum ManagerValue<'a> {
    Absent,
    Entry(&'a str),
    Pending(&'a str),
    Unresolved(String),
}

/// A desired value and the sources it comes from. `None` as the value means the
/// attribute should be absent.
type Sourced = (Option<Planned>, Vec<SourceId>);

/// The value picked for a `unique` field of a create, or why none is free.
type UniqueValue = Result<(String, Vec<SourceId>), String>;

/// A row with its sort key: action, manager depth, order of the person (or entry).
type Ordered = (Action, u32, usize, Row);

/// What matching found for a person: an entry and the index of the rule that found
/// it, nothing, or why the match is ambiguous.
type Found = Result<Option<(usize, usize)>, String>;

/// Per-thread working memory of row computation.
#[derive(Default)]
struct Scratch {
    /// Rendered values, compared in place.
    buf: String,
    /// Per mapped field, where its attribute was in the last entry looked at.
    hints: Vec<usize>,
}

/// Computes the plan.
pub fn diff(input: &PlanInput<'_>) -> Plan {
    Planner::new(input).plan()
}

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    people: &'a [MergedPerson],
    dir: &'a DirectoryConfig,
    workspace_today: Date,
    today: Vec<Date>,
    decisions: Vec<Decision>,
    managed: Vec<bool>,
    fates: Vec<Fate>,
    match_reason: Vec<Arc<str>>,
    claimed: Vec<bool>,
    cycles: HashMap<usize, usize>,
    absence_blocker: Option<String>,
    shared: Shared,
    included: HashMap<SourceId, Arc<str>>,
}

/// Reason texts most rows share, allocated once.
struct Shared {
    up_to_date: Arc<str>,
    matched: Vec<Arc<str>>,
    unmatched: Arc<str>,
}

impl<'a> Planner<'a> {
    fn new(input: &'a PlanInput<'a>) -> Self {
        let dir = input.directory;
        let ws = &input.config.workspace;
        let workspace_today = input.now.to_zoned(ws.timezone.clone()).date();
        let source_zones: HashMap<&SourceId, &TimeZone> =
            input.config.sources.iter().filter_map(|s| Some((&s.id, s.timezone.as_ref()?))).collect();
        // Today's date in each zone a person can be in, computed once per zone.
        let date_in = |zone: &TimeZone| input.now.to_zoned(zone.clone()).date();
        let location_dates: BTreeMap<&str, Date> =
            ws.location_zones.iter().map(|(k, z)| (k.as_str(), date_in(z))).collect();
        let entity_dates: BTreeMap<&str, Date> =
            ws.legal_entity_zones.iter().map(|(k, z)| (k.as_str(), date_in(z))).collect();
        let source_dates: BTreeMap<&SourceId, Date> =
            source_zones.iter().map(|(k, z)| (*k, date_in(z))).collect();
        let people = &input.population.people[..];
        let today = people
            .par_iter()
            .map(|p| {
                let p = &p.person;
                p.work_location
                    .as_deref()
                    .and_then(|l| location_dates.get(l))
                    .or_else(|| p.legal_entity.as_deref().and_then(|l| entity_dates.get(l)))
                    .or_else(|| source_dates.get(&p.source))
                    .copied()
                    .unwrap_or(workspace_today)
            })
            .collect();

        let dir_filters: Vec<&Filter> =
            dir.filters.iter().filter_map(|id| input.config.filters.get(id)).collect();
        let decisions = people
            .par_iter()
            .map(|p| {
                if p.decision.is_included() {
                    filter::decide(dir_filters.iter().copied(), p)
                } else {
                    p.decision.clone()
                }
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

        let absence_blocker = input.sources.iter().find_map(|s| match &s.health {
            SourceHealth::Healthy => None,
            SourceHealth::Delta => Some(format!("source `{}` was read as changes only", s.id)),
            SourceHealth::Snapshot { reason } => {
                Some(format!("source `{}` was not read in this run ({reason})", s.id))
            }
            SourceHealth::Disabled => Some(format!("source `{}` is disabled", s.id)),
            SourceHealth::Unhealthy { .. } => Some(format!("source `{}` is unhealthy", s.id)),
        });

        // "in scope" reasons name the filters that include a person: those of the source
        // of their first record, and the directory's.
        let included = input
            .config
            .sources
            .iter()
            .map(|s| {
                let names: Vec<String> =
                    s.filters.iter().chain(&dir.filters).map(|f| format!("`{f}`")).collect();
                let text = if names.is_empty() {
                    "in scope: no filter applies".to_owned()
                } else {
                    format!("in scope: included by {}", names.join(", "))
                };
                (s.id.clone(), Arc::from(text))
            })
            .collect();
        let chain: Vec<String> = dir.match_rules.iter().map(|r| r.person.to_string()).collect();
        let shared = Shared {
            up_to_date: "every continuous field is up to date".into(),
            matched: dir
                .match_rules
                .iter()
                .map(|r| Arc::from(format!("matched by {} → {}", r.person, r.attribute)))
                .collect(),
            unmatched: format!("no entry matched by {}", chain.join(", ")).into(),
        };

        Planner {
            input,
            people,
            dir,
            workspace_today,
            today,
            decisions,
            managed,
            fates: Vec::new(),
            match_reason: Vec::new(),
            claimed: vec![false; input.live.len()],
            cycles: manager_cycles(people),
            absence_blocker,
            shared,
            included,
        }
    }

    fn plan(mut self) -> Plan {
        self.match_people();
        self.decide_fates();

        // Rows sort by action, then managers before reports (creates), then person key:
        // the population is sorted by key already, so its index is the key's order.
        // Entries no person matches come after everyone, by entry id.
        let unique = self.assign_unique_values();
        // Rows of people are independent of each other: computed on every core.
        let (rows, row_timers): (Vec<Option<Ordered>>, Vec<BTreeMap<String, Date>>) = (0..self.people.len())
            .into_par_iter()
            .map_init(Scratch::default, |scratch, i| {
                let mut row_timers = BTreeMap::new();
                let row = self.person_row(i, &unique, &mut row_timers, scratch).map(|row| {
                    let depth = if row.action == Action::Create { self.depth(i) } else { 0 };
                    (row.action, depth, i, row)
                });
                (row, row_timers)
            })
            .unzip();
        let unlisted = rows.iter().filter(|r| r.is_none()).count();
        let mut rows: Vec<Ordered> = rows.into_iter().flatten().collect();
        let mut timers: BTreeMap<String, Date> = row_timers.into_iter().flatten().collect();
        let mut unmanaged = 0;
        let mut orphans: Vec<&Entry> = Vec::new();
        for (e, entry) in self.input.live.iter().enumerate() {
            if self.claimed[e] {
                continue;
            }
            if !self.managed[e] {
                unmanaged += 1;
                continue;
            }
            orphans.push(entry);
        }
        orphans.sort_by(|a, b| a.id.cmp(&b.id));
        for (k, entry) in orphans.into_iter().enumerate() {
            let row = self.orphan_row(entry, &mut timers);
            rows.push((row.action, 0, self.people.len() + k, row));
        }
        rows.sort_unstable_by_key(|(action, depth, order, _)| (*action, *depth, *order));
        let mut rows: Vec<Row> = rows.into_iter().map(|(_, _, _, r)| r).collect();
        drop_refs_to_skipped_creates(&mut rows);
        self.finish(rows, timers, unmanaged, unlisted)
    }

    // -- matching ----------------------------------------------------------------------

    fn match_people(&mut self) {
        let live = self.input.live;
        let rules = &self.dir.match_rules;
        let compares: Vec<Compare> = rules
            .iter()
            .map(|r| self.dir.field(&r.attribute).map_or(Compare::Exact, |f| f.compare))
            .collect();
        let indexes: Vec<FxHashMap<Key<'_>, Slot>> = rules
            .par_iter()
            .zip(&compares)
            .map(|(rule, compare)| {
                let mut index: FxHashMap<Key<'_>, Slot> = FxHashMap::default();
                index.reserve(live.len());
                let mut hint = 0;
                for (e, entry) in live.iter().enumerate() {
                    for v in entry
                        .attributes
                        .get_hinted(&rule.attribute, &mut hint)
                        .map(Value::values)
                        .unwrap_or_default()
                    {
                        match index.entry(Key::new(*compare, v)) {
                            std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().add(e as u32),
                            std::collections::hash_map::Entry::Vacant(vacant) => {
                                vacant.insert(Slot::One(e as u32));
                            }
                        }
                    }
                }
                index
            })
            .collect();

        // Each person looks up their entry on their own; who claims which entry is then
        // gathered in order.
        let lookups: Vec<(Found, Slot)> = self
            .people
            .par_iter()
            .map(|p| {
                for (r, rule) in rules.iter().enumerate() {
                    let Some(value) = p.get(&rule.person) else { continue };
                    let owned;
                    let text = match value {
                        FieldValue::Text(t) => t,
                        other => {
                            owned = other.to_text();
                            &owned
                        }
                    };
                    return match indexes[r].get(&Key::new(compares[r], text)) {
                        None => continue,
                        Some(Slot::One(e)) => (Ok(Some((*e as usize, r))), Slot::One(*e)),
                        Some(many) => (
                            Err(format!(
                                "ambiguous: {} entries have the {} of this person in {}",
                                many.items().len(),
                                rule.person,
                                rule.attribute
                            )),
                            many.clone(),
                        ),
                    };
                }
                (Ok(None), Slot::Many(Vec::new()))
            })
            .collect();
        let mut found: Vec<Found> = Vec::with_capacity(self.people.len());
        // Who claims each entry: the people whose match found it.
        let mut claims: Vec<Option<Slot>> = vec![None; live.len()];
        for (i, (result, entries)) in lookups.into_iter().enumerate() {
            for e in entries.items() {
                match &mut claims[*e as usize] {
                    Some(slot) => slot.add(i as u32),
                    none => *none = Some(Slot::One(i as u32)),
                }
            }
            found.push(result);
        }
        for (e, claimants) in claims.iter().enumerate() {
            let Some(claimants) = claimants else { continue };
            self.claimed[e] = true;
            let people = claimants.items();
            if people.len() > 1 {
                for i in people {
                    found[*i as usize] = Err(format!(
                        "ambiguous: the entry matched for this person is also matched by {} other {}",
                        people.len() - 1,
                        if people.len() == 2 { "person" } else { "people" }
                    ));
                }
            }
        }
        self.fates = found
            .iter()
            .map(|f| match f {
                Err(reason) => Fate::Skip(reason.clone()),
                Ok(Some((e, _))) => Fate::Exists(*e),
                Ok(None) => Fate::Nothing(String::new()),
            })
            .collect();
        self.match_reason = found
            .iter()
            .map(|f| match f {
                Ok(Some((_, r))) => self.shared.matched[*r].clone(),
                _ => self.shared.unmatched.clone(),
            })
            .collect();
    }

    // -- lifecycle ---------------------------------------------------------------------

    fn leaving(&self, i: usize, entry_id: Option<&str>) -> Option<Leaving> {
        let p = &self.people[i].person;
        let today = self.today[i];
        let observed = |why: String| Leaving {
            since: entry_id.and_then(|id| self.input.timers.get(id).copied()).unwrap_or(today).min(today),
            why,
            observed: true,
        };
        if let Some(end) = p.end_date {
            if end < today {
                let since = end.tomorrow().unwrap_or(end);
                return Some(Leaving {
                    since,
                    why: format!("left: end date {end} has passed"),
                    observed: false,
                });
            }
        } else if p.employment_status == Some(EmploymentStatus::Terminated) {
            return Some(observed("left: employment status is terminated".into()));
        }
        match &self.decisions[i] {
            Decision::Included => None,
            excluded => Some(observed(format!("out of scope: {excluded}"))),
        }
    }

    fn started(&self, i: usize) -> bool {
        let p = &self.people[i].person;
        match p.start_date {
            Some(start) => start <= self.today[i],
            None => p.employment_status != Some(EmploymentStatus::Pending),
        }
    }

    fn decide_fates(&mut self) {
        for i in 0..self.people.len() {
            if let Some(reason) = &self.people[i].ambiguity {
                self.fates[i] = Fate::Skip(format!("ambiguous: {reason}"));
                continue;
            }
            if !matches!(self.fates[i], Fate::Nothing(_)) {
                continue;
            }
            let p = &self.people[i].person;
            let today = self.today[i];
            self.fates[i] = if let Some(leaving) = self.leaving(i, None) {
                if leaving.why.starts_with("out of scope") {
                    Fate::Nothing(format!("{}; no entry", leaving.why))
                } else {
                    Fate::Nothing(format!("{}; no entry to offboard", leaving.why))
                }
            } else if self.started(i) {
                Fate::Create { enabled: true, why: "joiner: no entry yet".into() }
            } else {
                let days = self.dir.joiners.pre_provision_days;
                match p.start_date {
                    Some(start) => {
                        let from = start.checked_sub((days as i64).days()).unwrap_or(start);
                        if today >= from {
                            Fate::Create {
                                enabled: false,
                                why: format!(
                                    "future joiner: starts {start}; created disabled {days} days ahead (pre_provision_days), enabled on the start date"
                                ),
                            }
                        } else {
                            Fate::Nothing(format!(
                                "future joiner: starts {start}; the entry is created from {from}"
                            ))
                        }
                    }
                    None => {
                        Fate::Nothing("pending joiner without a start date: created once HR sets one".into())
                    }
                }
            };
        }
    }

    // -- attributes --------------------------------------------------------------------

    /// Picks values for `unique` fields of every create, in key order, so the choice
    /// does not depend on anything but the inputs.
    fn assign_unique_values(&mut self) -> FxHashMap<(usize, usize), UniqueValue> {
        let mut out = FxHashMap::default();
        for (f, field) in self.dir.fields.iter().enumerate() {
            let FieldSource::Templates { candidates, unique: true } = &field.source else { continue };
            if !self.fates.iter().any(|f| matches!(f, Fate::Create { .. })) {
                break;
            }
            let mut taken: FxHashSet<Key<'_>> = FxHashSet::default();
            taken.reserve(self.input.live.len());
            let mut hint = 0;
            for e in self.input.live {
                for v in e
                    .attributes
                    .get_hinted(&field.attribute, &mut hint)
                    .map(Value::values)
                    .unwrap_or_default()
                {
                    taken.insert(Key::new(field.compare, v));
                }
            }
            for i in 0..self.people.len() {
                if !matches!(self.fates[i], Fate::Create { .. }) {
                    continue;
                }
                let p = &self.people[i];
                let mut chosen = None;
                let mut rendered_any = false;
                'candidates: for t in candidates {
                    let numbers: Box<dyn Iterator<Item = Option<u32>>> = if t.uses_counter() {
                        Box::new((2..=99).map(Some))
                    } else {
                        Box::new(std::iter::once(None))
                    };
                    for n in numbers {
                        let Some(value) = t.render(p, n) else { continue 'candidates };
                        rendered_any = true;
                        if taken.insert(Key::new(field.compare, &value).into_owned()) {
                            chosen = Some((value, p.owners_of(&t.fields())));
                            break 'candidates;
                        }
                    }
                }
                // Every candidate empty: the field has no value, like any other field.
                if !rendered_any {
                    continue;
                }
                let chosen = chosen.ok_or_else(|| {
                    format!("no free value for `{}`: every candidate is taken", field.attribute)
                });
                out.insert((i, f), chosen);
            }
        }
        out
    }

    fn manager_value(&self, i: usize) -> ManagerValue<'a> {
        match self.people[i].manager {
            ManagerLink::None => ManagerValue::Absent,
            ManagerLink::Unknown => {
                ManagerValue::Unresolved("manager left unset: no record of the manager in the source".into())
            }
            ManagerLink::Person(m) => {
                if let Some(size) = self.cycles.get(&i) {
                    return ManagerValue::Unresolved(format!(
                        "manager left unset: manager cycle of {size} people"
                    ));
                }
                if self.leaving(m, None).is_some() {
                    return ManagerValue::Unresolved(
                        "manager left unset: the manager is out of scope or has left".into(),
                    );
                }
                match &self.fates[m] {
                    Fate::Exists(e) => ManagerValue::Entry(&self.input.live[*e].id),
                    Fate::Create { .. } => ManagerValue::Pending(&self.people[m].key),
                    Fate::Skip(_) => {
                        ManagerValue::Unresolved("manager left unset: the manager's row is skipped".into())
                    }
                    Fate::Nothing(_) => {
                        ManagerValue::Unresolved("manager left unset: the manager has no entry yet".into())
                    }
                }
            }
        }
    }

    fn depth(&self, i: usize) -> u32 {
        let mut depth = 0;
        let mut at = i;
        // Cycles were cut in `manager_value`; the bound is a second line of defence.
        while depth < self.people.len() as u32 {
            match self.manager_value(at) {
                ManagerValue::Pending(_) => {
                    let ManagerLink::Person(m) = self.people[at].manager else { break };
                    at = m;
                    depth += 1;
                }
                _ => break,
            }
        }
        depth
    }

    /// The values of a new entry for person `i`, field by field: `Some((None, _))` is a
    /// field without a value, `None` a field that is never written (`ignore`, or a
    /// manager that cannot be referenced, with a warning).
    fn desired(
        &self,
        i: usize,
        unique: &FxHashMap<(usize, usize), UniqueValue>,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Option<Sourced>>, String> {
        let p = &self.people[i];
        let mut out = Vec::with_capacity(self.dir.fields.len());
        for (f, field) in self.dir.fields.iter().enumerate() {
            if field.mode == FieldMode::Ignore {
                out.push(None);
                continue;
            }
            let value = match &field.source {
                FieldSource::Templates { unique: true, .. } => match unique.get(&(i, f)) {
                    Some(Ok((v, from))) => Some((Some(Planned::Value(Value::One(v.clone()))), from.clone())),
                    Some(Err(reason)) => return Err(reason.clone()),
                    None => Some((None, Vec::new())),
                },
                FieldSource::Templates { candidates, unique: false } => {
                    let rendered = candidates.iter().find_map(|t| t.render(p, None).map(|v| (v, t)));
                    Some(match rendered {
                        Some((v, t)) => (Some(Planned::Value(Value::One(v))), p.owners_of(&t.fields())),
                        None => (None, Vec::new()),
                    })
                }
                FieldSource::Manager => {
                    let from = vec![p.owner(PersonField::Manager).clone()];
                    match self.manager_value(i) {
                        ManagerValue::Absent => Some((None, from)),
                        ManagerValue::Entry(id) => {
                            Some((Some(Planned::Value(Value::One(id.to_owned()))), from))
                        }
                        ManagerValue::Pending(key) => {
                            Some((Some(Planned::EntryOf { entry_of: key.to_owned() }), from))
                        }
                        ManagerValue::Unresolved(warning) => {
                            warnings.push(warning);
                            None
                        }
                    }
                }
            };
            out.push(value);
        }
        Ok(out)
    }

    /// The changes that bring an existing entry in line with the continuous fields.
    /// Values are rendered into one buffer and compared in place: only a value that
    /// differs is copied into the plan.
    fn drift(
        &self,
        i: usize,
        entry: &Entry,
        warnings: &mut Vec<String>,
        scratch: &mut Scratch,
    ) -> Vec<Change> {
        let p = &self.people[i];
        let mut changes = Vec::new();
        let Scratch { buf, hints } = scratch;
        hints.resize(self.dir.fields.len(), 0);
        for (field, hint) in self.dir.fields.iter().zip(hints.iter_mut()) {
            if field.mode != FieldMode::Continuous {
                continue;
            }
            let before = entry.attributes.get_hinted(&field.attribute, hint);
            let (after, from) = match &field.source {
                // A unique field is import_once by construction; never here.
                FieldSource::Templates { unique: true, .. } => continue,
                FieldSource::Templates { candidates, unique: false } => {
                    let used = candidates.iter().find(|t| {
                        buf.clear();
                        t.render_into(p, None, buf)
                    });
                    let text = used.map(|_| buf.trim());
                    if same_text(field.compare, text, before) {
                        continue;
                    }
                    let from = used.map(|t| p.owners_of(&t.fields())).unwrap_or_default();
                    (text.map(|t| Planned::Value(Value::One(t.to_owned()))), from)
                }
                FieldSource::Manager => {
                    let value = self.manager_value(i);
                    let from = || vec![p.owner(PersonField::Manager).clone()];
                    match value {
                        ManagerValue::Absent if before.is_none() => continue,
                        ManagerValue::Absent => (None, from()),
                        ManagerValue::Entry(id) if same_text(field.compare, Some(id), before) => continue,
                        ManagerValue::Entry(id) => (Some(Planned::Value(Value::One(id.to_owned()))), from()),
                        ManagerValue::Pending(key) => {
                            (Some(Planned::EntryOf { entry_of: key.to_owned() }), from())
                        }
                        ManagerValue::Unresolved(warning) => {
                            warnings.push(warning);
                            continue;
                        }
                    }
                }
            };
            changes.push(Change {
                attribute: field.attribute.clone(),
                before: before.cloned(),
                after,
                mode: field.mode,
                from,
                personal: field.personal,
            });
        }
        changes
    }

    // -- rows --------------------------------------------------------------------------

    fn person_view(&self, i: usize) -> PersonView {
        let p = &self.people[i];
        let name = p.person.display_name.clone().or_else(|| {
            let first = p.person.preferred_name.as_ref().or(p.person.first_name.as_ref());
            match (first, &p.person.last_name) {
                (Some(f), Some(l)) => Some(format!("{f} {l}")),
                (Some(f), None) => Some(f.clone()),
                (None, Some(l)) => Some(l.clone()),
                (None, None) => None,
            }
        });
        PersonView {
            key: p.key.clone(),
            employee_number: p.person.employee_number.clone(),
            name,
            sources: p.sources(),
        }
    }

    fn scope_reason(&self, i: usize) -> Arc<str> {
        match &self.decisions[i] {
            Decision::Included => match self.included.get(&self.people[i].person.source) {
                Some(reason) => reason.clone(),
                None => Arc::from("in scope"),
            },
            excluded => Arc::from(excluded.to_string()),
        }
    }

    fn row(&self, action: Action, i: Option<usize>, entry: Option<&Entry>, reasons: Vec<Arc<str>>) -> Row {
        Row {
            action,
            person: i.map(|i| self.person_view(i)),
            entry: entry.map(|e| e.id.clone()),
            reasons,
            changes: Vec::new(),
            enabled: None,
            warnings: Vec::new(),
            revision: entry.and_then(|e| e.revision.clone()),
            entry_personal: true,
        }
    }

    /// The row of person `i`, or `None` when their entry is up to date and unchanged
    /// rows are not listed.
    fn person_row(
        &self,
        i: usize,
        unique: &FxHashMap<(usize, usize), UniqueValue>,
        timers: &mut BTreeMap<String, Date>,
        scratch: &mut Scratch,
    ) -> Option<Row> {
        let scope = || self.scope_reason(i);
        let matched = || self.match_reason[i].clone();
        let e = match &self.fates[i] {
            // For a skip, the ambiguity is the outcome of matching.
            Fate::Skip(reason) => {
                return Some(self.row(Action::Skip, Some(i), None, vec![scope(), reason.as_str().into()]));
            }
            Fate::Nothing(reason) => {
                return Some(self.row(
                    Action::Noop,
                    Some(i),
                    None,
                    vec![scope(), matched(), reason.as_str().into()],
                ));
            }
            Fate::Create { enabled, why } => {
                return Some(self.create_row(
                    i,
                    *enabled,
                    vec![scope(), matched(), why.as_str().into()],
                    unique,
                ));
            }
            Fate::Exists(e) => *e,
        };
        let entry = &self.input.live[e];
        if let Some(leaving) = self.leaving(i, Some(&entry.id)) {
            let mut reasons = vec![scope(), matched()];
            if !self.managed[e] {
                reasons.push(
                    format!("{}; the entry is not managed by hrsync, so it is left alone", leaving.why)
                        .into(),
                );
                return Some(self.row(Action::Noop, Some(i), Some(entry), reasons));
            }
            if leaving.observed {
                timers.insert(entry.id.clone(), leaving.since);
            }
            return Some(self.leaver_row(Some(i), entry, leaving, reasons, self.today[i]));
        }
        let mut warnings = Vec::new();
        let mut changes = self.drift(i, entry, &mut warnings, scratch);
        // A marker with a value is hrsync's to set; a presence marker is a mapped field,
        // set by the drift above.
        let take_over = self.dir.marker.as_ref().filter(|m| m.value.is_some() && !self.managed[e]);
        if let Some(m) = take_over {
            changes.push(marker_change(m, entry.attributes.get(&m.attribute).cloned()));
        }
        let status = self.people[i].person.employment_status;
        let enable = !entry.enabled && self.started(i) && status != Some(EmploymentStatus::Leave);
        let up_to_date = changes.is_empty() && !enable;
        if up_to_date && warnings.is_empty() && !self.input.list_unchanged {
            return None;
        }
        let mut row = self.row(Action::Noop, Some(i), Some(entry), Vec::with_capacity(4));
        row.reasons.extend([scope(), matched()]);
        if take_over.is_some() {
            row.reasons.push("hrsync takes over the entry: it sets the ownership marker".into());
        }
        if enable {
            row.enabled = Some(EnabledChange { before: Some(false), after: true });
            row.reasons.push("active in HR: the disabled entry is enabled".into());
        }
        let marker = self.dir.marker.as_ref().filter(|m| m.value.is_some()).map(|m| m.attribute.as_str());
        let fields: Vec<&str> =
            changes.iter().map(|c| c.attribute.as_str()).filter(|a| Some(*a) != marker).collect();
        if !fields.is_empty() {
            row.reasons.push(format!("differs from HR: {}", fields.join(", ")).into());
        }
        if up_to_date {
            row.reasons.push(self.shared.up_to_date.clone());
        } else {
            row.action = Action::Update;
        }
        row.changes = changes;
        row.warnings = warnings;
        Some(row)
    }

    /// The row creating person `i`'s entry.
    fn create_row(
        &self,
        i: usize,
        enabled: bool,
        reasons: Vec<Arc<str>>,
        unique: &FxHashMap<(usize, usize), UniqueValue>,
    ) -> Row {
        let mut row = self.row(Action::Create, Some(i), None, reasons);
        let mut warnings = Vec::new();
        let desired = match self.desired(i, unique, &mut warnings) {
            Ok(d) => d,
            Err(reason) => {
                row.action = Action::Skip;
                row.reasons.push(reason.into());
                return row;
            }
        };
        row.changes = self
            .dir
            .fields
            .iter()
            .zip(desired)
            .filter_map(|(field, d)| {
                let (after, from) = d?;
                Some(Change {
                    attribute: field.attribute.clone(),
                    before: None,
                    after: Some(after?),
                    mode: field.mode,
                    from,
                    personal: field.personal,
                })
            })
            .collect();
        let has_key =
            self.dir.match_rules.iter().any(|r| row.changes.iter().any(|c| c.attribute == r.attribute));
        if !has_key {
            row.action = Action::Skip;
            row.changes.clear();
            row.reasons.push(
                "no value for any match attribute: an entry created now could not be found again".into(),
            );
            return row;
        }
        if let Some(m) = self.dir.marker.as_ref().filter(|m| m.value.is_some()) {
            row.changes.push(marker_change(m, None));
        }
        row.enabled = Some(EnabledChange { before: None, after: enabled });
        row.warnings = warnings;
        row
    }

    fn orphan_row(&self, entry: &Entry, timers: &mut BTreeMap<String, Date>) -> Row {
        let mut reasons: Vec<Arc<str>> = vec!["no person in any source matches this entry".into()];
        match &self.absence_blocker {
            Some(blocker) => {
                reasons.push(format!("not treated as a leaver, because {blocker}").into());
                self.row(Action::Noop, None, Some(entry), reasons)
            }
            None => {
                let today = self.workspace_today;
                let since = self.input.timers.get(&entry.id).copied().unwrap_or(today).min(today);
                timers.insert(entry.id.clone(), since);
                let leaving = Leaving { since, why: "left: gone from every source".into(), observed: true };
                self.leaver_row(None, entry, leaving, reasons, today)
            }
        }
    }

    fn leaver_row(
        &self,
        i: Option<usize>,
        entry: &Entry,
        leaving: Leaving,
        mut reasons: Vec<Arc<str>>,
        today: Date,
    ) -> Row {
        let leavers = &self.dir.leavers;
        let since = if leaving.observed {
            format!("first seen {}", leaving.since)
        } else {
            format!("since {}", leaving.since)
        };
        reasons.push(format!("{} ({since})", leaving.why).into());
        let act_on = leaving.since.checked_add((leavers.grace_days as i64).days()).unwrap_or(leaving.since);
        let action = if leavers.action == LeaverAction::Ignore {
            reasons.push("leavers.action is `ignore`".into());
            Action::Noop
        } else if today < act_on {
            reasons.push(format!("grace period of {} days: acting on {act_on}", leavers.grace_days).into());
            Action::Noop
        } else if leavers.action == LeaverAction::Delete {
            Action::Delete
        } else if entry.enabled {
            Action::Disable
        } else {
            match leavers.delete_after_days {
                Some(days) => {
                    let delete_on = act_on.checked_add((days as i64).days()).unwrap_or(act_on);
                    if today >= delete_on {
                        reasons.push(format!("disabled, and delete_after_days ({days}) has passed").into());
                        Action::Delete
                    } else {
                        reasons.push(format!("already disabled; deleted on {delete_on}").into());
                        Action::Noop
                    }
                }
                None => {
                    reasons.push("already disabled".into());
                    Action::Noop
                }
            }
        };
        let mut row = self.row(action, i, Some(entry), reasons);
        if action == Action::Disable {
            row.enabled = Some(EnabledChange { before: Some(true), after: false });
        }
        row
    }

    // -- guards and id -----------------------------------------------------------------

    fn finish(
        self,
        rows: Vec<Row>,
        timers: BTreeMap<String, Date>,
        unmanaged: usize,
        unlisted: usize,
    ) -> Plan {
        let mut summary = Summary { unmanaged, unlisted, noop: unlisted, ..Summary::default() };
        for r in &rows {
            match r.action {
                Action::Create => summary.create += 1,
                Action::Update => summary.update += 1,
                Action::Disable => summary.disable += 1,
                Action::Delete => summary.delete += 1,
                Action::Noop => summary.noop += 1,
                Action::Skip => summary.skip += 1,
            }
            if !r.warnings.is_empty() {
                summary.warnings += 1;
            }
        }
        let limits = &self.dir.safety;
        let safety = SafetyCheck {
            managed: self.managed.iter().filter(|m| **m).count(),
            disables: summary.disable + summary.delete,
            updates: summary.update,
            max_disable_percent: limits.max_disable_percent,
            max_update_percent: limits.max_update_percent,
            max_disable_count: limits.max_disable_count,
            max_update_count: limits.max_update_count,
        };

        let mut failed: Vec<String> = Vec::new();
        for s in self.input.sources {
            if let SourceHealth::Unhealthy { reason } = &s.health {
                failed.push(format!("source `{}` is unhealthy: {reason}", s.id));
            }
        }
        let exceeded = mass_change(&safety);

        let id = plan_id(self.input, self.workspace_today, &timers);
        let approved = !exceeded.is_empty() && self.input.approvals.contains(&id);
        let (status, blocked_by) = if !failed.is_empty() {
            (PlanStatus::Failed, failed)
        } else if !exceeded.is_empty() && !approved {
            (PlanStatus::Blocked, exceeded)
        } else if summary.changes() == 0 {
            (PlanStatus::NoChanges, Vec::new())
        } else {
            (PlanStatus::Ready, if approved { exceeded } else { Vec::new() })
        };

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
            approved,
            summary,
            safety,
            sources: self
                .input
                .sources
                .iter()
                .map(|s| SourceView { id: s.id.clone(), health: s.health.clone(), people: s.people })
                .collect(),
            rows,
            timers,
        }
    }
}

/// A manager's create can turn into a skip late (no free unique value, no match key).
/// Rows that referenced that entry leave the manager unset instead, with a warning.
fn drop_refs_to_skipped_creates(rows: &mut [Row]) {
    let created: BTreeSet<String> = rows
        .iter()
        .filter(|r| r.action == Action::Create)
        .filter_map(|r| r.person.as_ref().map(|p| p.key.clone()))
        .collect();
    for row in rows.iter_mut() {
        let before = row.changes.len();
        row.changes.retain(
            |c| !matches!(&c.after, Some(Planned::EntryOf { entry_of }) if !created.contains(entry_of)),
        );
        if row.changes.len() != before {
            row.warnings.push("manager left unset: the manager's entry is not created in this plan".into());
            if row.action == Action::Update && row.changes.is_empty() && row.enabled.is_none() {
                row.action = Action::Noop;
            }
        }
    }
}

fn marker_change(marker: &crate::config::Marker, before: Option<Value>) -> Change {
    Change {
        attribute: marker.attribute.clone(),
        before,
        after: marker.value.clone().map(|v| Planned::Value(Value::One(v))),
        mode: FieldMode::Continuous,
        from: Vec::new(),
        personal: false,
    }
}

/// Why the plan exceeds the mass-change limits, if it does.
fn mass_change(s: &SafetyCheck) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: &str,
                     n: usize,
                     (percent_name, max_percent): (&str, f64),
                     (count_name, max_count): (&str, Option<u64>)| {
        if s.managed > 0 {
            let share = n as f64 * 100.0 / s.managed as f64;
            if share > max_percent {
                out.push(format!(
                    "{n} {what} are {share:.1} % of {} managed entries, above {percent_name} {max_percent}",
                    s.managed
                ));
            }
        }
        if let Some(max) = max_count
            && n as u64 > max
        {
            out.push(format!("{n} {what} are above {count_name} {max}"));
        }
    };
    check(
        "disables and deletes",
        s.disables,
        ("max_disable_percent", s.max_disable_percent),
        ("max_disable_count", s.max_disable_count),
    );
    check(
        "updates",
        s.updates,
        ("max_update_percent", s.max_update_percent),
        ("max_update_count", s.max_update_count),
    );
    out
}

/// People whose manager chain loops back to them, with the size of their loop.
fn manager_cycles(people: &[MergedPerson]) -> HashMap<usize, usize> {
    let mut state = vec![0u8; people.len()]; // 0 new, 1 on the current path, 2 done
    let mut out = HashMap::new();
    for start in 0..people.len() {
        let mut path = Vec::new();
        let mut at = start;
        loop {
            match state[at] {
                2 => break,
                1 => {
                    if let Some(pos) = path.iter().position(|p| *p == at) {
                        let size = path.len() - pos;
                        for p in &path[pos..] {
                            out.insert(*p, size);
                        }
                    }
                    break;
                }
                _ => {}
            }
            state[at] = 1;
            path.push(at);
            match people[at].manager {
                ManagerLink::Person(m) => at = m,
                _ => break,
            }
        }
        for p in path {
            state[p] = 2;
        }
    }
    out
}

/// The plan id: a hash of everything the plan depends on. Of the leaver timers, only
/// those the plan uses count, as it uses them: a plan made before a leaver's timer was
/// recorded and one made after, the same day, are the same plan.
fn plan_id(input: &PlanInput<'_>, as_of: Date, timers: &BTreeMap<String, Date>) -> PlanId {
    let mut h = ContentHash::new();
    h.text("hrsync-plan-1");
    h.text(&input.config.fingerprint);
    h.text(input.directory.id.as_str());
    h.text(&as_of.to_string());
    h.text(input.inputs_hash);
    for s in input.sources {
        h.text(s.id.as_str());
        h.text(&serde_json::to_string(&s.health).unwrap_or_default());
    }
    // The directory's order is not part of its content.
    let mut live: Vec<&Entry> = input.live.iter().collect();
    live.sort_by(|a, b| a.id.cmp(&b.id));
    h.items(&live, |h, e| h.entry(e));
    for (id, date) in timers {
        h.text(id);
        h.text(&date.to_string());
    }
    let digest = h.finish();
    let mut first = [0; 16];
    first.copy_from_slice(&digest[..16]);
    PlanId::from_digest(first)
}
