//! What a finished run says about each subject (the run, each source, each directory),
//! and which of those states changed since a channel was last told: the pure part of
//! notifications, with no I/O and no clock.
//!
//! A subject's state changes when its kind changes (ok → blocked, failed → ok), or when a
//! blocked plan is another plan (a new approval to give). The reason of a failure, the
//! number of failed items and the like may vary from run to run without a new message.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::config::NotifyEvent;
use crate::plan::PlanStatus;
use crate::plan::guard::health::names_unhealthy;
use crate::report::{JobResult, JobStatus, Sources};

/// What a state is about.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// The run as a whole.
    Run,
    /// A source.
    Source(String),
    /// A directory.
    Directory(String),
}

impl Subject {
    /// Its key in `notify.json`: `run`, `source/<id>`, `directory/<id>`.
    pub fn key(&self) -> String {
        match self {
            Subject::Run => "run".to_owned(),
            Subject::Source(id) => format!("source/{id}"),
            Subject::Directory(id) => format!("directory/{id}"),
        }
    }

    /// Its kind: `run`, `source` or `directory`.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Run => "run",
            Subject::Source(_) => "source",
            Subject::Directory(_) => "directory",
        }
    }

    /// Its id (the workspace's run is `run`).
    pub fn id(&self) -> &str {
        match self {
            Subject::Run => "run",
            Subject::Source(id) | Subject::Directory(id) => id,
        }
    }
}

/// The state of a subject after a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Nothing to say.
    Ok,
    /// The run failed as a whole, or a directory failed.
    Failed {
        /// Why (from the job result, masked as it is).
        reason: String,
    },
    /// A source is unhealthy.
    Unhealthy {
        /// Why.
        reason: String,
    },
    /// A directory's plan waits for an approval.
    Blocked {
        /// The plan's id: the approval to give.
        plan: String,
        /// Why it is blocked.
        reason: String,
    },
    /// A directory had more failed items than the threshold.
    ItemFailures {
        /// How many.
        failed: usize,
    },
}

impl State {
    /// Its name in messages: `ok`, `failed`, `unhealthy`, `blocked`, `item_failures`.
    pub fn name(&self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Failed { .. } => "failed",
            State::Unhealthy { .. } => "unhealthy",
            State::Blocked { .. } => "blocked",
            State::ItemFailures { .. } => "item_failures",
        }
    }

    /// Whether `other` is the same state as far as telling people goes: the same kind,
    /// and for a blocked plan the same plan.
    pub fn same(&self, other: &State) -> bool {
        match (self, other) {
            (State::Blocked { plan: a, .. }, State::Blocked { plan: b, .. }) => a == b,
            _ => self.name() == other.name(),
        }
    }

    /// What tells this state from another ([`same`](Self::same)), in words: its name, and
    /// for a blocked plan `blocked/<plan id>`. Part of a message's event id.
    pub fn identity(&self) -> String {
        match self {
            State::Blocked { plan, .. } => format!("blocked/{plan}"),
            _ => self.name().to_owned(),
        }
    }

    /// The event of entering this state; `None` for ok (whose event is `recovered`,
    /// depending on what it recovers from).
    pub fn event(&self) -> Option<NotifyEvent> {
        match self {
            State::Ok => None,
            State::Failed { .. } => Some(NotifyEvent::RunFailed),
            State::Unhealthy { .. } => Some(NotifyEvent::SourceUnhealthy),
            State::Blocked { .. } => Some(NotifyEvent::Blocked),
            State::ItemFailures { .. } => Some(NotifyEvent::ItemFailures),
        }
    }
}

/// How a run ended, as notifications see it.
#[derive(Clone, Copy, Debug)]
pub enum Outcome<'a> {
    /// The run finished with a job result (which may say that parts failed).
    Finished(&'a JobResult),
    /// The run failed as a whole (an invalid config, an unreachable repository), why.
    Failed(&'a str),
}

/// The states a run shows, per subject. A subject the run did not look at (a disabled
/// source, a directory in mode `off`, everything but the run when it failed as a whole)
/// is left out, so what it was last told stands; so is a directory whose plan failed
/// because a source it reads is unhealthy (the source's message says it).
pub fn observe(outcome: Outcome<'_>, item_failures: u64) -> BTreeMap<Subject, State> {
    let mut states = BTreeMap::new();
    let result = match outcome {
        Outcome::Failed(error) => {
            states.insert(Subject::Run, State::Failed { reason: error.to_owned() });
            return states;
        }
        Outcome::Finished(result) => result,
    };
    states.insert(Subject::Run, State::Ok);
    let sources: Vec<(&str, &crate::report::SourceResult, JobStatus)> = match &result.sources {
        Sources::All { sources } => {
            sources.iter().map(|(id, s)| (id.as_str(), s, s.status.unwrap_or(JobStatus::Completed))).collect()
        }
        Sources::One { source, result: s } => vec![(source.as_str(), s.as_ref(), result.status)],
    };
    for (id, s, status) in sources {
        if s.skipped {
            continue;
        }
        let state = if status == JobStatus::Failed {
            let reason =
                s.errors.first().or(s.reason.as_ref()).cloned().unwrap_or_else(|| "unhealthy".into());
            State::Unhealthy { reason }
        } else {
            State::Ok
        };
        states.insert(Subject::Source(id.to_owned()), state);
    }
    let unhealthy: Vec<String> = states
        .iter()
        .filter_map(|(subject, state)| match (subject, state) {
            (Subject::Source(id), State::Unhealthy { .. }) => Some(id.clone()),
            _ => None,
        })
        .collect();
    for (id, d) in &result.directories {
        // A plan that failed because a source it reads is unhealthy (its reason, the
        // plan's `blocked_by`, names it) is that source's news: one message for one cause.
        let blames_unhealthy = d.plan_status == Some(PlanStatus::Failed)
            && d.reason.as_deref().is_some_and(|r| unhealthy.iter().any(|s| names_unhealthy(r, s)));
        if d.skipped || blames_unhealthy {
            continue;
        }
        let reason = || d.reason.clone().unwrap_or_else(|| "failed".to_owned());
        let state = match (&d.plan, d.plan_status) {
            (Some(plan), Some(PlanStatus::Blocked)) => {
                State::Blocked { plan: plan.to_string(), reason: reason() }
            }
            _ if d.status == JobStatus::Failed => State::Failed { reason: reason() },
            _ if d.failed as u64 > item_failures => State::ItemFailures { failed: d.failed },
            _ => State::Ok,
        };
        states.insert(Subject::Directory(id.as_str().to_owned()), state);
    }
    states
}

/// What a channel was last told, by subject key.
pub type Told = BTreeMap<String, State>;

/// A change of a subject's state since a channel was last told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The subject.
    pub subject: Subject,
    /// What the channel was last told (ok when it was told nothing of the subject), as
    /// the channel sees it.
    pub previous: State,
    /// The state now, as the channel sees it: what it records.
    pub state: State,
    /// The event: entering `state`, or `recovered`.
    pub event: NotifyEvent,
    /// Whether the channel gets a message: it takes `event`. A change it does not get
    /// (a recovery on a channel without `recovered`) is recorded all the same.
    pub send: bool,
}

/// `state` as a channel taking `events` sees it: a state whose event it does not take
/// is ok to it, so a failure that turns into such a state is, for that channel, a
/// recovery, and what it records is never a state it was not told.
pub fn projected(state: &State, events: &BTreeSet<NotifyEvent>) -> State {
    match state.event() {
        Some(event) if !events.contains(&event) => State::Ok,
        _ => state.clone(),
    }
}

/// The changes between what a channel was `told` and the `observed` states, for a
/// channel taking `events`, in subject order (the run, sources, directories), both as
/// the channel sees them ([`projected`]). A subject the channel was never told about
/// counts as ok before: the first run tells only what is not ok, and never "recovered".
pub fn changes(
    told: &Told,
    observed: &BTreeMap<Subject, State>,
    events: &BTreeSet<NotifyEvent>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (subject, state) in observed {
        let recorded = told.get(&subject.key()).cloned().unwrap_or(State::Ok);
        let previous = projected(&recorded, events);
        let state = projected(state, events);
        if recorded.same(&state) {
            continue;
        }
        let event = state.event().unwrap_or(NotifyEvent::Recovered);
        // Told a state whose event the channel no longer takes: recorded as what the
        // channel sees now, without a message.
        let send = !previous.same(&state) && events.contains(&event);
        out.push(Change { subject: subject.clone(), previous, state, event, send });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> BTreeSet<NotifyEvent> {
        NotifyEvent::ALL.into_iter().collect()
    }

    fn dir(id: &str) -> Subject {
        Subject::Directory(id.to_owned())
    }

    fn blocked(plan: &str) -> State {
        State::Blocked { plan: plan.to_owned(), reason: "over the limits".to_owned() }
    }

    /// Applies the changes a channel was sent (all of them here) to what it was told.
    fn tell(told: &mut Told, changes: &[Change]) {
        for c in changes {
            told.insert(c.subject.key(), c.state.clone());
        }
    }

    fn events_of(changes: &[Change]) -> Vec<(String, NotifyEvent, bool)> {
        changes.iter().map(|c| (c.subject.key(), c.event, c.send)).collect()
    }

    #[test]
    fn one_message_per_change_of_state_and_none_for_the_same_state_again() {
        let mut told = Told::new();
        let ok = BTreeMap::from([(Subject::Run, State::Ok), (dir("corp"), State::Ok)]);
        // The first run, all well: nothing to say, and no "recovered" either.
        assert!(changes(&told, &ok, &all()).is_empty());
        // ok → blocked (plan A): one message.
        let a = BTreeMap::from([(Subject::Run, State::Ok), (dir("corp"), blocked("a"))]);
        let c = changes(&told, &a, &all());
        assert_eq!(events_of(&c), [("directory/corp".to_owned(), NotifyEvent::Blocked, true)]);
        assert_eq!(c[0].previous, State::Ok);
        tell(&mut told, &c);
        // Blocked on plan A again (another run, a restart): nothing.
        assert!(changes(&told, &a, &all()).is_empty());
        // Blocked on plan B: a new approval to give, a new message.
        let b = BTreeMap::from([(dir("corp"), blocked("b"))]);
        let c = changes(&told, &b, &all());
        assert_eq!(events_of(&c), [("directory/corp".to_owned(), NotifyEvent::Blocked, true)]);
        assert_eq!(c[0].previous, blocked("a"));
        tell(&mut told, &c);
        // Approved: recovered, once.
        let c = changes(&told, &ok, &all());
        assert_eq!(events_of(&c), [("directory/corp".to_owned(), NotifyEvent::Recovered, true)]);
        tell(&mut told, &c);
        assert!(changes(&told, &ok, &all()).is_empty());
    }

    #[test]
    fn a_failure_whose_reason_or_count_changes_is_still_the_same_state() {
        let failed =
            |reason: &str| BTreeMap::from([(dir("corp"), State::Failed { reason: reason.to_owned() })]);
        let mut told = Told::new();
        let c = changes(&told, &failed("cannot connect to 127.0.0.1:1"), &all());
        assert_eq!(events_of(&c), [("directory/corp".to_owned(), NotifyEvent::RunFailed, true)]);
        tell(&mut told, &c);
        assert!(changes(&told, &failed("timed out"), &all()).is_empty());
        // From failed to many failed items is a change (of kind), and back from there.
        let items = |n| BTreeMap::from([(dir("corp"), State::ItemFailures { failed: n })]);
        let c = changes(&told, &items(12), &all());
        assert_eq!(events_of(&c), [("directory/corp".to_owned(), NotifyEvent::ItemFailures, true)]);
        tell(&mut told, &c);
        assert!(changes(&told, &items(30), &all()).is_empty());
    }

    #[test]
    fn a_channel_gets_only_its_events_and_no_recovery_from_what_it_was_not_told() {
        let only: BTreeSet<NotifyEvent> =
            [NotifyEvent::Blocked, NotifyEvent::Recovered].into_iter().collect();
        let mut told = Told::new();
        let items = BTreeMap::from([(dir("corp"), State::ItemFailures { failed: 3 })]);
        // Items failing are ok to this channel: nothing to say, nothing to recover from.
        assert!(changes(&told, &items, &only).is_empty());
        let ok = BTreeMap::from([(dir("corp"), State::Ok)]);
        assert!(changes(&told, &ok, &only).is_empty());
        let c = changes(&told, &BTreeMap::from([(dir("corp"), blocked("a"))]), &only);
        assert!(c[0].send);
        tell(&mut told, &c);
        let c = changes(&told, &ok, &only);
        assert_eq!(events_of(&c), [("directory/corp".to_owned(), NotifyEvent::Recovered, true)]);
    }

    #[test]
    fn a_failure_turning_into_a_state_the_channel_does_not_take_is_its_recovery() {
        let only: BTreeSet<NotifyEvent> =
            [NotifyEvent::RunFailed, NotifyEvent::Recovered].into_iter().collect();
        let failed = BTreeMap::from([(dir("corp"), State::Failed { reason: "unreachable".into() })]);
        let items = BTreeMap::from([(dir("corp"), State::ItemFailures { failed: 3 })]);
        let ok = BTreeMap::from([(dir("corp"), State::Ok)]);
        let mut told = Told::new();
        let c = changes(&told, &failed, &only);
        assert_eq!(events_of(&c), [("directory/corp".to_owned(), NotifyEvent::RunFailed, true)]);
        tell(&mut told, &c);
        // failed → item_failures is, for this channel, failed → ok.
        let c = changes(&told, &items, &only);
        assert_eq!(events_of(&c), [("directory/corp".to_owned(), NotifyEvent::Recovered, true)]);
        assert_eq!(c[0].state, State::Ok);
        tell(&mut told, &c);
        // … and item_failures → ok is nothing.
        assert!(changes(&told, &ok, &only).is_empty());
        // A state told before the channel stopped taking its event is recorded as ok,
        // without a message.
        let told = Told::from([("directory/corp".to_owned(), State::ItemFailures { failed: 3 })]);
        let c = changes(&told, &items, &only);
        assert_eq!(events_of(&c), [("directory/corp".to_owned(), NotifyEvent::Recovered, false)]);
    }

    #[test]
    fn a_run_that_failed_as_a_whole_leaves_the_other_subjects_as_they_were_told() {
        let states = observe(Outcome::Failed("the config is not valid"), 0);
        assert_eq!(
            states,
            BTreeMap::from([(Subject::Run, State::Failed { reason: "the config is not valid".into() })])
        );
        let mut told = Told::from([("directory/corp".to_owned(), blocked("a"))]);
        let c = changes(&told, &states, &all());
        assert_eq!(events_of(&c), [("run".to_owned(), NotifyEvent::RunFailed, true)]);
        tell(&mut told, &c);
        assert_eq!(told["directory/corp"], blocked("a"));
    }

    #[test]
    fn a_job_result_gives_the_states_of_its_sources_and_directories() {
        use crate::config::Mode;
        use crate::report::{DirectoryResult, SourceResult};
        let id = crate::model::PlanId::new(&"ab".repeat(16)).unwrap();
        let directory = |status, plan_status, failed| DirectoryResult {
            status,
            plan: Some(id.clone()),
            plan_status,
            failed,
            ..DirectoryResult::failed(Mode::Apply, "why")
        };
        let mut result = JobResult {
            status: JobStatus::Failed,
            dry_run: false,
            started_at: jiff::Timestamp::UNIX_EPOCH,
            sources: Sources::All {
                sources: BTreeMap::from([
                    (
                        crate::model::SourceId::new("germany").unwrap(),
                        SourceResult {
                            status: Some(JobStatus::Failed),
                            errors: vec!["fewer than 80 % of the last good read".into()],
                            ..Default::default()
                        },
                    ),
                    (
                        crate::model::SourceId::new("france").unwrap(),
                        SourceResult { skipped: true, ..Default::default() },
                    ),
                ]),
            },
            directories: BTreeMap::from([
                (
                    crate::model::DirectoryId::new("a").unwrap(),
                    directory(JobStatus::Failed, Some(PlanStatus::Blocked), 0),
                ),
                (
                    crate::model::DirectoryId::new("b").unwrap(),
                    DirectoryResult {
                        reason: Some("source `germany` is unhealthy: fewer than 80 %".into()),
                        ..directory(JobStatus::Failed, Some(PlanStatus::Failed), 0)
                    },
                ),
                (
                    // Failed while germany is unhealthy, but not because of it: its own news.
                    crate::model::DirectoryId::new("b2").unwrap(),
                    directory(JobStatus::Failed, Some(PlanStatus::Failed), 0),
                ),
                (
                    crate::model::DirectoryId::new("c").unwrap(),
                    directory(JobStatus::Warning, Some(PlanStatus::Ready), 11),
                ),
                (
                    crate::model::DirectoryId::new("d").unwrap(),
                    directory(JobStatus::Warning, Some(PlanStatus::Ready), 10),
                ),
                (
                    crate::model::DirectoryId::new("e").unwrap(),
                    DirectoryResult::skipped(Mode::Off, "mode is off"),
                ),
            ]),
        };
        let states = observe(Outcome::Finished(&result), 10);
        let names: Vec<(String, &str)> = states.iter().map(|(s, st)| (s.key(), st.name())).collect();
        assert_eq!(
            names,
            [
                ("run".to_owned(), "ok"),
                ("source/germany".to_owned(), "unhealthy"),
                ("directory/a".to_owned(), "blocked"),
                ("directory/b2".to_owned(), "failed"),
                ("directory/c".to_owned(), "item_failures"),
                ("directory/d".to_owned(), "ok"),
            ]
        );
        assert_eq!(states[&dir("a")], State::Blocked { plan: id.to_string(), reason: "why".into() });
        // Without the unhealthy source, the failed plan is the directory's own news.
        let Sources::All { sources } = &mut result.sources else { unreachable!() };
        sources.clear();
        assert_eq!(observe(Outcome::Finished(&result), 10)[&dir("b")].name(), "failed");
    }
}
