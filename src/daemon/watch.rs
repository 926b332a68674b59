//! The watch loop: runs a cycle at start, on each new commit of the tracked branch (file
//! events on the repository's refs), on the schedule, on SIGHUP and on the HTTP
//! triggers, until SIGTERM or Ctrl-C. A stop signal during a run lets it finish; a
//! second one abandons it (what was applied stays applied, the next run plans again
//! from the live state). What a cycle does is the caller's: this loop only decides when.

use std::path::Path;

use crate::git::GitError;

/// Runs `cycle` at start, on each new commit of `branch` (a revision of the repository
/// holding `sync_dir`), when the duration it returned has passed, on SIGHUP and on each
/// of `triggers` (the HTTP endpoints); stops
/// on SIGTERM or Ctrl-C. Reports-branch commits never start a run: only a new tip of
/// `branch` does.
// The schedule runs on the monotonic clock: the loop is the daemon's edge.
#[allow(clippy::disallowed_methods)]
pub async fn watch<F, Fut>(
    sync_dir: &Path,
    branch: &str,
    mut triggers: tokio::sync::mpsc::UnboundedReceiver<&'static str>,
    mut cycle: F,
) -> Result<(), WatchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::time::Duration>,
{
    use notify::Watcher as _;
    use tokio::signal::unix::{SignalKind, signal};
    use tokio::time::{Instant, sleep_until};

    let repo = git2::Repository::discover(sync_dir)
        .map_err(|_| WatchError::Git(GitError::NotARepository(sync_dir.to_owned())))?;
    let git_dir = repo.path().to_owned();
    drop(repo);
    let tip = || -> Option<git2::Oid> {
        let repo = git2::Repository::open(&git_dir).ok()?;
        repo.revparse_single(branch).ok()?.peel_to_commit().ok().map(|c| c.id())
    };
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            let _ = tx.send(());
        }
    })?;
    // Refs move by renaming lock files in refs/ (or rewriting packed-refs).
    watcher.watch(&git_dir.join("refs"), notify::RecursiveMode::Recursive)?;
    watcher.watch(&git_dir, notify::RecursiveMode::NonRecursive)?;
    let mut term = signal(SignalKind::terminate()).map_err(WatchError::Signal)?;
    let mut hup = signal(SignalKind::hangup()).map_err(WatchError::Signal)?;
    let mut seen = None;
    let mut next = Instant::now();
    loop {
        let reason = tokio::select! {
            () = sleep_until(next) => "schedule",
            Some(()) = events.recv() => {
                while events.try_recv().is_ok() {}
                if tip() == seen {
                    continue;
                }
                "a new commit"
            }
            _ = hup.recv() => "SIGHUP",
            Some(reason) = triggers.recv() => reason,
            _ = term.recv() => return Ok(()),
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        seen = tip();
        tracing::info!(reason, revision = %seen.map(|o| o.to_string()).unwrap_or_default(), "run");
        let run = cycle();
        tokio::pin!(run);
        let mut stopping = false;
        let wait = loop {
            tokio::select! {
                wait = &mut run => break wait,
                _ = term.recv() => {
                    if stopping {
                        tracing::warn!("abandoning the current run");
                        return Ok(());
                    }
                    stopping = true;
                    tracing::info!("finishing the current run, then stopping; send SIGTERM again to abandon it");
                }
            }
        };
        if stopping {
            return Ok(());
        }
        next = Instant::now() + wait;
        tracing::info!(next_in_seconds = wait.as_secs(), "waiting");
    }
}

/// Why the daemon could not watch.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The repository cannot be opened.
    #[error(transparent)]
    Git(GitError),
    /// File events cannot be watched.
    #[error("cannot watch the repository for new commits")]
    Notify(#[from] notify::Error),
    /// Signals cannot be handled.
    #[error("cannot handle signals")]
    Signal(#[source] std::io::Error),
}

impl WatchError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            WatchError::Git(e) => e.label(),
            WatchError::Notify(_) => "notify",
            WatchError::Signal(_) => "signal",
        }
    }
}
