//! The embedded `file` directory: one JSON file per entry in a folder under the state
//! directory.
//!
//! It exists so hrsync runs end to end with no server, and it behaves like a real
//! directory behind the same trait: paged reads in id order, a revision counter per
//! entry checked on every write, refusal to create an id that exists. A new entry's id
//! is the value of its id attribute (the first match attribute unless configured), the
//! way an LDAP entry is named by its RDN. Each write replaces one file atomically
//! (write to a temporary file, then rename). Groups are files of their own in a
//! `groups` folder beside the entries (the `groups` submodule).

mod groups;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{
    Created, Directory, DirectoryError, Entry, Group, GroupChange, NewEntry, NewGroup, Page, Update,
};
use crate::config::GroupSettings;
use crate::model::DirectoryId;
use crate::model::{Attributes, Names, Value};

/// The embedded directory.
#[derive(Debug)]
pub struct FileDirectory {
    id: DirectoryId,
    folder: PathBuf,
    id_attribute: String,
    page_size: usize,
    names: std::sync::Mutex<Names>,
    /// How it keeps groups (`groups` of its file); `None`: it has no groups to sync.
    groups: Option<GroupSettings>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    id: String,
    enabled: bool,
    revision: u64,
    attributes: BTreeMap<String, Value>,
}

impl FileDirectory {
    /// This directory, keeping groups as `groups` says (`None`: it has none to sync).
    pub fn with_groups(mut self, groups: Option<GroupSettings>) -> Self {
        self.groups = groups;
        self
    }

    /// The directory kept in `folder`; new entries are named by `id_attribute`.
    pub fn new(id: DirectoryId, folder: PathBuf, id_attribute: String) -> Self {
        FileDirectory { id, folder, id_attribute, page_size: 200, names: Default::default(), groups: None }
    }

    /// The same directory with another page size.
    pub fn with_page_size(mut self, page_size: usize) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    fn unavailable(&self, e: impl std::error::Error + Send + Sync + 'static) -> DirectoryError {
        DirectoryError::Unavailable { directory: self.id.clone(), source: Box::new(e) }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.folder.join(format!("{}.json", file_stem(id)))
    }

    fn load(&self, path: &Path) -> Result<Option<Stored>, DirectoryError> {
        self.read_json(path)
    }

    /// The JSON file at `path` (`None`: there is none).
    fn read_json<T: DeserializeOwned>(&self, path: &Path) -> Result<Option<T>, DirectoryError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                self.unavailable(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                ))
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.unavailable(e)),
        }
    }

    fn store(&self, stored: &Stored) -> Result<(), DirectoryError> {
        self.write_json(&self.path(&stored.id), stored)
    }

    /// Replaces the file at `path` by `value` as JSON, atomically: written to a
    /// temporary file beside it, then renamed over it.
    fn write_json(&self, path: &Path, value: &impl Serialize) -> Result<(), DirectoryError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| self.unavailable(e))?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| self.unavailable(e))?;
        bytes.push(b'\n');
        std::fs::write(&tmp, bytes)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| self.unavailable(e))
    }

    /// The stored entry, if it is still at `revision`.
    fn current(&self, id: &str, revision: Option<&str>) -> Result<Stored, DirectoryError> {
        let stored =
            self.load(&self.path(id))?.ok_or_else(|| DirectoryError::NotFound(id.to_owned(), None))?;
        match revision {
            Some(r) if r != stored.revision.to_string() => Err(DirectoryError::Conflict(id.to_owned(), None)),
            _ => Ok(stored),
        }
    }
}

/// A file name for an id: letters, digits, `-` and `_` as they are, every other byte
/// percent-encoded, so ids that differ map to names that differ.
fn file_stem(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait]
impl Directory for FileDirectory {
    fn id(&self) -> &DirectoryId {
        &self.id
    }

    async fn read_page(&self, cursor: Option<String>) -> Result<Page, DirectoryError> {
        let mut names: Vec<String> = match std::fs::read_dir(&self.folder) {
            Ok(entries) => entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".json"))
                .filter(|n| cursor.as_ref().is_none_or(|c| n > c))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(self.unavailable(e)),
        };
        names.sort();
        let more = names.len() > self.page_size;
        names.truncate(self.page_size);
        let mut entries = Vec::with_capacity(names.len());
        let mut shared =
            self.names.lock().map_err(|_| self.unavailable(io::Error::other("name table poisoned")))?;
        for name in &names {
            if let Some(s) = self.load(&self.folder.join(name))? {
                entries.push(Entry {
                    id: s.id,
                    attributes: Attributes::from_map(s.attributes, &mut shared),
                    enabled: s.enabled,
                    revision: Some(s.revision.to_string()),
                });
            }
        }
        Ok(Page { entries, next: if more { names.last().cloned() } else { None } })
    }

    async fn create(&self, entry: &NewEntry) -> Result<Created, DirectoryError> {
        let id = entry
            .attributes
            .get(&self.id_attribute)
            .and_then(Value::first)
            .ok_or_else(|| {
                DirectoryError::refused(format!(
                    "the entry has no `{}`, which names entries here",
                    self.id_attribute
                ))
            })?
            .to_owned();
        if self.load(&self.path(&id))?.is_some() {
            return Err(DirectoryError::Taken {
                entry: id,
                attribute: self.id_attribute.clone(),
                cause: None,
            });
        }
        self.store(&Stored {
            id: id.clone(),
            enabled: entry.enabled,
            revision: 1,
            attributes: entry.attributes.clone(),
        })?;
        Ok(id.into())
    }

    async fn update(
        &self,
        id: &str,
        update: &Update,
        revision: Option<&str>,
    ) -> Result<String, DirectoryError> {
        let mut stored = self.current(id, revision)?;
        for (name, value) in &update.set {
            match value {
                Some(v) => stored.attributes.insert(name.clone(), v.clone()),
                None => stored.attributes.remove(name),
            };
        }
        if let Some(enabled) = update.enabled {
            stored.enabled = enabled;
        }
        stored.revision += 1;
        self.store(&stored).map(|()| id.to_owned())
    }

    async fn disable(&self, id: &str, revision: Option<&str>) -> Result<String, DirectoryError> {
        self.update(id, &Update { enabled: Some(false), ..Update::default() }, revision).await
    }

    async fn delete(&self, id: &str, revision: Option<&str>) -> Result<(), DirectoryError> {
        self.current(id, revision)?;
        std::fs::remove_file(self.path(id)).map_err(|e| self.unavailable(e))
    }

    async fn read_groups(&self) -> Result<Vec<Group>, DirectoryError> {
        self.list_groups()
    }

    async fn create_group(&self, group: &NewGroup) -> Result<String, DirectoryError> {
        self.make_group(group)
    }

    async fn change_group(&self, id: &str, change: &GroupChange) -> Result<String, DirectoryError> {
        self.edit_group(id, change)
    }

    async fn delete_group(&self, id: &str) -> Result<(), DirectoryError> {
        self.remove_group(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::read_all;

    fn new(attrs: &[(&str, &str)]) -> NewEntry {
        NewEntry::new(attrs.iter().map(|(k, v)| (k.to_string(), Value::One(v.to_string()))).collect(), true)
    }

    #[tokio::test]
    async fn behaves_like_a_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = FileDirectory::new(DirectoryId::new_unchecked("d"), tmp.path().join("d"), "uid".into())
            .with_page_size(2);
        assert!(read_all(&dir).await.unwrap().is_empty());
        for uid in ["c", "a", "b/x", "d"] {
            dir.create(&new(&[("uid", uid), ("cn", "X")])).await.unwrap();
        }
        assert!(matches!(dir.create(&new(&[("uid", "a")])).await, Err(DirectoryError::Taken { .. })));
        assert!(matches!(dir.create(&new(&[("cn", "a")])).await, Err(DirectoryError::Rejected(_))));

        let all = read_all(&dir).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids.len(), 4, "all pages are read: {ids:?}");
        let a = all.iter().find(|e| e.id == "a").unwrap();
        assert_eq!(a.revision.as_deref(), Some("1"));

        let set = Update {
            set: BTreeMap::from([("cn".into(), Some(Value::One("Y".into())))]),
            ..Update::default()
        };
        dir.update("a", &set, Some("1")).await.unwrap();
        // A write against the old revision is refused.
        assert!(matches!(dir.update("a", &set, Some("1")).await, Err(DirectoryError::Conflict(..))));
        dir.disable("a", Some("2")).await.unwrap();
        let a = read_all(&dir).await.unwrap().into_iter().find(|e| e.id == "a").unwrap();
        assert!(!a.enabled);
        assert_eq!(a.attributes.get("cn"), Some(&Value::One("Y".into())));
        assert!(matches!(dir.delete("a", Some("2")).await, Err(DirectoryError::Conflict(..))));
        dir.delete("a", Some("3")).await.unwrap();
        assert!(matches!(dir.delete("a", None).await, Err(DirectoryError::NotFound(..))));
        assert_eq!(read_all(&dir).await.unwrap().len(), 3);
    }

    #[test]
    fn file_names_are_injective_and_safe() {
        assert_eq!(file_stem("E1001"), "E1001");
        assert_eq!(file_stem("../x"), "%2E%2E%2Fx");
        assert_ne!(file_stem("a b"), file_stem("a_b"));
    }
}
