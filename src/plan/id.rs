//! The plan id: a content hash of everything a plan depends on.
//!
//! Approvals name a plan by its id, so the id must change whenever an input changes
//! and must not change otherwise: this module owns which inputs are hashed, and how.
//! It must not hash anything a plan does not depend on, or an approval would stop
//! naming the plan it approved (approvals and modes are left out of the config's
//! fingerprint for that reason).

use std::collections::BTreeMap;

use jiff::civil::Date;

use super::{PlanInput, SourceHealth};
use crate::digest::ContentHash;
use crate::directory::Entry;
use crate::model::PlanId;

/// The plan id: a hash of everything the plan depends on. Of the leaver timers, only
/// those the plan uses count, as it uses them: a plan made before a leaver's timer was
/// recorded and one made after, the same day, are the same plan.
pub(super) fn plan_id(input: &PlanInput<'_>, as_of: Date, timers: &BTreeMap<String, Date>) -> PlanId {
    let mut h = ContentHash::new();
    h.text("hrsync-plan-1");
    h.text(&input.config.fingerprint);
    h.text(input.directory.id.as_str());
    h.text(&as_of.to_string());
    h.text(input.inputs_hash);
    for s in input.sources {
        h.text(s.id.as_str());
        h.text(&health_text(&s.health));
        // Skipped rows decide rows too (held entries, leavers held back); a read that
        // skipped none hashes as it always has.
        if !s.skipped.is_empty() {
            h.text("skipped");
            for r in &s.skipped {
                h.text(&r.location.to_string());
                h.text(&r.reason);
                // All that could be read of the row: its match keys decide which entry
                // it holds.
                match r.partial.as_deref() {
                    Some(p) => {
                        h.text("partial");
                        h.person(p);
                    }
                    None => h.text("none"),
                }
            }
        }
    }
    // Values held outside the scope decide unique values; none hashes as it always has.
    if !input.held_elsewhere.is_empty() {
        h.text("held elsewhere");
        for (attribute, values) in input.held_elsewhere {
            h.text(attribute);
            let mut sorted: Vec<&(String, String)> = values.iter().collect();
            sorted.sort();
            h.items(&sorted, |h, (v, dn)| {
                h.text(v);
                h.text(dn);
            });
        }
    }
    // The directory's order is not part of its content.
    let mut live: Vec<&Entry> = input.live.iter().collect();
    live.sort_by(|a, b| a.id.cmp(&b.id));
    h.items(&live, |h, e| h.entry(e));
    for (id, date) in timers {
        h.text(id);
        h.text(&date.to_string());
    }
    // Groups and org units decide group rows; a directory without groups hashes as it
    // always has.
    if let Some(groups) = input.groups {
        h.text("groups");
        let mut sorted: Vec<&crate::directory::Group> = groups.iter().collect();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        h.items(&sorted, |h, g| {
            h.text(&g.id);
            h.text(&g.name);
            h.text(g.key.as_deref().unwrap_or(""));
            let mut members: Vec<&String> = g.members.iter().collect();
            members.sort();
            h.items(&members, |h, m| h.text(m));
        });
        let mut units: Vec<&crate::model::OrgUnit> = input.org_units.iter().collect();
        units.sort_by(|a, b| (&a.source, &a.id).cmp(&(&b.source, &b.id)));
        h.items(&units, |h, u| {
            h.text(u.source.as_str());
            h.text(&u.id);
            h.text(&u.name);
            h.text(u.parent.as_deref().unwrap_or(""));
        });
    }
    let digest = h.finish();
    let mut first = [0; 16];
    first.copy_from_slice(&digest[..16]);
    PlanId::from_digest(first)
}

/// A source's health as the id hashes it: the JSON text serde writes for it, which
/// the ids have always hashed. Written out here because it cannot fail: asking
/// serde_json for it returns a `Result`, and any fallback would hash a text that says
/// nothing about the source.
fn health_text(health: &SourceHealth) -> String {
    match health {
        SourceHealth::Healthy => r#"{"state":"healthy"}"#.to_owned(),
        SourceHealth::Delta => r#"{"state":"delta"}"#.to_owned(),
        SourceHealth::Snapshot { reason } => with_reason("snapshot", reason),
        SourceHealth::Disabled => r#"{"state":"disabled"}"#.to_owned(),
        SourceHealth::Unhealthy { reason } => with_reason("unhealthy", reason),
        SourceHealth::Shrunk { reason } => with_reason("shrunk", reason),
    }
}

fn with_reason(state: &str, reason: &str) -> String {
    let mut out = String::with_capacity(state.len() + reason.len() + 24);
    out.push_str(r#"{"state":""#);
    out.push_str(state);
    out.push_str(r#"","reason":"#);
    push_json_string(&mut out, reason);
    out.push('}');
    out
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it: quotes, backslashes
/// and control characters only, the latter in lower-case hex.
fn push_json_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\0'..='\u{1f}' => {
                let b = c as u8;
                out.push_str("\\u00");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0xf)]));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plan ids already given out, and approvals naming them, stay valid only if the
    /// id hashes the very text serde_json writes.
    #[test]
    fn health_text_is_what_serde_json_writes() {
        let mut tricky: String = (0..=0x7f_u8).map(char::from).collect();
        tricky.push_str(" → ü 😀 \u{2028}");
        let reasons = ["", "returned no people (the last good read had 2)", tricky.as_str()];
        let mut healths = vec![SourceHealth::Healthy, SourceHealth::Delta, SourceHealth::Disabled];
        for reason in reasons {
            healths.push(SourceHealth::Snapshot { reason: reason.to_owned() });
            healths.push(SourceHealth::Unhealthy { reason: reason.to_owned() });
            healths.push(SourceHealth::Shrunk { reason: reason.to_owned() });
        }
        for health in &healths {
            assert_eq!(health_text(health), serde_json::to_string(health).unwrap(), "{health:?}");
        }
    }
}
