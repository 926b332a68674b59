//! The groups of a SCIM service: `/Groups` resources (RFC 7643 §4.2), read and written
//! as RFC 7644 says.
//!
//! Reads page through `/Groups` with `startIndex` and `count`, asking only for `id`,
//! `displayName`, `members` and the key attribute, and read until `totalResults`: a list
//! that ends early is an error, never a shorter list. A member's `value` is the id of
//! the user (or group) it names. Creates POST the group with its key (`externalId`
//! unless configured otherwise) and a first chunk of members, then PATCH the rest. A
//! create whose answer was lost is looked up by its key before it is sent again.
//!
//! Changes are PATCH requests (RFC 7644 §3.5.2), never a PUT and never a `replace` of
//! `members`: a rename replaces `displayName`, members are added with one `add` of
//! `members` holding their values and removed with one `remove` of
//! `members[value eq "…"]` each. Both are idempotent at a server that follows the RFC
//! (scim2-server does: adding a member twice keeps one, removing a non-member succeeds,
//! as §3.5.2.2's example asks). A server that instead refuses a request (400, with
//! `noTarget` or `invalidValue`, or 409) is answered by reading the group's members once
//! and sending only what is still to do.

use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value as Json, json};

use super::{PATCH_OP, Path, ScimDirectory};
use crate::config::GroupSettings;
use crate::directory::{Directory, DirectoryError, Group, GroupChange, NewGroup};
use crate::http::{Http, HttpError};
use crate::model::Value;

/// The core Group schema (RFC 7643 §4.2).
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// How many member changes (values added plus members removed, a rename counting as
/// one) one PATCH carries at most. RFC 7644 sets no limit, but services do: AWS IAM
/// Identity Center refuses more than 100 membership changes in a single request
/// (<https://docs.aws.amazon.com/singlesignon/latest/developerguide/patchgroup.html>),
/// and large bodies are slow to apply everywhere. 100 keeps each request small; a group
/// of 2,000 is created with one POST and 19 PATCHes.
pub(super) const MEMBER_CHANGES_PER_REQUEST: usize = 100;

/// One PATCH of a group change.
#[derive(Debug, Default, PartialEq, Eq)]
struct Batch {
    rename: Option<String>,
    add: Vec<String>,
    remove: Vec<String>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.rename.is_none() && self.add.is_empty() && self.remove.is_empty()
    }

    fn has_members(&self) -> bool {
        !self.add.is_empty() || !self.remove.is_empty()
    }

    /// Keeps what is still to do against the members the group holds.
    fn retain_needed(&mut self, present: &HashSet<String>) {
        self.add.retain(|m| !present.contains(m));
        self.remove.retain(|m| present.contains(m));
    }

    /// Records in `present` what this batch did.
    fn apply_to(&self, present: &mut HashSet<String>) {
        present.extend(self.add.iter().cloned());
        for m in &self.remove {
            present.remove(m);
        }
    }

    /// The PatchOp operations (RFC 7644 §3.5.2) of this batch.
    fn operations(&self) -> Vec<Json> {
        let mut operations = Vec::new();
        if let Some(name) = &self.rename {
            operations.push(json!({ "op": "replace", "path": "displayName", "value": name }));
        }
        if !self.add.is_empty() {
            let values: Vec<Json> = self.add.iter().map(|m| json!({ "value": m })).collect();
            operations.push(json!({ "op": "add", "path": "members", "value": values }));
        }
        for m in &self.remove {
            // The filter's value is a JSON string: serde_json escapes it exactly.
            let path = format!("members[value eq {}]", Json::String(m.clone()));
            operations.push(json!({ "op": "remove", "path": path }));
        }
        operations
    }
}

/// Each item once, in the order first given.
fn distinct(items: &[String]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().filter(|m| seen.insert(m.as_str())).cloned().collect()
}

/// A change cut into PATCHes of at most [`MEMBER_CHANGES_PER_REQUEST`] changes; the
/// rename goes with the first.
fn batches(change: &GroupChange) -> Vec<Batch> {
    let mut out = Vec::new();
    let mut current = Batch { rename: change.rename.clone(), ..Batch::default() };
    let mut size = usize::from(current.rename.is_some());
    let adds = distinct(&change.add).into_iter().map(|m| (true, m));
    let removes = distinct(&change.remove).into_iter().map(|m| (false, m));
    for (add, member) in adds.chain(removes) {
        if size == MEMBER_CHANGES_PER_REQUEST {
            out.push(std::mem::take(&mut current));
            size = 0;
        }
        if add {
            current.add.push(member)
        } else {
            current.remove.push(member)
        }
        size += 1;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The attribute name of a key path, as `attributes` and `filter` take it.
fn attribute_name(key_attribute: &str) -> &str {
    key_attribute.split('[').next().unwrap_or(key_attribute)
}

/// Whether a refused PATCH may have been refused for work already done: a member
/// added twice (409, or 400 `uniqueness`) or a removal that matched nothing (400
/// `noTarget`). The answer's detail does not carry the `scimType` reliably, so any 400
/// or 409 counts; a refusal for another reason is refused again after the check.
fn maybe_done(e: &HttpError) -> bool {
    matches!(e.status(), Some(StatusCode::BAD_REQUEST | StatusCode::CONFLICT))
}

impl ScimDirectory {
    fn group_settings(&self) -> Result<&GroupSettings, DirectoryError> {
        self.groups.as_ref().ok_or_else(|| self.groups_unsupported())
    }

    fn group_unavailable(&self, why: String) -> DirectoryError {
        DirectoryError::Unavailable {
            directory: self.id.clone(),
            source: Box::new(std::io::Error::other(why)),
        }
    }

    /// A Group resource as a [`Group`]; `None` without an id.
    fn to_group(resource: &Json, key: &Path) -> Option<Group> {
        let id = resource.get("id")?.as_str()?.to_owned();
        let name = resource.get("displayName").and_then(Json::as_str).unwrap_or_default().to_owned();
        // A multi-valued key attribute may hold other values beside hrsync's key.
        let key = key.get(resource).as_ref().and_then(|v| {
            v.values()
                .iter()
                .find(|s| s.trim().starts_with(crate::config::groups::KEY_PREFIX))
                .or(v.values().first())
                .cloned()
        });
        let members = resource
            .get("members")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("value").and_then(Json::as_str).map(str::to_owned))
            .collect();
        Some(Group { id, name, key, members })
    }

    /// Every group, read page by page up to `totalResults`.
    pub(super) async fn list_groups(&self) -> Result<Vec<Group>, DirectoryError> {
        let Some(settings) = &self.groups else { return Ok(Vec::new()) };
        let key = Path::parse(&settings.key_attribute);
        let attributes = format!("id,displayName,members,{}", attribute_name(&settings.key_attribute));
        let mut groups: Vec<Group> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut start: u64 = 1;
        loop {
            let query = [
                ("startIndex", start.to_string()),
                ("count", self.page_size.to_string()),
                ("attributes", attributes.clone()),
            ];
            let response =
                self.http()?.send(Method::GET, "Groups", &query, None, &[]).await.map_err(|e| {
                    DirectoryError::Unavailable { directory: self.id.clone(), source: Box::new(e) }
                })?;
            let body = response.body.unwrap_or(Json::Null);
            // RFC 7644 §3.4.2: `totalResults` is required; `Resources` may be left out
            // when there is nothing (more) to list.
            let Some(total) = body.get("totalResults").and_then(Json::as_u64) else {
                return Err(self.group_unavailable("GET /Groups answered without `totalResults`".into()));
            };
            let resources = match body.get("Resources") {
                None => &[][..],
                Some(Json::Array(resources)) => resources.as_slice(),
                Some(_) => {
                    return Err(
                        self.group_unavailable("GET /Groups answered `Resources` that is not a list".into())
                    );
                }
            };
            let mut new = 0;
            for resource in resources {
                let group = Self::to_group(resource, &key).ok_or_else(|| {
                    self.group_unavailable("GET /Groups listed a group without an id".into())
                })?;
                if seen.insert(group.id.clone()) {
                    groups.push(group);
                    new += 1;
                }
            }
            let read = groups.len() as u64;
            if read >= total {
                return Ok(groups);
            }
            // A page that adds nothing before the total: the list is not complete.
            if new == 0 {
                return Err(self.group_unavailable(format!(
                    "the service listed {read} of {total} groups, then stopped"
                )));
            }
            start = start.saturating_add(resources.len() as u64);
        }
    }

    /// The id of the one group whose key attribute holds `key`, if any.
    async fn find_group(
        &self,
        settings: &GroupSettings,
        key: &str,
    ) -> Result<Option<String>, DirectoryError> {
        let attribute = attribute_name(&settings.key_attribute);
        let filter = format!("{attribute} eq {}", Json::String(key.to_owned()));
        let query = [("filter", filter), ("attributes", "id".to_owned())];
        let response = self
            .http()?
            .send(Method::GET, "Groups", &query, None, &[])
            .await
            .map_err(|e| self.error(key, e))?;
        let resources = response.body.as_ref().and_then(|b| b.get("Resources")).and_then(Json::as_array);
        Ok(match resources.map(Vec::as_slice) {
            Some([one]) => one.get("id").and_then(Json::as_str).map(str::to_owned),
            _ => None,
        })
    }

    /// Creates a group with its first members, then adds the others by PATCH. If a
    /// PATCH fails the group exists with its key, and the next run adds the rest.
    pub(super) async fn make_group(&self, group: &NewGroup) -> Result<String, DirectoryError> {
        let settings = self.group_settings()?;
        let members = distinct(&group.members);
        let (first, rest) = members.split_at(members.len().min(MEMBER_CHANGES_PER_REQUEST));
        let mut body = json!({ "schemas": [GROUP], "displayName": group.name });
        Path::parse(&settings.key_attribute).set(&mut body, &Value::One(group.key.clone()), false);
        if !first.is_empty() {
            body["members"] = first.iter().map(|m| json!({ "value": m })).collect();
        }
        let http = self.http()?;
        let body = &body;
        let id = crate::directory::rest::create(
            || http.send(Method::POST, "Groups", &[], Some(body), &[]),
            || self.find_group(settings, &group.key),
            |e| self.error(&group.name, e),
            "the service created a group but returned no id",
        )
        .await?;
        if !rest.is_empty() {
            self.patch_group(&id, &GroupChange { add: rest.to_vec(), ..GroupChange::default() }).await?;
        }
        Ok(id)
    }

    async fn send_batch(http: &Http, id: &str, batch: &Batch) -> Result<(), HttpError> {
        let body = json!({ "schemas": [PATCH_OP], "Operations": batch.operations() });
        http.send(Method::PATCH, &format!("Groups/{id}"), &[], Some(&body), &[]).await.map(|_| ())
    }

    /// The members group `id` holds now: one GET.
    async fn members_now(&self, id: &str) -> Result<HashSet<String>, DirectoryError> {
        let query = [("attributes", "members".to_owned())];
        let response = self
            .http()?
            .send(Method::GET, &format!("Groups/{id}"), &query, None, &[])
            .await
            .map_err(|e| self.error(id, e))?;
        let body = response.body.unwrap_or(Json::Null);
        Ok(body
            .get("members")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| m.get("value").and_then(Json::as_str).map(str::to_owned))
            .collect())
    }

    /// Renames a group and adds and removes members, [`MEMBER_CHANGES_PER_REQUEST`]
    /// at a time.
    pub(super) async fn patch_group(&self, id: &str, change: &GroupChange) -> Result<String, DirectoryError> {
        self.group_settings()?;
        let http = self.http()?;
        // The members as the server holds them, once a refusal made us read them.
        let mut present: Option<HashSet<String>> = None;
        for mut batch in batches(change) {
            if let Some(present) = &present {
                batch.retain_needed(present);
            }
            if batch.is_empty() {
                continue;
            }
            match Self::send_batch(http, id, &batch).await {
                Ok(()) => {}
                Err(e) if present.is_none() && batch.has_members() && maybe_done(&e) => {
                    let now = self.members_now(id).await?;
                    batch.retain_needed(&now);
                    present = Some(now);
                    if !batch.is_empty() {
                        Self::send_batch(http, id, &batch).await.map_err(|e| self.error(id, e))?;
                    }
                }
                Err(e) => return Err(self.error(id, e)),
            }
            if let Some(present) = &mut present {
                batch.apply_to(present);
            }
        }
        Ok(id.to_owned())
    }

    /// Deletes group `id`.
    pub(super) async fn remove_group(&self, id: &str) -> Result<(), DirectoryError> {
        self.group_settings()?;
        self.http()?
            .send(Method::DELETE, &format!("Groups/{id}"), &[], None, &[])
            .await
            .map(|_| ())
            .map_err(|e| self.error(id, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(prefix: &str, n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{prefix}{i}")).collect()
    }

    #[test]
    fn changes_are_cut_into_small_patches() {
        let change = GroupChange { rename: Some("New".into()), add: ids("a", 150), remove: ids("r", 60) };
        let batches = batches(&change);
        let sizes: Vec<(bool, usize, usize)> =
            batches.iter().map(|b| (b.rename.is_some(), b.add.len(), b.remove.len())).collect();
        assert_eq!(sizes, vec![(true, 99, 0), (false, 51, 49), (false, 0, 11)]);
        for b in &batches {
            let changes = usize::from(b.rename.is_some()) + b.add.len() + b.remove.len();
            assert!(changes <= MEMBER_CHANGES_PER_REQUEST);
        }
        assert!(super::batches(&GroupChange::default()).is_empty());
        let twice = GroupChange { add: vec!["x".into(), "x".into()], ..GroupChange::default() };
        assert_eq!(super::batches(&twice)[0].add, vec!["x".to_owned()]);
    }

    #[test]
    fn operations_add_members_and_remove_them_by_filter() {
        let batch = Batch {
            rename: Some("Ops".into()),
            add: vec!["u1".into(), "u2".into()],
            remove: vec!["x\"y".into()],
        };
        assert_eq!(
            batch.operations(),
            vec![
                json!({"op": "replace", "path": "displayName", "value": "Ops"}),
                json!({"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}),
                json!({"op": "remove", "path": "members[value eq \"x\\\"y\"]"}),
            ]
        );
    }

    #[test]
    fn a_batch_keeps_only_what_is_left_to_do() {
        let mut batch = Batch {
            rename: None,
            add: vec!["in".into(), "out".into()],
            remove: vec!["in".into(), "gone".into()],
        };
        let present: HashSet<String> = ["in".to_owned()].into();
        batch.retain_needed(&present);
        assert_eq!((batch.add, batch.remove), (vec!["out".to_owned()], vec!["in".to_owned()]));
    }
}
