//! `hrsync preview`: who is included and excluded, by which rule (or hidden, by which
//! override of `overrides.yaml`), and the rows skipped.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::Result;

use super::{Global, PiiArg, open_run, pii};
use crate::model::filter;

/// `hrsync preview`: who is included and excluded, and by which rule.
pub(super) async fn preview(
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
    let today = run.now.to_zoned(run.config.workspace.timezone.clone()).date();
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
        // `overrides.yaml` hides people from every directory.
        let hidden = crate::plan::overrides_naming(&run.config.overrides, p, today)
            .find(|o| matches!(o.kind, crate::config::OverrideKind::Hide { .. }));
        if decision.is_included() && hidden.is_none() {
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
        let mut decision = match hidden {
            Some(o) if decision.is_included() => o.describe(),
            _ => decision.to_string(),
        };
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
