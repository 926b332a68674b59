//! Lifecycle: who is a joiner, who is active and who is a leaver, each on the date of
//! their own time zone, and what that means for their entry.
//!
//! This module owns each person's date, the fates (create, enabled or not; nothing;
//! skip), when a leaver left (an end date, or the day hrsync first saw them go, kept
//! in a leaver timer) and the leaver timeline (grace period, disable, delete); when
//! entries that no person matches must not be treated as leavers is a guard
//! ([`super::guard::absence`]). It must not build
//! rows or render attributes: it answers questions, and [`super::rows`] writes the
//! answers down.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rayon::prelude::*;

use super::diff::{PlanInput, Planner};
use super::{Action, Due};
use crate::config::{LeaverAction, OverrideKind};
use crate::directory::Entry;
use crate::model::filter::Decision;
use crate::model::{EmploymentStatus, SourceId};
use crate::transform::merge::MergedPerson;

/// What a person's entry will be, decided before attributes are rendered.
#[derive(Clone, Debug)]
pub(super) enum Fate {
    /// Left out of this plan.
    Skip(String),
    /// No entry, and none is needed now (perhaps on a later day).
    Nothing(String, Option<Box<Due>>),
    /// A new entry (enabled on a later day, perhaps).
    Create { enabled: bool, why: String, due: Option<Box<Due>> },
    /// An existing entry.
    Exists(usize),
}

/// Why someone is a leaver, and since when.
pub(super) struct Leaving {
    pub(super) since: Date,
    pub(super) why: String,
    /// The date was observed by hrsync (no end date): it lives in a timer.
    pub(super) observed: bool,
}

/// The time zone a person's dates are read in, and what chose it: their work location's
/// zone (`timezones.work_locations`), else their legal entity's, else their source's,
/// else the workspace's ([`local_dates`] picks the same, for everyone at once).
pub fn time_zone_of(config: &crate::config::Config, person: &crate::model::Person) -> (TimeZone, String) {
    let ws = &config.workspace;
    if let Some((l, z)) = person.work_location.as_deref().and_then(|l| Some((l, ws.location_zones.get(l)?))) {
        return (z.clone(), format!("of the work location `{l}` (timezones.work_locations)"));
    }
    if let Some((l, z)) =
        person.legal_entity.as_deref().and_then(|l| Some((l, ws.legal_entity_zones.get(l)?)))
    {
        return (z.clone(), format!("of the legal entity `{l}` (timezones.legal_entities)"));
    }
    if let Some(z) = config.source(person.source.as_str()).and_then(|s| s.timezone.as_ref()) {
        return (z.clone(), format!("of the source `{}`", person.source));
    }
    (ws.timezone.clone(), "of the workspace (hrsync.yaml)".into())
}

/// Today's date for each person, in the zone of their work location, else of their
/// legal entity, else of their source, else of the workspace.
pub(super) fn local_dates(
    input: &PlanInput<'_>,
    people: &[MergedPerson],
    workspace_today: Date,
) -> Vec<Date> {
    let ws = &input.config.workspace;
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
    people
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
        .collect()
}

impl Planner<'_> {
    /// Whether person `i` is a leaver, and since when; `entry_id` is their entry's, whose
    /// timer holds the day their leaving was first seen.
    pub(super) fn leaving(&self, i: usize, entry_id: Option<&str>) -> Option<Leaving> {
        let p = &self.people[i].person;
        let today = self.today[i];
        let observed = |why: String| Leaving {
            since: entry_id.and_then(|id| self.input.timers.get(id).copied()).unwrap_or(today).min(today),
            why,
            observed: true,
        };
        // `overrides.yaml`: a hidden person's entry, with `existing: disable`, leaves;
        // a delayed leaver does not, until the day after the override's date.
        if let Some(o) = self
            .override_of(i, |o| matches!(o.kind, OverrideKind::Hide { disable_existing: true }).then_some(o))
        {
            return Some(observed(format!("out of scope: {}", o.describe())));
        }
        // A delay keeps an existing entry on; it never makes one.
        let delay = self.override_of(i, |o| match o.kind {
            OverrideKind::DelayLeaving(until) => Some(until),
            _ => None,
        });
        if entry_id.is_some() && delay.is_some_and(|until| today <= until) {
            return None;
        }
        // Once the delay is over, the leaving counts from the day after it: the grace
        // period and `delete_after_days` start then.
        let after_delay = |since: Date| match delay {
            Some(until) => since.max(until.tomorrow().unwrap_or(until)),
            None => since,
        };
        let observed = |why: String| {
            let l = observed(why);
            Leaving { since: after_delay(l.since), ..l }
        };
        if let Some(end) = p.end_date {
            if end < today {
                let since = after_delay(end.tomorrow().unwrap_or(end));
                return Some(Leaving {
                    since,
                    why: format!("left: end date {end} has passed"),
                    observed: false,
                });
            }
        } else if p.employment_status == Some(EmploymentStatus::Terminated) {
            return Some(observed("left: employment status is terminated".into()));
        }
        match self.decision(i) {
            Decision::Included => None,
            excluded => Some(observed(format!("out of scope: {excluded}"))),
        }
    }

    /// Whether person `i` has started: their start date has come, or, without one, HR
    /// does not say they are yet to start.
    pub(super) fn started(&self, i: usize) -> bool {
        let p = &self.people[i].person;
        match p.start_date {
            Some(start) => start <= self.today[i],
            None => p.employment_status != Some(EmploymentStatus::Pending),
        }
    }

    /// Decides the fate of everyone matching found no entry for, and skips people whose
    /// records conflict.
    pub(super) fn decide_fates(&mut self) {
        for i in 0..self.people.len() {
            if let Some(reason) = &self.people[i].ambiguity {
                self.fates[i] = Fate::Skip(format!("ambiguous: {reason}"));
                continue;
            }
            if !matches!(self.fates[i], Fate::Nothing(..)) {
                continue;
            }
            let p = &self.people[i].person;
            let today = self.today[i];
            if let Some(why) =
                self.override_of(i, |o| matches!(o.kind, OverrideKind::Hide { .. }).then(|| o.describe()))
            {
                self.fates[i] = Fate::Nothing(format!("{why}; no entry is made"), None);
                continue;
            }
            self.fates[i] = if let Some(leaving) = self.leaving(i, None) {
                if leaving.why.starts_with("out of scope") {
                    Fate::Nothing(format!("{}; no entry", leaving.why), None)
                } else {
                    Fate::Nothing(format!("{}; no entry to offboard", leaving.why), None)
                }
            } else if self.started(i) {
                let enabled = !self.keeps_disabled(i);
                Fate::Create { enabled, why: "joiner: no entry yet".into(), due: None }
            } else {
                let days = self.dir.joiners.pre_provision_days;
                match p.start_date {
                    Some(start) => {
                        let from = start.checked_sub((days as i64).days()).unwrap_or(start);
                        if today >= from {
                            // An override that keeps the entry disabled keeps it so on
                            // the start date too.
                            let due = (!self.keeps_disabled(i)).then(|| {
                                Box::new(Due {
                                    on: start,
                                    action: Action::Update,
                                    why: "the start date: the pre-provisioned entry is enabled".into(),
                                })
                            });
                            Fate::Create {
                                enabled: false,
                                why: format!(
                                    "future joiner: starts {start}; created disabled {days} days ahead (pre_provision_days), enabled on the start date"
                                ),
                                due,
                            }
                        } else {
                            Fate::Nothing(
                                format!("future joiner: starts {start}; the entry is created from {from}"),
                                Some(Box::new(Due {
                                    on: from,
                                    action: Action::Create,
                                    why: format!(
                                        "{days} days before the start date {start} (joiners.pre_provision_days)"
                                    ),
                                })),
                            )
                        }
                    }
                    None => Fate::Nothing(
                        "pending joiner without a start date: created once HR sets one".into(),
                        None,
                    ),
                }
            };
        }
    }

    /// Whether the disabled entry of person `i` is enabled: they have started and are
    /// neither on leave nor terminated (a terminated status with an end date still
    /// ahead keeps an enabled entry on until then, but never turns a disabled one on).
    pub(super) fn enables(&self, i: usize, entry: &Entry) -> bool {
        let status = self.people[i].person.employment_status;
        !entry.enabled
            && !self.keeps_disabled(i)
            && self.started(i)
            && !matches!(status, Some(EmploymentStatus::Leave | EmploymentStatus::Terminated))
    }

    /// Whether an override keeps person `i`'s entry disabled.
    pub(super) fn keeps_disabled(&self, i: usize) -> bool {
        self.override_of(i, |o| (o.kind == OverrideKind::KeepDisabled).then_some(())).is_some()
    }

    /// Entries of people an override hides (and leaves as they are) are skipped: held
    /// exactly as they are.
    pub(super) fn hide_entries(&mut self) {
        for i in 0..self.people.len() {
            let hidden = self.override_of(i, |o| {
                matches!(o.kind, OverrideKind::Hide { disable_existing: false }).then(|| o.describe())
            });
            if let (Some(why), Fate::Exists(_)) = (hidden, &self.fates[i]) {
                self.fates[i] = Fate::Skip(why);
            }
        }
    }

    /// An entry no person matches has left, first seen today unless its timer says
    /// earlier.
    pub(super) fn gone(&self, entry: &Entry) -> Leaving {
        let today = self.workspace_today;
        let since = self.input.timers.get(&entry.id).copied().unwrap_or(today).min(today);
        Leaving { since, why: "left: gone from every source".into(), observed: true }
    }

    /// What the leaver timeline says to do with a leaver's entry on `today`; the
    /// reasons gain why.
    pub(super) fn leaver_action(
        &self,
        entry: &Entry,
        leaving: &Leaving,
        reasons: &mut Vec<Arc<str>>,
        due: &mut Option<Box<Due>>,
        today: Date,
    ) -> Action {
        let leavers = &self.dir.leavers;
        let since = if leaving.observed {
            format!("first seen {}", leaving.since)
        } else {
            format!("since {}", leaving.since)
        };
        reasons.push(format!("{} ({since})", leaving.why).into());
        let act_on = leaving.since.checked_add((leavers.grace_days as i64).days()).unwrap_or(leaving.since);
        let grace = || {
            format!(
                "{} ({since}), after a grace period of {} days (leavers.grace_days)",
                leaving.why, leavers.grace_days
            )
        };
        let delete_on = leavers
            .delete_after_days
            .map(|days| (days, act_on.checked_add((days as i64).days()).unwrap_or(act_on)));
        let deleted_later = || {
            delete_on.map(|(days, on)| {
                Box::new(Due {
                    on,
                    action: Action::Delete,
                    why: format!("{days} days after the disable due on {act_on} (leavers.delete_after_days)"),
                })
            })
        };
        if leavers.action == LeaverAction::Ignore {
            reasons.push("leavers.action is `ignore`".into());
            Action::Noop
        } else if today < act_on {
            reasons.push(format!("grace period of {} days: acting on {act_on}", leavers.grace_days).into());
            *due = if leavers.action == LeaverAction::Delete {
                Some(Box::new(Due { on: act_on, action: Action::Delete, why: grace() }))
            } else if entry.enabled {
                Some(Box::new(Due { on: act_on, action: Action::Disable, why: grace() }))
            } else {
                deleted_later()
            };
            Action::Noop
        } else if leavers.action == LeaverAction::Delete {
            Action::Delete
        } else if entry.enabled {
            // Disabled today: the delete follows, unless it is due today too (the next
            // run deletes then).
            *due = deleted_later().filter(|d| d.on > today);
            Action::Disable
        } else {
            match delete_on {
                Some((days, delete_on)) => {
                    if today >= delete_on {
                        reasons.push(format!("disabled, and delete_after_days ({days}) has passed").into());
                        Action::Delete
                    } else {
                        reasons.push(format!("already disabled; deleted on {delete_on}").into());
                        *due = deleted_later();
                        Action::Noop
                    }
                }
                None => {
                    reasons.push("already disabled".into());
                    Action::Noop
                }
            }
        }
    }
}
