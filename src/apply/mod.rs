//! Execute a [`Plan`] against a [`Directory`] → per-item outcomes.
//!
//! Rows are applied in plan order (managers' creates before their reports'), each on
//! its own: a failing item is recorded with its reason and the next one goes ahead; the
//! next run plans it again. A manager reference to an entry created earlier in the plan
//! is resolved to the id the directory returned; if that create failed, the reference
//! is left out and the next run sets it. Only a directory that cannot be reached at
//! all stops the rest, since every further write would fail the same way. A plan that is
//! blocked or failed is refused as a whole ([`crate::plan::guard::check`]).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::directory::{Directory, DirectoryError, NewEntry, Update};
use crate::model::Value;
use crate::plan::guard::{GuardError, check};
use crate::plan::{Action, GroupAction, GroupRow, Member, Plan, Planned, Row};

/// The outcome of one row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemOutcome {
    /// What was to be done.
    pub action: Action,
    /// The person's key, if the row has a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The entry written (for a create: the new entry's id, if created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Whether it worked.
    pub status: ItemStatus,
    /// Gaps in an item that worked (a manager left for the next run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Whether an item was applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum ItemStatus {
    /// Done.
    Done,
    /// Failed; retried by the next run.
    Failed(String),
    /// Not attempted, because the directory became unavailable.
    NotAttempted(String),
}

/// The outcome of applying a plan.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Applied {
    /// Entries created.
    pub created: usize,
    /// Entries updated.
    pub updated: usize,
    /// Entries disabled.
    pub disabled: usize,
    /// Entries deleted.
    pub deleted: usize,
    /// Items that failed or were not attempted.
    pub failed: usize,
    /// Every written row's outcome, in order.
    pub items: Vec<ItemOutcome>,
    /// Groups created, changed and deleted, and members added and removed.
    #[serde(skip_serializing_if = "GroupsApplied::is_empty")]
    pub groups: GroupsApplied,
}

/// What applying a plan's groups did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct GroupsApplied {
    /// Groups created.
    pub created: usize,
    /// Groups changed (renamed, members added or removed).
    pub updated: usize,
    /// Groups deleted.
    pub deleted: usize,
    /// Members added.
    pub members_added: usize,
    /// Members removed.
    pub members_removed: usize,
    /// Group rows that failed or were not attempted.
    pub failed: usize,
    /// Every written group row's outcome, in order.
    pub items: Vec<GroupOutcome>,
}

impl GroupsApplied {
    /// Whether no group row was written.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The outcome of one group row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupOutcome {
    /// What was to be done.
    pub action: GroupAction,
    /// The group's name.
    pub name: String,
    /// The group's id (for a create: the new group's, if created).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Whether it worked.
    pub status: ItemStatus,
    /// Members left out (an entry whose create failed) for the next run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// An item's error as logged: logs are not reports and have no `pii` setting, so the
/// entry's id (a DN names a person) and the values the server quotes are masked in them; the job result and the command's
/// own output say it as `reports.pii` or `--pii` asks.
fn logged(e: &DirectoryError, entry: Option<&str>) -> String {
    crate::plan::pii::Pii::Masked(None).message(&crate::model::error_chain(e), entry)
}

/// Applies `plan` to `directory`; `progress` hears the number of items done after each.
///
/// Up to [`Directory::concurrency`] items are in flight at once. Creates go in waves: a
/// create waits for the creates whose entries it references (its manager's), so
/// managers still come first; the other writes follow the creates. A directory that
/// fills such references in itself ([`Directory::references_in_flight`]) gets every
/// create at once, each naming the earlier creates it references that have not
/// answered yet ([`NewEntry::awaiting`]).
pub async fn apply(
    plan: &Plan,
    directory: &dyn Directory,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Applied, GuardError> {
    use futures::StreamExt;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    check(plan)?;
    let rows: Vec<&Row> = plan.rows.iter().filter(|r| r.action.writes()).collect();
    let created: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
    // Entries whose id the rows changed (an LDAP rename or move): old id → new.
    let moved: Mutex<HashMap<String, String>> = Mutex::new(HashMap::new());
    let unavailable: Mutex<Option<String>> = Mutex::new(None);
    let done = AtomicUsize::new(0);
    let mut outcomes: Vec<Option<ItemOutcome>> = vec![None; rows.len()];
    let in_flight = directory.references_in_flight();
    // Each create's row, for a reference to know whether its create comes first (only
    // asked when the directory fills references in).
    let create_at: HashMap<&str, usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| in_flight && r.action == Action::Create)
        .filter_map(|(i, r)| Some((r.person.as_ref()?.key.as_str(), i)))
        .collect();
    let create_at = &create_at;
    for wave in waves(&rows, in_flight) {
        let results: Vec<(usize, ItemOutcome)> = futures::stream::iter(wave)
            .map(|i| {
                let row = rows[i];
                let (created, moved, unavailable, done) = (&created, &moved, &unavailable, &done);
                async move {
                    let mut outcome = ItemOutcome {
                        action: row.action,
                        person: row.person.as_ref().map(|p| p.key.clone()),
                        entry: row.entry.clone(),
                        status: ItemStatus::Done,
                        warnings: Vec::new(),
                    };
                    let stopped = unavailable.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    if let Some(reason) = stopped {
                        outcome.status = ItemStatus::NotAttempted(reason);
                    } else {
                        // Only the ids this row's references need, taken under the lock.
                        let refs: HashMap<String, String> = {
                            let created = created.lock().unwrap_or_else(|p| p.into_inner());
                            row.changes
                                .iter()
                                .filter_map(|c| match &c.after {
                                    Some(Planned::EntryOf { entry_of }) => {
                                        created.get(entry_of).map(|id| (entry_of.clone(), id.clone()))
                                    }
                                    _ => None,
                                })
                                .collect()
                        };
                        // References to earlier creates still in flight, which the
                        // directory fills in: by attribute, the create's ticket.
                        let awaiting: BTreeMap<String, String> = row
                            .changes
                            .iter()
                            .filter(|_| in_flight && row.action == Action::Create)
                            .filter_map(|c| match &c.after {
                                Some(Planned::EntryOf { entry_of })
                                    if !refs.contains_key(entry_of)
                                        && create_at.get(entry_of.as_str()).is_some_and(|at| *at < i) =>
                                {
                                    Some((c.attribute.clone(), entry_of.clone()))
                                }
                                _ => None,
                            })
                            .collect();
                        let ticket = in_flight.then(|| row.person.as_ref().map(|p| p.key.clone())).flatten();
                        match apply_row(row, directory, &refs, (ticket, awaiting), &mut outcome.warnings).await {
                            Ok(Some(id)) if row.action == Action::Create => {
                                if let Some(p) = &row.person {
                                    created.lock().unwrap_or_else(|p| p.into_inner()).insert(p.key.clone(), id.clone());
                                }
                                outcome.entry = Some(id);
                            }
                            Ok(Some(id)) => {
                                if let Some(old) = row.entry.as_deref().filter(|old| *old != id) {
                                    moved.lock().unwrap_or_else(|p| p.into_inner()).insert(old.to_owned(), id);
                                }
                            }
                            Ok(None) => {}
                            Err(e) => {
                                let entry = row.entry.as_deref().or(e.entry());
                                tracing::warn!(directory = %plan.directory, action = row.action.as_str(), kind = e.label(), error = %logged(&e, entry), "item failed");
                                if matches!(e, DirectoryError::Unavailable { .. }) {
                                    let mut stop = unavailable.lock().unwrap_or_else(|p| p.into_inner());
                                    if stop.is_none() {
                                        tracing::error!(directory = %plan.directory, error = %logged(&e, entry), "the directory stays unreachable: the items left are not attempted; the next run plans them again");
                                    }
                                    *stop = Some(format!("not attempted: {e}"));
                                }
                                if outcome.entry.is_none() {
                                    outcome.entry = e.entry().map(str::to_owned);
                                }
                                outcome.status = ItemStatus::Failed(crate::model::error_chain(&e));
                            }
                        }
                    }
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                    (i, outcome)
                }
            })
            .buffer_unordered(directory.concurrency().max(1))
            .collect()
            .await;
        for (i, outcome) in results {
            outcomes[i] = Some(outcome);
        }
    }
    let mut applied = Applied::default();
    if let Some(groups) = &plan.groups {
        let ids = Ids {
            created: created.into_inner().unwrap_or_else(|p| p.into_inner()),
            moved: moved.into_inner().unwrap_or_else(|p| p.into_inner()),
        };
        let stopped = unavailable.lock().unwrap_or_else(|p| p.into_inner()).clone();
        applied.groups = apply_groups(plan, &groups.rows, directory, &ids, stopped).await;
        applied.failed += applied.groups.failed;
    }
    for outcome in outcomes.into_iter().flatten() {
        match (&outcome.status, outcome.action) {
            (ItemStatus::Done, Action::Create) => applied.created += 1,
            (ItemStatus::Done, Action::Update) => applied.updated += 1,
            (ItemStatus::Done, Action::Disable) => applied.disabled += 1,
            (ItemStatus::Done, Action::Delete) => applied.deleted += 1,
            (ItemStatus::Done, _) => {}
            _ => applied.failed += 1,
        }
        applied.items.push(outcome);
    }
    Ok(applied)
}

/// The ids the rows gave: new entries by person key, and entries whose id changed.
struct Ids {
    created: HashMap<String, String>,
    moved: HashMap<String, String>,
}

impl Ids {
    /// The id of `m` after the rows: a created entry's new id, a moved entry's new DN,
    /// a group's id as made (`made`, by key) or renamed (`renamed`, old id → new) so
    /// far. `None` for an entry whose create failed, or a group not created yet.
    fn of(
        &self,
        m: &Member,
        made: &HashMap<String, String>,
        renamed: &HashMap<String, String>,
    ) -> Option<String> {
        if let Some(key) = &m.group {
            return match &m.id {
                Some(id) => Some(renamed.get(id).cloned().unwrap_or_else(|| id.clone())),
                None => made.get(key).cloned(),
            };
        }
        match &m.id {
            Some(id) => Some(self.moved.get(id).cloned().unwrap_or_else(|| id.clone())),
            None => self.created.get(m.person.as_deref()?).cloned(),
        }
    }
}

/// Applies the group rows after the rows of people, one at a time: renames, then
/// creates (children's groups before their parents' where nested), then the other
/// changes, then deletes. A member whose entry was not created is left for the next
/// run; a removal names the entry by the id it had and the one it has after the rows,
/// and a member that stays under a new DN (`follow`) is swapped, so a renamed entry
/// comes out right whether or not the server rewrote its membership.
async fn apply_groups(
    plan: &Plan,
    rows: &[GroupRow],
    directory: &dyn Directory,
    ids: &Ids,
    mut stopped: Option<String>,
) -> GroupsApplied {
    use crate::directory::{GroupChange, NewGroup};
    let mut out = GroupsApplied::default();
    let mut made: HashMap<String, String> = HashMap::new();
    // Groups renamed so far: old id → new (an LDAP group's DN changes with its name).
    let mut renamed: HashMap<String, String> = HashMap::new();
    // Nested groups whose id was not known when their parent was made.
    let mut later: Vec<(usize, String, Vec<&Member>)> = Vec::new();
    let mut order: Vec<&GroupRow> = rows.iter().filter(|r| r.action.writes()).collect();
    // Renames first, so every group that names a renamed one (made or changed after)
    // names it by its new id; then creates, those whose members are groups created here
    // after those groups; then the other changes; then deletes.
    order.sort_by_key(|r| {
        let renames = r.action == GroupAction::Update && r.renamed_from.is_some();
        (!renames, r.action, r.add.iter().filter(|m| m.group.is_some() && m.id.is_none()).count())
    });
    for row in order {
        let mut outcome = GroupOutcome {
            action: row.action,
            name: row.name.clone(),
            group: row.group.clone(),
            status: ItemStatus::Done,
            warnings: Vec::new(),
        };
        if let Some(reason) = &stopped {
            outcome.status = ItemStatus::NotAttempted(reason.clone());
            out.failed += 1;
            out.items.push(outcome);
            continue;
        }
        let mut add = Vec::new();
        let mut unknown = Vec::new();
        for m in &row.add {
            match ids.of(m, &made, &renamed) {
                Some(id) => add.push(id),
                None if m.group.is_some() => unknown.push(m),
                None => outcome.warnings.push(
                    "a member was left out because their entry was not created; the next run adds them"
                        .into(),
                ),
            }
        }
        // Members added as planned (a renamed member's swap is not one).
        let planned_adds = add.len();
        let result = match row.action {
            GroupAction::Create => {
                let group = NewGroup { name: row.name.clone(), key: row.key.clone(), members: add.clone() };
                directory.create_group(&group).await.inspect(|id| {
                    made.insert(row.key.clone(), id.clone());
                    if !unknown.is_empty() {
                        later.push((out.items.len(), id.clone(), std::mem::take(&mut unknown)));
                    }
                })
            }
            GroupAction::Update => {
                let mut remove = Vec::new();
                for m in &row.remove {
                    if let Some(id) = &m.id {
                        remove.push(id.clone());
                        if let Some(new) = ids.moved.get(id) {
                            remove.push(new.clone());
                        }
                    }
                }
                // Members whose entry the rows gave a new DN, or whose group was renamed
                // above: the old one out, the new in (a server that rewrote them itself
                // finds both done).
                for m in &row.follow {
                    let Some(old) = &m.id else { continue };
                    let new = if m.group.is_some() { renamed.get(old) } else { ids.moved.get(old) };
                    if let Some(new) = new.filter(|new| *new != old) {
                        remove.push(old.clone());
                        add.push(new.clone());
                    }
                }

                let change = GroupChange {
                    rename: row.renamed_from.as_ref().map(|_| row.name.clone()),
                    add: add.clone(),
                    remove,
                };
                let id = row.group.as_deref().unwrap_or_default();
                directory.change_group(id, &change).await.inspect(|new| {
                    if new != id {
                        renamed.insert(id.to_owned(), new.clone());
                    }
                })
            }
            GroupAction::Delete => {
                let id = row.group.as_deref().unwrap_or_default();
                directory.delete_group(id).await.map(|()| id.to_owned())
            }
            GroupAction::Skip | GroupAction::Noop => continue,
        };
        match result {
            Ok(id) => {
                outcome.group = Some(id);
                match row.action {
                    GroupAction::Create => out.created += 1,
                    GroupAction::Update => out.updated += 1,
                    _ => out.deleted += 1,
                }
                if row.action != GroupAction::Delete {
                    out.members_added += planned_adds;
                    out.members_removed += row.remove.len();
                }
            }
            Err(e) => {
                tracing::warn!(directory = %plan.directory, action = row.action.as_str(), kind = e.label(), error = %logged(&e, None), "group item failed");
                if matches!(e, DirectoryError::Unavailable { .. }) {
                    stopped = Some(format!("not attempted: {e}"));
                }
                outcome.status = ItemStatus::Failed(crate::model::error_chain(&e));
                out.failed += 1;
            }
        }
        out.items.push(outcome);
    }
    // Nested groups created after their parent join it now.
    for (item, parent, members) in later {
        let add: Vec<String> = members.iter().filter_map(|m| ids.of(m, &made, &renamed)).collect();
        if add.is_empty() || stopped.is_some() {
            continue;
        }
        let change = GroupChange { rename: None, add: add.clone(), remove: Vec::new() };
        match directory.change_group(&parent, &change).await {
            Ok(_) => out.members_added += add.len(),
            Err(e) => {
                if let Some(o) = out.items.get_mut(item) {
                    o.warnings.push(format!(
                        "nested groups were not added: {}; the next run adds them",
                        crate::model::error_chain(&e)
                    ));
                }
            }
        }
    }
    out
}

/// The rows in waves that can run at once: creates by how many creates of this plan
/// their references wait for (all in one when the directory fills references in
/// itself, `in_flight`), then every other write.
fn waves(rows: &[&Row], in_flight: bool) -> Vec<Vec<usize>> {
    let mut wave_of: HashMap<&str, usize> = HashMap::new();
    let mut waves: Vec<Vec<usize>> = Vec::new();
    let mut rest = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if row.action != Action::Create {
            rest.push(i);
            continue;
        }
        // Rows are ordered managers first, so a reference's wave is known already.
        let wave = row
            .changes
            .iter()
            .filter_map(|c| match &c.after {
                Some(Planned::EntryOf { entry_of }) if !in_flight => {
                    wave_of.get(entry_of.as_str()).map(|w| w + 1)
                }
                _ => None,
            })
            .max()
            .unwrap_or(0);
        if let Some(p) = &row.person {
            wave_of.insert(p.key.as_str(), wave);
        }
        if waves.len() <= wave {
            waves.resize(wave + 1, Vec::new());
        }
        waves[wave].push(i);
    }
    waves.push(rest);
    waves
}

async fn apply_row(
    row: &Row,
    directory: &dyn Directory,
    created: &HashMap<String, String>,
    (ticket, awaiting): (Option<String>, BTreeMap<String, String>),
    warnings: &mut Vec<String>,
) -> Result<Option<String>, DirectoryError> {
    let resolve = |p: &Planned, warnings: &mut Vec<String>| -> Option<Value> {
        match p {
            Planned::Value(v) => Some(v.clone()),
            Planned::EntryOf { entry_of } => match created.get(entry_of.as_str()) {
                Some(id) => Some(Value::One(id.clone())),
                // The directory fills it in when that create answers.
                None if awaiting.values().any(|t| t == entry_of) => None,
                None => {
                    warnings.push(
                        "the manager was left unset because the manager's entry was not created; the next run sets it"
                            .to_owned(),
                    );
                    None
                }
            },
        }
    };
    let entry = row.entry.as_deref().unwrap_or_default();
    let revision = row.revision.as_deref();
    match row.action {
        Action::Create => {
            let mut attributes = BTreeMap::new();
            for c in &row.changes {
                if let Some(v) = c.after.as_ref().and_then(|p| resolve(p, warnings)) {
                    attributes.insert(c.attribute.clone(), v);
                }
            }
            let mut entry = NewEntry {
                attributes,
                enabled: row.enabled.map(|e| e.after).unwrap_or(true),
                ticket,
                awaiting: awaiting.clone(),
            };
            // The next free values of `unique` fields, for a value the directory says is
            // taken by an object the plan's read did not see.
            let mut alternatives: Vec<(&str, std::slice::Iter<'_, String>, usize)> = row
                .changes
                .iter()
                .filter(|c| !c.alternatives.is_empty())
                .map(|c| (c.attribute.as_str(), c.alternatives.iter(), 0))
                .collect();
            let created = loop {
                match directory.create(&entry).await {
                    Ok(created) => break created,
                    Err(DirectoryError::Taken { entry: id, attribute, cause }) => {
                        let next = alternatives
                            .iter_mut()
                            .find(|(a, ..)| a.eq_ignore_ascii_case(&attribute))
                            .and_then(|(a, rest, tried)| rest.next().map(|v| (*a, v, tried)));
                        let Some((a, value, tried)) = next else {
                            return Err(DirectoryError::Taken { entry: id, attribute, cause });
                        };
                        *tried += 1;
                        entry.attributes.insert(a.to_owned(), Value::One(value.clone()));
                    }
                    Err(e) => return Err(e),
                }
            };
            for (attribute, _, tried) in alternatives.iter().filter(|(.., tried)| *tried > 0) {
                warnings.push(format!(
                    "the planned `{attribute}` was already in use when written (held by an object the plan's read did not see): created with the next free candidate instead ({tried} more tried)"
                ));
            }
            warnings.extend(created.warnings);
            Ok(Some(created.id))
        }
        Action::Update => {
            let mut set = BTreeMap::new();
            let mut expect = BTreeMap::new();
            for c in &row.changes {
                expect.insert(c.attribute.clone(), c.before.clone());
                match &c.after {
                    None => {
                        set.insert(c.attribute.clone(), None);
                    }
                    Some(p) => {
                        if let Some(v) = resolve(p, warnings) {
                            set.insert(c.attribute.clone(), Some(v));
                        }
                    }
                }
            }
            let update = Update { set, enabled: row.enabled.map(|e| e.after), expect };
            directory.update(entry, &update, revision).await.map(Some)
        }
        Action::Disable => directory.disable(entry, revision).await.map(Some),
        Action::Delete => directory.delete(entry, revision).await.map(|()| None),
        Action::Noop | Action::Skip => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory that keeps `sAMAccountName` unique and holds some values already,
    /// as a domain controller does with accounts the plan's read did not see.
    struct Domain {
        taken: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl Directory for Domain {
        fn id(&self) -> &crate::model::DirectoryId {
            static ID: std::sync::OnceLock<crate::model::DirectoryId> = std::sync::OnceLock::new();
            ID.get_or_init(|| crate::model::DirectoryId::new_unchecked("corp"))
        }
        async fn read_page(&self, _: Option<String>) -> Result<crate::directory::Page, DirectoryError> {
            Ok(Default::default())
        }
        async fn create(&self, entry: &NewEntry) -> Result<crate::directory::Created, DirectoryError> {
            let sam = entry.attributes["sAMAccountName"].first().unwrap_or_default().to_owned();
            let mut taken = self.taken.lock().unwrap();
            if taken.contains(&sam) {
                return Err(DirectoryError::Taken {
                    entry: format!("CN={sam}"),
                    attribute: "sAMAccountName".into(),
                    cause: None,
                });
            }
            taken.push(sam.clone());
            Ok(format!("CN={sam}").into())
        }
        async fn update(&self, _: &str, _: &Update, _: Option<&str>) -> Result<String, DirectoryError> {
            unimplemented!("creates only")
        }
        async fn disable(&self, _: &str, _: Option<&str>) -> Result<String, DirectoryError> {
            unimplemented!("creates only")
        }
        async fn delete(&self, _: &str, _: Option<&str>) -> Result<(), DirectoryError> {
            unimplemented!("creates only")
        }
    }

    /// A ready plan creating one entry per `(planned, alternatives)`.
    fn creates(sams: &[(&str, &[&str])]) -> Plan {
        let rows: Vec<serde_json::Value> = sams
            .iter()
            .map(|(sam, _)| {
                serde_json::json!({
                    "action": "create",
                    "person": { "key": format!("hr:{sam}"), "sources": ["hr"] },
                    "reasons": ["new"],
                    "changes": [{ "attribute": "sAMAccountName", "after": sam, "mode": "import_once" }],
                })
            })
            .collect();
        let mut plan: Plan = serde_json::from_value(serde_json::json!({
            "format": 1, "id": "0123456789abcdef0123456789abcdef", "directory": "corp", "directory_type": "ldap",
            "mode": "apply", "as_of": "2026-12-01", "timezone": "UTC", "status": "ready",
            "summary": { "create": sams.len(), "update": 0, "disable": 0, "delete": 0, "noop": 0, "skip": 0, "warnings": 0, "unmanaged": 0 },
            "safety": { "managed": 0, "disables": 0, "updates": 0, "max_disable_percent": 10.0, "max_update_percent": 10.0 },
            "sources": [], "rows": rows,
        }))
        .unwrap();
        for (row, (_, alternatives)) in plan.rows.iter_mut().zip(sams) {
            row.changes[0].alternatives = alternatives.iter().map(|a| a.to_string()).collect();
        }
        plan
    }

    #[tokio::test]
    async fn a_unique_value_taken_when_written_takes_the_next_candidate_until_they_run_out() {
        let domain =
            Domain { taken: std::sync::Mutex::new(vec!["jdoe".into(), "jdoe2".into(), "asmith".into()]) };
        let plan = creates(&[("jdoe", &["jdoe2", "jdoe3"]), ("asmith", &[]), ("bmiller", &["bmiller2"])]);
        let applied = apply(&plan, &domain, &|_| {}).await.unwrap();
        assert_eq!((applied.created, applied.failed), (2, 1), "{applied:#?}");
        let jdoe = &applied.items[0];
        assert_eq!(jdoe.entry.as_deref(), Some("CN=jdoe3"));
        assert_eq!(jdoe.warnings.len(), 1, "{jdoe:?}");
        assert!(jdoe.warnings[0].contains("`sAMAccountName` was already in use when written"), "{jdoe:?}");
        assert!(
            jdoe.warnings[0].ends_with("(2 more tried)") && !jdoe.warnings[0].contains("jdoe"),
            "{jdoe:?}"
        );
        let ItemStatus::Failed(reason) = &applied.items[1].status else { panic!("{:?}", applied.items[1]) };
        assert_eq!(reason, "the `sAMAccountName` of entry `CN=asmith` is already in use in the directory");
        assert_eq!(applied.items[2].entry.as_deref(), Some("CN=bmiller"));
        assert!(applied.items[2].warnings.is_empty());
    }

    #[test]
    fn logged_errors_mask_the_entry_they_name() {
        let dn = "uid=jane.doe,ou=people,dc=example,dc=org";
        let text = logged(&DirectoryError::NotFound(dn.to_owned(), None), Some(dn));
        assert!(!text.contains("jane.doe"), "{text}");
        assert!(text.contains("does not exist"), "{text}");
    }
}
