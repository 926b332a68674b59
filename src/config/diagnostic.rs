//! Problems found in a sync repository, each with file, line, column and a hint.
//!
//! Validation collects these instead of stopping at the first (as Vector's config
//! compiler does), so `hrsync validate` shows every problem in one pass.

use std::fmt;

use serde::Serialize;

/// One problem in one file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Diagnostic {
    /// The file, relative to the sync repository.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, in lowercase.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The JSON pointer of the node, when known; used to tell follow-up problems of
    /// one mistake apart. Not shown.
    #[serde(skip)]
    pub pointer: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: error: {}", self.file, self.line, self.column, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found, in file and line order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Adds a problem.
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.0.push(diagnostic);
    }

    /// Whether nothing was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Sorts by file and position and drops exact repeats.
    pub fn finish(mut self) -> Self {
        self.0.sort();
        self.0.dedup();
        self
    }

    /// The problems.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        let mut files: Vec<&str> = self.0.iter().map(|d| d.file.as_str()).collect();
        files.dedup();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        write!(f, "{} in {}", plural(self.0.len(), "problem"), plural(files.len(), "file"))
    }
}

/// A "did you mean" hint: the closest of `candidates` to `wrong`, if any is close.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    // Edits relative to length: `cvs` → `csv` is one transposition in three letters.
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(wrong, c), c))
        .filter(|(edits, c)| *edits * 3 <= wrong.chars().count().max(c.chars().count()) && *edits > 0)
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("valeu", ["value", "mode"]).as_deref(), Some("did you mean `value`?"));
        assert_eq!(did_you_mean("zzz", ["value", "mode"]), None);
    }

    #[test]
    fn summary_counts_problems_and_files() {
        let d = |file: &str, line| Diagnostic {
            file: file.into(),
            line,
            column: 1,
            message: "x".into(),
            hint: None,
            pointer: None,
        };
        let all = Diagnostics(vec![d("b.yaml", 2), d("a.yaml", 1), d("a.yaml", 3)]).finish();
        let text = all.to_string();
        assert!(text.starts_with("a.yaml:1:1: error: x\n"), "{text}");
        assert!(text.ends_with("3 problems in 2 files"), "{text}");
    }
}
