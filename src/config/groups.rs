//! Group definitions (`groups/*.yaml`) as the plan uses them: which groups a definition
//! makes, who is a member, and the key that marks a group as hrsync's.
//!
//! This module owns what a definition means once compiled. It must not look at people
//! or directories: the plan decides memberships ([`crate::plan`]).

use crate::model::template::{Template, Vars};
use crate::model::{DirectoryId, FieldRef, FieldValue, FilterId, GroupDefId, PersonField};

pub use super::spec::GroupLeavers;

/// The prefix of every key hrsync writes to the groups it owns.
pub const KEY_PREFIX: &str = "hrsync:";

/// Keys longer than this (bytes) end in a hash of the value instead of the value, so
/// they fit the key attributes of every directory (LDAP's `businessCategory` is
/// limited to 128 characters by the standard schema).
const MAX_KEY_BYTES: usize = 120;

/// One group definition.
#[derive(Clone, Debug)]
pub struct GroupDef {
    /// Its id (part of every group's key).
    pub id: GroupDefId,
    /// The file it is declared in.
    pub file: String,
    /// The directories that get its groups.
    pub directories: Vec<DirectoryId>,
    /// The field grouped by (`None`: a static group).
    pub per: Option<FieldRef>,
    /// The group's name.
    pub name: Template,
    /// Only the people this filter includes are members.
    pub filter: Option<FilterId>,
    /// Org-unit groups have their child units' groups as members.
    pub nesting: bool,
    /// What happens to leavers' memberships.
    pub leavers: GroupLeavers,
    /// Delete an owned group once it has no members.
    pub delete_empty: bool,
}

impl GroupDef {
    /// Whether this definition makes one group per org unit.
    pub fn per_org_unit(&self) -> bool {
        self.per == Some(FieldRef::Person(PersonField::OrgUnit))
    }

    /// The key of the group of `value` (`None` for a static group) in a directory of
    /// `owner` (`<workspace>/<directory>`, as for entries' markers):
    /// `hrsync:<owner>:<id>` or `hrsync:<owner>:<id>:<value>`. Values compare without
    /// regard to case, so "Sales" and "sales" are one group.
    pub fn key(&self, owner: &str, value: Option<&str>) -> String {
        let Some(value) = value else { return format!("{}{}", owner_prefix(owner), self.id) };
        let value = value.trim().to_lowercase();
        let key = format!("{}{}:{value}", owner_prefix(owner), self.id);
        if key.len() <= MAX_KEY_BYTES {
            return key;
        }
        use sha2::Digest;
        let hash = hex::encode(&sha2::Sha256::digest(value.as_bytes())[..12]);
        format!("{}{}:#{hash}", owner_prefix(owner), self.id)
    }

    /// Whether `key` is a key of this definition's groups for `owner`.
    pub fn owns_key(&self, owner: &str, key: &str) -> bool {
        key.strip_prefix(&owner_prefix(owner))
            .and_then(|k| k.strip_prefix(self.id.as_str()))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
    }

    /// The name of the group of `value` (an org unit's `name` with it), `None` when it
    /// renders empty.
    pub fn group_name(&self, value: Option<&str>, unit_name: Option<&str>) -> Option<String> {
        self.name.render(&GroupVars { per: self.per.as_ref(), value, unit_name }, None)
    }
}

/// The start of every key of the groups `owner` owns: `hrsync:<owner>:`.
pub fn owner_prefix(owner: &str) -> String {
    format!("{KEY_PREFIX}{owner}:")
}

/// What a group's name may use: the value grouped by, and an org unit's name.
struct GroupVars<'a> {
    per: Option<&'a FieldRef>,
    value: Option<&'a str>,
    unit_name: Option<&'a str>,
}

impl Vars for GroupVars<'_> {
    fn get(&self, field: &FieldRef) -> Option<FieldValue<'_>> {
        if field == &FieldRef::OrgUnitName {
            return self.unit_name.or(self.value).map(FieldValue::Text);
        }
        (Some(field) == self.per).then_some(self.value).flatten().map(FieldValue::Text)
    }
}

/// The names a group's name template may use for a definition grouping by `per`.
pub(super) fn name_aliases(per: Option<&FieldRef>) -> Vec<(&'static str, FieldRef)> {
    match per {
        None => Vec::new(),
        Some(f @ FieldRef::Person(PersonField::OrgUnit)) => {
            vec![("value", f.clone()), ("name", FieldRef::OrgUnitName)]
        }
        Some(f) => vec![("value", f.clone()), ("name", f.clone())],
    }
}
