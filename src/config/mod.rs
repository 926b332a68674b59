//! The sync repository → validated definitions.
//!
//! [`load`] reads `hrsync.yaml`, `sources/*.yaml`, `directories/*.yaml` and
//! `filters/*.yaml` through [`RepoFiles`] (a folder or a git revision), validates each
//! document against its JSON Schema, deserializes it into its `Spec` type
//! ([`spec`]) and compiles the specs into the runtime types re-exported here,
//! cross-checking ids, templates, fields and time zones. Every problem found is returned
//! at once, each with file, line, column and a hint. Nothing here fetches data or
//! resolves secrets: that happens when a run needs them.
//!
//! [`load`] runs in two stages kept apart: `loading` reads and parses each document on
//! its own, `compile` cross-checks them and builds the runtime types. The runtime types
//! live in one module per document kind (`workspace`, `source`, `directory`, with
//! `connection` shared by HTTP sources and directories) and are re-exported here, so
//! the rest of hrsync names them `crate::config::X` and never depends on how this
//! module is laid out.

mod compile;
mod connection;
pub mod diagnostic;
mod directory;
pub mod files;
pub mod groups;
mod loading;
mod overrides;
pub mod schema;
pub mod secret;
mod source;
pub mod spec;
mod workspace;
pub mod yaml;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use connection::{Auth, Credential, HttpSettings};
pub use diagnostic::{Diagnostic, Diagnostics, did_you_mean, one_of};
pub use directory::{
    DirectoryConfig, DirectoryKind, EntraSettings, Field, FieldSource, FileSettings, GroupClass,
    GroupSettings, LdapDisable, LdapSettings, Marker, MatchRule, ScimSettings,
};
pub use overrides::{OVERRIDES_FILE, Override, OverrideKind};
pub use secret::{Secret, SecretError, SecretRef};
pub use source::{
    Columns, CsvSettings, EMPLOYMENT_FIELDS, HrSettings, JsonSettings, ORG_UNIT_FIELDS, Pagination,
    RestEndpoint, RestSettings, SourceConfig, SourceKind,
};
pub use spec::{
    FieldMode, JoinersSpec, LdapFlavor, LeaverAction, LeaversSpec, Mode, NotifyEvent, PiiSpec, SafetySpec,
    SmtpTls, Vendor,
};
pub use workspace::{
    Allowance, Channel, ChannelKind, EmailChannel, Notify, PageAuth, Reports, Retention, Schedule,
    StatusPage, Workspace, is_loopback,
};

/// The workspace document, at the root of the sync repository.
pub const WORKSPACE_FILE: &str = "hrsync.yaml";

use crate::model::FilterId;
use crate::model::filter::Filter;
use files::RepoFiles;

/// Why a sync repository could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The repository has problems; each says where and what to do.
    #[error("the sync repository is not valid:\n{0}")]
    Invalid(Diagnostics),
    /// A file could not be read.
    #[error("cannot read `{path}` from {origin}")]
    Read {
        /// The file.
        path: String,
        /// Where the repository is.
        origin: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The specs could not be serialized for the fingerprint: a bug in hrsync, not in
    /// the repository, since every spec was just deserialized.
    #[error("cannot compute the fingerprint of the sync repository")]
    Fingerprint(#[source] serde_json::Error),
}

impl ConfigError {
    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            ConfigError::Invalid(_) => "invalid",
            ConfigError::Read { .. } => "read",
            ConfigError::Fingerprint(_) => "fingerprint",
        }
    }
}

/// A validated sync repository.
#[derive(Debug)]
pub struct Config {
    /// `hrsync.yaml`.
    pub workspace: Workspace,
    /// Sources, by id.
    pub sources: Vec<SourceConfig>,
    /// Directories, by id.
    pub directories: Vec<DirectoryConfig>,
    /// Named filters.
    pub filters: BTreeMap<FilterId, Filter>,
    /// `overrides.yaml`, in file order (expired ones too: the plan ignores them, and
    /// `validate` reports them).
    pub overrides: Vec<Override>,
    /// `groups/*.yaml`, by file.
    pub groups: Vec<groups::GroupDef>,
    /// A hash of everything that shapes a plan, except approvals and directory modes
    /// (so approving a plan or switching a directory to `apply` does not change the
    /// plan's id).
    pub fingerprint: String,
    /// The git commit the config was read from, when read from git.
    pub revision: Option<String>,
}

impl Config {
    /// The source with this id.
    pub fn source(&self, id: &str) -> Option<&SourceConfig> {
        self.sources.iter().find(|s| s.id.as_str() == id)
    }

    /// The directory with this id.
    pub fn directory(&self, id: &str) -> Option<&DirectoryConfig> {
        self.directories.iter().find(|d| d.id.as_str() == id)
    }
}

/// Loads and validates the sync repository behind `files`.
pub fn load(files: &dyn RepoFiles) -> Result<Config, ConfigError> {
    compile::compile(loading::read(files)?)
}
