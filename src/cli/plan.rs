//! `hrsync plan`: what would change in each directory and why, as Markdown or JSON;
//! with `--base`, the review of a pull request: the plans of two revisions of the
//! config against the same live directories, compared.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};

use super::{Global, LogFormat, PiiArg, emit, error_line, load, open_run, pii};
use crate::config::files::RepoFiles;
use crate::git::GitTree;
use crate::model::error_chain;
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
pub(super) async fn review(
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
        load(g, base_files.as_ref()).with_context(|| format!("the config at `{base}` is not valid"))?;
    let base_run = Run {
        config: base_config,
        files: base_files,
        store: StateStore::new(head.store.dir().to_owned()),
        now: head.now,
        progress: head.progress,
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
        error_line(g, e);
    }
    for e in &base_errors {
        match g.log_format {
            LogFormat::Human => eprintln!("error (on `{base}`): {e}"),
            LogFormat::Json => tracing::error!(revision = %base, "{e}"),
        }
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
                let chain = error_chain(&e);
                // Most errors name their directory already.
                let named = chain.contains(&format!("directory `{}`", d.id));
                errors.push(if named { chain } else { format!("directory `{}`: {chain}", d.id) });
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
        error_line(g, e);
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
