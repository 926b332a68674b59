//! `hrsync validate`: every problem of the sync repository in one pass; with
//! `--online`, also reads every source and the first page of every directory, checking
//! mapped attributes against each directory's schema.

use std::process::ExitCode;

use anyhow::Result;

use super::{Global, load, new_run, open_files};
use crate::directory;
use crate::git::GitError;
use crate::git::prune::{PruneError, Pruner};
use crate::model::error_chain;
use crate::run::SourceOutcome;

/// Validates the repository of `g`.
pub(super) async fn validate(g: &Global, online: bool) -> Result<ExitCode> {
    let files = open_files(g)?;
    let config = load(g, files.as_ref())?;
    let n = |count: usize, word: &str| format!("{count} {word}{}", if count == 1 { "" } else { "s" });
    println!(
        "ok: workspace `{}` in {}: {}, {}, {}",
        config.workspace.name,
        files.describe(),
        n(config.sources.len(), "source"),
        n(config.directories.len(), "directory").replace("directorys", "directories"),
        n(config.filters.len(), "filter")
    );
    // Expired allowances are ignored when planning; say so, so that they get removed.
    let today = super::parse_now(g.now.as_deref())?.to_zoned(config.workspace.timezone.clone()).date();
    for a in config.workspace.allowances.iter().filter(|a| a.expired(today)) {
        println!(
            "warning: {}:{}: allowance {} for `{}` ({}) expired on {} and is ignored: remove it",
            crate::config::WORKSPACE_FILE,
            a.line,
            a.index + 1,
            a.directory,
            a.reason,
            a.until
        );
    }
    for o in config.overrides.iter().filter(|o| o.expired(today)) {
        println!(
            "warning: {}: the override for `{}` ({}) expired on {} and is ignored: remove it",
            o.place(),
            o.field,
            o.reason,
            o.until.map(|u| u.to_string()).unwrap_or_default()
        );
    }
    for d in config.groups.iter().filter(|d| d.directories.is_empty()) {
        println!(
            "warning: {}: no directory keeps groups, so these groups are synced nowhere: add `groups:` to a directory's file",
            d.file
        );
    }
    overdue_reports(g, &config)?;
    if !online {
        return Ok(ExitCode::SUCCESS);
    }
    // HR connectors read a first page and check the mapped fields; other sources are
    // read in full, with the health checks of a run.
    let connectors: Vec<crate::config::SourceConfig> = config
        .sources
        .iter()
        .filter(|s| s.enabled && matches!(s.kind, crate::config::SourceKind::Hr(_)))
        .cloned()
        .collect();
    let mut config = config;
    for s in config.sources.iter_mut() {
        if connectors.iter().any(|c| c.id == s.id) {
            s.enabled = false;
        }
    }
    let repo_files = files.clone();
    let run = new_run(g, files, config)?;
    let state = run.store.load()?;
    let gathered = run.gather(None, &state).await?;
    let mut failed = false;
    for cfg in &connectors {
        let source = crate::source::build(cfg, repo_files.clone());
        match source.check().await {
            Err(e) => {
                failed = true;
                println!("source `{}`: FAILED: {}", cfg.id, error_chain(&e));
            }
            Ok(probe) if probe.missing.is_empty() => {
                println!(
                    "source `{}`: ok, first page has {} people, every mapped field arrived",
                    cfg.id, probe.people
                )
            }
            Ok(probe) => {
                failed = true;
                println!(
                    "source `{}`: FAILED: no record of the first page carried {}; {}",
                    cfg.id,
                    probe.missing.join(", "),
                    probe.grant.unwrap_or_default()
                );
            }
        }
    }
    // An override that names nobody the sources read (connectors, read a page only
    // here, aside) is most often a typo.
    if connectors.is_empty() {
        for o in
            crate::plan::overrides_naming_nobody(&run.config.overrides, &gathered.population.people, today)
        {
            println!("warning: {}: the override for `{}` names nobody the sources hold", o.place(), o.field);
        }
    }
    for s in gathered.sources.iter().filter(|s| !connectors.iter().any(|c| c.id == s.id)) {
        match &s.outcome {
            SourceOutcome::Failed(reason) => {
                failed = true;
                println!("source `{}`: FAILED: {reason}", s.id);
            }
            other => println!(
                "source `{}`: {}",
                s.id,
                match other {
                    SourceOutcome::Read =>
                        format!("ok, {} people", s.records.as_ref().map_or(0, |r| r.people.len())),
                    SourceOutcome::Disabled => "disabled".into(),
                    SourceOutcome::Skipped(r) => format!("skipped: {r}"),
                    SourceOutcome::Shrunk(r) =>
                        format!("read, but it {r}; a plan made from it needs an approval"),
                    SourceOutcome::NotSelected | SourceOutcome::Failed(_) => String::new(),
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
        let reached = checked.is_ok();
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
                println!("directory `{}`: FAILED: {}", d.id, error_chain(&e));
            }
        }
        // Its groups, where it keeps groups (and the directory could be read: its
        // error is said once): a service account may read users and not groups, and a
        // run would then leave the groups alone.
        if d.groups.is_some() && reached {
            let owner = crate::config::Marker::owner(&run.config.workspace.name, d.id.as_str());
            let mine = crate::config::groups::owner_prefix(&owner);
            match dir.read_groups().await {
                Ok(groups) => {
                    let owned = groups
                        .iter()
                        .filter(|g| g.key.as_deref().is_some_and(|k| k.starts_with(&mine)))
                        .count();
                    println!(
                        "directory `{}` groups: ok, {} groups read, {owned} of them this configuration's",
                        d.id,
                        groups.len()
                    );
                }
                Err(e) => {
                    failed = true;
                    println!("directory `{}` groups: FAILED: {}", d.id, error_chain(&e));
                }
            }
        }
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Warns when `reports.retention` is set and the reports branch holds older commits
/// (the daemon never rewrites history; `hrsync reports prune` does). A folder outside
/// git, or without the branch, has nothing to warn about.
fn overdue_reports(g: &Global, config: &crate::config::Config) -> Result<()> {
    let reports = &config.workspace.reports;
    let Some(retention) = reports.retention else { return Ok(()) };
    let now = super::parse_now(g.now.as_deref())?;
    let Some(cutoff) = retention.cutoff(now, &config.workspace.timezone) else { return Ok(()) };
    let pruner = match Pruner::open(std::path::Path::new(&g.repo), &reports.branch) {
        Ok(pruner) => pruner,
        Err(PruneError::Git(GitError::NotARepository(_))) => return Ok(()),
        Err(e) => {
            println!(
                "warning: cannot check the reports branch against reports.retention: {}",
                error_chain(&e)
            );
            return Ok(());
        }
    };
    match pruner.survey(cutoff.as_second()) {
        Ok(survey) if survey.dropped() > 0 => println!(
            "warning: {}: the reports branch `{}` holds {} commits older than reports.retention ({} days: made before {}): run `hrsync reports prune`, from cron or CI (the daemon never rewrites history)",
            crate::config::WORKSPACE_FILE,
            reports.branch,
            survey.dropped(),
            retention.days,
            cutoff.to_zoned(config.workspace.timezone.clone()).date()
        ),
        Ok(_) => {}
        Err(e) => println!(
            "warning: cannot check the reports branch against reports.retention: {}",
            error_chain(&e)
        ),
    }
    Ok(())
}
