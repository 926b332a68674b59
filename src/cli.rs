//! The command line: argument parsing and one function per command.
//!
//! Commands print their result on stdout (plans, job results, schemas) and everything
//! else (logs, diagnostics, errors) on stderr. Each returns an exit code: 0 success,
//! 1 error, and for `plan --detailed-exitcode` 2 when there are changes. Errors that
//! stop a command go back to `main` as `anyhow` errors with context.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use jiff::Timestamp;

use crate::config::files::{RepoFiles, WorkTree};
use crate::config::schema::DocumentKind;
use crate::config::{self, ConfigError, Mode, PiiSpec};
use crate::directory;
use crate::git::GitTree;
use crate::model::PlanId;
use crate::model::filter;
use crate::plan::pii::Pii;
use crate::plan::render::{self, Format};
use crate::plan::{Plan, PlanStatus};
use crate::report::JobStatus;
use crate::run::{JobOptions, PlanOptions, Run};
use crate::state::StateStore;

/// hrsync keeps directories in step with HR systems, declared in a git repository.
#[derive(Debug, Parser)]
#[command(name = "hrsync", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
struct Global {
    /// The sync repository: a folder holding hrsync.yaml.
    #[arg(long, global = true, default_value = ".", env = "HRSYNC_REPO", value_name = "DIR")]
    repo: String,
    /// Read the sync repository at this git revision instead of the working tree.
    #[arg(long = "ref", global = true, value_name = "REV")]
    git_ref: Option<String>,
    /// Where run state and the embedded directory are kept [default: <repo>/.hrsync].
    #[arg(long, global = true, env = "HRSYNC_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Evaluate effective dates as of this time instead of now: an RFC 3339 time, or a
    /// date (read as noon UTC). For replays and tests.
    #[arg(long, global = true, env = "HRSYNC_NOW", value_name = "TIME")]
    now: Option<String>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// More logs: -v for progress, -vv for details.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// Log formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people.
    Human,
    /// One JSON object per line.
    Json,
}

/// Personal data policy of an output, overriding `reports.pii`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum PiiArg {
    Full,
    Masked,
    Hashed,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the sync repository: every problem, with file, line and a hint.
    Validate {
        /// Also read every source and the first page of every directory.
        #[arg(long)]
        online: bool,
    },
    /// Write the JSON Schema of each document kind.
    Schema {
        /// The folder to write to.
        #[arg(long, default_value = "schema", value_name = "DIR")]
        out: PathBuf,
        /// Only check that the folder is up to date; exit 1 if not.
        #[arg(long)]
        check: bool,
    },
    /// List who is included and excluded, and by which rule.
    Preview {
        /// Only this source.
        #[arg(long, value_name = "ID")]
        source: Option<String>,
        /// Also apply this directory's filters.
        #[arg(long, value_name = "ID")]
        directory: Option<String>,
        /// How personal data is shown [default: reports.pii of hrsync.yaml].
        #[arg(long, value_enum)]
        pii: Option<PiiArg>,
    },
    /// Show what would change in each directory, and why.
    Plan {
        /// Compare with the plan of this revision (plan-only review of a pull request).
        #[arg(long, value_name = "REV")]
        base: Option<String>,
        /// Only this directory.
        #[arg(long, value_name = "ID")]
        directory: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Markdown)]
        format: Format,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Exit 0 when nothing changes, 2 when something does, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// How personal data is shown [default: reports.pii of hrsync.yaml].
        #[arg(long, value_enum)]
        pii: Option<PiiArg>,
        /// Also list the people whose entries are up to date (counted either way).
        #[arg(long)]
        unchanged: bool,
    },
    /// Apply the plan to directories in mode `apply`.
    Apply {
        /// A plan saved with `hrsync plan --format json --out FILE`: refused if the live
        /// state it was computed against has changed.
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// Approve a plan blocked by the safety limits, by its id.
        #[arg(long, value_name = "ID")]
        approve: Vec<PlanId>,
        /// Only this directory.
        #[arg(long, value_name = "ID")]
        directory: Option<String>,
        /// How personal data is shown [default: reports.pii of hrsync.yaml].
        #[arg(long, value_enum)]
        pii: Option<PiiArg>,
    },
    /// The sync job: read sources, plan and apply every directory, print the job result.
    Run {
        /// Only read this source; the others take part with their last good read.
        #[arg(long, value_name = "ID")]
        source: Option<String>,
        /// Read and plan, but write nothing anywhere.
        #[arg(long)]
        dry_run: bool,
        /// Approve a plan blocked by the safety limits, by its id.
        #[arg(long, value_name = "ID")]
        approve: Vec<PlanId>,
    },
    /// The GitOps loop: plan, commit the plan to the reports branch, apply, commit the
    /// result. Only `--once` is built yet; watching is not.
    Daemon {
        /// Run one cycle and exit.
        #[arg(long)]
        once: bool,
        /// The branch (or revision) whose config is used [default: HEAD].
        #[arg(long)]
        branch: Option<String>,
        /// Address of the status endpoints.
        #[arg(long)]
        listen: Option<String>,
    },
}

impl Cli {
    /// The log format asked for.
    pub fn log_format(&self) -> LogFormat {
        self.global.log_format
    }

    /// The verbosity asked for. The watching daemon tells what it does by default.
    pub fn verbosity(&self) -> u8 {
        match self.command {
            Command::Daemon { once: false, .. } => self.global.verbose.max(1),
            _ => self.global.verbose,
        }
    }
}

/// Runs the command.
pub fn execute(cli: Cli) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let g = &cli.global;
    match &cli.command {
        Command::Schema { out, check } => schema(out, *check),
        Command::Validate { online } => validate(g, *online).await,
        Command::Preview { source, directory, pii } => {
            preview(g, source.as_deref(), directory.as_deref(), *pii).await
        }
        Command::Plan { base, directory, format, out, detailed_exitcode, pii, unchanged } => {
            if let Some(base) = base {
                if *format != Format::Markdown {
                    bail!("`--base` writes a review for people: leave out `--format`");
                }
                return review(g, base, directory.as_deref(), out.as_deref(), *detailed_exitcode, *pii).await;
            }
            let output = PlanOutput {
                format: *format,
                out: out.as_deref(),
                detailed: *detailed_exitcode,
                pii: *pii,
                unchanged: *unchanged,
            };
            plan(g, directory.as_deref(), output).await
        }
        Command::Apply { plan, approve, directory, pii } => {
            apply(g, plan.as_deref(), approve, directory.as_deref(), *pii).await
        }
        Command::Run { source, dry_run, approve } => run(g, source.clone(), *dry_run, approve).await,
        Command::Daemon { once: true, branch, listen: None } => daemon_once(g, branch.as_deref()).await,
        Command::Daemon { once: false, branch, listen } => {
            daemon_watch(g, branch.as_deref(), listen.as_deref()).await
        }
        Command::Daemon { once: true, listen: Some(_), .. } => {
            bail!("`--listen` serves a watching daemon; leave it out with `--once`")
        }
    }
}

/// One daemon cycle on the config at `rev`: the cycle, and when the next scheduled
/// run is due.
async fn one_cycle(g: &Global, rev: &str) -> Result<(crate::daemon::Cycle, std::time::Duration, String)> {
    if g.git_ref.is_some() {
        bail!("the daemon reads the config of `--branch`, not `--ref`");
    }
    let mirror = remote_mirror(g)?;
    if let Some(m) = &mirror {
        m.fetch().with_context(|| format!("cannot fetch {}", g.repo))?;
    }
    let (dir, tree) = match &mirror {
        Some(m) => {
            let folder = g.repo.split_once('#').map(|(_, f)| f).unwrap_or_default();
            let tree = GitTree::open_bare(m.path(), folder, &crate::git::remote::Mirror::tracked(rev));
            (m.path().to_owned(), tree)
        }
        None => (PathBuf::from(&g.repo), GitTree::open(Path::new(&g.repo), rev)),
    };
    let files: Arc<dyn RepoFiles> = Arc::new(tree.with_context(|| {
        format!("the daemon reads the sync repository from git; is `{}` inside a git repository?", g.repo)
    })?);
    let revision = files.revision().unwrap_or_default();
    let config = load(files.as_ref())?;
    let run = new_run(g, files, config, false)?;
    let _lock = run.store.lock()?;
    let pii = pii(&run, None)?;
    let branch = &run.config.workspace.reports.branch;
    if let Some(m) = &mirror {
        m.adopt_reports(branch)?;
    }
    // A remote's reports branch is pushed after each commit, so a plan is published
    // before it is applied, and once more at the end for what an earlier run could not.
    let remote =
        mirror.as_ref().map(|m| (g.repo.split_once('#').map_or(g.repo.as_str(), |(url, _)| url), m.path()));
    let publish = || match remote {
        Some((url, path)) => crate::git::remote::Mirror::open(url, path)?.push_reports(branch),
        None => Ok(()),
    };
    let cycle = crate::daemon::cycle(&run, &dir, &revision, pii, &publish).await?;
    if let Some(m) = &mirror {
        m.push_reports(branch).with_context(|| format!("cannot push `{branch}` to {}", g.repo))?;
    }
    // Plain lines for people; with JSON logs, log lines like the rest.
    let json = g.log_format == LogFormat::Json;
    if cycle.commits.is_empty() {
        if json {
            tracing::info!(branch = %branch, "nothing changed: no commit");
        } else {
            eprintln!("nothing changed: no commit to `{branch}`");
        }
    }
    for (oid, subject) in &cycle.commits {
        if json {
            tracing::info!(branch = %branch, commit = %oid, subject = %subject, "committed");
        } else {
            eprintln!("committed {} to `{branch}`: {subject}", &oid.to_string()[..12]);
        }
    }
    let wait = next_run(run.config.workspace.schedule.as_ref(), Timestamp::now());
    Ok((cycle, wait, revision))
}

/// The mirror of `--repo` when it is a remote URL (kept in the state directory).
fn remote_mirror(g: &Global) -> Result<Option<crate::git::remote::Mirror>> {
    if !is_remote(&g.repo) {
        return Ok(None);
    }
    let Some(state) = &g.state_dir else {
        bail!(
            "with a remote `--repo`, give `--state-dir` too: it keeps the mirror of the repository and the run state"
        );
    };
    // `URL#folder`: the sync repository is that folder of the remote repository.
    let url = g.repo.split_once('#').map_or(g.repo.as_str(), |(url, _)| url);
    Ok(Some(crate::git::remote::Mirror::open(url, &state.join("repository.git"))?))
}

fn is_remote(repo: &str) -> bool {
    repo.contains("://") || repo.starts_with("git@")
}

/// How long until the next scheduled run: at `start` plus a whole number of intervals
/// (or one interval from now without a start); an hour without a schedule.
fn next_run(schedule: Option<&config::Schedule>, now: Timestamp) -> std::time::Duration {
    let Some(s) = schedule else { return std::time::Duration::from_secs(3600) };
    let interval = s.interval.as_secs().max(1);
    let wait = match s.start {
        Some(start) if start > now => start.as_second() - now.as_second(),
        Some(start) => interval - (now.as_second() - start.as_second()) % interval,
        None => interval,
    };
    std::time::Duration::from_secs(wait.max(1).unsigned_abs())
}

/// How often a watching daemon fetches a remote repository (a webhook fetches at once).
const FETCH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

async fn daemon_once(g: &Global, branch: Option<&str>) -> Result<ExitCode> {
    let default = if is_remote(&g.repo) { "main" } else { "HEAD" };
    let (cycle, _, _) = one_cycle(g, branch.unwrap_or(default)).await?;
    println!("{}", serde_json::to_string_pretty(&cycle.result)?);
    Ok(if cycle.result.status == JobStatus::Failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn daemon_watch(g: &Global, branch: Option<&str>, listen: Option<&str>) -> Result<ExitCode> {
    // Track the branch checked out now, not whatever HEAD later points to; for a remote,
    // `main` unless told otherwise.
    let (watch_dir, watched, branch) = match remote_mirror(g)? {
        Some(mirror) => {
            let branch = branch.unwrap_or("main").to_owned();
            mirror.fetch().with_context(|| format!("cannot fetch {}", g.repo))?;
            // Fetch on an interval: the fetched refs move, and the watcher sees them.
            let url = g.repo.split_once('#').map_or(g.repo.as_str(), |(url, _)| url).to_owned();
            let path = mirror.path().to_owned();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(FETCH_INTERVAL).await;
                    let (url, path) = (url.clone(), path.clone());
                    let fetched = tokio::task::spawn_blocking(move || {
                        crate::git::remote::Mirror::open(&url, &path).and_then(|m| m.fetch())
                    })
                    .await;
                    if let Ok(Err(e)) = fetched {
                        tracing::warn!(error = %crate::apply::error_chain(&e), "fetch failed");
                    }
                }
            });
            (mirror.path().to_owned(), crate::git::remote::Mirror::tracked(&branch), branch)
        }
        None => {
            let branch = match branch {
                Some(b) => b.to_owned(),
                None => {
                    let repo = git2::Repository::discover(&g.repo)
                        .with_context(|| format!("`{}` is not inside a git repository", g.repo))?;
                    let head = repo.find_reference("HEAD")?;
                    head.symbolic_target()
                        .ok()
                        .flatten()
                        .map(str::to_owned)
                        .unwrap_or_else(|| "HEAD".to_owned())
                }
            };
            (PathBuf::from(&g.repo), branch.clone(), branch)
        }
    };
    tracing::info!(branch = %branch, repo = %g.repo, "watching");
    let (trigger, triggers) = tokio::sync::mpsc::unbounded_channel();
    let secret =
        |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty()).map(crate::config::Secret::new);
    let shared = crate::endpoints::Shared::new(
        &branch,
        trigger,
        secret("HRSYNC_RUNS_TOKEN"),
        secret("HRSYNC_WEBHOOK_SECRET"),
    );
    if let Some(addr) = listen {
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(addr = %listener.local_addr()?, "serving /healthz, /readyz, /metrics, /status, /runs, /hooks/git");
        let app = crate::endpoints::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "the HTTP endpoints stopped");
            }
        });
    }
    crate::daemon::watch(&watch_dir, &watched, triggers, || async {
        let started = std::time::Instant::now();
        let outcome = one_cycle(g, &branch).await;
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok((cycle, wait, revision)) => {
                tracing::info!(status = ?cycle.result.status, commits = cycle.commits.len(), "run finished");
                let next = Timestamp::now() + jiff::SignedDuration::try_from(wait).unwrap_or_default();
                shared.finished(Some(revision), Ok(&cycle.result), seconds, next);
                wait
            }
            Err(e) => {
                let error = crate::apply::error_chain(e.as_ref());
                tracing::error!(error = %error, "run failed");
                let wait = std::time::Duration::from_secs(60);
                let next = Timestamp::now() + jiff::SignedDuration::from_secs(60);
                shared.finished(None, Err(error), seconds, next);
                wait
            }
        }
    })
    .await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

fn parse_now(text: Option<&str>) -> Result<Timestamp> {
    let Some(text) = text else { return Ok(Timestamp::now()) };
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        anyhow!("--now `{text}` is neither an RFC 3339 time (2026-11-22T09:00:00Z) nor a date (2026-11-22)")
    })?;
    Ok(date.at(12, 0, 0, 0).to_zoned(jiff::tz::TimeZone::UTC)?.timestamp())
}

fn open_files(g: &Global) -> Result<Arc<dyn RepoFiles>> {
    if is_remote(&g.repo) {
        bail!(
            "`--repo {}` is a remote repository, which only `hrsync daemon` follows. Clone it and pass the folder.",
            g.repo
        );
    }
    let dir = Path::new(&g.repo);
    if !dir.is_dir() {
        bail!("`--repo {}` is not a folder", g.repo);
    }
    Ok(match &g.git_ref {
        Some(rev) => Arc::new(GitTree::open(dir, rev)?),
        None => Arc::new(WorkTree::new(dir)),
    })
}

/// An error already shown to the user (the diagnostics of an invalid repository):
/// `main` exits 1 without printing it again.
#[derive(Debug, thiserror::Error)]
#[error("the sync repository is not valid")]
pub struct AlreadyReported;

/// Loads the config; validation problems are printed, and the command ends with 1.
fn load(files: &dyn RepoFiles) -> Result<config::Config> {
    match config::load(files) {
        Ok(c) => Ok(c),
        Err(ConfigError::Invalid(diags)) => {
            eprintln!("{diags}");
            Err(AlreadyReported.into())
        }
        Err(e) => Err(e.into()),
    }
}

async fn open_run(g: &Global) -> Result<Run> {
    let files = open_files(g)?;
    let config = load(files.as_ref())?;
    new_run(g, files, config, true)
}

/// A run over `config` read from `files`, with the state directory and clock of `g`.
fn new_run(g: &Global, files: Arc<dyn RepoFiles>, config: config::Config, progress: bool) -> Result<Run> {
    let state_dir = g.state_dir.clone().unwrap_or_else(|| files.root().join(".hrsync"));
    // The pii_key, when there is one, keys the leaver timers as well as the reports.
    let timer_secret = match &config.workspace.reports.pii_key {
        Some(key) => {
            Some(key.resolve().context("cannot read reports.pii_key (it keys the leaver timers too)")?)
        }
        None => None,
    };
    Ok(Run {
        config,
        files,
        store: StateStore::new(state_dir),
        now: parse_now(g.now.as_deref())?,
        progress,
        timer_secret,
    })
}

/// Writes `text` to `out`, or to standard output.
fn emit(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

fn pii(run: &Run, arg: Option<PiiArg>) -> Result<Pii> {
    let mode = match arg {
        Some(PiiArg::Full) => PiiSpec::Full,
        Some(PiiArg::Masked) => PiiSpec::Masked,
        Some(PiiArg::Hashed) => PiiSpec::Hashed,
        None => run.config.workspace.reports.pii,
    };
    Ok(match mode {
        PiiSpec::Full => Pii::Full,
        PiiSpec::Masked => Pii::Masked,
        PiiSpec::Hashed => {
            let key = run
                .config
                .workspace
                .reports
                .pii_key
                .as_ref()
                .ok_or_else(|| anyhow!("`pii: hashed` needs `reports.pii_key` in hrsync.yaml"))?;
            Pii::Hashed(key.resolve().context("cannot read reports.pii_key")?)
        }
    })
}

fn schema(out: &Path, check: bool) -> Result<ExitCode> {
    let mut stale = Vec::new();
    for kind in DocumentKind::ALL {
        let path = out.join(kind.schema_file());
        let text = kind.schema_text().with_context(|| format!("cannot render {}", kind.schema_file()))?;
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    if stale.is_empty() {
        if check {
            println!("{} is up to date", out.display());
        }
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "stale or missing: {}\nrun `hrsync schema --out {}` and commit the result",
            stale.join(", "),
            out.display()
        );
        Ok(ExitCode::FAILURE)
    }
}

async fn validate(g: &Global, online: bool) -> Result<ExitCode> {
    let files = open_files(g)?;
    let config = load(files.as_ref())?;
    let n = |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    println!(
        "ok: workspace `{}` in {}: {}, {}, {}",
        config.workspace.name,
        files.describe(),
        n(config.sources.len(), "source"),
        n(config.directories.len(), "directory").replace("directorys", "directories"),
        n(config.filters.len(), "filter")
    );
    if !online {
        return Ok(ExitCode::SUCCESS);
    }
    let run = new_run(g, files, config, true)?;
    let state = run.store.load()?;
    let gathered = run.gather(None, &state).await?;
    let mut failed = false;
    for s in &gathered.sources {
        match &s.outcome {
            crate::run::SourceOutcome::Failed(reason) => {
                failed = true;
                println!("source `{}`: FAILED: {reason}", s.id);
            }
            other => println!(
                "source `{}`: {}",
                s.id,
                match other {
                    crate::run::SourceOutcome::Read =>
                        format!("ok, {} people", s.records.as_ref().map_or(0, |r| r.people.len())),
                    crate::run::SourceOutcome::Disabled => "disabled".into(),
                    crate::run::SourceOutcome::Skipped(r) => format!("skipped: {r}"),
                    _ => String::new(),
                }
            ),
        }
    }
    for d in &run.config.directories {
        let dir = directory::build(d, run.store.dir());
        // The schema first: a read that selects an unknown attribute may fail on it.
        let checked = match dir.schema_problems().await {
            Ok(Some(problems)) if !problems.is_empty() => Ok((0, Some(problems))),
            Ok(problems) => dir.read_page(None).await.map(|page| (page.entries.len(), problems)),
            Err(e) => Err(e),
        };
        match checked {
            Ok((n, None)) => {
                println!("directory `{}`: ok, first page has {n} entries (no schema to check against)", d.id)
            }
            Ok((n, Some(problems))) if problems.is_empty() => println!(
                "directory `{}`: ok, first page has {n} entries, every mapped attribute is in its schema",
                d.id
            ),
            Ok((_, Some(problems))) => {
                failed = true;
                println!("directory `{}`: FAILED: its schema lacks what hrsync would write", d.id);
                for p in problems {
                    println!("  - {p}");
                }
            }
            Err(e) => {
                failed = true;
                println!("directory `{}`: FAILED: {}", d.id, crate::apply::error_chain(&e));
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn preview(
    g: &Global,
    source: Option<&str>,
    directory: Option<&str>,
    pii_arg: Option<PiiArg>,
) -> Result<ExitCode> {
    let run = open_run(g).await?;
    let pii = pii(&run, pii_arg)?;
    let state = run.store.load()?;
    let gathered = run.gather(source, &state).await?;
    let dir_filters: Vec<&filter::Filter> = match directory {
        Some(id) => {
            let d = run.directories(Some(id))?.remove(0);
            d.filters.iter().filter_map(|f| run.config.filters.get(f)).collect()
        }
        None => Vec::new(),
    };
    let mut out = String::new();
    writeln!(out, "| person | name | sources | decision |")?;
    writeln!(out, "|---|---|---|---|")?;
    let (mut included, mut excluded) = (0, 0);
    for p in &gathered.population.people {
        if source.is_some_and(|s| !p.records.iter().any(|r| r.source.as_str() == s)) {
            continue;
        }
        let decision = if p.decision.is_included() {
            filter::decide(dir_filters.iter().copied(), p)
        } else {
            p.decision.clone()
        };
        if decision.is_included() {
            included += 1
        } else {
            excluded += 1
        }
        let name = match (&p.person.first_name, &p.person.last_name) {
            (Some(f), Some(l)) => pii.value(&format!("{f} {l}")),
            (Some(n), None) | (None, Some(n)) => pii.value(n),
            (None, None) => String::new(),
        };
        let sources: Vec<String> = p.sources().iter().map(|s| s.to_string()).collect();
        let mut decision = decision.to_string();
        if let Some(a) = &p.ambiguity {
            write!(decision, " (ambiguous: {a})")?;
        }
        writeln!(
            out,
            "| `{}` | {name} | {} | {} |",
            pii.key(&p.key),
            sources.join(", "),
            decision.replace('|', "\\|")
        )?;
    }
    writeln!(out, "\n{included} included, {excluded} excluded.")?;
    let skipped: Vec<_> =
        gathered.sources.iter().flat_map(|s| s.skipped.iter().map(move |r| (s.id.clone(), r))).collect();
    if !skipped.is_empty() {
        writeln!(out, "\nSkipped rows:\n")?;
        for (id, r) in skipped {
            writeln!(out, "- `{id}` {r}")?;
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// How `hrsync plan` writes its result.
struct PlanOutput<'a> {
    format: Format,
    out: Option<&'a Path>,
    detailed: bool,
    pii: Option<PiiArg>,
    unchanged: bool,
}

/// `plan --base`: what the config of `--ref` (or the working tree) does compared with
/// the config of `base`, against the same live directories at the same time.
async fn review(
    g: &Global,
    base: &str,
    directory: Option<&str>,
    out: Option<&Path>,
    detailed: bool,
    pii_arg: Option<PiiArg>,
) -> Result<ExitCode> {
    let head = open_run(g).await?;
    let base_files: Arc<dyn RepoFiles> = Arc::new(
        GitTree::open(Path::new(&g.repo), base)
            .with_context(|| format!("cannot read `--base {base}` from git"))?,
    );
    let base_config =
        load(base_files.as_ref()).with_context(|| format!("the config at `{base}` is not valid"))?;
    let base_run = Run {
        config: base_config,
        files: base_files,
        store: StateStore::new(head.store.dir().to_owned()),
        now: head.now,
        progress: false,
        timer_secret: head.timer_secret.clone(),
    };
    let pii = pii(&head, pii_arg)?;
    let (head_plans, head_errors) = plans_of(&head, directory, false).await?;
    let only = directory.filter(|d| base_run.config.directories.iter().any(|c| c.id.as_str() == *d));
    let (base_plans, base_errors) = if directory.is_some() && only.is_none() {
        (Vec::new(), Vec::new())
    } else {
        plans_of(&base_run, only, false).await?
    };
    let (text, differs) = crate::plan::render::review::review(&base_plans, &head_plans, &pii);
    emit(out, &text)?;
    for e in &head_errors {
        eprintln!("error: {e}");
    }
    for e in &base_errors {
        eprintln!("error (on `{base}`): {e}");
    }
    Ok(if !head_errors.is_empty() {
        ExitCode::FAILURE
    } else if detailed && differs {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// The plans of `run`'s directories (or of `directory`), and the errors of those that
/// could not be planned.
async fn plans_of(run: &Run, directory: Option<&str>, unchanged: bool) -> Result<(Vec<Plan>, Vec<String>)> {
    let state = run.store.load()?;
    let gathered = run.gather(None, &state).await?;
    let mut plans: Vec<Plan> = Vec::new();
    let mut errors = Vec::new();
    for d in run.directories(directory)? {
        let planned = run
            .plan(&gathered, d, &state, &PlanOptions { list_unchanged: unchanged, ..Default::default() })
            .await;
        match planned.plan {
            Ok(p) => plans.push(p),
            Err(e) => {
                let chain = crate::apply::error_chain(&e);
                // Most errors name their directory already.
                let named = chain.contains(&format!("directory `{}`", d.id));
                errors.push(if named { chain } else { format!("directory `{}`: {chain}", d.id) });
            }
        }
    }
    Ok((plans, errors))
}

async fn plan(g: &Global, directory: Option<&str>, output: PlanOutput<'_>) -> Result<ExitCode> {
    let PlanOutput { format, out, detailed, pii: pii_arg, unchanged } = output;
    let run = open_run(g).await?;
    let pii = pii(&run, pii_arg)?;
    let (plans, errors) = plans_of(&run, directory, unchanged).await?;
    let text = match format {
        Format::Markdown => {
            plans.iter().map(|p| render::render(p, Format::Markdown, &pii)).collect::<Vec<_>>().join("\n")
        }
        Format::Json => {
            let redacted: Vec<Plan> = plans.iter().map(|p| crate::plan::pii::redact(p, &pii)).collect();
            let mut text = serde_json::to_string_pretty(&redacted)?;
            text.push('\n');
            text
        }
    };
    emit(out, &text)?;
    for e in &errors {
        eprintln!("error: {e}");
    }
    let failed = !errors.is_empty() || plans.iter().any(|p| p.status == PlanStatus::Failed);
    Ok(if failed {
        ExitCode::FAILURE
    } else if detailed && plans.iter().any(Plan::has_changes) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads the plans of a file written by `hrsync plan --format json` (an array) or a
/// report's `plan.json` (one plan).
fn read_saved_plans(path: &Path) -> Result<Vec<Plan>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON written by `hrsync plan --format json`", path.display()))?;
    let plans = if value.is_array() {
        serde_json::from_value(value)
    } else {
        serde_json::from_value(value).map(|p| vec![p])
    };
    plans.with_context(|| format!("{} is not a plan written by `hrsync plan --format json`", path.display()))
}

async fn apply(
    g: &Global,
    saved: Option<&Path>,
    approve: &[PlanId],
    directory: Option<&str>,
    pii_arg: Option<PiiArg>,
) -> Result<ExitCode> {
    let run = open_run(g).await?;
    let _lock = run.store.lock()?;
    let pii = pii(&run, pii_arg)?;
    let saved = saved.map(read_saved_plans).transpose()?;
    let approvals: BTreeSet<PlanId> = approve.iter().cloned().collect();
    let mut state = run.store.load()?;
    let previous = state.clone();
    let gathered = run.gather(None, &state).await?;
    let mut ok = true;
    let selected = match (&saved, directory) {
        (Some(plans), None) => plans
            .iter()
            .map(|p| run.directories(Some(p.directory.as_str())).map(|mut d| d.remove(0)))
            .collect::<Result<Vec<_>, _>>()?,
        _ => run.directories(directory)?,
    };
    for d in selected {
        match d.mode {
            Mode::Off => {
                println!("`{}`: mode is off, skipped\n", d.id);
                continue;
            }
            Mode::Plan => {
                eprintln!(
                    "error: directory `{}` is in mode `plan` (simulation): set `mode: apply` in {} to write to it",
                    d.id, d.file
                );
                ok = false;
                continue;
            }
            Mode::Apply => {}
        }
        let planned = run
            .plan(
                &gathered,
                d,
                &previous,
                &PlanOptions { approvals: approvals.clone(), list_unchanged: false },
            )
            .await;
        let plan = planned.plan.with_context(|| format!("cannot plan directory `{}`", d.id))?;
        state.record_timers(&d.id, &plan.timers, run.timer_secret.as_ref())?;
        if let Some(saved) = &saved {
            let Some(wanted) = saved.iter().find(|p| p.directory == d.id) else {
                bail!("the saved plan has no plan for directory `{}`", d.id);
            };
            if wanted.id != plan.id {
                eprintln!(
                    "error: `{}`: refused: the saved plan {} was computed against a state that has changed (the plan now is {}). Review the new plan with `hrsync plan` and apply again.",
                    d.id, wanted.id, plan.id
                );
                ok = false;
                continue;
            }
        }
        print!("{}", render::render(&plan, Format::Markdown, &pii));
        match run.apply(&plan, planned.directory.as_ref(), &mut state).await {
            Err(e) => {
                eprintln!("error: {e}");
                ok = false;
            }
            Ok(applied) => {
                println!(
                    "\nApplied to `{}`: {} created, {} updated, {} disabled, {} deleted, {} failed.\n",
                    d.id, applied.created, applied.updated, applied.disabled, applied.deleted, applied.failed
                );
                for failure in applied.items.iter().filter_map(|i| crate::run::describe_failure(i, &pii)) {
                    eprintln!("error: {failure}");
                }
                for item in &applied.items {
                    for w in &item.warnings {
                        let who = item.person.as_deref().map(|k| pii.key(k)).unwrap_or_default();
                        eprintln!("warning: {} {who}: {w}", item.action.as_str());
                    }
                }
                ok &= applied.failed == 0;
            }
        }
    }
    run.store.save(&state)?;
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn run(g: &Global, source: Option<String>, dry_run: bool, approve: &[PlanId]) -> Result<ExitCode> {
    let run = open_run(g).await?;
    let _lock = if dry_run { None } else { Some(run.store.lock()?) };
    let pii = pii(&run, None)?;
    let options = JobOptions { source, dry_run, approvals: approve.iter().cloned().collect(), pii };
    let result = run.job(&options).await?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(if result.status == JobStatus::Failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn scheduled_runs_fall_on_the_start_plus_whole_intervals() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let hourly = |start: Option<&str>| config::Schedule {
            interval: jiff::SignedDuration::from_hours(1),
            start: start.map(&t),
        };
        let now = t("2026-11-22T09:20:00Z");
        let secs = |d: std::time::Duration| d.as_secs();
        // Aligned on the start: 02:00, 03:00 … → the next is 10:00.
        assert_eq!(secs(next_run(Some(&hourly(Some("2026-01-05T01:00:00Z"))), now)), 40 * 60);
        // A start still ahead is the next run.
        assert_eq!(secs(next_run(Some(&hourly(Some("2026-11-22T12:00:00Z"))), now)), 160 * 60);
        // No start: one interval from now; no schedule: an hour.
        assert_eq!(secs(next_run(Some(&hourly(None)), now)), 3600);
        assert_eq!(secs(next_run(None, now)), 3600);
    }
}
