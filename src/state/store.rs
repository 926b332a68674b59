//! Where the run state lives: the state directory (created readable by its owner
//! only, with a `.gitignore` of `*` so git never takes it in, wherever it is), `state.json`,
//! one snapshot file per source, and the lock that lets one writing run at a time use the
//! folder. Every file is replaced atomically (temporary file, then rename).

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{RunState, Snapshot, VERSION};
use crate::model::SourceId;

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
    /// The salt of the timer keys could not be drawn.
    #[error("cannot draw random bytes for the state's salt")]
    Random(#[source] getrandom::Error),
    /// A file is not valid.
    #[error("the state file `{path}` is damaged: {message}; move it away to start afresh")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl StateError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            StateError::Io { .. } => "io",
            StateError::Busy(_) => "busy",
            StateError::Random(_) => "random",
            StateError::Damaged { .. } => "damaged",
        }
    }
}

/// The lock of a state directory (see [`StateStore::lock`]).
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// The state directory.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// The state directory of the sync repository in `root` when none is given:
    /// `<root>/.hrsync`.
    pub fn default_dir(root: &Path) -> PathBuf {
        root.join(".hrsync")
    }

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

    /// Saves the run state. A state of version 1 stays so until
    /// [`RunState::record_timers`] re-keys its timers.
    pub fn save(&self, state: &RunState) -> Result<(), StateError> {
        let version = if state.version == 0 { VERSION } else { state.version };
        let state = RunState { version, ..state.clone() };
        self.write_json(&self.state_path(), &state)
    }

    /// Another JSON document of the state directory (`name`, a file name such as
    /// `notify.json`); `None` when none was saved yet.
    pub fn load_document<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StateError> {
        read_json(&self.dir.join(name))
    }

    /// Saves a JSON document of the state directory, atomically (written aside, then
    /// renamed over the old one).
    pub fn save_document<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StateError> {
        self.write_json(&self.dir.join(name), value)
    }

    /// A source's last good read, if one was saved.
    pub fn snapshot(&self, source: &SourceId) -> Result<Option<Snapshot>, StateError> {
        read_json(&self.snapshot_path(source))
    }

    /// Saves a source's last good read.
    pub fn save_snapshot(&self, source: &SourceId, snapshot: &Snapshot) -> Result<(), StateError> {
        self.write_json(&self.snapshot_path(source), snapshot)
    }

    /// The key of masked reports' labels on this machine: 32 random bytes, made when a
    /// run first takes the state directory's lock (see [`StateStore::lock`]). It never
    /// leaves the state directory, so the labels' hashes cannot be recomputed from what
    /// git holds. Before any run has written state (a first `plan`, a review in CI),
    /// a key made for this process stands in, and writes nothing. `reports.pii_key`
    /// takes its place when set, and keeps labels the same across machines.
    pub fn label_key(&self) -> Result<crate::config::Secret, StateError> {
        match self.read_label_key()? {
            Some(key) => Ok(key),
            None => Ok(crate::config::Secret::new(self.process_key()?)),
        }
    }

    /// The key made for this process, the first time it is asked for; it becomes the
    /// state directory's own when a run takes the lock, so what this process showed
    /// before reads the same after.
    fn process_key(&self) -> Result<String, StateError> {
        static PROCESS_KEY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        if let Some(key) = PROCESS_KEY.get() {
            return Ok(key.clone());
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| StateError::Io {
            path: self.label_key_path(),
            source: io::Error::other(e.to_string()),
        })?;
        Ok(PROCESS_KEY.get_or_init(|| hex::encode(bytes)).clone())
    }

    fn label_key_path(&self) -> PathBuf {
        self.dir.join("label.key")
    }

    fn read_label_key(&self) -> Result<Option<crate::config::Secret>, StateError> {
        let path = self.label_key_path();
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() >= 32 => Ok(Some(crate::config::Secret::new(text.trim()))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StateError::Io { path, source }),
        }
    }

    /// Makes the key of masked labels if there is none yet.
    fn make_label_key(&self) -> Result<(), StateError> {
        if self.read_label_key()?.is_some() {
            return Ok(());
        }
        let path = self.label_key_path();
        let io_err = |source| StateError::Io { path: path.clone(), source };
        create_private_dir(&self.dir).map_err(io_err)?;
        let key = self.process_key()?;
        let tmp = path.with_extension("key.tmp");
        {
            let mut options = std::fs::OpenOptions::new();
            options.create(true).truncate(true).write(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).map_err(io_err)?;
            io::Write::write_all(&mut file, key.as_bytes()).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
        }
        std::fs::rename(&tmp, &path).map_err(io_err)?;
        Ok(())
    }

    /// The random id of this state directory, made on first use: who holds the run
    /// lease ([`crate::git::lease`]), so that a daemon restarted on the same state
    /// directory takes its own lease back at once.
    pub fn instance_id(&self) -> Result<String, StateError> {
        let path = self.dir.join("instance");
        let io_err = |source| StateError::Io { path: path.clone(), source };
        match std::fs::read_to_string(&path) {
            Ok(text) if text.trim().len() == 32 => return Ok(text.trim().to_owned()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(e)),
        }
        create_private_dir(&self.dir).map_err(io_err)?;
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(StateError::Random)?;
        let id = hex::encode(bytes);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, format!("{id}\n")).map_err(io_err)?;
        std::fs::rename(&tmp, &path).map_err(io_err)?;
        Ok(id)
    }

    /// Takes the lock of the state directory, held while a run may write: one run at a
    /// time per state directory, and so per directory. It is an OS file lock, released
    /// when the returned value is dropped or the process ends, however it ends.
    pub fn lock(&self) -> Result<StateLock, StateError> {
        let lock = self.lock_file("lock")?;
        self.make_label_key()?;
        Ok(lock)
    }

    /// Takes the OS file lock `<state-dir>/<name>` (made if missing), as [`lock`](Self::lock)
    /// does for runs: for a part of the state that has its own lock (notifications).
    /// [`StateError::Busy`] while another process, or another value of this one, holds it.
    pub fn lock_file(&self, name: &str) -> Result<StateLock, StateError> {
        let path = self.dir.join(name);
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

/// What hrsync writes as `.gitignore` in a state directory it creates: snapshots hold
/// personal data, and the state directory sits in the sync repository by default, where a
/// `git add -A` would commit them.
pub const GITIGNORE: &str = "# Written by hrsync: the run state holds personal data (snapshots of the HR\n# sources) and is never committed. This file ignores the folder, itself included.\n*\n";

/// Creates `dir` readable by its owner only, with [`GITIGNORE`] in it. A folder that is
/// there already is left as it is: it may be one hrsync did not make (`--state-dir`
/// pointing at a folder of the repository itself), where ignoring everything would hide
/// the user's files; `run` warns when such a folder is not ignored.
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
    std::fs::write(dir.join(".gitignore"), GITIGNORE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_directory_hrsync_creates_ignores_itself_and_one_it_finds_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let store = StateStore::new(tmp.path().join(".hrsync"));
        let _lock = store.lock().unwrap();
        let ignore = std::fs::read_to_string(tmp.path().join(".hrsync/.gitignore")).unwrap();
        assert_eq!(ignore.lines().last(), Some("*"), "{ignore}");
        // A folder that exists is not hrsync's to ignore: it may hold the user's files.
        let theirs = tmp.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        StateStore::new(&theirs).save(&RunState::default()).unwrap();
        assert!(!theirs.join(".gitignore").exists());
    }
}
