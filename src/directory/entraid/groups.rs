//! The groups of an Entra ID tenant, through Microsoft Graph v1.0.
//!
//! Reads page through `/groups` with `$select` (id, `displayName` and the key
//! property, `description` unless configured otherwise), following `@odata.nextLink`.
//! Members are read only for the groups whose key starts with `hrsync:`, the ones
//! hrsync owns ("List group members",
//! <https://learn.microsoft.com/en-us/graph/api/group-list-members?view=graph-rest-1.0>):
//! another group is listed with no members, as reading the members of every group of a
//! tenant would cost a request or more each for groups hrsync never changes.
//!
//! Creates are security groups ("Create group",
//! <https://learn.microsoft.com/en-us/graph/api/group-post-groups?view=graph-rest-1.0>):
//! `mailEnabled` false, `securityEnabled` true, a `mailNickname` made from the name,
//! the key, and the first members bound with `members@odata.bind`; Graph takes at most
//! 20 references with a create, so the others follow in PATCHes. Graph may refuse
//! members of a group created a moment ago (its replicas do not know the group yet), so
//! those are asked again after a pause.
//!
//! Members are added by PATCH with `members@odata.bind`, at most 20 a request ("Add
//! members",
//! <https://learn.microsoft.com/en-us/graph/api/group-post-members?view=graph-rest-1.0>).
//! Graph refuses the whole request (400, "One or more added object references already
//! exist") when one of them is a member already; those 20 are then added one by one with
//! `POST /groups/{id}/members/$ref`, where that answer means the work is done. Members
//! are removed one by one with `DELETE /groups/{id}/members/{member}/$ref` ("Remove
//! member",
//! <https://learn.microsoft.com/en-us/graph/api/group-delete-members?view=graph-rest-1.0>);
//! a 404 there means the member is not one (Graph answers the same for a missing group,
//! which the next read shows), so it is done too.

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value as Json, json};

use super::{EntraDirectory, Prop};
use crate::config::GroupSettings;
use crate::directory::{Directory, DirectoryError, Group, GroupChange, NewGroup};
use crate::http::{Http, HttpError};
use crate::model::Value;

/// Graph's limit of references in one request: "up to 20 members can be added in a
/// single request" (Add members), "a maximum of 20 relationships, such as owners and
/// members, can be added as part of group creation" (Create group).
pub(super) const REFERENCES_PER_REQUEST: usize = 20;

/// Graph's largest page (`$top` 1–999) of groups and of members.
const PAGE_LIMIT: u32 = 999;

/// The start of hrsync's key of a group: groups whose key starts so are hrsync's.
const OWNED: &str = "hrsync:";

/// How often, and after how long, adding the members of a group created a moment ago
/// is asked again ("Add members": "Retry after a brief delay").
const FRESH_RETRIES: [Duration; 3] = [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)];

/// A mail nickname for a group: the ASCII letters and digits of its name, at most 64
/// ("Create group" allows ASCII without `@ () \ [] " ; : . <> ,` and space).
fn group_nickname(name: &str) -> String {
    let nickname: String = name.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
    if nickname.is_empty() { "group".to_owned() } else { nickname }
}

/// Each item once, in the order first given.
fn distinct(items: &[String]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(items.len());
    items.iter().filter(|m| seen.insert(m.as_str())).cloned().collect()
}

/// Graph's answer that a reference added is one already.
fn already_member(e: &HttpError) -> bool {
    matches!(e, HttpError::Status { status: StatusCode::BAD_REQUEST, detail: Some(d), .. }
        if d.contains("added object references already exist"))
}

impl EntraDirectory {
    fn group_settings(&self) -> Result<&GroupSettings, DirectoryError> {
        self.groups.as_ref().ok_or_else(|| self.groups_unsupported())
    }

    /// The reference to directory object `id`, as `@odata.bind` and `$ref` take it.
    fn reference(http: &Http, id: &str) -> String {
        http.url(&format!("directoryObjects/{id}"))
    }

    /// Every item of a collection, following `@odata.nextLink`.
    async fn read_all_pages(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Vec<Json>, DirectoryError> {
        let http = self.http()?;
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let response = match &next {
                // The next link carries the whole query.
                Some(link) => http.send(Method::GET, link, &[], None, &[]).await,
                None => http.send(Method::GET, path, query, None, &[]).await,
            }
            .map_err(|e| self.unavailable(e))?;
            let body = response.body.unwrap_or(Json::Null);
            let Some(page) = body.get("value").and_then(Json::as_array) else {
                return Err(self.unavailable(std::io::Error::other("Graph answered a page without `value`")));
            };
            items.extend(page.iter().cloned());
            match body.get("@odata.nextLink").and_then(Json::as_str) {
                Some(link) => next = Some(link.to_owned()),
                None => return Ok(items),
            }
        }
    }

    /// The ids of the members of group `id`.
    async fn member_ids(&self, id: &str) -> Result<Vec<String>, DirectoryError> {
        let query = [("$select", "id".to_owned()), ("$top", PAGE_LIMIT.to_string())];
        let members = self.read_all_pages(&format!("groups/{id}/members"), &query).await?;
        Ok(members.iter().filter_map(|m| m.get("id").and_then(Json::as_str).map(str::to_owned)).collect())
    }

    /// Every group; only those hrsync owns with their members.
    pub(super) async fn list_groups(&self) -> Result<Vec<Group>, DirectoryError> {
        let Some(settings) = &self.groups else { return Ok(Vec::new()) };
        let key = Prop::parse(&settings.key_attribute);
        let mut select = vec!["id", "displayName"];
        if !select.contains(&key.top()) {
            select.push(key.top());
        }
        let query = [("$select", select.join(",")), ("$top", self.page_size.min(PAGE_LIMIT).to_string())];
        let mut groups = Vec::new();
        for item in self.read_all_pages("groups", &query).await? {
            let Some(id) = item.get("id").and_then(Json::as_str) else {
                return Err(self.unavailable(std::io::Error::other("Graph listed a group without an id")));
            };
            groups.push(Group {
                id: id.to_owned(),
                name: item.get("displayName").and_then(Json::as_str).unwrap_or_default().to_owned(),
                key: key.get(&item).as_ref().and_then(Value::first).map(str::to_owned),
                members: Vec::new(),
            });
        }
        let owned: Vec<usize> = (0..groups.len())
            .filter(|&i| groups[i].key.as_deref().is_some_and(|k| k.starts_with(OWNED)))
            .collect();
        let reads: Vec<(usize, Result<Vec<String>, DirectoryError>)> = futures::stream::iter(owned)
            .map(|i| {
                let id = groups[i].id.clone();
                async move { (i, self.member_ids(&id).await) }
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        for (i, members) in reads {
            groups[i].members = members?;
        }
        Ok(groups)
    }

    /// The id of the one group whose key property holds `key`, if any.
    async fn find_group(
        &self,
        settings: &GroupSettings,
        key: &str,
    ) -> Result<Option<String>, DirectoryError> {
        self.find_one("groups", Prop::parse(&settings.key_attribute).top(), key).await
    }

    /// Creates a security group with its first 20 members, then adds the others.
    pub(super) async fn make_group(&self, group: &NewGroup) -> Result<String, DirectoryError> {
        let settings = self.group_settings()?;
        let http = self.http()?;
        let members = distinct(&group.members);
        let (first, rest) = members.split_at(members.len().min(REFERENCES_PER_REQUEST));
        let mut body = Map::new();
        body.insert("displayName".into(), json!(group.name));
        body.insert("mailEnabled".into(), json!(false));
        body.insert("mailNickname".into(), json!(group_nickname(&group.name)));
        body.insert("securityEnabled".into(), json!(true));
        Prop::parse(&settings.key_attribute).set(&mut body, Some(&Value::One(group.key.clone())));
        if !first.is_empty() {
            let refs: Vec<String> = first.iter().map(|m| Self::reference(http, m)).collect();
            body.insert("members@odata.bind".into(), json!(refs));
        }
        let body = Json::Object(body);
        let body = &body;
        // A 404 names a member bound that Graph does not find.
        let id = crate::directory::rest::create(
            || http.send(Method::POST, "groups", &[], Some(body), &[]),
            || self.find_group(settings, &group.key),
            |e| self.add_error(&group.name, e),
            "Graph created a group but returned no id",
        )
        .await?;
        for chunk in rest.chunks(REFERENCES_PER_REQUEST) {
            self.add_chunk(http, &id, chunk, true).await?;
        }
        Ok(id)
    }

    /// The error of adding members to group `id` (or of creating it with them). Graph's
    /// 404 there names the object it does not find, which is a member as often as the
    /// group ("Add members": "404 Not Found response code when the object being added
    /// doesn't exist"): the change is refused with Graph's answer rather than the group
    /// reported missing.
    fn add_error(&self, id: &str, e: HttpError) -> DirectoryError {
        match e.status() {
            Some(StatusCode::NOT_FOUND) => DirectoryError::Rejected(Box::new(e)),
            _ => self.error(id, e),
        }
    }

    /// Adds up to 20 members with one PATCH; one by one when some are members already.
    /// `fresh`: the group was created a moment ago, and Graph may not know it yet.
    async fn add_chunk(
        &self,
        http: &Http,
        id: &str,
        chunk: &[String],
        fresh: bool,
    ) -> Result<(), DirectoryError> {
        let refs: Vec<String> = chunk.iter().map(|m| Self::reference(http, m)).collect();
        let body = json!({ "members@odata.bind": refs });
        let path = format!("groups/{id}");
        let mut pauses = FRESH_RETRIES.iter();
        loop {
            match http.send(Method::PATCH, &path, &[], Some(&body), &[]).await {
                Ok(_) => return Ok(()),
                Err(e) if already_member(&e) => break,
                Err(e)
                    if fresh
                        && matches!(e.status(), Some(StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND)) =>
                {
                    match pauses.next() {
                        Some(pause) => tokio::time::sleep(*pause).await,
                        None => return Err(self.add_error(id, e)),
                    }
                }
                Err(e) => return Err(self.add_error(id, e)),
            }
        }
        for member in chunk {
            self.add_one(http, id, member).await?;
        }
        Ok(())
    }

    /// Adds one member, which may be one already.
    async fn add_one(&self, http: &Http, id: &str, member: &str) -> Result<(), DirectoryError> {
        let body = json!({ "@odata.id": Self::reference(http, member) });
        let path = format!("groups/{id}/members/$ref");
        for attempt in 0..2 {
            match http.send(Method::POST, &path, &[], Some(&body), &[]).await {
                Ok(_) => return Ok(()),
                Err(e) if already_member(&e) => return Ok(()),
                // A lost answer: adding again is safe, the member being one is fine.
                Err(HttpError::Lost { .. }) if attempt == 0 => {}
                Err(e) => return Err(self.add_error(id, e)),
            }
        }
        Err(DirectoryError::refused("adding a member could not be confirmed; the next run checks again"))
    }

    /// Removes one member, which may not be one.
    async fn remove_one(&self, http: &Http, id: &str, member: &str) -> Result<(), DirectoryError> {
        match http.send(Method::DELETE, &format!("groups/{id}/members/{member}/$ref"), &[], None, &[]).await {
            Ok(_) => Ok(()),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(()),
            Err(e) => Err(self.error(id, e)),
        }
    }

    /// Renames a group, adds members 20 a request and removes them one by one.
    pub(super) async fn patch_group(&self, id: &str, change: &GroupChange) -> Result<String, DirectoryError> {
        self.group_settings()?;
        let http = self.http()?;
        if let Some(name) = &change.rename {
            let body = json!({ "displayName": name });
            http.send(Method::PATCH, &format!("groups/{id}"), &[], Some(&body), &[])
                .await
                .map_err(|e| self.error(id, e))?;
        }
        for chunk in distinct(&change.add).chunks(REFERENCES_PER_REQUEST) {
            self.add_chunk(http, id, chunk, false).await?;
        }
        let removes = distinct(&change.remove);
        let results: Vec<Result<(), DirectoryError>> = futures::stream::iter(removes)
            .map(|member| async move { self.remove_one(http, id, &member).await })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        results.into_iter().collect::<Result<(), _>>()?;
        Ok(id.to_owned())
    }

    /// Deletes group `id`.
    pub(super) async fn remove_group(&self, id: &str) -> Result<(), DirectoryError> {
        self.group_settings()?;
        self.http()?
            .send(Method::DELETE, &format!("groups/{id}"), &[], None, &[])
            .await
            .map(|_| ())
            .map_err(|e| self.error(id, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_nicknames_keep_ascii_letters_and_digits() {
        assert_eq!(group_nickname("R&D Berlin (Süd) 2"), "RDBerlinSd2");
        assert_eq!(group_nickname("Ünïcödé"), "ncd");
        assert_eq!(group_nickname("§ — ¶"), "group");
        assert_eq!(group_nickname(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn only_the_duplicate_answer_counts_as_a_member_already() {
        let status = |status: u16, detail: &str| HttpError::Status {
            method: Method::PATCH,
            path: "groups/g".into(),
            status: StatusCode::from_u16(status).unwrap(),
            detail: Some(detail.into()),
        };
        let duplicate = "One or more added object references already exist for the following modified properties: 'members'.";
        assert!(already_member(&status(400, duplicate)));
        assert!(!already_member(&status(400, "Invalid object identifier 'x'.")));
        assert!(!already_member(&status(404, duplicate)));
    }
}
