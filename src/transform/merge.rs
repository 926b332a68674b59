//! Merge people that several sources describe, field by field by priority (DESIGN §4.3).
//!
//! Records of different sources describe the same person when the first field of a
//! source's `match_key` chain that has a value finds exactly one person already known.
//! Within a person, records are ordered by inclusion (records their source's filters
//! include come first), then priority, then source id; each field takes the first value
//! in that order, and the source it came from is kept for reports. Two records of one
//! source that claim the same person, or a record that fits two people, make the
//! person `ambiguous`: the plan skips them rather than guess.
//!
//! The result, a [`Population`], also resolves each person's manager (a record id in
//! the source that provided the `manager` field) to another person, fills a person's
//! employment fields from their latest employment where the person record lacks them,
//! and looks up the name of their org unit.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use crate::config::SourceConfig;
use crate::model::filter::{self, Decision, Filter};
use crate::model::template::{PersonOnly, Vars};
use crate::model::{Compare, FilterId, SourceId};
use crate::model::{Employment, FieldRef, FieldValue, OrgUnit, Person, PersonField};
use crate::model::{Key, KeyIndex, Withheld};

/// The records of one source that take part in a merge.
#[derive(Clone, Copy, Debug)]
pub struct SourceRecords<'a> {
    /// The source.
    pub config: &'a SourceConfig,
    /// Its people.
    pub people: &'a [Arc<Person>],
    /// Its employments.
    pub employments: &'a [Employment],
    /// Its org units.
    pub org_units: &'a [OrgUnit],
    /// Mapped fields its last full read did not carry for anyone.
    pub withheld: &'a [Withheld],
}

/// Everyone the sources describe, merged.
#[derive(Clone, Debug, Default)]
pub struct Population {
    /// People, sorted by key.
    pub people: Vec<MergedPerson>,
}

/// One person as all sources describe them.
#[derive(Clone, Debug)]
pub struct MergedPerson {
    /// Stable key: `<source>:<record id>` of the person's first record.
    pub key: String,
    /// The merged record; `source` and `id` are those of the first record. Shared with
    /// the source's records when only one record describes the person.
    pub person: Arc<Person>,
    /// Every record merged in, first record first.
    pub records: Vec<RecordRef>,
    /// Fields whose value came from another source than the first record's.
    pub owners: Vec<(PersonField, SourceId)>,
    /// Whether the sources' filters include the person.
    pub decision: Decision,
    /// The person's manager, as an index into [`Population::people`].
    pub manager: ManagerLink,
    /// Name of the person's org unit (one copy per unit, shared by its people).
    pub org_unit_name: Option<Arc<str>>,
    /// Why the person cannot be synced safely, when records conflict.
    pub ambiguity: Option<String>,
    /// Fields a source of the person's records could not see for anyone
    /// ([`Withheld`]): where the person has no value for one, directories keep theirs.
    /// (Boxed: almost always absent, and a population holds a million of these.)
    pub withheld: Option<Box<Vec<FieldRef>>>,
}

impl MergedPerson {
    /// Whether `field` is withheld from this person: a source could not see it, and no
    /// other gave a value.
    pub fn is_withheld(&self, field: &FieldRef) -> bool {
        let Some(withheld) = &self.withheld else { return false };
        let field = match field {
            FieldRef::OrgUnitName => &FieldRef::Person(PersonField::OrgUnit),
            other => other,
        };
        withheld.contains(field) && self.get(field).is_none()
    }
}

/// A record that was merged into a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRef {
    /// Its source.
    pub source: SourceId,
    /// Its id there.
    pub id: String,
    /// Its source's priority.
    pub priority: i32,
    /// Whether its source's filters include it.
    pub included: bool,
}

/// What a person's `manager` field points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManagerLink {
    /// The field is absent (or names the person themself, as some HR systems do for
    /// the head of the company).
    None,
    /// Another person.
    Person(usize),
    /// No record of that id exists in the source.
    Unknown,
}

impl MergedPerson {
    /// The source that provided a field's value.
    pub fn owner(&self, field: PersonField) -> &SourceId {
        self.owners.iter().find(|(f, _)| *f == field).map_or(&self.person.source, |(_, s)| s)
    }

    /// The sources that provided the fields a template reads, without repeats.
    pub fn owners_of(&self, fields: &[FieldRef]) -> Vec<SourceId> {
        let mut out: Vec<SourceId> = Vec::new();
        for f in fields {
            let owner = match f {
                FieldRef::Person(pf) => self.owner(*pf),
                FieldRef::OrgUnitName => self.owner(PersonField::OrgUnit),
                FieldRef::Custom(_) | FieldRef::Source => &self.person.source,
            };
            if !out.contains(owner) {
                out.push(owner.clone());
            }
        }
        out
    }

    /// The sources of every record, first record first.
    pub fn sources(&self) -> Vec<SourceId> {
        let mut out: Vec<SourceId> = Vec::new();
        for r in &self.records {
            if !out.contains(&r.source) {
                out.push(r.source.clone());
            }
        }
        out
    }
}

impl Vars for MergedPerson {
    fn get(&self, field: &FieldRef) -> Option<FieldValue<'_>> {
        match field {
            FieldRef::Person(f) => self.person.get(*f),
            FieldRef::Custom(name) => self.person.custom.get(name).map(|v| FieldValue::Text(v)),
            FieldRef::OrgUnitName => self.org_unit_name.as_deref().map(FieldValue::Text),
            FieldRef::Source => Some(FieldValue::Text(self.person.source.as_str())),
        }
    }
}

/// A person record with its source's filter decision, before merging.
struct Candidate<'a> {
    person: &'a Arc<Person>,
    source: &'a SourceConfig,
    decision: Decision,
    withheld: &'a [Withheld],
}

/// Merges the records of `sources`, applying each source's `filters`.
pub fn merge(sources: &[SourceRecords<'_>], filters: &BTreeMap<FilterId, Filter>) -> Population {
    // Highest priority first; ties by id, so the order never depends on the input's.
    let mut order: Vec<&SourceRecords<'_>> = sources.iter().collect();
    order.sort_by(|a, b| {
        b.config.priority.cmp(&a.config.priority).then_with(|| a.config.id.cmp(&b.config.id))
    });
    let mut key_fields: Vec<&FieldRef> = Vec::new();
    for f in order.iter().flat_map(|s| &s.config.match_key) {
        if !key_fields.contains(&f) {
            key_fields.push(f);
        }
    }

    let total = sources.iter().map(|s| s.people.len()).sum();
    let mut candidates: Vec<Candidate<'_>> = Vec::with_capacity(total);
    let mut group_of: Vec<u32> = Vec::with_capacity(total);
    // Each group's records as a list through the candidates: the last one added, and
    // for each candidate the one added to its group before it.
    let mut last_in_group: Vec<u32> = Vec::new();
    let mut previous: Vec<u32> = Vec::with_capacity(total);
    let mut groups: u32 = 0;
    let mut conflicts: FxHashMap<u32, String> = FxHashMap::default();
    // Match values are compared without regard to case or surrounding space.
    // The indexes hold the candidate a value was first seen in, not the value.
    let mut index: Vec<KeyIndex> = key_fields.iter().map(|_| KeyIndex::with_capacity(total)).collect();

    for s in &order {
        let source_filters: Vec<&Filter> = s.config.filters.iter().filter_map(|id| filters.get(id)).collect();
        let chain: Vec<usize> =
            s.config.match_key.iter().filter_map(|f| key_fields.iter().position(|k| *k == f)).collect();
        let mut people: Vec<&Arc<Person>> = s.people.iter().collect();
        if !people.is_sorted_by(|a, b| a.id <= b.id) {
            people.par_sort_by(|a, b| a.id.cmp(&b.id));
        }
        // Filtering is per record: on every core. Grouping below is sequential.
        let decisions: Vec<Decision> = people
            .par_iter()
            .map(|person| filter::decide(source_filters.iter().copied(), &PersonOnly(person)))
            .collect();
        for (person, decision) in people.into_iter().zip(decisions) {
            // Each match value's key is made (and hashed) once, for the lookup and the insert.
            let keys: Vec<Option<Key<'_>>> = key_fields
                .iter()
                .map(|f| text_of(person, f).map(|v| Key::new(Compare::IgnoreCase, v)))
                .collect();
            let text_at = |pos: usize| {
                let candidates = &candidates;
                let field = key_fields[pos];
                move |c: u64| candidates.get(c as usize).and_then(|c| text_of(c.person, field)).unwrap_or("")
            };
            let group =
                find_group(&chain, &key_fields, &keys, person, &index, text_at, &mut conflicts, |g| {
                    // A group that already holds a record of this source: two records of one
                    // source claim the same person.
                    let mut c = last_in_group[g as usize];
                    while c != u32::MAX {
                        let candidate: &Candidate<'_> = &candidates[c as usize];
                        if candidate.source.id == s.config.id {
                            return Some(candidate.person.location.clone());
                        }
                        c = previous[c as usize];
                    }
                    None
                });
            let group = group.unwrap_or_else(|| {
                groups += 1;
                last_in_group.push(u32::MAX);
                groups - 1
            });
            previous.push(last_in_group[group as usize]);
            last_in_group[group as usize] = candidates.len() as u32;
            let at = candidates.len() as u64;
            for (pos, key) in keys.into_iter().enumerate() {
                if let Some(key) = key {
                    index[pos].add(&key, at, group, text_at(pos));
                }
            }
            candidates.push(Candidate { person, source: s.config, decision, withheld: s.withheld });
            group_of.push(group);
        }
    }

    // What grouping needed is not needed to build: freed before the merged people are
    // made, a million people's indexes are not held alongside them.
    drop((index, last_in_group, previous));

    // Records of one group are contiguous after a stable sort by group.
    let mut by_group: Vec<usize> = (0..candidates.len()).collect();
    by_group.sort_by_key(|c| group_of[*c]);
    let mut ranges: Vec<(u32, std::ops::Range<usize>)> = Vec::with_capacity(groups as usize);
    let mut at = 0;
    while at < by_group.len() {
        let g = group_of[by_group[at]];
        let end = at + by_group[at..].iter().take_while(|c| group_of[**c] == g).count();
        ranges.push((g, at..end));
        at = end;
    }
    let mut people: Vec<MergedPerson> = ranges
        .into_par_iter()
        .map(|(g, range)| {
            let members: Vec<&Candidate<'_>> = by_group[range].iter().map(|c| &candidates[*c]).collect();
            build(members, conflicts.get(&g).cloned())
        })
        .collect();
    drop((candidates, by_group, group_of, conflicts));
    people.sort_by(|a, b| a.key.cmp(&b.key));
    link(&mut people, sources);
    Population { people }
}

/// The text of a match field, if the person has one. Typed values (dates) are not
/// match keys in practice and are left out.
fn text_of<'p>(person: &'p Person, field: &FieldRef) -> Option<&'p str> {
    match field {
        FieldRef::Person(f) => match person.get(*f)? {
            FieldValue::Text(t) => Some(t),
            _ => None,
        },
        FieldRef::Custom(name) => person.custom.get(name).map(String::as_str),
        FieldRef::Source => Some(person.source.as_str()),
        FieldRef::OrgUnitName => None,
    }
}

/// The group of the first match value in `chain` that some group has. `text_at(pos)`
/// gives the texts at the locators of the index of key field `pos`.
#[allow(clippy::too_many_arguments)]
fn find_group<'t, T: Fn(u64) -> &'t str>(
    chain: &[usize],
    key_fields: &[&FieldRef],
    keys: &[Option<Key<'_>>],
    person: &Person,
    index: &[KeyIndex],
    text_at: impl Fn(usize) -> T,
    conflicts: &mut FxHashMap<u32, String>,
    same_source: impl Fn(u32) -> Option<crate::model::RecordLocation>,
) -> Option<u32> {
    for pos in chain {
        let field = key_fields[*pos];
        let Some(key) = &keys[*pos] else { continue };
        match index[*pos].get(key, text_at(*pos)) {
            [] => continue,
            [g] => {
                if let Some(other) = same_source(*g) {
                    let reason = format!(
                        "records at {other} and {} of source `{}` have the same {field}",
                        person.location, person.source
                    );
                    conflicts.entry(*g).or_insert(reason);
                }
                return Some(*g);
            }
            many => {
                let reason = format!(
                    "the record at {} has the {field} of {} different people",
                    person.trace_label(),
                    many.len()
                );
                for g in many {
                    conflicts.entry(*g).or_insert_with(|| reason.clone());
                }
                return Some(many[0]);
            }
        }
    }
    None
}

fn build(mut group: Vec<&Candidate<'_>>, conflict: Option<String>) -> MergedPerson {
    group.sort_by(|a, b| {
        b.decision
            .is_included()
            .cmp(&a.decision.is_included())
            .then_with(|| b.source.priority.cmp(&a.source.priority))
            .then_with(|| a.source.id.cmp(&b.source.id))
            .then_with(|| a.person.id.cmp(&b.person.id))
    });
    let first = group[0];
    let mut owners = Vec::new();
    let person = if group.len() == 1 {
        first.person.clone()
    } else {
        let mut person = Person::clone(first.person);
        for other in &group[1..] {
            for field in PersonField::ALL {
                if person.fill_from(other.person, *field) {
                    owners.push((*field, other.source.id.clone()));
                }
            }
            for (k, v) in &other.person.custom {
                person.custom.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Arc::new(person)
    };
    let decision = match group.iter().find(|c| c.decision.is_included()) {
        Some(_) => Decision::Included,
        None => first.decision.clone(),
    };
    let mut withheld: Vec<FieldRef> = Vec::new();
    for w in group.iter().flat_map(|c| c.withheld) {
        if let Ok(field) = w.field.parse::<FieldRef>()
            && !withheld.contains(&field)
        {
            withheld.push(field);
        }
    }
    MergedPerson {
        key: format!("{}:{}", first.source.id, first.person.id),
        records: group
            .iter()
            .map(|c| RecordRef {
                source: c.source.id.clone(),
                id: c.person.id.clone(),
                priority: c.source.priority,
                included: c.decision.is_included(),
            })
            .collect(),
        person,
        owners,
        decision,
        manager: ManagerLink::None,
        org_unit_name: None,
        ambiguity: conflict,
        withheld: (!withheld.is_empty()).then(|| Box::new(withheld)),
    }
}

/// Resolves managers and org units, and fills employment fields.
fn link(people: &mut [MergedPerson], sources: &[SourceRecords<'_>]) {
    let mut by_record: FxHashMap<(&SourceId, &str), usize> = FxHashMap::default();
    by_record.reserve(people.iter().map(|p| p.records.len()).sum());
    for (i, p) in people.iter().enumerate() {
        for r in &p.records {
            by_record.insert((&r.source, r.id.as_str()), i);
        }
    }
    let units: FxHashMap<(&SourceId, &str), Arc<str>> = sources
        .iter()
        .flat_map(|s| s.org_units.iter().map(|u| ((&u.source, u.id.as_str()), Arc::from(u.name.as_str()))))
        .collect();
    let mut latest: FxHashMap<(&SourceId, &str), &Employment> = FxHashMap::default();
    for e in sources.iter().flat_map(|s| s.employments.iter()) {
        let slot = latest.entry((&e.source, e.person.as_str())).or_insert(e);
        if (e.start_date, &e.id) > (slot.start_date, &slot.id) {
            *slot = e;
        }
    }

    let links: Vec<(ManagerLink, Option<Arc<str>>)> = people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let manager = match &p.person.manager {
                None => ManagerLink::None,
                Some(id) => match by_record.get(&(p.owner(PersonField::Manager), id.as_str())) {
                    Some(&m) if m == i => ManagerLink::None,
                    Some(&m) => ManagerLink::Person(m),
                    None => ManagerLink::Unknown,
                },
            };
            let unit = p
                .person
                .org_unit
                .as_deref()
                .and_then(|id| units.get(&(p.owner(PersonField::OrgUnit), id)))
                .cloned();
            (manager, unit)
        })
        .collect();

    for (p, (manager, unit)) in people.iter_mut().zip(links) {
        p.manager = manager;
        p.org_unit_name = unit;
        let employment = p.records.iter().find_map(|r| latest.get(&(&r.source, r.id.as_str())).copied());
        let Some(e) = employment else { continue };
        let gap = |mine: bool, theirs: bool| !mine && theirs;
        let current = &p.person;
        let fills = gap(current.employment_type.is_some(), e.employment_type.is_some())
            || gap(current.legal_entity.is_some(), e.legal_entity.is_some())
            || gap(current.job_title.is_some(), e.job_title.is_some())
            || gap(current.start_date.is_some(), e.start_date.is_some())
            || gap(current.end_date.is_some(), e.end_date.is_some());
        // Only a person who gains a field gets a record of their own.
        if fills {
            let person = Arc::make_mut(&mut p.person);
            let mut fill = |slot: &mut Option<String>, value: &Option<String>, field: PersonField| {
                if slot.is_none() && value.is_some() {
                    slot.clone_from(value);
                    p.owners.push((field, e.source.clone()));
                }
            };
            fill(&mut person.employment_type, &e.employment_type, PersonField::EmploymentType);
            fill(&mut person.legal_entity, &e.legal_entity, PersonField::LegalEntity);
            fill(&mut person.job_title, &e.job_title, PersonField::JobTitle);
            if person.start_date.is_none() && e.start_date.is_some() {
                person.start_date = e.start_date;
                p.owners.push((PersonField::StartDate, e.source.clone()));
            }
            if person.end_date.is_none() && e.end_date.is_some() {
                person.end_date = e.end_date;
                p.owners.push((PersonField::EndDate, e.source.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::filter::{Rule, Test};

    fn source(id: &str, priority: i32, filters: &[&str]) -> SourceConfig {
        SourceConfig {
            priority,
            filters: filters.iter().map(|f| FilterId::new_unchecked(f)).collect(),
            ..SourceConfig::test(id)
        }
    }

    /// Test records; leaked, so they live as long as the test needs.
    fn shared(people: &[Person]) -> &'static [Arc<Person>] {
        Box::leak(people.iter().cloned().map(Arc::new).collect::<Vec<_>>().into_boxed_slice())
    }

    fn records<'a>(config: &'a SourceConfig, people: &[Person]) -> SourceRecords<'a> {
        SourceRecords { config, people: shared(people), employments: &[], org_units: &[], withheld: &[] }
    }

    #[test]
    fn higher_priority_wins_per_field_and_gaps_are_filled() {
        let de = source("de", 20, &[]);
        let fr = source("fr", 10, &[]);
        let de_people = [Person::test("E1").source("de").title("Leiterin")];
        let mut fr_person = Person::test("E1").source("fr").title("Directrice").department("Ventes");
        fr_person.phone = Some("+33 1".into());
        let fr_people = [fr_person];
        // Input order must not matter.
        let pop = merge(&[records(&fr, &fr_people), records(&de, &de_people)], &BTreeMap::new());
        assert_eq!(pop.people.len(), 1);
        let p = &pop.people[0];
        assert_eq!(p.key, "de:E1");
        assert_eq!(p.person.job_title.as_deref(), Some("Leiterin"));
        assert_eq!(p.person.department.as_deref(), Some("Ventes"));
        assert_eq!(p.owner(PersonField::JobTitle).as_str(), "de");
        assert_eq!(p.owner(PersonField::Department).as_str(), "fr");
        assert_eq!(p.sources().len(), 2);
        assert!(p.ambiguity.is_none());
    }

    #[test]
    fn matches_through_the_chain_ignoring_case() {
        let de = source("de", 20, &[]);
        let fr = source("fr", 10, &[]);
        let de_people = [Person::test("E1").source("de").email("Ada@Acme.test")];
        let fr_people = [Person::test("F9").source("fr").email("ada@acme.test")];
        let pop = merge(&[records(&de, &de_people), records(&fr, &fr_people)], &BTreeMap::new());
        assert_eq!(pop.people.len(), 1, "{:?}", pop.people);
    }

    #[test]
    fn conflicting_records_make_the_person_ambiguous() {
        let de = source("de", 20, &[]);
        let fr = source("fr", 10, &[]);
        // Two DE records share an email; an FR record fits both by email.
        let de_people = [
            Person::test("E1").source("de").email("x@acme.test"),
            Person::test("E2").source("de").email("x@acme.test"),
        ];
        let pop = merge(&[records(&de, &de_people)], &BTreeMap::new());
        assert_eq!(pop.people.len(), 1);
        assert!(pop.people[0].ambiguity.as_deref().unwrap().contains("have the same work_email"));

        let de_people =
            [Person::test("E1").source("de").email("a@acme.test"), Person::test("E2").source("de")];
        let fr_people = [Person::test("E2").source("fr").email("a@acme.test")];
        let pop = merge(&[records(&de, &de_people), records(&fr, &fr_people)], &BTreeMap::new());
        // FR's E2 matches DE's E2 by employee number first: no conflict.
        assert!(pop.people.iter().all(|p| p.ambiguity.is_none()), "{:?}", pop.people);
    }

    #[test]
    fn included_records_come_before_excluded_ones() {
        let staff = Filter {
            id: FilterId::new_unchecked("staff"),
            include: vec![Rule {
                field: FieldRef::Person(PersonField::EmploymentStatus),
                test: Test::In(vec!["active".into()]),
                reason: None,
            }],
            exclude: vec![],
        };
        let filters = BTreeMap::from([(staff.id.clone(), staff)]);
        let de = source("de", 20, &["staff"]);
        let fr = source("fr", 10, &[]);
        let de_people =
            [Person::test("E1").source("de").status(crate::model::EmploymentStatus::Terminated).title("Alt")];
        let fr_people = [Person::test("E1").source("fr").title("Neu")];
        let pop = merge(&[records(&de, &de_people), records(&fr, &fr_people)], &filters);
        let p = &pop.people[0];
        assert!(p.decision.is_included());
        assert_eq!(p.person.job_title.as_deref(), Some("Neu"));
        assert_eq!(p.key, "fr:E1");
    }

    #[test]
    fn links_managers_org_units_and_employments() {
        let de = source("de", 0, &[]);
        let people = [
            Person::test("E1").source("de").manager("E1"),
            Person::test("E2").source("de").manager("E1"),
            Person::test("E3").source("de").manager("E404"),
        ];
        let mut p4 = Person::test("E4").source("de");
        p4.org_unit = Some("U1".into());
        let people = [people[0].clone(), people[1].clone(), people[2].clone(), p4];
        let units = [OrgUnit {
            source: SourceId::new_unchecked("de"),
            id: "U1".into(),
            name: "Platform".into(),
            parent: None,
            location: Default::default(),
        }];
        let employments = [
            Employment {
                source: SourceId::new_unchecked("de"),
                id: "C1".into(),
                person: "E4".into(),
                employment_type: Some("intern".into()),
                legal_entity: None,
                job_title: None,
                start_date: "2024-01-01".parse().ok(),
                end_date: None,
                location: Default::default(),
            },
            Employment {
                source: SourceId::new_unchecked("de"),
                id: "C2".into(),
                person: "E4".into(),
                employment_type: Some("employee".into()),
                legal_entity: Some("DE01".into()),
                job_title: None,
                start_date: "2025-01-01".parse().ok(),
                end_date: None,
                location: Default::default(),
            },
        ];
        let pop = merge(
            &[SourceRecords {
                config: &de,
                people: shared(&people),
                employments: &employments,
                org_units: &units,
                withheld: &[],
            }],
            &BTreeMap::new(),
        );
        let by = |k: &str| pop.people.iter().find(|p| p.key == k).unwrap();
        assert_eq!(by("de:E1").manager, ManagerLink::None);
        let e1 = pop.people.iter().position(|p| p.key == "de:E1").unwrap();
        assert_eq!(by("de:E2").manager, ManagerLink::Person(e1));
        assert_eq!(by("de:E3").manager, ManagerLink::Unknown);
        assert_eq!(by("de:E4").org_unit_name.as_deref(), Some("Platform"));
        assert_eq!(by("de:E4").person.employment_type.as_deref(), Some("employee"));
        assert_eq!(by("de:E4").person.legal_entity.as_deref(), Some("DE01"));
    }
}
