//! Rows: one per person or entry, with what happens and why, in apply order.
//!
//! This module owns turning the phases' decisions into [`Row`]s: people's rows (skips,
//! creates, updates, leavers), rows of entries no person matches, their order (by
//! action, managers' creates before their reports', then person key), the reasons'
//! texts, the counts of the summary, and dropping references to a manager's create
//! that became a skip. It must not make the decisions it writes down: who is a leaver
//! and what the leaver timeline says is [`super::lifecycle`]'s, what attributes hold
//! is [`super::desired`]'s.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use jiff::civil::Date;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::desired::{ManagerValue, Scratch, UniqueValue, marker_change};
use super::diff::Planner;
use super::lifecycle::{Fate, Leaving};
use super::{Action, Change, Collision, EnabledChange, PersonView, Planned, Row, Summary};
use crate::config::{Config, DirectoryConfig, DirectoryKind, LdapDisable};
use crate::directory::Entry;
use crate::model::filter::Decision;
use crate::model::value::{first_rdn, parent_of, rdn_key, rdn_value};
use crate::model::{Compare, SourceId, canonical};
use crate::transform::merge::ManagerLink;

/// A row with its sort key: action, manager depth, order of the person (or entry).
type Ordered = (Action, u32, usize, Row);

/// The rows of a plan, in apply order, and what building them found out.
pub(super) struct Rows {
    /// The rows.
    pub(super) rows: Vec<Row>,
    /// Leaver timers after this plan.
    pub(super) timers: BTreeMap<String, Date>,
    /// Entries in scope that hrsync does not manage.
    pub(super) unmanaged: usize,
    /// Entries up to date whose rows are not listed.
    pub(super) unlisted: usize,
}

/// Reason texts most rows share, allocated once.
pub(super) struct Shared {
    pub(super) up_to_date: Arc<str>,
    pub(super) matched: Vec<Arc<str>>,
    pub(super) unmatched: Arc<str>,
    /// How a disable row disables, so a reviewer sees the write it means.
    pub(super) disables_by: Arc<str>,
}

impl Shared {
    /// The shared texts of `dir`'s rows.
    pub(super) fn new(dir: &DirectoryConfig) -> Self {
        let chain: Vec<String> = dir.match_rules.iter().map(|r| r.person.to_string()).collect();
        Shared {
            up_to_date: "every continuous field is up to date".into(),
            matched: dir
                .match_rules
                .iter()
                .map(|r| Arc::from(format!("matched by {} → {}", r.person, r.attribute)))
                .collect(),
            unmatched: format!("no entry matched by {}", chain.join(", ")).into(),
            disables_by: disables_by(dir).into(),
        }
    }
}

/// How `dir` disables an account, in words.
fn disables_by(dir: &DirectoryConfig) -> String {
    match &dir.kind {
        DirectoryKind::File(_) => "disables by marking the entry disabled".to_owned(),
        DirectoryKind::Ldap(s) => match &s.disable {
            LdapDisable::Attribute { attribute, value } => {
                format!("disables by setting `{attribute}: {value}`")
            }
            LdapDisable::MoveTo(ou) => format!("disables by moving the entry to `{ou}`"),
            LdapDisable::UserAccountControl => {
                "disables by setting the ACCOUNTDISABLE flag of `userAccountControl`".to_owned()
            }
            LdapDisable::Unconfigured => "cannot disable: the directory configures no `disable`".to_owned(),
        },
        DirectoryKind::Scim(_) => "disables by setting `active: false`".to_owned(),
        DirectoryKind::Entraid(_) => "disables by setting `accountEnabled: false`".to_owned(),
    }
}

/// The "in scope" reason of each source's people.
pub(super) fn scope_reasons(config: &Config, dir: &DirectoryConfig) -> HashMap<SourceId, Arc<str>> {
    // "in scope" reasons name the filters that include a person: those of the source
    // of their first record, and the directory's.
    config
        .sources
        .iter()
        .map(|s| {
            let names: Vec<String> = s.filters.iter().chain(&dir.filters).map(|f| format!("`{f}`")).collect();
            let text = if names.is_empty() {
                "in scope: no filter applies".to_owned()
            } else {
                format!("in scope: included by {}", names.join(", "))
            };
            (s.id.clone(), Arc::from(text))
        })
        .collect()
}

impl Planner<'_> {
    /// Every row of the plan, in apply order.
    pub(super) fn rows(&self, unique: &FxHashMap<(usize, usize), UniqueValue>) -> Rows {
        // Rows sort by action, then managers before reports (creates), then person key:
        // the population is sorted by key already, so its index is the key's order.
        // Entries no person matches come after everyone, by entry id.
        // Rows of people are independent of each other: computed on every core. Only
        // people with a row or a timer leave something behind (most entries are up to
        // date: a slot for each of a million people would outweigh the rows).
        let (rows, row_timers): (Vec<Option<Ordered>>, Vec<BTreeMap<String, Date>>) = (0..self.people.len())
            .into_par_iter()
            .map_init(Scratch::default, |scratch, i| {
                let mut row_timers = BTreeMap::new();
                let row = self.person_row(i, unique, &mut row_timers, scratch).map(|mut row| {
                    // Every row of a person an override names says so, last.
                    for o in self.overrides.get(&i).into_iter().flatten() {
                        let said = o.describe();
                        if !row.reasons.iter().any(|r| r.starts_with(&said)) {
                            row.reasons.push(said.into());
                        }
                    }
                    let depth = if row.action == Action::Create { self.depth(i) } else { 0 };
                    (row.action, depth, i, row)
                });
                (row.is_some() || !row_timers.is_empty()).then_some((row, row_timers))
            })
            .flatten()
            .unzip();
        let mut rows: Vec<Ordered> = rows.into_iter().flatten().collect();
        let unlisted = self.people.len() - rows.len();
        let mut timers: BTreeMap<String, Date> = row_timers.into_iter().flatten().collect();
        let mut unmanaged = 0;
        let mut orphans: Vec<(usize, &Entry)> = Vec::new();
        for (e, entry) in self.input.live.iter().enumerate() {
            if self.claimed[e] {
                continue;
            }
            if !self.managed[e] {
                unmanaged += 1;
                continue;
            }
            orphans.push((e, entry));
        }
        orphans.sort_by(|a, b| a.1.id.cmp(&b.1.id));
        for (k, (e, entry)) in orphans.into_iter().enumerate() {
            let row = self.orphan_row(e, entry, &mut timers);
            rows.push((row.action, 0, self.people.len() + k, row));
        }
        rows.sort_unstable_by_key(|(action, depth, order, _)| (*action, *depth, *order));
        let mut rows: Vec<Row> = rows.into_iter().map(|(_, _, _, r)| r).collect();
        self.hold_entries(&mut rows, &mut timers);
        self.skip_dn_collisions(&mut rows);
        self.skip_unique_collisions(&mut rows);
        self.follow_moves(&rows, &mut timers);
        drop_refs_to_skipped_creates(&mut rows);
        Rows { rows, timers, unmanaged, unlisted }
    }

    /// A leaver's timer is kept by entry id, and an LDAP disable with `move_to` gives the
    /// entry a new DN: the timer goes with it, so the delete still counts from the day
    /// the person left rather than from the move.
    fn follow_moves(&self, rows: &[Row], timers: &mut BTreeMap<String, Date>) {
        let DirectoryKind::Ldap(s) = &self.dir.kind else { return };
        let LdapDisable::MoveTo(ou) = &s.disable else { return };
        for row in rows.iter().filter(|r| r.action == Action::Disable) {
            let Some(entry) = row.entry.as_deref() else { continue };
            if canonical(Compare::Dn, parent_of(entry)) == canonical(Compare::Dn, ou) {
                continue;
            }
            if let Some(since) = timers.get(entry).copied() {
                timers.insert(format!("{},{ou}", first_rdn(entry)), since);
            }
        }
    }

    /// How many managers above person `i` are created in this plan too: their create
    /// goes after those.
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
        match self.decision(i) {
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
            collides_with: None,
            entry_personal: true,
            due: None,
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
            Fate::Nothing(reason, due) => {
                let mut row =
                    self.row(Action::Noop, Some(i), None, vec![scope(), matched(), reason.as_str().into()]);
                row.due = due.clone();
                return Some(row);
            }
            Fate::Create { enabled, why, due } => {
                let mut row =
                    self.create_row(i, *enabled, vec![scope(), matched(), why.as_str().into()], unique);
                if row.action == Action::Create {
                    row.due = due.clone();
                }
                return Some(row);
            }
            Fate::Exists(e) => *e,
        };
        let entry = &self.input.live[e];
        // An override keeps the entry disabled: before anything else, an enabled entry
        // is disabled (its attributes kept in step in the same row).
        if self.keeps_disabled(i) && entry.enabled && self.managed[e] {
            let mut warnings = Vec::new();
            let changes = self.drift(i, entry, &mut warnings, scratch);
            let mut row = self.row(Action::Disable, Some(i), Some(entry), vec![scope(), matched()]);
            row.enabled = Some(EnabledChange { before: Some(true), after: false });
            row.reasons.push(self.shared.disables_by.clone());
            row.changes = changes;
            row.warnings = warnings;
            return Some(row);
        }
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
        let enable = self.enables(i, entry);
        let up_to_date = changes.is_empty() && !enable;
        // A person an override names is always listed: the override is what keeps
        // the row as it is, and the review shows it.
        let overridden = self.overrides.contains_key(&i);
        let listed = self.input.list_unchanged
            || (!self.input.list_people.is_empty()
                && self.input.list_people.binary_search(&self.people[i].key).is_ok());
        if up_to_date && warnings.is_empty() && !listed && !overridden {
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
            .enumerate()
            .filter_map(|(f, (field, d))| {
                let (after, from) = d?;
                let alternatives = match unique.get(&(i, f)) {
                    Some(Ok(u)) => u.alternatives.clone(),
                    _ => Vec::new(),
                };
                Some(Change {
                    attribute: field.attribute.clone(),
                    before: None,
                    after: Some(after?),
                    mode: field.mode,
                    from,
                    personal: field.personal,
                    alternatives,
                    reference: matches!(field.source, crate::config::FieldSource::Manager),
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
        let naming = match &self.dir.kind {
            DirectoryKind::File(s) => Some(s.id_attribute.as_str()),
            DirectoryKind::Ldap(s) => Some(s.rdn.as_str()),
            DirectoryKind::Scim(_) | DirectoryKind::Entraid(_) => None,
        };
        if let Some(naming) = naming
            && !row.changes.iter().any(|c| c.attribute.eq_ignore_ascii_case(naming))
        {
            row.action = Action::Skip;
            row.changes.clear();
            row.reasons.push(
                format!("no value for `{naming}`, which names new entries in this directory: it would refuse the create").into(),
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

    /// The row of an entry no person matches.
    fn orphan_row(&self, e: usize, entry: &Entry, timers: &mut BTreeMap<String, Date>) -> Row {
        if let Some(held) = &self.held[e] {
            return self.row(Action::Skip, None, Some(entry), vec![held.clone()]);
        }
        let mut reasons: Vec<Arc<str>> = vec!["no person in any source matches this entry".into()];
        match &self.absence_blocker {
            Some(blocker) => {
                reasons.push(format!("not treated as a leaver, because {blocker}").into());
                self.row(Action::Noop, None, Some(entry), reasons)
            }
            None => {
                let leaving = self.gone(entry);
                timers.insert(entry.id.clone(), leaving.since);
                self.leaver_row(None, entry, leaving, reasons, self.workspace_today)
            }
        }
    }

    /// The row of a leaver's entry (`i` is the person, if one matches it).
    fn leaver_row(
        &self,
        i: Option<usize>,
        entry: &Entry,
        leaving: Leaving,
        mut reasons: Vec<Arc<str>>,
        today: Date,
    ) -> Row {
        let mut due = None;
        let action = self.leaver_action(entry, &leaving, &mut reasons, &mut due, today);
        let mut row = self.row(action, i, Some(entry), reasons);
        row.due = due;
        if action == Action::Disable {
            row.enabled = Some(EnabledChange { before: Some(true), after: false });
            row.reasons.push(self.shared.disables_by.clone());
        }
        row
    }
}

impl Planner<'_> {
    /// An entry whose person's row was skipped is left exactly as it is, whatever other
    /// records (another source, an older read, an older employment) say: its update,
    /// disable or delete becomes a skip, and no timer starts, in the grace period
    /// either (where their row is a no-op).
    fn hold_entries(&self, rows: &mut [Row], timers: &mut BTreeMap<String, Date>) {
        let held: HashMap<&str, &Arc<str>> = self
            .input
            .live
            .iter()
            .zip(&self.held)
            .filter_map(|(e, h)| Some((e.id.as_str(), h.as_ref()?)))
            .collect();
        if held.is_empty() {
            return;
        }
        timers.retain(|entry, _| !held.contains_key(entry.as_str()));
        for row in rows.iter_mut().filter(|r| r.action.writes()) {
            let Some(why) = row.entry.as_deref().and_then(|e| held.get(e)) else { continue };
            row.action = Action::Skip;
            row.enabled = None;
            row.changes.clear();
            row.reasons.retain(|r| !Arc::ptr_eq(r, &self.shared.disables_by));
            row.reasons.push(Arc::clone(why));
        }
    }

    /// LDAP names an entry by its RDN attribute in its container: two creates with one
    /// value there, a create whose DN an entry holds already, a rename onto a taken DN,
    /// or a disable that moves an entry onto one would fail at the server on every run.
    /// The later row (in apply order: creates, then renames and moves) gives way
    /// instead, naming the other person or entry (`collides_with`): a create or a move
    /// is a `collision` skip; a rename is left out of its update, with a warning. Values
    /// compare as the server's usual matching rule does (case and extra spaces aside);
    /// an entry's own value is read from its DN.
    fn skip_dn_collisions(&self, rows: &mut [Row]) {
        let DirectoryKind::Ldap(s) = &self.dir.kind else { return };
        // A DN as the server tells DNs apart: container, RDN attribute, RDN value.
        let dn_key = |parent: &str, attribute: &str, value: &str| {
            (canonical(Compare::Dn, parent), attribute.to_ascii_lowercase(), rdn_key(value))
        };
        let key = |parent: &str, value: &str| dn_key(parent, &s.rdn, value);
        let mut taken: HashMap<(String, String, String), Collision> = HashMap::new();
        for entry in self.input.live {
            if let Some((attribute, value)) = rdn_value(&entry.id) {
                taken
                    .entry(dn_key(parent_of(&entry.id), attribute, &value))
                    .or_insert_with(|| Collision::Entry(entry.id.clone()));
            }
        }
        let rdn_after = |row: &Row| {
            row.changes.iter().find(|c| c.attribute.eq_ignore_ascii_case(&s.rdn)).and_then(|c| {
                match &c.after {
                    Some(Planned::Value(v)) => v.first().map(str::to_owned),
                    _ => None,
                }
            })
        };
        let explain = |other: &Collision, what: &str| -> Arc<str> {
            let whom = match other {
                Collision::Person(_) => "another person's create in this plan",
                Collision::Entry(_) => "an entry that exists or is moved or renamed there in this plan",
            };
            format!(
                "collision: {what} the `{}` of {whom} (`collides_with`), and a DN names one entry only; make the value unique, or give `{}` candidates with `unique: true`",
                s.rdn, s.rdn
            )
            .into()
        };
        for row in rows.iter_mut() {
            match row.action {
                Action::Create => {
                    let Some(value) = rdn_after(row) else { continue };
                    let enabled = row.enabled.is_none_or(|e| e.after);
                    let parent = match &s.disable {
                        LdapDisable::MoveTo(ou) if !enabled => ou.as_str(),
                        _ => s.parent.as_str(),
                    };
                    match taken.get(&key(parent, &value)) {
                        Some(other) => {
                            let other = other.clone();
                            row.action = Action::Skip;
                            row.reasons.push(explain(&other, "this entry would have"));
                            row.changes.clear();
                            row.enabled = None;
                            row.collides_with = Some(other);
                        }
                        None => {
                            if let Some(p) = &row.person {
                                taken.insert(key(parent, &value), Collision::Person(p.key.clone()));
                            }
                        }
                    }
                }
                Action::Update => {
                    let (Some(value), Some(entry)) = (rdn_after(row), row.entry.clone()) else { continue };
                    let parent = parent_of(&entry);
                    let mine = rdn_value(&entry).is_some_and(|(_, v)| rdn_key(&v) == rdn_key(&value));
                    if mine {
                        continue;
                    }
                    match taken.get(&key(parent, &value)) {
                        Some(other) => {
                            let other = other.clone();
                            row.changes.retain(|c| !c.attribute.eq_ignore_ascii_case(&s.rdn));
                            let reason = explain(&other, "the rename would give this entry");
                            if row.changes.is_empty() && row.enabled.is_none() {
                                row.action = Action::Skip;
                                row.reasons.push(reason);
                            } else {
                                row.warnings.push(format!("not renamed: {reason}"));
                            }
                            row.collides_with = Some(other);
                        }
                        None => {
                            taken.insert(key(parent, &value), Collision::Entry(entry));
                        }
                    }
                }
                Action::Disable => {
                    let LdapDisable::MoveTo(ou) = &s.disable else { continue };
                    let Some(entry) = row.entry.clone() else { continue };
                    let Some((attribute, value)) = rdn_value(&entry) else { continue };
                    if canonical(Compare::Dn, parent_of(&entry)) == canonical(Compare::Dn, ou) {
                        continue;
                    }
                    let moved = dn_key(ou, attribute, &value);
                    match taken.get(&moved) {
                        Some(other) => {
                            let other = other.clone();
                            row.action = Action::Skip;
                            row.reasons.retain(|r| !Arc::ptr_eq(r, &self.shared.disables_by));
                            row.reasons.push(explain(&other, &format!("moving it to `{ou}` would give it")));
                            row.changes.clear();
                            row.enabled = None;
                            row.collides_with = Some(other);
                        }
                        None => {
                            taken.insert(moved, Collision::Entry(entry));
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

impl Planner<'_> {
    /// Attributes the service itself keeps unique (SCIM `userName`, Entra and Active
    /// Directory `userPrincipalName`, the latter also against what the domain holds
    /// outside the scope, the embedded directory's id attribute, which names its
    /// entries): two creates with one value, or a create or update onto a value an entry
    /// holds already, would be refused (409, 400, "already exists") on every run. The later
    /// row in apply order gives way, naming the other person or entry
    /// (`collides_with`): a create is a `collision` skip; an update is written without
    /// that change, with a warning. SCIM and Entra values compare case aside, as both
    /// services do; file ids exactly.
    fn skip_unique_collisions(&self, rows: &mut [Row]) {
        // The attribute, and whether its values compare case aside.
        let (attribute, fold) = match &self.dir.kind {
            DirectoryKind::Scim(_) => ("userName", true),
            DirectoryKind::Entraid(_) => ("userPrincipalName", true),
            // The embedded directory names an entry by its id attribute's value.
            DirectoryKind::File(s) => (s.id_attribute.as_str(), false),
            // Active Directory keeps user principal names unique in the forest.
            DirectoryKind::Ldap(s)
                if s.unique_in_domain.iter().any(|a| a.eq_ignore_ascii_case("userPrincipalName")) =>
            {
                ("userPrincipalName", true)
            }
            DirectoryKind::Ldap(_) => return,
        };
        if self.dir.field(attribute).is_none() {
            return;
        }
        let norm = |v: &str| if fold { v.to_lowercase() } else { v.to_owned() };
        // The embedded directory names an entry once, at its create: an update of the id
        // attribute does not rename it.
        let updates_too = !matches!(self.dir.kind, DirectoryKind::File(_));
        let checked = |r: &Row| r.action == Action::Create || (updates_too && r.action == Action::Update);
        let planned = |row: &Row| {
            row.changes.iter().find(|c| c.attribute == attribute).and_then(|c| match &c.after {
                Some(Planned::Value(v)) => v.first().map(&norm),
                _ => None,
            })
        };
        // Only the values rows set can collide: who holds those, not every value there is
        // (a table of a million entries' values outweighed the rows).
        let wanted: HashSet<String> = rows.iter().filter(|r| checked(r)).filter_map(planned).collect();
        if wanted.is_empty() {
            return;
        }
        let mut taken: HashMap<String, Collision> = HashMap::new();
        for entry in self.input.live {
            let values = match &self.dir.kind {
                DirectoryKind::File(_) => std::slice::from_ref(&entry.id),
                _ => entry.attributes.get(attribute).map(crate::model::Value::values).unwrap_or_default(),
            };
            for v in values {
                let v = norm(v);
                if wanted.contains(&v) {
                    taken.entry(v).or_insert_with(|| Collision::Entry(entry.id.clone()));
                }
            }
        }
        // Held outside the scope (AD: anywhere in the domain).
        for (name, values) in self.input.held_elsewhere {
            if name.eq_ignore_ascii_case(attribute) {
                for (v, dn) in values {
                    let v = norm(v);
                    if wanted.contains(&v) {
                        taken.entry(v).or_insert_with(|| Collision::Entry(dn.clone()));
                    }
                }
            }
        }
        let reason = |other: &Collision| -> String {
            let whom = match other {
                Collision::Person(_) => "another person's create in this plan",
                Collision::Entry(_) => "an entry that exists or is changed to it in this plan",
            };
            format!(
                "collision: the `{attribute}` of this entry would be that of {whom} (`collides_with`), and the service keeps it unique; make the value unique, or give `{attribute}` candidates with `unique: true`"
            )
        };
        for row in rows.iter_mut().filter(|r| checked(r)) {
            let Some(value) = planned(row) else {
                continue;
            };
            let me = match (&row.entry, &row.person) {
                (Some(entry), _) => Collision::Entry(entry.clone()),
                (None, Some(p)) => Collision::Person(p.key.clone()),
                (None, None) => continue,
            };
            match taken.get(&value) {
                Some(other) if *other != me => {
                    let other = other.clone();
                    let why = reason(&other);
                    if row.action == Action::Create {
                        row.action = Action::Skip;
                        row.changes.clear();
                        row.enabled = None;
                        row.reasons.push(why.into());
                    } else {
                        row.changes.retain(|c| c.attribute != attribute);
                        if row.changes.is_empty() && row.enabled.is_none() {
                            row.action = Action::Skip;
                            row.reasons.push(why.into());
                        } else {
                            row.warnings.push(format!("`{attribute}` not changed: {why}"));
                        }
                    }
                    row.collides_with = Some(other);
                }
                Some(_) => {}
                None => {
                    taken.insert(value, me);
                }
            }
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

/// Counts per action of `rows`, with the rows not listed.
pub(super) fn summarize(rows: &[Row], unmanaged: usize, unlisted: usize) -> Summary {
    let mut summary = Summary { unmanaged, unlisted, noop: unlisted, ..Summary::default() };
    for r in rows {
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
    summary
}
