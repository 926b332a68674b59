//! The run state kept between runs, under the state directory.
//!
//! `state.json` holds, per source, the last successful sync time (`last_sync_at`, the
//! START of that run), the size of its last good read and its last error; per
//! directory, the leaver grace timers and the last applied plan. `snapshots/<source>.json`
//! holds each source's last good read: it lets a delta read be merged into the full
//! population, lets `run --source X` plan with the other sources' people, and gives the
//! created/updated counts of a job result. Snapshots hold personal data and stay on
//! this machine; the state directory is created readable by its owner only.
//! Every file is replaced atomically (temporary file, then rename).

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::{DirectoryId, SourceId};
use crate::model::{Employment, OrgUnit, Person};

/// Version of the state format.
const VERSION: u32 = 1;

/// Why state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file could not be read or written.
    #[error("cannot access the state file `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Another process holds the lock of the state directory.
    #[error(
        "another hrsync run is using `{0}`; wait for it to finish (its lock goes away when that process ends, even if it crashed)"
    )]
    Busy(PathBuf),
    /// A file is not valid.
    #[error("the state file `{path}` is damaged: {message}; move it away to start afresh")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The lock of a state directory (see [`StateStore::lock`]).
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// Everything remembered between runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunState {
    /// Format version.
    #[serde(default)]
    pub version: u32,
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
    /// Leaver timers: entry id → the day its leaving was first seen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub timers: BTreeMap<String, Date>,
    /// The id of the last plan applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_plan: Option<String>,
    /// When it was applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_at: Option<Timestamp>,
    /// The last error, if the last apply failed as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
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
}

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// The state kept in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        StateStore { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    fn snapshot_path(&self, source: &SourceId) -> PathBuf {
        self.dir.join("snapshots").join(format!("{source}.json"))
    }

    /// The run state; empty when nothing was saved yet.
    pub fn load(&self) -> Result<RunState, StateError> {
        Ok(read_json(&self.state_path())?.unwrap_or_default())
    }

    /// Saves the run state.
    pub fn save(&self, state: &RunState) -> Result<(), StateError> {
        let state = RunState { version: VERSION, ..state.clone() };
        self.write_json(&self.state_path(), &state)
    }

    /// A source's last good read, if one was saved.
    pub fn snapshot(&self, source: &SourceId) -> Result<Option<Snapshot>, StateError> {
        read_json(&self.snapshot_path(source))
    }

    /// Saves a source's last good read.
    pub fn save_snapshot(&self, source: &SourceId, snapshot: &Snapshot) -> Result<(), StateError> {
        self.write_json(&self.snapshot_path(source), snapshot)
    }

    /// Takes the lock of the state directory, held while a run may write: one run at a
    /// time per state directory, and so per directory. It is an OS file lock, released
    /// when the returned value is dropped or the process ends, however it ends.
    pub fn lock(&self) -> Result<StateLock, StateError> {
        let path = self.dir.join("lock");
        let io_err = |source| StateError::Io { path: path.clone(), source };
        create_private_dir(&self.dir).map_err(io_err)?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err)?;
        match file.try_lock() {
            Ok(()) => Ok(StateLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StateError::Busy(self.dir.clone())),
            Err(std::fs::TryLockError::Error(e)) => Err(io_err(e)),
        }
    }

    fn write_json<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), StateError> {
        let io_err = |source| StateError::Io { path: path.to_owned(), source };
        create_private_dir(&self.dir).map_err(io_err)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err)?;
        }
        let mut bytes = serde_json::to_vec_pretty(value)
            .map_err(|e| StateError::Damaged { path: path.to_owned(), message: e.to_string() })?;
        bytes.push(b'\n');
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).map_err(io_err)
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, StateError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StateError::Damaged { path: path.to_owned(), message: e.to_string() }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StateError::Io { path: path.to_owned(), source }),
    }
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
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

    #[test]
    fn damaged_files_say_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("state.json"), "{ nope").unwrap();
        let err = StateStore::new(tmp.path()).load().unwrap_err();
        assert!(err.to_string().contains("move it away"), "{err}");
    }
}
