//! The daemon host: what `hrsync daemon` runs around the cycle. It opens the sync
//! repository (a local git repository, or a bare mirror of a remote one kept in the
//! state directory, fetched before each cycle and every 30 s), holds the run lock,
//! pushes the reports branch of a remote after each commit, serves the HTTP endpoints,
//! and drives [`watch`](super::watch()) with the schedule.
//!
//! The host is the daemon's edge: it reads the clock (unless `--now` fixed it), and its
//! errors are `anyhow` errors with context.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;

use super::{Cycle, endpoints};
use crate::config::files::RepoFiles;
use crate::config::{Schedule, Secret};
use crate::git::GitTree;
use crate::git::remote::Mirror;
use crate::model::error_chain;
use crate::report::JobStatus;
use crate::report::plan::Limits;
use crate::run::{Run, load_config};

/// How often a watching daemon fetches a remote repository (a webhook fetches at once).
const FETCH_INTERVAL: Duration = Duration::from_secs(30);

/// What the daemon is started with.
#[derive(Clone, Debug)]
pub struct Host {
    /// `--repo`: a folder inside a git repository, or a remote URL (`URL#folder` for a
    /// folder of it).
    pub repo: String,
    /// `--state-dir`.
    pub state_dir: Option<PathBuf>,
    /// `--now`: the clock of every cycle, for replays and tests; the real clock when
    /// `None`.
    pub now: Option<Timestamp>,
    /// Whether logs are JSON lines (the commit lines are log lines then).
    pub json_logs: bool,
}

/// Whether `repo` names a remote repository rather than a folder.
pub fn is_remote(repo: &str) -> bool {
    repo.contains("://") || repo.starts_with("git@")
}

impl Host {
    /// `hrsync daemon --once`: one cycle on `branch`, its job result on stdout.
    pub async fn once(&self, branch: Option<&str>) -> Result<ExitCode> {
        let default = if is_remote(&self.repo) { "main" } else { "HEAD" };
        let (cycle, _, _) = self.one_cycle(branch.unwrap_or(default)).await?;
        println!("{}", serde_json::to_string_pretty(&cycle.result)?);
        Ok(if cycle.result.status == JobStatus::Failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }

    /// `hrsync daemon`: cycles on `branch` until stopped, with the HTTP endpoints on
    /// `listen`.
    pub async fn watch(&self, branch: Option<&str>, listen: Option<&str>) -> Result<ExitCode> {
        // Track the branch checked out now, not whatever HEAD later points to; for a remote,
        // `main` unless told otherwise.
        let (watch_dir, watched, branch) = match self.mirror()? {
            Some(mirror) => {
                let branch = branch.unwrap_or("main").to_owned();
                mirror.fetch().with_context(|| format!("cannot fetch {}", self.repo))?;
                // Fetch on an interval: the fetched refs move, and the watcher sees them.
                let url = self.url().to_owned();
                let path = mirror.path().to_owned();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(FETCH_INTERVAL).await;
                        let (url, path) = (url.clone(), path.clone());
                        let fetched = tokio::task::spawn_blocking(move || {
                            Mirror::open(&url, &path).and_then(|m| m.fetch())
                        })
                        .await;
                        if let Ok(Err(e)) = fetched {
                            tracing::warn!(error = %error_chain(&e), "fetch failed");
                        }
                    }
                });
                (mirror.path().to_owned(), Mirror::tracked(&branch), branch)
            }
            None => {
                let branch = match branch {
                    Some(b) => b.to_owned(),
                    None => {
                        let repo = git2::Repository::discover(&self.repo)
                            .with_context(|| format!("`{}` is not inside a git repository", self.repo))?;
                        let head = repo.find_reference("HEAD")?;
                        head.symbolic_target()
                            .ok()
                            .flatten()
                            .map(str::to_owned)
                            .unwrap_or_else(|| "HEAD".to_owned())
                    }
                };
                (PathBuf::from(&self.repo), branch.clone(), branch)
            }
        };
        tracing::info!(branch = %branch, repo = %self.repo, "watching");
        let (trigger, triggers) = tokio::sync::mpsc::unbounded_channel();
        let secret = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()).map(Secret::new);
        let shared = endpoints::Shared::new(
            &branch,
            trigger,
            secret("HRSYNC_RUNS_TOKEN"),
            secret("HRSYNC_WEBHOOK_SECRET"),
        );
        if let Some(addr) = listen {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            tracing::info!(addr = %listener.local_addr()?, "serving /healthz, /readyz, /metrics, /status, /runs, /hooks/git");
            let app = endpoints::router(shared.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "the HTTP endpoints stopped");
                }
            });
        }
        super::watch(&watch_dir, &watched, triggers, || async {
            #[allow(clippy::disallowed_methods)] // the run's duration, for /metrics
            let started = std::time::Instant::now();
            let outcome = self.one_cycle(&branch).await;
            let seconds = started.elapsed().as_secs_f64();
            match outcome {
                Ok((cycle, wait, revision)) => {
                    tracing::info!(status = ?cycle.result.status, commits = cycle.commits.len(), "run finished");
                    let next = wall_clock() + jiff::SignedDuration::try_from(wait).unwrap_or_default();
                    shared.finished(Some(revision), Ok(&cycle.result), seconds, next);
                    wait
                }
                Err(e) => {
                    let error = error_chain(e.as_ref());
                    tracing::error!(error = %error, "run failed");
                    let wait = Duration::from_secs(60);
                    let next = wall_clock() + jiff::SignedDuration::from_secs(60);
                    shared.finished(None, Err(error), seconds, next);
                    wait
                }
            }
        })
        .await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    }

    /// The time of a cycle: `--now`, or the clock.
    fn clock(&self) -> Timestamp {
        self.now.unwrap_or_else(wall_clock)
    }

    /// The remote's URL, without `#folder`.
    fn url(&self) -> &str {
        self.repo.split_once('#').map_or(self.repo.as_str(), |(url, _)| url)
    }

    /// The mirror of `--repo` when it is a remote URL (kept in the state directory).
    fn mirror(&self) -> Result<Option<Mirror>> {
        if !is_remote(&self.repo) {
            return Ok(None);
        }
        let Some(state) = &self.state_dir else {
            bail!(
                "with a remote `--repo`, give `--state-dir` too: it keeps the mirror of the repository and the run state"
            );
        };
        Ok(Some(Mirror::open(self.url(), &state.join("repository.git"))?))
    }

    /// One cycle on the config at `rev`: the cycle, when the next scheduled run is due,
    /// and the revision read.
    async fn one_cycle(&self, rev: &str) -> Result<(Cycle, Duration, String)> {
        let mirror = self.mirror()?;
        if let Some(m) = &mirror {
            m.fetch().with_context(|| format!("cannot fetch {}", self.repo))?;
        }
        let (dir, tree) = match &mirror {
            Some(m) => {
                let folder = self.repo.split_once('#').map(|(_, f)| f).unwrap_or_default();
                let tree = GitTree::open_bare(m.path(), folder, &Mirror::tracked(rev));
                (m.path().to_owned(), tree)
            }
            None => (PathBuf::from(&self.repo), GitTree::open(Path::new(&self.repo), rev)),
        };
        let files: Arc<dyn RepoFiles> = Arc::new(tree.with_context(|| {
            format!(
                "the daemon reads the sync repository from git; is `{}` inside a git repository?",
                self.repo
            )
        })?);
        let revision = files.revision().unwrap_or_default();
        let config = load_config(files.as_ref())?;
        let run = Run::open(files, config, self.state_dir.clone(), self.clock(), false)?;
        let _lock = run.store.lock()?;
        let pii = run.pii(None)?;
        let branch = &run.config.workspace.reports.branch;
        if let Some(m) = &mirror {
            m.adopt_reports(branch)?;
        }
        // A remote's reports branch is pushed after each commit, so a plan is published
        // before it is applied, and once more at the end for what an earlier run could not.
        let remote = mirror.as_ref().map(|m| (self.url(), m.path()));
        let publish = || match remote {
            Some((url, path)) => Mirror::open(url, path)?.push_reports(branch),
            None => Ok(()),
        };
        let cycle = super::cycle(&run, &dir, &revision, pii, &Limits::default(), &publish).await?;
        if let Some(m) = &mirror {
            m.push_reports(branch).with_context(|| format!("cannot push `{branch}` to {}", self.repo))?;
        }
        // Plain lines for people; with JSON logs, log lines like the rest.
        if cycle.commits.is_empty() {
            if self.json_logs {
                tracing::info!(branch = %branch, "nothing changed: no commit");
            } else {
                eprintln!("nothing changed: no commit to `{branch}`");
            }
        }
        for (oid, subject) in &cycle.commits {
            if self.json_logs {
                tracing::info!(branch = %branch, commit = %oid, subject = %subject, "committed");
            } else {
                eprintln!("committed {} to `{branch}`: {subject}", &oid.to_string()[..12]);
            }
        }
        let wait = next_run(run.config.workspace.schedule.as_ref(), wall_clock());
        Ok((cycle, wait, revision))
    }
}

/// The clock, read here at the daemon's edge and handed to each run as data.
#[allow(clippy::disallowed_methods)]
fn wall_clock() -> Timestamp {
    Timestamp::now()
}

/// How long until the next scheduled run: at `start` plus a whole number of intervals
/// (or one interval from now without a start); an hour without a schedule.
fn next_run(schedule: Option<&Schedule>, now: Timestamp) -> Duration {
    let Some(s) = schedule else { return Duration::from_secs(3600) };
    let interval = s.interval.as_secs().max(1);
    let wait = match s.start {
        Some(start) if start > now => start.as_second() - now.as_second(),
        Some(start) => interval - (now.as_second() - start.as_second()) % interval,
        None => interval,
    };
    Duration::from_secs(wait.max(1).unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_runs_fall_on_the_start_plus_whole_intervals() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let hourly = |start: Option<&str>| Schedule {
            interval: jiff::SignedDuration::from_hours(1),
            start: start.map(&t),
        };
        let now = t("2026-11-22T09:20:00Z");
        let secs = |d: Duration| d.as_secs();
        // Aligned on the start: 02:00, 03:00 … → the next is 10:00.
        assert_eq!(secs(next_run(Some(&hourly(Some("2026-01-05T01:00:00Z"))), now)), 40 * 60);
        // A start still ahead is the next run.
        assert_eq!(secs(next_run(Some(&hourly(Some("2026-11-22T12:00:00Z"))), now)), 160 * 60);
        // No start: one interval from now; no schedule: an hour.
        assert_eq!(secs(next_run(Some(&hourly(None)), now)), 3600);
        assert_eq!(secs(next_run(None, now)), 3600);
    }
}
