//! The command line's definitions: every flag and command as clap sees them, with the
//! help text users read. No behaviour here: [`super`] dispatches.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::PiiSpec;
use crate::plan::render::Format;

/// hrsync keeps directories in step with HR systems, declared in a git repository.
#[derive(Debug, Parser)]
#[command(name = "hrsync", version, about, long_about = None, max_term_width = 100)]
pub struct Cli {
    /// The repository options given before the command (`hrsync --repo X plan`).
    #[command(flatten)]
    pub(super) before: RepoArgs,
    #[command(flatten)]
    pub(super) logs: LogArgs,
    #[command(subcommand)]
    pub(super) command: Command,
}

/// Where a command finds the sync repository, its state and its clock: accepted before
/// the command (`hrsync --repo X plan`) and after it (`hrsync plan --repo X`); after it
/// wins. Only the commands that read a repository take them, so `hrsync schema --help`
/// does not offer options that would do nothing there.
#[derive(Clone, Debug, Default, Args)]
pub(super) struct RepoArgs {
    #[command(flatten)]
    pub(super) place: PlaceArgs,
    /// Read the sync repository at this git revision instead of the working tree.
    #[arg(long = "ref", value_name = "REV", help_heading = "Repository")]
    pub(super) git_ref: Option<String>,
}

/// The options of [`RepoArgs`] the daemon takes too (it reads `--branch`, not `--ref`).
#[derive(Clone, Debug, Default, Args)]
pub(super) struct PlaceArgs {
    /// The sync repository: a folder holding hrsync.yaml (for `daemon`, also a remote
    /// git URL, `URL#folder` for a folder of it) [env: HRSYNC_REPO] [default: .]
    #[arg(long, value_name = "DIR", help_heading = "Repository")]
    pub(super) repo: Option<String>,
    /// Where run state and the embedded directory are kept [env: HRSYNC_STATE_DIR]
    /// [default: <repo>/.hrsync]
    #[arg(long, value_name = "DIR", help_heading = "Repository")]
    pub(super) state_dir: Option<PathBuf>,
    /// Evaluate effective dates as of this time instead of now: an RFC 3339 time, or a
    /// date (read as noon UTC). For replays and tests [env: HRSYNC_NOW]
    #[arg(long, value_name = "TIME", help_heading = "Repository")]
    pub(super) now: Option<String>,
}

/// The repository options after `schema`, hidden: they would do nothing there, and are
/// refused with a message that says why.
#[derive(Clone, Debug, Default, Args)]
pub(super) struct RefusedArgs {
    #[arg(long, hide = true)]
    repo: Option<String>,
    #[arg(long = "ref", hide = true)]
    git_ref: Option<String>,
    #[arg(long, hide = true)]
    state_dir: Option<PathBuf>,
    #[arg(long, hide = true)]
    now: Option<String>,
}

/// Options every command takes, anywhere on the line.
#[derive(Debug, Args)]
pub(super) struct LogArgs {
    /// Log format on stderr (logs, diagnostics and errors).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub(super) log_format: LogFormat,
    /// More logs: -v for what each step did, -vv for details.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
}

/// What a command runs with: the repository options (after the command, else before it,
/// else the environment, else the defaults) and the log options.
#[derive(Debug)]
pub(super) struct Global {
    /// `--repo`.
    pub(super) repo: String,
    /// `--ref`.
    pub(super) git_ref: Option<String>,
    /// `--state-dir`.
    pub(super) state_dir: Option<PathBuf>,
    /// `--now`.
    pub(super) now: Option<String>,
    /// `--log-format`.
    pub(super) log_format: LogFormat,
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
pub(super) enum PiiArg {
    Full,
    Masked,
    Hashed,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(super) enum Command {
    /// Check the sync repository: every problem, with file, line and a hint.
    Validate {
        /// Also read every source and the first page of every directory.
        #[arg(long)]
        online: bool,
        #[command(flatten)]
        at: RepoArgs,
    },
    /// Write the JSON Schema of each document kind (those of this version of hrsync,
    /// whatever the repository).
    Schema {
        /// The folder to write to.
        #[arg(long, default_value = "schema", value_name = "DIR")]
        out: PathBuf,
        /// Only check that the folder is up to date; exit 1 if not.
        #[arg(long)]
        check: bool,
        /// Not options of `schema`: accepted only to say so (exit 1, not clap's 2).
        #[command(flatten)]
        refused: RefusedArgs,
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
        #[command(flatten)]
        at: RepoArgs,
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
        #[arg(long, value_enum, default_value_t = FormatArg::Markdown)]
        format: FormatArg,
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
        #[command(flatten)]
        at: RepoArgs,
    },
    /// Apply the plan to directories in mode `apply`.
    Apply {
        /// A plan saved with `hrsync plan --format json --out FILE`: refused if the live
        /// state it was computed against has changed.
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// Approve a plan blocked by the safety limits, by its id.
        #[arg(long, value_name = "ID")]
        approve: Vec<String>,
        /// Only this directory.
        #[arg(long, value_name = "ID")]
        directory: Option<String>,
        /// How personal data is shown [default: reports.pii of hrsync.yaml].
        #[arg(long, value_enum)]
        pii: Option<PiiArg>,
        /// Print each whole plan (Markdown, as `hrsync plan` shows it) instead of its
        /// summary.
        #[arg(long)]
        show_plan: bool,
        /// Also write each whole plan (Markdown) to this file.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        at: RepoArgs,
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
        approve: Vec<String>,
        /// How personal data is shown in the job result [default: reports.pii of hrsync.yaml].
        #[arg(long, value_enum)]
        pii: Option<PiiArg>,
        #[command(flatten)]
        at: RepoArgs,
    },
    /// Why a person has, or has not, an account: each check (sources, values, filters,
    /// overrides, dates, match, plan, fields, last apply) with its fact, and the answer
    /// on top. Reads the sources and directories as `plan` does; changes nothing.
    Explain {
        /// A person key (`germany:10042`), a source record id, an employee number, a
        /// work e-mail, or a directory entry's id or DN.
        #[arg(value_name = "PERSON")]
        person: String,
        /// Only this directory.
        #[arg(long, value_name = "ID")]
        directory: Option<String>,
        /// Text for people (Markdown) or JSON for tools.
        #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
        format: ExplainFormat,
        /// Read no source or directory: the sources' last good reads, each directory's
        /// last plan committed to the reports branch, and the last apply's outcomes.
        #[arg(long)]
        offline: bool,
        /// Personal data in the answer [default: reports.pii]
        #[arg(long, value_enum)]
        pii: Option<PiiArg>,
        #[command(flatten)]
        at: RepoArgs,
    },
    /// The GitOps loop: plan, commit the plan to the reports branch, apply, commit the
    /// result; one cycle with `--once`, else watching the branch until stopped.
    ///
    /// A cycle reads the config committed on the tracked branch (never uncommitted
    /// edits), plans every directory, commits each plan to the reports branch
    /// (`reports.branch` of hrsync.yaml) before applying it, applies the directories in
    /// mode `apply`, and commits the result, the status and the run state. Nothing
    /// changed, nothing committed. The working tree, the index and HEAD are never touched.
    ///
    /// With `--once`: one cycle, its job result on stdout, then exit. Without it, the
    /// daemon runs a cycle at start, then on every new commit of the tracked branch (it
    /// watches the repository's refs), at every `schedule.interval` of hrsync.yaml (an
    /// hour without a schedule), on SIGHUP, and on `POST /runs` or `POST /hooks/git`
    /// with `--listen`; its own commits to the reports branch never start a run. A run
    /// that fails is retried after a minute. SIGTERM or Ctrl-C stops it; a run in
    /// progress finishes first, and a second SIGTERM abandons it.
    ///
    /// `--repo` may be a remote git URL (`URL#folder` for a folder of it), with
    /// `--state-dir`: the daemon keeps a mirror of it there, fetches before every run and
    /// every 30 seconds, and pushes the reports branch after each commit.
    Daemon {
        /// Run one cycle, print its job result, and exit.
        #[arg(long)]
        once: bool,
        /// The branch (or revision) whose config is used [default: the branch checked out
        /// when the daemon starts; `main` for a remote repository].
        #[arg(long, value_name = "REV")]
        branch: Option<String>,
        /// Serve the status page at /, /healthz, /readyz, /metrics, /status, POST /runs
        /// and POST /hooks/git on this address while watching: a port alone (`9090` or
        /// `:9090`) is on loopback (127.0.0.1); give `0.0.0.0:9090` to serve every
        /// interface.
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// How long the run lease lasts unless renewed (`30s`, `2m`): two daemons on one
        /// repository never run at once, and one killed mid-run keeps the other waiting
        /// at most this long.
        #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_lease)]
        lease: std::time::Duration,
        /// Not an option of `daemon`: accepted only to say so.
        #[arg(long = "ref", hide = true)]
        git_ref: Option<String>,
        #[command(flatten)]
        at: PlaceArgs,
    },
    /// The reports branch's history: retention and erasure.
    Reports {
        #[command(flatten)]
        at: RepoArgs,
        #[command(subcommand)]
        command: ReportsCommand,
    },
}

/// The commands of `hrsync reports`.
#[derive(Debug, Subcommand)]
pub(super) enum ReportsCommand {
    /// Rewrite the reports branch without its commits made before a cutoff: the newer
    /// ones stay, with their files, messages, authors and times, on a new root. Never
    /// touches HEAD, the index or the working tree. Run it from cron or CI: the daemon
    /// never rewrites history.
    Prune {
        /// Drop the commits made before this day (YYYY-MM-DD, in the workspace time
        /// zone) or time (RFC 3339) [default: today minus reports.retention.days].
        #[arg(long, value_name = "DATE")]
        before: Option<String>,
        /// Also force-push the rewritten branch (that one ref, with a lease) to `origin`,
        /// or for a remote --repo to that repository (required there).
        #[arg(long)]
        push: bool,
        /// Say what would be kept and dropped, and change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

impl Cli {
    /// The log format asked for.
    pub fn log_format(&self) -> LogFormat {
        self.logs.log_format
    }

    /// The verbosity asked for. The watching daemon tells what it does by default.
    pub fn verbosity(&self) -> u8 {
        match self.command {
            Command::Daemon { once: false, .. } => self.logs.verbose.max(1),
            _ => self.logs.verbose,
        }
    }
}

impl Command {
    /// The repository options given after the command.
    pub(super) fn repo_args(&self) -> RepoArgs {
        match self {
            Command::Schema { refused, .. } => RepoArgs {
                place: PlaceArgs {
                    repo: refused.repo.clone(),
                    state_dir: refused.state_dir.clone(),
                    now: refused.now.clone(),
                },
                git_ref: refused.git_ref.clone(),
            },
            Command::Daemon { at, git_ref, .. } => RepoArgs { place: at.clone(), git_ref: git_ref.clone() },
            Command::Validate { at, .. }
            | Command::Preview { at, .. }
            | Command::Plan { at, .. }
            | Command::Apply { at, .. }
            | Command::Run { at, .. }
            | Command::Explain { at, .. }
            | Command::Reports { at, .. } => at.clone(),
        }
    }
}

impl RepoArgs {
    /// The options given, by their flags.
    pub(super) fn given(&self) -> Vec<&'static str> {
        let p = &self.place;
        [
            ("--repo", p.repo.is_some()),
            ("--ref", self.git_ref.is_some()),
            ("--state-dir", p.state_dir.is_some()),
            ("--now", p.now.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }

    /// These options, each filled in from `before` when not given here.
    pub(super) fn or(self, before: &RepoArgs) -> RepoArgs {
        let (p, b) = (self.place, &before.place);
        RepoArgs {
            place: PlaceArgs {
                repo: p.repo.or_else(|| b.repo.clone()),
                state_dir: p.state_dir.or_else(|| b.state_dir.clone()),
                now: p.now.or_else(|| b.now.clone()),
            },
            git_ref: self.git_ref.or_else(|| before.git_ref.clone()),
        }
    }
}

impl From<PiiArg> for PiiSpec {
    fn from(arg: PiiArg) -> PiiSpec {
        match arg {
            PiiArg::Full => PiiSpec::Full,
            PiiArg::Masked => PiiSpec::Masked,
            PiiArg::Hashed => PiiSpec::Hashed,
        }
    }
}

/// Output formats of `hrsync plan`.
/// Formats of `hrsync explain`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum ExplainFormat {
    /// For people: Markdown.
    Text,
    /// For tools.
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum FormatArg {
    /// For people and pull requests.
    Markdown,
    /// For machines; also what `hrsync apply --plan` reads.
    Json,
}

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Format {
        match arg {
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Json => Format::Json,
        }
    }
}

/// A `--lease`: a duration such as `30s` or `2m`, at least 3 seconds.
fn parse_lease(text: &str) -> Result<std::time::Duration, String> {
    let d: jiff::SignedDuration =
        text.parse().map_err(|e| format!("`{text}` is not a duration such as `30s` or `2m`: {e}"))?;
    let d = std::time::Duration::try_from(d).map_err(|_| format!("`{text}` is negative"))?;
    if d < std::time::Duration::from_secs(3) {
        return Err(format!("`{text}` is too short: a lease lasts at least 3s"));
    }
    if d > std::time::Duration::from_secs(crate::git::lease::MAX_SECONDS.unsigned_abs()) {
        return Err(format!("`{text}` is too long: a lease lasts at most 1h"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn repository_options_after_the_command_win_over_those_before_it() {
        let cli = Cli::parse_from(["hrsync", "--repo", "a", "--now", "t", "plan", "--repo", "b"]);
        let given = cli.command.repo_args().or(&cli.before);
        assert_eq!(given.place.repo.as_deref(), Some("b"));
        assert_eq!(given.place.now.as_deref(), Some("t"));
        assert_eq!(given.given(), ["--repo", "--now"]);
    }
}
