//! Opening a run at the edge (the command line and the daemon host): the config loaded
//! with every diagnostic shown, the state directory, the run's clock and the key of the
//! leaver timers; and the personal-data policy of an output.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;

use super::{Run, ShowProgress};
use crate::config::files::RepoFiles;
use crate::config::{self, Config, ConfigError, Diagnostics, PiiSpec, SecretError};
use crate::plan::pii::Pii;
use crate::state::StateStore;

/// Why a run could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The repository is not valid; every diagnostic was printed on stderr already, so
    /// `main` exits 1 without printing this again.
    #[error("the sync repository is not valid")]
    Reported,
    /// The repository could not be read.
    #[error(transparent)]
    Config(ConfigError),
    /// The `pii_key` that keys the leaver timers cannot be resolved.
    #[error("cannot read reports.pii_key (it keys the leaver timers too)")]
    TimerKey(#[source] SecretError),
    /// `pii: hashed` without a key.
    #[error("`pii: hashed` needs `reports.pii_key` in hrsync.yaml")]
    NoPiiKey,
    /// The `pii_key` of hashed reports cannot be resolved.
    #[error("cannot read reports.pii_key")]
    PiiKey(#[source] SecretError),
    /// The local key of masked reports' labels cannot be read or made.
    #[error("cannot read or make the key of masked labels in the state directory")]
    LabelKey(#[source] crate::state::StateError),
}

impl OpenError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            OpenError::Reported => "invalid_config",
            OpenError::Config(_) => "config_unreadable",
            OpenError::TimerKey(_) | OpenError::PiiKey(_) => "pii_key_unreadable",
            OpenError::NoPiiKey => "pii_key_missing",
            OpenError::LabelKey(_) => "label_key_unreadable",
        }
    }
}

/// Loads the config of `files`; an invalid repository's diagnostics are printed on
/// stderr, every one, and the error is [`OpenError::Reported`]. With `json_logs` each
/// diagnostic is an ERROR log line of its own (`file`, `line`, `column`, `hint`, and the
/// message), like every other line of a JSON log, then one line that counts them.
pub fn load_config(files: &dyn RepoFiles, json_logs: bool) -> Result<Config, OpenError> {
    match config::load(files) {
        Ok(c) => Ok(c),
        Err(ConfigError::Invalid(diags)) => {
            show_diagnostics(&diags, json_logs);
            Err(OpenError::Reported)
        }
        Err(e) => Err(OpenError::Config(e)),
    }
}

/// Prints an invalid repository's diagnostics on stderr, every one; with `json_logs`,
/// each as an ERROR log line of its own, then one line that counts them.
pub fn show_diagnostics(diags: &Diagnostics, json_logs: bool) {
    if json_logs {
        log_diagnostics(diags);
    } else {
        eprintln!("{diags}");
    }
}

/// Each diagnostic as an ERROR event, then their count.
fn log_diagnostics(diags: &Diagnostics) {
    for d in diags.iter() {
        tracing::error!(
            file = %d.file,
            line = d.line,
            column = d.column,
            hint = d.hint.as_deref(),
            "{}",
            d.message
        );
    }
    let files: BTreeSet<&str> = diags.iter().map(|d| d.file.as_str()).collect();
    tracing::error!(problems = diags.len(), files = files.len(), "the sync repository is not valid");
}

/// Warns when the state directory lies in a git work tree that does not ignore it: its
/// snapshots hold personal data, and a `git add -A` would commit them. A state directory
/// hrsync creates ignores itself (a `.gitignore` of `*`); one made otherwise (by an older
/// hrsync, by hand, `--state-dir` at a folder of the repository) may not.
fn warn_if_not_ignored(dir: &Path) {
    if !dir.is_dir() {
        return; // hrsync will create it, ignoring itself
    }
    let Ok(repo) = git2::Repository::discover(dir) else { return };
    let Some(workdir) = repo.workdir() else { return };
    let (Ok(dir), Ok(workdir)) = (dir.canonicalize(), workdir.canonicalize()) else { return };
    let Ok(relative) = dir.strip_prefix(&workdir) else { return };
    // Any file of the folder will do: a snapshot is what must not be committed.
    if let Ok(false) = repo.is_path_ignored(relative.join("snapshots").join("source.json")) {
        let folder = relative.display().to_string();
        let fix = if folder.is_empty() {
            "move it out with `--state-dir`".to_owned()
        } else {
            format!("add `{folder}/` to .gitignore, or a .gitignore holding `*` inside it")
        };
        tracing::warn!(
            state_dir = %dir.display(),
            "the state directory is in the git work tree {} and git does not ignore it: its snapshots hold personal data, which `git add` would commit; {fix}",
            workdir.display()
        );
    }
}

impl Run {
    /// A run over `config` read from `files`, keeping its state in `state_dir`
    /// (`<repo>/.hrsync` when `None`), as of `now`.
    pub fn open(
        files: Arc<dyn RepoFiles>,
        config: Config,
        state_dir: Option<PathBuf>,
        now: Timestamp,
        progress: ShowProgress,
    ) -> Result<Run, OpenError> {
        let state_dir = state_dir.unwrap_or_else(|| StateStore::default_dir(files.root()));
        warn_if_not_ignored(&state_dir);
        // The pii_key, when there is one, keys the leaver timers as well as the reports.
        let timer_secret = match &config.workspace.reports.pii_key {
            Some(key) => Some(key.resolve().map_err(OpenError::TimerKey)?),
            None => None,
        };
        Ok(Run { config, files, store: StateStore::new(state_dir), now, progress, timer_secret })
    }

    /// How an output shows personal data: `policy`, or `reports.pii` of hrsync.yaml.
    pub fn pii(&self, policy: Option<PiiSpec>) -> Result<Pii, OpenError> {
        let reports = &self.config.workspace.reports;
        Ok(match policy.unwrap_or(reports.pii) {
            PiiSpec::Full => Pii::Full,
            PiiSpec::Masked => Pii::Masked(Some(match &reports.pii_key {
                Some(key) => key.resolve().map_err(OpenError::PiiKey)?,
                None => self.store.label_key().map_err(OpenError::LabelKey)?,
            })),
            PiiSpec::Hashed => {
                let key = reports.pii_key.as_ref().ok_or(OpenError::NoPiiKey)?;
                Pii::Hashed(key.resolve().map_err(OpenError::PiiKey)?)
            }
        })
    }
}
