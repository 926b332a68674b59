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
    #[command(flatten)]
    pub(super) global: Global,
    #[command(subcommand)]
    pub(super) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(super) struct Global {
    /// The sync repository: a folder holding hrsync.yaml.
    #[arg(long, global = true, default_value = ".", env = "HRSYNC_REPO", value_name = "DIR")]
    pub(super) repo: String,
    /// Read the sync repository at this git revision instead of the working tree.
    #[arg(long = "ref", global = true, value_name = "REV")]
    pub(super) git_ref: Option<String>,
    /// Where run state and the embedded directory are kept [default: <repo>/.hrsync].
    #[arg(long, global = true, env = "HRSYNC_STATE_DIR", value_name = "DIR")]
    pub(super) state_dir: Option<PathBuf>,
    /// Evaluate effective dates as of this time instead of now: an RFC 3339 time, or a
    /// date (read as noon UTC). For replays and tests.
    #[arg(long, global = true, env = "HRSYNC_NOW", value_name = "TIME")]
    pub(super) now: Option<String>,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub(super) log_format: LogFormat,
    /// More logs: -v for progress, -vv for details.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub(super) verbose: u8,
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
    },
    /// The GitOps loop: plan, commit the plan to the reports branch, apply, commit the
    /// result; once with `--once`, else watching the branch until stopped.
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
