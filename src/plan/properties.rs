//! Property tests of the plan (issue 10), over random populations, live states and HR
//! edits:
//!
//! 1. convergence: a plan applied (approved when the guard blocks it, its leaver timers
//!    carried as a run records them) and planned again, with the same inputs and clock,
//!    has no change rows, and planning once more gives the same plan;
//! 2. a person whose HR row is skipped is never disabled or deleted and gets no timer;
//! 3. the plan's bytes (JSON, Markdown, id, timers) do not depend on the order of the
//!    people, the live entries or the skipped rows;
//! 4. removing k % of a source's people never makes a plan ready to apply with more
//!    disables and deletes than the guard allows, unless its id is approved.
//!
//! A scenario is made of small specs (indices into pools of names, days around the
//! clock), so that proptest shrinks a failure to a case one can read. Its live state is
//! what hrsync itself created for an earlier population (planned and applied in memory,
//! for some of the people), then drifted by hand; HR edits turn the earlier population
//! into the one planned. [`Memory`] is the directory: it writes rows as the `file` and
//! `ldap` directories do (names, revisions, disabling by attribute or by moving). This
//! module only tests: it must not hold rules of its own that the planner should have.
//!
//! Four findings are not fixed yet, and each is let through here by a named, narrow
//! allowance, so that everything else is still checked: a leaver whose delete is due
//! while their entry is enabled takes two runs (disable, then delete); with `move_to` a
//! manager whose entry moves leaves their reports pointing at the DN before the move;
//! a file create named as an entry that exists fails on every run (see
//! [`deletes_what_it_disabled`], [`follows_moves`] and [`left`]); and an RDN held in
//! both LDAP containers is refused on every move, so live states here hold an RDN once.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::ToSpan;
use jiff::civil::Date;
use proptest::prelude::*;
use proptest::test_runner::{Config as Cases, RngSeed};

use super::tests::harness::{Case, DIRECTORY, Fixture, WORKSPACE};
use super::{Action, Plan, PlanStatus, Planned, SourceHealth, guard, render};
use crate::directory::Entry;
use crate::model::value::parent_of;
use crate::model::{
    Compare, EmploymentStatus, Key, Person, RecordKind, RecordLocation, SkippedRecord, Value,
};

// The people --------------------------------------------------------------------------

const FIRST: [&str; 8] = ["Ada", "Zoë", "Łukasz", "José", "Ærin", "Ömer", "Ling", "ADA"];
const LAST: [&str; 6] = ["Lovelace", "Müller", "Núñez", "O'Brien", "Straße", "Østergård"];
/// Work emails people may share, in case variants that compare equal.
const SHARED_MAIL: [&str; 4] = ["ada@acme.test", "ADA@Acme.Test", "zoë@acme.test", "team@acme.test"];
const DEPARTMENTS: [&str; 4] = ["Eng", "Sales", "Ops", "Ventes"];
const TITLES: [&str; 3] = ["Engineer", "Directrice", "CTO"];
const PHONES: [&str; 3] = ["+49 30 123-45", "+493012345", "+33 1 23"];
/// The clock of every plan, and its date in the workspace zone (UTC).
const NOW: &str = "2026-11-22T10:00:00Z";
const TODAY: Date = jiff::civil::date(2026, 11, 22);

#[derive(Clone, Debug)]
enum Mail {
    /// `e<number>@acme.test`, in upper case when `true`.
    Own(bool),
    /// One of [`SHARED_MAIL`].
    Shared(usize),
    None,
}

/// A person, as indices and day offsets.
#[derive(Clone, Debug)]
struct PersonSpec {
    /// `E<n>`: a few collide on purpose.
    number: Option<u8>,
    first: Option<usize>,
    last: Option<usize>,
    mail: Mail,
    department: Option<usize>,
    title: Option<usize>,
    phone: Option<usize>,
    /// The index of another record (modulo the population), or 99: a record no one has.
    manager: Option<u8>,
    /// Days from today.
    start: Option<i8>,
    end: Option<i8>,
    status: Option<EmploymentStatus>,
    contractor: bool,
}

fn person_spec() -> impl Strategy<Value = PersonSpec> {
    let mail = prop_oneof![
        6 => any::<bool>().prop_map(Mail::Own),
        2 => (0..SHARED_MAIL.len()).prop_map(Mail::Shared),
        1 => Just(Mail::None),
    ];
    let status = prop_oneof![
        6 => Just(Some(EmploymentStatus::Active)),
        1 => Just(Some(EmploymentStatus::Terminated)),
        1 => Just(Some(EmploymentStatus::Leave)),
        1 => Just(Some(EmploymentStatus::Pending)),
        1 => Just(None),
    ];
    let manager = prop_oneof![3 => Just(None), 6 => (0u8..12).prop_map(Some), 1 => Just(Some(99))];
    let day = || prop::option::weighted(0.3, -40i8..40);
    (
        (prop::option::weighted(0.9, 1u8..16), prop::option::weighted(0.95, 0..FIRST.len())),
        (prop::option::weighted(0.95, 0..LAST.len()), mail),
        (prop::option::of(0..DEPARTMENTS.len()), prop::option::of(0..TITLES.len())),
        (prop::option::weighted(0.3, 0..PHONES.len()), manager),
        (day(), day(), status, prop::bool::weighted(0.1)),
    )
        .prop_map(
            |(
                (number, first),
                (last, mail),
                (department, title),
                (phone, manager),
                (start, end, status, contractor),
            )| {
                PersonSpec {
                    number,
                    first,
                    last,
                    mail,
                    department,
                    title,
                    phone,
                    manager,
                    start,
                    end,
                    status,
                    contractor,
                }
            },
        )
}

fn day(offset: i8) -> Date {
    TODAY.checked_add(i64::from(offset).days()).unwrap()
}

/// The record of `spec`, record id `r<i>` in a population of `n`.
fn person(spec: &PersonSpec, i: usize, n: usize) -> Person {
    let mut p = Person::test("E0");
    p.id = record_id(i);
    p.employee_number = spec.number.map(|n| format!("E{n}"));
    p.first_name = spec.first.map(|i| FIRST[i].to_owned());
    p.last_name = spec.last.map(|i| LAST[i].to_owned());
    p.work_email = match (&spec.mail, spec.number) {
        (Mail::Own(false), Some(n)) => Some(format!("e{n}@acme.test")),
        (Mail::Own(true), Some(n)) => Some(format!("E{n}@ACME.test")),
        (Mail::Own(_), None) => Some(format!("r{i}@acme.test")),
        (Mail::Shared(m), _) => Some(SHARED_MAIL[*m].to_owned()),
        (Mail::None, _) => None,
    };
    p.department = spec.department.map(|i| DEPARTMENTS[i].to_owned());
    p.job_title = spec.title.map(|i| TITLES[i].to_owned());
    p.phone = spec.phone.map(|i| PHONES[i].to_owned());
    p.manager =
        spec.manager.map(|m| if m == 99 { "r404".to_owned() } else { record_id(m as usize % n.max(1)) });
    p.start_date = spec.start.map(day);
    p.end_date = spec.end.map(day);
    p.employment_status = spec.status;
    p.employment_type = spec.contractor.then(|| "contractor".to_owned());
    p.location = RecordLocation { file: "hr.csv".into(), line: 2 + i as u64 };
    p
}

fn record_id(i: usize) -> String {
    format!("r{i:02}")
}

// HR edits --------------------------------------------------------------------------------

/// What HR changed since the live state was synced; `who` is an index modulo the people.
#[derive(Clone, Debug)]
enum Edit {
    /// A mover: another department.
    Move { who: usize, department: usize },
    /// A leaver with an end date (days from today).
    Leave { who: usize, end: i8 },
    /// Another employment status.
    Status { who: usize, status: EmploymentStatus },
    /// A rename.
    Rename { who: usize, last: usize },
    /// Another manager (an index, or 99 for a record no one has).
    Manager { who: usize, manager: u8 },
    /// A joiner.
    Join(PersonSpec),
    /// Gone from the source.
    Remove { who: usize },
    /// Their row no longer reads: skipped, with what could be read of it.
    Skip { who: usize },
    /// A row of theirs is skipped while a record of theirs still reads (another read).
    SkipToo { who: usize },
}

fn edit() -> impl Strategy<Value = Edit> {
    let who = || 0usize..16;
    let status = prop::sample::select(EmploymentStatus::ALL.to_vec());
    prop_oneof![
        (who(), 0..DEPARTMENTS.len()).prop_map(|(who, department)| Edit::Move { who, department }),
        (who(), -20i8..5).prop_map(|(who, end)| Edit::Leave { who, end }),
        (who(), status).prop_map(|(who, status)| Edit::Status { who, status }),
        (who(), 0..LAST.len()).prop_map(|(who, last)| Edit::Rename { who, last }),
        (who(), prop_oneof![0u8..12, Just(99)]).prop_map(|(who, manager)| Edit::Manager { who, manager }),
        person_spec().prop_map(Edit::Join),
        who().prop_map(|who| Edit::Remove { who }),
        who().prop_map(|who| Edit::Skip { who }),
        who().prop_map(|who| Edit::SkipToo { who }),
    ]
}

/// A skipped row of `partial`, at `line` of hr.csv: what could be read of it, without the
/// field that failed.
fn skipped(partial: &Person, line: u64) -> SkippedRecord {
    let mut partial = partial.clone();
    partial.start_date = None;
    SkippedRecord {
        partial: Some(Box::new(partial)),
        ..SkippedRecord::new(
            RecordKind::Employee,
            RecordLocation { file: "hr.csv".into(), line },
            "start_date is not a valid date in the form `%d.%m.%Y`",
        )
    }
}

/// The people and skipped rows after `edits`.
fn edited(before: &[Person], edits: &[Edit]) -> (Vec<Person>, Vec<SkippedRecord>) {
    let mut people = before.to_vec();
    let mut skips = Vec::new();
    let mut next_id = before.len();
    for e in edits {
        let n = people.len();
        let at = |who: usize| who % n.max(1);
        match e {
            Edit::Join(spec) => {
                people.push(person(spec, next_id, before.len()));
                next_id += 1;
                continue;
            }
            _ if n == 0 => continue,
            Edit::Move { who, department } => {
                people[at(*who)].department = Some(DEPARTMENTS[*department].into())
            }
            Edit::Leave { who, end } => people[at(*who)].end_date = Some(day(*end)),
            Edit::Status { who, status } => people[at(*who)].employment_status = Some(*status),
            Edit::Rename { who, last } => people[at(*who)].last_name = Some(LAST[*last].into()),
            Edit::Manager { who, manager } => {
                people[at(*who)].manager =
                    Some(if *manager == 99 { "r404".into() } else { record_id(*manager as usize % n) })
            }
            Edit::Remove { who } => {
                people.remove(at(*who));
            }
            Edit::Skip { who } => {
                let p = people.remove(at(*who));
                skips.push(skipped(&p, 1000 + skips.len() as u64));
            }
            Edit::SkipToo { who } => skips.push(skipped(&people[at(*who)], 1000 + skips.len() as u64)),
        }
    }
    (people, skips)
}

// Directories --------------------------------------------------------------------------------

/// The kind of directory planned, and how it disables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The `file` directory of the harness: owns every entry in scope.
    File,
    /// The same with an ownership marker: entries without it are not hrsync's.
    FileMarked,
    /// LDAP, disabling by setting an attribute.
    LdapAttribute,
    /// LDAP, disabling by moving the entry to another OU.
    LdapMove,
}

const PEOPLE_OU: &str = "ou=people,dc=t";
const DISABLED_OU: &str = "ou=disabled,dc=t";

/// The leaver timeline of a directory.
#[derive(Clone, Debug)]
struct Leavers {
    delete: bool,
    grace_days: u8,
    delete_after_days: Option<u8>,
}

#[derive(Clone, Debug)]
struct Settings {
    kind: Kind,
    leavers: Leavers,
}

fn settings() -> impl Strategy<Value = Settings> {
    let kind = prop::sample::select(vec![Kind::File, Kind::FileMarked, Kind::LdapAttribute, Kind::LdapMove]);
    let leavers =
        (prop::bool::weighted(0.2), 0u8..3, prop::option::weighted(0.8, prop_oneof![Just(0u8), 1u8..40]))
            .prop_map(|(delete, grace_days, delete_after_days)| Leavers {
                delete,
                grace_days,
                delete_after_days,
            });
    (kind, leavers).prop_map(|(kind, leavers)| Settings { kind, leavers })
}

impl Settings {
    fn leavers_yaml(&self) -> String {
        let l = &self.leavers;
        let action = if l.delete { "delete" } else { "disable" };
        match l.delete_after_days {
            Some(d) => format!(
                "leavers: {{ action: {action}, grace_days: {}, delete_after_days: {d} }}\n",
                l.grace_days
            ),
            None => format!("leavers: {{ action: {action}, grace_days: {} }}\n", l.grace_days),
        }
    }

    /// The sync repository, with `workspace` as hrsync.yaml.
    fn fixture(&self, workspace: &str) -> Fixture {
        let leavers = self.leavers_yaml();
        let fixture = Fixture::new().with("hrsync.yaml", workspace);
        let file = |marker: &str| {
            let d = DIRECTORY
                .replace("mode: apply\n", &format!("mode: apply\n{marker}"))
                .replace("leavers: { action: disable, grace_days: 0, delete_after_days: 30 }\n", &leavers);
            assert!(d.contains(&leavers), "the harness's leavers line changed");
            d
        };
        let ldap = |disable: &str| {
            format!(
                r#"version: 1
type: ldap
mode: apply
connection: {{ url: "ldap://ldap.test" }}
scope: {{ base: "{PEOPLE_OU}", marker: {{ attribute: businessCategory, value: hrsync }} }}
entry: {{ rdn: uid }}
disable: {disable}
match:
  - {{ person: employee_number, attribute: employeeNumber }}
  - {{ person: work_email, attribute: mail }}
fields:
  uid:
    candidates:
      - "{{{{ first_name | ascii | alnum | lower }}}}.{{{{ last_name | ascii | alnum | lower }}}}"
      - "{{{{ first_name | ascii | alnum | lower }}}}.{{{{ last_name | ascii | alnum | lower }}}}{{{{ n }}}}"
    unique: true
    mode: import_once
  employeeNumber: {{ value: "{{{{ employee_number }}}}" }}
  cn: {{ value: "{{{{ first_name }}}} {{{{ last_name }}}}" }}
  mail: {{ value: "{{{{ work_email | lower }}}}" }}
  title: {{ value: "{{{{ job_title }}}}", mode: import_once }}
  departmentNumber: {{ value: "{{{{ department }}}}" }}
  telephoneNumber: {{ value: "{{{{ phone }}}}" }}
  manager: {{ manager: true }}
joiners: {{ pre_provision_days: 7 }}
{leavers}"#
            )
        };
        let directory = match self.kind {
            Kind::File => file(""),
            Kind::FileMarked => file("scope: { marker: { attribute: managedBy, value: hrsync } }\n"),
            Kind::LdapAttribute => ldap("{ attribute: pwdAccountLockedTime, value: \"000001010000Z\" }"),
            Kind::LdapMove => ldap(&format!("{{ move_to: \"{DISABLED_OU}\" }}")),
        };
        fixture.with("directories/d.yaml", &directory)
    }

    fn marker(&self) -> Option<(&'static str, &'static str)> {
        match self.kind {
            Kind::File => None,
            Kind::FileMarked => Some(("managedBy", "hrsync")),
            Kind::LdapAttribute | Kind::LdapMove => Some(("businessCategory", "hrsync")),
        }
    }

    fn ldap(&self) -> bool {
        matches!(self.kind, Kind::LdapAttribute | Kind::LdapMove)
    }

    /// How the directory compares its match attributes (employeeNumber, mail).
    fn compare(&self, attribute: &str) -> Compare {
        if self.ldap() || attribute == "mail" { Compare::IgnoreCase } else { Compare::Exact }
    }

    /// The id of an entry named by `value` (its employee number, or LDAP uid).
    fn entry_id(&self, value: &str, enabled: bool) -> String {
        match self.kind {
            Kind::File | Kind::FileMarked => value.to_owned(),
            Kind::LdapAttribute => format!("uid={},{PEOPLE_OU}", dn_escape(value)),
            Kind::LdapMove => {
                let ou = if enabled { PEOPLE_OU } else { DISABLED_OU };
                format!("uid={},{ou}", dn_escape(value))
            }
        }
    }
}

/// `value` escaped for a DN, as RFC 4514 says.
fn dn_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        let edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == value.chars().count() && c == ' ');
        if edge || matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The directory, in memory: it writes rows as `apply` and the `file` and `ldap`
/// directories do, and refuses what they refuse.
struct Memory<'s> {
    settings: &'s Settings,
    /// By id; LDAP ids compare as DNs, without case.
    entries: BTreeMap<String, Entry>,
    /// Entries renamed or moved: the id before (as a DN compares) → the id after.
    moved: BTreeMap<String, String>,
    /// People whose create the file directory refused, as the name is an entry's.
    refused: BTreeSet<String>,
}

impl<'s> Memory<'s> {
    fn new(settings: &'s Settings, live: Vec<Entry>) -> Self {
        let mut m =
            Memory { settings, entries: BTreeMap::new(), moved: BTreeMap::new(), refused: BTreeSet::new() };
        for e in live {
            m.entries.insert(m.key(&e.id), e);
        }
        m
    }

    fn key(&self, id: &str) -> String {
        if self.settings.ldap() { crate::model::canonical(Compare::Dn, id) } else { id.to_owned() }
    }

    fn read(&self) -> Vec<Entry> {
        self.entries.values().cloned().collect()
    }

    /// The entry a row writes, if it is still at the revision the row was planned at.
    fn current(&mut self, id: &str, revision: Option<&str>) -> Result<&mut Entry, String> {
        let key = self.key(id);
        let e = self.entries.get_mut(&key).ok_or_else(|| format!("no entry `{id}`"))?;
        match revision {
            Some(r) if e.revision.as_deref() != Some(r) => {
                Err(format!("`{id}` changed since the plan read it: revision {:?}, not {r}", e.revision))
            }
            _ => Ok(e),
        }
    }

    fn bump(e: &mut Entry) {
        if let Some(r) = &e.revision {
            e.revision = Some((r.parse::<u64>().unwrap() + 1).to_string());
        }
    }

    /// Renames the entry at `key` to `id`, as an LDAP rename or move does.
    fn rename(&mut self, key: &str, id: String) -> Result<String, String> {
        let new_key = self.key(&id);
        if new_key == key {
            return Ok(new_key);
        }
        if self.entries.contains_key(&new_key) {
            return Err(format!("cannot move to `{id}`: an entry has that DN"));
        }
        let mut e = self.entries.remove(key).unwrap();
        self.moved.insert(key.to_owned(), id.clone());
        e.id = id;
        self.entries.insert(new_key.clone(), e);
        Ok(new_key)
    }

    fn set_enabled(&mut self, id: &str, revision: Option<&str>, enabled: bool) -> Result<(), String> {
        let e = self.current(id, revision)?;
        e.enabled = enabled;
        Self::bump(e);
        if self.settings.kind == Kind::LdapMove {
            let target = if enabled { PEOPLE_OU } else { DISABLED_OU };
            let rdn = crate::model::value::first_rdn(id).to_owned();
            if crate::model::canonical(Compare::Dn, parent_of(id))
                != crate::model::canonical(Compare::Dn, target)
            {
                let key = self.key(id);
                self.rename(&key, format!("{rdn},{target}"))?;
            }
        }
        Ok(())
    }

    /// Applies the rows that write, in plan order (creates first, managers before their
    /// reports), resolving references to entries created earlier in the plan.
    fn apply(&mut self, plan: &Plan) -> Result<(), String> {
        let mut created: HashMap<String, String> = HashMap::new();
        for row in plan.rows.iter().filter(|r| r.action.writes()) {
            let resolve = |p: &Planned| match p {
                Planned::Value(v) => Some(v.clone()),
                Planned::EntryOf { entry_of } => created.get(entry_of).cloned().map(Value::One),
            };
            let entry = row.entry.as_deref().unwrap_or_default();
            let revision = row.revision.as_deref();
            match row.action {
                Action::Create => {
                    let mut e = Entry {
                        id: String::new(),
                        attributes: Default::default(),
                        enabled: row.enabled.is_none_or(|e| e.after),
                        revision: (!self.settings.ldap()).then(|| "1".to_owned()),
                    };
                    for c in &row.changes {
                        if let Some(v) = c.after.as_ref().and_then(resolve) {
                            e.attributes.insert(c.attribute.clone(), v);
                        }
                    }
                    // The file directory names an entry by its first match attribute,
                    // LDAP by its RDN attribute.
                    let naming = if self.settings.ldap() { "uid" } else { "employeeNumber" };
                    let name = e.attributes.get(naming).and_then(Value::first).ok_or_else(|| {
                        format!(
                            "create refused: the entry has no `{naming}`, which names entries here: {row:?}"
                        )
                    })?;
                    e.id = self.settings.entry_id(name, e.enabled);
                    let key = self.key(&e.id);
                    if self.entries.contains_key(&key) {
                        // Finding (issue 10): the plan checks LDAP creates for DNs that
                        // exist, not file creates for names that exist; such a create
                        // fails as an item, here as in a run, on every run.
                        match &row.person {
                            Some(p) if !self.settings.ldap() => {
                                self.refused.insert(p.key.clone());
                                continue;
                            }
                            _ => return Err(format!("create refused: `{}` exists: {row:?}", e.id)),
                        }
                    }
                    if let Some(p) = &row.person {
                        created.insert(p.key.clone(), e.id.clone());
                    }
                    self.entries.insert(key, e);
                }
                Action::Update => {
                    let ldap = self.settings.ldap();
                    let e = self.current(entry, revision)?;
                    let mut rdn = None;
                    for c in &row.changes {
                        match c.after.as_ref() {
                            None => {
                                e.attributes.remove(&c.attribute);
                            }
                            Some(p) => {
                                if let Some(v) = resolve(p) {
                                    if ldap && c.attribute == "uid" {
                                        rdn = v.first().map(str::to_owned);
                                    }
                                    e.attributes.insert(c.attribute.clone(), v);
                                }
                            }
                        }
                    }
                    if row.enabled.is_none() {
                        Self::bump(e);
                    }
                    let mut id = entry.to_owned();
                    if let Some(value) = rdn {
                        // A new RDN value renames the entry in its container.
                        let new = format!("uid={},{}", dn_escape(&value), parent_of(entry));
                        let key = self.key(entry);
                        let new_key = self.rename(&key, new)?;
                        id = self.entries[&new_key].id.clone();
                    }
                    if let Some(enabled) = row.enabled {
                        self.set_enabled(&id, None, enabled.after)?;
                    }
                }
                Action::Disable => self.set_enabled(entry, revision, false)?,
                Action::Delete => {
                    self.current(entry, revision)?;
                    let key = self.key(entry);
                    self.entries.remove(&key);
                }
                Action::Skip | Action::Noop => {}
            }
        }
        Ok(())
    }
}

/// The leaver timers a run hands the next plan after recording `plan`'s: those of the
/// entries read again, by id.
fn carried(plan: &Plan, live: &[Entry]) -> BTreeMap<String, Date> {
    let ids: BTreeSet<&str> = live.iter().map(|e| e.id.as_str()).collect();
    plan.timers.iter().filter(|(id, _)| ids.contains(id.as_str())).map(|(k, v)| (k.clone(), *v)).collect()
}

// Live states --------------------------------------------------------------------------------

/// A change made in the directory by hand, to entry `entry` (modulo the entries).
#[derive(Clone, Debug)]
enum Drift {
    /// An attribute set to one of a few values, or to another entry's id.
    Set {
        entry: usize,
        attribute: usize,
        value: usize,
    },
    Remove {
        entry: usize,
        attribute: usize,
    },
    Disable {
        entry: usize,
    },
    Enable {
        entry: usize,
    },
    /// A copy of the entry under another name.
    Copy {
        entry: usize,
    },
    /// The ownership marker removed: someone else's entry now.
    Unmark {
        entry: usize,
    },
}

const DRIFTED: [&str; 7] =
    ["employeeNumber", "cn", "mail", "title", "department", "telephoneNumber", "manager"];
const DRIFT_VALUES: [&str; 5] = ["x", "E3", "ADA@acme.test", "Eng", "+49 30 12345"];

fn drift() -> impl Strategy<Value = Drift> {
    let e = || 0usize..16;
    prop_oneof![
        3 => (e(), 0..DRIFTED.len(), 0..DRIFT_VALUES.len() + 3)
            .prop_map(|(entry, attribute, value)| Drift::Set { entry, attribute, value }),
        1 => (e(), 0..DRIFTED.len()).prop_map(|(entry, attribute)| Drift::Remove { entry, attribute }),
        1 => e().prop_map(|entry| Drift::Disable { entry }),
        1 => e().prop_map(|entry| Drift::Enable { entry }),
        1 => e().prop_map(|entry| Drift::Copy { entry }),
        1 => e().prop_map(|entry| Drift::Unmark { entry }),
    ]
}

/// An entry no person of the scenario has: `X<number>`, with or without the marker.
#[derive(Clone, Debug)]
struct Stray {
    number: u8,
    enabled: bool,
    marked: bool,
}

fn stray() -> impl Strategy<Value = Stray> {
    (50u8..60, prop::bool::weighted(0.7), prop::bool::weighted(0.7))
        .prop_map(|(number, enabled, marked)| Stray { number, enabled, marked })
}

#[derive(Clone, Debug)]
enum Health {
    Healthy,
    Delta,
    Snapshot,
}

impl Health {
    fn source(&self) -> SourceHealth {
        match self {
            Health::Healthy => SourceHealth::Healthy,
            Health::Delta => SourceHealth::Delta,
            Health::Snapshot => SourceHealth::Snapshot { reason: "not selected with --source".into() },
        }
    }
}

/// Everything a plan of a scenario is made from.
#[derive(Clone, Debug)]
struct Scenario {
    settings: Settings,
    /// The population the live state was synced from.
    before: Vec<PersonSpec>,
    /// Whose entries hrsync created (by index into `before`).
    synced: Vec<bool>,
    drifts: Vec<Drift>,
    strays: Vec<Stray>,
    /// Leaver timers: entry index, days ago.
    timers: Vec<(usize, u8)>,
    edits: Vec<Edit>,
    health: Health,
    list_unchanged: bool,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    let health =
        prop_oneof![8 => Just(Health::Healthy), 1 => Just(Health::Delta), 1 => Just(Health::Snapshot)];
    (
        (
            settings(),
            prop::collection::vec(person_spec(), 0..12),
            prop::collection::vec(prop::bool::weighted(0.8), 12),
        ),
        (prop::collection::vec(drift(), 0..5), prop::collection::vec(stray(), 0..4)),
        (prop::collection::vec((0usize..16, 0u8..60), 0..4), prop::collection::vec(edit(), 0..8)),
        (health, any::<bool>()),
    )
        .prop_map(
            |((settings, before, synced), (drifts, strays), (timers, edits), (health, list_unchanged))| {
                Scenario { settings, before, synced, drifts, strays, timers, edits, health, list_unchanged }
            },
        )
}

/// Plans `case`, approving the plan the guard blocks, as someone who reviewed it would.
fn approved(case: &mut Case) -> Plan {
    let plan = case.plan();
    if plan.status != PlanStatus::Blocked {
        return plan;
    }
    case.approvals.insert(plan.id.clone());
    let again = case.plan();
    assert_eq!(again.id, plan.id, "approving does not change the plan");
    again
}

impl Scenario {
    fn case(&self, people: Vec<Person>, live: Vec<Entry>) -> Case {
        let mut case = Case::new(people, live).config(self.settings.fixture(WORKSPACE)).now(NOW);
        case.list_unchanged = self.list_unchanged;
        case
    }

    /// The live state: what hrsync created for the synced people of `before`, then
    /// drifted by hand, with entries no one has, and leaver timers.
    fn live(&self) -> (Vec<Entry>, BTreeMap<String, Date>) {
        let s = &self.settings;
        let before: Vec<Person> =
            self.before.iter().enumerate().map(|(i, p)| person(p, i, self.before.len())).collect();
        let mut sync = self.case(before, Vec::new());
        let mut plan = approved(&mut sync);
        plan.rows.retain(|r| {
            let i = r
                .person
                .as_ref()
                .and_then(|p| p.key.strip_prefix("hr:r"))
                .and_then(|i| i.parse::<usize>().ok());
            i.is_none_or(|i| self.synced[i % self.synced.len()])
        });
        let mut memory = Memory::new(s, Vec::new());
        memory.apply(&plan).unwrap();
        let mut live = memory.read();
        for stray in &self.strays {
            let number = format!("X{}", stray.number);
            let id =
                s.entry_id(&if s.ldap() { number.to_lowercase() } else { number.clone() }, stray.enabled);
            if live.iter().any(|e| e.id == id) {
                continue;
            }
            let mut e = Entry { id, attributes: Default::default(), enabled: stray.enabled, revision: None };
            if !s.ldap() {
                e.revision = Some("3".into());
            }
            for (a, v) in [("employeeNumber", number.clone()), ("cn", format!("Stray {number}"))] {
                e.attributes.insert(a, Value::One(v));
            }
            e.attributes.insert("mail", Value::One(format!("{}@acme.test", number.to_lowercase())));
            if s.ldap() {
                e.attributes.insert("uid", Value::One(number.to_lowercase()));
            }
            if let (Some((attribute, value)), true) = (s.marker(), stray.marked) {
                e.attributes.insert(attribute, Value::One(value.into()));
            }
            live.push(e);
        }
        for d in &self.drifts {
            if live.is_empty() {
                break;
            }
            let n = live.len();
            match d {
                Drift::Set { entry, attribute, value } => {
                    let v = DRIFT_VALUES
                        .get(*value)
                        .map_or_else(|| live[value % n].id.clone(), |v| (*v).to_owned());
                    live[entry % n].attributes.insert(DRIFTED[*attribute], Value::One(v));
                }
                Drift::Remove { entry, attribute } => {
                    live[entry % n].attributes.remove(DRIFTED[*attribute]);
                }
                Drift::Disable { entry } | Drift::Enable { entry } => {
                    let enabled = matches!(d, Drift::Enable { .. });
                    let e = &mut live[entry % n];
                    if s.kind == Kind::LdapMove && e.enabled != enabled {
                        let uid =
                            e.attributes.get("uid").and_then(Value::first).unwrap_or("nobody").to_owned();
                        e.id = s.entry_id(&uid, enabled);
                    }
                    e.enabled = enabled;
                }
                Drift::Copy { entry } => {
                    let mut copy = live[entry % n].clone();
                    copy.id = if s.ldap() {
                        format!("uid=copy{n},{}", parent_of(&copy.id))
                    } else {
                        format!("{}-copy{n}", copy.id)
                    };
                    live.push(copy);
                }
                Drift::Unmark { entry } => {
                    if let Some((attribute, _)) = s.marker() {
                        live[entry % n].attributes.remove(attribute);
                    }
                }
            }
        }
        // Two entries may have come to one id (a disabled entry moved back by hand).
        // Finding (issue 10): with `move_to`, an entry whose RDN the other container holds
        // too is disabled (or enabled) by a move the server refuses on every run; the
        // plan checks the DNs of creates, not those of moves. Until it does, one RDN is
        // in one container only here.
        let mut seen = BTreeSet::new();
        live.retain(|e| {
            let name = if s.kind == Kind::LdapMove { crate::model::value::first_rdn(&e.id) } else { &e.id };
            seen.insert(crate::model::canonical(Compare::Dn, name))
        });
        let timers = self
            .timers
            .iter()
            .filter(|_| !live.is_empty())
            .map(|(e, days)| {
                (live[e % live.len()].id.clone(), TODAY.checked_sub(i64::from(*days).days()).unwrap())
            })
            .collect();
        (live, timers)
    }

    /// The case planned: the edited population against the live state.
    fn planned(&self) -> Case {
        let before: Vec<Person> =
            self.before.iter().enumerate().map(|(i, p)| person(p, i, self.before.len())).collect();
        let (people, skipped) = edited(&before, &self.edits);
        let (live, timers) = self.live();
        let mut case = self.case(people, live);
        case.timers = timers;
        case.skipped = skipped;
        case.health = Some(self.health.source());
        case
    }
}

/// The rows of `plan` that write, for a failure message.
fn writes(plan: &Plan) -> Vec<String> {
    plan.rows
        .iter()
        .filter(|r| r.action.writes())
        .map(|r| {
            format!(
                "{} {:?} {:?} changes={:?} enabled={:?} reasons={:?}",
                r.action.as_str(),
                r.person.as_ref().map(|p| &p.key),
                r.entry,
                r.changes.iter().map(|c| (&c.attribute, &c.before, &c.after)).collect::<Vec<_>>(),
                r.enabled,
                r.reasons
            )
        })
        .collect()
}

/// `n` cases; failures are not persisted (the minimal case is printed). The cases are
/// the same on every run, so CI is repeatable; `PROPTEST_RNG_SEED=<n>` (and
/// `PROPTEST_CASES`) explore others.
fn cases(n: u32) -> Cases {
    let mut config = Cases { cases: n, failure_persistence: None, ..Cases::default() };
    if config.rng_seed == RngSeed::Random {
        config.rng_seed = RngSeed::Fixed(0x6872_7379_6e63);
    }
    config
}

// 1. Convergence -------------------------------------------------------------------------

proptest! {
    #![proptest_config(cases(192))]

    #[test]
    fn an_applied_plan_plans_again_as_no_changes(scenario in scenario()) {
        let mut case = scenario.planned();
        let first = approved(&mut case);
        prop_assume!(first.status != PlanStatus::Failed);
        let mut memory = Memory::new(&scenario.settings, case.live.clone());
        if let Err(e) = memory.apply(&first) {
            return Err(TestCaseError::fail(format!("the directory refuses the plan: {e}")));
        }
        // Creates the plan held back as collisions wait, as refused ones do, for the
        // entry whose name they would take to go.
        memory.refused.extend(
            first.rows.iter().filter(|r| r.collides_with.is_some()).filter_map(|r| r.person.as_ref().map(|p| p.key.clone())),
        );
        case.live = memory.read();
        case.timers = carried(&first, &case.live);
        let mut second = case.plan();
        if !left(&second, &memory).is_empty() && follows_moves(&second, &memory) {
            // Finding (issue 10): with `move_to`, enabling (or disabling) a manager moves
            // their entry, and the reports whose manager this very plan set, or left,
            // to the DN before the move point to an entry that is not there any more;
            // the next run updates them. Until the plan references a moved manager by
            // the DN the move gives it, that update is applied here, and nothing else
            // may be left.
            memory.apply(&second).map_err(TestCaseError::fail)?;
            case.live = memory.read();
            case.timers = carried(&second, &case.live);
            second = case.plan();
        }
        for _ in 0..2 {
            if left(&second, &memory).is_empty() || !deletes_what_it_disabled(&first, &second, &memory) {
                break;
            }
            // Finding (issue 10): a leaver whose delete is already due when their entry is
            // still enabled (delete_after_days 0, or a timer or end date older than the
            // grace period plus delete_after_days) is disabled in one run and deleted in
            // the next, the same day. Whether such an entry should be deleted at once is
            // a decision about the leaver timeline; until it is made, the second step is
            // applied here (and a refused create whose name it frees then goes ahead),
            // and everything else must have converged.
            memory.apply(&second).map_err(TestCaseError::fail)?;
            case.live = memory.read();
            case.timers = carried(&second, &case.live);
            second = case.plan();
        }
        if left(&second, &memory).is_empty() && second.has_changes() {
            // Only creates refused before are left: once a delete freed their name they
            // go ahead, and the plan after that has nothing to do; refused again, they
            // are the finding in `Memory::apply`.
            memory.refused.clear();
            memory.apply(&second).map_err(TestCaseError::fail)?;
            case.live = memory.read();
            case.timers = carried(&second, &case.live);
            second = case.plan();
        }
        prop_assert!(
            left(&second, &memory).is_empty(),
            "planned again after applying:\n{:#?}\nthe first plan wrote:\n{:#?}",
            writes(&second),
            writes(&first)
        );
        if memory.refused.is_empty() {
            prop_assert_eq!(second.status, PlanStatus::NoChanges);
        }
        // What is left (no-ops, skips) is stable: once its timers are recorded too, the
        // plan stays the same plan.
        case.timers = carried(&second, &case.live);
        let third = case.plan();
        prop_assert_eq!(&third.id, &second.id);
        prop_assert_eq!(render::json(&third).unwrap(), render::json(&second).unwrap());
    }
}

/// The rows of `plan` that write, but the creates the file directory refused before
/// (see the finding in [`Memory::apply`]).
fn left<'p>(plan: &'p Plan, memory: &Memory<'_>) -> Vec<&'p super::Row> {
    plan.rows
        .iter()
        .filter(|r| r.action.writes())
        .filter(|r| {
            !(r.action == Action::Create
                && r.person.as_ref().is_some_and(|p| memory.refused.contains(&p.key)))
        })
        .collect()
}

/// Whether the only writes of `second` delete entries `first` disabled, because their
/// delete was due already (see the finding above).
fn deletes_what_it_disabled(first: &Plan, second: &Plan, memory: &Memory<'_>) -> bool {
    // A disable by moving renames the entry: the RDN stays.
    let rdn = |id: &str| crate::model::canonical(Compare::Dn, crate::model::value::first_rdn(id));
    let disabled: BTreeSet<String> = first
        .rows
        .iter()
        .filter(|r| r.action == Action::Disable)
        .filter_map(|r| r.entry.as_deref().map(rdn))
        .collect();
    left(second, memory).into_iter().all(|r| {
        r.action == Action::Delete
            && r.entry.as_deref().is_some_and(|e| disabled.contains(&rdn(e)))
            && r.reasons.iter().any(|x| x.starts_with("disabled, and delete_after_days"))
    })
}

/// Whether the only writes of `second` set managers from the DN an entry had before
/// `memory` moved it to the DN it has now (see the finding above).
fn follows_moves(second: &Plan, memory: &Memory<'_>) -> bool {
    let dn = |v: &Option<Value>| {
        v.as_ref().and_then(Value::first).map(|d| crate::model::canonical(Compare::Dn, d))
    };
    left(second, memory).into_iter().all(|r| {
        r.action == Action::Update
            && r.enabled.is_none()
            && r.changes.iter().all(|c| {
                let after = match &c.after {
                    Some(Planned::Value(v)) => dn(&Some(v.clone())),
                    _ => None,
                };
                c.attribute == "manager"
                    && dn(&c.before)
                        .and_then(|b| memory.moved.get(&b))
                        .map(|a| crate::model::canonical(Compare::Dn, a))
                        == after
                    && after.is_some()
            })
    })
}

// 2. Skipped rows hold their person ----------------------------------------------------------

/// The entries the match key chain finds for `partial`: those of the first rule whose
/// value some entry holds, compared as the directory compares.
fn entries_of<'e>(partial: &Person, live: &'e [Entry], settings: &Settings) -> Vec<&'e Entry> {
    let chain =
        [("employeeNumber", partial.employee_number.as_deref()), ("mail", partial.work_email.as_deref())];
    for (attribute, value) in chain {
        let Some(value) = value else { continue };
        let compare = settings.compare(attribute);
        let want = Key::new(compare, value);
        let found: Vec<&Entry> = live
            .iter()
            .filter(|e| {
                e.attributes
                    .get(attribute)
                    .is_some_and(|v| v.values().iter().any(|x| Key::new(compare, x) == want))
            })
            .collect();
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// Checks that no entry of a skipped row's person is disabled, deleted or timed.
fn holds(plan: &Plan, case: &Case, settings: &Settings) -> Result<(), TestCaseError> {
    for record in &case.skipped {
        let partial = record.partial.as_deref().unwrap();
        for entry in entries_of(partial, &case.live, settings) {
            for row in plan.rows.iter().filter(|r| r.entry.as_deref() == Some(entry.id.as_str())) {
                prop_assert!(
                    !matches!(row.action, Action::Disable | Action::Delete),
                    "the row of {} at {} was skipped, yet: {:#?}",
                    partial.id,
                    record.location,
                    row
                );
            }
            prop_assert!(!plan.timers.contains_key(&entry.id), "a timer for held entry {}", entry.id);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn a_person_whose_row_is_skipped_is_never_disabled_or_deleted(
        scenario in scenario(),
        skips in prop::collection::vec((0usize..16, any::<bool>()), 1..4),
    ) {
        let mut scenario = scenario;
        scenario.edits.extend(skips.into_iter().map(|(who, keep)| if keep { Edit::SkipToo { who } } else { Edit::Skip { who } }));
        let mut case = scenario.planned();
        prop_assume!(!case.skipped.is_empty());
        holds(&case.plan(), &case, &scenario.settings)?;
        // Approved, applied and planned again: still held.
        let first = approved(&mut case);
        holds(&first, &case, &scenario.settings)?;
        if first.status != PlanStatus::Failed {
            let mut memory = Memory::new(&scenario.settings, case.live.clone());
            memory.apply(&first).map_err(TestCaseError::fail)?;
            case.live = memory.read();
            case.timers = carried(&first, &case.live);
            holds(&case.plan(), &case, &scenario.settings)?;
        }
    }
}

// 3. Order independence --------------------------------------------------------------------

/// `items` in the order a seeded Fisher–Yates shuffle gives.
fn shuffled<T>(mut items: Vec<T>, seed: u64) -> Vec<T> {
    let mut state = seed;
    let mut next = move || {
        // splitmix64
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
    items
}

proptest! {
    #![proptest_config(cases(128))]

    #[test]
    fn the_plan_does_not_depend_on_the_order_of_its_inputs(
        scenario in scenario(),
        seeds in (any::<u64>(), any::<u64>(), any::<u64>()),
    ) {
        let mut case = scenario.planned();
        let a = case.plan();
        case.people = shuffled(case.people, seeds.0);
        case.live = shuffled(case.live, seeds.1);
        case.skipped = shuffled(case.skipped, seeds.2);
        let b = case.plan();
        prop_assert_eq!(render::json(&a).unwrap(), render::json(&b).unwrap());
        prop_assert_eq!(render::markdown::render(&a), render::markdown::render(&b));
        prop_assert_eq!(&a.id, &b.id);
        prop_assert_eq!(&a.timers, &b.timers);
    }
}

// 4. The mass-change guard --------------------------------------------------------------------

/// `n` people with entries hrsync made, of whom `removed` are gone from the source and
/// `terminated` more are terminated in HR, under random limits.
#[derive(Clone, Debug)]
struct Removal {
    n: usize,
    /// k %, of `n`.
    k: usize,
    seed: u64,
    terminated: usize,
    delete: bool,
    max_percent: f64,
    max_count: Option<u64>,
    min_share: f64,
}

fn removal() -> impl Strategy<Value = Removal> {
    (
        (1usize..40, 0usize..=100, any::<u64>(), 0usize..3, prop::bool::weighted(0.3)),
        (
            prop::sample::select(vec![0.0, 5.0, 12.5, 20.0, 50.0, 100.0]),
            prop::option::of(prop::sample::select(vec![0u64, 1, 3, 10])),
            prop::sample::select(vec![0.0, 0.5, 0.8, 1.0]),
        ),
    )
        .prop_map(|((n, k, seed, terminated, delete), (max_percent, max_count, min_share))| Removal {
            n,
            k,
            seed,
            terminated,
            delete,
            max_percent,
            max_count,
            min_share,
        })
}

proptest! {
    #![proptest_config(cases(192))]

    #[test]
    fn removing_people_never_passes_the_guard_unapproved(r in removal()) {
        let settings = Settings {
            kind: Kind::File,
            leavers: Leavers { delete: r.delete, grace_days: 0, delete_after_days: Some(30) },
        };
        let count = r.max_count.map(|c| format!(", max_disable_count: {c}")).unwrap_or_default();
        let workspace = format!(
            "{WORKSPACE}safety: {{ max_disable_percent: {}, min_source_share: {}{count} }}\n",
            r.max_percent, r.min_share
        );
        let everyone: Vec<Person> = (1..=r.n).map(|i| Person::test(&format!("E{i}"))).collect();
        let mut sync = Case::new(everyone.clone(), Vec::new()).config(settings.fixture(&workspace)).now(NOW);
        let created = approved(&mut sync);
        let mut memory = Memory::new(&settings, Vec::new());
        memory.apply(&created).unwrap();
        let live = memory.read();
        prop_assert_eq!(live.len(), r.n);

        let removed = r.n * r.k / 100;
        let mut people: Vec<Person> = shuffled(everyone, r.seed).split_off(removed);
        for p in people.iter_mut().take(r.terminated) {
            p.employment_status = Some(EmploymentStatus::Terminated);
        }
        let mut case = Case::new(people.clone(), live).config(settings.fixture(&workspace)).now(NOW);
        let safety = case.config.directories[0].safety.clone();
        // The source's health as the run judges it, against the read before.
        let read = guard::health::Read {
            incomplete: None,
            people: people.len(),
            last_good_people: Some(r.n),
            min_share: safety.min_source_share,
            other_rows: 0,
            skipped_rows: 0,
            max_skipped_share: safety.max_skipped_share,
        };
        case.health = Some(match guard::health::assess(&read) {
            None => SourceHealth::Healthy,
            Some(guard::health::Verdict::Shrunk(reason)) => SourceHealth::Shrunk { reason },
            Some(guard::health::Verdict::Unhealthy(reason)) => SourceHealth::Unhealthy { reason },
        });
        let plan = case.plan();

        let leaving = plan.rows.iter().filter(|r| matches!(r.action, Action::Disable | Action::Delete)).count();
        prop_assert_eq!(leaving, plan.safety.disables, "the guard counts every disable and delete");
        prop_assert_eq!(plan.safety.managed, r.n);
        let within = (leaving as f64) * 100.0 / (r.n as f64) <= safety.max_disable_percent
            && safety.max_disable_count.is_none_or(|max| leaving as u64 <= max);
        let shrunk = matches!(case.health, Some(SourceHealth::Shrunk { .. }));
        let unhealthy = matches!(case.health, Some(SourceHealth::Unhealthy { .. }));
        if unhealthy {
            prop_assert_eq!(plan.status, PlanStatus::Failed);
        } else {
            prop_assert_eq!(leaving, removed + people.len().min(r.terminated), "every leaver leaves");
        }
        prop_assert!(!plan.approved);
        if plan.status == PlanStatus::Ready || plan.status == PlanStatus::NoChanges {
            prop_assert!(within && !shrunk, "ready unapproved with {} of {} leaving: {:?}", leaving, r.n, plan.safety);
            prop_assert!(guard::check(&plan).is_ok());
        } else {
            prop_assert!(guard::check(&plan).is_err());
        }
        if !within && !unhealthy {
            prop_assert_eq!(plan.status, PlanStatus::Blocked, "{:?}", plan.blocked_by);
        }

        // Approved by its id, the same plan may go ahead; a failed one never does.
        case.approvals.insert(plan.id.clone());
        let approved = case.plan();
        prop_assert_eq!(&approved.id, &plan.id);
        match plan.status {
            PlanStatus::Blocked => {
                prop_assert_eq!(approved.status, PlanStatus::Ready);
                prop_assert!(approved.approved);
                prop_assert!(guard::check(&approved).is_ok());
            }
            status => prop_assert_eq!(approved.status, status),
        }
    }
}
