//! `hrsync plan`: what would change in each directory and why, as Markdown or JSON;
//! with `--base`, the review of a pull request: the plans of two revisions of the
//! config against the same live directories, compared.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Global, LogFormat, PiiArg, emit, error_line, new_run, open_files, open_run, pii};
use crate::config::ConfigError;
use crate::config::files::RepoFiles;
use crate::git::GitTree;
use crate::model::error_chain;
use crate::plan::render::review::Unplanned;
use crate::plan::render::{self, Format};
use crate::plan::{Plan, PlanStatus};
use crate::run::{PlanOptions, Run};
use crate::state::StateStore;

/// How `hrsync plan` writes its result.
pub(super) struct PlanOutput<'a> {
    /// Markdown or JSON.
    pub format: Format,
    /// The file to write, or stdout.
    pub out: Option<&'a Path>,
    /// `--detailed-exitcode`.
    pub detailed: bool,
    /// `--pii`.
    pub pii: Option<PiiArg>,
    /// `--unchanged`.
    pub unchanged: bool,
}

/// `plan --base`: what the config of `--ref` (or the working tree) does compared with
/// the config of `base`, against the same live directories at the same time.
///
/// The review is always written, so a CI job can post it whatever happened: an invalid
/// config gives its diagnostics, a directory that cannot be planned says why. The exit
/// code says what happened: 1 when the change cannot be planned (anywhere), 2 with
/// `--detailed-exitcode` when it changes something, else 0.
pub(super) async fn review(
    g: &Global,
    base: &str,
    directory: Option<&str>,
    out: Option<&Path>,
    detailed: bool,
    pii_arg: Option<PiiArg>,
) -> Result<ExitCode> {
    let revision = g.git_ref.as_deref().unwrap_or("the working tree");
    let head_files = match open_files(g) {
        Ok(files) => files,
        Err(e) => return cannot_plan(g, out, revision, &format!("{e:#}")),
    };
    let head_config = match crate::config::load(head_files.as_ref()) {
        Ok(config) => config,
        Err(ConfigError::Invalid(diagnostics)) => {
            let text = diagnostics.to_string();
            crate::run::show_diagnostics(&diagnostics, g.log_format == LogFormat::Json);
            emit(out, &render::review::invalid(revision, &text))?;
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return cannot_plan(g, out, revision, &error_chain(&e)),
    };
    let head = match new_run(g, head_files, head_config) {
        Ok(run) => run,
        Err(e) => return cannot_plan(g, out, revision, &format!("{e:#}")),
    };
    let pii = match pii(&head, pii_arg) {
        Ok(pii) => pii,
        Err(e) => return cannot_plan(g, out, revision, &format!("{e:#}")),
    };
    let (head_plans, head_errors) = match plans_of(&head, directory, false).await {
        Ok(planned) => planned,
        Err(e) => return cannot_plan(g, out, revision, &format!("{e:#}")),
    };
    // The base as it was; one that cannot be read or planned is compared as empty, and
    // the review says so.
    let mut notes = Vec::new();
    let opened = GitTree::open(Path::new(&g.repo), base)
        .with_context(|| format!("cannot read `--base {base}` from git"));
    let base_run = opened.and_then(|tree| {
        let files: Arc<dyn RepoFiles> = Arc::new(tree);
        let config = crate::config::load(files.as_ref())
            .with_context(|| format!("the config at `{base}` is not valid"))?;
        Ok(Run {
            config,
            files,
            store: StateStore::new(head.store.dir().to_owned()),
            now: head.now,
            progress: head.progress,
            timer_secret: head.timer_secret.clone(),
        })
    });
    let (base_plans, base_errors) = match &base_run {
        Ok(base_run) => {
            let only = directory.filter(|d| base_run.config.directories.iter().any(|c| c.id.as_str() == *d));
            if directory.is_some() && only.is_none() {
                (Vec::new(), Vec::new())
            } else {
                plans_of(base_run, only, false).await.unwrap_or_else(|e| {
                    notes.push(format!("the base `{base}` cannot be planned: {e:#}"));
                    (Vec::new(), Vec::new())
                })
            }
        }
        Err(e) => {
            notes.push(format!("{e:#}"));
            (Vec::new(), Vec::new())
        }
    };
    let (mut text, differs) = render::review::review(&base_plans, &head_plans, &head_errors, &pii);
    for n in &notes {
        text.push_str(&format!("\n> [!NOTE]\n> Compared with nothing: {}\n", n.replace('\n', " ")));
    }
    emit(out, &text)?;
    for e in &head_errors {
        error_line(g, &e.reason);
    }
    for e in base_errors.iter().map(|e| &e.reason) {
        match g.log_format {
            LogFormat::Human => eprintln!("error (on `{base}`): {e}"),
            LogFormat::Json => tracing::error!(revision = %base, "{e}"),
        }
    }
    for n in &notes {
        error_line(g, n);
    }
    // A review against no base is written, but is not the review asked for.
    Ok(if !head_errors.is_empty() || !notes.is_empty() {
        ExitCode::FAILURE
    } else if detailed && differs {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes the review of a change that cannot be planned at all, and fails.
fn cannot_plan(g: &Global, out: Option<&Path>, revision: &str, why: &str) -> Result<ExitCode> {
    error_line(g, why);
    let text = format!(
        "## hrsync: this change cannot be planned\n\n> [!CAUTION]\n> The config at `{revision}` cannot be planned: {}\n",
        why.replace('\n', " ")
    );
    emit(out, &text)?;
    Ok(ExitCode::FAILURE)
}

/// The plans of `run`'s directories (or of `directory`), and the directories that
/// could not be planned, with why.
async fn plans_of(
    run: &Run,
    directory: Option<&str>,
    unchanged: bool,
) -> Result<(Vec<Plan>, Vec<Unplanned>)> {
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
                let chain = error_chain(&e);
                // Most errors name their directory already.
                let named = chain.contains(&format!("directory `{}`", d.id));
                let reason = if named { chain } else { format!("directory `{}`: {chain}", d.id) };
                errors.push(Unplanned { directory: d.id.to_string(), reason });
            }
        }
    }
    Ok((plans, errors))
}

/// `hrsync plan`: the plan of every directory (or one), rendered.
pub(super) async fn plan(g: &Global, directory: Option<&str>, output: PlanOutput<'_>) -> Result<ExitCode> {
    let PlanOutput { format, out, detailed, pii: pii_arg, unchanged } = output;
    let run = open_run(g).await?;
    let pii = pii(&run, pii_arg)?;
    let (plans, errors) = plans_of(&run, directory, unchanged).await?;
    let text = match format {
        Format::Markdown => plans
            .iter()
            .map(|p| render::render(p, Format::Markdown, &pii))
            .collect::<Result<Vec<_>, _>>()?
            .join("\n"),
        Format::Json => {
            let redacted: Vec<Plan> = plans.iter().map(|p| crate::plan::pii::redact(p, &pii)).collect();
            let mut text = serde_json::to_string_pretty(&redacted)?;
            text.push('\n');
            text
        }
    };
    emit(out, &text)?;
    for e in &errors {
        error_line(g, &e.reason);
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
