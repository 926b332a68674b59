//! The command line: argument definitions (`args`), one file per command, and the
//! helpers they share (opening the sync repository, the clock, where output goes).
//!
//! Commands print their result on stdout (plans, job results, schemas) and everything
//! else (logs, diagnostics, errors) on stderr. Each returns an exit code: 0 success,
//! 1 error, and for `plan --detailed-exitcode` 2 when there are changes. Errors that
//! stop a command go back to `main` as `anyhow` errors with context.

mod apply;
mod args;
mod daemon;
mod explain;
mod plan;
mod preview;
mod reports;
mod run;
mod schema;
mod validate;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use jiff::Timestamp;

pub use args::{Cli, LogFormat};
use args::{Command, Global, PiiArg};

use crate::config::files::{RepoFiles, WorkTree};
use crate::config::{self};
use crate::daemon::host::is_remote;
use crate::git::GitTree;
use crate::model::PlanId;
use crate::plan::pii::Pii;
use crate::plan::render::Format;
use crate::run::{Run, ShowProgress};

/// Runs the command.
pub fn execute(cli: Cli) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(cli))
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    let g = &global(&cli)?;
    match &cli.command {
        Command::Schema { out, check, .. } => schema::schema(g, out, *check),
        Command::Validate { online, .. } => validate::validate(g, *online).await,
        Command::Explain { person, directory, format, offline, pii, .. } => {
            explain::explain(g, person, directory.as_deref(), *format, *offline, *pii).await
        }
        Command::Preview { source, directory, pii, .. } => {
            preview::preview(g, source.as_deref(), directory.as_deref(), *pii).await
        }
        Command::Plan { base, directory, format, out, detailed_exitcode, pii, unchanged, .. } => {
            if let Some(base) = base {
                if Format::from(*format) != Format::Markdown {
                    bail!("`--base` writes a review for people: leave out `--format`");
                }
                return plan::review(g, base, directory.as_deref(), out.as_deref(), *detailed_exitcode, *pii)
                    .await;
            }
            let output = plan::PlanOutput {
                format: (*format).into(),
                out: out.as_deref(),
                detailed: *detailed_exitcode,
                pii: *pii,
                unchanged: *unchanged,
            };
            plan::plan(g, directory.as_deref(), output).await
        }
        Command::Apply { plan, approve, directory, pii, show_plan, out, .. } => {
            let output = apply::ApplyOutput { pii: *pii, show_plan: *show_plan, out: out.as_deref() };
            apply::apply(g, plan.as_deref(), approve, directory.as_deref(), output).await
        }
        Command::Run { source, dry_run, approve, pii, .. } => {
            run::run(g, source.clone(), *dry_run, approve, *pii).await
        }
        Command::Daemon { once, branch, listen, lease, .. } => {
            daemon::daemon(g, *once, branch.as_deref(), listen.as_deref(), *lease).await
        }
        Command::Reports { command, .. } => reports::reports(g, command),
    }
}

/// What the command runs with: each repository option as given after the command, else
/// before it, else from its environment variable (an empty one counts as unset), else
/// its default. `schema` reads no repository: those options are an error there, not
/// silently ignored.
fn global(cli: &Cli) -> Result<Global> {
    let given = cli.command.repo_args().or(&cli.before);
    if matches!(cli.command, Command::Schema { .. }) {
        let flags: Vec<String> = given.given().iter().map(|f| format!("`{f}`")).collect();
        if let Some((last, rest)) = flags.split_last() {
            let (list, verb) = match rest {
                [] => (last.clone(), "does"),
                _ => (format!("{} and {last}", rest.join(", ")), "do"),
            };
            bail!(
                "{list} {verb} not apply to `hrsync schema`: it writes the schemas of this version of hrsync, whatever the repository"
            );
        }
    }
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let place = given.place;
    Ok(Global {
        repo: place.repo.or_else(|| env("HRSYNC_REPO")).unwrap_or_else(|| ".".to_owned()),
        git_ref: given.git_ref,
        state_dir: place.state_dir.or_else(|| env("HRSYNC_STATE_DIR").map(Into::into)),
        now: place.now.or_else(|| env("HRSYNC_NOW")),
        log_format: cli.log_format(),
    })
}

/// `--now`, or the clock: the one place the command line reads it.
fn parse_now(text: Option<&str>) -> Result<Timestamp> {
    #[allow(clippy::disallowed_methods)] // the edge: the clock is read here, once
    let Some(text) = text else { return Ok(Timestamp::now()) };
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        anyhow!("--now `{text}` is neither an RFC 3339 time (2026-11-22T09:00:00Z) nor a date (2026-11-22)")
    })?;
    Ok(date.at(12, 0, 0, 0).to_zoned(jiff::tz::TimeZone::UTC)?.timestamp())
}

/// The files of the sync repository `--repo` (at `--ref` when given).
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

/// Loads the config; validation problems are printed (as log lines with JSON logs), and
/// the command ends with 1.
fn load(g: &Global, files: &dyn RepoFiles) -> Result<config::Config> {
    Ok(crate::run::load_config(files, g.log_format == LogFormat::Json)?)
}

/// An error for people on stderr, `error: …`; with JSON logs, an ERROR log line like
/// every other line there.
fn error_line(g: &Global, text: &str) {
    match g.log_format {
        LogFormat::Human => eprintln!("error: {text}"),
        LogFormat::Json => tracing::error!("{text}"),
    }
}

/// A warning for people on stderr, `warning: …`; with JSON logs, a WARN log line.
fn warning_line(g: &Global, text: &str) {
    match g.log_format {
        LogFormat::Human => eprintln!("warning: {text}"),
        LogFormat::Json => tracing::warn!("{text}"),
    }
}

/// The run of `--repo`.
async fn open_run(g: &Global) -> Result<Run> {
    let files = open_files(g)?;
    let config = load(g, files.as_ref())?;
    new_run(g, files, config)
}

/// A run over `config` read from `files`, with the state directory and clock of `g`, and
/// its progress shown as a bar on a terminal, as log lines elsewhere and with JSON logs.
fn new_run(g: &Global, files: Arc<dyn RepoFiles>, config: config::Config) -> Result<Run> {
    let progress = match g.log_format {
        LogFormat::Human => ShowProgress::Auto,
        LogFormat::Json => ShowProgress::Log,
    };
    Ok(Run::open(files, config, g.state_dir.clone(), parse_now(g.now.as_deref())?, progress)?)
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

/// How an output shows personal data: `--pii`, or `reports.pii`.
fn pii(run: &Run, arg: Option<PiiArg>) -> Result<Pii> {
    Ok(run.pii(arg.map(Into::into))?)
}

/// The plan ids of `--approve`; a text that is not a plan id is an error (exit 1), not an
/// approval that silently matches nothing.
fn approvals(approve: &[String]) -> Result<BTreeSet<PlanId>> {
    approve.iter().map(|id| PlanId::new(id).context("check the id given with `--approve`")).collect()
}
