//! Desired attributes: what each mapped field of a person's entry should hold.
//!
//! This module owns the values of a new entry, the values picked for `unique` fields
//! (free in the directory, in key order), manager references (an existing entry, an
//! entry created earlier in the plan, or a warning), the ownership marker's value and
//! the drift of an existing entry from its continuous fields, compared the way the
//! directory compares. Rendering a field's templates over a person is
//! [`crate::transform::map`]'s; what is added here is what needs the plan: the
//! directory's taken values, entries and other people's fates. It must not decide
//! whether an entry is created, changed or left alone (that is [`super::lifecycle`]
//! and [`super::rows`]); it only says what the attributes would be.

use std::borrow::Cow;
use std::collections::HashMap;

use rustc_hash::{FxHashMap, FxHashSet};

use super::diff::Planner;
use super::lifecycle::Fate;
use super::{Change, Planned};
use crate::config::{DirectoryKind, FieldMode, FieldSource, Marker};
use crate::directory::Entry;
use crate::model::value::{rdn_key, rdn_value};
use crate::model::{Compare, Key, PersonField, SourceId, Value, same_text};
use crate::transform::map::{self, Free};
use crate::transform::merge::{ManagerLink, MergedPerson};

/// A manager reference as the plan can express it.
pub(super) enum ManagerValue<'a> {
    Absent,
    Entry(&'a str),
    Pending(&'a str),
    Unresolved(String),
}

/// A desired value and the sources it comes from. `None` as the value means the
/// attribute should be absent.
type Sourced = (Option<Planned>, Vec<SourceId>);

/// The value picked for a `unique` field of a create, or why none is free.
pub(super) type UniqueValue = Result<Unique, String>;

/// How many further free values of a `unique` field a create carries, for the
/// directory to refuse the planned one as taken when it is written.
pub(super) const ALTERNATIVES: usize = 4;

/// The value picked for a `unique` field of a create.
pub(super) struct Unique {
    /// The first free value.
    pub value: String,
    /// The sources of the fields it was rendered from.
    pub from: Vec<SourceId>,
    /// The next values the candidates give that were free when planning (up to
    /// [`ALTERNATIVES`], not claimed: another create may take one first).
    pub alternatives: Vec<String>,
}

/// Per-thread working memory of row computation.
#[derive(Default)]
pub(super) struct Scratch {
    /// Rendered values, compared in place.
    buf: String,
    /// Per mapped field, where its attribute was in the last entry looked at.
    hints: Vec<usize>,
}

impl<'a> Planner<'a> {
    /// Picks values for `unique` fields of every create, in key order, so the choice
    /// does not depend on anything but the inputs.
    pub(super) fn assign_unique_values(&mut self) -> FxHashMap<(usize, usize), UniqueValue> {
        let mut out = FxHashMap::default();
        for (f, field) in self.dir.fields.iter().enumerate() {
            let FieldSource::Templates { candidates, unique: true } = &field.source else { continue };
            if !self.fates.iter().any(|f| matches!(f, Fate::Create { .. })) {
                break;
            }
            // The value that names an LDAP entry in its DN is free only if no DN has it
            // either, as the server compares DNs: case aside, and read off the DN.
            let rdn = matches!(&self.dir.kind, DirectoryKind::Ldap(s) if s.rdn.eq_ignore_ascii_case(&field.attribute));
            let compare = if rdn { Compare::IgnoreCase } else { field.compare };
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
                    if rdn {
                        taken.insert(Key::new(compare, &rdn_key(v)).into_owned());
                    } else {
                        taken.insert(Key::new(compare, v));
                    }
                }
                if rdn
                    && let Some((attribute, value)) = rdn_value(&e.id)
                    && attribute.eq_ignore_ascii_case(&field.attribute)
                {
                    taken.insert(Key::new(compare, &rdn_key(&value)).into_owned());
                }
            }
            // Values held outside the scope (AD: anywhere in the domain) are taken too.
            for (attribute, values) in self.input.held_elsewhere {
                if attribute.eq_ignore_ascii_case(&field.attribute) {
                    for (v, _) in values {
                        let v: Cow<'_, str> = if rdn { Cow::Owned(rdn_key(v)) } else { Cow::Borrowed(v) };
                        taken.insert(Key::new(compare, &v).into_owned());
                    }
                }
            }
            for i in 0..self.people.len() {
                if !matches!(self.fates[i], Fate::Create { .. }) {
                    continue;
                }
                let key = |v: &str| -> Key<'static> {
                    let v: Cow<'_, str> = if rdn { Cow::Owned(rdn_key(v)) } else { Cow::Borrowed(v) };
                    Key::new(compare, &v).into_owned()
                };
                let mut values = map::candidate_values(candidates, &self.people[i]);
                let chosen = match map::first_free(&mut values, &self.people[i], |v| taken.insert(key(v))) {
                    // Every candidate empty: the field has no value, like any other field.
                    Free::Empty => continue,
                    Free::Value(value, from) => {
                        // What the server may still refuse as taken (a name made since
                        // the read, or held where the read could not see) gets the next.
                        let alternatives = values
                            .filter(|(v, _)| !taken.contains(&key(v)))
                            .map(|(v, _)| v)
                            .take(ALTERNATIVES)
                            .collect();
                        Ok(Unique { value, from, alternatives })
                    }
                    Free::Taken => {
                        Err(format!("no free value for `{}`: every candidate is taken", field.attribute))
                    }
                };
                out.insert((i, f), chosen);
            }
        }
        out
    }

    /// How person `i`'s manager can be referenced in this plan.
    pub(super) fn manager_value(&self, i: usize) -> ManagerValue<'a> {
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
                // With their entry's id: an override may keep a leaving manager on.
                let entry = match &self.fates[m] {
                    Fate::Exists(e) => Some(self.input.live[*e].id.as_str()),
                    _ => None,
                };
                // A manager an override hides: say which, so the review can tell why.
                let hidden = || {
                    self.override_of(m, |o| {
                        matches!(o.kind, crate::config::OverrideKind::Hide { .. }).then(|| o.place())
                    })
                    .map(|place| format!(" (hidden by the override at {place})"))
                    .unwrap_or_default()
                };
                if self.leaving(m, entry).is_some() {
                    return ManagerValue::Unresolved(format!(
                        "manager left unset: the manager is out of scope or has left{}",
                        hidden()
                    ));
                }
                match &self.fates[m] {
                    Fate::Exists(e) => ManagerValue::Entry(&self.input.live[*e].id),
                    Fate::Create { .. } => ManagerValue::Pending(&self.people[m].key),
                    Fate::Skip(_) => ManagerValue::Unresolved(format!(
                        "manager left unset: the manager's row is skipped{}",
                        hidden()
                    )),
                    Fate::Nothing(..) => ManagerValue::Unresolved(format!(
                        "manager left unset: the manager has no entry yet{}",
                        hidden()
                    )),
                }
            }
        }
    }
    /// The values of a new entry for person `i`, field by field: `Some((None, _))` is a
    /// field without a value, `None` a field that is never written (`ignore`, or a
    /// manager that cannot be referenced, with a warning).
    pub(super) fn desired(
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
            if let Some(value) = self.pinned(i, &field.attribute) {
                out.push(Some((Some(Planned::Value(Value::One(value.to_owned()))), Vec::new())));
                continue;
            }
            let value = match &field.source {
                FieldSource::Templates { unique: true, .. } => match unique.get(&(i, f)) {
                    Some(Ok(u)) => Some((Some(Planned::Value(Value::One(u.value.clone()))), u.from.clone())),
                    Some(Err(reason)) => return Err(reason.clone()),
                    None => Some((None, Vec::new())),
                },
                FieldSource::Templates { candidates, unique: false } => {
                    Some(match map::first_value(candidates, p) {
                        Some((v, from)) => (Some(Planned::Value(Value::One(v))), from),
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
    pub(super) fn drift(
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
            if field.mode == FieldMode::Ignore {
                continue;
            }
            // A pinned attribute holds the override's value, whatever its mode.
            if let Some(value) = self.pinned(i, &field.attribute) {
                let before = entry.attributes.get_hinted(&field.attribute, hint);
                if !same_text(field.compare, Some(value), before) {
                    changes.push(Change {
                        attribute: field.attribute.clone(),
                        before: before.cloned(),
                        after: Some(Planned::Value(Value::One(value.to_owned()))),
                        mode: field.mode,
                        from: Vec::new(),
                        personal: field.personal,
                        alternatives: Vec::new(),
                        reference: false,
                    });
                }
                continue;
            }
            if field.mode != FieldMode::Continuous {
                continue;
            }
            let before = entry.attributes.get_hinted(&field.attribute, hint);
            let (after, from) = match &field.source {
                // A unique field is import_once by construction; never here.
                FieldSource::Templates { unique: true, .. } => continue,
                FieldSource::Templates { candidates, unique: false } => {
                    let rendered = map::first_value_in(candidates, p, buf);
                    let text = rendered.map(|(text, _)| text);
                    if same_text(field.compare, text, before) {
                        continue;
                    }
                    if let Some(f) = withheld_in(p, candidates) {
                        warnings.push(held(&field.attribute, &f));
                        continue;
                    }
                    let from = rendered.map(|(_, t)| p.owners_of(&t.fields())).unwrap_or_default();
                    (text.map(|t| Planned::Value(Value::One(t.to_owned()))), from)
                }
                FieldSource::Manager => {
                    let manager = crate::model::FieldRef::Person(PersonField::Manager);
                    if p.is_withheld(&manager) {
                        if before.is_some() {
                            warnings.push(held(&field.attribute, &manager));
                        }
                        continue;
                    }
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
                alternatives: Vec::new(),
                reference: matches!(field.source, FieldSource::Manager),
            });
        }
        changes
    }
}

impl Planner<'_> {
    /// The value an override pins `attribute` of person `i`'s entry to, if one does.
    pub(super) fn pinned(&self, i: usize, attribute: &str) -> Option<&str> {
        let overrides = self.overrides.get(&i)?;
        overrides.iter().find_map(|o| match &o.kind {
            crate::config::OverrideKind::Pin { attribute: a, value, .. } if a == attribute => {
                Some(value.as_str())
            }
            _ => None,
        })
    }
}

/// The first field a field's candidates read that is withheld from `p` (its source
/// could not see it for anyone): the attribute is kept as the directory holds it.
fn withheld_in(
    p: &MergedPerson,
    candidates: &[crate::model::template::Template],
) -> Option<crate::model::FieldRef> {
    p.withheld.as_ref()?;
    candidates.iter().flat_map(|t| t.fields()).find(|f| p.is_withheld(f))
}

/// The warning of an attribute kept because its field is withheld.
fn held(attribute: &str, field: &crate::model::FieldRef) -> String {
    format!(
        "`{attribute}` kept as it is: no record of the source carried `{field}` (the source's warning says what to grant)"
    )
}

/// The change that sets the ownership marker's value.
pub(super) fn marker_change(marker: &Marker, before: Option<Value>) -> Change {
    Change {
        attribute: marker.attribute.clone(),
        before,
        after: marker.value.clone().map(|v| Planned::Value(Value::One(v))),
        mode: FieldMode::Continuous,
        from: Vec::new(),
        personal: false,
        alternatives: Vec::new(),
        reference: false,
    }
}

/// People whose manager chain loops back to them, with the size of their loop.
pub(super) fn manager_cycles(people: &[MergedPerson]) -> HashMap<usize, usize> {
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
