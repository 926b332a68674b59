//! The mass-change guard: how many managed entries a plan disables, deletes or updates,
//! against the limits of `safety` (percent and count), and which limits it exceeds.

use crate::config::SafetySpec;
use crate::plan::{SafetyCheck, Summary};

/// The mass-change check of a plan with `summary`, against `limits`.
pub(in crate::plan) fn safety_check(limits: &SafetySpec, managed: usize, summary: &Summary) -> SafetyCheck {
    SafetyCheck {
        managed,
        disables: summary.disable + summary.delete,
        updates: summary.update,
        max_disable_percent: limits.max_disable_percent,
        max_update_percent: limits.max_update_percent,
        max_disable_count: limits.max_disable_count,
        max_update_count: limits.max_update_count,
    }
}

/// Which limits on disables (and deletes), and which on updates, the plan exceeds.
pub(super) fn limits_exceeded(s: &SafetyCheck) -> (Vec<String>, Vec<String>) {
    let disables = over(
        s.managed,
        "disables and deletes",
        s.disables,
        ("max_disable_percent", s.max_disable_percent),
        ("max_disable_count", s.max_disable_count),
    );
    let updates = over(
        s.managed,
        "updates",
        s.updates,
        ("max_update_percent", s.max_update_percent),
        ("max_update_count", s.max_update_count),
    );
    (disables, updates)
}

/// Why `n` changes of a kind are over their limits, of `managed` entries.
fn over(
    managed: usize,
    what: &str,
    n: usize,
    (percent_name, max_percent): (&str, f64),
    (count_name, max_count): (&str, Option<u64>),
) -> Vec<String> {
    let mut out = Vec::new();
    if managed > 0 {
        let share = n as f64 * 100.0 / managed as f64;
        if share > max_percent {
            out.push(format!(
                "{n} {what} are {share:.1} % of {managed} managed entries, above {percent_name} {max_percent}"
            ));
        }
    }
    if let Some(max) = max_count
        && n as u64 > max
    {
        out.push(format!("{n} {what} are above {count_name} {max}"));
    }
    out
}
