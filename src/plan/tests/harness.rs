//! The plan tests' harness: a sync repository in memory (workspace, one CSV source, a
//! `staff` filter and a `file` directory), loaded by the real loader, and a [`Case`]
//! that plans people against live entries at a clock. The unit tests in this folder and
//! the property tests of [`crate::plan`] build on it; it must not plan anything itself
//! beyond calling [`diff`] as a run would.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;

use crate::config::files::MemFiles;
use crate::config::{self, Config};
use crate::directory::Entry;
use crate::model::Value;
use crate::model::{Person, PlanId, SkippedRecord};
use crate::plan::{Plan, PlanInput, SourceHealth, SourceStatus, diff};
use crate::transform::merge::{self, SourceRecords};

pub(in crate::plan) const WORKSPACE: &str = "version: 1\nworkspace: t\ntimezone: UTC\n";
pub(in crate::plan) const SOURCE: &str =
    "version: 1\ntype: csv\npath: hr.csv\nmatch_key: [employee_number, work_email]\nfilters: [staff]\n";
pub(in crate::plan) const FILTER: &str = "version: 1\ninclude:\n  - { field: employment_status, in: [active, pending, leave] }\nexclude:\n  - { field: employment_type, in: [contractor], reason: contractors use the vendor portal }\n";
pub(in crate::plan) const DIRECTORY: &str = r#"version: 1
type: file
mode: apply
match:
  - { person: employee_number, attribute: employeeNumber }
  - { person: work_email, attribute: mail }
fields:
  employeeNumber: { value: "{{ employee_number }}" }
  cn: { value: "{{ first_name }} {{ last_name }}" }
  mail: { value: "{{ work_email | lower }}" }
  title: { value: "{{ job_title }}", mode: import_once }
  department: { value: "{{ department }}" }
  description: { value: "{{ team }}", mode: ignore }
  telephoneNumber: { value: "{{ phone }}" }
  manager: { manager: true }
joiners: { pre_provision_days: 7 }
leavers: { action: disable, grace_days: 0, delete_after_days: 30 }
"#;

#[derive(Clone)]
pub(in crate::plan) struct Fixture {
    pub(in crate::plan) files: MemFiles,
}

impl Fixture {
    pub(in crate::plan) fn new() -> Self {
        Fixture {
            files: MemFiles::default()
                .with("hrsync.yaml", WORKSPACE)
                .with("sources/hr.yaml", SOURCE)
                .with("filters/staff.yaml", FILTER)
                .with("directories/d.yaml", DIRECTORY),
        }
    }

    pub(in crate::plan) fn with(mut self, path: &str, content: &str) -> Self {
        self.files = self.files.with(path, content);
        self
    }

    /// The directory file with `from` replaced by `to`.
    pub(in crate::plan) fn directory(self, from: &str, to: &str) -> Self {
        assert!(DIRECTORY.contains(from), "{from}");
        let d = DIRECTORY.replace(from, to);
        self.with("directories/d.yaml", &d)
    }

    pub(in crate::plan) fn config(&self) -> Config {
        match config::load(&self.files) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }
}

pub(in crate::plan) struct Case {
    pub(in crate::plan) config: Config,
    pub(in crate::plan) people: Vec<Person>,
    pub(in crate::plan) live: Vec<Entry>,
    pub(in crate::plan) now: Timestamp,
    pub(in crate::plan) timers: BTreeMap<String, Date>,
    pub(in crate::plan) approvals: BTreeSet<PlanId>,
    pub(in crate::plan) health: Option<SourceHealth>,
    pub(in crate::plan) list_unchanged: bool,
    pub(in crate::plan) list_people: Vec<String>,
    pub(in crate::plan) skipped: Vec<SkippedRecord>,
    /// The directory's groups, for a directory that keeps groups.
    pub(in crate::plan) groups: Option<Vec<crate::directory::Group>>,
    /// The source's org units.
    pub(in crate::plan) org_units: Vec<crate::model::OrgUnit>,
}

impl Case {
    pub(in crate::plan) fn new(people: Vec<Person>, live: Vec<Entry>) -> Self {
        Case {
            config: Fixture::new().config(),
            people,
            live,
            now: "2026-11-22T10:00:00Z".parse().unwrap(),
            timers: BTreeMap::new(),
            approvals: BTreeSet::new(),
            health: None,
            list_unchanged: true,
            list_people: Vec::new(),
            skipped: Vec::new(),
            groups: None,
            org_units: Vec::new(),
        }
    }

    pub(in crate::plan) fn config(mut self, fixture: Fixture) -> Self {
        self.config = fixture.config();
        self
    }

    pub(in crate::plan) fn now(mut self, now: &str) -> Self {
        self.now = now.parse().unwrap();
        self
    }

    pub(in crate::plan) fn plan(&self) -> Plan {
        self.plan_with(&BTreeMap::new())
    }

    /// The plan, with `held_elsewhere` as the unique values the directory holds outside
    /// the scope.
    pub(in crate::plan) fn plan_with(&self, held_elsewhere: &crate::directory::HeldElsewhere) -> Plan {
        let source = self.config.source("hr").unwrap();
        let people: Vec<Arc<Person>> = self.people.iter().cloned().map(Arc::new).collect();
        let records = [SourceRecords {
            config: source,
            people: &people,
            employments: &[],
            org_units: &[],
            withheld: &[],
        }];
        let population = merge::merge(&records, &self.config.filters);
        // The records as a set: a run hands the planner a hash of what it read, and the
        // order of the records says nothing about them.
        let mut records: Vec<&Person> = self.people.iter().collect();
        records.sort_by(|a, b| (&a.source, &a.id).cmp(&(&b.source, &b.id)));
        let inputs_hash = serde_json::to_string(&records).unwrap();
        let sources = [SourceStatus {
            id: source.id.clone(),
            health: self.health.clone().unwrap_or(SourceHealth::Healthy),
            people: self.people.len(),
            skipped: self.skipped.clone(),
        }];
        diff(&PlanInput {
            config: &self.config,
            directory: &self.config.directories[0],
            population: &population,
            inputs_hash: &inputs_hash,
            sources: &sources,
            live: &self.live,
            groups: self.groups.as_deref(),
            org_units: &self.org_units,
            held_elsewhere,
            now: self.now,
            timers: &self.timers,
            approvals: &self.approvals,
            list_unchanged: self.list_unchanged,
            list_people: &self.list_people,
        })
    }
}

/// An entry as hrsync would have created it for `Person::test(number)`.
pub(in crate::plan) fn entry(number: &str) -> Entry {
    let p = Person::test(number);
    let mut e = Entry {
        id: number.to_owned(),
        attributes: Default::default(),
        enabled: true,
        revision: Some("1".into()),
    };
    e = set(e, "employeeNumber", number);
    e = set(e, "cn", &format!("{} {}", p.first_name.unwrap(), p.last_name.unwrap()));
    set(e, "mail", &p.work_email.unwrap())
}

pub(in crate::plan) fn set(mut e: Entry, attr: &str, value: &str) -> Entry {
    e.attributes.insert(attr.to_owned(), Value::One(value.to_owned()));
    e
}

/// A skipped row of person `number` at line `line` of hr.csv, with what could be read.
pub(in crate::plan) fn skipped_row(number: &str, line: u64) -> SkippedRecord {
    let mut partial = Person::test(number);
    partial.start_date = None;
    SkippedRecord {
        partial: Some(Box::new(partial)),
        ..SkippedRecord::new(
            crate::model::RecordKind::Employee,
            crate::model::RecordLocation { file: "hr.csv".into(), line },
            "start_date is not a valid date in the form `%d.%m.%Y`",
        )
    }
}
