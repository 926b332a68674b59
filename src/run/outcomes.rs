//! What the last apply of each directory did that a person may ask about: the items that
//! failed, were not attempted or worked with warnings, kept in the state directory
//! (`last-apply.json`) for `hrsync explain`. Every apply of a directory replaces that
//! directory's part. Never committed: it names people by key and holds the directory's
//! own error texts. Items that simply worked are counted, not listed: a million-person
//! first sync must not leave a million-line file behind, and the next plan shows them
//! in step.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::apply::{Applied, ItemOutcome, ItemStatus};
use crate::model::{DirectoryId, PlanId};
use crate::state::{StateError, StateStore};

/// The state directory's file.
pub const FILE: &str = "last-apply.json";

/// The last apply of each directory.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LastApplies {
    /// By directory.
    pub directories: BTreeMap<DirectoryId, LastApply>,
}

/// One directory's last apply.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LastApply {
    /// The plan applied.
    pub plan: PlanId,
    /// When the run that applied it started.
    pub at: Timestamp,
    /// Items that worked without a warning, counted.
    pub done: usize,
    /// Items that failed, were not attempted, or worked with warnings.
    pub items: Vec<ItemOutcome>,
}

impl LastApply {
    /// What `applied` did of `plan`, at `at`.
    pub fn of(plan: &PlanId, at: Timestamp, applied: &Applied) -> LastApply {
        let (plain, noted): (Vec<&ItemOutcome>, Vec<&ItemOutcome>) =
            applied.items.iter().partition(|i| i.status == ItemStatus::Done && i.warnings.is_empty());
        LastApply { plan: plan.clone(), at, done: plain.len(), items: noted.into_iter().cloned().collect() }
    }

    /// The outcome of person `key`'s row, when it failed, was not attempted or warned.
    pub fn of_person(&self, key: &str) -> Option<&ItemOutcome> {
        self.items.iter().find(|i| i.person.as_deref() == Some(key))
    }
}

/// The last applies recorded in `store`; none when none was saved (or the file cannot
/// be read, which `explain` then says).
pub fn load(store: &StateStore) -> Result<LastApplies, StateError> {
    Ok(store.load_document(FILE)?.unwrap_or_default())
}

/// Records `last` as `directory`'s last apply in `store` (under the run's state lock).
pub fn record(store: &StateStore, directory: &DirectoryId, last: LastApply) -> Result<(), StateError> {
    // A file that cannot be read is replaced: it only ever answers questions.
    let mut all: LastApplies = store.load_document(FILE).ok().flatten().unwrap_or_default();
    all.directories.insert(directory.clone(), last);
    store.save_document(FILE, &all)
}
