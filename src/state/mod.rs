//! The run state kept between runs, under the state directory.
//!
//! `state.json` holds, per source, the last successful sync time (`last_sync_at`, the
//! START of that run), the size of its last good read and its last error; per
//! directory, the leaver grace timers and the last applied plan. It names no one: a
//! timer is keyed by a keyed hash of the entry id ([`TimerKeys`]), so the daemon can
//! commit the file to the reports branch and a daemon on a fresh machine carries on
//! from it. `snapshots/<source>.json` holds each source's last good read: it lets a
//! delta read be merged into the full population, lets `run --source X` plan with the
//! other sources' people, and gives the created/updated counts of a job result.
//! Snapshots hold personal data and stay on this machine; the state directory is
//! created readable by its owner only. Every file is replaced atomically (temporary
//! file, then rename).

mod keys;
mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

pub use keys::TimerKeys;
pub use store::{StateError, StateLock, StateStore};

use crate::config::Secret;
use crate::directory::Entry;
use crate::model::PlanId;
use crate::model::{DirectoryId, SourceId};
use crate::model::{Employment, OrgUnit, Person, SkippedRecord};

/// Version of the state format. Version 1 keyed leaver timers by the plain entry id;
/// version 2 by [`TimerKeys::id`].
const VERSION: u32 = 2;

/// Everything remembered between runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunState {
    /// Format version.
    #[serde(default)]
    pub version: u32,
    /// How many times this state was committed to the reports branch. A daemon takes
    /// the branch's state over when the branch's serial is higher than its own: another
    /// machine ran since.
    #[serde(default)]
    pub serial: u64,
    /// A random salt (hex) of the keys that name leaver timers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer_salt: Option<String>,
    /// Per source.
    #[serde(default)]
    pub sources: BTreeMap<SourceId, SourceState>,
    /// Per directory.
    #[serde(default)]
    pub directories: BTreeMap<DirectoryId, DirectoryState>,
}

/// What is remembered of a source.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceState {
    /// Start of the last successful sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_at: Option<Timestamp>,
    /// People in the last good read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good_people: Option<usize>,
    /// Start of the last good full read (a delta source reads in full again after
    /// `full_every`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_full_at: Option<Timestamp>,
    /// The vendor's delta position the last good read ended at (Graph's delta link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// The last error, if the last run failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When that error happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error_at: Option<Timestamp>,
}

/// What is remembered of a directory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryState {
    /// Leaver timers: [`TimerKeys::id`] of the entry id → the day its leaving was first
    /// seen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub timers: BTreeMap<String, Date>,
    /// The id of the last plan applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_plan: Option<PlanId>,
    /// When it was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_at: Option<Timestamp>,
    /// The last error, if the last apply failed as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The last plan that was blocked by the safety limits, approved, and applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_approval: Option<Approval>,
}

/// An approved plan that was applied.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The plan id.
    pub plan: PlanId,
    /// Where the approval came from: `repository` (`approvals` in hrsync.yaml, through a
    /// reviewed commit) or `command line` (`--approve`).
    pub by: String,
    /// When the plan was applied.
    pub applied_at: Timestamp,
}

/// A source's last good read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// People, shared with the merged population that reads them.
    pub people: Vec<Arc<Person>>,
    /// Employments.
    #[serde(default)]
    pub employments: Vec<Employment>,
    /// Org units.
    #[serde(default)]
    pub org_units: Vec<OrgUnit>,
    /// The start of the run that read it. A delta read is merged into this snapshot only
    /// when it is as of the source's `last_sync_at`; otherwise the source is read in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_of: Option<Timestamp>,
    /// The rows that read skipped, with what could be read of their people: a plan
    /// built on this snapshot (a source not read, or unhealthy, in a later run) holds
    /// those people as the read's own plan did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedRow>,
    /// Mapped fields no record of the last full read carried: directories keep what
    /// they hold for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub withheld: Vec<crate::source::Withheld>,
}

/// A skipped row kept with a snapshot. Unlike a [`SkippedRecord`] in a report, it keeps
/// what could be read of the person (in the local state folder only, beside the
/// snapshot's people).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// The row.
    #[serde(flatten)]
    pub record: SkippedRecord,
    /// What could be read of its person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partial: Option<Person>,
}

impl SkippedRow {
    /// The row to keep for `record`.
    pub fn keep(record: &SkippedRecord) -> SkippedRow {
        SkippedRow { record: record.clone(), partial: record.partial.as_deref().cloned() }
    }

    /// The row as a plan takes it.
    pub fn restore(&self) -> SkippedRecord {
        SkippedRecord { partial: self.partial.clone().map(Box::new), ..self.record.clone() }
    }
}

/// Where the approval of an applied plan came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApprovedBy {
    /// `approvals` in hrsync.yaml, through a reviewed commit.
    Repository,
    /// `--approve` on the command line.
    CommandLine,
}

impl ApprovedBy {
    /// The spelling in `state.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovedBy::Repository => "repository",
            ApprovedBy::CommandLine => "command line",
        }
    }
}

impl RunState {
    /// Whether this state was written after `other` (by another machine, say): it has
    /// the higher serial.
    pub fn is_newer_than(&self, other: &RunState) -> bool {
        self.serial > other.serial
    }

    /// Moves the serial past this state's and `committed`'s, before the state is
    /// committed: the next cycle, here or on another machine, takes the newest over.
    pub fn advance_serial(&mut self, committed: Option<&RunState>) {
        self.serial = self.serial.max(committed.map_or(0, |c| c.serial)) + 1;
    }

    /// Records that plan `plan` was applied to `directory` at `now`, approved by
    /// `approved` when it needed an approval; the directory's last error is cleared.
    pub fn record_applied(
        &mut self,
        directory: &DirectoryId,
        plan: &PlanId,
        approved: Option<ApprovedBy>,
        now: Timestamp,
    ) {
        let d = self.directories.entry(directory.clone()).or_default();
        d.last_applied_plan = Some(plan.clone());
        d.last_applied_at = Some(now);
        if let Some(by) = approved {
            d.last_approval =
                Some(Approval { plan: plan.clone(), by: by.as_str().to_owned(), applied_at: now });
        }
        d.last_error = None;
    }

    /// Records how the last plan or apply of `directory` ended: `Some` error, or `None`
    /// when it worked.
    pub fn record_directory_error(&mut self, directory: &DirectoryId, error: Option<String>) {
        self.directories.entry(directory.clone()).or_default().last_error = error;
    }

    /// Records a good read of `source` at `now` with `people` people: the watermark of
    /// the next delta read, and the count the next read's health is judged against;
    /// `full` when it read everything, and the vendor's delta position to go on from.
    pub fn record_source_read(
        &mut self,
        source: &SourceId,
        people: usize,
        now: Timestamp,
        full: bool,
        cursor: Option<String>,
    ) {
        let s = self.sources.entry(source.clone()).or_default();
        s.last_sync_at = Some(now);
        if full {
            s.last_full_at = Some(now);
        }
        s.cursor = cursor;
        s.last_good_people = Some(people);
        s.last_error = None;
        s.last_error_at = None;
    }

    /// Records that reading `source` failed at `now`; its last good read stays.
    pub fn record_source_error(&mut self, source: &SourceId, error: String, now: Timestamp) {
        let s = self.sources.entry(source.clone()).or_default();
        s.last_error = Some(error);
        s.last_error_at = Some(now);
    }

    /// The leaver timers of `directory` for the entries in `live`, by entry id.
    pub fn timers(
        &self,
        directory: &DirectoryId,
        live: &[Entry],
        secret: Option<&Secret>,
    ) -> BTreeMap<String, Date> {
        let Some(stored) = self.directories.get(directory).map(|d| &d.timers).filter(|t| !t.is_empty())
        else {
            return BTreeMap::new();
        };
        let keys = match (&self.timer_salt, self.version) {
            (_, 0 | 1) => None,
            (Some(salt), _) => Some(TimerKeys::new(salt, secret)),
            (None, _) => return BTreeMap::new(),
        };
        live.iter()
            .filter_map(|entry| {
                let name = keys.as_ref().map_or_else(|| entry.id.clone(), |k| k.id(&entry.id));
                Some((entry.id.clone(), *stored.get(&name)?))
            })
            .collect()
    }

    /// Records the leaver timers of `directory` (by entry id, as a plan gives them),
    /// keyed with [`TimerKeys`]. A state of version 1 has its other timers re-keyed too.
    pub fn record_timers(
        &mut self,
        directory: &DirectoryId,
        timers: &BTreeMap<String, Date>,
        secret: Option<&Secret>,
    ) -> Result<(), StateError> {
        let salt = match &self.timer_salt {
            Some(salt) => salt.clone(),
            None => {
                let mut bytes = [0u8; 16];
                getrandom::fill(&mut bytes).map_err(StateError::Random)?;
                let salt: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                self.timer_salt = Some(salt.clone());
                salt
            }
        };
        let keys = TimerKeys::new(&salt, secret);
        if self.version < 2 {
            for state in self.directories.values_mut() {
                state.timers = state.timers.iter().map(|(id, day)| (keys.id(id), *day)).collect();
            }
        }
        self.version = VERSION;
        let state = self.directories.entry(directory.clone()).or_default();
        state.timers = timers.iter().map(|(id, day)| (keys.id(id), *day)).collect();
        Ok(())
    }

    /// This state without the times that move on every run (`last_sync_at`,
    /// `last_error_at`, `last_full_at`, `last_applied_at`, and a delta source's cursor)
    /// and without the serial: what tells whether
    /// anything worth committing changed.
    pub fn without_times(&self) -> RunState {
        let mut state = self.clone();
        state.serial = 0;
        for source in state.sources.values_mut() {
            source.last_sync_at = None;
            source.last_error_at = None;
            source.last_full_at = None;
            source.cursor = None;
        }
        for directory in state.directories.values_mut() {
            directory.last_applied_at = None;
            if let Some(approval) = &mut directory.last_approval {
                approval.applied_at = Timestamp::UNIX_EPOCH;
            }
        }
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_starts_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::new(tmp.path().join("state"));
        assert_eq!(store.load().unwrap(), RunState::default());
        let mut state = RunState::default();
        state.sources.insert(
            SourceId::new_unchecked("de"),
            SourceState { last_sync_at: Some("2026-11-22T08:00:00Z".parse().unwrap()), ..Default::default() },
        );
        store.save(&state).unwrap();
        let back = store.load().unwrap();
        assert_eq!(back.sources, state.sources);
        assert_eq!(back.version, VERSION);
        let snap = Snapshot { people: vec![Arc::new(Person::test("E1"))], ..Default::default() };
        store.save_snapshot(&SourceId::new_unchecked("de"), &snap).unwrap();
        assert_eq!(store.snapshot(&SourceId::new_unchecked("de")).unwrap(), Some(snap));
        assert_eq!(store.snapshot(&SourceId::new_unchecked("fr")).unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.dir()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    fn entry(id: &str) -> Entry {
        Entry { id: id.to_owned(), attributes: Default::default(), enabled: true, revision: None }
    }

    #[test]
    fn timers_name_no_one_and_are_found_again_by_entry_id() {
        let corp = DirectoryId::new_unchecked("corp");
        let dn = "uid=zoe.obrien,ou=people,dc=acme,dc=example";
        let day: Date = "2026-11-10".parse().unwrap();
        let timers = BTreeMap::from([(dn.to_owned(), day)]);
        let key = Secret::new("pii key");
        let mut state = RunState::default();
        state.record_timers(&corp, &timers, Some(&key)).unwrap();

        let text = serde_json::to_string(&state).unwrap();
        assert!(!text.contains("zoe") && !text.contains("acme"), "{text}");
        let live = [entry(dn), entry("uid=someone.else,ou=people,dc=acme,dc=example")];
        // Read back from the file, as another machine would.
        let back: RunState = serde_json::from_str(&text).unwrap();
        assert_eq!(back.timers(&corp, &live, Some(&key)), timers);
        // Without the pii_key, or with another salt, the timer is not found: it starts
        // afresh, which only delays the leaver's disable or delete.
        assert!(back.timers(&corp, &live, None).is_empty());
        let other_salt = RunState { timer_salt: Some("00".into()), ..back.clone() };
        assert!(other_salt.timers(&corp, &live, Some(&key)).is_empty());
        // The salt stays from one recording to the next.
        let mut again = back.clone();
        again.record_timers(&corp, &timers, Some(&key)).unwrap();
        assert_eq!(again, back);
    }

    #[test]
    fn version_1_timers_are_read_by_plain_id_and_re_keyed_when_recorded() {
        let (corp, hr) = (DirectoryId::new_unchecked("corp"), DirectoryId::new_unchecked("hr"));
        let day: Date = "2026-11-10".parse().unwrap();
        let mut v1: RunState = serde_json::from_str(
            r#"{"version": 1, "directories": {"corp": {"timers": {"E8": "2026-11-10"}}, "hr": {"timers": {"H1": "2026-11-10"}}}}"#,
        )
        .unwrap();
        assert_eq!(
            v1.timers(&corp, &[entry("E8"), entry("E9")], None),
            BTreeMap::from([("E8".to_owned(), day)])
        );
        v1.record_timers(&corp, &BTreeMap::new(), None).unwrap();
        assert_eq!(v1.version, VERSION);
        assert!(v1.timers(&corp, &[entry("E8")], None).is_empty());
        assert_eq!(
            v1.timers(&hr, &[entry("H1")], None),
            BTreeMap::from([("H1".to_owned(), day)]),
            "re-keyed"
        );
        assert!(!serde_json::to_string(&v1).unwrap().contains("H1"));
    }

    #[test]
    fn times_alone_are_no_change() {
        let de = SourceId::new_unchecked("de");
        let mut state = RunState { serial: 3, ..Default::default() };
        state.sources.insert(
            de.clone(),
            SourceState {
                last_sync_at: Some("2026-11-22T08:00:00Z".parse().unwrap()),
                last_good_people: Some(5),
                ..Default::default()
            },
        );
        let mut later = state.clone();
        later.serial = 4;
        later.sources.get_mut(&de).unwrap().last_sync_at = Some("2026-11-22T09:00:00Z".parse().unwrap());
        assert_eq!(later.without_times(), state.without_times());
        later.sources.get_mut(&de).unwrap().last_error = Some("timed out".into());
        assert_ne!(later.without_times(), state.without_times());
    }

    #[test]
    fn damaged_files_say_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("state.json"), "{ nope").unwrap();
        let err = StateStore::new(tmp.path()).load().unwrap_err();
        assert!(err.to_string().contains("move it away"), "{err}");
    }
}
