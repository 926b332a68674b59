//! The absence guard: entries no person matches are leavers only when every source said,
//! in full and with nothing skipped, who is still there. A source not read in full may
//! simply not have said it, and a read that skipped rows of people may hide some of
//! them.

use crate::model::{RecordKind, SkippedRecord};
use crate::plan::{SourceHealth, SourceStatus};

/// Why entries no person matches must not be taken for leavers in this run, if they
/// must not: a source not read in full may simply not have said who is still there,
/// and a read that skipped rows of people (with `hold_skipped`) may hide some of them.
pub(in crate::plan) fn blocker(sources: &[SourceStatus], hold_skipped: bool) -> Option<String> {
    let by_health = sources.iter().find_map(|s| match &s.health {
        // A shrunk read blocks the plan until approved, and approving it accepts that
        // the people it no longer lists have left.
        SourceHealth::Healthy | SourceHealth::Shrunk { .. } => None,
        SourceHealth::Delta => Some(format!("source `{}` was read as changes only", s.id)),
        SourceHealth::Snapshot { reason } => {
            Some(format!("source `{}` was not read in this run ({reason})", s.id))
        }
        SourceHealth::Disabled => Some(format!("source `{}` is disabled", s.id)),
        SourceHealth::Unhealthy { .. } => Some(super::health::unhealthy_words(s.id.as_str())),
    });
    by_health.or_else(|| hold_skipped.then(|| sources.iter().find_map(skipped_people)).flatten())
}

/// What a source's read skipped of its people, in words (where, never the values), if
/// it skipped any.
fn skipped_people(s: &SourceStatus) -> Option<String> {
    const SHOWN: usize = 3;
    let people: Vec<&SkippedRecord> = s.skipped.iter().filter(|r| r.kind == RecordKind::Employee).collect();
    let first = people.first()?;
    let mut places: Vec<String> = people.iter().take(SHOWN).map(|r| r.location.to_string()).collect();
    if people.len() > SHOWN {
        places.push(format!("{} more", people.len() - SHOWN));
    }
    let rows = if people.len() == 1 { "a row" } else { "rows" };
    Some(format!(
        "source `{}` skipped {rows} of people ({}: {}), which may hide people who are still there",
        s.id,
        places.join(", "),
        if people.len() == 1 { first.reason.clone() } else { "see the skipped rows".to_owned() }
    ))
}
