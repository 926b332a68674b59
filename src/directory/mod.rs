//! Read + write targets: one [`Directory`] trait, one module per kind.
//!
//! A directory lists the entries in hrsync's scope page by page, and creates, updates,
//! disables and deletes entries one at a time. Every write that changes an existing
//! entry carries a precondition (the entry's revision as read: a SCIM ETag, LDAP old
//! values, the embedded directory's revision counter), so a write planned against stale
//! data fails for that entry instead of overwriting a newer change. Directories do not
//! decide anything: the plan does.
//!
//! Attribute values and how they compare live below, in [`crate::model::value`]: config,
//! transform and plan use them too. What the REST directories share on top of
//! [`crate::http`] is [`rest`].

pub mod batch;
pub mod entraid;
pub mod file;
pub mod ldap;
pub mod password;
pub mod rest;
pub mod scim;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{DirectoryConfig, DirectoryKind};
use crate::model::{Attributes, DirectoryId, Value};

/// An entry as read from a directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The directory's reference to the entry: a DN, a SCIM or Graph id, a file id.
    pub id: String,
    /// Attributes, by name.
    pub attributes: Attributes,
    /// Whether the account is enabled.
    pub enabled: bool,
    /// The entry's revision, used as the precondition of writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

/// One page of entries.
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// The entries.
    pub entries: Vec<Entry>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
}

/// Values of unique attributes held outside a directory's scope: by attribute (as the
/// config spells it), each value with the id (DN) of the object that holds it.
pub type HeldElsewhere = BTreeMap<String, Vec<(String, String)>>;

/// Writes of one kind that will fail, found while reading (see
/// [`Directory::read_warnings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadWarning {
    /// Which writes.
    pub affects: Affects,
    /// Why, and what to do.
    pub message: String,
}

/// The writes a [`ReadWarning`] concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affects {
    /// Disables.
    Disables,
}

/// A new entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    /// Its attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Whether it starts enabled.
    pub enabled: bool,
    /// This create's name among the creates of one apply (its person's key), by which
    /// other creates' [`NewEntry::awaiting`] name it. Only given to a directory whose
    /// [`Directory::references_in_flight`] is true.
    pub ticket: Option<String>,
    /// Attributes whose value is the id of the entry another create of the same apply
    /// makes, one whose answer was not in when this create was sent: by attribute, that
    /// create's [`NewEntry::ticket`]. The directory fills them in (or leaves them unset,
    /// with a warning, when that create fails). Empty unless
    /// [`Directory::references_in_flight`] is true.
    pub awaiting: BTreeMap<String, String>,
}

impl NewEntry {
    /// A new entry with these attributes and nothing awaited.
    pub fn new(attributes: BTreeMap<String, Value>, enabled: bool) -> NewEntry {
        NewEntry { attributes, enabled, ticket: None, awaiting: BTreeMap::new() }
    }
}

/// What a create made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// The new entry's id.
    pub id: String,
    /// What did not go as asked though the entry exists (a relationship left unset).
    pub warnings: Vec<String>,
}

impl From<String> for Created {
    fn from(id: String) -> Self {
        Created { id, warnings: Vec::new() }
    }
}

/// A group as read from a directory: one of the groups in the directory's group scope
/// (`groups` of the directory's file).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The directory's reference to the group: a DN, a SCIM or Graph id, a file id.
    pub id: String,
    /// Its name: `cn`, `displayName`.
    pub name: String,
    /// What its key attribute holds (`groups.key_attribute`): hrsync's key of the group
    /// (`hrsync:<definition>:<value>`) on the groups it owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Its members, as the directory names them: entry ids (the ids [`Directory::read_page`]
    /// gives) and ids of nested groups. A placeholder a directory needs for an empty
    /// group (`groupOfNames` must have a `member`) is not listed.
    pub members: Vec<String>,
}

/// A group to create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGroup {
    /// Its name.
    pub name: String,
    /// hrsync's key of the group, written to the key attribute.
    pub key: String,
    /// Its first members (entry and group ids); may be empty.
    pub members: Vec<String>,
}

/// A change of a group: members added and removed one by one, never the membership
/// replaced as a whole (a group of thousands changes by its difference).
///
/// Adding a member that already is one and removing one that is not are not errors: a
/// retried apply, or a server that rewrote a renamed member itself (OpenLDAP's
/// `refint`, Active Directory), finds the work done.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupChange {
    /// A new name.
    pub rename: Option<String>,
    /// Members to add.
    pub add: Vec<String>,
    /// Members to remove.
    pub remove: Vec<String>,
}

/// Changes to an existing entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Attributes to set (`Some`) or remove (`None`).
    pub set: BTreeMap<String, Option<Value>>,
    /// Enable (`Some(true)`) or disable (`Some(false)`) the account.
    pub enabled: Option<bool>,
    /// What the changed attributes held when the plan was made (`None`: absent).
    /// Directories without revisions (LDAP) make these the write's precondition.
    pub expect: BTreeMap<String, Option<Value>>,
}

/// What a server answered, kept as the cause of a directory error: the code and the
/// server's own message reach the job result with it.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Why a directory operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The directory cannot be reached or read at all; nothing should be written.
    #[error("directory `{directory}` is unavailable")]
    Unavailable {
        /// The directory.
        directory: DirectoryId,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The entry changed since it was read; with the server's answer, when one said so.
    #[error("entry `{0}` changed since the plan was made; the next run will plan it again")]
    Conflict(String, #[source] Option<Cause>),
    /// The entry does not exist (any more); with the server's answer.
    #[error("entry `{0}` does not exist")]
    NotFound(String, #[source] Option<Cause>),
    /// An entry of that id already exists; with the server's answer.
    #[error("an entry `{0}` already exists")]
    AlreadyExists(String, #[source] Option<Cause>),
    /// A value the directory keeps unique (a name in the domain, a DN) is held by
    /// another object; with the server's answer. A create takes its next candidate.
    #[error("the `{attribute}` of entry `{entry}` is already in use in the directory")]
    Taken {
        /// The entry written (for a create, the one it would have made).
        entry: String,
        /// The attribute, as the config spells it.
        attribute: String,
        /// What the server said.
        #[source]
        cause: Option<Cause>,
    },
    /// The directory refused the entry, for the reason in the cause.
    #[error("the directory refused the change")]
    Rejected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A reason in words, as the cause of a [`DirectoryError`] when there is no error
/// value to keep (a directory's own check, a server's answer that is not an error).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Reason(pub String);

impl DirectoryError {
    /// The directory refused the change because of `reason`.
    pub fn refused(reason: impl Into<String>) -> DirectoryError {
        DirectoryError::Rejected(Box::new(Reason(reason.into())))
    }

    /// A stable name of the error, for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            DirectoryError::Unavailable { .. } => "unavailable",
            DirectoryError::Conflict(..) => "conflict",
            DirectoryError::NotFound(..) => "not_found",
            DirectoryError::AlreadyExists(..) => "already_exists",
            DirectoryError::Taken { .. } => "taken",
            DirectoryError::Rejected(_) => "rejected",
        }
    }

    /// The entry the error is about, when it names one.
    pub fn entry(&self) -> Option<&str> {
        match self {
            DirectoryError::Conflict(id, _)
            | DirectoryError::NotFound(id, _)
            | DirectoryError::AlreadyExists(id, _)
            | DirectoryError::Taken { entry: id, .. } => Some(id),
            DirectoryError::Unavailable { .. } | DirectoryError::Rejected(_) => None,
        }
    }
}

/// A target directory.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The directory's id.
    fn id(&self) -> &DirectoryId;

    /// How many writes may be in flight at once.
    fn concurrency(&self) -> usize {
        1
    }

    /// Whether a create may be sent before the creates whose entries it references
    /// (a report's, before their manager's has answered): the directory then fills the
    /// references in itself ([`NewEntry::awaiting`]), as SCIM's `/Bulk` does with
    /// `bulkId:` references inside one request. Otherwise [`crate::apply`] sends a
    /// create only once the entries it references exist.
    fn references_in_flight(&self) -> bool {
        false
    }

    /// One page of the entries in scope. `cursor` is `None` for the first page.
    async fn read_page(&self, cursor: Option<String>) -> Result<Page, DirectoryError>;

    /// Values of unique attributes held outside the scope, which new entries must not
    /// take either (Active Directory's domain-wide `sAMAccountName`), by attribute as the
    /// config spells it. Empty where the scope is all that counts.
    async fn held_elsewhere(&self) -> Result<HeldElsewhere, DirectoryError> {
        Ok(BTreeMap::new())
    }

    /// What the last read found that will make writes of one kind fail (a container
    /// that does not exist), for the plan to show on the rows it concerns.
    fn read_warnings(&self) -> Vec<ReadWarning> {
        Vec::new()
    }

    /// Creates an entry and returns its id.
    async fn create(&self, entry: &NewEntry) -> Result<Created, DirectoryError>;

    /// Updates an entry, if it is still at `revision`, and returns its id after the
    /// update (an LDAP entry whose RDN changes gets a new DN).
    async fn update(
        &self,
        id: &str,
        update: &Update,
        revision: Option<&str>,
    ) -> Result<String, DirectoryError>;

    /// Disables an entry, if it is still at `revision`, and returns its id after (an
    /// LDAP disable by `move_to` moves it).
    async fn disable(&self, id: &str, revision: Option<&str>) -> Result<String, DirectoryError>;

    /// Deletes an entry, if it is still at `revision`.
    async fn delete(&self, id: &str, revision: Option<&str>) -> Result<(), DirectoryError>;

    /// Every group in the directory's group scope (the LDAP container, all SCIM or
    /// Graph groups), with the members of each.
    async fn read_groups(&self) -> Result<Vec<Group>, DirectoryError> {
        Err(self.groups_unsupported())
    }

    /// Creates a group and returns its id.
    async fn create_group(&self, group: &NewGroup) -> Result<String, DirectoryError> {
        let _ = group;
        Err(self.groups_unsupported())
    }

    /// Renames a group and adds and removes members; returns the group's id after the
    /// change (an LDAP group renamed gets a new DN).
    async fn change_group(&self, id: &str, change: &GroupChange) -> Result<String, DirectoryError> {
        let _ = (id, change);
        Err(self.groups_unsupported())
    }

    /// Deletes a group.
    async fn delete_group(&self, id: &str) -> Result<(), DirectoryError> {
        let _ = id;
        Err(self.groups_unsupported())
    }

    /// The error of a group operation this directory does not have.
    fn groups_unsupported(&self) -> DirectoryError {
        DirectoryError::refused(format!("directory `{}` does not manage groups", self.id()))
    }

    /// What the directory's schema lacks of what hrsync reads and writes (attributes,
    /// object classes), one line each. `Ok(None)`: there is no schema to check against.
    async fn schema_problems(&self) -> Result<Option<Vec<String>>, DirectoryError> {
        Ok(None)
    }
}

/// How members of a group are compared in a directory of `kind`: LDAP DNs as DNs (case
/// and spacing around separators ignored), Graph ids without regard to case, SCIM and
/// file ids byte for byte.
pub fn member_key<'a>(kind: &DirectoryKind, id: &'a str) -> std::borrow::Cow<'a, str> {
    use crate::model::value::{Compare, canonical};
    match kind {
        DirectoryKind::Ldap(_) => canonical(Compare::Dn, id).into(),
        DirectoryKind::Entraid(_) => canonical(Compare::IgnoreCase, id).into(),
        DirectoryKind::Scim(_) | DirectoryKind::File(_) => id.into(),
    }
}

/// Reads every page of the entries in scope.
pub async fn read_all(directory: &dyn Directory) -> Result<Vec<Entry>, DirectoryError> {
    let mut entries = Vec::new();
    let mut cursor = None;
    loop {
        let page = directory.read_page(cursor).await?;
        entries.extend(page.entries);
        match page.next {
            Some(next) => cursor = Some(next),
            None => return Ok(entries),
        }
    }
}

/// Builds the directory a config declares. `state_dir` holds the embedded directory.
pub fn build(config: &DirectoryConfig, state_dir: &std::path::Path) -> Box<dyn Directory> {
    match &config.kind {
        DirectoryKind::File(settings) => Box::new(
            file::FileDirectory::new(
                config.id.clone(),
                state_dir.join(&settings.path),
                settings.id_attribute.clone(),
            )
            .with_page_size(settings.page_size)
            .with_groups(config.groups.clone()),
        ),
        DirectoryKind::Ldap(settings) => {
            let mut attributes: Vec<String> = config.fields.iter().map(|f| f.attribute.clone()).collect();
            attributes.extend(config.marker.as_ref().map(|m| m.attribute.clone()));
            let unique = config
                .fields
                .iter()
                .filter(|f| matches!(f.source, crate::config::FieldSource::Templates { unique: true, .. }))
                .map(|f| f.attribute.clone())
                .collect();
            Box::new(
                ldap::LdapDirectory::new(config.id.clone(), (**settings).clone(), attributes)
                    .with_unique(unique)
                    .with_groups(config.groups.clone()),
            )
        }
        DirectoryKind::Scim(settings) => {
            let attributes: Vec<String> = config.fields.iter().map(|f| f.attribute.clone()).collect();
            let manager = config
                .fields
                .iter()
                .find(|f| matches!(f.source, crate::config::FieldSource::Manager))
                .map(|f| f.attribute.clone());
            Box::new(
                scim::ScimDirectory::new(config.id.clone(), &settings.http, attributes, manager)
                    .with_bulk(settings.bulk)
                    .with_groups(config.groups.clone()),
            )
        }
        DirectoryKind::Entraid(settings) => {
            let mut attributes: Vec<String> = config.fields.iter().map(|f| f.attribute.clone()).collect();
            if let Some(m) = &config.marker
                && !attributes.contains(&m.attribute)
            {
                attributes.push(m.attribute.clone());
            }
            let manager = config
                .fields
                .iter()
                .find(|f| matches!(f.source, crate::config::FieldSource::Manager))
                .map(|f| f.attribute.clone());
            Box::new(
                entraid::EntraDirectory::new(config.id.clone(), settings, attributes, manager)
                    .with_groups(config.groups.clone()),
            )
        }
    }
}
