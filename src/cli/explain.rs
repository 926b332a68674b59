//! `hrsync explain PERSON`: why a person has, or has not, an account, as text for
//! people or JSON for tools. Reads what `plan` reads (or, `--offline`, the last good
//! reads only) and writes nothing.

use std::process::ExitCode;

use anyhow::Result;

use super::args::ExplainFormat;
use super::{Global, PiiArg, open_run, pii};
use crate::config::Mode;
use crate::explain::{self, DirectoryFacts, DirectoryRead, Facts};
use crate::model::error_chain;
use crate::run::{DirectoryPlan, PlanOptions, outcomes};

/// `hrsync explain`.
pub(super) async fn explain(
    g: &Global,
    person: &str,
    directory: Option<&str>,
    format: ExplainFormat,
    offline: bool,
    pii_arg: Option<PiiArg>,
) -> Result<ExitCode> {
    let run = open_run(g).await?;
    let pii = pii(&run, pii_arg)?;
    let state = run.store.load()?;
    let gathered =
        if offline { run.gather_last_good(&state).await? } else { run.gather(None, &state).await? };
    let options = PlanOptions { list_unchanged: true, keep_live: true, ..PlanOptions::default() };
    let mut planned: Vec<(&crate::config::DirectoryConfig, Option<DirectoryPlan<'_>>)> = Vec::new();
    for d in run.directories(directory)? {
        let plan = (d.mode != Mode::Off && !offline).then_some(());
        let plan = match plan {
            Some(()) => Some(run.plan(&gathered, d, &state, &options).await),
            None => None,
        };
        planned.push((d, plan));
    }
    // The outcomes only answer questions: one that cannot be read is no outcome.
    let last = outcomes::load(&run.store).unwrap_or_else(|e| {
        tracing::warn!(error = %error_chain(&e), "cannot read the outcomes of the last apply");
        outcomes::LastApplies::default()
    });
    let directories = planned
        .iter()
        .map(|(config, planned)| {
            let read = match planned {
                Some(DirectoryPlan { plan: Ok(plan), live, .. }) => DirectoryRead::Planned { plan, live },
                Some(DirectoryPlan { plan: Err(e), .. }) => DirectoryRead::Failed(error_chain(e)),
                None if config.mode == Mode::Off => DirectoryRead::Off,
                None => DirectoryRead::NotRead,
            };
            DirectoryFacts { config, read }
        })
        .collect();
    let facts = Facts {
        config: &run.config,
        gathered: &gathered,
        directories,
        state: &state,
        last: &last,
        now: run.now,
        pii: &pii,
        offline,
    };
    let answer = explain::explain(&facts, person);
    match format {
        ExplainFormat::Text => print!("{}", explain::text(&answer)),
        ExplainFormat::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
    }
    Ok(ExitCode::SUCCESS)
}
