//! Groups: which groups of `groups/*.yaml` a directory should have, with which
//! members, against the groups it has ([`GroupPlan`]).
//!
//! Memberships follow the people's rows of the same plan: an entry created by a row
//! joins once created, an entry a row disables or deletes leaves its groups (unless the
//! definition keeps leavers), an entry a row renames stays a member. Whatever the rows
//! hold (a skipped or ambiguous person, a hidden person's entry, an entry hrsync does
//! not manage, a value a source withheld) keeps its memberships exactly as they are:
//! it is neither added nor removed. Members that are not entries in scope (a service
//! account added by hand) are never removed.
//!
//! hrsync owns the groups whose key attribute holds a key of one of its definitions
//! and its owner (`hrsync:<workspace>/<directory>:<definition>[:<value>]`), and only those: a group of the wanted name
//! without the key is skipped, its row saying how to hand it over.
//!
//! This module owns group rows and their guard. It must not decide anything about
//! people: it reads their fates and rows.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;

use super::diff::Planner;
use super::lifecycle::Fate;
use super::{Action, GroupAction, GroupPlan, GroupRow, GroupSummary, Member, Row};
use crate::config::groups::{GroupDef, GroupLeavers, KEY_PREFIX, owner_prefix};
use crate::config::{DirectoryKind, GroupSettings};
use crate::directory::{Group, member_key};
use crate::model::filter;
use crate::model::{FieldRef, OrgUnit};

/// Where a live entry stands for its groups after this plan's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Standing {
    /// Held as it is: memberships are not touched.
    Hold,
    /// The entry of person `i`, enabled (or a joiner's, disabled ahead of the start, or
    /// kept disabled by an override).
    Member(usize),
    /// The entry of person `i`, who is leaving but whose entry is still on (a grace
    /// period, a hidden person's entry about to be disabled): keeps what it has, gains
    /// nothing.
    Leaving,
    /// A leaver's entry, disabled; whether by a row of this plan.
    Leaver { now: bool },
    /// Deleted by this plan.
    Gone,
}

/// A member a group should have.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Want {
    /// A live entry, by index.
    Entry(usize),
    /// The entry person `i`'s create makes.
    New(usize),
    /// The group of another key (nesting).
    Group(String),
}

/// A group one definition wants.
struct Wanted {
    name: String,
    members: BTreeSet<Want>,
}

impl Planner<'_> {
    /// The groups part of the plan, given the plan's rows; `None` when the directory
    /// keeps no groups.
    pub(super) fn group_plan(&self, rows: &[Row]) -> Option<GroupPlan> {
        let settings = self.dir.groups.as_ref()?;
        let live = self.input.groups?;
        let defs: Vec<&GroupDef> =
            self.input.config.groups.iter().filter(|d| d.directories.contains(&self.dir.id)).collect();
        let kind = &self.dir.kind;
        let owner = crate::config::Marker::owner(&self.input.config.workspace.name, self.dir.id.as_str());
        let mine = owner_prefix(&owner);
        let (standing, person_of) = self.standings(rows);
        let moves = self.moves(rows);
        let joiners: Vec<usize> = rows
            .iter()
            .filter(|r| r.action == Action::Create)
            .filter_map(|r| self.person_index(r.person.as_ref()?.key.as_str()))
            .collect();

        // The live entries by member key, the live groups by key and by name.
        let entries: HashMap<Cow<'_, str>, usize> =
            self.input.live.iter().enumerate().map(|(e, entry)| (member_key(kind, &entry.id), e)).collect();
        // Groups by key; of two carrying one key (a create retried by hand), the first by
        // id is the one hrsync manages, the others are skipped with a word.
        let mut by_key: BTreeMap<&str, Vec<&Group>> = BTreeMap::new();
        for g in live {
            if let Some(key) = g.key.as_deref().map(str::trim).filter(|k| k.starts_with(&mine)) {
                by_key.entry(key).or_default().push(g);
            }
        }
        let mut doubles: Vec<(&str, &Group, &Group)> = Vec::new();
        let owned: BTreeMap<&str, &Group> = by_key
            .into_iter()
            .filter_map(|(key, mut groups)| {
                groups.sort_by(|a, b| a.id.cmp(&b.id));
                let first = *groups.first()?;
                doubles.extend(groups[1..].iter().map(|g| (key, *g, first)));
                Some((key, first))
            })
            .collect();
        let by_name: HashMap<String, &Group> = live.iter().map(|g| (g.name.to_lowercase(), g)).collect();
        let group_ids: HashMap<Cow<'_, str>, &str> =
            owned.iter().map(|(k, g)| (member_key(kind, &g.id), *k)).collect();

        let mut out: Vec<GroupRow> = Vec::new();
        // One definition's groups at a time (a group nests only groups of its own
        // definition).
        for def in &defs {
            let wanted = self.wanted(def, &owner, &standing, &joiners);
            // LDAP groups this plan renames get a new DN: the groups they are nested in
            // follow it.
            let mut renamed: BTreeSet<String> = BTreeSet::new();
            if matches!(kind, DirectoryKind::Ldap(_)) {
                for (key, want) in &wanted {
                    if let Some(g) = owned.get(key.as_str()).filter(|g| g.name != want.name) {
                        renamed.insert(member_key(kind, &g.id).into_owned());
                    }
                }
            }
            let cx = Cx {
                renamed: &renamed,
                entries: &entries,
                group_ids: &group_ids,
                person_of: &person_of,
                owned: &owned,
                owner: &owner,
                moves: &moves,
                standing: &standing,
            };
            // People whose membership in this definition's groups is held: a withheld
            // field, or a filter that cannot decide.
            let held: Vec<bool> = standing
                .iter()
                .map(|s| match s {
                    Standing::Member(i) => self.held_for(def, *i),
                    Standing::Hold | Standing::Leaving => true,
                    Standing::Leaver { .. } => def.leavers == GroupLeavers::Keep,
                    Standing::Gone => false,
                })
                .collect();
            // Groups are independent of each other: their rows are made on every core.
            let rows: Vec<GroupRow> = wanted
                .par_iter()
                .map(|(key, want)| match owned.get(key.as_str()) {
                    Some(group) => self.group_update(def, key, want, group, &held, &cx),
                    None => match by_name.get(&want.name.to_lowercase()) {
                        Some(other) => skip_taken(def, key, want, other, settings, &owner),
                        None => self.group_create(def, key, want, &cx),
                    },
                })
                .collect();
            out.extend(rows);
            // Groups of this definition no longer wanted: emptied of what is hrsync's,
            // deleted once empty if the definition says so.
            for (key, group) in
                owned.iter().filter(|(k, _)| def.owns_key(&owner, k) && !wanted.contains_key(**k))
            {
                let empty = Wanted { name: group.name.clone(), members: BTreeSet::new() };
                let mut row = self.group_update(def, key, &empty, group, &held, &cx);
                row.reasons.insert(1, "no one has this value any more".to_owned());
                if def.delete_empty && row.members == 0 {
                    // The members it loses are listed: the guard counts them.
                    row.action = GroupAction::Delete;
                    row.renamed_from = None;
                    row.follow.clear();
                    row.reasons.retain(|r| !r.starts_with("renamed") && r != "up to date");
                    row.reasons.push(
                        "empty of hrsync's members, and the definition has `delete_empty: true`".to_owned(),
                    );
                }
                out.push(row);
            }
        }
        // Groups hrsync owns by a definition that is gone are left as they are.
        for (key, group) in &owned {
            if defs.iter().any(|d| d.owns_key(&owner, key)) {
                continue;
            }
            let def_id = key.strip_prefix(&mine).unwrap_or_default().split(':').next().unwrap_or_default();
            let Ok(definition) = crate::model::GroupDefId::new(def_id) else { continue };
            out.push(GroupRow {
                action: GroupAction::Skip,
                name: group.name.clone(),
                definition,
                key: (*key).to_owned(),
                group: Some(group.id.clone()),
                renamed_from: None,
                add: Vec::new(),
                remove: Vec::new(),
                follow: Vec::new(),
                leavers: 0,
                members: group.members.len(),
                reasons: vec![format!(
                    "its definition `{def_id}` is not in groups/ (or not for this directory): left as it is; delete it by hand, or restore the definition"
                )],
                warnings: Vec::new(),
            });
        }
        for (key, extra, kept) in doubles {
            let def_id = key.strip_prefix(&mine).unwrap_or_default().split(':').next().unwrap_or_default();
            let Ok(definition) = crate::model::GroupDefId::new(def_id) else { continue };
            out.push(GroupRow {
                action: GroupAction::Skip,
                name: extra.name.clone(),
                definition,
                key: key.to_owned(),
                group: Some(extra.id.clone()),
                renamed_from: None,
                add: Vec::new(),
                remove: Vec::new(),
                follow: Vec::new(),
                leavers: 0,
                members: extra.members.len(),
                reasons: vec![format!(
                    "another group (`{}`) carries the same key, and hrsync manages that one: delete this one, or clear its key",
                    kept.id
                )],
                warnings: Vec::new(),
            });
        }
        skip_name_clashes(&mut out, live);
        drop_unmade_nested(&mut out);
        out.sort_by(|a, b| (a.action, &a.name, &a.key).cmp(&(b.action, &b.name, &b.key)));
        let summary = summarize(&out);
        if !self.input.list_unchanged {
            out.retain(|r| r.action != GroupAction::Noop);
        }
        Some(GroupPlan {
            summary,
            owned: owned.len(),
            max_member_removal_percent: self.dir.safety.max_group_member_removal_percent,
            member_removals_allowed: self.dir.safety.group_member_removals_allowed,
            max_delete_percent: self.dir.safety.max_group_delete_percent,
            not_read: None,
            rows: out,
            // As the rows' entry ids: a DN, a file id or a user's id names a person.
            members_personal: true,
        })
    }

    /// The index of the person with `key`.
    fn person_index(&self, key: &str) -> Option<usize> {
        self.people.binary_search_by(|p| p.key.as_str().cmp(key)).ok()
    }

    /// Where each live entry stands after the rows, and whose entry it is.
    fn standings(&self, rows: &[Row]) -> (Vec<Standing>, Vec<Option<usize>>) {
        let by_entry: HashMap<&str, &Row> =
            rows.iter().filter_map(|r| Some((r.entry.as_deref()?, r))).collect();
        let mut person_of: Vec<Option<usize>> = vec![None; self.input.live.len()];
        for (i, fate) in self.fates.iter().enumerate() {
            if let Fate::Exists(e) = fate {
                person_of[*e] = Some(i);
            }
        }
        let standing = self
            .input
            .live
            .iter()
            .enumerate()
            .map(|(e, entry)| {
                let row = by_entry.get(entry.id.as_str());
                // An entry this plan takes over (its row sets the marker) is managed
                // once applied.
                let taken_over = row.is_some_and(|r| {
                    r.action == Action::Update
                        && self
                            .dir
                            .marker
                            .as_ref()
                            .is_some_and(|m| r.changes.iter().any(|c| c.attribute == m.attribute))
                });
                if !(self.managed[e] || taken_over) || self.held[e].is_some() {
                    return Standing::Hold;
                }
                // Whether the entry's person is leaving (an entry no person matches is).
                let leaving = person_of[e].is_none_or(|i| self.leaving(i, Some(&entry.id)).is_some());
                match (row.map(|r| r.action), person_of[e]) {
                    (Some(Action::Skip), _) => return Standing::Hold,
                    (Some(Action::Delete), _) => return Standing::Gone,
                    // Disabled by an override while the person is still in HR: a member.
                    (Some(Action::Disable), Some(i)) if !leaving => return Standing::Member(i),
                    (Some(Action::Disable), _) => return Standing::Leaver { now: true },
                    _ => {}
                }
                let enabled = row.and_then(|r| r.enabled).map_or(entry.enabled, |c| c.after);
                match person_of[e] {
                    // A person no row lists is up to date.
                    Some(i) if !leaving => Standing::Member(i),
                    Some(_) if enabled => Standing::Leaving,
                    Some(_) => Standing::Leaver { now: false },
                    // An entry of a person whose fate is not an entry (hidden,
                    // skipped) is held, and so is every entry no person matches while
                    // the sources' skipped rows hold leavers back; otherwise one no
                    // person matches is a leaver once disabled, held until then (a
                    // grace period).
                    None if self.claimed[e] || enabled || self.absence_blocker.is_some() => Standing::Hold,
                    None => Standing::Leaver { now: false },
                }
            })
            .collect();
        (standing, person_of)
    }

    /// The live entries whose DN a row of this plan may change: an LDAP rename (the RDN
    /// attribute changes) or a move (`move_to` on disable, or back on enable).
    fn moves(&self, rows: &[Row]) -> BTreeSet<usize> {
        let DirectoryKind::Ldap(s) = &self.dir.kind else { return BTreeSet::new() };
        let moving = matches!(s.disable, crate::config::LdapDisable::MoveTo(_));
        let by_id: HashMap<&str, usize> =
            self.input.live.iter().enumerate().map(|(e, entry)| (entry.id.as_str(), e)).collect();
        rows.iter()
            .filter(|r| {
                let renames = r.action == Action::Update
                    && r.changes.iter().any(|c| c.attribute.eq_ignore_ascii_case(&s.rdn));
                let moves =
                    moving && r.enabled.is_some() && matches!(r.action, Action::Update | Action::Disable);
                renames || moves
            })
            .filter_map(|r| by_id.get(r.entry.as_deref()?).copied())
            .collect()
    }

    /// Whether person `i`'s memberships in `def`'s groups are held: the field grouped
    /// by, or one its filter reads, is withheld by a source.
    fn held_for(&self, def: &GroupDef, i: usize) -> bool {
        let p = &self.people[i];
        if p.withheld.is_none() {
            return false;
        }
        if def.per.as_ref().is_some_and(|f| p.is_withheld(f)) {
            return true;
        }
        let filter = def.filter.as_ref().and_then(|f| self.input.config.filters.get(f));
        filter.is_some_and(|f| f.include.iter().chain(&f.exclude).any(|r| p.is_withheld(&r.field)))
    }

    /// Whether person `i` is a member of `def`'s groups at all (its filter), and of
    /// which value.
    fn member_value(&self, def: &GroupDef, i: usize) -> Option<Option<String>> {
        let p = &self.people[i];
        if let Some(f) = def.filter.as_ref().and_then(|f| self.input.config.filters.get(f))
            && !filter::decide([f], p).is_included()
        {
            return None;
        }
        match &def.per {
            None => Some(None),
            Some(field) => {
                let value = crate::model::template::Vars::get(p, field)?.to_text();
                let value = value.trim();
                (!value.is_empty()).then(|| Some(value.to_owned()))
            }
        }
    }

    /// The groups `def` wants in this directory, by key.
    fn wanted(
        &self,
        def: &GroupDef,
        owner: &str,
        standing: &[Standing],
        joiners: &[usize],
    ) -> BTreeMap<String, Wanted> {
        let mut out: BTreeMap<String, Wanted> = BTreeMap::new();
        let units: HashMap<&str, &OrgUnit> = if def.per_org_unit() {
            self.input.org_units.iter().map(|u| (u.id.as_str(), u)).collect()
        } else {
            HashMap::new()
        };
        // The value of each key, as first spelled, for nesting.
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        // Each value as spelled, once: its group's key, or none when its name renders
        // empty (values repeat: a few thousand units for a hundred thousand people).
        let mut seen: HashMap<Option<String>, Option<String>> = HashMap::new();
        let mut add = |out: &mut BTreeMap<String, Wanted>, i: usize, want: Want| {
            if self.held_for(def, i) {
                return;
            }
            let Some(value) = self.member_value(def, i) else { return };
            if let Some(known) = seen.get(&value) {
                if let Some(w) = known.as_ref().and_then(|k| out.get_mut(k)) {
                    w.members.insert(want);
                }
                return;
            }
            let key = def.key(owner, value.as_deref());
            let unit_name = value
                .as_deref()
                .and_then(|v| units.get(v).map(|u| u.name.as_str()))
                .or(self.people[i].org_unit_name.as_deref());
            let Some(name) = def.group_name(value.as_deref(), unit_name) else {
                seen.insert(value, None);
                return;
            };
            match out.get_mut(&key) {
                // Values that differ in case only are one group: its name is the
                // first of their names in sort order, whatever order people come in.
                Some(w) => {
                    w.members.insert(want);
                    if name < w.name {
                        w.name = name;
                    }
                }
                None => {
                    if let Some(v) = &value {
                        values.insert(key.clone(), v.clone());
                    }
                    out.insert(key.clone(), Wanted { name, members: BTreeSet::from([want]) });
                }
            }
            seen.insert(value, Some(key));
        };
        for (e, s) in standing.iter().enumerate() {
            if let Standing::Member(i) = s {
                add(&mut out, *i, Want::Entry(e));
            }
        }
        for &i in joiners {
            add(&mut out, i, Want::New(i));
        }
        // A static group exists as declared, members or not.
        if def.per.is_none() {
            let key = def.key(owner, None);
            if !out.contains_key(&key)
                && let Some(name) = def.group_name(None, None)
            {
                out.insert(key, Wanted { name, members: BTreeSet::new() });
            }
        }
        if def.nesting {
            // Every unit above a unit with a group gets one, with its children's
            // groups as members; each unit is visited once, so a cycle in the tree
            // stops where it repeats.
            let mut pending: Vec<String> = values.into_values().collect();
            let mut seen: BTreeSet<String> = BTreeSet::new();
            while let Some(child) = pending.pop() {
                if !seen.insert(child.trim().to_lowercase()) {
                    continue;
                }
                let Some(unit) = units.get(child.as_str()) else { continue };
                let Some(parent) = unit.parent.as_deref().map(str::trim).filter(|p| !p.is_empty()) else {
                    continue;
                };
                let (parent_key, child_key) = (def.key(owner, Some(parent)), def.key(owner, Some(&child)));
                if parent_key == child_key {
                    continue;
                }
                if !out.contains_key(&parent_key) {
                    let name = units.get(parent).map(|u| u.name.as_str());
                    let Some(name) = def.group_name(Some(parent), name) else { continue };
                    out.insert(parent_key.clone(), Wanted { name, members: BTreeSet::new() });
                }
                if let Some(w) = out.get_mut(&parent_key) {
                    w.members.insert(Want::Group(child_key));
                }
                pending.push(parent.to_owned());
            }
        }
        out
    }

    /// The member of a plan row for `want`.
    fn member(&self, want: &Want, cx: &Cx<'_>) -> Member {
        match want {
            Want::Entry(e) => self.entry_member(*e, cx),
            Want::New(i) => Member { person: Some(self.people[*i].key.clone()), id: None, group: None },
            Want::Group(key) => Member {
                person: None,
                id: cx.owned.get(key.as_str()).map(|g| g.id.clone()),
                group: Some(key.clone()),
            },
        }
    }

    /// The member that is live entry `e`, by its id as read (apply finds a renamed
    /// entry's new id by it; directories compare members as they compare ids).
    fn entry_member(&self, e: usize, cx: &Cx<'_>) -> Member {
        let id = self.input.live[e].id.clone();
        Member { person: cx.person_of[e].map(|i| self.people[i].key.clone()), id: Some(id), group: None }
    }

    /// The row creating the group of `key`.
    fn group_create(&self, def: &GroupDef, key: &str, want: &Wanted, cx: &Cx<'_>) -> GroupRow {
        let add: Vec<Member> = want.members.iter().map(|w| self.member(w, cx)).collect();
        GroupRow {
            action: GroupAction::Create,
            name: want.name.clone(),
            definition: def.id.clone(),
            key: key.to_owned(),
            group: None,
            renamed_from: None,
            leavers: 0,
            members: add.len(),
            add,
            remove: Vec::new(),
            follow: Vec::new(),
            reasons: vec![describe(def), "no group of this key yet".to_owned()],
            warnings: Vec::new(),
        }
    }

    /// The row bringing `group` (owned, of `key`) to `want`; the entries of `held`
    /// keep their membership as it is.
    fn group_update(
        &self,
        def: &GroupDef,
        key: &str,
        want: &Wanted,
        group: &Group,
        held: &[bool],
        cx: &Cx<'_>,
    ) -> GroupRow {
        let kind = &self.dir.kind;
        // The members as read, one each by member key, in key order.
        let read = group_members_sorted(kind, group);
        let current: std::collections::HashSet<&str> = read.iter().map(|(k, _)| k.as_ref()).collect();
        let mut add = Vec::new();
        for w in &want.members {
            let present = match w {
                Want::Entry(e) => current.contains(member_key(kind, &self.input.live[*e].id).as_ref()),
                Want::New(_) => false,
                Want::Group(k) => cx
                    .owned
                    .get(k.as_str())
                    .is_some_and(|g| current.contains(member_key(kind, &g.id).as_ref())),
            };
            if !present {
                add.push(self.member(w, cx));
            }
        }
        let wanted_entries: BTreeSet<usize> = want
            .members
            .iter()
            .filter_map(|w| if let Want::Entry(e) = w { Some(*e) } else { None })
            .collect();
        let wanted_groups: BTreeSet<&str> = want
            .members
            .iter()
            .filter_map(|w| if let Want::Group(k) = w { Some(k.as_str()) } else { None })
            .collect();
        let mut remove = Vec::new();
        let mut leavers = 0;
        for (m, raw) in &read {
            if let Some(&e) = cx.entries.get(m.as_ref()) {
                if wanted_entries.contains(&e) || held[e] {
                    continue;
                }
                // Only the leavers this plan disables or deletes: the disables guard
                // weighs those; earlier leavers' removals count as any other.
                if matches!(cx.standing[e], Standing::Leaver { now: true } | Standing::Gone) {
                    leavers += 1;
                }
                remove.push(self.entry_member(e, cx));
            } else if let Some(k) = cx.group_ids.get(m.as_ref()) {
                // A nested group of this definition no longer under this one.
                if def.nesting && def.owns_key(cx.owner, k) && !wanted_groups.contains(k) {
                    remove.push(Member {
                        person: None,
                        id: Some((*raw).to_owned()),
                        group: Some((*k).to_owned()),
                    });
                }
            }
        }
        // Members that stay while a row gives their entry a new DN, and nested groups
        // that stay while this plan renames them.
        let mut follow: Vec<Member> = Vec::new();
        if !cx.moves.is_empty() || !cx.renamed.is_empty() {
            for (m, raw) in &read {
                if let Some(&e) = cx.entries.get(m.as_ref()) {
                    if cx.moves.contains(&e) && (wanted_entries.contains(&e) || held[e]) {
                        follow.push(self.entry_member(e, cx));
                    }
                } else if let Some(k) = cx.group_ids.get(m.as_ref())
                    && cx.renamed.contains(m.as_ref())
                    && wanted_groups.contains(k)
                {
                    follow.push(Member {
                        person: None,
                        id: Some((*raw).to_owned()),
                        group: Some((*k).to_owned()),
                    });
                }
            }
        }
        let renamed_from = (group.name != want.name).then(|| group.name.clone());
        let members = current.len() + add.len() - remove.len();
        let mut reasons = vec![describe(def)];
        if let Some(before) = &renamed_from {
            reasons.push(format!("renamed: `{before}` → `{}`", want.name));
        }
        if !add.is_empty() {
            reasons.push(format!("{} to add", add.len()));
        }
        match (remove.len(), leavers) {
            (0, _) => {}
            (n, 0) => reasons.push(format!("{n} to remove")),
            (n, l) => reasons.push(format!("{n} to remove ({l} of them leavers)")),
        }
        if !follow.is_empty() {
            reasons.push(format!(
                "{} renamed or moved by this plan: their membership follows the new DN",
                follow.len()
            ));
        }
        let changes = renamed_from.is_some() || !add.is_empty() || !remove.is_empty() || !follow.is_empty();
        if !changes {
            reasons.push("up to date".to_owned());
        }
        GroupRow {
            action: if changes { GroupAction::Update } else { GroupAction::Noop },
            name: want.name.clone(),
            definition: def.id.clone(),
            key: key.to_owned(),
            group: Some(group.id.clone()),
            renamed_from,
            add,
            remove,
            follow,
            leavers,
            members,
            reasons,
            warnings: Vec::new(),
        }
    }
}

/// What the rows of one plan share: live entries by member key, owned groups by member
/// key and by key, and whose entry each live entry is.
struct Cx<'a> {
    entries: &'a HashMap<Cow<'a, str>, usize>,
    group_ids: &'a HashMap<Cow<'a, str>, &'a str>,
    person_of: &'a [Option<usize>],
    owned: &'a BTreeMap<&'a str, &'a Group>,
    /// `<workspace>/<directory>`: whose keys are ours.
    owner: &'a str,
    /// Live entries a row of this plan gives a new id (an LDAP rename or move).
    moves: &'a BTreeSet<usize>,
    /// Where each live entry stands after the rows.
    standing: &'a [Standing],
    /// Member keys of the LDAP groups this plan renames (their DN changes).
    renamed: &'a BTreeSet<String>,
}

/// A group's members as read, with their member keys, one each, in key order.
fn group_members_sorted<'g>(kind: &DirectoryKind, group: &'g Group) -> Vec<(Cow<'g, str>, &'g str)> {
    let mut out: Vec<(Cow<'g, str>, &'g str)> =
        group.members.iter().map(|m| (member_key(kind, m), m.as_str())).collect();
    out.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// What a definition is, as a row's first reason.
fn describe(def: &GroupDef) -> String {
    match &def.per {
        Some(FieldRef::Person(crate::model::PersonField::OrgUnit)) => {
            format!("one group per org unit ({})", def.file)
        }
        Some(field) => format!("one group per {field} ({})", def.file),
        None => format!("static group ({})", def.file),
    }
}

/// The row of a wanted group whose name a group hrsync does not own has.
fn skip_taken(
    def: &GroupDef,
    key: &str,
    want: &Wanted,
    other: &Group,
    settings: &GroupSettings,
    owner: &str,
) -> GroupRow {
    let why = match other.key.as_deref().map(str::trim) {
        Some(k) if k.starts_with(&owner_prefix(owner)) => format!(
            "a group named `{}` exists, owned by this configuration under another key (`{k}`): two definitions or values give one name; make the names differ",
            other.name,
        ),
        Some(k) if k.starts_with(KEY_PREFIX) => format!(
            "a group named `{}` exists, owned by another hrsync configuration (its key `{k}`): left to it",
            other.name,
        ),
        _ => format!(
            "a group named `{}` exists that hrsync does not own; to let hrsync manage it, set its `{}` to `{key}`, or choose another name",
            other.name, settings.key_attribute
        ),
    };
    GroupRow {
        action: GroupAction::Skip,
        name: want.name.clone(),
        definition: def.id.clone(),
        key: key.to_owned(),
        group: Some(other.id.clone()),
        renamed_from: None,
        add: Vec::new(),
        remove: Vec::new(),
        follow: Vec::new(),
        leavers: 0,
        members: other.members.len(),
        reasons: vec![describe(def), why],
        warnings: Vec::new(),
    }
}

/// Creates and renames that would give one name to two groups (two definitions or
/// values naming alike, or a rename onto a group that exists) are left out: a create is
/// skipped, a rename is not made (its member changes are). Names compare without regard
/// to case, as directories do.
fn skip_name_clashes(rows: &mut [GroupRow], live: &[Group]) {
    let mut claims: HashMap<String, usize> = HashMap::new();
    let named = |r: &GroupRow| matches!(r.action, GroupAction::Create) || r.renamed_from.is_some();
    for r in rows.iter().filter(|r| named(r)) {
        *claims.entry(r.name.to_lowercase()).or_default() += 1;
    }
    let existing: HashMap<String, &str> =
        live.iter().map(|g| (g.name.to_lowercase(), g.id.as_str())).collect();
    for r in rows.iter_mut().filter(|r| named(r)) {
        let name = r.name.to_lowercase();
        let twice = claims.get(&name).is_some_and(|n| *n > 1);
        // A rename onto another existing group (not onto itself, by case only).
        let taken =
            r.renamed_from.is_some() && existing.get(&name).is_some_and(|id| Some(*id) != r.group.as_deref());
        if !twice && !taken {
            continue;
        }
        let why = if twice {
            format!(
                "another group of this plan would be named `{}` too: make the names of the definitions or values differ",
                r.name
            )
        } else {
            format!("a group named `{}` exists already", r.name)
        };
        if r.action == GroupAction::Create {
            r.action = GroupAction::Skip;
            r.members = 0;
            r.add.clear();
            r.reasons.push(format!("not created: {why}"));
        } else if let Some(before) = r.renamed_from.take() {
            r.warnings.push(format!("not renamed from `{before}`: {why}"));
            r.name = before;
            r.reasons.retain(|x| !x.starts_with("renamed"));
            if r.add.is_empty() && r.remove.is_empty() && r.follow.is_empty() {
                r.action = GroupAction::Noop;
            }
        }
    }
}

/// Nested groups a row adds that this plan does not create (their create is skipped)
/// and that do not exist: left out, so the parent's row settles.
fn drop_unmade_nested(rows: &mut [GroupRow]) {
    let made: BTreeSet<String> =
        rows.iter().filter(|r| r.action == GroupAction::Create).map(|r| r.key.clone()).collect();
    for r in rows.iter_mut().filter(|r| matches!(r.action, GroupAction::Create | GroupAction::Update)) {
        let before = r.add.len();
        r.add.retain(|m| m.group.as_ref().is_none_or(|k| m.id.is_some() || made.contains(k)));
        let dropped = before - r.add.len();
        if dropped > 0 {
            r.members -= dropped;
            r.warnings.push(format!(
                "{dropped} nested group(s) are not added: they are not created in this plan (see their rows)"
            ));
            if r.action == GroupAction::Update
                && r.add.is_empty()
                && r.remove.is_empty()
                && r.follow.is_empty()
                && r.renamed_from.is_none()
            {
                r.action = GroupAction::Noop;
            }
        }
    }
}

/// Counts per action.
fn summarize(rows: &[GroupRow]) -> GroupSummary {
    let mut s = GroupSummary::default();
    for r in rows {
        match r.action {
            GroupAction::Create => s.create += 1,
            GroupAction::Update => s.update += 1,
            GroupAction::Delete => s.delete += 1,
            GroupAction::Skip => s.skip += 1,
            GroupAction::Noop => s.noop += 1,
        }
        if r.renamed_from.is_some() {
            s.rename += 1;
        }
        s.members_added += r.add.len();
        s.members_removed += r.remove.len();
    }
    s
}

/// Which group limits `plan` exceeds: removals from one group beyond its share of
/// members (leavers aside: the disables guard weighs those), deletes beyond their share
/// of the owned groups.
pub(super) fn limits_exceeded(plan: &GroupPlan) -> Vec<String> {
    let mut out = Vec::new();
    for r in &plan.rows {
        let removed = r.remove.len().saturating_sub(r.leavers);
        if removed as u64 <= plan.member_removals_allowed {
            continue;
        }
        // `members` counts after the row: members = before + added - removed; the
        // share is of the members who are not leaving in this plan.
        let before = (r.members + r.remove.len()).saturating_sub(r.add.len() + r.leavers).max(removed);
        let share = removed as f64 * 100.0 / before as f64;
        if share > plan.max_member_removal_percent {
            out.push(format!(
                "removing {removed} of {before} members ({share:.1} %) of group `{}` is above max_group_member_removal_percent {}",
                r.name, plan.max_member_removal_percent
            ));
        }
    }
    let deletes = plan.summary.delete;
    if deletes > 1 && plan.owned > 0 {
        let share = deletes as f64 * 100.0 / plan.owned as f64;
        if share > plan.max_delete_percent {
            out.push(format!(
                "deleting {deletes} of {} groups hrsync owns ({share:.1} %) is above max_group_delete_percent {}",
                plan.owned, plan.max_delete_percent
            ));
        }
    }
    out
}
