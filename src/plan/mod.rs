//! Plans: what hrsync will do to one directory, and why (DESIGN §4).
//!
//! [`diff`] computes a [`Plan`] from the merged population, the live entries and the
//! run's date. It is pure: no I/O, no clock, no randomness; the same inputs give the
//! same plan, byte for byte once rendered. A plan is data: `hrsync plan` renders it
//! (Markdown or JSON, see [`render`]), `apply` executes it, the daemon commits it.
//! Renderers never decide anything; personal data is masked by [`pii`] before
//! rendering, according to the workspace's policy.
//!
//! The planner is split by phase, each in a module of its own that says what it owns:
//! matching people to entries, their lifecycle (joiners, leavers, timers), desired
//! attributes, rows, the guards ([`guard`]) and the plan id; `diff` drives them in
//! order.

mod desired;
mod diff;
mod groups;
pub mod guard;
mod id;
mod lifecycle;
mod matching;
pub mod pii;
#[cfg(test)]
mod properties;
pub mod render;
mod rows;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

pub use diff::{PlanInput, SourceHealth, SourceStatus, diff, overrides_naming, overrides_naming_nobody};
pub use lifecycle::time_zone_of;

use crate::config::{FieldMode, Mode};
use crate::model::Value;
use crate::model::{DirectoryId, SourceId};
use crate::model::{PlanId, SkippedRecord};

/// Version of the plan's JSON format.
pub const FORMAT: u32 = 1;

/// The plan for one directory.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Plan {
    /// Version of this format.
    pub format: u32,
    /// Content hash of the config (without approvals and modes), the fetched inputs,
    /// the live entries and the date. Approvals name this id.
    pub id: PlanId,
    /// The directory.
    pub directory: DirectoryId,
    /// Its kind.
    pub directory_type: String,
    /// Its mode.
    pub mode: Mode,
    /// The date the plan was computed for, in the workspace time zone.
    pub as_of: Date,
    /// The workspace time zone.
    pub timezone: String,
    /// Whether it can be applied.
    pub status: PlanStatus,
    /// Why it is blocked or failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_by: Vec<String>,
    /// Whether a plan beyond the safety limits was approved (by its id or an allowance).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub approved: bool,
    /// What approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_by: Option<ApprovedBy>,
    /// Counts per action.
    pub summary: Summary,
    /// The mass-change check.
    pub safety: SafetyCheck,
    /// What each source contributed.
    pub sources: Vec<SourceView>,
    /// One row per person or entry, in apply order.
    pub rows: Vec<Row>,
    /// The directory's groups (`groups/*.yaml`), when it keeps groups; applied after
    /// the rows, so members created, renamed or disabled by them are members as they
    /// are after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<GroupPlan>,
    /// Leaver timers after this plan: entry id → the day its leaving was first seen.
    /// Saved in the run state when the plan is applied; not part of reports.
    #[serde(skip)]
    pub timers: BTreeMap<String, Date>,
}

impl Plan {
    /// Whether the plan writes anything.
    pub fn has_changes(&self) -> bool {
        self.summary.changes() > 0 || self.groups.as_ref().is_some_and(|g| g.summary.changes() > 0)
    }
}

/// The groups part of a plan.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct GroupPlan {
    /// Counts per action.
    pub summary: GroupSummary,
    /// Groups hrsync owns in the directory, as read.
    pub owned: usize,
    /// Limit on members removed from one group, percent of its members.
    pub max_member_removal_percent: f64,
    /// Removals from one group that never block.
    pub member_removals_allowed: u64,
    /// Limit on groups deleted, percent of the owned groups.
    pub max_delete_percent: f64,
    /// Why the directory's groups could not be read, when they could not: the plan
    /// then has no group rows and leaves every group alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_read: Option<String>,
    /// One row per group that changes or needs a word (and, with `--unchanged`, per
    /// group up to date), creates first, then changes, then deletes, by name.
    pub rows: Vec<GroupRow>,
    /// Whether member entry ids are personal data (LDAP DNs name people).
    #[serde(skip)]
    pub members_personal: bool,
}

/// Counts of group changes.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroupSummary {
    /// Groups to create.
    pub create: usize,
    /// Groups whose members or name change.
    pub update: usize,
    /// Of those, groups renamed.
    pub rename: usize,
    /// Groups to delete.
    pub delete: usize,
    /// Groups left out, with a reason.
    pub skip: usize,
    /// Groups up to date.
    pub noop: usize,
    /// Members added, over all groups.
    pub members_added: usize,
    /// Members removed, over all groups.
    pub members_removed: usize,
}

impl GroupSummary {
    /// Groups created, changed or deleted.
    pub fn changes(&self) -> usize {
        self.create + self.update + self.delete
    }
}

/// What happens to a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupAction {
    /// Create it, with its members.
    Create,
    /// Rename it, add and remove members.
    Update,
    /// Delete it.
    Delete,
    /// Left alone, with a reason.
    Skip,
    /// Up to date.
    Noop,
}

impl GroupAction {
    /// The spelling used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupAction::Create => "create",
            GroupAction::Update => "update",
            GroupAction::Delete => "delete",
            GroupAction::Skip => "skip",
            GroupAction::Noop => "noop",
        }
    }

    /// Whether the action writes.
    pub fn writes(self) -> bool {
        matches!(self, GroupAction::Create | GroupAction::Update | GroupAction::Delete)
    }
}

/// One group of a plan.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GroupRow {
    /// What happens.
    pub action: GroupAction,
    /// Its name (after a rename).
    pub name: String,
    /// The definition it comes from.
    pub definition: crate::model::GroupDefId,
    /// hrsync's key of the group.
    pub key: String,
    /// The group's id in the directory, unless it is yet to be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Its name before a rename.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
    /// Members to add.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<Member>,
    /// Members to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<Member>,
    /// Members that stay, whose entry a row of this plan gives a new DN (an LDAP rename
    /// or move): apply swaps the old DN for the new one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follow: Vec<Member>,
    /// Of the members removed, those whose entry this plan disables or deletes (or
    /// that are disabled leavers): the people guard weighs them, the group guard does
    /// not.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub leavers: usize,
    /// How many members it has after the row.
    pub members: usize,
    /// Why.
    pub reasons: Vec<String>,
    /// Things a reviewer should know that did not stop the row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A member added to or removed from a group: a person's entry, or a nested group.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    /// The person (`<source>:<record id>`), when the member is a person's entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// The entry's or nested group's id as read; absent for one created by this plan
    /// (apply takes the id the create returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The nested group's key, when the member is a group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// What let a plan beyond the safety limits through.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum ApprovedBy {
    /// Its exact id, in `approvals` of `hrsync.yaml` or given to `apply --approve`.
    PlanId,
    /// An allowance of `hrsync.yaml`.
    Allowance {
        /// Its place in `allowances` (0-based).
        index: usize,
        /// Its reason.
        reason: String,
        /// The last day it holds.
        until: Date,
        /// Its limit on disables and deletes.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_disables: Option<u64>,
        /// Its limit on updates.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_updates: Option<u64>,
        /// The commit that added it, when the config is read from git.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        commit: Option<String>,
    },
}

impl ApprovedBy {
    /// In words, for logs, reviews and commit messages.
    pub fn describe(&self) -> String {
        match self {
            ApprovedBy::PlanId => "approved by its plan id".to_owned(),
            ApprovedBy::Allowance { index, reason, until, max_disables, max_updates, commit } => {
                let mut limits = Vec::new();
                if let Some(n) = max_disables {
                    limits.push(format!("up to {n} disables"));
                }
                if let Some(n) = max_updates {
                    limits.push(format!("up to {n} updates"));
                }
                let added = commit.as_ref().map(|c| format!(", added in {c}")).unwrap_or_default();
                format!(
                    "within allowance {} ({} until {until}: {reason}{added})",
                    index + 1,
                    limits.join(" and ")
                )
            }
        }
    }
}

/// Whether a plan can be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Nothing to write.
    NoChanges,
    /// Changes, within the safety limits or approved.
    Ready,
    /// Changes beyond a safety limit, not approved.
    Blocked,
    /// A source was unhealthy: nothing may be written.
    Failed,
}

impl PlanStatus {
    /// The spelling used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::NoChanges => "no_changes",
            PlanStatus::Ready => "ready",
            PlanStatus::Blocked => "blocked",
            PlanStatus::Failed => "failed",
        }
    }
}

/// Counts per action.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Summary {
    /// Entries to create.
    pub create: usize,
    /// Entries to update (including enabling).
    pub update: usize,
    /// Entries to disable.
    pub disable: usize,
    /// Entries to delete.
    pub delete: usize,
    /// Nothing to do.
    pub noop: usize,
    /// Of those, entries up to date whose rows are not listed (see
    /// `hrsync plan --unchanged`).
    #[serde(default)]
    pub unlisted: usize,
    /// Skipped, with a reason (ambiguous, no free value …).
    pub skip: usize,
    /// Rows with warnings (a manager left unset …).
    pub warnings: usize,
    /// Entries in scope that hrsync does not manage and left alone.
    pub unmanaged: usize,
}

impl Summary {
    /// Creates, updates, disables and deletes.
    pub fn changes(&self) -> usize {
        self.create + self.update + self.disable + self.delete
    }
}

/// The mass-change check.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SafetyCheck {
    /// Entries hrsync manages in the directory.
    pub managed: usize,
    /// Disables plus deletes.
    pub disables: usize,
    /// Updates.
    pub updates: usize,
    /// Limit on disables + deletes, percent of managed.
    pub max_disable_percent: f64,
    /// Limit on updates, percent of managed.
    pub max_update_percent: f64,
    /// Limit on disables + deletes, count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_disable_count: Option<u64>,
    /// Limit on updates, count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_update_count: Option<u64>,
}

/// What one source contributed to the plan.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SourceView {
    /// The source.
    pub id: SourceId,
    /// Its health.
    pub health: SourceHealth,
    /// People it provided.
    pub people: usize,
    /// The rows its read skipped: where, and why (never their values).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedRecord>,
}

/// One action of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create an entry.
    Create,
    /// Change attributes or enable an entry.
    Update,
    /// Disable an entry.
    Disable,
    /// Delete an entry.
    Delete,
    /// Left out, with a reason.
    Skip,
    /// Nothing to do.
    Noop,
}

impl Action {
    /// The spelling used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Disable => "disable",
            Action::Delete => "delete",
            Action::Skip => "skip",
            Action::Noop => "noop",
        }
    }

    /// Whether the action writes.
    pub fn writes(self) -> bool {
        matches!(self, Action::Create | Action::Update | Action::Disable | Action::Delete)
    }
}

/// One row: a person and/or an entry, what happens, and why.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// What happens.
    pub action: Action,
    /// The person, unless the row is about an entry no person matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonView>,
    /// The entry's id, unless it is yet to be created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry: Option<String>,
    /// Why: scope, match and action, in that order.
    pub reasons: Vec<Arc<str>>,
    /// Attribute changes (all attributes of a new entry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// A change of the account's enabled state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<EnabledChange>,
    /// Things a reviewer should know that did not stop the row.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The entry's revision the row was planned against (the write's precondition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// A `collision` skip: the person (`<source>:<id>`) whose create, or the entry whose
    /// DN, this create would collide with. Masked in reports like any person or entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collides_with: Option<Collision>,
    /// Whether the entry id is personal data (reports mask it).
    #[serde(skip)]
    pub entry_personal: bool,
    /// What the plan will do on a later day, for a row that waits. Not in reports, whose
    /// reasons say it in words; `hrsync explain` answers with it.
    /// (Boxed: rarely there, and a plan holds a million rows.)
    #[serde(skip)]
    pub due: Option<Box<Due>>,
}

/// What a plan will do for a row on a later day: a future joiner's create, a
/// pre-provisioned entry's enabling, a leaver's disable after the grace period, a
/// disabled leaver's delete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    /// The first day it is done, in the person's time zone.
    pub on: Date,
    /// What is done then (an enabling is an [`Action::Update`]).
    pub action: Action,
    /// What sets the day, in words without personal values.
    pub why: String,
}

/// What a create would collide with.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Collision {
    /// Another person's create in this plan, by person key.
    Person(String),
    /// An entry that exists, by id.
    Entry(String),
}

/// The person of a row.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PersonView {
    /// `<source>:<record id>` of the person's first record.
    pub key: String,
    /// Employee number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Sources describing the person, first record first.
    pub sources: Vec<SourceId>,
}

/// A change of one attribute.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Change {
    /// The attribute.
    pub attribute: String,
    /// What the directory holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// What it will hold; absent means the attribute is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Planned>,
    /// The field's mode.
    pub mode: FieldMode,
    /// Sources the value comes from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from: Vec<SourceId>,
    /// Whether the values are personal data (reports mask them).
    #[serde(skip)]
    pub personal: bool,
    /// For a `unique` field of a create: the next free values its candidates give, in
    /// order, which apply takes when the directory refuses `after` as taken by an
    /// object the read did not see. Not in reports: what was written is in the result.
    #[serde(skip)]
    pub alternatives: Vec<String>,
    /// Whether the values are entry ids (a manager reference): reports mask them as
    /// the entry they name is masked.
    #[serde(skip)]
    pub reference: bool,
}

/// A planned value.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Planned {
    /// A value.
    Value(Value),
    /// The id of an entry created earlier in the same plan (a manager's).
    EntryOf {
        /// The key of the person whose new entry is meant.
        entry_of: String,
    },
}

/// A change of the enabled state.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EnabledChange {
    /// Before (absent for a new entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<bool>,
    /// After.
    pub after: bool,
}
