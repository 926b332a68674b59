//! Reading one source in a run: nothing for a disabled source, the last good read for one
//! not selected with `--source`, a delta read only onto a snapshot as of the watermark,
//! and the health of what came back ([`health`](crate::plan::guard::health)). A read
//! that is not trusted leaves the last good read in place.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tracing::{info, warn};

use super::{Run, RunError, SourceOutcome, SourceRun};
use crate::config::SourceConfig;
use crate::digest::ContentHash;
use crate::model::{FieldRef, Person, Record, error_chain};
use crate::plan::SourceHealth;
use crate::plan::guard::health::{self, Read, Verdict};
use crate::report::Fetched;
use crate::source::{self, Completeness, Fetch, FetchRequest};
use crate::state::{RunState, SkippedRow, Snapshot};

impl Run {
    /// Reads one source (unless it is disabled or not selected), merges a delta read
    /// into the last good read, and judges the read's health.
    pub(super) async fn fetch_one(
        &self,
        cfg: &SourceConfig,
        only: super::Select<'_>,
        state: &RunState,
        progress: Arc<std::sync::atomic::AtomicUsize>,
    ) -> Result<SourceRun, RunError> {
        let id = cfg.id.clone();
        let mut run = SourceRun {
            id: id.clone(),
            outcome: SourceOutcome::Read,
            health: SourceHealth::Healthy,
            records: None,
            skipped: Vec::new(),
            fetched: None,
            full: false,
            cursor: None,
        };
        if !cfg.enabled {
            run.outcome = SourceOutcome::Disabled;
            run.health = SourceHealth::Disabled;
            return Ok(run);
        }
        let last_good = self.store.snapshot(&id)?.map(Arc::new);
        let not_read = match only {
            super::Select::All => None,
            super::Select::Only(o) => (o != id.as_str()).then_some("not selected with --source"),
            super::Select::None => Some("not read: --offline"),
        };
        if let Some(reason) = not_read {
            run.outcome = SourceOutcome::NotSelected;
            run.health = SourceHealth::Snapshot { reason: reason.into() };
            run.records = last_good;
            return Ok(run);
        }
        let previous = state.sources.get(&id);
        // A delta is read only onto a last good read as of the watermark: a snapshot
        // left by another run (a state taken over from the reports branch, a restored
        // backup) means a full read.
        let watermark = previous.and_then(|p| p.last_sync_at);
        let since = match &last_good {
            Some(snapshot) if cfg.delta && watermark.is_some() && snapshot.as_of == watermark => watermark,
            _ => None,
        };
        // Only full reads see who is gone: a delta source reads in full every
        // `full_every`, counted from its last full read.
        let full_due = cfg.full_every().is_some_and(|every| {
            let last = previous.and_then(|p| p.last_full_at);
            last.is_none_or(|at| self.now.duration_since(at).unsigned_abs() >= every)
        });
        let since = since.filter(|_| !full_due);
        let cursor = since.and(previous.and_then(|p| p.cursor.clone()));
        let source = source::build(cfg, self.files.clone());
        let fetched = source
            .fetch(&FetchRequest {
                since,
                cursor,
                progress: Some(progress),
                today: Some(self.now.to_zoned(self.config.workspace.timezone.clone()).date()),
            })
            .await;
        match fetched {
            Err(e) => {
                let reason = error_chain(&e);
                warn!(source = %id, kind = e.label(), error = %reason, "source failed");
                run.outcome = SourceOutcome::Failed(reason.clone());
                run.health = SourceHealth::Unhealthy { reason };
                run.records = last_good;
            }
            Ok(Fetch::Skip { reason }) => {
                info!(source = %id, "source asked to skip this run");
                run.outcome = SourceOutcome::Skipped(reason.clone());
                run.health =
                    SourceHealth::Snapshot { reason: format!("the source asked to skip this run: {reason}") };
                run.records = last_good;
            }
            Ok(Fetch::Records(mut batch)) => {
                run.fetched = Some(Fetched {
                    employees: batch.people.len(),
                    employments: batch.employments.len(),
                    org_units: batch.org_units.len(),
                    legal_entities: batch.legal_entities,
                    work_locations: batch.work_locations,
                });
                let delta = batch.completeness == Completeness::Delta;
                run.full = !delta;
                run.cursor = batch.cursor.clone();
                // A filter (the source's or a directory's) that tests a withheld field
                // would decide for everyone on a value the source never sent: nobody is
                // judged by such a read.
                let filtered: Vec<&str> = batch
                    .withheld
                    .iter()
                    .filter(|w| {
                        let Ok(field) = w.field.parse::<FieldRef>() else { return false };
                        let directories = self.config.directories.iter().flat_map(|d| &d.filters);
                        cfg.filters
                            .iter()
                            .chain(directories)
                            .filter_map(|id| self.config.filters.get(id))
                            .any(|f| {
                                f.include.iter().chain(&f.exclude).any(|rule| {
                                    rule.field == field
                                        || (rule.field == FieldRef::OrgUnitName
                                            && field == FieldRef::Person(crate::model::PersonField::OrgUnit))
                                })
                            })
                    })
                    .map(|w| w.field.as_str())
                    .collect();
                if !filtered.is_empty() && batch.incomplete.is_none() {
                    batch.incomplete = Some(format!(
                        "no record carried {}, which filters test: hrsync cannot tell who is in scope; {}",
                        filtered.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", "),
                        batch.withheld.first().map(|w| w.grant.as_str()).unwrap_or_default()
                    ));
                }
                for w in &batch.withheld {
                    warn!(source = %id, field = %w.field, key = %w.key, "no record carried the field: the directories keep what they hold for it; {}", w.grant);
                }
                let removed = std::mem::take(&mut batch.removed);
                let unsent = std::mem::take(&mut batch.unsent);
                let fresh = Snapshot {
                    people: share_people(batch.people),
                    employments: batch.employments,
                    org_units: batch.org_units,
                    as_of: None,
                    skipped: batch.skipped.iter().map(SkippedRow::keep).collect(),
                    withheld: batch.withheld,
                };
                run.skipped = batch.skipped;
                let records = match (delta, &last_good) {
                    (true, Some(base)) if since.is_some() => apply_delta(
                        base,
                        fresh,
                        &removed,
                        &unsent,
                        self.now.to_zoned(self.config.workspace.timezone.clone()).date(),
                    ),
                    (true, _) => {
                        // A delta with no base to merge it into would look like everyone
                        // else left: treat the source as unhealthy for this run.
                        let reason = "answered a full read with a delta; hrsync has no base to merge it into"
                            .to_owned();
                        warn!(source = %id, reason = %reason, "source unhealthy");
                        run.outcome = SourceOutcome::Failed(reason.clone());
                        run.health = SourceHealth::Unhealthy { reason };
                        run.records = last_good;
                        return Ok(run);
                    }
                    (false, _) => fresh,
                };
                let people = records.people.len();
                let verdict = health::assess(&Read {
                    incomplete: batch.incomplete.as_deref(),
                    people,
                    last_good_people: previous.and_then(|p| p.last_good_people),
                    min_share: self.config.workspace.safety.min_source_share,
                    other_rows: records.employments.len() + records.org_units.len(),
                    skipped_rows: run.skipped.len(),
                    max_skipped_share: self.config.workspace.safety.max_skipped_share,
                });
                info!(source = %id, people, skipped = run.skipped.len(), "source read");
                match verdict {
                    Some(Verdict::Unhealthy(reason)) => {
                        warn!(source = %id, reason = %reason, "source unhealthy");
                        run.outcome = SourceOutcome::Failed(reason.clone());
                        run.health = SourceHealth::Unhealthy { reason };
                        run.records = last_good;
                    }
                    Some(Verdict::Shrunk(reason)) => {
                        warn!(source = %id, reason = %reason, "source shrank: the plan waits for an approval");
                        run.outcome = SourceOutcome::Shrunk(reason.clone());
                        run.health = SourceHealth::Shrunk { reason };
                        run.records = Some(Arc::new(records));
                    }
                    None => {
                        run.health = if delta { SourceHealth::Delta } else { SourceHealth::Healthy };
                        run.records = Some(Arc::new(records));
                    }
                }
            }
        }
        Ok(run)
    }
}

/// A delta read merged into the last good read: records replace those of the same id.
/// Nobody leaves by being absent from a delta; a person an explicit deletion marker
/// names (`removed`) stays with their last record marked terminated, so that the plan
/// treats them as a leaver by their status (absence is judged only after full reads),
/// until a full read no longer lists them. A field a delta record does not carry at all
/// (`unsent`: Graph leaves out a manager that did not change) keeps its last value.
fn apply_delta(
    base: &Snapshot,
    mut delta: Snapshot,
    removed: &[String],
    unsent: &BTreeMap<String, Vec<FieldRef>>,
    today: jiff::civil::Date,
) -> Snapshot {
    if !unsent.is_empty() {
        let by_id: BTreeMap<&str, &Arc<Person>> = base.people.iter().map(|p| (p.id.as_str(), p)).collect();
        for person in delta.people.iter_mut() {
            let (Some(fields), Some(old)) = (unsent.get(&person.id), by_id.get(person.id.as_str())) else {
                continue;
            };
            let person = Arc::make_mut(person);
            for field in fields {
                match field {
                    FieldRef::Person(f) => {
                        person.fill_from(old, *f);
                    }
                    FieldRef::Custom(name) => {
                        if let Some(v) = old.custom.get(name) {
                            person.custom.entry(name.clone()).or_insert_with(|| v.clone());
                        }
                    }
                    FieldRef::OrgUnitName | FieldRef::Source => {}
                }
            }
        }
    }
    let gone: BTreeSet<&str> = removed.iter().map(String::as_str).collect();
    let base = &Snapshot {
        people: base
            .people
            .iter()
            .map(|p| {
                if gone.contains(p.id.as_str()) {
                    let mut tombstone = crate::model::Person::clone(p);
                    tombstone.employment_status = Some(crate::model::EmploymentStatus::Terminated);
                    // An end date still ahead would keep them on until then: they are
                    // gone now.
                    if tombstone.end_date.is_some_and(|end| end >= today) {
                        tombstone.end_date = None;
                    }
                    Arc::new(tombstone)
                } else {
                    p.clone()
                }
            })
            .collect(),
        ..base.clone()
    };
    fn merge<T: Clone>(base: &[T], delta: Vec<T>, id: impl Fn(&T) -> &str) -> Vec<T> {
        let changed: BTreeSet<String> = delta.iter().map(|r| id(r).to_owned()).collect();
        let mut out: Vec<T> = base.iter().filter(|r| !changed.contains(id(r))).cloned().collect();
        out.extend(delta);
        out
    }
    // A row the base read skipped stays skipped until its person's record comes again.
    let read: BTreeSet<&str> = delta.people.iter().map(|p| p.id.as_str()).collect();
    let mut skipped: Vec<SkippedRow> = base
        .skipped
        .iter()
        .filter(|s| s.partial.as_ref().is_none_or(|p| !read.contains(p.id.as_str())))
        .cloned()
        .collect();
    skipped.extend(delta.skipped.iter().cloned());
    Snapshot {
        people: merge(&base.people, delta.people, |p| &p.id),
        employments: merge(&base.employments, delta.employments, |e| &e.id),
        org_units: merge(&base.org_units, delta.org_units, |u| &u.id),
        as_of: None,
        skipped,
        // What the last full read could not see, a delta cannot tell either.
        withheld: base.withheld.clone(),
    }
}

/// A hash of the records taking part, by source: part of every plan's id. Records are
/// hashed as a set, by id: an API that pages in another order gives the same plan id,
/// so an approval still names it.
pub fn hash_inputs(records: &[(&SourceConfig, &Snapshot)]) -> String {
    let mut h = ContentHash::new();
    for (cfg, snapshot) in records {
        h.text(cfg.id.as_str());
        let people: Vec<&crate::model::Person> = snapshot.people.iter().map(|p| &**p).collect();
        h.items(&as_set(people), |h, p| h.person(p));
        let employments = as_set(snapshot.employments.iter().collect());
        h.bytes(&(employments.len() as u64).to_le_bytes());
        employments.iter().for_each(|e| h.employment(e));
        let units = as_set(snapshot.org_units.iter().collect());
        h.bytes(&(units.len() as u64).to_le_bytes());
        units.iter().for_each(|u| h.org_unit(u));
    }
    h.finish_hex()
}

/// A read's people, each shared from here on (the merge shares them further).
///
/// Not `into_iter().map(Arc::new).collect()`: that collects in place and keeps the
/// buffer of the records themselves (500 bytes a person) under the pointers to them
/// (8 bytes a person) for as long as the snapshot lives.
pub fn share_people(people: Vec<Person>) -> Vec<Arc<Person>> {
    let mut out = Vec::with_capacity(people.len());
    out.extend(people.into_iter().map(Arc::new));
    out
}

/// Records in an order of their own (id, then where they were read), whatever order the
/// source returned them in.
fn as_set<T: Record>(mut records: Vec<&T>) -> Vec<&T> {
    records.sort_by(|a, b| (a.record_id(), a.location()).cmp(&(b.record_id(), b.location())));
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> jiff::civil::Date {
        jiff::civil::date(2026, 11, 25)
    }

    #[test]
    fn deltas_replace_records_by_id() {
        let base = Snapshot {
            people: vec![Arc::new(Person::test("E1")), Arc::new(Person::test("E2").title("A"))],
            ..Default::default()
        };
        let delta = Snapshot {
            people: vec![Arc::new(Person::test("E2").title("B")), Arc::new(Person::test("E3"))],
            ..Default::default()
        };
        let merged = apply_delta(&base, delta, &[], &BTreeMap::new(), day());
        let ids: Vec<&str> = merged.people.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["E1", "E2", "E3"]);
        assert_eq!(merged.people[1].job_title.as_deref(), Some("B"));
    }

    #[test]
    fn a_deletion_marker_in_a_delta_makes_a_leaver_by_status_and_absence_makes_none() {
        let mut e3 = Person::test("E3");
        e3.end_date = Some(jiff::civil::date(2026, 12, 31));
        let base = Snapshot {
            people: vec![Arc::new(Person::test("E1")), Arc::new(Person::test("E2")), Arc::new(e3)],
            ..Default::default()
        };
        let delta = Snapshot { people: vec![Arc::new(Person::test("E2").title("B"))], ..Default::default() };
        let merged = apply_delta(&base, delta, &["E3".to_owned(), "E9".to_owned()], &BTreeMap::new(), day());
        let ids: Vec<&str> = merged.people.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["E1", "E3", "E2"], "E1 is not in the delta and stays; E9 was never there");
        assert_eq!(merged.people[0].employment_status, Some(crate::model::EmploymentStatus::Active));
        assert_eq!(merged.people[1].employment_status, Some(crate::model::EmploymentStatus::Terminated));
        assert_eq!(merged.people[1].end_date, None, "an end date ahead no longer keeps them on");
    }

    #[test]
    fn a_field_a_delta_record_does_not_carry_keeps_its_last_value() {
        let mut old = Person::test("E1").title("Boss");
        old.manager = Some("E0".into());
        old.department = Some("Sales".into());
        let base = Snapshot { people: vec![Arc::new(old)], ..Default::default() };
        // The delta carries the title (changed) and the department key as null; the
        // manager key is not in the record at all.
        let delta =
            Snapshot { people: vec![Arc::new(Person::test("E1").title("CEO"))], ..Default::default() };
        let unsent =
            BTreeMap::from([("E1".to_owned(), vec![FieldRef::Person(crate::model::PersonField::Manager)])]);
        let merged = apply_delta(&base, delta, &[], &unsent, day());
        let p = &merged.people[0];
        assert_eq!(p.job_title.as_deref(), Some("CEO"));
        assert_eq!(p.manager.as_deref(), Some("E0"), "not carried: kept");
        assert_eq!(p.department, None, "carried as null: cleared");
    }

    #[test]
    fn the_inputs_hash_does_not_depend_on_the_order_records_came_in() {
        let files = crate::config::files::MemFiles::default()
            .with("hrsync.yaml", "version: 1\nworkspace: t\n")
            .with("sources/s.yaml", "version: 1\ntype: csv\npath: p.csv\n");
        let config = crate::config::load(&files).unwrap();
        let (a, b) = (Arc::new(Person::test("E1")), Arc::new(Person::test("E2").title("A")));
        let one = Snapshot { people: vec![a.clone(), b.clone()], ..Default::default() };
        let other = Snapshot { people: vec![b, a], ..Default::default() };
        let source = &config.sources[0];
        assert_eq!(hash_inputs(&[(source, &one)]), hash_inputs(&[(source, &other)]));
        let changed = Snapshot { people: vec![Arc::new(Person::test("E1"))], ..Default::default() };
        assert_ne!(hash_inputs(&[(source, &one)]), hash_inputs(&[(source, &changed)]));
    }
}
