//! The explanation as text for people: the answer first, then each check, numbered, with
//! its facts. Markdown, so it can be pasted into a ticket as it is.

use std::fmt::Write as _;

use super::{Explanation, Mark, Step};

/// `explanation` as Markdown.
pub fn text(explanation: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", explanation.answer);
    if explanation.offline {
        let _ = writeln!(out, "\n> Offline: the sources are their last good reads; no directory was read.");
    }
    for r in &explanation.skipped_rows {
        let _ = writeln!(out, "\n> Skipped row: {r}");
    }
    for entry in &explanation.entries {
        let _ = writeln!(out, "\n## Entry {} in `{}`\n", entry.entry, entry.directory);
        if explanation.entries.len() > 1 {
            let _ = writeln!(out, "{}\n", entry.answer);
        }
        steps(&mut out, &entry.steps);
    }
    for person in &explanation.people {
        let name = person.name.as_deref().map(|n| format!("{n} ")).unwrap_or_default();
        let number =
            person.employee_number.as_deref().map(|n| format!(", employee number {n}")).unwrap_or_default();
        let _ = writeln!(out, "\n## {name}(`{}`{number})\n", person.person);
        if explanation.people.len() > 1 {
            let _ = writeln!(out, "{}\n", person.answer);
        }
        steps(&mut out, &person.steps);
    }
    out
}

/// The checks, numbered, each with its facts.
fn steps(out: &mut String, steps: &[Step]) {
    for (n, step) in steps.iter().enumerate() {
        let mark = match step.verdict {
            Mark::Ok => "ok",
            Mark::Note => "note",
            Mark::Stop => "STOP",
        };
        let place = step.directory.as_ref().map(|d| format!(" (`{d}`)")).unwrap_or_default();
        let _ = writeln!(out, "{}. **{}**{place} [{mark}]: {}", n + 1, step.check.title(), step.text);
        for f in &step.facts {
            let _ = writeln!(out, "   - {f}");
        }
    }
}
