//! Read + write targets: one [`Directory`] trait, one module per kind.
//!
//! A directory lists the entries in hrsync's scope page by page, and creates, updates,
//! disables and deletes entries one at a time. Every write that changes an existing
//! entry carries a precondition (the entry's revision as read: a SCIM ETag, LDAP old
//! values, the embedded directory's revision counter), so a write planned against stale
//! data fails for that entry instead of overwriting a newer change. Directories do not
//! decide anything: the plan does.
//!
//! This module also holds attribute [`Value`]s and how they are compared ([`Compare`]),
//! because comparing is directory-aware (case-insensitive mail, DNs, phone numbers).

pub mod file;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::config::{Compare, DirectoryConfig, DirectoryId, DirectoryKind};

/// An attribute value as a directory holds it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// One value.
    One(String),
    /// Several values (multi-valued attributes), compared as a set.
    Many(Vec<String>),
}

impl Value {
    /// The values, as a slice.
    pub fn values(&self) -> &[String] {
        match self {
            Value::One(v) => std::slice::from_ref(v),
            Value::Many(v) => v,
        }
    }

    /// The first value.
    pub fn first(&self) -> Option<&str> {
        self.values().first().map(String::as_str)
    }
}

/// An entry as read from a directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The directory's reference to the entry: a DN, a SCIM or Graph id, a file id.
    pub id: String,
    /// Attributes, by name.
    pub attributes: BTreeMap<String, Value>,
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

/// A new entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEntry {
    /// Its attributes.
    pub attributes: BTreeMap<String, Value>,
    /// Whether it starts enabled.
    pub enabled: bool,
}

/// Changes to an existing entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Attributes to set (`Some`) or remove (`None`).
    pub set: BTreeMap<String, Option<Value>>,
    /// Enable (`Some(true)`) or disable (`Some(false)`) the account.
    pub enabled: Option<bool>,
}

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
    /// The entry changed since it was read.
    #[error("entry `{0}` changed since the plan was made; the next run will plan it again")]
    Conflict(String),
    /// The entry does not exist (any more).
    #[error("entry `{0}` does not exist")]
    NotFound(String),
    /// An entry of that id already exists.
    #[error("an entry `{0}` already exists")]
    AlreadyExists(String),
    /// The directory refused the entry.
    #[error("the directory refused the change: {0}")]
    Rejected(String),
}

/// A target directory.
#[async_trait]
pub trait Directory: Send + Sync {
    /// The directory's id.
    fn id(&self) -> &DirectoryId;

    /// One page of the entries in scope. `cursor` is `None` for the first page.
    async fn read_page(&self, cursor: Option<String>) -> Result<Page, DirectoryError>;

    /// Creates an entry and returns its id.
    async fn create(&self, entry: &NewEntry) -> Result<String, DirectoryError>;

    /// Updates an entry, if it is still at `revision`.
    async fn update(&self, id: &str, update: &Update, revision: Option<&str>) -> Result<(), DirectoryError>;

    /// Disables an entry, if it is still at `revision`.
    async fn disable(&self, id: &str, revision: Option<&str>) -> Result<(), DirectoryError>;

    /// Deletes an entry, if it is still at `revision`.
    async fn delete(&self, id: &str, revision: Option<&str>) -> Result<(), DirectoryError>;
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
            .with_page_size(settings.page_size),
        ),
    }
}

/// Canonical form of one value under a comparison, so equal values compare equal.
pub fn canonical(compare: Compare, value: &str) -> String {
    match compare {
        Compare::Exact => value.to_owned(),
        Compare::IgnoreCase => value.to_lowercase(),
        Compare::Phone => value.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '/')).collect(),
        Compare::Dn => canonical_dn(value),
    }
}

/// A DN with insignificant differences removed: spaces around `,` `=` `+`, and case.
/// Escaped characters (`\,`) stay escaped.
fn canonical_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(n) = chars.next() {
                    out.extend(n.to_lowercase());
                }
            }
            ',' | '=' | '+' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(c);
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Whether a desired value equals what the directory holds. Several values compare as
/// a set; an absent value equals only an absent one.
pub fn same(compare: Compare, desired: Option<&Value>, live: Option<&Value>) -> bool {
    match (desired, live) {
        (None, None) => true,
        (Some(d), Some(l)) => {
            let set = |v: &Value| {
                let mut s: Vec<String> = v.values().iter().map(|x| canonical(compare, x)).collect();
                s.sort();
                s.dedup();
                s
            };
            match (d, l) {
                (Value::One(a), Value::One(b)) => a == b || canonical(compare, a) == canonical(compare, b),
                _ => set(d) == set(l),
            }
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Value {
        Value::One(s.into())
    }

    #[test]
    fn comparison_is_target_aware() {
        assert!(same(Compare::IgnoreCase, Some(&one("Ada@Acme.test")), Some(&one("ada@acme.test"))));
        assert!(!same(Compare::Exact, Some(&one("Ada")), Some(&one("ada"))));
        assert!(same(Compare::Phone, Some(&one("+49 30 1234-56")), Some(&one("+4930123456"))));
        assert!(same(
            Compare::Dn,
            Some(&one("CN=Ada Lovelace, OU=People,dc=acme")),
            Some(&one("cn=ada lovelace,ou=people, DC=ACME"))
        ));
        assert!(!same(Compare::Dn, Some(&one("cn=a\\,b,dc=x")), Some(&one("cn=a,b,dc=x"))));
        let many = Value::Many(vec!["b".into(), "A".into()]);
        assert!(same(Compare::IgnoreCase, Some(&Value::Many(vec!["a".into(), "b".into()])), Some(&many)));
        assert!(!same(Compare::Exact, Some(&one("a")), Some(&many)));
        assert!(same(Compare::Exact, Some(&one("a")), Some(&Value::Many(vec!["a".into()]))));
        assert!(!same(Compare::Exact, None, Some(&one("a"))));
        assert!(same(Compare::Exact, None, None));
    }
}
