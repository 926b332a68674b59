//! The groups of the embedded directory: one JSON file per group in the `groups`
//! folder beside the entries.
//!
//! The entries are the `*.json` files of the directory's folder itself, so the
//! `groups` folder is never read as an entry. A group is named `g1`, `g2` … by a
//! counter kept in `groups/last-id`, never reused, so an id stays the group's through
//! renames and a deleted group's id never names another. Its key is kept under the key
//! attribute's name; members are a set, so adding a member twice and removing a
//! non-member change nothing. Every write replaces one file atomically.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{FileDirectory, file_stem};
use crate::config::GroupSettings;
use crate::directory::{Directory, DirectoryError, Group, GroupChange, NewGroup};

/// The folder of the groups, below the directory's.
const FOLDER: &str = "groups";
/// The file holding the last id given to a group.
const LAST_ID: &str = "last-id";

/// A group as stored.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredGroup {
    id: String,
    name: String,
    /// The key attribute and its value.
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    members: BTreeSet<String>,
}

impl FileDirectory {
    fn group_settings(&self) -> Result<&GroupSettings, DirectoryError> {
        self.groups.as_ref().ok_or_else(|| self.groups_unsupported())
    }

    fn group_folder(&self) -> PathBuf {
        self.folder.join(FOLDER)
    }

    fn group_path(&self, id: &str) -> PathBuf {
        self.group_folder().join(format!("{}.json", file_stem(id)))
    }

    fn load_group(&self, id: &str) -> Result<StoredGroup, DirectoryError> {
        self.read_json(&self.group_path(id))?.ok_or_else(|| DirectoryError::NotFound(id.to_owned(), None))
    }

    /// A new group id: the counter, counted on.
    fn next_group_id(&self) -> Result<String, DirectoryError> {
        let counter = self.group_folder().join(LAST_ID);
        let last = match std::fs::read_to_string(&counter) {
            Ok(text) => text.trim().parse::<u64>().map_err(|e| {
                self.unavailable(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {e}", counter.display()),
                ))
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(self.unavailable(e)),
        };
        let mut next = last.saturating_add(1);
        // A group file the counter does not know of (restored from a backup) keeps its id.
        while self.group_path(&format!("g{next}")).exists() {
            next = next.saturating_add(1);
        }
        self.write_json(&counter, &next)?;
        Ok(format!("g{next}"))
    }

    /// Every group, in file name order.
    pub(super) fn list_groups(&self) -> Result<Vec<Group>, DirectoryError> {
        let Some(settings) = &self.groups else { return Ok(Vec::new()) };
        let folder = self.group_folder();
        let mut names: Vec<String> = match std::fs::read_dir(&folder) {
            Ok(entries) => entries
                .map(|e| e.map(|e| e.file_name().into_string().ok()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.unavailable(e))?
                .into_iter()
                .flatten()
                .filter(|n| n.ends_with(".json"))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(self.unavailable(e)),
        };
        names.sort();
        let mut groups = Vec::with_capacity(names.len());
        for name in names {
            // A group deleted since the folder was listed is no longer one.
            let Some(stored) = self.read_json::<StoredGroup>(&folder.join(&name))? else { continue };
            groups.push(Group {
                key: stored.attributes.get(&settings.key_attribute).cloned(),
                id: stored.id,
                name: stored.name,
                members: stored.members.into_iter().collect(),
            });
        }
        Ok(groups)
    }

    /// Creates a group with a new id.
    pub(super) fn make_group(&self, group: &NewGroup) -> Result<String, DirectoryError> {
        let settings = self.group_settings()?;
        let id = self.next_group_id()?;
        let stored = StoredGroup {
            id: id.clone(),
            name: group.name.clone(),
            attributes: BTreeMap::from([(settings.key_attribute.clone(), group.key.clone())]),
            members: group.members.iter().cloned().collect(),
        };
        self.write_json(&self.group_path(&id), &stored)?;
        Ok(id)
    }

    /// Renames a group and adds and removes members; its id stays.
    pub(super) fn edit_group(&self, id: &str, change: &GroupChange) -> Result<String, DirectoryError> {
        self.group_settings()?;
        let mut stored = self.load_group(id)?;
        if let Some(name) = &change.rename {
            stored.name = name.clone();
        }
        stored.members.extend(change.add.iter().cloned());
        for member in &change.remove {
            stored.members.remove(member);
        }
        self.write_json(&self.group_path(id), &stored)?;
        Ok(id.to_owned())
    }

    /// Deletes a group.
    pub(super) fn remove_group(&self, id: &str) -> Result<(), DirectoryError> {
        self.group_settings()?;
        match std::fs::remove_file(self.group_path(id)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(DirectoryError::NotFound(id.to_owned(), None))
            }
            Err(e) => Err(self.unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GroupClass;
    use crate::directory::{NewEntry, read_all};
    use crate::model::{DirectoryId, Value};

    fn directory(folder: PathBuf) -> FileDirectory {
        FileDirectory::new(DirectoryId::new_unchecked("d"), folder, "uid".into()).with_groups(Some(
            GroupSettings { container: None, class: GroupClass::Native, key_attribute: "key".into() },
        ))
    }

    fn new_group(name: &str, members: &[&str]) -> NewGroup {
        NewGroup {
            name: name.into(),
            key: format!("hrsync:dept:{name}"),
            members: members.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[tokio::test]
    async fn groups_live_beside_the_entries_and_never_among_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = directory(tmp.path().join("d"));
        assert!(dir.read_groups().await.unwrap().is_empty(), "no folder yet");
        let entry = NewEntry::new(BTreeMap::from([("uid".to_owned(), Value::One("ada".into()))]), true);
        dir.create(&entry).await.unwrap();
        let id = dir.create_group(&new_group("R&D", &["ada", "bob"])).await.unwrap();
        let entries = read_all(&dir).await.unwrap();
        assert_eq!(entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), vec!["ada"]);
        let groups = dir.read_groups().await.unwrap();
        assert_eq!(
            groups,
            vec![Group {
                id: id.clone(),
                name: "R&D".into(),
                key: Some("hrsync:dept:R&D".into()),
                members: vec!["ada".into(), "bob".into()],
            }]
        );
    }

    #[tokio::test]
    async fn a_group_keeps_its_id_and_changes_by_its_difference() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = directory(tmp.path().join("d"));
        let first = dir.create_group(&new_group("A", &[])).await.unwrap();
        let second = dir.create_group(&new_group("B", &["x"])).await.unwrap();
        assert_ne!(first, second);
        let change = GroupChange {
            rename: Some("A2".into()),
            add: vec!["x".into(), "y".into(), "x".into()],
            remove: vec!["nobody".into()],
        };
        assert_eq!(dir.change_group(&first, &change).await.unwrap(), first);
        // The same change again finds its work done.
        assert_eq!(dir.change_group(&first, &change).await.unwrap(), first);
        let remove = GroupChange { remove: vec!["x".into()], ..GroupChange::default() };
        dir.change_group(&first, &remove).await.unwrap();
        let groups = dir.read_groups().await.unwrap();
        let a = groups.iter().find(|g| g.id == first).unwrap();
        assert_eq!((a.name.as_str(), a.members.clone()), ("A2", vec!["y".to_owned()]));
        assert_eq!(a.key.as_deref(), Some("hrsync:dept:A"), "the key stays through a rename");

        dir.delete_group(&first).await.unwrap();
        assert!(matches!(dir.delete_group(&first).await, Err(DirectoryError::NotFound(..))));
        assert!(matches!(dir.change_group(&first, &change).await, Err(DirectoryError::NotFound(..))));
        // A deleted group's id is not given again.
        let third = dir.create_group(&new_group("C", &[])).await.unwrap();
        assert!(third != first && third != second, "{third}");
        assert_eq!(dir.read_groups().await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn without_groups_there_are_none_and_no_group_writes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = FileDirectory::new(DirectoryId::new_unchecked("d"), tmp.path().join("d"), "uid".into());
        assert!(dir.read_groups().await.unwrap().is_empty());
        assert!(matches!(dir.create_group(&new_group("A", &[])).await, Err(DirectoryError::Rejected(_))));
        assert!(!tmp.path().join("d").join(FOLDER).exists());
    }
}
