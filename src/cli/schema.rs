//! `hrsync schema`: writes the JSON Schema of each document kind, or checks that a
//! folder holds them up to date.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{Global, error_line};
use crate::config::schema::DocumentKind;

/// Writes (or with `check`, compares) the schema files in `out`.
pub(super) fn schema(g: &Global, out: &Path, check: bool) -> Result<ExitCode> {
    let mut stale = Vec::new();
    for kind in DocumentKind::ALL {
        let path = out.join(kind.schema_file());
        let text = kind.schema_text().with_context(|| format!("cannot render {}", kind.schema_file()))?;
        if check {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                stale.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
            std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
            println!("wrote {}", path.display());
        }
    }
    if stale.is_empty() {
        if check {
            println!("{} is up to date", out.display());
        }
        Ok(ExitCode::SUCCESS)
    } else {
        error_line(
            g,
            &format!(
                "stale or missing: {}; run `hrsync schema --out {}` and commit the result",
                stale.join(", "),
                out.display()
            ),
        );
        Ok(ExitCode::FAILURE)
    }
}
