//! The validated `overrides.yaml`: exceptions for single people.
//!
//! Runtime types only, built by `config::compile`; the plan applies them (see
//! `plan::diff`). Nothing here reads data.

use jiff::civil::Date;

use crate::model::{DirectoryId, FieldRef, SourceId};

/// The file overrides are read from, at the root of the sync repository.
pub const OVERRIDES_FILE: &str = "overrides.yaml";

/// One exception, as `overrides.yaml` declares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    /// The line of `overrides.yaml` it starts on.
    pub line: usize,
    /// Only records of this source name the person, when given.
    pub source: Option<SourceId>,
    /// The field that names the person.
    pub field: FieldRef,
    /// Its value (compared without regard to case or surrounding space).
    pub value: String,
    /// What the override does.
    pub kind: OverrideKind,
    /// Why.
    pub reason: String,
    /// The last day it holds, in the workspace's zone.
    pub until: Option<Date>,
}

/// What an override does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OverrideKind {
    /// No entry for the person; an existing one is left alone, or with
    /// `disable_existing` treated as a leaver's.
    Hide {
        /// `existing: disable`.
        disable_existing: bool,
    },
    /// The entry stays disabled.
    KeepDisabled,
    /// An attribute holds this value.
    Pin {
        /// Only in this directory, when given.
        directory: Option<DirectoryId>,
        /// The attribute.
        attribute: String,
        /// The value.
        value: String,
    },
    /// The person is no leaver before the end of this day.
    DelayLeaving(Date),
}

impl Override {
    /// Whether it has expired on `today`.
    pub fn expired(&self, today: Date) -> bool {
        self.until.is_some_and(|until| today > until)
    }

    /// Where it is, `overrides.yaml:<line>`, for reasons and messages.
    pub fn place(&self) -> String {
        format!("{OVERRIDES_FILE}:{}", self.line)
    }

    /// What it does, in words, with its reason: the reason a plan row gives.
    pub fn describe(&self) -> String {
        let what = match &self.kind {
            OverrideKind::Hide { disable_existing: false } => "hidden".to_owned(),
            OverrideKind::Hide { disable_existing: true } => "hidden, the entry disabled".to_owned(),
            OverrideKind::KeepDisabled => "kept disabled".to_owned(),
            OverrideKind::Pin { attribute, .. } => format!("`{attribute}` pinned"),
            OverrideKind::DelayLeaving(date) => format!("not a leaver before {date}"),
        };
        let until = self.until.map(|u| format!(", until {u}")).unwrap_or_default();
        format!("override ({}{until}): {what}: {}", self.place(), self.reason)
    }
}
