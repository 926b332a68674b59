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
///
/// Close means at most one edit per three letters. A candidate whose length is that far
/// from `wrong`'s is not measured at all, so a hostile megabyte of text costs one length
/// comparison per candidate, not a distance table the size of the text.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    // Edits relative to length: `cvs` → `csv` is one transposition in three letters.
    let close = |edits: usize, a: usize, b: usize| edits * 3 <= a.max(b);
    let len = wrong.chars().count();
    candidates
        .into_iter()
        .filter(|c| {
            let n = c.chars().count();
            close(len.abs_diff(n), len, n)
        })
        .map(|c| (strsim::damerau_levenshtein(wrong, c), c))
        .filter(|(edits, c)| close(*edits, len, c.chars().count()) && *edits > 0)
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

/// The message and hint for `found` where one of `allowed` belongs (an enum-valued key):
/// every allowed value, and the closest one. `what` names the kind of value ("field
/// mode"); `found` is `None` for a value that is not text at all, which the caller
/// describes.
pub fn one_of(found: Option<&str>, what: Option<&str>, allowed: &[&str]) -> (String, Option<String>) {
    let list = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
    match found {
        Some(text) => {
            let shown = shorten(text);
            let message = match what {
                Some(what) => format!("`{shown}` is not {}: expected one of {list}", article(what)),
                None => format!("`{shown}` is not allowed here: expected one of {list}"),
            };
            (message, did_you_mean(text, allowed.iter().copied()))
        }
        None => {
            let message = match what {
                Some(what) => format!("expected {}, one of {list}", article(what)),
                None => format!("expected one of {list}"),
            };
            (message, None)
        }
    }
}

/// `text`, cut to 40 characters for a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// `word` with its indefinite article.
pub fn article(word: &str) -> String {
    match word.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u' | 'A' | 'E' | 'I' | 'O' | 'U') => format!("an {word}"),
        _ => format!("a {word}"),
    }
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
    fn words_too_long_or_too_short_to_be_close_are_not_measured() {
        // A distance table of a megabyte by each candidate would be hundreds of
        // megabytes; the length check answers without one.
        let long = "x".repeat(1 << 20);
        assert_eq!(did_you_mean(&long, ["continuous", "import_once", "ignore"]), None);
        assert_eq!(did_you_mean("contin", ["continuous"]), None, "4 edits in 10 letters");
        assert_eq!(did_you_mean("continuo", ["continuous"]).as_deref(), Some("did you mean `continuous`?"));
        assert_eq!(
            did_you_mean("importonce", ["continuous", "import_once"]).as_deref(),
            Some("did you mean `import_once`?")
        );
    }

    #[test]
    fn one_of_lists_the_allowed_values_and_the_closest() {
        let allowed = ["continuous", "import_once", "ignore"];
        let (message, hint) = one_of(Some("importonce"), Some("field mode"), &allowed);
        assert_eq!(
            message,
            "`importonce` is not a field mode: expected one of `continuous`, `import_once`, `ignore`"
        );
        assert_eq!(hint.as_deref(), Some("did you mean `import_once`?"));
        let (message, hint) = one_of(Some("zzz"), None, &allowed);
        assert_eq!(
            message,
            "`zzz` is not allowed here: expected one of `continuous`, `import_once`, `ignore`"
        );
        assert_eq!(hint, None);
        let (message, _) = one_of(None, Some("leaver action"), &["disable"]);
        assert_eq!(message, "expected a leaver action, one of `disable`");
        let (message, _) = one_of(Some(&"y".repeat(100)), Some("field mode"), &allowed);
        assert!(message.starts_with(&format!("`{}…` is not", "y".repeat(40))), "{message}");
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
