//! Matching: which live entry, if any, each person's entry is.
//!
//! A person is looked up by the directory's match key chain: the first rule whose
//! person field has a value decides, as in DESIGN §4.5. Ambiguity both ways is a skip,
//! never a guess: a value several entries hold, or an entry several people find. This
//! module owns the match indexes, the claims on entries and the "matched by" reasons;
//! it must not decide what happens to a matched or unmatched person (that is
//! [`super::lifecycle`]) nor look at attributes other than the match attributes.

use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::diff::Planner;
use super::lifecycle::Fate;
use crate::directory::Entry;
use crate::model::template::{PersonOnly, Vars};
use crate::model::{Compare, FieldValue, Key, KeyIndex, RecordKind, SkippedRecord, Value};

/// What matching found for a person: an entry and the index of the rule that found
/// it, nothing, or why the match is ambiguous.
type Found = Result<Option<(usize, usize)>, String>;

/// What a person's lookup found, in 16 bytes (a million people look up at once): one
/// entry and the rule that found it, nothing, or several entries (why, and which).
enum Lookup {
    Nothing,
    One(u32, u32),
    Many(Box<(String, Vec<u32>)>),
}

impl Lookup {
    /// The entries the lookup found.
    fn entries(&self) -> &[u32] {
        match self {
            Lookup::Nothing => &[],
            Lookup::One(e, _) => std::slice::from_ref(e),
            Lookup::Many(many) => &many.1,
        }
    }
}

/// Where a value of a match attribute is, in a rule's index: the entry, and the
/// value's place among the entry's values of the attribute.
fn locator(entry: usize, value: usize) -> u64 {
    ((entry as u64) << 32) | value as u64
}

/// The text at a [`locator`] of the index of `attribute`.
fn text_at<'l>(live: &'l [Entry], attribute: &'l str) -> impl Fn(u64) -> &'l str {
    move |at| {
        let (entry, value) = ((at >> 32) as usize, (at & 0xffff_ffff) as usize);
        live[entry].attributes.get(attribute).and_then(|v| v.values().get(value)).map_or("", String::as_str)
    }
}

impl Planner<'_> {
    /// Fills in each person's match (an entry, nothing, or why it is ambiguous) as a
    /// first fate, and which entries some person found.
    pub(super) fn match_people(&mut self) {
        let live = self.input.live;
        let rules = &self.dir.match_rules;
        let compares: Vec<Compare> = rules
            .iter()
            .map(|r| self.dir.field(&r.attribute).map_or(Compare::Exact, |f| f.compare))
            .collect();
        // The indexes hold where each value is, not the value: they are as many as the
        // entries.
        let indexes: Vec<KeyIndex> = rules
            .par_iter()
            .zip(&compares)
            .map(|(rule, compare)| {
                let mut index = KeyIndex::with_capacity(live.len());
                let mut hint = 0;
                for (e, entry) in live.iter().enumerate() {
                    let values = entry.attributes.get_hinted(&rule.attribute, &mut hint).map(Value::values);
                    for (k, v) in values.unwrap_or_default().iter().enumerate() {
                        index.add(
                            &Key::new(*compare, v),
                            locator(e, k),
                            e as u32,
                            text_at(live, &rule.attribute),
                        );
                    }
                }
                index
            })
            .collect();

        // Each person looks up their entry on their own; who claims which entry is then
        // gathered in order.
        let lookups: Vec<Lookup> = self
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
                    return match indexes[r].get(&Key::new(compares[r], text), text_at(live, &rule.attribute))
                    {
                        [] => continue,
                        [e] => Lookup::One(*e, r as u32),
                        many => Lookup::Many(Box::new((
                            format!(
                                "ambiguous: {} entries have the {} of this person in {}",
                                many.len(),
                                rule.person,
                                rule.attribute
                            ),
                            many.to_vec(),
                        ))),
                    };
                }
                Lookup::Nothing
            })
            .collect();
        // Who claims each entry: the first person whose match found it, and for the few
        // entries several people found, all of them.
        let mut first: Vec<u32> = vec![u32::MAX; live.len()];
        let mut several: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for (i, lookup) in lookups.iter().enumerate() {
            for e in lookup.entries() {
                let claimant = &mut first[*e as usize];
                if *claimant == u32::MAX {
                    *claimant = i as u32;
                } else {
                    several.entry(*e).or_insert_with(|| vec![*claimant]).push(i as u32);
                }
            }
        }
        let mut found: Vec<Found> = lookups
            .into_iter()
            .map(|lookup| match lookup {
                Lookup::Nothing => Ok(None),
                Lookup::One(e, r) => Ok(Some((e as usize, r as usize))),
                Lookup::Many(many) => Err(many.0),
            })
            .collect();
        for (claimed, first) in self.claimed.iter_mut().zip(&first) {
            *claimed = *first != u32::MAX;
        }
        drop(first);
        let mut several: Vec<(u32, Vec<u32>)> = several.into_iter().collect();
        // In entry order, as a later entry's claimants' reason replaces an earlier one's.
        several.sort_unstable_by_key(|(e, _)| *e);
        for (_, people) in &several {
            for i in people {
                found[*i as usize] = Err(format!(
                    "ambiguous: the entry matched for this person is also matched by {} other {}",
                    people.len() - 1,
                    if people.len() == 2 { "person" } else { "people" }
                ));
            }
        }
        // An entry another configuration owns (its marker names another owner) is
        // theirs: never taken over, updated, disabled or deleted from here.
        if let Some(marker) = self.dir.marker.as_ref().filter(|m| m.owner_pattern.is_some()) {
            for f in found.iter_mut() {
                let Ok(Some((e, _))) = f else { continue };
                if let Some(owner) = marker.foreign_owner(live[*e].attributes.get(&marker.attribute)) {
                    *f = Err(format!(
                        "owned by another configuration: the entry's `{}` names `{owner}`, so it is left to that one",
                        marker.attribute
                    ));
                }
            }
        }
        self.hold_skipped(&indexes, &compares, &found);
        self.fates = found
            .iter()
            .map(|f| match f {
                Err(reason) => Fate::Skip(reason.clone()),
                Ok(Some((e, _))) => Fate::Exists(*e),
                Ok(None) => Fate::Nothing(String::new(), None),
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

    /// Holds the entries of people whose rows were skipped: a skipped row is looked up
    /// with what could be read of it, by every rule of the match key chain, and by its record id
    /// among the people other records still describe (a skipped employment names its
    /// person); the entries it finds are left as they are in this plan (see
    /// [`super::rows`]).
    fn hold_skipped(&mut self, indexes: &[KeyIndex], compares: &[Compare], found: &[Found]) {
        let live = self.input.live;
        let rules = &self.dir.match_rules;
        let records: Vec<&SkippedRecord> = self.input.sources.iter().flat_map(|s| &s.skipped).collect();
        if records.is_empty() {
            return;
        }
        // The people each skipped record id belongs to, by (source, record id).
        let mut by_record: FxHashMap<(&str, &str), Vec<usize>> = FxHashMap::default();
        for r in &records {
            if let Some(p) = r.partial.as_deref().filter(|p| !p.id.is_empty()) {
                by_record.entry((p.source.as_str(), p.id.as_str())).or_default();
            }
        }
        if !by_record.is_empty() {
            for (i, p) in self.people.iter().enumerate() {
                for r in &p.records {
                    if let Some(people) = by_record.get_mut(&(r.source.as_str(), r.id.as_str())) {
                        people.push(i);
                    }
                }
            }
        }
        for record in records {
            let Some(partial) = record.partial.as_deref() else { continue };
            let person = PersonOnly(partial);
            // Every entry any rule finds, not only the first rule's: what the row would
            // match once read is not known, and holding too much only waits.
            let mut entries: Vec<u32> = rules
                .iter()
                .enumerate()
                .filter_map(|(r, rule)| {
                    let value = person.get(&rule.person)?.to_text();
                    Some(
                        indexes[r]
                            .get(&Key::new(compares[r], &value), text_at(live, &rule.attribute))
                            .to_vec(),
                    )
                })
                .flatten()
                .collect();
            let owners = by_record.get(&(partial.source.as_str(), partial.id.as_str()));
            for i in owners.into_iter().flatten() {
                if let Ok(Some((e, _))) = &found[*i] {
                    entries.push(*e as u32);
                }
            }
            if entries.is_empty() {
                continue;
            }
            let why: Arc<str> = format!(
                "held: {} of this person at {} was skipped ({}); the entry is left as it is until the row can be read",
                match record.kind {
                    RecordKind::Employee => "the row",
                    RecordKind::Employment => "an employment row",
                    RecordKind::OrgUnit => "an org unit row",
                },
                record.location,
                record.reason
            )
            .into();
            for e in entries {
                let e = e as usize;
                // Claimed entries too: another source or an older record may still
                // describe the person, and must not make them a leaver on its own.
                if self.held[e].is_none() {
                    self.held[e] = Some(why.clone());
                }
            }
        }
    }
}
