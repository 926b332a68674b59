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
use crate::git::lease::{Held, Holder, Lease, Taken};
use crate::git::prune::Pruner;
use crate::git::remote::Mirror;
use crate::model::error_chain;
use crate::report::JobStatus;
use crate::report::plan::Limits;
use crate::run::{Run, ShowProgress};

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
    /// `--lease`: how long the run lease lasts unless renewed (a third of it apart,
    /// while a run goes on). A daemon killed mid-run keeps another from running for at
    /// most this long.
    pub lease: Duration,
}

/// The default of `--lease`.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// Another daemon holds the run lease: this one stands by (not a failure).
#[derive(Debug, thiserror::Error)]
#[error(
    "another daemon ({}, process {}) holds the run until {}: standing by",
    holder.host,
    holder.pid,
    jiff::Timestamp::from_second(holder.until).map(|t| t.to_string()).unwrap_or_default()
)]
pub struct StandBy {
    /// Who holds it.
    pub holder: Holder,
}

/// Whether `repo` names a remote repository rather than a folder.
pub fn is_remote(repo: &str) -> bool {
    repo.contains("://") || repo.starts_with("git@")
}

impl Host {
    /// `hrsync daemon --once`: one cycle on `branch`, its job result on stdout.
    ///
    /// When another daemon holds the run lease, it waits for that lease to end once: a
    /// daemon that died (`kill -9`, a lost machine) stops renewing it, and this cycle then
    /// runs in its place. A holder still renewing it is alive and doing the run: this one
    /// stands by, prints `{"status": "standby", …}` and exits 0.
    pub async fn once(&self, branch: Option<&str>) -> Result<ExitCode> {
        let default = if is_remote(&self.repo) { "main" } else { "HEAD" };
        let rev = branch.unwrap_or(default);
        let mut waited = false;
        let cycle = loop {
            let failure = match self.one_cycle(rev, None).await {
                Ok((cycle, _, _)) => break cycle,
                Err(failure) => failure,
            };
            let Some(standby) = failure.error.downcast_ref::<StandBy>() else { return Err(failure.error) };
            if waited {
                tracing::warn!(holder = %standby.holder.host, pid = standby.holder.pid, "the run lease was renewed: its holder is alive and runs, so this one stands by");
                let out = serde_json::json!({ "status": "standby", "holder": standby.holder });
                println!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(ExitCode::SUCCESS);
            }
            let wait = until(standby.holder.until).min(self.lease * 4);
            tracing::warn!(error = %standby, retry_in_seconds = wait.as_secs(), "waiting for the run lease");
            tokio::time::sleep(wait).await;
            waited = true;
        };
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
                mirror.fetch().with_context(|| format!("cannot fetch {}", self.shown()))?;
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
        tracing::info!(branch = %branch, repo = %self.shown(), "watching");
        let (trigger, triggers) = tokio::sync::mpsc::unbounded_channel();
        let secret = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()).map(Secret::new);
        let shared = endpoints::Shared::new(
            &branch,
            trigger,
            secret("HRSYNC_RUNS_TOKEN"),
            secret("HRSYNC_WEBHOOK_SECRET"),
        );
        if let Some(addr) = listen.map(endpoints::listen_address) {
            let listener = tokio::net::TcpListener::bind(&addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            tracing::info!(addr = %listener.local_addr()?, "serving the status page at / (and /explain), /healthz, /readyz, /metrics, /status, /runs, /hooks/git");
            let app = endpoints::router(shared.clone());
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::error!(error = %e, "the HTTP endpoints stopped");
                }
            });
        }
        // Runs that failed in a row: the next is retried after a minute, then two, four …
        // up to the schedule's interval.
        let failures = std::sync::atomic::AtomicU32::new(0);
        super::watch(&watch_dir, &watched, triggers, || async {
            #[allow(clippy::disallowed_methods)] // the run's duration, for /metrics
            let started = std::time::Instant::now();
            let outcome = self.one_cycle(&branch, Some(&shared)).await;
            let seconds = started.elapsed().as_secs_f64();
            let (revision, result, scheduled) = match outcome {
                Ok((cycle, wait, revision)) => {
                    let r = &cycle.result;
                    let failed = failures_of(r);
                    match r.status {
                        JobStatus::Failed => tracing::error!(status = "failed", causes = %failed.join("; "), commits = cycle.commits.len(), "run failed"),
                        JobStatus::Warning => tracing::warn!(status = "warning", causes = %failed.join("; "), commits = cycle.commits.len(), "run finished with warnings"),
                        JobStatus::Completed => tracing::info!(status = "completed", commits = cycle.commits.len(), "run finished"),
                    }
                    // A source or directory that failed as a whole; failed items wait for
                    // the next scheduled run, like everything else, and a blocked plan
                    // for its approval (a commit starts a run at once).
                    let blocked = |d: &crate::report::DirectoryResult| {
                        d.plan_status == Some(crate::plan::PlanStatus::Blocked)
                    };
                    let retry = r.directories.values().any(|d| d.status == JobStatus::Failed && !blocked(d))
                        || matches!(&r.sources, crate::report::Sources::All { sources } if sources.values().any(|s| s.status == Some(JobStatus::Failed)));
                    (Some(revision), Ok((cycle, retry)), wait)
                }
                Err(failure) if failure.error.downcast_ref::<StandBy>().is_some() => {
                    // Not a failure: the holder does the run. Try again when its lease
                    // ends (it renews it while alive), or on the schedule if sooner.
                    let holder = failure.error.downcast_ref::<StandBy>().map(|s| s.holder.clone());
                    tracing::info!(error = %error_chain(failure.error.as_ref()), "standing by");
                    let wait = holder.as_ref().map_or(failure.interval, |h| until(h.until)).min(failure.interval);
                    if let Some(holder) = holder {
                        shared.standing_by(failure.revision, holder, wall_clock() + jiff::SignedDuration::try_from(wait).unwrap_or_default());
                    }
                    return wait;
                }
                Err(failure) => {
                    let error = error_chain(failure.error.as_ref());
                    tracing::error!(error = %error, revision = failure.revision.as_deref().unwrap_or(""), "run failed");
                    (failure.revision, Err(error), failure.interval)
                }
            };
            let retry = match &result {
                Ok((_, retry)) => *retry,
                Err(_) => true,
            };
            let wait = if retry {
                let wait = retry_wait(failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed), scheduled);
                tracing::warn!(retry_in_seconds = wait.as_secs(), "retrying after a failure");
                wait
            } else {
                failures.store(0, std::sync::atomic::Ordering::Relaxed);
                scheduled
            };
            let next = wall_clock() + jiff::SignedDuration::try_from(wait).unwrap_or_default();
            match &result {
                Ok((cycle, _)) => shared.finished(revision, Ok(&cycle.result), seconds, next),
                Err(error) => shared.finished(revision, Err(error.clone()), seconds, next),
            }
            wait
        })
        .await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    }

    /// The time of a cycle: `--now`, or the clock.
    fn clock(&self) -> Timestamp {
        self.now.unwrap_or_else(wall_clock)
    }

    /// `--repo` as logs and messages show it: a URL without the user name and password
    /// it may carry (`https://x-access-token:TOKEN@host/…`).
    pub fn shown(&self) -> String {
        shown_url(&self.repo)
    }

    /// The remote's URL, without `#folder`.
    pub fn url(&self) -> &str {
        self.repo.split_once('#').map_or(self.repo.as_str(), |(url, _)| url)
    }

    /// The sync repository's folder inside a remote repository (`#folder`), or "".
    pub fn folder(&self) -> &str {
        self.repo.split_once('#').map(|(_, f)| f).unwrap_or_default()
    }

    /// The mirror of `--repo` when it is a remote URL (kept in the state directory).
    pub fn mirror(&self) -> Result<Option<Mirror>> {
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
    /// and the revision read; or why it failed, with the revision when it was read.
    /// `shared`, when serving the endpoints, learns the config in force once it loads.
    async fn one_cycle(
        &self,
        rev: &str,
        shared: Option<&endpoints::Shared>,
    ) -> Result<(Cycle, Duration, String), CycleFailure> {
        let mut revision = None;
        let mut interval = Duration::from_secs(3600);
        let mut settings = None;
        let outcome = self.try_cycle(rev, shared, &mut revision, &mut interval, &mut settings).await;
        // After the run's commits, outside the run lock; never changes the outcome. A
        // cycle that stood by (another daemon runs) changed no state: nothing to tell.
        let standby = outcome.as_ref().err().is_some_and(|e| e.downcast_ref::<StandBy>().is_some());
        if !standby {
            let state_dir = self.state_dir.clone().or_else(|| {
                (!is_remote(&self.repo)).then(|| crate::state::StateStore::default_dir(Path::new(&self.repo)))
            });
            let result = outcome.as_ref().map(|(cycle, _, _)| &cycle.result);
            super::notify::after_cycle(
                state_dir.as_deref(),
                settings,
                result,
                revision.as_deref(),
                self.clock(),
            )
            .await;
        }
        outcome.map_err(|error| CycleFailure { error, revision, interval })
    }

    async fn try_cycle(
        &self,
        rev: &str,
        shared: Option<&endpoints::Shared>,
        read: &mut Option<String>,
        interval: &mut Duration,
        notify: &mut Option<super::notify::Settings>,
    ) -> Result<(Cycle, Duration, String)> {
        let mirror = self.mirror()?;
        if let Some(m) = &mirror {
            m.fetch().with_context(|| format!("cannot fetch {}", self.shown()))?;
        }
        let (dir, tree) = match &mirror {
            Some(m) => {
                let tree = GitTree::open_bare(m.path(), self.folder(), &Mirror::tracked(rev));
                (m.path().to_owned(), tree)
            }
            None => (PathBuf::from(&self.repo), GitTree::open(Path::new(&self.repo), rev)),
        };
        let files: Arc<dyn RepoFiles> = Arc::new(tree.with_context(|| {
            format!(
                "the daemon reads the sync repository from git; is `{}` inside a git repository?",
                self.shown()
            )
        })?);
        let revision = files.revision().unwrap_or_default();
        *read = Some(revision.clone());
        let config = match crate::config::load(files.as_ref()) {
            Ok(config) => config,
            Err(crate::config::ConfigError::Invalid(diagnostics)) => {
                crate::run::show_diagnostics(&diagnostics, self.json_logs);
                // The reports branch says so, with the errors and the revision, so the
                // trail has no gap and the previous status does not stand as current.
                let remote = mirror.as_ref().map(|m| (self.url(), m.path().to_owned()));
                let dir = mirror.as_ref().map_or_else(|| PathBuf::from(&self.repo), |m| m.path().to_owned());
                record_invalid_config(files.as_ref(), &dir, &revision, &diagnostics, self.clock(), remote)?;
                bail!(
                    "the config at {revision} is not valid ({} problems); the reports branch says which",
                    diagnostics.len()
                );
            }
            Err(e) => return Err(e.into()),
        };
        *interval = next_run(config.workspace.schedule.as_ref(), wall_clock());
        if let Some(shared) = shared {
            shared.configured(&config, &revision);
            shared.explain_from(endpoints::Basis {
                files: files.clone(),
                state_dir: self.state_dir.clone(),
                now: self.now,
            });
        }
        *notify = Some(super::notify::Settings::of(&config.workspace));
        // A daemon's stderr is a log: progress comes as log lines, never a bar.
        let run = Run::open(files, config, self.state_dir.clone(), self.clock(), ShowProgress::Log)?;
        let _lock = run.store.lock()?;
        let pii = run.pii(None)?;
        let branch = &run.config.workspace.reports.branch;
        // The run lease first: a daemon that holds it may be writing the reports branch.
        let lease = Lease::open(&dir, branch, mirror.as_ref().map(|_| self.url()))
            .with_context(|| format!("cannot open the run lease beside `{branch}`"))?;
        if let Some(shared) = shared {
            shared.own_branches(&[branch, lease.branch()]);
        }
        let held = self.take_lease(&lease, &run.store)?;
        let deadline = Deadline::of(held.holder(), self.lease_seconds());
        // A remote's reports branch is pushed after each commit, so a plan is published
        // before it is applied, and once more at the end for what an earlier run could not.
        let remote = mirror.as_ref().map(|m| (self.url(), m.path()));
        // And only while the run lease holds, checked again after the push (which may
        // take long): a plan published after the lease ran out is not applied.
        let publish = || {
            deadline.check()?;
            if let Some((url, path)) = remote {
                Mirror::open(url, path)?.push_reports(branch)?;
            }
            deadline.check()
        };
        let cycle = self
            .holding(&lease, held, &deadline, async {
                // The reports as the last holder left them, under the lease (released
                // however this fails).
                if let Some(m) = &mirror {
                    m.fetch_branch(branch)
                        .with_context(|| format!("cannot fetch `{branch}` from {}", self.shown()))?;
                    m.adopt_reports(branch)?;
                    m.reconcile_reports(branch)?;
                }
                warn_overdue(&dir, &run.config.workspace, self.clock());
                let cycle = super::cycle(&run, &dir, &revision, pii, &Limits::default(), &publish).await?;
                if let Some(m) = &mirror {
                    m.push_reports(branch)
                        .with_context(|| format!("cannot push `{branch}` to {}", self.shown()))?;
                }
                Ok(cycle)
            })
            .await?;
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

impl Host {
    /// Takes the run lease for this state directory, or says who holds it
    /// ([`StandBy`]).
    fn take_lease(&self, lease: &Lease, store: &crate::state::StateStore) -> Result<Held> {
        let now = wall_clock().as_second();
        let holder = Holder {
            owner: store.instance_id()?,
            host: host_name(),
            pid: std::process::id(),
            since: now,
            until: now + self.lease_seconds(),
            released: false,
        };
        match lease
            .take(holder, now)
            .with_context(|| format!("cannot take the run lease `{}`", lease.branch()))?
        {
            Taken::Ours(held) => Ok(held),
            Taken::Barred(holder) => Err(StandBy { holder }.into()),
        }
    }

    fn lease_seconds(&self) -> i64 {
        i64::try_from(self.lease.as_secs()).unwrap_or(i64::MAX).max(3)
    }

    /// Runs `work` while holding `held`: renews it a third of the lease apart, in a
    /// task of its own (so that blocking git work in the run never starves it), stops
    /// the work once the lease may have run out (its last renewal's end, less a margin
    /// for clocks: another daemon may take over then, and two must never write at once),
    /// and releases it when the work is done. `deadline` follows each renewal; the run
    /// checks it before and after each push too.
    async fn holding<T>(
        &self,
        lease: &Lease,
        held: Held,
        deadline: &Deadline,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let held = Arc::new(std::sync::Mutex::new(held));
        let seconds = self.lease_seconds();
        let every = Duration::from_secs((seconds / 3).max(1).unsigned_abs());
        let renewer = {
            let (lease, held, deadline) = (lease.clone(), held.clone(), deadline.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let (lease, held) = (lease.clone(), held.clone());
                    let renewed = tokio::task::spawn_blocking(move || {
                        let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
                        let until = wall_clock().as_second() + seconds;
                        lease.renew(&mut held, until).map(|ours| ours.then(|| held.holder().clone()))
                    })
                    .await;
                    match renewed {
                        Ok(Ok(Some(holder))) => deadline.renewed(&holder, seconds),
                        Ok(Ok(None)) => return deadline.lost(),
                        // The watchdog below stops the run if no renewal comes in time.
                        Ok(Err(e)) => tracing::warn!(error = %error_chain(&e), "cannot renew the run lease"),
                        Err(e) => tracing::warn!(error = %e, "the run lease's renewal failed"),
                    }
                }
            })
        };
        let watchdog = async {
            loop {
                let left = deadline.left();
                if deadline.is_lost() {
                    return anyhow::anyhow!("another daemon took the run lease over: this run stopped");
                }
                if left <= 0 {
                    return anyhow::anyhow!(
                        "the run lease could not be renewed before it ran out: this run stopped (another daemon may take over)"
                    );
                }
                tokio::time::sleep(Duration::from_secs(left.unsigned_abs()).min(Duration::from_secs(1)))
                    .await;
            }
        };
        let outcome = tokio::select! {
            outcome = work => outcome,
            stopped = watchdog => Err(stopped),
        };
        renewer.abort();
        let held = held.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = lease.release(&held, wall_clock().as_second()) {
            tracing::warn!(error = %error_chain(&e), "cannot release the run lease; it ends on its own");
        }
        outcome
    }
}

/// Until when this daemon may write under its run lease: the end of its last renewal
/// less a margin for the clocks of the machines (a sixth of the lease, at least a
/// second). Shared by the renewal task, the watchdog and the run's pushes.
#[derive(Clone, Debug)]
struct Deadline(Arc<std::sync::atomic::AtomicI64>);

impl Deadline {
    fn margin(seconds: i64) -> i64 {
        (seconds / 6).max(1)
    }

    fn of(holder: &Holder, seconds: i64) -> Deadline {
        Deadline(Arc::new(std::sync::atomic::AtomicI64::new(holder.until - Self::margin(seconds))))
    }

    fn renewed(&self, holder: &Holder, seconds: i64) {
        self.0.store(holder.until - Self::margin(seconds), std::sync::atomic::Ordering::SeqCst);
    }

    /// Another daemon took the lease over: the watchdog stops the run.
    fn lost(&self) {
        self.0.store(i64::MIN, std::sync::atomic::Ordering::SeqCst);
    }

    fn is_lost(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst) == i64::MIN
    }

    /// Seconds left (none or fewer once it has passed).
    fn left(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst).saturating_sub(wall_clock().as_second())
    }

    /// An error once it has passed: nothing more may be written.
    fn check(&self) -> Result<(), crate::git::GitError> {
        if self.left() > 0 {
            return Ok(());
        }
        Err(crate::git::GitError::Git(git2::Error::from_str(
            "the run lease ran out (it could not be renewed in time): nothing more is written in this run",
        )))
    }
}

/// `url` without the credentials of its authority (`scheme://user:password@host`).
fn shown_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// This machine's name, for the run lease (people read it: who holds the run), from
/// uname(2), which sandboxes that hide /proc/sys (systemd's `ProcSubset=pid`) still answer.
fn host_name() -> String {
    let name = rustix::system::uname().nodename().to_string_lossy().into_owned();
    if name.is_empty() { "unknown".to_owned() } else { name }
}

/// How long until `second` (since the epoch) of the wall clock has passed, and one
/// more second; at least a second.
fn until(second: i64) -> Duration {
    Duration::from_secs((second - wall_clock().as_second() + 1).max(1).unsigned_abs())
}

/// How long to wait before retrying after `failed_before` failed runs in a row: a
/// minute, then two, four … but never longer than the schedule's `interval` (nor less
/// than a minute).
fn retry_wait(failed_before: u32, interval: Duration) -> Duration {
    let backoff = Duration::from_secs(60u64.saturating_mul(1 << failed_before.min(16)));
    backoff.min(interval.max(Duration::from_secs(60)))
}

/// Why a cycle failed as a whole, with the revision it read, if any, and the schedule's
/// interval, which bounds the retries' back-off.
struct CycleFailure {
    error: anyhow::Error,
    revision: Option<String>,
    interval: Duration,
}

/// The failed sources and directories of a run, and its failed items, in words.
fn failures_of(result: &crate::report::JobResult) -> Vec<String> {
    let mut out = Vec::new();
    if let crate::report::Sources::All { sources } = &result.sources {
        for (id, s) in sources {
            if let Some(e) = s.errors.first() {
                out.push(format!("source `{id}`: {e}"));
            }
        }
    }
    for (id, d) in &result.directories {
        if d.status == JobStatus::Failed {
            out.push(format!("directory `{id}`: {}", d.reason.as_deref().unwrap_or("failed")));
        } else if d.failed > 0 {
            out.push(format!("directory `{id}`: {} items failed", d.failed));
        }
    }
    out
}

/// Commits `status.json` saying the config at `revision` is invalid, with its
/// diagnostics, to the reports branch the workspace names (read leniently: the config
/// did not validate), or the default one; pushes it to `remote` when there is one.
fn record_invalid_config(
    files: &dyn RepoFiles,
    dir: &Path,
    revision: &str,
    diagnostics: &crate::config::Diagnostics,
    now: Timestamp,
    remote: Option<(&str, PathBuf)>,
) -> Result<()> {
    let raw: serde_json::Value = files
        .read(crate::config::WORKSPACE_FILE)
        .ok()
        .and_then(|b| serde_yaml::from_slice(&b).ok())
        .unwrap_or_default();
    let defaults = crate::config::spec::ReportsSpec::default();
    let branch = raw["reports"]["branch"].as_str().unwrap_or(&defaults.branch).to_owned();
    let folder = raw["reports"]["path"].as_str().unwrap_or(&defaults.path).to_owned();
    let status = serde_json::json!({
        "status": "invalid_config",
        "revision": revision,
        "errors": diagnostics
            .iter()
            .map(|d| serde_json::json!({
                "file": d.file, "line": d.line, "column": d.column, "message": d.message, "hint": d.hint,
            }))
            .collect::<Vec<_>>(),
    });
    let mut bytes = serde_json::to_vec_pretty(&status)?;
    bytes.push(b'\n');
    // Without the run lease (no run happens): on top of the remote's branch as it is, and
    // a push the remote refuses (the holder pushed meanwhile) is left to the next run.
    let mirror = remote.as_ref().map(|(url, path)| Mirror::open(url, path)).transpose()?;
    if let Some(m) = &mirror {
        m.fetch_branch(&branch)?;
        m.adopt_reports(&branch)?;
        m.reconcile_reports(&branch)?;
    }
    let reports = crate::git::reports::ReportsBranch::open(dir, &branch, &folder)?;
    let short = &revision[..revision.len().min(12)];
    let commit = crate::git::reports::ReportCommit {
        files: vec![("status.json".to_owned(), bytes)],
        replace: Vec::new(),
        subject: format!("Config at {short} is not valid: nothing was planned"),
        trailers: vec![("Config-Revision", revision.to_owned())],
        time: now.as_second(),
    };
    if reports.commit(&commit)?.is_some()
        && let Some(m) = &mirror
        && let crate::git::remote::Pushed::Refused(why) = m.push_branch(&branch)?
    {
        tracing::warn!(why = %why, "the remote moved while the invalid config was recorded; the next run records it");
        m.reconcile_reports(&branch)?;
    }
    Ok(())
}

/// Warns when the reports branch holds commits older than `reports.retention`: the
/// daemon never rewrites history; `hrsync reports prune`, run from cron or CI, does.
fn warn_overdue(dir: &Path, workspace: &crate::config::Workspace, now: Timestamp) {
    let reports = &workspace.reports;
    let Some(retention) = reports.retention else { return };
    let Some(cutoff) = retention.cutoff(now, &workspace.timezone) else { return };
    let survey = Pruner::open(dir, &reports.branch).and_then(|p| p.survey(cutoff.as_second()));
    match survey {
        Ok(survey) if survey.dropped() > 0 => tracing::warn!(
            branch = %reports.branch,
            older = survey.dropped(),
            retention_days = retention.days,
            before = %cutoff,
            "the reports branch holds commits older than reports.retention: run `hrsync reports prune` from cron or CI (the daemon never rewrites history)"
        ),
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %error_chain(&e), "cannot check the reports branch against reports.retention")
        }
    }
}

/// The clock, read here at the daemon's edge and handed to each run as data.
#[allow(clippy::disallowed_methods)]
pub(super) fn wall_clock() -> Timestamp {
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
    fn a_repository_url_is_shown_without_its_credentials() {
        assert_eq!(
            shown_url("https://x-access-token:ghp_SECRET@github.com/acme/sync.git#idm"),
            "https://github.com/acme/sync.git#idm"
        );
        assert_eq!(shown_url("https://user@git.acme.example/a@b.git"), "https://git.acme.example/a@b.git");
        assert_eq!(shown_url("git@github.com:acme/sync.git"), "git@github.com:acme/sync.git");
        assert_eq!(shown_url("ssh://git@host:2222/x.git"), "ssh://host:2222/x.git");
        assert_eq!(shown_url("path/to/repo"), "path/to/repo");
    }

    #[test]
    fn failed_runs_are_retried_after_a_minute_then_longer_up_to_the_interval() {
        let hour = Duration::from_secs(3600);
        let waits: Vec<u64> = (0..8).map(|n| retry_wait(n, hour).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(retry_wait(u32::MAX, hour).as_secs(), 3600, "no overflow");
        assert_eq!(retry_wait(3, Duration::from_secs(10)).as_secs(), 60, "a minute at least");
    }

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
