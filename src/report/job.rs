//! Building job results from what a run did: a source's read compared with its last
//! good read, a directory's plan and apply, and failed items in words under the PII
//! policy. Pure: the run hands in the records, plans and outcomes; nothing here reads
//! or writes state.

use jiff::Timestamp;
use rustc_hash::FxHashMap;

use super::{Bucket, DirectoryResult, Fetched, JobStatus, SourceResult};
use crate::apply::{Applied, ItemOutcome, ItemStatus};
use crate::config::Mode;
use crate::digest::ContentHash;
use crate::model::{Record, SkippedRecord};
use crate::plan::guard::GuardError;
use crate::plan::pii::Pii;
use crate::plan::{Plan, PlanStatus};
use crate::state::Snapshot;

impl SourceResult {
    /// A source that was not read (disabled, not selected, or it asked to skip).
    pub fn not_read(reason: impl Into<String>, last_sync_at: Option<Timestamp>) -> SourceResult {
        SourceResult {
            status: Some(JobStatus::Completed),
            skipped: true,
            reason: Some(reason.into()),
            last_sync_at,
            ..SourceResult::default()
        }
    }

    /// A source whose read failed or was unhealthy.
    pub fn failed(reason: impl Into<String>, last_sync_at: Option<Timestamp>) -> SourceResult {
        SourceResult {
            status: Some(JobStatus::Failed),
            errors: vec![reason.into()],
            last_sync_at,
            ..SourceResult::default()
        }
    }

    /// A good read, `new`, counted against the last good read `old`. `fetched` is
    /// shown on dry runs; `last_sync_at` is the watermark after this run.
    pub fn read(
        old: Option<&Snapshot>,
        new: &Snapshot,
        skipped: &[SkippedRecord],
        fetched: Option<Fetched>,
        last_sync_at: Option<Timestamp>,
    ) -> SourceResult {
        SourceResult {
            status: Some(if skipped.is_empty() { JobStatus::Completed } else { JobStatus::Warning }),
            employees: Some(changes(old.map(|o| &o.people[..]), &new.people, skipped, |h, p| {
                h.person_fields(p)
            })),
            employments: Some(changes(
                old.map(|o| &o.employments[..]),
                &new.employments,
                skipped,
                ContentHash::employment,
            )),
            org_units: Some(changes(
                old.map(|o| &o.org_units[..]),
                &new.org_units,
                skipped,
                ContentHash::org_unit,
            )),
            skipped_records: skipped.to_vec(),
            fetched,
            last_sync_at,
            ..SourceResult::default()
        }
    }
}

impl DirectoryResult {
    /// The result of a directory that was planned, and applied when `applied` is
    /// `Some`.
    pub fn of_plan(
        mode: Mode,
        plan: &Plan,
        applied: Option<&Result<Applied, GuardError>>,
        pii: &Pii,
    ) -> DirectoryResult {
        let s = &plan.summary;
        let mut result = DirectoryResult {
            status: JobStatus::Completed,
            mode,
            skipped: false,
            reason: None,
            plan: Some(plan.id.clone()),
            plan_status: Some(plan.status),
            approved_by: plan.approved_by.clone(),
            applied: false,
            created: s.create,
            updated: s.update,
            disabled: s.disable,
            deleted: s.delete,
            skipped_rows: s.skip,
            failed: 0,
            errors: Vec::new(),
            warnings: Vec::new(),
            groups: plan.groups.as_ref().map(|g| super::GroupsResult {
                created: g.summary.create,
                updated: g.summary.update,
                deleted: g.summary.delete,
                members_added: g.summary.members_added,
                members_removed: g.summary.members_removed,
                skipped: g.summary.skip,
                failed: 0,
            }),
        };
        match applied {
            None => {
                if mode == Mode::Plan {
                    result.reason = Some("mode is plan: nothing is written".into());
                }
            }
            Some(Err(e)) => {
                result.status = JobStatus::Failed;
                result.reason = Some(e.to_string());
            }
            Some(Ok(a)) => {
                result.applied = true;
                result.created = a.created;
                result.updated = a.updated;
                result.disabled = a.disabled;
                result.deleted = a.deleted;
                result.failed = a.failed;
                result.errors = a.items.iter().filter_map(|i| describe_failure(i, pii)).collect();
                result.warnings = a.items.iter().flat_map(|i| describe_warnings(i, pii)).collect();
                if let Some(g) = &mut result.groups {
                    let done = &a.groups;
                    *g = super::GroupsResult {
                        created: done.created,
                        updated: done.updated,
                        deleted: done.deleted,
                        members_added: done.members_added,
                        members_removed: done.members_removed,
                        skipped: g.skipped,
                        failed: done.failed,
                    };
                    for item in &done.items {
                        if let ItemStatus::Failed(r) | ItemStatus::NotAttempted(r) = &item.status {
                            result.errors.push(format!(
                                "{} group `{}`: {}",
                                item.action.as_str(),
                                item.name,
                                pii.message(r, item.group.as_deref())
                            ));
                        }
                        result.warnings.extend(
                            item.warnings
                                .iter()
                                .map(|w| format!("{} group `{}`: {w}", item.action.as_str(), item.name)),
                        );
                    }
                }
            }
        }
        let groups_not_read = plan.groups.as_ref().is_some_and(|g| g.not_read.is_some());
        if let Some(why) = plan.groups.as_ref().and_then(|g| g.not_read.as_ref()) {
            result
                .warnings
                .push(format!("the directory's groups could not be read ({why}): groups were left alone"));
            result.groups = None;
        }
        if matches!(plan.status, PlanStatus::Blocked | PlanStatus::Failed) {
            result.status = JobStatus::Failed;
            result.reason.get_or_insert_with(|| plan.blocked_by.join("; "));
        } else if result.status == JobStatus::Completed
            && (result.failed > 0 || result.skipped_rows > 0 || groups_not_read)
        {
            result.status = JobStatus::Warning;
        }
        result
    }
}

/// An item's warnings in words, each with the action and the person as `pii` says (the
/// warnings themselves carry no values).
pub fn describe_warnings<'a>(item: &'a ItemOutcome, pii: &'a Pii) -> impl Iterator<Item = String> + 'a {
    let who = item.person.as_deref().map(|k| pii.key(k)).unwrap_or_default();
    item.warnings.iter().map(move |w| format!("{} {who}: {w}", item.action.as_str()))
}

/// A failed item in words, with person and entry shown as `pii` says; `None` for an
/// item that worked.
pub fn describe_failure(item: &ItemOutcome, pii: &Pii) -> Option<String> {
    let reason = match &item.status {
        ItemStatus::Done => return None,
        ItemStatus::Failed(r) | ItemStatus::NotAttempted(r) => r,
    };
    let who = match (&item.person, &item.entry) {
        (Some(key), _) => pii.key(key),
        (None, Some(entry)) => pii.id(entry),
        (None, None) => "?".to_owned(),
    };
    // Directory errors name the entry, and quote the values they refuse: personal data.
    let reason = pii.message(reason, item.entry.as_deref());
    Some(format!("{} {who}: {reason}", item.action.as_str()))
}

/// Created/updated/skipped counts of one bucket against the last good read. Records
/// are compared by content, not by where they were read.
fn changes<T: Record>(
    old: Option<&[T]>,
    new: &[T],
    skipped: &[SkippedRecord],
    content: impl Fn(&mut ContentHash, &T),
) -> Bucket {
    let hash = |r: &T| {
        let mut h = ContentHash::new();
        content(&mut h, r);
        h.finish_hex()
    };
    let old: FxHashMap<&str, String> =
        old.unwrap_or_default().iter().map(|r| (r.record_id(), hash(r))).collect();
    let mut bucket =
        Bucket { skipped: skipped.iter().filter(|s| s.kind == T::KIND).count(), ..Bucket::default() };
    for r in new {
        match old.get(r.record_id()) {
            None => bucket.created += 1,
            Some(before) if *before != hash(r) => bucket.updated += 1,
            Some(_) => {}
        }
    }
    bucket
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Person, RecordKind};

    #[test]
    fn buckets_count_against_the_last_good_read() {
        let content = |h: &mut ContentHash, p: &Person| h.person_fields(p);
        let old = [Person::test("E1"), Person::test("E2")];
        // E1 moved to another line only: not a change.
        let mut moved = Person::test("E1");
        moved.location.line = 40;
        let new = [moved, Person::test("E2").title("X"), Person::test("E3")];
        let skipped = [
            SkippedRecord::new(RecordKind::Employee, Default::default(), "x"),
            SkippedRecord::new(RecordKind::OrgUnit, Default::default(), "y"),
        ];
        assert_eq!(
            changes(Some(&old), &new, &skipped, content),
            Bucket { created: 1, updated: 1, skipped: 1 }
        );
        assert_eq!(changes(None, &new, &[], content), Bucket { created: 3, updated: 0, skipped: 0 });
    }
}
