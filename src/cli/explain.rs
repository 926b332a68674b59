//! `hrsync explain PERSON`: why a person has, or has not, an account, as text for
//! people or JSON for tools. Reads what `plan` reads (or, `--offline`, the last good
//! reads only) and writes nothing.

use std::process::ExitCode;

use anyhow::Result;

use super::args::ExplainFormat;
use super::{Global, PiiArg, open_run, pii};
use crate::explain;

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
    let answer = explain::answer(&run, person, directory, offline, &pii).await?;
    match format {
        ExplainFormat::Text => print!("{}", explain::text(&answer)),
        ExplainFormat::Json => println!("{}", serde_json::to_string_pretty(&answer)?),
    }
    Ok(ExitCode::SUCCESS)
}
