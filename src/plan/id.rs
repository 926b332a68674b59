//! The plan id: a content hash of everything a plan depends on.
//!
//! Approvals name a plan by its id, so the id must change whenever an input changes
//! and must not change otherwise: this module owns which inputs are hashed, and how.
//! It must not hash anything a plan does not depend on, or an approval would stop
//! naming the plan it approved (approvals and modes are left out of the config's
//! fingerprint for that reason).

use std::collections::BTreeMap;

use jiff::civil::Date;

use super::PlanInput;
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
        h.text(&serde_json::to_string(&s.health).unwrap_or_default());
    }
    // The directory's order is not part of its content.
    let mut live: Vec<&Entry> = input.live.iter().collect();
    live.sort_by(|a, b| a.id.cmp(&b.id));
    h.items(&live, |h, e| h.entry(e));
    for (id, date) in timers {
        h.text(id);
        h.text(&date.to_string());
    }
    let digest = h.finish();
    let mut first = [0; 16];
    first.copy_from_slice(&digest[..16]);
    PlanId::from_digest(first)
}
