//! Renderers of a plan: one model, several formats (as ripgrep's printers).
//!
//! Each renderer formats an already redacted plan (see `plan::pii`) and never decides
//! anything. The JSON form is the plan itself, pretty-printed with a final newline;
//! the Markdown form is for people (whole, or within a budget of rows and bytes for a
//! committed report); the summary is a few lines for a terminal.

pub mod markdown;
pub mod review;
pub mod summary;

use serde::{Deserialize, Serialize};

use super::Plan;
use super::pii::{Pii, redact};

/// Output formats of `hrsync plan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// For people and pull requests.
    Markdown,
    /// For machines; also what `hrsync apply --plan` reads.
    Json,
}

/// Renders a plan in a format, with personal values shown as `pii` says.
pub fn render(plan: &Plan, format: Format, pii: &Pii) -> Result<String, serde_json::Error> {
    let plan = redact(plan, pii);
    match format {
        Format::Markdown => Ok(markdown::render(&plan)),
        Format::Json => json(&plan),
    }
}

/// The JSON form of a plan, pretty-printed with a final newline.
pub fn json(plan: &Plan) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(plan)?;
    text.push('\n');
    Ok(text)
}
